/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The `mom` strategy pinned to hand-computed cases of MOM's balloon.rules. */
#include "policy.h"
#include "mom.h"
#include "test-util.h"

#define check_near(actual, expected)                                                               \
        do {                                                                                       \
                uint64_t _x = (actual), _y = (expected);                                           \
                if ((_x > _y ? _x - _y : _y - _x) > 1)                                             \
                        check_u64_eq(_x, _y);                                                      \
        } while (0)

static PolicyConfig config(void)
{
        PolicyConfig c;
        policy_config_init(&c);
        c.strategy = POLICY_STRATEGY_MOM;
        return c;
}

/* A host of 100 GiB with `free_share` of it free (no buffers or cache). */
static HostSample host(double free_share)
{
        return (HostSample){
                .mem_total_bytes = 100 * GIB,
                .mem_free_bytes = (uint64_t)(free_share * 100 * GIB),
                .mem_available_bytes = (uint64_t)(free_share * 100 * GIB),
        };
}

/* A guest with `actual` MiB, MemFree `free` MiB, maximum 2000 MiB. */
static GuestSample guest(uint64_t actual_mib, uint64_t free_mib)
{
        GuestSample g = {
                .name = "g",
                .actual_bytes = actual_mib * MIB,
                .max_bytes = 2000 * MIB,
                .stats_fresh = true,
                .manage = true,
                .shares = POLICY_SHARES_DEFAULT,
        };
        balloon_stats_init(&g.stats);
        g.stats.total_bytes = actual_mib * MIB;
        g.stats.free_bytes = free_mib * MIB;
        g.stats.available_bytes = free_mib * MIB;
        g.stats.last_update_sec = 100;
        return g;
}

/* The rules alone (no guard rails): one collector sample, one run. */
static Decision propose(const PolicyConfig *c, HostSample h, GuestSample g)
{
        Snapshot snap = {.now_usec = 0, .host = h, .n_guests = 1, .guests = &g};
        PolicyState ps = {0};
        PolicyGuestState st = {0};
        Decision d = {.target_bytes = g.actual_bytes};

        mom_collect(c, &snap, &ps, &st);
        mom_propose(c, &snap, &ps, &st, &d);
        return d;
}

static void test_grow_to_used_plus_20_percent(void)
{
        PolicyConfig c = config();
        /* used = 1000 - 100 = 900; floor = 900 + 0.2 * 1000 = 1100 > 1.05 * 1000 */
        Decision d = propose(&c, host(0.5), guest(1000, 100));
        check_near(d.target_bytes, 1100 * MIB);
        check_str_contains(d.reason, "deflate: mom");
}

static void test_grow_at_least_5_percent_capped_at_max(void)
{
        PolicyConfig c = config();
        /* used 950, floor 1340; 1.05 * 1950 = 2047.5 -> limited to the 2000 maximum */
        Decision d = propose(&c, host(0.5), guest(1950, 1000));
        check_u64_eq(d.target_bytes, 2000 * MIB);
        /* at the maximum: 1.05 * 2000 is cut back to 2000, no change */
        d = propose(&c, host(0.5), guest(2000, 1000));
        check_u64_eq(d.target_bytes, 2000 * MIB);
        check_str_contains(d.reason, "hold");
}

static void test_shrink_by_5_percent_under_pressure(void)
{
        PolicyConfig c = config();
        /* host free 0.10 < 0.20: used 400, floor = 400 + 0.10 * 1000 = 500; max(950, 500) */
        Decision d = propose(&c, host(0.10), guest(1000, 600));
        check_near(d.target_bytes, 950 * MIB);
        check_str_contains(d.reason, "inflate: mom");
}

static void test_shrink_stops_at_used_plus_host_free_share(void)
{
        PolicyConfig c = config();
        /* used 880, floor = 880 + 0.10 * 1000 = 980 > 950 */
        Decision d = propose(&c, host(0.10), guest(1000, 120));
        check_near(d.target_bytes, 980 * MIB);
}

static void test_critical_pressure_takes_5_points_off_free_goal(void)
{
        PolicyConfig c = config();
        /* host free 0.04 <= 0.05: gf = -0.01; used 970: floor = 970 - 10 = 960 */
        Decision d = propose(&c, host(0.04), guest(1000, 30));
        check_near(d.target_bytes, 960 * MIB);
        /* host free 0.06 is not critical: floor = 970 + 60 = 1030 > cur, not a shrink */
        d = propose(&c, host(0.06), guest(1000, 30));
        check_u64_eq(d.target_bytes, 1000 * MIB);
        check_str_contains(d.reason, "hold");
}

