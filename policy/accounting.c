/* SPDX-License-Identifier: GPL-2.0-or-later */
/* How much memory a guest uses and how low its balloon may go. */
#include <math.h>

#include "accounting.h"

bool guest_stats_usable(const GuestSample *g)
{
        return g->stats_fresh && balloon_stats_reported(&g->stats);
}

/*
 * Memory the guest cannot give up: its balloon size when the stats were
 * taken minus MemAvailable. This counts what the guest's kernel reserves
 * for itself (about 55 MiB of a 512 MiB Linux guest never shows in
 * MemTotal), and holds with DEFLATE_ON_OOM too, where MemTotal stays at
 * boot size and the balloon's pages count as allocated: either way
 * MemAvailable is what the guest could still hand out.
 */
uint64_t guest_used_bytes(const GuestSample *g)
{
        const BalloonStats *s = &g->stats;
        uint64_t avail = s->available_bytes != STAT_UNKNOWN ? s->available_bytes : s->free_bytes;
        uint64_t size = g->stats_actual_bytes ? g->stats_actual_bytes : g->actual_bytes;

        if (avail == STAT_UNKNOWN)
                return 0;
        /* Without DEFLATE_ON_OOM MemTotal follows the balloon inside the same
         * report as MemAvailable, so MemTotal plus the kernel's own reserve is
         * the size that report saw, even while the balloon moves. */
        if (g->kernel_reserve_bytes && !g->deflate_on_oom && s->total_bytes != STAT_UNKNOWN &&
            s->total_bytes < size)
                size = s->total_bytes + g->kernel_reserve_bytes;
        return size > avail ? size - avail : 0;
}

uint64_t host_budget_left_bytes(const HostSample *h)
{
        return h->guest_budget_bytes > h->guest_held_bytes
                       ? h->guest_budget_bytes - h->guest_held_bytes
                       : 0;
}

uint64_t host_available_bytes(const HostSample *h)
{
        uint64_t left = host_budget_left_bytes(h);

        if (!h->guest_budget_bytes || left > h->mem_available_bytes)
                return h->mem_available_bytes;
        return left;
}

/* 0 from 4 x the reserve of total up, 1 at the reserve and below. */
static double reserve_pressure(double reserve, uint64_t available, uint64_t total)
{
        double free_share = (double)available / (double)total;

        return (4 * reserve - free_share) / (3 * reserve);
}

/* 0 while the host has room, 1 when its free memory is down to the reserve
 * or tasks stall on memory (PSI: its 10 s average, or the share since the
 * last sample, whichever is higher, so that a cycle brought forward by a
 * PSI trigger sees the stall that fired it). With GuestMemoryBudget= the budget is a
 * second host, the same rule on what is left of it: a small budget must
 * not look roomy against a large MemTotal. Unknown host figures count as
 * room. */
double host_pressure(const PolicyConfig *config, const HostSample *h)
{
        double p = 0;

        if (h->mem_total_bytes > 0 && config->host_reserve > 0)
                p = reserve_pressure(config->host_reserve, h->mem_available_bytes,
                                     h->mem_total_bytes);
        if (h->guest_budget_bytes > 0 && config->host_reserve > 0)
                p = fmax(p, reserve_pressure(config->host_reserve, host_budget_left_bytes(h),
                                             h->guest_budget_bytes));
        if (h->psi_available)
                p = fmax(p, fmax(h->psi_some_avg10, h->psi_some_recent) / 10.0);
        return fmin(fmax(p, 0), 1);
}

/*
 * The floor's headroom: HeadroomShare= of the guest's maximum (at least
 * HeadroomMin=) while the host has room, narrowing to HeadroomMin= as host
 * pressure rises. Generous when the host can afford it; when it cannot, an
 * overrun host would swap or kill whole guests, and how fast a guest runs
 * out depends on how fast it allocates, not on its size.
 */
uint64_t guest_headroom_bytes(const PolicyConfig *config, const GuestSample *g, double pressure)
{
        double share = config->headroom_share * (double)g->max_bytes;
        double min = (double)config->headroom_min_bytes;
        double room = share > min ? share : min;

        if (!config->floor_narrowing || !(pressure > 0)) /* also NaN */
                pressure = 0;
        pressure = fmin(pressure, 1.0);
        return (uint64_t)(min + (room - min) * (1.0 - pressure));
}

uint64_t guest_ceiling_bytes(const GuestSample *g)
{
        return g->max_bytes;
}

uint64_t guest_boot_bytes(const GuestSample *g)
{
        return g->boot_bytes ? g->boot_bytes : g->max_bytes;
}

/* A guest-reported size near 2^64 must not wrap a sum into a small floor. */
static uint64_t add_saturating(uint64_t a, uint64_t b)
{
        return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* Use plus HeadroomMin=: no host pressure takes the floor below it. */
static uint64_t use_with_min_headroom(const PolicyConfig *config, const GuestSample *g)
{
        return add_saturating(guest_used_bytes(g), config->headroom_min_bytes);
}

bool guest_max_under_use(const PolicyConfig *config, const GuestSample *g)
{
        uint64_t ceiling = guest_ceiling_bytes(g);

        return balloon_stats_reported(&g->stats) && ceiling < guest_boot_bytes(g) &&
               ceiling < use_with_min_headroom(config, g);
}

/*
 * The most the guard rails give a guest: its maximum, except that a maximum
 * under its use plus HeadroomMin= (MaxMemory=, memtidectl set --max) gives
 * way to that, up to the boot memory, unless MaxMemoryBelowFloor=yes: a
 * squeezed guest swaps or kills its tasks, so only the operator may ask for it.
 */
uint64_t guest_top_bytes(const PolicyConfig *config, const GuestSample *g)
{
        uint64_t boot = guest_boot_bytes(g), safe;

        if (g->max_below_floor || !guest_max_under_use(config, g))
                return guest_ceiling_bytes(g);
        safe = use_with_min_headroom(config, g);
        return safe < boot ? safe : boot;
}

/* Never below the configured minimum, nor below use plus the headroom the
 * host's pressure allows; never above what the guard rails give (the top). */
uint64_t guest_floor_bytes(const PolicyConfig *config, const HostSample *host, const GuestSample *g)
{
        uint64_t floor = g->min_bytes;
        if (balloon_stats_reported(&g->stats)) {
                double pressure = host_pressure(config, host);
                uint64_t need = add_saturating(guest_used_bytes(g),
                                               guest_headroom_bytes(config, g, pressure));
                if (need > floor)
                        floor = need;
        }
        uint64_t top = guest_top_bytes(config, g);
        return floor < top ? floor : top;
}
