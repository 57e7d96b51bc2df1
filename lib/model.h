/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The snapshot the policy decides on: plain data about the host and each
 * guest, gathered by collectors and backends, free of any I/O handle.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "balloon-stats.h"

#define MIB          (UINT64_C(1) << 20)
#define GIB          (UINT64_C(1) << 30)
#define USEC_PER_SEC UINT64_C(1000000)

typedef struct HostSample {
        uint64_t mem_total_bytes;
        uint64_t mem_available_bytes; /* MemAvailable, plus the ZFS ARC above its minimum */
        uint64_t mem_free_bytes;
        uint64_t buffers_bytes;
        uint64_t cached_bytes;
        bool swap_known;                    /* /proc/vmstat read */
        uint64_t swap_in_pages;             /* pswpin, cumulative */
        uint64_t swap_out_pages;            /* pswpout, cumulative */
        uint64_t zfs_arc_reclaimable_bytes; /* counted in mem_available_bytes; 0 without ZFS */
        bool zfs_arc_known;                 /* arcstats read */
        bool psi_available;
        double psi_some_avg10; /* percent */
        double psi_full_avg10; /* percent */
        uint64_t psi_some_total_usec; /* "some total=": stall time so far */
        /* The stall share (percent) since the previous sample, from the
         * totals: PSI's averages move only every 2 s and avg10 lags 10 s. */
        double psi_some_recent;
        /* GuestMemoryBudget=: what the guests may hold together (a size, or
         * their cgroup's limit); 0 = no budget. */
        uint64_t guest_budget_bytes;
        /* What they hold against it: the cgroup's usage, or the sum of the
         * guests' QEMU RSS for a fixed size without a cgroup. */
        uint64_t guest_held_bytes;
} HostSample;

typedef struct GuestSample {
        const char *name;      /* borrowed from the guest object */
        /* Memory the guest has now: the balloon's actual size (QMP
         * query-balloon) plus what its virtio-mem devices have plugged. */
        uint64_t actual_bytes;
        /* The ceiling: boot_bytes, or a lower MaxMemory= */
        uint64_t max_bytes;
        /* The most its devices give it: boot memory plus the virtio-mem
         * device's maximum (just boot memory without one); 0 = max_bytes */
        uint64_t boot_bytes;
        /* MaxMemory= wins over the floor (MaxMemoryBelowFloor=yes): the
         * guest may be squeezed below its use plus HeadroomMin=. */
        bool max_below_floor;
        uint64_t min_bytes; /* configured MinMemory=, 0 when unset */
        BalloonStats stats;
        uint64_t stats_actual_bytes; /* actual_bytes when stats were reported; 0 = unknown */
        /* Memory the guest's kernel keeps out of MemTotal (learnt while the
         * balloon is at its maximum); 0 = unknown. */
        uint64_t kernel_reserve_bytes;
        uint64_t stats_age_usec; /* UINT64_MAX when never reported */
        bool stats_fresh;        /* reported within the staleness limit */
        bool command_pending;    /* last balloon command not reached yet */
        uint64_t pending_target_bytes;
        bool manage; /* Manage=no leaves the balloon alone */
        /* Another controller moved the balloon to this size lately and
         * memtided stands back (OtherControllerHold=); 0 when not. */
        uint64_t other_controller_bytes;
        /* From the compatibility layer: reporting negotiated, layouts agree, not
         * stalled. Then the guest's free memory goes back to the host by itself. */
        bool page_reporting_functional;
        bool deflate_on_oom; /* negotiated DEFLATE_ON_OOM */
        uint32_t shares;     /* Shares= weight when memory is scarce; 0: left out by proxmox */
} GuestSample;

typedef struct Snapshot {
        uint64_t now_usec; /* monotonic time of the snapshot */
        HostSample host;
        size_t n_guests;
        GuestSample *guests;
} Snapshot;
