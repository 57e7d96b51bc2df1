/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The balloon / virtio-mem split (policy/vmem-plan.c), on a guest of 4 GiB
 * boot memory and a 12 GiB device of 2 MiB blocks; expected sizes are
 * worked out by hand in MiB. */
#include <stdbool.h>
#include <string.h>

#include "model.h"
#include "test-util.h"
#include "vmem-plan.h"

static VmemPlanInput guest(uint64_t target_mib)
{
        return (VmemPlanInput){
                .target_bytes = target_mib * MIB,
                .boot_bytes = 4 * GIB,
                .vmem_max_bytes = 12 * GIB,
                .block_bytes = 2 * MIB,
                .plugged_bytes = 12 * GIB,
                .requested_bytes = 12 * GIB,
                .has_balloon = true,
        };
}

static VmemPlan plan(const VmemPlanInput *in)
{
        VmemPlan p;
        vmem_plan(in, &p);
        return p;
}

static void test_above_boot_goes_to_virtio_mem_in_whole_blocks(void)
{
        VmemPlanInput in = guest(6 * 1024 + 1); /* 2 GiB + 1 MiB above boot */
        VmemPlan p = plan(&in);

        /* 1025 blocks, the last asked for half: the balloon takes 1 MiB back */
        check_u64(p.requested_bytes, 2050 * MIB);
        check_u64(p.balloon_target_bytes, 4095 * MIB);
        check(p.request_changed && !p.covers_stall);

        in = guest(6 * 1024); /* a whole number of blocks: nothing to take back */
        p = plan(&in);
        check_u64(p.requested_bytes, 2 * GIB);
        check_u64(p.balloon_target_bytes, 4 * GIB);
}

static void test_below_boot_goes_to_the_balloon(void)
{
        VmemPlanInput in = guest(3 * 1024);
        VmemPlan p = plan(&in);

        check_u64(p.requested_bytes, 0);
        check_u64(p.balloon_target_bytes, 3 * GIB);

        in = guest(4 * 1024); /* exactly boot memory */
        p = plan(&in);
        check_u64(p.requested_bytes, 0);
        check_u64(p.balloon_target_bytes, 4 * GIB);

        in = guest(0);
        p = plan(&in);
        check_u64(p.requested_bytes, 0);
        check_u64(p.balloon_target_bytes, 0);
}

static void test_clamped_to_the_device_and_boot_memory(void)
{
        VmemPlanInput in = guest(20 * 1024); /* above 4 + 12 GiB */
        VmemPlan p = plan(&in);

        check_u64(p.requested_bytes, 12 * GIB);
        check_u64(p.balloon_target_bytes, 4 * GIB);
        check(!p.request_changed); /* 12 GiB was requested already */

        /* A device size that is not whole blocks: only whole ones are plugged. */
        in.vmem_max_bytes = 12 * GIB + MIB;
        p = plan(&in);
        check_u64(p.requested_bytes, 12 * GIB);
        check_u64(p.balloon_target_bytes, 4 * GIB);
}

static void test_stalled_unplug_is_covered_by_the_balloon(void)
{
        VmemPlanInput in = guest(5 * 1024); /* wants 1 GiB plugged */

        in.plugged_bytes = 3 * GIB; /* but 3 GiB stayed */
        in.requested_bytes = 1 * GIB;
        in.unplug_stalled = true;
        VmemPlan p = plan(&in);
        check_u64(p.requested_bytes, 1 * GIB); /* still asked for */
        check(!p.request_changed);
        check_u64(p.balloon_target_bytes, 2 * GIB); /* 5 - 3 */
        check(p.covers_stall);

        /* Not stalled (still unplugging): the balloon waits for the device. */
        in.unplug_stalled = false;
        p = plan(&in);
        check_u64(p.balloon_target_bytes, 4 * GIB);
        check(!p.covers_stall);

        /* Growth past what stayed: the stall no longer matters. */
        in = guest(8 * 1024);
        in.plugged_bytes = 3 * GIB;
        in.requested_bytes = 1 * GIB;
        in.unplug_stalled = true;
        p = plan(&in);
        check_u64(p.requested_bytes, 4 * GIB);
        check_u64(p.balloon_target_bytes, 4 * GIB);
        check(p.request_changed && !p.covers_stall);

        /* More stayed than the whole target: the balloon empties the boot range. */
        in = guest(2 * 1024);
        in.plugged_bytes = 3 * GIB;
        in.requested_bytes = 0;
        in.unplug_stalled = true;
        p = plan(&in);
        check_u64(p.requested_bytes, 0);
        check_u64(p.balloon_target_bytes, 0);
}

static void test_virtio_mem_only_never_below_boot(void)
{
        VmemPlanInput in = guest(1024);

        in.has_balloon = false;
        VmemPlan p = plan(&in);
        check_u64(p.requested_bytes, 0);
        check_u64(p.balloon_target_bytes, 4 * GIB); /* boot memory stays */

        in.target_bytes = 6 * GIB + MIB;
        p = plan(&in);
        check_u64(p.requested_bytes, 2050 * MIB); /* rounded up, nothing takes it back */
        check_u64(p.balloon_target_bytes, 4 * GIB);

        /* A stall has nothing to fall back on. */
        in.target_bytes = 5 * GIB;
        in.plugged_bytes = 3 * GIB;
        in.requested_bytes = 1 * GIB;
        in.unplug_stalled = true;
        p = plan(&in);
        check_u64(p.balloon_target_bytes, 4 * GIB);
        check(!p.covers_stall);
}

