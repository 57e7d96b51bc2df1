/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Tests for the queue-layout model (lib/compat*.c): the three numberings on
 * every combination of optional features, every pair of conventions against
 * an oracle written apart from the library, the known implementations, the
 * failures seen in the field, the parsers, the renderers, the live inference
 * on hand-built device states and the page-reporting stall check.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "compat-format.h"
#include "compat-implementations.h"
#include "compat-live.h"
#include "compat.h"
#include "test-util.h"

static unsigned n_passed;
static unsigned n_cases; /* combinations checked by the exhaustive tests */

#define F(name) COMPAT_FEATURE(COMPAT_F_##name)
#define STATS   F(STATS_VQ)
#define HINT    F(FREE_PAGE_HINT)
#define REPORT  F(PAGE_REPORTING)
#define POISON  F(PAGE_POISON)
#define DEFLATE F(DEFLATE_ON_OOM)
#define WS      F(CROSVM_WS_REPORTING)

#define FIXED COMPAT_CONVENTION_FIXED
#define DO    COMPAT_CONVENTION_DENSE_OFFERED
#define DN    COMPAT_CONVENTION_DENSE_NEGOTIATED
#define NONE  COMPAT_INDEX_NONE

static const CompatSide side_fixed = {"fixed", FIXED, COMPAT_VENDOR_NONE};
static const CompatSide side_do = {"dense-offered", DO, COMPAT_VENDOR_NONE};
static const CompatSide side_dn = {"dense-negotiated", DN, COMPAT_VENDOR_NONE};

static CompatSide side_of(const char *name)
{
        const CompatImplementation *impl = compat_implementation_lookup(name);
        CompatSide s;

        check(impl);
        compat_implementation_side(impl, &s);
        return s;
}

static const CompatQueueVerdict *row_of(const CompatVerdict *v, CompatQueue q)
{
        for (unsigned i = 0; i < v->n_rows; i++)
                if (v->rows[i].queue == q)
                        return &v->rows[i];
        return NULL;
}

/* ---- The oracle: the spec's order and bits, written apart from lib/compat/compat.c ---- */

/* Optional queues in spec order: stats (bit 1), free page (bit 3), reporting (bit 5). */
static const uint64_t optional_bit[5] = {0, 0, UINT64_C(1) << 1, UINT64_C(1) << 3,
                                         UINT64_C(1) << 5};

static int oracle_index(CompatConvention c, int q, uint64_t offered, uint64_t negotiated)
{
        uint64_t present = c == DN ? negotiated : offered;
        int index = 2;

        if (q < 2)
                return q;
        if (!(present & optional_bit[q]))
                return NONE;
        if (c == FIXED)
                return q;
        for (int p = 2; p < q; p++)
                if (present & optional_bit[p])
                        index++;
        return index;
}

/*
 * The agreement rule in words: take the last optional queue the driver uses;
 * fixed and dense-offered agree when every optional queue before it is
 * offered, fixed and dense-negotiated when every one before it is
 * negotiated, the two dense ones when every offered one before it is
 * negotiated; a convention always agrees with itself.
 */
static bool oracle_agree(CompatConvention a, CompatConvention b, uint64_t offered,
                         uint64_t negotiated)
{
        int last = -1;
        uint64_t before = 0;

        if (a == b)
                return true;
        for (int q = 2; q < 5; q++)
                if (negotiated & optional_bit[q])
                        last = q;
        for (int q = 2; q < last; q++)
                before |= optional_bit[q];
        if ((a == FIXED && b == DO) || (a == DO && b == FIXED))
                return (offered & before) == before;
        if ((a == FIXED && b == DN) || (a == DN && b == FIXED))
                return (negotiated & before) == before;
        return (offered & before & ~negotiated) == 0;
}

/* Calls fn for every offered subset of {STATS, HINT, REPORT} (with or without POISON)
 * and every negotiated subset of it. */
static void for_each_feature_combination(void (*fn)(uint64_t offered, uint64_t negotiated))
{
        static const uint64_t optional[] = {STATS, HINT, REPORT};

        for (unsigned o = 0; o < 8; o++)
                for (unsigned extra = 0; extra < 2; extra++) {
                        uint64_t offered = extra ? POISON : 0;

                        for (unsigned i = 0; i < 3; i++)
                                if (o & (1u << i))
                                        offered |= optional[i];
                        for (unsigned n = 0; n < 16; n++) {
                                uint64_t negotiated = 0;

                                for (unsigned i = 0; i < 3; i++)
                                        if (n & (1u << i))
                                                negotiated |= optional[i];
                                if (n & 8)
                                        negotiated |= POISON;
                                if (negotiated & ~offered)
                                        continue;
                                fn(offered, negotiated);
                        }
                }
}

/* ---- Layouts ---- */

static void test_layout_qemu_default_is_dense_over_offered(void)
{
        CompatLayout l;

        /* QEMU 7.2 with free-page-hint=off, free-page-reporting=on: STATS, POISON, REPORTING. */
        check_int(
                compat_layout(DO, COMPAT_VENDOR_NONE, STATS | POISON | REPORT, STATS | REPORT, &l),
                0);
        check_int(l.index[COMPAT_QUEUE_INFLATE], 0);
        check_int(l.index[COMPAT_QUEUE_DEFLATE], 1);
        check_int(l.index[COMPAT_QUEUE_STATS], 2);
        check_int(l.index[COMPAT_QUEUE_FREE_PAGE], NONE);
        check_int(l.index[COMPAT_QUEUE_REPORTING], 3);
        check_int(l.index[COMPAT_QUEUE_WS_DATA], NONE);
        check_int(l.n_queues, 4);
}

static void test_layout_fixed_keeps_spec_indexes_with_holes(void)
{
        CompatLayout l;

        check_int(compat_layout(FIXED, COMPAT_VENDOR_NONE, STATS | REPORT, STATS | REPORT, &l), 0);
        check_int(l.index[COMPAT_QUEUE_STATS], 2);
        check_int(l.index[COMPAT_QUEUE_FREE_PAGE], NONE);
        check_int(l.index[COMPAT_QUEUE_REPORTING], 4);
        check_int(l.n_queues, 5);
}