static void test_changes_under_quarter_percent_are_not_applied(void)
{
        PolicyConfig c = config();
        /* used 898: floor 998, |998 - 1000| = 2 MiB <= 0.25 % of 1000 MiB */
        Decision d = propose(&c, host(0.10), guest(1000, 102));
        check_u64_eq(d.target_bytes, 1000 * MIB);
        /* used 896: floor 996, a 4 MiB change is applied */
        d = propose(&c, host(0.10), guest(1000, 104));
        check_near(d.target_bytes, 996 * MIB);
}

static void test_balloon_min_is_the_floor(void)
{
        PolicyConfig c = config();
        GuestSample g = guest(1000, 600);
        g.min_bytes = 980 * MIB;
        Decision d = propose(&c, host(0.10), g);
        check_near(d.target_bytes, 980 * MIB);
}

static void test_host_free_is_averaged_over_samples(void)
{
        PolicyConfig c = config();
        HostSample hs[] = {host(0.5), host(0.0)};
        GuestSample g = guest(1000, 100);
        PolicyState ps = {0};
        PolicyGuestState st = {0};
        Decision d = {.target_bytes = g.actual_bytes};

        for (int i = 0; i < 2; i++) {
                Snapshot snap = {.now_usec = i * 5 * USEC_PER_SEC,
                                 .host = hs[i],
                                 .n_guests = 1,
                                 .guests = &g};
                mom_collect(&c, &snap, &ps, &st);
        }
        /* mean free 0.25 >= 0.20: grow although the last sample is 0 */
        Snapshot snap = {
                .now_usec = 10 * USEC_PER_SEC, .host = host(0.0), .n_guests = 1, .guests = &g};
        mom_propose(&c, &snap, &ps, &st, &d);
        check_near(d.target_bytes, 1100 * MIB);
}

static void test_guest_used_is_mean_balloon_minus_mean_free(void)
{
        PolicyConfig c = config();
        PolicyState ps = {0};
        PolicyGuestState st = {0};
        GuestSample g1 = guest(1000, 100), g2 = guest(1200, 500);
        Decision d = {.target_bytes = g2.actual_bytes};

        Snapshot s1 = {.now_usec = 0, .host = host(0.5), .n_guests = 1, .guests = &g1};
        mom_collect(&c, &s1, &ps, &st);
        Snapshot s2 = {
                .now_usec = 5 * USEC_PER_SEC, .host = host(0.5), .n_guests = 1, .guests = &g2};
        mom_collect(&c, &s2, &ps, &st);
        mom_propose(&c, &s2, &ps, &st, &d);
        /* used = 1100 - 300 = 800; floor = 800 + 0.2 * 1200 = 1040 < 1.05 * 1200 = 1260 */
        check_near(d.target_bytes, 1260 * MIB);
}

static void test_runs_every_10_seconds_with_guard_rails(void)
{
        PolicyConfig c = config();
        PolicyState ps = {0};
        PolicyGuestState st = {0};
        GuestSample g = guest(1000, 600);
        Decision d;

        for (uint64_t t = 0; t <= 10; t += 2) {
                Snapshot snap = {.now_usec = t * USEC_PER_SEC,
                                 .host = host(0.10),
                                 .n_guests = 1,
                                 .guests = &g};
                policy_decide(&c, &snap, &ps, &st, &d);
                if (t == 0 || t == 10) {
                        check(d.change);
                        check_near(d.target_bytes, 950 * MIB);
                } else {
                        check(!d.change);
                        check_str_contains(d.reason, "runs every 10s");
                }
        }
        check(!policy_wants_early_cycle(&c, &g, &st));
}

int main(void)
{
        RUN(test_grow_to_used_plus_20_percent);
        RUN(test_grow_at_least_5_percent_capped_at_max);
        RUN(test_shrink_by_5_percent_under_pressure);
        RUN(test_shrink_stops_at_used_plus_host_free_share);
        RUN(test_critical_pressure_takes_5_points_off_free_goal);
        RUN(test_changes_under_quarter_percent_are_not_applied);
        RUN(test_balloon_min_is_the_floor);
        RUN(test_host_free_is_averaged_over_samples);
        RUN(test_guest_used_is_mean_balloon_minus_mean_free);
        RUN(test_runs_every_10_seconds_with_guard_rails);
        return 0;
}
