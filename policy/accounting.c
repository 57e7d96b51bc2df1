/* SPDX-License-Identifier: GPL-2.0-or-later */
/* How much memory a guest uses and how low its balloon may go. */
#include "policy.h"

bool guest_stats_usable(const GuestSample *g)
{
        return g->stats_fresh && balloon_stats_reported(&g->stats);
}

/*
 * Memory the guest's workload needs: MemTotal - MemAvailable. With
 * DEFLATE_ON_OOM the guest's MemTotal does not shrink with the balloon and
 * the balloon's pages count as used, so take out what the guest holds beyond
 * the balloon's actual size.
 */
uint64_t guest_used_bytes(const GuestSample *g)
{
        const BalloonStats *s = &g->stats;
        uint64_t avail = s->available_bytes != STAT_UNKNOWN ? s->available_bytes : s->free_bytes;
        uint64_t used;

        if (s->total_bytes == STAT_UNKNOWN || avail == STAT_UNKNOWN)
                return 0;
        used = s->total_bytes > avail ? s->total_bytes - avail : 0;
        if (s->total_bytes > g->actual_bytes) {
                uint64_t inside_balloon = s->total_bytes - g->actual_bytes;
                used = used > inside_balloon ? used - inside_balloon : 0;
        }
        return used;
}

uint64_t guest_headroom_min_bytes(const PolicyConfig *config, const GuestSample *g)
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
