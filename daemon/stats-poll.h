/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * When to ask QEMU for a guest's balloon stats. QEMU holds the last report
 * of the guest's driver, which comes every StatsPeriod= (a little more: QEMU
 * re-arms its timer when a report arrives). Asking at every tick (a quarter
 * of the period) sees a report within a tick, with four polls per report.
 * Once a new report is seen the next cannot come before a period has
 * passed, so the guest is skipped until half a tick before that and asked
 * at every tick again from then until the report is there: the same delay
 * to see a report, at about one poll per report. Pure: times come in.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

typedef struct StatsPollSchedule {
        uint64_t next_usec;       /* no poll before this; 0: at every tick */
        uint64_t last_update_sec; /* QEMU's last-update of the newest report seen */
} StatsPollSchedule;

/* True when the guest's stats should be asked for at this tick. */
bool stats_poll_due(const StatsPollSchedule *s, uint64_t now_usec);

/* A poll's answer, with the report's last-update and the tick the poll
 * was sent at (not when the answer came: a slow answer must not push the
 * next poll past the tick that can see the next report): a new report moves
 * the next poll a period on; an unchanged one (or none yet, 0) keeps polling
 * at every tick. */
void stats_poll_answered(StatsPollSchedule *s, uint64_t last_update_sec, uint64_t now_usec,
                         uint64_t period_usec, uint64_t tick_usec);

/* The report's timing is unknown again (a new connection, a new period set
 * in QEMU, which polls its driver at once): poll at every tick. */
void stats_poll_reset(StatsPollSchedule *s);
