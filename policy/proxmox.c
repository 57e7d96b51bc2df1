/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The `proxmox` strategy: Proxmox VE's auto-ballooning (PVE::AutoBalloon as
 * run by pvestatd every 10 s). The host goal is to fill ProxmoxTarget= (80 %)
 * of its memory: goal = MemTotal * target - (MemTotal - MemAvailable). A
 * positive goal is handed to guests under pressure first, a negative one
 * taken from guests with enough free memory first; either way the split is
 * by shares above each guest's minimum, at most ProxmoxMaxChange= (100 MiB)
 * from the guest's actual size per run. Only guests with a minimum
 * (MinMemory=), stats and Shares= other than 0 take part.
 */
#include <stdlib.h>

#include "proxmox.h"
#include "strategy.h"
#include "units.h"

static bool proxmox_eligible(const GuestSample *g)
{
        return g->manage && g->min_bytes > 0 && g->shares > 0 &&
               balloon_stats_reported(&g->stats) && g->stats.free_bytes != STAT_UNKNOWN;
}

static int64_t guest_min(const GuestSample *g)
{
        return (int64_t)(g->min_bytes < g->max_bytes ? g->min_bytes : g->max_bytes);
}

/* floor(a * b / c) for c > 0, also for negative a (Perl's int() truncates,
 * but alloc is only negative when every guest is at its minimum anyway). */
static int64_t floor_share(int64_t a, uint32_t b, uint64_t c)
{
        __int128 p = (__int128)a * b;
        __int128 q = p / (__int128)c;
        if (p % (__int128)c != 0 && p < 0)
                q--;
        return (int64_t)q;
}

static int64_t clamp64(int64_t v, int64_t lo, int64_t hi)
{
        return v < lo ? lo : v > hi ? hi : v;
}

/* One pass over the guests not done; returns whether any target moved. */
static bool distribute_pass(const PolicyConfig *config, const Snapshot *snap, const size_t *ids,
                            size_t n_ids, bool *done, int64_t *rest, uint64_t *targets)
{
        int64_t step = (int64_t)config->proxmox.max_change_bytes;
        int64_t alloc = *rest;
        uint64_t shares_total = 0;
        bool changed = false;

        for (size_t k = 0; k < n_ids; k++)
                if (!done[k]) {
                        const GuestSample *g = &snap->guests[ids[k]];
                        alloc += (int64_t)targets[ids[k]] - guest_min(g);
                        shares_total += g->shares;
                }
        if (shares_total == 0)
                return false;
        for (size_t k = 0; k < n_ids; k++) {
                const GuestSample *g = &snap->guests[ids[k]];
                int64_t cur = (int64_t)targets[ids[k]], actual = (int64_t)g->actual_bytes, next;
                if (done[k])
                        continue;
                int64_t desired =
                        clamp64(guest_min(g) + floor_share(alloc, g->shares, shares_total),
                                guest_min(g), (int64_t)g->max_bytes);
                /* The step is measured from the guest's actual size, not from
                 * this run's earlier choice: later passes cannot go further. */
                if (desired > cur)
                        next = desired < actual + step ? desired : actual + step;
                else if (desired < cur)
                        next = desired > actual - step ? desired : actual - step;
                else {
                        done[k] = true;
                        continue;
                }
                if (next < 0)
                        next = 0;
                if (next != cur) {
                        *rest -= next - cur;
                        targets[ids[k]] = (uint64_t)next;
                        changed = true;
                }
        }
        return changed;
}

int64_t proxmox_distribute(const PolicyConfig *config, const Snapshot *snapshot, const size_t *ids,
                           size_t n_ids, int64_t bytes, uint64_t *targets)
{
        bool *done = calloc(n_ids + 1, sizeof(bool));
        int64_t rest = bytes;

        if (!done)
                return bytes; /* no progress: the caller holds */
        while (rest != 0 && distribute_pass(config, snapshot, ids, n_ids, done, &rest, targets))
                ;
        free(done);
        return rest;
}

