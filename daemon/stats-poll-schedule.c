/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "stats-poll-schedule.h"

uint64_t stats_poll_fallback_usec(uint64_t period_usec)
{
        uint64_t p = period_usec / 4;

        return p < STATS_POLL_FALLBACK_MIN_USEC ? STATS_POLL_FALLBACK_MIN_USEC : p;
}

/* A miss just before (a retry, plus the time QEMU took to answer it, which
 * a loaded host stretches) pins the arrival. */
static bool arrival_pinned(const StatsPollSchedule *s, uint64_t now_usec)
{
        return s->last_miss_usec && now_usec - s->last_miss_usec <= 4 * STATS_POLL_RETRY_USEC;
}

static uint64_t new_report(StatsPollSchedule *s, uint64_t period_usec, uint64_t now_usec)
{
        uint64_t lead_max = period_usec / 2;

        /* Seen late, it came before we looked: look earlier next time. */
        if (arrival_pinned(s, now_usec) || !s->lead_usec)
                s->lead_usec = STATS_POLL_LEAD_MIN_USEC;
        else
                s->lead_usec = s->lead_usec * 2 < lead_max ? s->lead_usec * 2 : lead_max;
        s->due_usec = now_usec + period_usec;
        s->last_miss_usec = 0;
        return s->due_usec - s->lead_usec;
}

uint64_t stats_poll_next(StatsPollSchedule *s, uint64_t period_usec, uint64_t now_usec,
                         uint64_t last_update_sec)
{
        uint64_t fallback = stats_poll_fallback_usec(period_usec);

        if (last_update_sec && last_update_sec != s->last_update_sec) {
                bool first = s->last_update_sec == 0;

                s->last_update_sec = last_update_sec;
                /* The first report may be any age: its phase is unknown. */
                if (first) {
                        s->last_miss_usec = 0;
                        s->due_usec = 0;
                        return now_usec + fallback;
                }
                return new_report(s, period_usec, now_usec);
        }
        s->last_miss_usec = now_usec;
        /* Due and not there: keep asking, for a while; then the guest is not
         * reporting (paused, stats off) and the plain rate will do. */
        if (s->due_usec && now_usec + s->lead_usec >= s->due_usec &&
            now_usec < s->due_usec + fallback)
                return now_usec + STATS_POLL_RETRY_USEC;
        if (s->due_usec && now_usec + s->lead_usec < s->due_usec)
                return s->due_usec - s->lead_usec;
        return now_usec + fallback;
}

bool stats_poll_phase_known(const StatsPollSchedule *s)
{
        return s->due_usec != 0 && s->lead_usec == STATS_POLL_LEAD_MIN_USEC;
}
