/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The policy engine: a pure function from a snapshot, the config and the
 * policy's own per-guest state to one decision per guest. No I/O, no clock:
 * the daemon, the tests and (later) the simulator run the same code.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"
#include "policy-config.h"

#define POLICY_REASON_MAX 256

/* What the policy remembers about a guest between cycles; the caller keeps it
 * zero-initialised for a new guest and hands the same one back each cycle. */
typedef struct PolicyGuestState {
        bool has_prev;
        uint64_t prev_used_bytes;
        uint64_t prev_stats_sec;     /* last_update_sec of the sample used */
        uint64_t prev_swap_in_bytes;
        uint64_t prev_oom_kills;
        uint64_t prev_alloc_stalls;
        double growth_bytes_per_sec; /* fast-attack, slow-decay estimate */
        bool inflating;              /* squeezing toward the target, across cycles */
} PolicyGuestState;

typedef struct Decision {
        uint64_t target_bytes; /* memory the guest should have */
        uint64_t floor_bytes;  /* 0 when unknown (no stats) */
        uint64_t used_bytes;   /* 0 when unknown */
        bool change;           /* send target_bytes to the balloon */
        bool distress;         /* the guest is short of memory now */
        char reason[POLICY_REASON_MAX];
} Decision;

/* Runs the configured strategy and the guard rails for every guest. */
void policy_decide(const PolicyConfig *config, const Snapshot *snapshot, PolicyGuestState *states,
                   Decision *decisions);

/* True when fresh stats show a guest short of memory or its use jumping:
 * the daemon then runs the cycle at once instead of waiting for the timer. */
bool policy_wants_early_cycle(const PolicyConfig *config, const GuestSample *g,
                              const PolicyGuestState *state);

/* Accounting shared by strategies and guard rails. */
bool guest_stats_usable(const GuestSample *g);
uint64_t guest_used_bytes(const GuestSample *g);
uint64_t guest_headroom_min_bytes(const PolicyConfig *config, const GuestSample *g);
uint64_t guest_ceiling_bytes(const GuestSample *g);
uint64_t guest_floor_bytes(const PolicyConfig *config, const GuestSample *g);

/* Strategy: proposes a target (before guard rails) and writes its reason. */
void adaptive_propose(const PolicyConfig *config, const GuestSample *g, PolicyGuestState *state,
                      Decision *d);

/* Guard rails: clamp d->target_bytes after any strategy, append why to d->reason. */
void guard_rails_apply(const PolicyConfig *config, const GuestSample *g, Decision *d);
