/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A guest with virtio-mem as the daemon keeps it (daemon/guest.c): while the
 * device's plugged size moves, the guest's MemTotal lags behind it (blocks
 * are onlined after the plug, offlined before the unplug), so total minus
 * MemTotal is more than the kernel's reserve. Learnt then, the reserve made
 * an idle guest look hundreds of MiB busier for minutes (the policy's peak
 * and swing keep a spike): it is learnt only once the plugged size has
 * stood still, and before any reserve is known such reports are not used.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "accounting.h"
#include "config.h"
#include "fake-backend.h"
#include "manager.h"
#include "test-util.h"

#define SEC UINT64_C(1000000)

static uint64_t report_sec = 1000;

static BalloonStats report(uint64_t mem_total, uint64_t available)
{
        BalloonStats s;

        balloon_stats_init(&s);
        s.total_bytes = mem_total;
        s.available_bytes = available;
        s.free_bytes = available;
        s.last_update_sec = ++report_sec;
        return s;
}

static void see_device(Guest *g, uint64_t plugged, uint64_t requested, uint64_t now_usec)
{
        VmemDevice d = { .id = "vmem0",
                         .plugged_bytes = plugged,
                         .requested_bytes = requested,
                         .max_bytes = 1024 * MIB,
                         .block_bytes = 2 * MIB,
                         .node = 0 };

        guest_vmem_changed(g, &d, 1, 1, now_usec);
}

static uint64_t used(Manager *m, Guest *g)
{
        GuestSample s;

        manager_guest_sample(m, g, &s);
        return guest_used_bytes(&s);
}

static void test_reserve_learnt_only_when_plugging_stood_still(void)
{
        MemtideConfig *c = NULL;
        Manager *m = NULL;
        Guest *g = NULL;
        BalloonStats s;

        check(config_new(&c) == 0);
        check(manager_new(&m, c, NULL, &fake_backend_ops) == 0);
        check(fake_backend_add_guest(m, "vmem", 256 * MIB, &g) == 0);
        /* balloon at boot memory, 512 MiB just plugged: the kernel (115 MiB
         * reserve) has onlined only part of it */
        see_device(g, 512 * MIB, 512 * MIB, 1 * SEC);
        s = report(400 * MIB, 250 * MIB);
        check(!guest_stats_arrived(g, &s));
        check_u64(g->kernel_reserve_bytes, 0);
        check(g->stats.last_update_sec != s.last_update_sec);

        /* 3 s later nothing moved: what MemTotal lacks is the kernel's */
        see_device(g, 512 * MIB, 512 * MIB, 4 * SEC + 1);
        s = report(653 * MIB, 500 * MIB);
        check(guest_stats_arrived(g, &s));
        check_u64(g->kernel_reserve_bytes, 115 * MIB);
        check_u64(used(m, g), (653 + 115 - 500) * MIB);

        /* plugging again: reports are used with the reserve known, which
         * stays; use is what the onlined memory says */
        see_device(g, 640 * MIB, 768 * MIB, 5 * SEC);
        s = report(700 * MIB, 430 * MIB);
        check(guest_stats_arrived(g, &s));
        check_u64(g->kernel_reserve_bytes, 115 * MIB);
        check_u64(used(m, g), (700 + 115 - 430) * MIB);

        /* a stalled unplug stands still too: learnt again */
        see_device(g, 640 * MIB, 256 * MIB, 9 * SEC);
        s = report(781 * MIB, 500 * MIB);
        check(guest_stats_arrived(g, &s));
        check_u64(g->kernel_reserve_bytes, 115 * MIB);
        manager_free(m);
}

int main(void)
{
        RUN(test_reserve_learnt_only_when_plugging_stood_still);
        return 0;
}
