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
#include <stddef.h>
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

/* What the plan does, for the decision's reason: "split: balloon 480.0 MiB +
 * virtio-mem 512.0 MiB" ("boot" instead of "balloon" without one), and when
 * the balloon covers a stalled unplug, "; virtio-mem unplug stalled at X
 * (requested Y): balloon takes Z" (Z: what the balloon gives up for it). */
void vmem_plan_describe(const VmemPlanInput *in, const VmemPlan *plan, char *buf, size_t size);

/* A guest's total (balloon + plugged) counts as at its target within a
 * block (a device moves whole blocks), at least the balloon's 1 MiB. */
bool vmem_total_arrived(uint64_t total_bytes, uint64_t target_bytes, uint64_t block_bytes);

/* An unplug that stops short: the plugged size stays above the request,
 * unchanged, for this long. The guest's driver keeps retrying in the
 * background, so a later drop ends the stall. */
#define VMEM_STALL_USEC (5 * UINT64_C(1000000))

typedef struct VmemStall {
        uint64_t plugged_bytes; /* the size being watched */
        uint64_t since_usec;    /* when it was first seen above the request; 0: not */
} VmemStall;

/* Feeds one observation (plugged, requested at now); true while stalled. */
bool vmem_stall_update(VmemStall *s, uint64_t plugged_bytes, uint64_t requested_bytes,
                       uint64_t now_usec);
