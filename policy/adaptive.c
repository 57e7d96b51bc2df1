/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The adaptive strategy: size each guest to what it uses plus a headroom
 * sized for the guest, widened by how fast its use is growing. A guest in
 * distress gets memory at once; an idle guest is squeezed only when it has
 * clearly more than its target headroom free (hysteresis).
 */
#include <stdio.h>

#include "policy.h"
#include "units.h"

/* How quickly the growth estimate forgets a burst, per second of stats. */
#define GROWTH_DECAY_PER_SEC 0.85

static bool counter_rose(uint64_t now, uint64_t before)
{
        return now != STAT_UNKNOWN && before != STAT_UNKNOWN && now > before;
}

/* Fast attack, slow decay: a rise is taken at once, a fall only slowly. */
static void update_growth(PolicyGuestState *st, const GuestSample *g, uint64_t used)
{
        uint64_t now_sec = g->stats.last_update_sec;

        if (st->has_prev && now_sec > st->prev_stats_sec) {
                double dt = (double)(now_sec - st->prev_stats_sec);
                double rate = ((double)used - (double)st->prev_used_bytes) / dt;
                double decayed = st->growth_bytes_per_sec;
                for (double t = 0; t < dt; t += 1.0)
                        decayed *= GROWTH_DECAY_PER_SEC;
                st->growth_bytes_per_sec = rate > decayed ? rate : decayed;
        }
}

/* Distress: the guest is short of memory now; explain which signal fired. */
static const char *distress_signal(const PolicyGuestState *st, const GuestSample *g,
                                   uint64_t available, uint64_t headroom_min)
{
        const BalloonStats *s = &g->stats;

        if (available < headroom_min)
                return "available below the floor headroom";
        if (!st->has_prev)
                return NULL;
        if (counter_rose(s->oom_kills, st->prev_oom_kills))
                return "OOM kills rising";
        if (counter_rose(s->swap_in_bytes, st->prev_swap_in_bytes))
                return "swap-in rising";
        if (counter_rose(s->alloc_stalls, st->prev_alloc_stalls))
                return "allocation stalls rising";
        return NULL;
}

static void remember(PolicyGuestState *st, const GuestSample *g, uint64_t used)
{
        const BalloonStats *s = &g->stats;

        st->has_prev = true;
        st->prev_used_bytes = used;
        st->prev_stats_sec = s->last_update_sec;
        st->prev_swap_in_bytes = s->swap_in_bytes;
        st->prev_oom_kills = s->oom_kills;
        st->prev_alloc_stalls = s->alloc_stalls;
}

void adaptive_propose(const PolicyConfig *config, const GuestSample *g, PolicyGuestState *st,
                      Decision *d)
{
        char used_s[32], avail_s[32], target_s[32], grow_s[32];
        uint64_t used = guest_used_bytes(g);
        uint64_t available = g->actual_bytes > used ? g->actual_bytes - used : 0;
        uint64_t headroom_min = guest_headroom_min_bytes(config, g);
        uint64_t headroom = (uint64_t)(config->headroom_target_ratio * (double)headroom_min);
        uint64_t high_mark = 2 * headroom_min;
        const char *signal;

        update_growth(st, g, used);
        signal = distress_signal(st, g, available, headroom_min);
        remember(st, g, used);

        double growth = st->growth_bytes_per_sec > 0 ? st->growth_bytes_per_sec : 0;
        uint64_t anticipation = (uint64_t)(growth * (double)config->growth_horizon_usec / 1e6);
        uint64_t desired = used + headroom + anticipation;

        d->used_bytes = used;
        d->distress = signal != NULL;
        d->target_bytes = g->actual_bytes;
        format_bytes(used_s, sizeof(used_s), used);
        format_bytes(avail_s, sizeof(avail_s), available);
        format_bytes(target_s, sizeof(target_s), desired);
        format_bytes(grow_s, sizeof(grow_s), (uint64_t)growth);

        bool was_inflating = st->inflating;
        st->inflating = false;
        if (signal) {
                d->target_bytes = desired > g->actual_bytes ? desired : g->actual_bytes;
                snprintf(d->reason, sizeof(d->reason),
                         "deflate: %s (used %s, available %s, growing %s/s) -> %s", signal,
                         used_s, avail_s, grow_s, target_s);
        } else if (desired < g->actual_bytes && (available > high_mark + anticipation ||
                                                 (was_inflating && available > headroom + anticipation))) {
                /* Schmitt trigger: start above the high mark, then go all the way to
                 * the target even though step caps split it over several cycles. */
                st->inflating = true;
                d->target_bytes = desired;
                snprintf(d->reason, sizeof(d->reason),
                         "inflate: available %s exceeds need (used %s + headroom) -> %s",
                         avail_s, used_s, target_s);
        } else if (desired > g->actual_bytes && anticipation > 0 &&
                   available < headroom + anticipation) {
                d->target_bytes = desired;
                snprintf(d->reason, sizeof(d->reason),
                         "deflate: use growing %s/s, available %s -> %s", grow_s, avail_s,
                         target_s);
        } else
                snprintf(d->reason, sizeof(d->reason),
                         "hold: available %s within band (used %s)", avail_s, used_s);
}