static void test_layout_dense_negotiated_skips_declined_features(void)
{
        CompatLayout l;

        /* Offered everything, the driver declined hinting: reporting moves down to 3. */
        check_int(compat_layout(DN, COMPAT_VENDOR_NONE, STATS | HINT | REPORT, STATS | REPORT, &l),
                  0);
        check_int(l.index[COMPAT_QUEUE_STATS], 2);
        check_int(l.index[COMPAT_QUEUE_FREE_PAGE], NONE);
        check_int(l.index[COMPAT_QUEUE_REPORTING], 3);
        check_int(l.n_queues, 4);

        /* Nothing optional negotiated: two queues. */
        check_int(compat_layout(DN, COMPAT_VENDOR_NONE, STATS | HINT | REPORT, 0, &l), 0);
        check_int(l.index[COMPAT_QUEUE_STATS], NONE);
        check_int(l.n_queues, 2);
}

static void test_layout_vendor_queues_follow_reporting(void)
{
        CompatLayout l;

        /* crosvm before 2025-04: fixed, ws_data 5 and ws_op 6. */
        check_int(compat_layout(FIXED, COMPAT_VENDOR_CROSVM, STATS | DEFLATE | REPORT | WS,
                                STATS | REPORT | WS, &l),
                  0);
        check_int(l.index[COMPAT_QUEUE_REPORTING], 4);
        check_int(l.index[COMPAT_QUEUE_WS_DATA], 5);
        check_int(l.index[COMPAT_QUEUE_WS_OP], 6);
        check_int(l.n_queues, 7);

        /* crosvm since 2025-04: dense over offered. */
        check_int(compat_layout(DO, COMPAT_VENDOR_CROSVM, STATS | DEFLATE | REPORT | WS, 0, &l), 0);
        check_int(l.index[COMPAT_QUEUE_STATS], 2);
        check_int(l.index[COMPAT_QUEUE_REPORTING], 3);
        check_int(l.index[COMPAT_QUEUE_WS_DATA], 4);
        check_int(l.index[COMPAT_QUEUE_WS_OP], 5);
        check_int(l.n_queues, 6);

        /* Without the vendor, bit 8 means nothing. */
        check_int(
                compat_layout(DO, COMPAT_VENDOR_NONE, STATS | REPORT | WS, STATS | REPORT | WS, &l),
                0);
        check_int(l.index[COMPAT_QUEUE_WS_DATA], NONE);
        check_int(l.n_queues, 4);
}

static void test_layout_rejects_bad_input(void)
{
        CompatLayout l;

        check_int(compat_layout(DO, COMPAT_VENDOR_NONE, STATS, STATS | REPORT, &l), -EINVAL);
        check_int(compat_layout((CompatConvention)3, COMPAT_VENDOR_NONE, 0, 0, &l), -EINVAL);
        check_int(compat_layout((CompatConvention)-1, COMPAT_VENDOR_NONE, 0, 0, &l), -EINVAL);
        check_int(compat_layout(DO, (CompatVendor)7, 0, 0, &l), -EINVAL);
}

static void check_layout_matches_oracle(uint64_t offered, uint64_t negotiated)
{
        for (CompatConvention c = 0; c < _COMPAT_CONVENTION_MAX; c++) {
                CompatLayout l;
                unsigned n = 0;

                check_int(compat_layout(c, COMPAT_VENDOR_NONE, offered, negotiated, &l), 0);
                for (int q = 0; q < 5; q++) {
                        int e = oracle_index(c, q, offered, negotiated);

                        if (l.index[q] != e) {
                                fprintf(stderr,
                                        "convention %d offered 0x%" PRIx64 " negotiated 0x%" PRIx64
                                        " queue %d\n",
                                        c, offered, negotiated, q);
                                check_int(l.index[q], e);
                        }
                        if (e != NONE && (unsigned)e + 1 > n)
                                n = (unsigned)e + 1;
                }
                check_int(l.n_queues, n);
                n_cases++;
        }
}

static void test_layout_every_feature_combination(void)
{
        for_each_feature_combination(check_layout_matches_oracle);
}

/* ---- Comparisons ---- */

static void check_pairs_match_oracle(uint64_t offered, uint64_t negotiated)
{
        static const CompatSide *sides[] = {&side_fixed, &side_do, &side_dn};

        for (unsigned d = 0; d < 3; d++)
                for (unsigned r = 0; r < 3; r++) {
                        const CompatSide *dev = sides[d], *drv = sides[r];
                        CompatVerdict v;
                        bool agree = true;

                        check_int(compat_compare(dev, drv, offered, negotiated, &v), 0);
                        for (int q = 0; q < 5; q++) {
                                const CompatQueueVerdict *row = row_of(&v, (CompatQueue)q);
                                int di = oracle_index(dev->convention, q, offered, negotiated);
                                bool used = q < 2 || (negotiated & optional_bit[q]);
                                int ri =
                                        used ? oracle_index(drv->convention, q, offered, negotiated)
                                             : NONE;

                                if (di == NONE && ri == NONE) {
                                        check(!row);
                                        continue;
                                }
                                check(row);
                                check_int(row->device_index, di);
                                check_int(row->driver_index, ri);
                                check_int(row->broken, ri != NONE && ri != di);
                                check_int(row->consequence[0] != '\0', row->broken);
                                check(strlen(row->consequence) + 1 < COMPAT_TEXT_MAX);
                                if (row->broken)
                                        agree = false;
                        }
                        check_int(v.agree, agree);
                        check_int(v.agree, oracle_agree(dev->convention, drv->convention, offered,
                                                        negotiated));
                        n_cases++;
                }
}

static void test_compare_every_pair_and_feature_combination(void)
{
        for_each_feature_combination(check_pairs_match_oracle);
}

/* design.md: "Two sides agree only where every optional queue before the last used one is
 * both offered and accepted." That condition is sufficient, not necessary. */
