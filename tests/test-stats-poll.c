/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The stats poll schedule (daemon/stats-poll.c): against a QEMU whose
 * driver reports every period plus a little, polling on the schedule sees
 * every report at the same tick as polling at every tick, with about one
 * poll per report instead of four. */
#include "stats-poll.h"
#include "test-util.h"

#define MS 1000ull

typedef struct Run {
        uint64_t polls;
        uint64_t seen_at[2048]; /* tick at which each report was first seen */
} Run;

/* Reports come every period + extra from `first`; ticks on a grid of
 * tick_usec, each up to 1 ms late (the poll timer's accuracy: manager.c).
 * Report k's last-update is k + 1. */
static void simulate(Run *run, bool scheduled, uint64_t period, uint64_t extra, uint64_t first,
                     uint64_t tick_usec, unsigned n_reports)
{
        StatsPollSchedule s = { 0 };
        uint64_t now = 0, grid = 0, seed = 12345;
        unsigned seen = 0;

        *run = (Run){ 0 };
        while (seen < n_reports) {
                seed = seed * 6364136223846793005ull + 1442695040888963407ull;
                grid += tick_usec;
                now = grid + (seed >> 33) % MS;
                if (scheduled && !stats_poll_due(&s, now))
                        continue;
                run->polls++;
                uint64_t latest = now < first ? 0 : (now - first) / (period + extra) + 1;
                if (latest > n_reports)
                        latest = n_reports;
                while (seen < latest)
                        run->seen_at[seen++] = now;
                stats_poll_answered(&s, latest, now, period, tick_usec);
        }
}

static void check_same_ticks_fewer_polls(uint64_t period, uint64_t extra, uint64_t first)
{
        static Run every, sched;
        uint64_t tick = period / 4 < 250 * MS ? 250 * MS : period / 4;
        unsigned n = 2000;

        simulate(&every, false, period, extra, first, tick, n);
        simulate(&sched, true, period, extra, first, tick, n);
        for (unsigned k = 0; k < n; k++)
                check_u64_eq(sched.seen_at[k], every.seen_at[k]);
        check(every.polls >= 3 * n);
        /* One poll per report, and one more each time the drift of the
         * driver's period against the ticks makes a report miss its tick. */
        check(sched.polls <= n + n / 5);
}

static void test_same_ticks_fewer_polls(void)
{
        /* QEMU's driver answers its timer a few ms late, under TCG more. */
        check_same_ticks_fewer_polls(1000 * MS, 2 * MS, 0);
        check_same_ticks_fewer_polls(1000 * MS, 5 * MS, 300 * MS);
        check_same_ticks_fewer_polls(1000 * MS, 40 * MS, 999 * MS);
        check_same_ticks_fewer_polls(10000 * MS, 5 * MS, 1234 * MS);
}

/* No report yet (last-update 0), or the same one again: every tick. */
static void test_no_new_report_polls_every_tick(void)
{
        StatsPollSchedule s = { 0 };

        check(stats_poll_due(&s, 0));
        stats_poll_answered(&s, 0, 100 * MS, 1000 * MS, 250 * MS);
        check(stats_poll_due(&s, 350 * MS));
        stats_poll_answered(&s, 7, 350 * MS, 1000 * MS, 250 * MS);
        check(!stats_poll_due(&s, 600 * MS));
        check(!stats_poll_due(&s, 1224 * MS));
        check(stats_poll_due(&s, 1225 * MS));
        stats_poll_answered(&s, 7, 1225 * MS, 1000 * MS, 250 * MS);
        check(stats_poll_due(&s, 1475 * MS));
}

/* A new period set in QEMU makes it poll its driver at once: every tick
 * until that report is seen. */
static void test_reset_polls_every_tick(void)
{
        StatsPollSchedule s = { 0 };

        stats_poll_answered(&s, 7, 0, 10000 * MS, 2500 * MS);
        check(!stats_poll_due(&s, 2500 * MS));
        stats_poll_reset(&s);
        check(stats_poll_due(&s, 2500 * MS));
}

int main(void)
{
        RUN(test_same_ticks_fewer_polls);
        RUN(test_no_new_report_polls_every_tick);
        RUN(test_reset_polls_every_tick);
        return 0;
}
