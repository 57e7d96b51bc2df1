/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Parses QEMU's virtio-balloon `guest-stats` QOM property into BalloonStats.
 *
 * Units: QEMU passes each (tag, value) pair from the guest's stats queue
 * through unchanged (hw/virtio/virtio-balloon.c, virtio_balloon_receive_stats),
 * so the units are whatever the guest driver sends. The virtio spec defines
 * swap-in/out, free, total, available and disk-caches in bytes, and the Linux
 * driver (drivers/virtio/virtio_balloon.c, update_balloon_stats) converts its
 * page counters with pages_to_bytes() before sending, swap-in/out included.
 * Faults, hugetlb and the reclaim/OOM counters are plain event counts. So no
 * conversion happens here. (libvirt is different: its memory stats are KiB.)
 *
 * Unset values: QEMU resets every stat to UINT64_MAX before each report and
 * prints it as 18446744073709551615 (visit_type_uint64). Early QEMU 2.x
 * visited the same array as int64 and printed -1 (QEMU's own
 * docs/virtio-balloon-stats.txt still says -1); a negative value is taken as
 * unknown too, as is anything that is not a non-negative integer.
 */
#include <errno.h>
#include <stddef.h>

#include "balloon-stats.h"
#include "cleanup.h"
#include "json-util.h"

static const struct {
        const char *name; /* QEMU's balloon_stat_names[], by virtio tag */
        size_t offset;
} balloon_stat_fields[] = {
        {"stat-swap-in", offsetof(BalloonStats, swap_in_bytes)},
        {"stat-swap-out", offsetof(BalloonStats, swap_out_bytes)},
        {"stat-major-faults", offsetof(BalloonStats, major_faults)},
        {"stat-minor-faults", offsetof(BalloonStats, minor_faults)},
        {"stat-free-memory", offsetof(BalloonStats, free_bytes)},
        {"stat-total-memory", offsetof(BalloonStats, total_bytes)},
        {"stat-available-memory", offsetof(BalloonStats, available_bytes)},
        {"stat-disk-caches", offsetof(BalloonStats, disk_caches_bytes)},
        {"stat-htlb-pgalloc", offsetof(BalloonStats, hugetlb_allocations)},
        {"stat-htlb-pgfail", offsetof(BalloonStats, hugetlb_failures)},
        /* Tags 10-15: added upstream in 2024 with Linux 6.12's driver;
         * QEMU 7.2 does not print them at all. */
        {"stat-oom-kills", offsetof(BalloonStats, oom_kills)},
        {"stat-alloc-stalls", offsetof(BalloonStats, alloc_stalls)},
        {"stat-async-scans", offsetof(BalloonStats, async_scans)},
        {"stat-direct-scans", offsetof(BalloonStats, direct_scans)},
        {"stat-async-reclaims", offsetof(BalloonStats, async_reclaims)},
        {"stat-direct-reclaims", offsetof(BalloonStats, direct_reclaims)},
};

static uint64_t *balloon_stats_field(BalloonStats *s, size_t offset)
{
        return (uint64_t *)((char *)s + offset);
}

void balloon_stats_init(BalloonStats *s)
{
        for (size_t i = 0; i < ELEMENTSOF(balloon_stat_fields); i++)
                *balloon_stats_field(s, balloon_stat_fields[i].offset) = STAT_UNKNOWN;
        s->last_update_sec = 0;
}

bool balloon_stats_reported(const BalloonStats *s)
{
        return s->total_bytes != STAT_UNKNOWN &&
               (s->free_bytes != STAT_UNKNOWN || s->available_bytes != STAT_UNKNOWN);
}

int balloon_stats_from_qmp(BalloonStats *s, json_object *guest_stats)
{
        json_object *stats = NULL;
        uint64_t v;

        balloon_stats_init(s);

        if (!json_object_is_type(guest_stats, json_type_object) ||
            !json_object_object_get_ex(guest_stats, "stats", &stats) ||
            !json_object_is_type(stats, json_type_object))
                return -EINVAL;

        for (size_t i = 0; i < ELEMENTSOF(balloon_stat_fields); i++)
                if (json_get_u64(stats, balloon_stat_fields[i].name, &v) >= 0)
                        *balloon_stats_field(s, balloon_stat_fields[i].offset) = v;

        /* "last-update" is the host's time(2) when the last report arrived. */
        if (json_get_u64(guest_stats, "last-update", &v) >= 0)
                s->last_update_sec = v;

        return 0;
}