static void check_design_condition_is_sufficient(uint64_t offered, uint64_t negotiated)
{
        int last = -1;
        bool condition = true;

        for (int q = 2; q < 5; q++)
                if (negotiated & optional_bit[q])
                        last = q;
        for (int q = 2; q < last; q++)
                if (!(negotiated & optional_bit[q]))
                        condition = false;
        if (!condition)
                return;
        for (CompatConvention a = 0; a < _COMPAT_CONVENTION_MAX; a++)
                for (CompatConvention b = 0; b < _COMPAT_CONVENTION_MAX; b++) {
                        CompatSide dev = {"d", a, COMPAT_VENDOR_NONE};
                        CompatSide drv = {"r", b, COMPAT_VENDOR_NONE};
                        CompatVerdict v;

                        check_int(compat_compare(&dev, &drv, offered, negotiated, &v), 0);
                        check(v.agree);
                        n_cases++;
                }
}

static void test_design_condition_is_sufficient_but_not_necessary(void)
{
        CompatVerdict v;

        for_each_feature_combination(check_design_condition_is_sufficient);

        /* QEMU with hint off and reporting on, Linux: free_page_vq is not offered, yet
         * dense-offered and dense-negotiated agree (recorded: both use queue 3). */
        check_int(compat_compare(&side_do, &side_dn, STATS | POISON | REPORT, STATS | REPORT, &v),
                  0);
        check(v.agree);
}

/* ---- The failures seen in the field ---- */

static void test_qemu_hint_off_reporting_on_breaks_fixed_driver(void)
{
        CompatSide qemu = side_of("qemu"), rcore = side_of("rcore");
        const CompatQueueVerdict *row;
        CompatVerdict v;

        check_int(compat_compare(&qemu, &rcore, STATS | POISON | REPORT, STATS | REPORT, &v), 0);
        check(!v.agree);
        check_int(v.n_broken, 1);
        row = row_of(&v, COMPAT_QUEUE_REPORTING);
        check(row && row->broken);
        check_int(row->device_index, 3);
        check_int(row->driver_index, 4);
        check_int(row->target, COMPAT_TARGET_BEYOND);
        check_str(row->consequence,
                  "driver sends free page reports to queue 4, which the device does not have "
                  "(it has 4 queues): setting the queue up fails, so the driver does not start "
                  "(no ballooning at all) unless it carries on without page reporting");
        check(!row_of(&v, COMPAT_QUEUE_STATS)->broken);
}

static void test_libkrun_breaks_driver_declining_free_page_hint(void)
{
        CompatSide libkrun = side_of("libkrun");
        const CompatQueueVerdict *row;
        CompatVerdict v;

        /* libkrun offers STATS_VQ, FREE_PAGE_HINT and REPORTING; the driver declines hinting. */
        check_int(compat_compare(&libkrun, &side_dn, STATS | HINT | REPORT, STATS | REPORT, &v), 0);
        check(!v.agree);
        check_int(v.n_broken, 1);
        row = row_of(&v, COMPAT_QUEUE_REPORTING);
        check_int(row->device_index, 4);
        check_int(row->driver_index, 3);
        check_int(row->target, COMPAT_TARGET_QUEUE);
        check_int(row->target_queue, COMPAT_QUEUE_FREE_PAGE);
        check_contains(row->consequence, "driver sends free page reports to queue 3, which the "
                                         "device serves as free_page_vq: ");
        check_contains(row->consequence, "reports are never acknowledged and the guest's "
                                         "reporting worker blocks");
        row = row_of(&v, COMPAT_QUEUE_FREE_PAGE);
        check_int(row->device_index, 3);
        check_int(row->driver_index, NONE);
        check(!row->broken);

        /* The same driver accepting hinting is fine. */
        check_int(compat_compare(&libkrun, &side_dn, STATS | HINT | REPORT, STATS | HINT | REPORT,
                                 &v),
                  0);
        check(v.agree);
}

static void test_crosvm_2024_breaks_linux_reporting(void)
{
        CompatSide crosvm = side_of("crosvm-2024"), linux_ = side_of("linux");
        const CompatQueueVerdict *row;
        CompatVerdict v;

        /* Linux does not know vendor bit 8, so it is offered and not negotiated. */
        check_int(compat_compare(&crosvm, &linux_, STATS | DEFLATE | REPORT | WS,
                                 STATS | DEFLATE | REPORT, &v),
                  0);
        check(!v.agree);
        check_int(v.n_broken, 1);
        row = row_of(&v, COMPAT_QUEUE_REPORTING);
        check_int(row->device_index, 4);
        check_int(row->driver_index, 3);
        check_int(row->target, COMPAT_TARGET_HOLE);
        check_str(row->consequence, "driver sends free page reports to queue 3, where the device "
                                    "has no queue in use: reports are never acknowledged and the "
                                    "guest's reporting worker blocks");
        row = row_of(&v, COMPAT_QUEUE_WS_DATA);
        check_int(row->device_index, 5);
        check_int(row->driver_index, NONE);
        check_int(row_of(&v, COMPAT_QUEUE_WS_OP)->device_index, 6);

        /* crosvm since 2025-04 agrees with the same driver. */
        crosvm = side_of("crosvm");
        check_int(compat_compare(&crosvm, &linux_, STATS | DEFLATE | REPORT | WS,
                                 STATS | DEFLATE | REPORT, &v),
                  0);
        check(v.agree);
        check_int(row_of(&v, COMPAT_QUEUE_REPORTING)->device_index, 3);
}

static void test_crosvm_dense_puts_ws_data_where_fixed_driver_reports(void)
{
        CompatSide crosvm = side_of("crosvm"), rcore = side_of("rcore");
        const CompatQueueVerdict *row;
        CompatVerdict v;

        check_int(
                compat_compare(&crosvm, &rcore, STATS | DEFLATE | REPORT | WS, STATS | REPORT, &v),
                0);
        check(!v.agree);
        row = row_of(&v, COMPAT_QUEUE_REPORTING);
        check_int(row->device_index, 3);
        check_int(row->driver_index, 4);
        check_int(row->target_queue, COMPAT_QUEUE_WS_DATA);
        check_contains(row->consequence, "which the device serves as ws_data_vq");
}

