/* SPDX-License-Identifier: GPL-2.0-or-later */
/* memtidectl simulate: run strategies on a trace or a built-in scenario. */
#pragma once

#include "ctl.h"

int verb_simulate(const CtlArgs *a, int argc, char **argv);

/* simulate's full help: options, strategies and the built-in scenarios. */
void simulate_help(FILE *f);
