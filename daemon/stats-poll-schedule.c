/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "stats-poll-schedule.h"

uint64_t stats_poll_fallback_usec(uint64_t period_usec)
{
        uint64_t p = period_usec / 4;

        return p < STATS_POLL_FALLBACK_MIN_USEC ? STATS_POLL_FALLBACK_MIN_USEC : p;
}

/* A miss just before (a retry after its answer, which a loaded host
 * stretches) pins the arrival between the two polls. */
static bool arrival_pinned(const StatsPollSchedule *s, uint64_t sent_usec)
{
        return s->last_miss_usec && sent_usec - s->last_miss_usec <= 4 * STATS_POLL_RETRY_USEC;
}

/* Hits in a row without a miss are trusted this long before the phase is
 * looked for again (a report that came much earlier than its poll would
 * otherwise keep its delay). */
#define STATS_POLL_TRACK_MAX 8

static uint64_t new_report(StatsPollSchedule *s, uint64_t period_usec, uint64_t sent_usec,
                           uint64_t now_usec)
{
        uint64_t lead_max = period_usec / 2;

        /* Pinned, or found at once while tracking it (the delay only
         * shrinks, by the guest's answer time each period): poll when due,
         * a period after this poll was sent. Seen late without tracking, it
         * came before we looked: look earlier next time. */
        if (arrival_pinned(s, sent_usec)) {
                s->tracking = true;
                s->tracked_hits = 0;
        } else if (s->tracking && ++s->tracked_hits > STATS_POLL_TRACK_MAX)
                s->tracking = false;
        if (s->tracking)
                s->lead_usec = 0;
        else if (!s->lead_usec)
                s->lead_usec = STATS_POLL_LEAD_MIN_USEC;
        else
                s->lead_usec = s->lead_usec * 2 < lead_max ? s->lead_usec * 2 : lead_max;
        s->due_usec = sent_usec + period_usec;
        s->last_miss_usec = 0;
        return s->due_usec - s->lead_usec > now_usec ? s->due_usec - s->lead_usec : now_usec + 1;
}

uint64_t stats_poll_next(StatsPollSchedule *s, uint64_t period_usec, uint64_t sent_usec,
                         uint64_t now_usec, uint64_t last_update_sec)
{
        uint64_t fallback = stats_poll_fallback_usec(period_usec);

        if (last_update_sec && last_update_sec != s->last_update_sec) {
                bool first = s->last_update_sec == 0;

                s->last_update_sec = last_update_sec;
                /* The first report may be any age: its phase is unknown. */
                if (first) {
                        s->last_miss_usec = 0;
                        s->due_usec = 0;
                        s->tracking = false;
                        return now_usec + fallback;
                }
                return new_report(s, period_usec, sent_usec, now_usec);
        }
        s->last_miss_usec = sent_usec;
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
        return s->due_usec != 0 && s->tracking;
}