static void test_stats_and_hint_consequences(void)
{
        const CompatQueueVerdict *row;
        CompatVerdict v;

        /* A dense-negotiated driver declining stats puts hints on 2, the device's statsq. */
        check_int(compat_compare(&side_do, &side_dn, STATS | HINT, HINT, &v), 0);
        row = row_of(&v, COMPAT_QUEUE_FREE_PAGE);
        check_int(row->device_index, 3);
        check_int(row->driver_index, 2);
        check_int(row->target_queue, COMPAT_QUEUE_STATS);
        check_contains(row->consequence, "which the device serves as statsq: the device reads "
                                         "them as memory statistics");

        /* No stats offered: a dense device has free_page_vq 2 and reporting_vq 3, a fixed
         * driver puts hints on 3 (the device's reporting_vq) and reports past the end. */
        check_int(compat_compare(&side_do, &side_fixed, HINT | REPORT, HINT | REPORT, &v), 0);
        check_int(row_of(&v, COMPAT_QUEUE_FREE_PAGE)->driver_index, 3);
        check_int(row_of(&v, COMPAT_QUEUE_FREE_PAGE)->device_index, 2);
        check_int(row_of(&v, COMPAT_QUEUE_FREE_PAGE)->target_queue, COMPAT_QUEUE_REPORTING);
        check_contains(row_of(&v, COMPAT_QUEUE_FREE_PAGE)->consequence,
                       "the device takes them for free page reports");
        check_int(row_of(&v, COMPAT_QUEUE_REPORTING)->target, COMPAT_TARGET_BEYOND);
        check_contains(row_of(&v, COMPAT_QUEUE_REPORTING)->consequence, "(it has 4 queues)");
        check_int(v.n_broken, 2);

        /* A dense-offered driver against a fixed device that has a hole at 2. */
        check_int(compat_compare(&side_fixed, &side_do, REPORT, REPORT, &v), 0);
        row = row_of(&v, COMPAT_QUEUE_REPORTING);
        check_int(row->driver_index, 2);
        check_int(row->device_index, 4);
        check_int(row->target, COMPAT_TARGET_HOLE);
}

static void test_compare_rejects_bad_input(void)
{
        CompatSide bad = {"bad", (CompatConvention)9, COMPAT_VENDOR_NONE};
        CompatVerdict v;

        check_int(compat_compare(&bad, &side_dn, 0, 0, &v), -EINVAL);
        check_int(compat_compare(&side_do, &bad, 0, 0, &v), -EINVAL);
        check_int(compat_compare(&side_do, &side_dn, STATS, STATS | HINT, &v), -EINVAL);
}

/* ---- The QEMU recommendation ---- */

static void check_qemu_all_queues(uint64_t combination_offered, uint64_t negotiated)
{
        /* QEMU free-page-hint=on (iothread) + free-page-reporting=on, page-poison default. */
        const uint64_t offered = STATS | POISON | HINT | REPORT;
        CompatSide qemu = side_of("qemu");

        if (combination_offered != offered)
                return;
        for (CompatConvention c = 0; c < _COMPAT_CONVENTION_MAX; c++) {
                CompatSide drv = {"driver", c, COMPAT_VENDOR_NONE};
                bool expect = true;
                CompatVerdict v;

                if (c == DN) {
                        /* Holds for a dense-negotiated driver only if it accepts every queue
                         * feature below the last one it uses. */
                        if ((negotiated & REPORT) && (~negotiated & (STATS | HINT)))
                                expect = false;
                        if ((negotiated & HINT) && !(negotiated & STATS))
                                expect = false;
                }
                check_int(compat_compare(&qemu, &drv, offered, negotiated, &v), 0);
                check_int(v.agree, expect);
                n_cases++;
        }
}

static void test_qemu_hint_and_reporting_on_agrees_when_driver_accepts_all(void)
{
        CompatSide qemu = side_of("qemu"), linux_ = side_of("linux");
        const CompatImplementation *l = compat_implementation_lookup("linux");
        uint64_t offered = STATS | POISON | HINT | REPORT;
        CompatVerdict v;

        for_each_feature_combination(check_qemu_all_queues);

        /* Linux accepts STATS_VQ and FREE_PAGE_HINT whenever offered. */
        check_int(compat_compare(&qemu, &linux_, offered,
                                 offered & (l->features | l->features_optional), &v),
                  0);
        check(v.agree);
        check_int(row_of(&v, COMPAT_QUEUE_REPORTING)->driver_index, 4);

        /* With hint off a fixed driver breaks (see above) while Linux still agrees. */
        offered = STATS | POISON | REPORT;
        check_int(compat_compare(&qemu, &linux_, offered,
                                 offered & (l->features | l->features_optional), &v),
                  0);
        check(v.agree);
        check_int(compat_compare(&qemu, &side_fixed, offered, STATS | REPORT, &v), 0);
        check(!v.agree);
}

/* ---- Known implementations ---- */

static const struct {
        const char *name;
        CompatRole role;
        CompatConvention convention;
        CompatVendor vendor;
} expected_rows[] = {
        {"qemu", COMPAT_ROLE_DEVICE, DO, COMPAT_VENDOR_NONE},
        {"linux", COMPAT_ROLE_DRIVER, DN, COMPAT_VENDOR_NONE},
        {"linux-4", COMPAT_ROLE_DRIVER, FIXED, COMPAT_VENDOR_NONE},
        {"crosvm", COMPAT_ROLE_DEVICE, DO, COMPAT_VENDOR_CROSVM},
        {"crosvm-2024", COMPAT_ROLE_DEVICE, FIXED, COMPAT_VENDOR_CROSVM},
        {"firecracker", COMPAT_ROLE_DEVICE, DO, COMPAT_VENDOR_NONE},
        {"cloud-hypervisor", COMPAT_ROLE_DEVICE, DO, COMPAT_VENDOR_NONE},
        {"libkrun", COMPAT_ROLE_DEVICE, FIXED, COMPAT_VENDOR_NONE},
        {"alioth", COMPAT_ROLE_DEVICE, DN, COMPAT_VENDOR_NONE},
        {"rcore", COMPAT_ROLE_DRIVER, FIXED, COMPAT_VENDOR_NONE},
};

