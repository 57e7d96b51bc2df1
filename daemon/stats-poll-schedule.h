/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * When to ask QEMU for a guest's balloon stats: just after its next report
 * is due, not at a fixed fraction of the period. QEMU asks the guest for a
 * report StatsPeriod= after the last one arrived, so reports come a period
 * (plus the guest's answer time) apart; its last-update has whole seconds
 * only, so the phase is learnt from the polls themselves: a report seen
 * right after a poll that missed it arrived within STATS_POLL_RETRY_USEC.
 * Once it is, the next poll is when the next report is due (a period after
 * that poll: QEMU asks the guest a period after a report arrived, so the
 * next one comes at most a retry and the guest's answer later), repeated
 * every STATS_POLL_RETRY_USEC until it is there: a report reaches the
 * policy within tens of ms, at little more than one poll per report (the
 * polls are most of memtided's CPU at 100 guests; a guest slower to answer
 * QEMU than a retry makes it two). Hits without a miss
 * keep that timing: each comes earlier after its report by the guest's
 * answer time, until a miss pins the phase again. Before the phase is
 * known the first poll starts STATS_POLL_LEAD_MIN_USEC early, the lead
 * doubling while reports are found without a miss. A guest that stops
 * reporting (paused, stats off) is polled at the plain fallback rate.
 * Pure: times in, times out.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* Re-poll this soon while a report is due and not there yet. */
#define STATS_POLL_RETRY_USEC 25000ULL
/* The first poll for a report starts this much before it is due... */
#define STATS_POLL_LEAD_MIN_USEC 30000ULL
/* ...and the plain rate when the phase is unknown: a quarter period, >= 250 ms. */
#define STATS_POLL_FALLBACK_MIN_USEC 250000ULL

typedef struct StatsPollSchedule {
        uint64_t last_update_sec; /* QEMU's last-update of the newest report seen; 0 none */
        uint64_t due_usec;        /* when the next report is expected; 0 unknown */
        uint64_t lead_usec;       /* how early the first poll for it comes */
        uint64_t last_miss_usec;  /* the last poll that found no new report; 0 none */
        bool tracking;            /* the phase is known: poll when due, no lead */
        unsigned tracked_hits;    /* reports found at once since the phase was pinned */
} StatsPollSchedule;

/* The plain polling period for a StatsPeriod=. */
uint64_t stats_poll_fallback_usec(uint64_t period_usec);

/* A poll sent at sent_usec and answered at now_usec showed a report of
 * last_update_sec (0: none yet): returns when to poll next. */
uint64_t stats_poll_next(StatsPollSchedule *s, uint64_t period_usec, uint64_t sent_usec,
                         uint64_t now_usec, uint64_t last_update_sec);

/* Whether the last report's arrival is known to within a retry (for tests and debug). */
bool stats_poll_phase_known(const StatsPollSchedule *s);
