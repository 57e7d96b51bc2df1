/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * GuestMemoryBudget=: what the guests may hold together and what they hold,
 * read every cycle into the host sample for the policy (a fixed size, or
 * the limit and usage of the guests' memory cgroup, cgroup-memory.h).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "cgroup-memory.h"

typedef struct Manager Manager;

typedef struct GuestBudget {
        uint64_t bytes;      /* 0: no budget in force this cycle */
        uint64_t held_bytes; /* what the guests hold against it */
        /* Where the budget comes from: "none", "config", or "cgroup v1 DIR" */
        char *source;
        /* What the guests hold is: "cgroup v2 DIR" (its usage) or "QEMU RSS" */
        char *held_source;
        /* Why there is no budget although one is configured, or why what the
         * guests hold is not the cgroup's; NULL when all is well. */
        char *problem;
        bool waiting;      /* auto before any guest is set up: nothing to log yet */
        char *logged;      /* the last problem or source logged: each is logged once */
        CgroupMount mount; /* found at first use */
} GuestBudget;

/* After the host sample: fills m->budget and the budget fields of m->host. */
void guest_budget_update(Manager *m);
void guest_budget_done(GuestBudget *b);
