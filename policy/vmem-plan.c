/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The balloon / virtio-mem split of a guest's target (see vmem-plan.h). */
#include "vmem-plan.h"

#include <stdio.h>

#include "units.h"

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

void vmem_plan_describe(const VmemPlanInput *in, const VmemPlan *plan, char *buf, size_t size)
{
        char balloon_s[32], vmem_s[32], req_s[32], takes_s[32];
        uint64_t carried = plan->requested_bytes;
        int n;

        if (in->unplug_stalled && in->plugged_bytes > carried)
                carried = in->plugged_bytes;
        n = snprintf(buf, size, "split: %s %s + virtio-mem %s",
                     in->has_balloon ? "balloon" : "boot",
                     format_bytes(balloon_s, sizeof(balloon_s), plan->balloon_target_bytes),
                     format_bytes(vmem_s, sizeof(vmem_s), carried));
        if (n < 0 || (size_t)n >= size || carried == plan->requested_bytes)
                return;
        format_bytes(req_s, sizeof(req_s), plan->requested_bytes);
        if (!plan->covers_stall) {
                snprintf(buf + n, size - (size_t)n,
                         "; virtio-mem unplug stalled at %s (requested %s), no balloon to take "
                         "the rest",
                         vmem_s, req_s);
                return;
        }
        /* What the balloon would hold had the unplug completed, less what it holds now. */
        uint64_t target = in->target_bytes, boot = in->boot_bytes;
        uint64_t unstalled = target > plan->requested_bytes ? target - plan->requested_bytes : 0;
        if (unstalled > boot)
                unstalled = boot;
        snprintf(buf + n, size - (size_t)n,
                 "; virtio-mem unplug stalled at %s (requested %s): balloon takes %s", vmem_s,
                 req_s,
                 format_bytes(takes_s, sizeof(takes_s), unstalled - plan->balloon_target_bytes));
}

bool vmem_total_arrived(uint64_t total_bytes, uint64_t target_bytes, uint64_t block_bytes)
{
        uint64_t gap = total_bytes > target_bytes ? total_bytes - target_bytes
                                                  : target_bytes - total_bytes;
        uint64_t slack = block_bytes > (UINT64_C(1) << 20) ? block_bytes : UINT64_C(1) << 20;

        return gap < slack;
}

bool vmem_stall_update(VmemStall *s, uint64_t plugged_bytes, uint64_t requested_bytes,
                       uint64_t now_usec)
{
        if (plugged_bytes <= requested_bytes) {
                *s = (VmemStall){ 0 };
                return false;
        }
        if (s->since_usec == 0 || plugged_bytes != s->plugged_bytes) {
                s->plugged_bytes = plugged_bytes;
                s->since_usec = now_usec ? now_usec : 1;
                return false;
        }
        return now_usec - s->since_usec >= VMEM_STALL_USEC;
}
