/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What the policy remembers between cycles. The caller owns it and hands
 * the same state back each cycle: that keeps the engine itself pure. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* oVirt MOM averages its collectors' last 10 samples (sample-history-length). */
#define MOM_HISTORY 10

/* A ring of the last MOM_HISTORY values, averaged by MOM's rules. */
typedef struct MomHistory {
        double values[MOM_HISTORY];
        unsigned n, pos;
} MomHistory;

/* Per guest; zero-initialised for a new guest. */
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

/* Per host, kept like the above. */
typedef struct PolicyState {
        bool has_run;
        uint64_t last_run_usec;    /* cadence of strategies that run on a period */
        uint64_t last_sample_usec; /* mom: last collector sample */
        MomHistory mom_host_free;  /* mom: (MemFree + Buffers + Cached) / MemTotal */
        bool quiet;                /* no reason strings: the simulator's hot loop */
} PolicyState;