static void test_every_implementation_row(void)
{
        const CompatImplementation *impl;
        size_t n = 0;

        for (size_t i = 0; (impl = compat_implementation_get(i)); i++) {
                bool found = false;

                n++;
                for (size_t j = 0; j < sizeof(expected_rows) / sizeof(expected_rows[0]); j++) {
                        if (strcmp(expected_rows[j].name, impl->name) != 0)
                                continue;
                        found = true;
                        check_int(impl->role, expected_rows[j].role);
                        check_int(impl->convention, expected_rows[j].convention);
                        check_int(impl->vendor, expected_rows[j].vendor);
                }
                if (!found)
                        fprintf(stderr, "row %s has no expectation here\n", impl->name);
                check(found);
                check(compat_implementation_lookup(impl->name) == impl);
                check(impl->notes && strlen(impl->notes) > 40);
                check(impl->source_url && strncmp(impl->source_url, "https://", 8) == 0);
                check((impl->features & impl->features_optional) == 0);
                /* Only the spec's bits and crosvm's bit 8 are modelled. */
                check(((impl->features | impl->features_optional) & ~(UINT64_C(0x3f) | WS)) == 0);
                if (impl->vendor != COMPAT_VENDOR_CROSVM)
                        check(((impl->features | impl->features_optional) & WS) == 0);
                if (impl->role == COMPAT_ROLE_DRIVER)
                        for (int q = 0; q < _COMPAT_QUEUE_MAX; q++)
                                check_int(impl->queue_sizes[q], 0);
        }
        check_int(n, sizeof(expected_rows) / sizeof(expected_rows[0]));
        check(compat_implementation_get(n) == NULL);
        check(compat_implementation_lookup("QEMU") == compat_implementation_lookup("qemu"));
        check(compat_implementation_lookup("bhyve") == NULL);
}

/* Every device row against every driver row, with the device offering everything it can
 * (max) or only its defaults, and the driver accepting what it knows. */
static const struct {
        const char *device;
        bool max_linux, max_linux4, max_rcore;
} expected_pairs[] = {
        {"qemu", true, true, true},
        {"crosvm", true, true, false},      /* rcore reports on 4 = ws_data */
        {"crosvm-2024", false, true, true}, /* Linux reports on 3, a hole */
        {"firecracker", true, true, true},
        {"cloud-hypervisor", true, true, false}, /* rcore reports on 4, past the end */
        {"libkrun", true, true, true},
        {"alioth", true, true, true},
};

static void test_every_device_against_every_driver(void)
{
        static const char *const drivers[] = {"linux", "linux-4", "rcore"};
        size_t n_devices = 0;
        const CompatImplementation *impl;

        for (size_t i = 0; (impl = compat_implementation_get(i)); i++)
                if (impl->role == COMPAT_ROLE_DEVICE)
                        n_devices++;
        check_int(n_devices, sizeof(expected_pairs) / sizeof(expected_pairs[0]));

        for (size_t i = 0; i < sizeof(expected_pairs) / sizeof(expected_pairs[0]); i++) {
                const CompatImplementation *dev =
                        compat_implementation_lookup(expected_pairs[i].device);
                bool expect_max[3] = {expected_pairs[i].max_linux, expected_pairs[i].max_linux4,
                                      expected_pairs[i].max_rcore};
                CompatSide dside;

                check(dev && dev->role == COMPAT_ROLE_DEVICE);
                compat_implementation_side(dev, &dside);
                for (size_t j = 0; j < 3; j++) {
                        const CompatImplementation *drv = compat_implementation_lookup(drivers[j]);
                        uint64_t accepts = drv->features | drv->features_optional;
                        uint64_t offered_max = dev->features | dev->features_optional;
                        CompatSide rside;
                        CompatVerdict v;

                        compat_implementation_side(drv, &rside);
                        check_int(compat_compare(&dside, &rside, offered_max, offered_max & accepts,
                                                 &v),
                                  0);
                        if (v.agree != expect_max[j])
                                fprintf(stderr, "%s vs %s\n", dev->name, drv->name);
                        check_int(v.agree, expect_max[j]);

                        /* Defaults only: every pair agrees. */
                        check_int(compat_compare(&dside, &rside, dev->features,
                                                 dev->features & accepts, &v),
                                  0);
                        check(v.agree);
                        n_cases += 2;
                }
        }
}

/* ---- Parsers ---- */

static void test_side_parse(void)
{
        const char *reason = NULL;
        CompatSide s;

        check_int(compat_side_parse("fixed", COMPAT_ROLE_DEVICE, &s, &reason), 0);
        check_int(s.convention, FIXED);
        check_str(s.name, "fixed");
        check_int(compat_side_parse("dense-offered", COMPAT_ROLE_DRIVER, &s, NULL), 0);
        check_int(s.convention, DO);
        check_int(compat_side_parse("Dense-Negotiated", COMPAT_ROLE_DEVICE, &s, NULL), 0);
        check_int(s.convention, DN);
        check_str(s.name, "dense-negotiated");

        check_int(compat_side_parse("crosvm-2024", COMPAT_ROLE_DEVICE, &s, NULL), 0);
        check_int(s.convention, FIXED);
        check_int(s.vendor, COMPAT_VENDOR_CROSVM);
        check_str(s.name, "crosvm-2024");
        check_int(compat_side_parse("linux", COMPAT_ROLE_DRIVER, &s, NULL), 0);
        check_int(s.convention, DN);

        check_int(compat_side_parse("linux", COMPAT_ROLE_DEVICE, &s, &reason), -EINVAL);
        check_str(reason, "names a driver, not a device");
        check_int(compat_side_parse("qemu", COMPAT_ROLE_DRIVER, &s, &reason), -EINVAL);
        check_str(reason, "names a device, not a driver");
        check_int(compat_side_parse("dense", COMPAT_ROLE_DEVICE, &s, &reason), -ENOENT);
        check_contains(reason, "neither a convention");
        check_int(compat_side_parse("", COMPAT_ROLE_DRIVER, &s, NULL), -ENOENT);
}

