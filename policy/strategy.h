/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A balloon strategy as the dispatcher (policy.c) runs it: one row of its
 * table per PolicyStrategy. A strategy needs this header, decision.h and
 * accounting.h, never the dispatcher's policy.h.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "decision.h"
#include "model.h"
#include "policy-config.h"
#include "policy-state.h"

typedef struct Strategy {
        const char *name; /* as Strategy= spells it, for the reasons */
        /* Runs at most once per this period; NULL: every cycle. */
        uint64_t (*period_usec)(const PolicyConfig *config);
        /* Called every cycle, due or not, to sample on the strategy's own
         * clock; NULL: nothing to sample. */
        void (*collect)(const PolicyConfig *config, const Snapshot *snapshot, PolicyState *state,
                        PolicyGuestState *states);
        /* Proposes d->target_bytes (before the guard rails) and a reason for
         * every managed guest with stats. decisions[i] arrives holding the
         * guest's current size; a strategy with nothing to say leaves it. */
        void (*propose)(const PolicyConfig *config, const Snapshot *snapshot, PolicyState *state,
                        PolicyGuestState *states, Decision *decisions);
        /* True when fresh stats call for a cycle now, before the daemon's
         * timer; NULL: the strategy keeps its own period. */
        bool (*wants_early_cycle)(const PolicyConfig *config, const GuestSample *g,
                                  const PolicyGuestState *state);
} Strategy;

extern const Strategy adaptive_strategy; /* adaptive.c */
extern const Strategy mom_strategy;      /* mom.c */
extern const Strategy proxmox_strategy;  /* proxmox.c */
