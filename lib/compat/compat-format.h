/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Renderers of the compat layer (compat-format.c): a verdict as JSON
 * (`memtidectl compat --json`, the daemon's status) or as a text table, and
 * the table of known implementations as text.
 */
#pragma once

#include <stdbool.h>

#include <json-c/json.h>

#include "compat.h"

/*
 * {"agree": bool, "device": {"name", "convention"}, "driver": {...},
 *  "offered_features": N, "negotiated_features": N,
 *  "queues": [{"name", "device_index", "driver_index", "consequence"}]}
 * with null for a missing index or consequence. Returns 0 or -ENOMEM.
 */
int compat_verdict_to_json(const CompatVerdict *v, json_object **ret);

/* The verdict as a text table followed by the consequences. Returns 0 or -ENOMEM. */
int compat_verdict_format(const CompatVerdict *v, char **ret);

/* The implementations table as text; with_notes adds notes and source under each row. */
int compat_implementations_format(bool with_notes, char **ret);
