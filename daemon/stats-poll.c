/* SPDX-License-Identifier: GPL-2.0-or-later */
/* When to ask QEMU for a guest's balloon stats (stats-poll.h). */
#include "stats-poll.h"

bool stats_poll_due(const StatsPollSchedule *s, uint64_t now_usec)
{
        return now_usec >= s->next_usec;
}

void stats_poll_answered(StatsPollSchedule *s, uint64_t last_update_sec, uint64_t now_usec,
                         uint64_t period_usec, uint64_t tick_usec)
{
        if (last_update_sec == 0 || last_update_sec == s->last_update_sec)
                return;
        s->last_update_sec = last_update_sec;
        /* Half a tick early: ticks come a little late, never early, and the
         * tick a whole period after this one must find the guest due. */
        s->next_usec = now_usec + (period_usec > tick_usec / 2 ? period_usec - tick_usec / 2 : 0);
}

void stats_poll_reset(StatsPollSchedule *s)
{
        *s = (StatsPollSchedule){ 0 };
}
