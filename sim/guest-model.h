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
        double actual, target; /* the guest's memory: balloon's part + plugged */
        /* The devices (SimParams.vmem_mode): the balloon acts below boot
         * memory (`boot`; the maximum without virtio-mem), a virtio-mem
         * device of `vmem_max` above it. */
        bool balloon;
        double boot, vmem_max;
        double balloon_target;     /* the balloon's part of target, at most boot */
        double plugged, requested; /* whole blocks */
        double vmem_top;           /* highest extent ever plugged: unmovable blocks lie below */
        double vmem_carry;         /* progress short of a whole block */
        bool vmem_stalled;         /* unplug stopped above the request */
        double step_balloon_moved; /* bytes the balloon moved in the last step */
        double step_vmem_moved;    /* bytes plugged or unplugged in the last step */
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
/* Splits a new total target between balloon and virtio-mem (vmem_plan). */
void sim_guest_set_target(SimGuest *g, const SimParams *p, double target);
/* Puts the devices where the plan wants them at once (the oracle). */
void sim_guest_jump_to_target(SimGuest *g);
/* Blocks of the device that stay plugged whatever is asked (unmovable). */
double sim_guest_unmovable_bytes(const SimGuest *g, const SimParams *p);
/* Moves virtio-mem and the balloon, then use, cache and reporting; returns OOM events. */
unsigned sim_guest_step(SimGuest *g, const TraceVm *vm, const SimParams *p, double t, double dt);
double sim_guest_resident(const SimGuest *g);
void sim_guest_stats(const SimGuest *g, double t, BalloonStats *ret);
