/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Splitting a guest's total memory target between its balloon and a
 * virtio-mem device: one pure rule for the daemon and the simulator, so that
 * what the simulator shows of virtio-mem holds for the daemon.
 *
 * A guest boots with boot memory B, the range the balloon acts in; a
 * virtio-mem device adds up to V above it in blocks of b. virtio-mem carries
 * everything above B, rounded up to whole blocks; the balloon carries the
 * rest, below B. Growth thus deflates the balloon up to B first, then plugs;
 * shrinking unplugs first, then inflates the balloon.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

typedef struct VmemPlanInput {
        uint64_t target_bytes; /* T: the guest's total, as the policy decided it */
        uint64_t boot_bytes;   /* B: boot memory, the balloon's range */
        /* V: the device's maximum size (rounded down to whole blocks here);
         * 0, or block_bytes 0, when the guest has no virtio-mem device. */
        uint64_t vmem_max_bytes;
        uint64_t block_bytes;     /* b: the device's block size */
        uint64_t plugged_bytes;   /* the device's plugged size now */
        uint64_t requested_bytes; /* the device's requested size now */
        /* The device's last unplug stopped above its request (blocks it
         * could not empty): plugged_bytes is what it keeps for now. */
        bool unplug_stalled;
        /* false: no balloon; boot memory is the floor the guest never goes
         * below, and balloon_target_bytes is always boot_bytes. */
        bool has_balloon;
} VmemPlanInput;

typedef struct VmemPlan {
        uint64_t requested_bytes;      /* the device's new requested size */
        uint64_t balloon_target_bytes; /* the guest's memory below boot_bytes */
        bool request_changed;          /* requested_bytes differs from the input's */
        /* The balloon covers memory a stalled unplug keeps (target - plugged). */
        bool covers_stall;
} VmemPlan;

/*
 * requested = clamp(roundup(T - B, b), 0, V); balloon target = T - requested
 * (at most B, at least 0). When the unplug stalled above the new request,
 * the balloon takes what the device keeps: balloon target = T - plugged. The
 * guest's memory is then balloon target + requested (or + plugged, stalled),
 * which is T unless T lies outside what the devices can reach: below B
 * without a balloon, above B + V, or short of the rounding to blocks.
 */
void vmem_plan(const VmemPlanInput *in, VmemPlan *ret);
