/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Prometheus exposition of the daemon's state: written atomically each cycle
 * into node_exporter's textfile-collector directory (MetricsFile=) and
 * served to memtidectl metrics. No HTTP server of our own.
 */
#pragma once

#include "manager.h"

/* The whole exposition text; caller frees. NULL on allocation failure. */
char *metrics_render(Manager *m);

/* Renders and writes MetricsFile= if set; failures are logged once per kind, not per cycle. */
void metrics_write(Manager *m);