static void test_mask_parse(void)
{
        const char *reason = NULL;
        uint64_t m;

        check_int(compat_mask_parse("0x2a", &m, NULL), 0);
        check_int(m, 0x2a);
        check_int(compat_mask_parse("0X2A", &m, NULL), 0);
        check_int(m, 0x2a);
        check_int(compat_mask_parse("42", &m, NULL), 0);
        check_int(m, 42);
        check_int(compat_mask_parse("0", &m, NULL), 0);
        check_int(m, 0);
        check_int(compat_mask_parse("0xffffffffffffffff", &m, NULL), 0);
        check(m == UINT64_MAX);
        check_int(compat_mask_parse("18446744073709551615", &m, NULL), 0);
        check(m == UINT64_MAX);
        check_int(compat_mask_parse("0x100000001", &m, NULL), 0);
        check(m == UINT64_C(0x100000001));

        check_int(compat_mask_parse("18446744073709551616", &m, &reason), -ERANGE);
        check_str(reason, "feature mask wider than 64 bits");
        check_int(compat_mask_parse("0x10000000000000000", &m, NULL), -ERANGE);
        reason = NULL;
        check_int(compat_mask_parse("", &m, &reason), -EINVAL);
        check_contains(reason, "expected a feature mask");
        check_int(compat_mask_parse("0x", &m, NULL), -EINVAL);
        check_int(compat_mask_parse("-1", &m, NULL), -EINVAL);
        check_int(compat_mask_parse(" 42", &m, NULL), -EINVAL);
        check_int(compat_mask_parse("42 ", &m, NULL), -EINVAL);
        check_int(compat_mask_parse("0x1g", &m, NULL), -EINVAL);
        check_int(compat_mask_parse("2a", &m, NULL), -EINVAL);
        check_int(compat_mask_parse("STATS_VQ", &m, NULL), -EINVAL);
}

/* ---- Renderers ---- */

static json_object *member(json_object *o, const char *key)
{
        json_object *v = NULL;

        if (!json_object_object_get_ex(o, key, &v)) {
                fprintf(stderr, "no member %s in %s\n", key, json_object_to_json_string(o));
                abort();
        }
        return v;
}

static void test_verdict_json(void)
{
        CompatSide libkrun = side_of("libkrun");
        _cleanup_json_ json_object *o = NULL;
        json_object *queues, *q;
        CompatVerdict v;

        check_int(compat_compare(&libkrun, &side_dn, STATS | HINT | REPORT, STATS | REPORT, &v), 0);
        check_int(compat_verdict_to_json(&v, &o), 0);

        check(json_object_is_type(member(o, "agree"), json_type_boolean));
        check(!json_object_get_boolean(member(o, "agree")));
        check_str(json_object_get_string(member(member(o, "device"), "name")), "libkrun");
        check_str(json_object_get_string(member(member(o, "device"), "convention")), "fixed");
        check_str(json_object_get_string(member(member(o, "driver"), "name")), "dense-negotiated");
        check_str(json_object_get_string(member(member(o, "driver"), "convention")),
                  "dense-negotiated");
        check_int(json_object_get_uint64(member(o, "offered_features")), 0x2a);
        check_int(json_object_get_uint64(member(o, "negotiated_features")), 0x22);

        queues = member(o, "queues");
        check(json_object_is_type(queues, json_type_array));
        check_int(json_object_array_length(queues), 5);

        q = json_object_array_get_idx(queues, 0);
        check_str(json_object_get_string(member(q, "name")), "inflate");
        check_int(json_object_get_int(member(q, "device_index")), 0);
        check_int(json_object_get_int(member(q, "driver_index")), 0);
        check(member(q, "consequence") == NULL);

        q = json_object_array_get_idx(queues, 3);
        check_str(json_object_get_string(member(q, "name")), "free_page");
        check_int(json_object_get_int(member(q, "device_index")), 3);
        check(member(q, "driver_index") == NULL); /* JSON null: the driver does not use it */
        check(member(q, "consequence") == NULL);

        q = json_object_array_get_idx(queues, 4);
        check_str(json_object_get_string(member(q, "name")), "reporting");
        check_int(json_object_get_int(member(q, "device_index")), 4);
        check_int(json_object_get_int(member(q, "driver_index")), 3);
        check_contains(json_object_get_string(member(q, "consequence")),
                       "driver sends free page reports to queue 3, which the device serves as "
                       "free_page_vq");

        /* The serialisation carries nulls, not missing members. */
        check_contains(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN),
                       "\"name\":\"free_page\",\"device_index\":3,\"driver_index\":null,"
                       "\"consequence\":null");
}

static void test_verdict_json_device_missing_queue(void)
{
        CompatSide qemu = side_of("qemu");
        _cleanup_json_ json_object *o = NULL;
        json_object *q;
        CompatVerdict v;

        /* A vendor queue the driver uses and the device lacks gets device_index null. */
        CompatSide crosvm_driver = {"crosvm-guest", FIXED, COMPAT_VENDOR_CROSVM};

        check_int(
                compat_compare(&qemu, &crosvm_driver, STATS | REPORT | WS, STATS | REPORT | WS, &v),
                0);
        check_int(compat_verdict_to_json(&v, &o), 0);
        q = json_object_array_get_idx(member(o, "queues"), 4);
        check_str(json_object_get_string(member(q, "name")), "ws_data");
        check(member(q, "device_index") == NULL);
        check_int(json_object_get_int(member(q, "driver_index")), 5);
        check_contains(json_object_get_string(member(q, "consequence")),
                       "which the device does not have (it has 4 queues)");
}

static void test_verdict_text(void)
{
        CompatSide libkrun = side_of("libkrun");
        _cleanup_free_ char *text = NULL, *ok = NULL;
        CompatVerdict v;

        check_int(compat_compare(&libkrun, &side_dn, STATS | HINT | REPORT, STATS | REPORT, &v), 0);
        check_int(compat_verdict_format(&v, &text), 0);
        check_contains(text, "device:   libkrun (fixed)\n");
        check_contains(text, "driver:   dense-negotiated (dense-negotiated)\n");
        check_contains(text, "features: offered 0x2a, negotiated 0x22\n");
        check_contains(text, "QUEUE      DEVICE DRIVER STATE\n");
        check_contains(text, "inflate    0      0      ok\n");
        check_contains(text, "free_page  3      -      unused\n");
        check_contains(text, "reporting  4      3      BROKEN\n");
        check_contains(text, "reporting: driver sends free page reports to queue 3");
        check_contains(text, "The layouts disagree: 1 queue broken.\n");

        check_int(compat_compare(&libkrun, &side_fixed, STATS | HINT | REPORT, STATS | REPORT, &v),
                  0);
        check_int(compat_verdict_format(&v, &ok), 0);
        check_contains(ok, "The layouts agree.\n");
}

