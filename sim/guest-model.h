/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The simulator's guest and host model, one step at a time (see sim.h). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "balloon-stats.h"
#include "sim.h"

typedef struct SimGuest {
        bool present;
        size_t next; /* trace sample at or after now */
        double max, min;
        double demand;
        double actual, target;
        double used, cache, touched_free; /* bytes; free = actual - used - cache */
        double swap_allowance;
        uint64_t swap_in_bytes, alloc_stalls, oom_kills;
        bool oom_armed;
        bool pending;
        double command_sent_sec;
} SimGuest;

void sim_guest_boot(SimGuest *g, const TraceVm *vm, const SimParams *p, double demand);
/* Demand of vm at time t (linear between samples); false when it does not exist then. */
bool sim_demand_at(const TraceVm *vm, size_t *next, double t, double *ret);
/* Moves the balloon, then use, cache and reporting; returns OOM events. */
unsigned sim_guest_step(SimGuest *g, const TraceVm *vm, const SimParams *p, double t, double dt);
double sim_guest_resident(const SimGuest *g);
void sim_guest_stats(const SimGuest *g, double t, BalloonStats *ret);
