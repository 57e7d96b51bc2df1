/* SPDX-License-Identifier: GPL-2.0-or-later */
/* One simulated guest, one step at a time (the model is described in sim.h). */
#include "guest-model.h"

#include <math.h>

#include "arrival.h"
#include "vmem-plan.h"

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

/* A guest boots with all of its memory, its virtio-mem device fully plugged
 * (QEMU's requested-size at the device's size), so that every mode starts
 * alike and only the moves differ; only what it touches is resident. Boot
 * memory is the guest's maximum less whole blocks: the maximum stays the
 * trace's. */
void sim_guest_boot(SimGuest *g, const TraceVm *vm, const SimParams *p, double demand)
{
        double max = (double)vm->max_bytes, vmem_max = 0;

        if (p->vmem_mode != SIM_VMEM_NONE && p->vmem_block_bytes > 0) {
                double b = (double)p->vmem_block_bytes;
                vmem_max = floor(max * (1 - p->vmem_boot_share) / b) * b;
        }
        *g = (SimGuest){
                .present = true,
                .max = max,
                .min = p->min_share * max,
                .actual = max,
                .target = max,
                .balloon = p->vmem_mode != SIM_VMEM_ONLY || vmem_max == 0,
                .boot = max - vmem_max,
                .vmem_max = vmem_max,
                .balloon_target = max - vmem_max,
                .plugged = vmem_max,
                .requested = vmem_max,
                .vmem_top = vmem_max,
                .swap_allowance = p->swap_share * max,
                .oom_armed = true,
                .swap_in_bytes = 0,
        };
        g->demand = fmin(demand, g->max);
        g->used = g->demand;
}

static double balloon_actual(const SimGuest *g)
{
        return g->actual - g->plugged;
}

void sim_guest_set_target(SimGuest *g, const SimParams *p, double target)
{
        VmemPlanInput in = {
                .target_bytes = (uint64_t)fmax(target, 0),
                .boot_bytes = (uint64_t)g->boot,
                .vmem_max_bytes = (uint64_t)g->vmem_max,
                .block_bytes = p->vmem_block_bytes,
                .plugged_bytes = (uint64_t)g->plugged,
                .requested_bytes = (uint64_t)g->requested,
                .unplug_stalled = g->vmem_stalled,
                .has_balloon = g->balloon,
        };
        VmemPlan plan;

        vmem_plan(&in, &plan);
        g->target = target;
        if (plan.request_changed)
                g->vmem_carry = 0;
        g->requested = (double)plan.requested_bytes;
        g->balloon_target = (double)plan.balloon_target_bytes;
}

void sim_guest_jump_to_target(SimGuest *g)
{
        g->plugged = g->requested;
        g->vmem_top = fmax(g->vmem_top, g->plugged);
        g->vmem_stalled = false;
        g->actual = g->balloon_target + g->plugged;
}

/* A share of the device's blocks, spread evenly over its range, holds memory
 * the guest cannot move (kernel allocations, pinned pages) once plugged.
 * Linux's driver unplugs from the top of the range and skips such blocks,
 * so an unplug stops at the unmovable blocks below the highest extent ever
 * plugged; plugging fills the lowest free blocks first. */
double sim_guest_unmovable_bytes(const SimGuest *g, const SimParams *p)
{
        double b = (double)p->vmem_block_bytes;

        if (b <= 0)
                return 0;
        return floor(g->vmem_top / b * p->vmem_unmovable_share) * b;
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
        double now = balloon_actual(g), to = now;

        if (g->balloon_target > now)
                to = fmin(g->balloon_target, now + p->deflate_bytes_per_sec * dt);
        else if (g->balloon_target < now) {
                to = fmax(g->balloon_target, now - p->inflate_bytes_per_sec * dt);
                balloon_take(g, now - to);
        }
        g->actual += to - now;
        g->step_balloon_moved = fabs(to - now);
        g->touched_free = fmin(g->touched_free, free_bytes(g));
}

/*
 * Plugs or unplugs whole blocks at the device's rates. Plugged memory is new
 * to the guest (not resident until touched). Unplugging offlines blocks: the
 * guest migrates what they hold into its free memory or drops cache, and
 * QEMU discards them; it cannot push use out to swap, so it goes no further
 * than free memory and cache allow, nor below the unmovable blocks. There it
 * stalls, plugged above requested.
 */
static void move_vmem(SimGuest *g, const SimParams *p, double dt)
{
        double b = (double)p->vmem_block_bytes, moved = 0;

        g->step_vmem_moved = 0;
        if (b <= 0 || g->requested == g->plugged) {
                g->vmem_carry = 0;
                g->vmem_stalled = false;
                return;
        }
        if (g->requested > g->plugged) {
                g->vmem_carry += p->vmem_plug_bytes_per_sec * dt;
                moved = fmin(floor(g->vmem_carry / b), (g->requested - g->plugged) / b) * b;
                g->plugged += moved;
                g->actual += moved;
                g->vmem_top = fmax(g->vmem_top, g->plugged);
                g->vmem_stalled = false;
        } else {
                double floor_bytes = fmax(g->requested, sim_guest_unmovable_bytes(g, p));
                double room = floor(fmax(free_bytes(g) + g->cache, 0) / b) * b;
                double want = fmax(g->plugged - floor_bytes, 0);
                g->vmem_carry += p->vmem_unplug_bytes_per_sec * dt;
                double rate = floor(g->vmem_carry / b) * b;
                moved = fmin(rate, fmin(want, room));
                balloon_take(g, moved);
                g->plugged -= moved;
                g->actual -= moved;
                g->vmem_stalled = g->plugged > g->requested && moved < rate;
        }
        g->vmem_carry -= moved;
        if (g->plugged == g->requested || g->vmem_stalled)
                g->vmem_carry = 0;
        g->step_vmem_moved = moved;
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

/* As in the daemon: the guest got where the plan can take it (by the shared
 * rule, on the whole bytes the daemon would be shown), or the command timed
 * out. Without virtio-mem the plan's total is the target itself. */
static bool command_done(const SimGuest *g, const SimParams *p, double t)
{
        double planned = g->balloon_target + (g->vmem_stalled ? g->plugged : g->requested);

        return balloon_arrived((uint64_t)g->actual, (uint64_t)planned) ||
               t - g->command_sent_sec > p->command_timeout_usec / 1e6;
}

unsigned sim_guest_step(SimGuest *g, const TraceVm *vm, const SimParams *p, double t, double dt)
{
        unsigned oom = 0;
        bool stalled = g->vmem_stalled;

        /* Unplug before inflating: shrinking takes from the device first. A
         * stall that starts or ends changes what the balloon must carry. */
        move_vmem(g, p, dt);
        if (g->vmem_stalled != stalled)
                sim_guest_set_target(g, p, g->target);
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
