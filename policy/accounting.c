/* SPDX-License-Identifier: GPL-2.0-or-later */
/* How much memory a guest uses and how low its balloon may go. */
#include "policy.h"

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

/* The floor's headroom is absolute: how fast a guest can run out depends on
 * how fast it allocates (which the strategies measure), not on its size. */
uint64_t guest_headroom_min_bytes(const PolicyConfig *config, const GuestSample *g)
{
        (void)g;
        return config->headroom_min_bytes;
}

/* Headroom a strategy may keep while the host has room: a share of the
 * guest's maximum, never less than the floor's. */
uint64_t guest_headroom_room_bytes(const PolicyConfig *config, const GuestSample *g)
{
        uint64_t share = (uint64_t)(config->headroom_share * (double)g->max_bytes);
        return share > config->headroom_min_bytes ? share : config->headroom_min_bytes;
}

uint64_t guest_ceiling_bytes(const GuestSample *g)
{
        return g->max_bytes;
}

/* Never below the configured minimum, nor below use plus minimum headroom. */
uint64_t guest_floor_bytes(const PolicyConfig *config, const GuestSample *g)
{
        uint64_t floor = g->min_bytes;
        if (balloon_stats_reported(&g->stats)) {
                uint64_t need = guest_used_bytes(g) + guest_headroom_min_bytes(config, g);
                if (need > floor)
                        floor = need;
        }
        uint64_t ceiling = guest_ceiling_bytes(g);
        return floor < ceiling ? floor : ceiling;
}