static void test_implementations_text(void)
{
        _cleanup_free_ char *brief = NULL, *full = NULL;
        const CompatImplementation *impl;

        check_int(compat_implementations_format(false, &brief), 0);
        check_int(compat_implementations_format(true, &full), 0);
        check_contains(brief, "NAME              SIDE   CONVENTION       SINCE");
        check_contains(brief, "qemu              device dense-offered    -");
        check_contains(brief, "linux             driver dense-negotiated 5.0");
        check_contains(brief, "crosvm-2024       device fixed            -                      "
                              "2025-04\n");
        check(!strstr(brief, "source:"));
        for (size_t i = 0; (impl = compat_implementation_get(i)); i++) {
                char line[256];

                check_contains(brief, impl->name);
                snprintf(line, sizeof(line), "    source: %s\n", impl->source_url);
                check_contains(full, line);
        }
        /* Notes are wrapped to 96 columns. */
        for (const char *p = full; *p;) {
                const char *nl = strchr(p, '\n');
                size_t len = nl ? (size_t)(nl - p) : strlen(p);

                if (strncmp(p, "    source: ", 12) != 0)
                        check(len <= 96);
                p += len + (nl ? 1 : 0);
        }
}

/* ---- Live inference ---- */

static VirtioStatus live(uint64_t offered, uint64_t negotiated, unsigned num_vqs,
                         const uint16_t *sizes, uint32_t set_up)
{
        VirtioStatus s = {
                .device_id = 5,
                .offered = offered,
                .negotiated = negotiated,
                .status = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
                          VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK,
                .driver_ok = true,
                .num_vqs = num_vqs,
        };

        for (unsigned i = 0; i < num_vqs; i++)
                s.queues[i] = (VirtioQueueStatus){
                        .answered = true,
                        .set_up = set_up & (1u << i),
                        .desc_addr = (set_up & (1u << i)) ? 0x1000u * (i + 1) : 0,
                        .size = sizes[i],
                        .size_default = sizes[i],
                };
        return s;
}

static const uint16_t qemu_hint_report_sizes[] = {128, 128, 128, 1024, 32};

static void test_infer_libkrun_with_driver_declining_hint(void)
{
        const uint16_t sizes[] = {256, 256, 256, 256, 256};
        VirtioStatus s = live(STATS | HINT | REPORT, STATS | REPORT, 5, sizes, 0x0f);
        CompatInference inf;

        check_int(compat_infer(compat_implementation_lookup("libkrun"), &s, &inf), 0);
        check_int(inf.verdict, COMPAT_LIVE_DISAGREE);
        check_int(inf.conventions, 1u << DN);
        check(!inf.comparison.agree);
        check_int(row_of(&inf.comparison, COMPAT_QUEUE_REPORTING)->driver_index, 3);
        check_str(inf.reason, "the driver set up queues 0, 1, 2 and 3, as dense-negotiated "
                              "numbering gives: driver sends free page reports to queue 3, which "
                              "the device serves as free_page_vq: the device takes them for free "
                              "page hints, so the host never releases that memory, and where the "
                              "device leaves that queue unanswered the reports are never "
                              "acknowledged and the guest's reporting worker blocks");
}

static void test_infer_qemu_ambiguous_conventions_agree(void)
{
        /* Hint offered and declined, reporting used: fixed and dense-offered both give 4. */
        VirtioStatus s = live(STATS | POISON | HINT | REPORT, STATS | REPORT, 5,
                              qemu_hint_report_sizes, 0x17);
        CompatInference inf;

        check_int(compat_infer(compat_implementation_lookup("qemu"), &s, &inf), 0);
        check_int(inf.verdict, COMPAT_LIVE_AGREE);
        check_int(inf.conventions, (1u << FIXED) | (1u << DO));
        check_str(inf.reason, "the driver set up queues 0, 1, 2 and 4, as fixed or dense-offered "
                              "numbering gives: the layouts agree");
}

static void test_infer_qemu_dense_negotiated_declining_hint_disagrees(void)
{
        VirtioStatus s = live(STATS | POISON | HINT | REPORT, STATS | REPORT, 5,
                              qemu_hint_report_sizes, 0x0f);
        CompatInference inf;

        check_int(compat_infer(compat_implementation_lookup("qemu"), &s, &inf), 0);
        check_int(inf.verdict, COMPAT_LIVE_DISAGREE);
        check_int(inf.conventions, 1u << DN);
        check_int(row_of(&inf.comparison, COMPAT_QUEUE_REPORTING)->device_index, 4);
        check_int(row_of(&inf.comparison, COMPAT_QUEUE_REPORTING)->target_queue,
                  COMPAT_QUEUE_FREE_PAGE);
}

