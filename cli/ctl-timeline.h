/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * memtidectl simulate --timeline: the steps of one simulated run, collected
 * as the simulator calls back, then printed as text columns with a bar
 * chart, or as JSON points for plotting elsewhere.
 */
#pragma once

#include <stddef.h>

#include <json-c/json.h>

#include "sim.h"

typedef struct Timeline {
        SimStep *steps;
        size_t n, cap;
        bool out_of_memory; /* a step could not be kept: the run's timeline is incomplete */
} Timeline;

/* SimParams.on_step with userdata a Timeline. */
void timeline_on_step(const SimStep *step, void *userdata);
void timeline_clear(Timeline *t);

/* At most `rows` lines: each the peak of its share of the steps. */
void timeline_print(const Timeline *t, size_t rows);
/* At most `points` {time_seconds, resident_bytes, ...} the same way. */
json_object *timeline_json(const Timeline *t, size_t points);