static void test_without_a_device_the_balloon_takes_everything(void)
{
        VmemPlanInput in = {
                .target_bytes = 3 * GIB,
                .boot_bytes = 16 * GIB,
                .has_balloon = true,
        };
        VmemPlan p = plan(&in);

        check_u64(p.requested_bytes, 0);
        check_u64(p.balloon_target_bytes, 3 * GIB);
        check(!p.request_changed);

        in.target_bytes = 20 * GIB;
        in.vmem_max_bytes = 4 * GIB; /* no block size: no device */
        p = plan(&in);
        check_u64(p.requested_bytes, 0);
        check_u64(p.balloon_target_bytes, 16 * GIB);
}

static void test_stall_needs_the_plugged_size_unchanged_for_a_while(void)
{
        VmemStall st = { 0 };
        uint64_t t0 = 100 * USEC_PER_SEC;

        /* Unplugging: plugged above requested but falling. */
        check(!vmem_stall_update(&st, 1024 * MIB, 512 * MIB, t0));
        check(!vmem_stall_update(&st, 900 * MIB, 512 * MIB, t0 + 2 * USEC_PER_SEC));
        /* Stuck at 900 MiB: not yet after 4 s, stalled after 5 s. */
        check(!vmem_stall_update(&st, 900 * MIB, 512 * MIB, t0 + 6 * USEC_PER_SEC));
        check(vmem_stall_update(&st, 900 * MIB, 512 * MIB, t0 + 7 * USEC_PER_SEC));
        check(vmem_stall_update(&st, 900 * MIB, 512 * MIB, t0 + 30 * USEC_PER_SEC));
        /* A lower request while stuck changes nothing: the blocks still stay. */
        check(vmem_stall_update(&st, 900 * MIB, 256 * MIB, t0 + 31 * USEC_PER_SEC));
        /* The guest unplugs again: moving, so no stall; it must last anew. */
        check(!vmem_stall_update(&st, 880 * MIB, 256 * MIB, t0 + 32 * USEC_PER_SEC));
        check(!vmem_stall_update(&st, 880 * MIB, 256 * MIB, t0 + 36 * USEC_PER_SEC));
        check(vmem_stall_update(&st, 880 * MIB, 256 * MIB, t0 + 37 * USEC_PER_SEC));
        /* A request at or above what is plugged: nothing to unplug. */
        check(!vmem_stall_update(&st, 880 * MIB, 880 * MIB, t0 + 38 * USEC_PER_SEC));
        check(!vmem_stall_update(&st, 880 * MIB, 1024 * MIB, t0 + 60 * USEC_PER_SEC));
        /* Plugging, then a lower request: the wait starts at the request. */
        check(!vmem_stall_update(&st, 880 * MIB, 512 * MIB, t0 + 61 * USEC_PER_SEC));
        check(!vmem_stall_update(&st, 880 * MIB, 512 * MIB, t0 + 65 * USEC_PER_SEC));
        check(vmem_stall_update(&st, 880 * MIB, 512 * MIB, t0 + 66 * USEC_PER_SEC));
}

static void test_total_arrives_within_a_block(void)
{
        check(vmem_total_arrived(1024 * MIB, 1024 * MIB, 2 * MIB));
        check(vmem_total_arrived(1025 * MIB, 1024 * MIB, 2 * MIB));
        check(!vmem_total_arrived(1026 * MIB, 1024 * MIB, 2 * MIB));
        check(vmem_total_arrived(1024 * MIB + 1, 1024 * MIB, 0)); /* balloon only: 1 MiB */
        check(!vmem_total_arrived(1025 * MIB, 1024 * MIB, 0));
        check(vmem_total_arrived(900 * MIB, 1024 * MIB, 128 * MIB)); /* large blocks */
}

static void test_the_split_is_described(void)
{
        VmemPlanInput in = {
                .target_bytes = 992 * MIB,
                .boot_bytes = 512 * MIB,
                .vmem_max_bytes = 2 * GIB,
                .block_bytes = 2 * MIB,
                .has_balloon = true,
        };
        VmemPlan p = plan(&in);
        char b[256];

        check_u64(p.requested_bytes, 480 * MIB);
        vmem_plan_describe(&in, &p, b, sizeof(b));
        check(strcmp(b, "split: balloon 512.0 MiB + virtio-mem 480.0 MiB") == 0);

        /* Unplug stuck at 800 MiB with 480 MiB asked: the balloon gives up 320 MiB. */
        in.plugged_bytes = 800 * MIB;
        in.requested_bytes = 480 * MIB;
        in.unplug_stalled = true;
        p = plan(&in);
        vmem_plan_describe(&in, &p, b, sizeof(b));
        check(strcmp(b,
                     "split: balloon 192.0 MiB + virtio-mem 800.0 MiB; virtio-mem unplug "
                     "stalled at 800.0 MiB (requested 480.0 MiB): balloon takes 320.0 MiB") == 0);

        /* Without a balloon the stall is only reported. */
        in.has_balloon = false;
        p = plan(&in);
        vmem_plan_describe(&in, &p, b, sizeof(b));
        check(strcmp(b, "split: boot 512.0 MiB + virtio-mem 800.0 MiB; virtio-mem unplug "
                        "stalled at 800.0 MiB (requested 480.0 MiB), no balloon to take the "
                        "rest") == 0);
}

int main(void)
{
        RUN(test_above_boot_goes_to_virtio_mem_in_whole_blocks);
        RUN(test_below_boot_goes_to_the_balloon);
        RUN(test_clamped_to_the_device_and_boot_memory);
        RUN(test_stalled_unplug_is_covered_by_the_balloon);
        RUN(test_virtio_mem_only_never_below_boot);
        RUN(test_without_a_device_the_balloon_takes_everything);
        RUN(test_stall_needs_the_plugged_size_unchanged_for_a_while);
        RUN(test_total_arrives_within_a_block);
        RUN(test_the_split_is_described);
        return 0;
}