static void test_infer_unknown_cases(void)
{
        const CompatImplementation *qemu = compat_implementation_lookup("qemu");
        CompatInference inf;
        VirtioStatus s;

        /* No driver yet. */
        s = live(STATS | POISON, 0, 3, qemu_hint_report_sizes, 0);
        s.driver_ok = false;
        s.status = 0;
        check_int(compat_infer(qemu, &s, &inf), 0);
        check_int(inf.verdict, COMPAT_LIVE_UNKNOWN);
        check_str(inf.reason, "no driver has finished setting the device up (status 0x00)");

        /* num-vqs that QEMU's layout does not give. */
        s = live(STATS | POISON | REPORT, STATS | REPORT, 5, qemu_hint_report_sizes, 0x0f);
        check_int(compat_infer(qemu, &s, &inf), 0);
        check_int(inf.verdict, COMPAT_LIVE_UNKNOWN);
        check_str(inf.reason, "the device has 5 queues where qemu would have 4 for features 0x32");

        /* A size that says the queue is not what the model thinks. */
        {
                const uint16_t sizes[] = {128, 128, 128, 32};

                s = live(STATS | POISON | HINT, STATS | HINT, 4, sizes, 0x0f);
                check_int(compat_infer(qemu, &s, &inf), 0);
                check_int(inf.verdict, COMPAT_LIVE_UNKNOWN);
                check_str(inf.reason, "queue 3 has 32 descriptors where qemu's free_page has "
                                      "1024: the device is not laid out as modelled");
        }

        /* A queue state missing. */
        s = live(STATS | POISON, STATS, 3, qemu_hint_report_sizes, 0x07);
        s.queues[2].answered = false;
        check_int(compat_infer(qemu, &s, &inf), 0);
        check_int(inf.verdict, COMPAT_LIVE_UNKNOWN);
        check_str(inf.reason, "the state of queue 2 is missing");

        /* Set-up queues no convention explains. */
        s = live(STATS | POISON | HINT | REPORT, STATS | HINT | REPORT, 5, qemu_hint_report_sizes,
                 0x0b);
        check_int(compat_infer(qemu, &s, &inf), 0);
        check_int(inf.verdict, COMPAT_LIVE_UNKNOWN);
        check_int(inf.conventions, 0);
        check_str(inf.reason, "the driver set up queues 0, 1 and 3, which no convention gives "
                              "for offered 0x3a and negotiated 0x2a");

        /* Not a balloon. */
        s = live(STATS | POISON, STATS, 3, qemu_hint_report_sizes, 0x07);
        s.device_id = 1;
        check_int(compat_infer(qemu, &s, &inf), 0);
        check_int(inf.verdict, COMPAT_LIVE_UNKNOWN);
        check_str(inf.reason, "device id 1 is not a balloon (5)");

        /* Not a device. */
        check_int(compat_infer(compat_implementation_lookup("linux"), &s, &inf), -EINVAL);
        check_int(compat_infer(NULL, &s, &inf), -EINVAL);
}

/* ---- Page reporting stall ---- */

static void test_reporting_check(void)
{
        const uint64_t sec = 1000000;

        /* Moved: active, even in a short window and across the 16-bit wrap. */
        check_int(compat_reporting_check(&(CompatReportingWindow){4, 6, 1 * sec, 0}),
                  COMPAT_REPORTING_ACTIVE);
        check_int(compat_reporting_check(&(CompatReportingWindow){65535, 1, 30 * sec, 0}),
                  COMPAT_REPORTING_ACTIVE);
        /* Still, short window: cannot tell. */
        check_int(compat_reporting_check(&(CompatReportingWindow){7, 7, 10 * sec - 1, 1u << 30}),
                  COMPAT_REPORTING_UNKNOWN);
        /* Still, long window, little freed: nothing to report. */
        check_int(compat_reporting_check(
                          &(CompatReportingWindow){7, 7, 10 * sec, (UINT64_C(64) << 20) - 1}),
                  COMPAT_REPORTING_IDLE);
        /* Still, long window, enough freed: stalled. */
        check_int(compat_reporting_check(
                          &(CompatReportingWindow){7, 7, 10 * sec, UINT64_C(64) << 20}),
                  COMPAT_REPORTING_STALLED);
        check_int(compat_reporting_check(
                          &(CompatReportingWindow){0, 0, 600 * sec, UINT64_C(1) << 30}),
                  COMPAT_REPORTING_STALLED);

        check_str(compat_reporting_to_string(COMPAT_REPORTING_STALLED), "stalled");
        check_str(compat_reporting_to_string(COMPAT_REPORTING_ACTIVE), "active");
        check(compat_reporting_to_string((CompatReporting)17) == NULL);
}

static void test_names(void)
{
        static const char *const queues[] = {"inflate",   "deflate", "stats", "free_page",
                                             "reporting", "ws_data", "ws_op"};

        for (CompatQueue q = 0; q < _COMPAT_QUEUE_MAX; q++)
                check_str(compat_queue_to_string(q), queues[q]);
        check(compat_queue_to_string(_COMPAT_QUEUE_MAX) == NULL);
        check_str(compat_convention_to_string(FIXED), "fixed");
        check_str(compat_convention_to_string(DO), "dense-offered");
        check_str(compat_convention_to_string(DN), "dense-negotiated");
        check(compat_convention_to_string(_COMPAT_CONVENTION_MAX) == NULL);
        check_str(compat_role_to_string(COMPAT_ROLE_DEVICE), "device");
        check_str(compat_role_to_string(COMPAT_ROLE_DRIVER), "driver");
        check_str(compat_live_verdict_to_string(COMPAT_LIVE_DISAGREE), "disagree");
}

int main(void)
{
        RUN(test_layout_qemu_default_is_dense_over_offered);
        RUN(test_layout_fixed_keeps_spec_indexes_with_holes);
        RUN(test_layout_dense_negotiated_skips_declined_features);
        RUN(test_layout_vendor_queues_follow_reporting);
        RUN(test_layout_rejects_bad_input);
        RUN(test_layout_every_feature_combination);
        RUN(test_compare_every_pair_and_feature_combination);
        RUN(test_design_condition_is_sufficient_but_not_necessary);
        RUN(test_qemu_hint_off_reporting_on_breaks_fixed_driver);
        RUN(test_libkrun_breaks_driver_declining_free_page_hint);
        RUN(test_crosvm_2024_breaks_linux_reporting);
        RUN(test_crosvm_dense_puts_ws_data_where_fixed_driver_reports);
        RUN(test_stats_and_hint_consequences);
        RUN(test_compare_rejects_bad_input);
        RUN(test_qemu_hint_and_reporting_on_agrees_when_driver_accepts_all);
        RUN(test_every_implementation_row);
        RUN(test_every_device_against_every_driver);
        RUN(test_side_parse);
        RUN(test_mask_parse);
        RUN(test_verdict_json);
        RUN(test_verdict_json_device_missing_queue);
        RUN(test_verdict_text);
        RUN(test_implementations_text);
        RUN(test_infer_libkrun_with_driver_declining_hint);
        RUN(test_infer_qemu_ambiguous_conventions_agree);
        RUN(test_infer_qemu_dense_negotiated_declining_hint_disagrees);
        RUN(test_infer_unknown_cases);
        RUN(test_reporting_check);
        RUN(test_names);

        printf("%u passed, 0 failed (%u feature/convention combinations checked)\n", n_passed,
               n_cases);
        return 0;
}