/* "Enough free": MemFree above a quarter of the minimum, and not under it. */
static bool has_enough_free(const GuestSample *g)
{
        return g->stats.free_bytes > g->min_bytes / 4 && g->actual_bytes >= g->min_bytes;
}

static int64_t host_goal(const PolicyConfig *config, const HostSample *h)
{
        int64_t used = (int64_t)h->mem_total_bytes - (int64_t)h->mem_available_bytes;
        return (int64_t)(config->proxmox.target * (double)h->mem_total_bytes) - used;
}

static void explain_all(const PolicyConfig *config, const Snapshot *snap, const uint64_t *targets,
                        int64_t goal, Decision *decisions)
{
        for (size_t i = 0; i < snap->n_guests; i++) {
                const GuestSample *g = &snap->guests[i];
                Decision *d = &decisions[i];
                if (!proxmox_eligible(g)) {
                        decision_explain(d, "hold: proxmox leaves it alone (%s)",
                                         g->min_bytes == 0 ? "no MinMemory="
                                         : g->shares == 0  ? "Shares=0"
                                                           : "no stats");
                        continue;
                }
                d->target_bytes = targets[i];
                decision_explain(d, "%s: proxmox, host goal %+.0f MiB, %s, shares %u -> %.0f MiB",
                                 targets[i] < g->actual_bytes   ? "inflate"
                                 : targets[i] > g->actual_bytes ? "deflate"
                                                                : "hold",
                                 (double)goal / MIB,
                                 has_enough_free(g) ? "enough free" : "under pressure", g->shares,
                                 (double)targets[i] / MIB);
        }
}

void proxmox_propose(const PolicyConfig *config, const Snapshot *snap, Decision *decisions)
{
        size_t n = snap->n_guests, n_all = 0, n_free = 0, n_pressure = 0;
        size_t *all = calloc(3 * n + 1, sizeof(size_t));
        uint64_t *targets = calloc(n + 1, sizeof(uint64_t));
        int64_t goal = host_goal(config, &snap->host), rest;

        if (!all || !targets)
                goto out;
        size_t *enough_free = all + n, *pressure = all + 2 * n;
        for (size_t i = 0; i < n; i++) {
                const GuestSample *g = &snap->guests[i];
                targets[i] = g->actual_bytes;
                if (!proxmox_eligible(g))
                        continue;
                all[n_all++] = i;
                if (has_enough_free(g))
                        enough_free[n_free++] = i;
                else
                        pressure[n_pressure++] = i;
        }
        if (llabs(goal) <= (long long)config->proxmox.dead_band_bytes)
                ; /* dead band: nothing to do */
        else if (goal > 0) {
                rest = proxmox_distribute(config, snap, pressure, n_pressure, goal, targets);
                if (rest >= goal)
                        proxmox_distribute(config, snap, all, n_all, rest, targets);
        } else {
                rest = proxmox_distribute(config, snap, enough_free, n_free, goal, targets);
                if (rest <= goal)
                        proxmox_distribute(config, snap, all, n_all, rest, targets);
        }
        explain_all(config, snap, targets, goal, decisions);
out:
        free(all);
        free(targets);
}

static uint64_t proxmox_period_usec(const PolicyConfig *config)
{
        return config->proxmox.interval_usec;
}

/* Proxmox keeps no state between runs: it reads the host and guests as they are. */
static void proxmox_propose_stateless(const PolicyConfig *config, const Snapshot *snap,
                                      PolicyState *state, PolicyGuestState *states,
                                      Decision *decisions)
{
        proxmox_propose(config, snap, decisions);
}

/* pvestatd's period; nothing sampled between runs. */
const Strategy proxmox_strategy = {
        .name = "proxmox",
        .period_usec = proxmox_period_usec,
        .collect = NULL,
        .propose = proxmox_propose_stateless,
        .wants_early_cycle = NULL,
};
