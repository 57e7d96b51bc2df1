/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The `mom` strategy: oVirt MOM's default balloon rules (doc/balloon.rules),
 * in logical-size terms (a target is the memory the guest keeps). Every
 * MomInterval= (10 s): when the host's averaged free share is under the
 * pressure threshold (20 %), every guest is shrunk by at most 5 % toward
 * its use plus a free share that follows the host's; otherwise every guest
 * grows by at least 5 % toward its use plus 20 % free. MOM's "used" is
 * balloon size minus MemFree, so page cache counts as used, as in MOM.
 * Its collectors (mom_collect) sample every MomSampleInterval= and the rules
 * read the mean of the last 10 samples.
 */
#include <math.h>

#include "mom.h"
#include "strategy.h"
#include "units.h"

static void mom_history_push(MomHistory *h, double v)
{
        h->values[h->pos] = v;
        h->pos = (h->pos + 1) % MOM_HISTORY;
        if (h->n < MOM_HISTORY)
                h->n++;
}

static double mom_history_mean(const MomHistory *h)
{
        double sum = 0;

        if (h->n == 0)
                return 0;
        for (unsigned i = 0; i < h->n; i++)
                sum += h->values[i];
        return sum / h->n;
}

static double host_free_share(const HostSample *h)
{
        if (h->mem_total_bytes == 0)
                return 1.0;
        return (double)(h->mem_free_bytes + h->buffers_bytes + h->cached_bytes) /
               (double)h->mem_total_bytes;
}

/* MOM's collectors sample on their own clock; the rules read the averages. */
void mom_collect(const PolicyConfig *config, const Snapshot *snap, PolicyState *state,
                 PolicyGuestState *states)
{
        if (state->mom_host_free.n > 0 && snap->now_usec >= state->last_sample_usec &&
            snap->now_usec - state->last_sample_usec < config->mom.sample_interval_usec)
                return;
        state->last_sample_usec = snap->now_usec;
        mom_history_push(&state->mom_host_free, host_free_share(&snap->host));
        for (size_t i = 0; i < snap->n_guests; i++) {
                const GuestSample *g = &snap->guests[i];
                if (!balloon_stats_reported(&g->stats) || g->stats.free_bytes == STAT_UNKNOWN)
                        continue;
                mom_history_push(&states[i].mom_balloon_cur, (double)g->actual_bytes);
                mom_history_push(&states[i].mom_mem_free, (double)g->stats.free_bytes);
        }
}

/* balloon.rules' change_big_enough: more than min_change of the current size. */
static bool change_big_enough(const MomConfig *m, double cur, double new_val)
{
        return fabs(new_val - cur) > m->min_change * cur;
}

static void mom_shrink(const MomConfig *m, const GuestSample *g, double used, double host_free,
                       Decision *d)
{
        double cur = (double)g->actual_bytes;
        double free_share =
                host_free <= m->pressure_critical ? host_free - m->pressure_critical : host_free;
        double floor = fmax((double)g->min_bytes, used + free_share * cur);
        double new_val = fmax((1.0 - m->max_change) * cur, floor);

        if (new_val <= cur && change_big_enough(m, cur, new_val)) {
                d->target_bytes = (uint64_t)new_val;
                decision_explain(d,
                                 "inflate: mom, host free %.1f%% under %.0f%%, guest used "
                                 "%.0f MiB, free goal %.1f%%",
                                 host_free * 100, m->pressure_threshold * 100, used / MIB,
                                 free_share * 100);
        } else
                decision_explain(d,
                                 "hold: mom, host free %.1f%%, shrink to %.0f MiB too small "
                                 "or not a shrink",
                                 host_free * 100, new_val / MIB);
}

static void mom_grow(const MomConfig *m, const GuestSample *g, double used, double host_free,
                     Decision *d)
{
        double cur = (double)g->actual_bytes;
        double floor = fmax((double)g->min_bytes, used + m->min_guest_free * cur);
        double new_val = fmin(fmax((1.0 + m->max_change) * cur, floor), (double)g->max_bytes);

        if (change_big_enough(m, cur, new_val)) {
                d->target_bytes = (uint64_t)new_val;
                decision_explain(d,
                                 "deflate: mom, host free %.1f%%, guest used %.0f MiB + "
                                 "%.0f%% free",
                                 host_free * 100, used / MIB, m->min_guest_free * 100);
        } else
                decision_explain(d, "hold: mom, host free %.1f%%, at maximum", host_free * 100);
}

void mom_propose(const PolicyConfig *config, const Snapshot *snap, PolicyState *state,
                 PolicyGuestState *states, Decision *decisions)
{
        const MomConfig *m = &config->mom;
        double host_free;

        host_free = mom_history_mean(&state->mom_host_free);
        for (size_t i = 0; i < snap->n_guests; i++) {
                const GuestSample *g = &snap->guests[i];
                PolicyGuestState *st = &states[i];
                if (!g->manage || st->mom_balloon_cur.n == 0)
                        continue;
                double used = mom_history_mean(&st->mom_balloon_cur) -
                              mom_history_mean(&st->mom_mem_free);
                if (host_free < m->pressure_threshold)
                        mom_shrink(m, g, used, host_free, &decisions[i]);
                else
                        mom_grow(m, g, used, host_free, &decisions[i]);
        }
}

static uint64_t mom_period_usec(const PolicyConfig *config)
{
        return config->mom.interval_usec;
}

/* The rules run every MomInterval=; the collectors sample every cycle they are due. */
const Strategy mom_strategy = {
        .name = "mom",
        .period_usec = mom_period_usec,
        .collect = mom_collect,
        .propose = mom_propose,
        .wants_early_cycle = NULL,
};
