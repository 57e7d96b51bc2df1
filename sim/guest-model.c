/* SPDX-License-Identifier: GPL-2.0-or-later */
/* One simulated guest, one step at a time (the model is described in sim.h). */
#include "guest-model.h"

#include <math.h>

#include "arrival.h"

/* Stats are stamped in seconds; the policy reads 0 as "never reported". */
#define STATS_EPOCH_SEC 1000000.0
/* Less than a page missing is floating-point residue of the interpolation,
 * not memory the guest lacks: a kernel always has that much slack. */
#define PAGE_BYTES 4096.0

bool sim_demand_at(const TraceVm *vm, size_t *next, double t, double *ret)
{
        size_t i = *next;

        if (t < (double)vm->t_sec[0] || t > (double)vm->t_sec[vm->n - 1])
                return false;
        while (i < vm->n && (double)vm->t_sec[i] < t)
                i++;
        *next = i;
        if ((double)vm->t_sec[i] == t || i == 0) {
                *ret = (double)vm->demand_bytes[i];
                return true;
        }
        double t0 = (double)vm->t_sec[i - 1], t1 = (double)vm->t_sec[i];
        double d0 = (double)vm->demand_bytes[i - 1], d1 = (double)vm->demand_bytes[i];
        *ret = d0 + (d1 - d0) * (t - t0) / (t1 - t0);
        return true;
}

/* A guest boots with all of its memory; only what it touches is resident. */
void sim_guest_boot(SimGuest *g, const TraceVm *vm, const SimParams *p, double demand)
{
        *g = (SimGuest){
                .present = true,
                .max = (double)vm->max_bytes,
                .min = p->min_share * (double)vm->max_bytes,
                .actual = (double)vm->max_bytes,
                .target = (double)vm->max_bytes,
                .swap_allowance = p->swap_share * (double)vm->max_bytes,
                .oom_armed = true,
                .swap_in_bytes = 0,
        };
        g->demand = fmin(demand, g->max);
        g->used = g->demand;
}

static double free_bytes(const SimGuest *g)
{
        return fmax(g->actual - g->used - g->cache, 0);
}

/* The balloon takes free pages (touched or not, in proportion), then
 * reclaims cache, then pushes use out to swap. */
static void balloon_take(SimGuest *g, double bytes)
{
        double free = free_bytes(g);
        double from_free = fmin(bytes, free);

        if (free > 0)
                g->touched_free -= from_free * g->touched_free / free;
        bytes -= from_free;
        double from_cache = fmin(bytes, g->cache);
        g->cache -= from_cache;
        bytes -= from_cache;
        g->used = fmax(g->used - bytes, 0);
}

static void move_balloon(SimGuest *g, const SimParams *p, double dt)
{
        if (g->target > g->actual)
                g->actual = fmin(g->target, g->actual + p->deflate_bytes_per_sec * dt);
        else if (g->target < g->actual) {
                double to = fmax(g->target, g->actual - p->inflate_bytes_per_sec * dt);
                balloon_take(g, g->actual - to);
                g->actual = to;
        }
        g->touched_free = fmin(g->touched_free, free_bytes(g));
}

/* Allocations reuse recently freed (touched) pages first, then untouched
 * ones, then reclaim cache; what still does not fit is swapped. */
static void follow_demand(SimGuest *g)
{
        if (g->demand < g->used) {
                g->touched_free += g->used - g->demand;
                g->used = g->demand;
                return;
        }
        double grow = g->demand - g->used;
        double from_free = fmin(grow, free_bytes(g));
        g->touched_free = fmax(g->touched_free - from_free, 0);
        g->used += from_free;
        grow -= from_free;
        double from_cache = fmin(grow, g->cache);
        g->cache -= from_cache;
        g->used += from_cache;
}

static void grow_cache(SimGuest *g, const TraceVm *vm, const SimParams *p, double t, double dt)
{
        double rate = p->cache_bytes_per_sec;

        if (t >= (double)vm->cache_burst_start_sec && t < (double)vm->cache_burst_end_sec)
                rate += vm->cache_burst_bytes_per_sec;
        double grow = fmin(rate * dt, free_bytes(g));
        g->touched_free = fmax(g->touched_free - grow, 0);
        g->cache += grow;
}

/* As in the daemon: the balloon got there (by the shared rule, on the whole
 * bytes the daemon would be shown), or the command timed out. */
static bool command_done(const SimGuest *g, const SimParams *p, double t)
{
        return balloon_arrived((uint64_t)g->actual, (uint64_t)g->target) ||
               t - g->command_sent_sec > p->command_timeout_usec / 1e6;
}

unsigned sim_guest_step(SimGuest *g, const TraceVm *vm, const SimParams *p, double t, double dt)
{
        unsigned oom = 0;

        move_balloon(g, p, dt);
        follow_demand(g);
        grow_cache(g, vm, p, t, dt);
        if (p->page_reporting)
                g->touched_free = 0; /* reported back within the step (Linux: 2 s) */
        double swapped = g->demand - g->used;
        if (swapped < PAGE_BYTES)
                swapped = 0;
        if (swapped > 0) {
                g->swap_in_bytes += (uint64_t)swapped;
                g->alloc_stalls++;
        }
        if (swapped > g->swap_allowance) {
                if (g->oom_armed) {
                        g->oom_kills++;
                        oom = 1;
                }
                g->oom_armed = false;
        } else
                g->oom_armed = true;
        if (g->pending && command_done(g, p, t))
                g->pending = false;
        return oom;
}

double sim_guest_resident(const SimGuest *g)
{
        return g->used + g->cache + g->touched_free;
}

void sim_guest_stats(const SimGuest *g, double t, BalloonStats *s)
{
        double free = free_bytes(g);

        balloon_stats_init(s);
        s->total_bytes = (uint64_t)g->actual;
        s->free_bytes = (uint64_t)free;
        s->available_bytes = (uint64_t)(free + g->cache);
        s->disk_caches_bytes = (uint64_t)g->cache;
        s->swap_in_bytes = g->swap_in_bytes;
        s->major_faults = g->swap_in_bytes / 4096;
        s->oom_kills = g->oom_kills;
        s->alloc_stalls = g->alloc_stalls;
        s->last_update_sec = (uint64_t)(STATS_EPOCH_SEC + t);
}
