/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libvirt bulk balloon stats -> LibvirtBalloonSample, from hand-built typed parameters. */
#include <errno.h>
#include <string.h>

#include "cleanup.h"
#include "libvirt-stats.h"
#include "test-util.h"

#define KIB 1024ULL

static virTypedParameter ull(const char *field, unsigned long long v)
{
        virTypedParameter p = {.type = VIR_TYPED_PARAM_ULLONG, .value.ul = v};

        snprintf(p.field, sizeof(p.field), "%s", field);
        return p;
}

/* What libvirt 9.0 sends for an idle 512 MiB Linux guest reporting every second. */
static const virTypedParameter *full_record(int *n)
{
        static virTypedParameter p[16];
        int i = 0;

        p[i++] = ull("balloon.current", 524288);
        p[i++] = ull("balloon.maximum", 524288);
        p[i++] = ull("balloon.swap_in", 0);
        p[i++] = ull("balloon.swap_out", 0);
        p[i++] = ull("balloon.major_fault", 110);
        p[i++] = ull("balloon.minor_fault", 52014);
        p[i++] = ull("balloon.unused", 430000);
        p[i++] = ull("balloon.available", 468000);
        p[i++] = ull("balloon.rss", 250000);
        p[i++] = ull("balloon.last-update", 1700000000);
        p[i++] = ull("balloon.usable", 437000);
        p[i++] = ull("balloon.disk_caches", 5000);
        p[i++] = ull("balloon.hugetlb_pgalloc", 0);
        p[i++] = ull("balloon.hugetlb_pgfail", 0);
        *n = i;
        return p;
}

static void test_libvirt_names_map_to_qemu_meanings(void)
{
        LibvirtBalloonSample s;
        int n;
        const virTypedParameter *p = full_record(&n);

        check(libvirt_balloon_sample_from_params(&s, p, n) == 0);
        /* unused = MemFree, available = MemTotal, usable = MemAvailable */
        check_u64_eq(s.stats.free_bytes, 430000 * KIB);
        check_u64_eq(s.stats.total_bytes, 468000 * KIB);
        check_u64_eq(s.stats.available_bytes, 437000 * KIB);
        check_u64_eq(s.stats.disk_caches_bytes, 5000 * KIB);
        check(!s.stale);
}

static void test_sizes_are_kib_counts_are_not(void)
{
        LibvirtBalloonSample s;
        int n;
        const virTypedParameter *p = full_record(&n);

        check(libvirt_balloon_sample_from_params(&s, p, n) == 0);
        check_u64_eq(s.current_bytes, 512ULL << 20);
        check_u64_eq(s.maximum_bytes, 512ULL << 20);
        check_u64_eq(s.rss_bytes, 250000 * KIB);
        check_u64_eq(s.stats.swap_in_bytes, 0);
        check_u64_eq(s.stats.major_faults, 110);
        check_u64_eq(s.stats.minor_faults, 52014);
        check_u64_eq(s.stats.hugetlb_allocations, 0);
        check_u64_eq(s.stats.hugetlb_failures, 0);
        check_u64_eq(s.stats.last_update_sec, 1700000000);
}

/* VIR_CONNECT_GET_ALL_DOMAINS_STATS_NOWAIT on a domain with a job running. */
static void test_busy_domain_gives_only_current_and_maximum_and_is_stale(void)
{
        virTypedParameter p[] = {ull("balloon.current", 262144), ull("balloon.maximum", 524288)};
        LibvirtBalloonSample s;

        check(libvirt_balloon_sample_from_params(&s, p, ELEMENTSOF(p)) == 0);
        check(s.stale);
        check_u64_eq(s.current_bytes, 256ULL << 20);
        check_u64_eq(s.maximum_bytes, 512ULL << 20);
        check_u64_eq(s.stats.total_bytes, STAT_UNKNOWN);
        check_u64_eq(s.stats.available_bytes, STAT_UNKNOWN);
        check_u64_eq(s.stats.last_update_sec, 0);
}

/* libvirt's test driver answers the balloon group with no parameters at all. */
static void test_empty_record_is_stale_and_unknown(void)
{
        LibvirtBalloonSample s;

        check(libvirt_balloon_sample_from_params(&s, NULL, 0) == 0);
        check(s.stale);
        check_u64_eq(s.current_bytes, STAT_UNKNOWN);
        check_u64_eq(s.maximum_bytes, STAT_UNKNOWN);
        check_u64_eq(s.rss_bytes, STAT_UNKNOWN);
}

/* rss comes from /proc on the host: with it alone the guest has not reported. */
static void test_rss_without_guest_report_is_stale(void)
{
        virTypedParameter p[] = {ull("balloon.current", 524288), ull("balloon.maximum", 524288),
                                 ull("balloon.rss", 100000)};
        LibvirtBalloonSample s;

        check(libvirt_balloon_sample_from_params(&s, p, ELEMENTSOF(p)) == 0);
        check(s.stale);
        check_u64_eq(s.rss_bytes, 100000 * KIB);
}

static void test_other_groups_and_types_are_ignored(void)
{
        virTypedParameter p[] = {
                ull("state.state", 1),
                ull("balloon.available", 468000),
                ull("balloon.usable", 437000),
                /* a balloon field with a type libvirt does not use for it */
                {.field = "balloon.unused", .type = VIR_TYPED_PARAM_INT, .value.i = -5},
                ull("balloon.future_field", 7),
        };
        LibvirtBalloonSample s;

        check(libvirt_balloon_sample_from_params(&s, p, ELEMENTSOF(p)) == 0);
        check_u64_eq(s.stats.free_bytes, STAT_UNKNOWN);
        check_u64_eq(s.stats.total_bytes, 468000 * KIB);
        check(!s.stale); /* MemTotal and MemAvailable are enough */
}

static void test_overflowing_kib_is_unknown(void)
{
        virTypedParameter p[] = {ull("balloon.available", UINT64_MAX / 512),
                                 ull("balloon.usable", 1)};
        LibvirtBalloonSample s;

        check(libvirt_balloon_sample_from_params(&s, p, ELEMENTSOF(p)) == 0);
        check_u64_eq(s.stats.total_bytes, STAT_UNKNOWN);
        check_u64_eq(s.stats.available_bytes, KIB);
        check(s.stale);
}

static void test_bad_arguments(void)
{
        LibvirtBalloonSample s;

        check(libvirt_balloon_sample_from_params(&s, NULL, 3) == -EINVAL);
        check(libvirt_balloon_sample_from_params(&s, NULL, -1) == -EINVAL);
        check(s.stale);
}

int main(void)
{
        RUN(test_libvirt_names_map_to_qemu_meanings);
        RUN(test_sizes_are_kib_counts_are_not);
        RUN(test_busy_domain_gives_only_current_and_maximum_and_is_stale);
        RUN(test_empty_record_is_stale_and_unknown);
        RUN(test_rss_without_guest_report_is_stale);
        RUN(test_other_groups_and_types_are_ignored);
        RUN(test_overflowing_kib_is_unknown);
        RUN(test_bad_arguments);
        return 0;
}
