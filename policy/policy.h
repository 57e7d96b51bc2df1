/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The policy engine: a pure function from a snapshot, the config and the
 * policy's own state to one decision per guest. No I/O, no clock: the
 * daemon, the tests and the simulator (sim/) run the same code.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"
#include "policy-config.h"

#define POLICY_REASON_MAX 256
/* oVirt MOM averages its collectors' last 10 samples (sample-history-length). */
#define MOM_HISTORY 10

/* A ring of the last MOM_HISTORY values, averaged by MOM's rules. */
typedef struct MomHistory {
        double values[MOM_HISTORY];
        unsigned n, pos;
} MomHistory;

/* What the policy remembers about a guest between cycles; the caller keeps it
 * zero-initialised for a new guest and hands the same one back each cycle. */
typedef struct PolicyGuestState {
        bool has_prev;
        uint64_t prev_used_bytes;
        uint64_t prev_stats_sec; /* last_update_sec of the sample used */
        uint64_t prev_swap_in_bytes;
        uint64_t prev_oom_kills;
        uint64_t prev_alloc_stalls;
        double growth_bytes_per_sec; /* fast-attack, slow-decay estimate */
        bool inflating;              /* squeezing toward the target, across cycles */
        /* adaptive */
        double peak_used_bytes;   /* fast attack, decays with PeakHalfLife= */
        double swing_bytes;       /* recent upward swings of use per cycle (EWMA) */
        unsigned distress_streak; /* consecutive cycles in distress: doubles the grant */
        /* mom: averaged guest collector samples */
        MomHistory mom_balloon_cur, mom_mem_free;
} PolicyGuestState;

/* What the policy remembers about the host, kept by the caller like the above. */
typedef struct PolicyState {
        bool has_run;
        uint64_t last_run_usec;    /* cadence of strategies that run on a period */
        uint64_t last_sample_usec; /* mom: last collector sample */
        MomHistory mom_host_free;  /* mom: (MemFree + Buffers + Cached) / MemTotal */
        bool quiet;                /* no reason strings: the simulator's hot loop */
} PolicyState;

typedef struct Decision {
        uint64_t target_bytes; /* memory the guest should have */
        uint64_t floor_bytes;  /* 0 when unknown (no stats) */
        uint64_t used_bytes;   /* 0 when unknown */
        bool change;           /* send target_bytes to the balloon */
        bool distress;         /* the guest is short of memory now */
        bool quiet;            /* leave reason empty */
        char reason[POLICY_REASON_MAX];
} Decision;

/* Runs the configured strategy and the guard rails for every guest. */
void policy_decide(const PolicyConfig *config, const Snapshot *snapshot, PolicyState *state,
                   PolicyGuestState *states, Decision *decisions);

/* True when fresh stats show a guest short of memory or its use jumping:
 * the daemon then runs the cycle at once instead of waiting for the timer. */
bool policy_wants_early_cycle(const PolicyConfig *config, const GuestSample *g,
                              const PolicyGuestState *state);

/* Accounting shared by strategies and guard rails. */
bool guest_stats_usable(const GuestSample *g);
uint64_t guest_used_bytes(const GuestSample *g);
double host_pressure(const PolicyConfig *config, const HostSample *host);
uint64_t guest_headroom_bytes(const PolicyConfig *config, const GuestSample *g, double pressure);
uint64_t guest_ceiling_bytes(const GuestSample *g);
uint64_t guest_floor_bytes(const PolicyConfig *config, const HostSample *host,
                           const GuestSample *g);

/* Sets d->reason unless the decision is quiet. */
void decision_explain(Decision *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Strategies: propose d->target_bytes (before guard rails) and a reason for
 * every managed guest with stats. d[i] arrives holding the guest's current
 * size; a strategy that has nothing to say leaves it.
 */
void adaptive_propose(const PolicyConfig *config, const Snapshot *snapshot,
                      PolicyGuestState *states, Decision *decisions);
void mom_propose(const PolicyConfig *config, const Snapshot *snapshot, PolicyState *state,
                 PolicyGuestState *states, Decision *decisions);
void proxmox_propose(const PolicyConfig *config, const Snapshot *snapshot, Decision *decisions);

/* Proxmox's distribute step, exposed for the tests. ids index snapshot guests;
 * targets holds this run's choices (start: actual). Returns what is left of bytes. */
int64_t proxmox_distribute(const PolicyConfig *config, const Snapshot *snapshot, const size_t *ids,
                           size_t n_ids, int64_t bytes, uint64_t *targets);

/* Guard rails: clamp d->target_bytes after any strategy, append why to d->reason. */
void guard_rails_apply(const PolicyConfig *config, const HostSample *host, const GuestSample *g,
                       Decision *d);

/* MOM's collectors: sample host and guests every MomSampleInterval=, also
 * between runs of its rules (mom.c). */
void mom_collect(const PolicyConfig *config, const Snapshot *snapshot, PolicyState *state,
                 PolicyGuestState *states);

/* MOM history helpers (mom.c). */
void mom_history_push(MomHistory *h, double v);
double mom_history_mean(const MomHistory *h);
