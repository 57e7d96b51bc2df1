/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * One normalized view of a guest's virtio-balloon statistics, whatever
 * reported them (QMP guest-stats, libvirt bulk stats). Every field is in
 * bytes or counts; STAT_UNKNOWN means the guest never reported it (QEMU
 * sends UINT64_MAX, libvirt leaves the field out).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>

#define STAT_UNKNOWN UINT64_MAX

typedef struct BalloonStats {
        /* virtio spec tags 0-9 */
        uint64_t swap_in_bytes;
        uint64_t swap_out_bytes;
        uint64_t major_faults;
        uint64_t minor_faults;
        uint64_t free_bytes;      /* MemFree */
        uint64_t total_bytes;     /* MemTotal as the guest sees it */
        uint64_t available_bytes; /* MemAvailable */
        uint64_t disk_caches_bytes;
        uint64_t hugetlb_allocations;
        uint64_t hugetlb_failures;
        /* Linux tags 10-15, only from newer QEMU */
        uint64_t oom_kills;
        uint64_t alloc_stalls;
        uint64_t async_scans;
        uint64_t direct_scans;
        uint64_t async_reclaims;
        uint64_t direct_reclaims;
        /* Host wall-clock seconds of the guest's last report; 0 = never. */
        uint64_t last_update_sec;
} BalloonStats;

/* Sets every field to STAT_UNKNOWN and last_update_sec to 0. */
void balloon_stats_init(BalloonStats *s);

/* True once the guest has reported at least MemTotal and MemFree or MemAvailable. */
bool balloon_stats_reported(const BalloonStats *s);

/*
 * Fills s from the value of QMP `qom-get <balloon> guest-stats`:
 * {"stats": {"stat-free-memory": N, ...}, "last-update": N}. Unknown keys
 * are ignored; missing or UINT64_MAX values stay STAT_UNKNOWN. Returns 0 or
 * -EINVAL when the object has no "stats" member.
 */
int balloon_stats_from_qmp(BalloonStats *s, json_object *guest_stats);
