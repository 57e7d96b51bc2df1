/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Host readers on fixture /proc trees (recorded from a Debian 12 host). */
#include <errno.h>
#include <unistd.h>

#include "host.h"
#include "psi-trigger.h"
#include "test-util.h"
#include "zfs-arc.h"

static void test_meminfo_and_psi(void)
{
        HostSample h;
        check(host_sample_read(FIXTURE_DIR "/proc/psi", &h) == 0);
        check_u64_eq(h.mem_total_bytes, UINT64_C(24684092) * 1024);
        check_u64_eq(h.mem_available_bytes, UINT64_C(24211892) * 1024);
        check_u64_eq(h.mem_free_bytes, UINT64_C(24213936) * 1024);
        check_u64_eq(h.cached_bytes, UINT64_C(179340) * 1024);
        check(h.psi_available);
        check(h.psi_some_avg10 == 1.50);
        check(h.psi_full_avg10 == 0.25);
        check_u64_eq(h.psi_some_total_usec, 123456);
}

/* The stall share between two readings of "some total=". */
static void test_psi_stall_percent(void)
{
        /* 150 ms stalled in 500 ms. */
        check(psi_stall_percent(1150000, 1000000, 500000) == 30.0);
        check(psi_stall_percent(1000000, 1000000, 2000000) == 0);
        /* Too short a span to tell, a counter that went back, more than all the time. */
        check(psi_stall_percent(1050000, 1000000, 50000) == 0);
        check(psi_stall_percent(900000, 1000000, 500000) == 0);
        check(psi_stall_percent(2000000, 1000000, 500000) == 100.0);
}

/* A wake-up counts when the stall grew by what the trigger asks for since
 * the last reading; the kernel's first spurious one does not. */
static void test_psi_trigger_genuine(void)
{
        check(psi_trigger_genuine(1300000, 1000000, 300000));
        check(!psi_trigger_genuine(1000001, 1000000, 300000));
        check(psi_trigger_genuine(5, 0, 300000));            /* no earlier reading */
        check(psi_trigger_genuine(900000, 1000000, 300000)); /* counter went back */
}

/* No PSI file: no trigger, -ENOENT. On this host's /proc, a trigger with a
 * window of 1 s (CAP_SYS_RESOURCE) or 2 s, or the kernel's refusal. */
static void test_psi_trigger_open(void)
{
        uint64_t window = 0;
        int fd = psi_trigger_open(FIXTURE_DIR "/proc/nopsi", &window);

        check(fd == -ENOENT);
        /* A fixture's plain file: it would take the trigger and never fire. */
        check(psi_trigger_open(FIXTURE_DIR "/proc/psi", &window) == -EOPNOTSUPP);
        fd = psi_trigger_open("/proc", &window);
        if (fd >= 0) {
                check(window == PSI_TRIGGER_WINDOW_USEC ||
                      window == PSI_TRIGGER_UNPRIV_WINDOW_USEC);
                close(fd);
                printf("  this host: a PSI trigger with a %" PRIu64 " s window\n",
                       window / 1000000);
        } else {
                check(fd == -ENOENT || fd == -EINVAL || fd == -EPERM || fd == -EACCES ||
                      fd == -EOPNOTSUPP);
                printf("  this host refuses PSI triggers: %s\n", strerror(-fd));
        }
}

static void test_psi_missing_is_unavailable(void)
{
        HostSample h;
        check(host_sample_read(FIXTURE_DIR "/proc/nopsi", &h) == 0);
        check(!h.psi_available);
        check(h.mem_total_bytes > 0);
}

static void test_swap_activity_and_process_rss(void)
{
        HostSample h;
        uint64_t rss = 0;

        check(host_sample_read(FIXTURE_DIR "/proc/psi", &h) == 0);
        check(h.swap_known);
        check_u64_eq(h.swap_in_pages, 1234);
        check(host_process_rss(FIXTURE_DIR "/proc/psi", 4242, &rss) == 0);
        check_u64_eq(rss, UINT64_C(262144) * 1024);
        check(host_process_rss(FIXTURE_DIR "/proc/psi", 999999, &rss) == -ENOENT);
        check(host_sample_read(FIXTURE_DIR "/proc/nopsi", &h) == 0);
        check(!h.swap_known);
}

/* The ZFS ARC is not in MemAvailable but shrinks to c_min under pressure:
 * what it holds above c_min is available to guests. */
static void test_zfs_arc_above_minimum_is_available(void)
{
        HostSample h;
        uint64_t above_min = UINT64_C(32212254720) - UINT64_C(2105540608);

        check(host_sample_read(FIXTURE_DIR "/proc/zfs", &h) == 0);
        check_u64_eq(h.mem_available_bytes, UINT64_C(9437184) * 1024 + above_min);
        check_u64_eq(h.mem_total_bytes, UINT64_C(65798216) * 1024);
        check(h.zfs_arc_known);
        check_u64_eq(h.zfs_arc_reclaimable_bytes, above_min);
        /* Hosts without ZFS are read as before. */
        check(host_sample_read(FIXTURE_DIR "/proc/psi", &h) == 0);
        check_u64_eq(h.mem_available_bytes, UINT64_C(24211892) * 1024);
        check(!h.zfs_arc_known);
        check_u64_eq(h.zfs_arc_reclaimable_bytes, 0);
}

static void test_zfs_arc_parse(void)
{
        ZfsArc a;

        check(zfs_arc_parse("name type data\nc_min 4 100\nsize 4 60\n", &a) == 0);
        check_u64_eq(a.size_bytes, 60);
        check_u64_eq(zfs_arc_reclaimable_bytes(&a), 0); /* below its minimum: nothing to give */
        check(zfs_arc_parse("size 4 5000\nc_min 4 1000\n", &a) == 0);
        check_u64_eq(zfs_arc_reclaimable_bytes(&a), 4000);
        /* "size" must not match "compressed_size" or "size_x"; both rows are needed. */
        check(zfs_arc_parse("compressed_size 4 7\nc_min 4 1\n", &a) == -EINVAL);
        check(zfs_arc_parse("size 4 lots\nc_min 4 1\n", &a) == -EINVAL);
        check(zfs_arc_parse("", &a) == -EINVAL);
}

static void test_bad_input(void)
{
        HostSample h = { 0 };
        check(host_parse_meminfo("MemFree: 12 kB\n", &h) == -EINVAL);
        check(host_parse_meminfo("MemTotal: lots kB\n", &h) == -EINVAL);
        check(host_sample_read("/nonexistent", &h) == -ENOENT);
        check(host_parse_psi("garbage", &h) == -EINVAL);
}

int main(void)
{
        RUN(test_meminfo_and_psi);
        RUN(test_psi_missing_is_unavailable);
        RUN(test_psi_stall_percent);
        RUN(test_psi_trigger_genuine);
        RUN(test_psi_trigger_open);
        RUN(test_swap_activity_and_process_rss);
        RUN(test_zfs_arc_above_minimum_is_available);
        RUN(test_zfs_arc_parse);
        RUN(test_bad_input);
        return 0;
}
