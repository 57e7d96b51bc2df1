/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Stats polls aligned to QEMU's reports: a simulated QEMU that asks the
 * guest every period and stamps each report with whole wall-clock seconds,
 * and the schedule that polls it. */
#include "stats-poll-schedule.h"
#include "test-util.h"

#define MS     1000ull
#define SEC    1000000ull
#define PERIOD (1 * SEC)

/* QEMU: the first report at first_usec, then one every PERIOD + answer_usec
 * (QEMU asks again a period after a report arrives); none after stop_usec. */
typedef struct FakeQemu {
        uint64_t first_usec, answer_usec, stop_usec;
        uint64_t wall_offset_usec; /* wall clock = monotonic + this */
} FakeQemu;

static uint64_t report_time(const FakeQemu *q, uint64_t k)
{
        return q->first_usec + k * (PERIOD + q->answer_usec);
}

/* The newest report at t: its index (or -1) and QEMU's last-update. */
static int64_t newest_report(const FakeQemu *q, uint64_t t, uint64_t *last_update_sec)
{
        int64_t k = -1;

        while (report_time(q, (uint64_t)(k + 1)) <= t &&
               report_time(q, (uint64_t)(k + 1)) < q->stop_usec)
                k++;
        *last_update_sec = k < 0 ? 0 : (report_time(q, (uint64_t)k) + q->wall_offset_usec) / SEC;
        return k;
}

typedef struct Run {
        uint64_t polls;
        uint64_t worst_delay_usec; /* from a report's arrival to the poll that saw it */
        uint64_t seen;
} Run;

/* Polls from start to end (each answered after reply_usec); reports seen
 * after `settle` count towards the worst delay. */
static Run poll_for(const FakeQemu *q, StatsPollSchedule *s, uint64_t start, uint64_t end,
                    uint64_t reply_usec, uint64_t settle)
{
        Run r = { 0 };
        uint64_t ignored;
        int64_t last = start > q->first_usec ? newest_report(q, start - 1, &ignored) : -1;

        for (uint64_t t = start; t < end;) {
                uint64_t lu, answered = t + reply_usec;
                int64_t k = newest_report(q, t, &lu);

                r.polls++;
                if (k > last) {
                        uint64_t delay = t - report_time(q, (uint64_t)k);
                        if (t >= settle && delay > r.worst_delay_usec)
                                r.worst_delay_usec = delay;
                        r.seen += (uint64_t)(k - last);
                        last = k;
                }
                t = stats_poll_next(s, PERIOD, t, answered, lu);
                check(t > answered - 1);
        }
        return r;
}

static void test_reports_seen_within_a_retry(void)
{
        /* Reports at .537 s past the second, the guest answering in 3 ms. */
        FakeQemu q = { .first_usec = 10 * SEC + 537 * MS,
                       .answer_usec = 3 * MS,
                       .stop_usec = UINT64_MAX,
                       .wall_offset_usec = 1700000000 * SEC };
        StatsPollSchedule s = { 0 };
        Run r = poll_for(&q, &s, 10 * SEC, 70 * SEC, 1 * MS, 15 * SEC);

        check(stats_poll_phase_known(&s));
        /* Every report after the first few periods within a retry and a reply. */
        check(r.worst_delay_usec <= STATS_POLL_RETRY_USEC + 1 * MS);
        /* No report missed, and about one poll per report once the phase is
         * known (the fixed quarter period made 4; the scale benchmark's CPU
         * share is mostly these polls). */
        check_u64_eq(r.seen, 60);
        check(r.polls <= 60 + 60 / 2);
        printf("  60 s: %" PRIu64 " polls, worst delay %" PRIu64 " ms\n", r.polls,
               (uint64_t)(r.worst_delay_usec / MS));
}

static void test_slow_answers_still_converge(void)
{
        /* QEMU answering polls in 40 ms (a loaded host), the guest in 30 ms. */
        FakeQemu q = { .first_usec = 5 * SEC + 100 * MS,
                       .answer_usec = 30 * MS,
                       .stop_usec = UINT64_MAX,
                       .wall_offset_usec = 1700000000 * SEC + 999 * MS };
        StatsPollSchedule s = { 0 };
        Run r = poll_for(&q, &s, 5 * SEC, 65 * SEC, 40 * MS, 20 * SEC);

        printf("  60 s, slow answers: %" PRIu64 " polls, worst delay %" PRIu64 " ms\n", r.polls,
               (uint64_t)(r.worst_delay_usec / MS));
        check(r.worst_delay_usec <= STATS_POLL_RETRY_USEC + 40 * MS);
        /* a guest slower to answer than a retry: missed once a period */
        check(r.polls <= 2 * 60 + 6);
}

static void test_silent_guest_polled_at_the_fallback_rate(void)
{
        /* Reports stop at 20 s (guest paused): the retries give way to the
         * plain quarter period within a period. */
        FakeQemu q = { .first_usec = 2 * SEC + 250 * MS,
                       .answer_usec = 2 * MS,
                       .stop_usec = 20 * SEC,
                       .wall_offset_usec = 1700000000 * SEC };
        StatsPollSchedule s = { 0 };
        Run r;

        (void)poll_for(&q, &s, 2 * SEC, 21 * SEC, 1 * MS, 0);
        r = poll_for(&q, &s, 21 * SEC, 31 * SEC, 1 * MS, 0);
        check_u64_eq(r.seen, 0);
        /* 10 s at 4 a second, a few retries at the start at most. */
        check(r.polls <= 40 + 4);
        check_u64_eq(stats_poll_fallback_usec(PERIOD), 250 * MS);
        check_u64_eq(stats_poll_fallback_usec(4 * SEC), 1 * SEC);
}

static void test_first_report_gives_no_phase(void)
{
        StatsPollSchedule s = { 0 };

        /* No report yet: the plain rate. */
        check_u64_eq(stats_poll_next(&s, PERIOD, 1 * SEC, 1 * SEC, 0), 1 * SEC + 250 * MS);
        /* The first one may be old: still the plain rate, no phase claimed. */
        check_u64_eq(stats_poll_next(&s, PERIOD, 2 * SEC, 2 * SEC, 1700000001), 2 * SEC + 250 * MS);
        check(!stats_poll_phase_known(&s));
        /* The next one, seen a poll interval late: looked for earlier, not at once. */
        uint64_t next = stats_poll_next(&s, PERIOD, 2250 * MS, 2250 * MS, 1700000002);
        check(next > 2250 * MS + PERIOD / 2);
        check(next < 2250 * MS + PERIOD);
}

int main(void)
{
        RUN(test_reports_seen_within_a_retry);
        RUN(test_slow_answers_still_converge);
        RUN(test_silent_guest_polled_at_the_fallback_rate);
        RUN(test_first_report_gives_no_phase);
        return 0;
}
