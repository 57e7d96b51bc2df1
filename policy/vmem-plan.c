/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The balloon / virtio-mem split of a guest's target (see vmem-plan.h). */
#include "vmem-plan.h"

static uint64_t min_u64(uint64_t a, uint64_t b)
{
        return a < b ? a : b;
}

void vmem_plan(const VmemPlanInput *in, VmemPlan *ret)
{
        uint64_t t = in->target_bytes, b = in->block_bytes;
        uint64_t v = b ? in->vmem_max_bytes / b * b : 0; /* a partial block cannot be plugged */
        uint64_t requested = 0, balloon;

        /* Rounded up, not down: a guest short of its target by less than a
         * block could be short of memory it uses; the balloon below B takes
         * back the part of the last block that was not asked for. */
        if (v > 0 && t > in->boot_bytes) {
                uint64_t above = t - in->boot_bytes;
                uint64_t blocks = above / b + (above % b != 0);
                requested = blocks > v / b ? v : blocks * b;
        }
        /* The device cannot go below what it keeps: counting on the request
         * would leave the guest above its target for as long as it stalls. */
        uint64_t carried = requested;
        bool covers_stall = false;
        if (in->unplug_stalled && in->plugged_bytes > requested) {
                carried = in->plugged_bytes;
                covers_stall = true;
        }
        if (!in->has_balloon)
                balloon = in->boot_bytes;
        else
                balloon = min_u64(t > carried ? t - carried : 0, in->boot_bytes);
        *ret = (VmemPlan){
                .requested_bytes = requested,
                .balloon_target_bytes = balloon,
                .request_changed = requested != in->requested_bytes,
                .covers_stall = covers_stall && in->has_balloon,
        };
}
