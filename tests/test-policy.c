/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The adaptive strategy and the guard rails, on hand-built snapshots. */
#include <math.h>

#include "policy.h"
#include "test-util.h"

/* The cases below were computed with a 48 MiB floor headroom. */
static PolicyConfig config(void)
{
        PolicyConfig c;
        policy_config_init(&c);
        c.headroom_min_bytes = 48 * MIB;
        return c;
}

/* A 512 MiB guest holding `actual` MiB, of which `used` MiB in use, stats fresh at t. */
static GuestSample guest(uint64_t actual_mib, uint64_t used_mib, uint64_t t_sec)
{
        GuestSample g = {
                .name = "g",
                .actual_bytes = actual_mib * MIB,
                .max_bytes = 512 * MIB,
                .stats_fresh = true,
                .stats_age_usec = 0,
                .manage = true,
                .shares = POLICY_SHARES_DEFAULT,
        };
        balloon_stats_init(&g.stats);
        g.stats.total_bytes = actual_mib * MIB - 8 * MIB; /* kernel reserve is not in MemTotal */
        g.stats.available_bytes = g.stats.total_bytes - used_mib * MIB;
        g.stats.free_bytes = g.stats.available_bytes;
        g.stats.oom_kills = 0;
        g.stats.swap_in_bytes = 0;
        g.stats.last_update_sec = t_sec;
        return g;
}

static Decision decide_on_host(const PolicyConfig *c, const HostSample *h, GuestSample *g,
                               PolicyGuestState *st)
{
        Snapshot snap = { .n_guests = 1, .guests = g, .host = *h };
        PolicyState ps = { 0 };
        Decision d;
        policy_decide(c, &snap, &ps, st, &d);
        return d;
}

static Decision decide(const PolicyConfig *c, GuestSample *g, PolicyGuestState *st)
{
        HostSample none = { 0 };
        return decide_on_host(c, &none, g, st);
}

static void test_idle_guest_is_inflated_by_capped_steps(void)
{
        PolicyConfig c = config();
        PolicyGuestState st = { 0 };
        GuestSample g = guest(512, 50, 100);
        Decision d = decide(&c, &g, &st);

        /* 10 % of 512 MiB per cycle */
        check(d.change);
        check_u64_eq(d.target_bytes, 512 * MIB - (uint64_t)(0.10 * 512 * MIB));
        check_str_contains(d.reason, "inflate");
        check_str_contains(d.reason, "inflate step capped");
}

static void test_idle_guest_settles_near_its_floor(void)
{
        PolicyConfig c = config();
        PolicyGuestState st = { 0 };
        uint64_t actual = 512;
        Decision d = { 0 };

        for (uint64_t t = 1; t < 40; t++) {
                GuestSample g = guest(actual, 50, t);
                d = decide(&c, &g, &st);
                actual = d.target_bytes / MIB;
        }
        /* floor = 50 MiB used (+ 8 reserved outside MemTotal) + 51.2 MiB headroom */
        check(d.floor_bytes > 0);
        check(d.target_bytes >= d.floor_bytes);
        check(d.target_bytes <= d.floor_bytes * 5 / 4);
        check(d.target_bytes < 512 * MIB * 6 / 10);
        check(!d.change);
        check_str_contains(d.reason, "hold");
}

/* The e2e property after a boot peak (which the peak headroom must not keep):
 * squeezed to within 25 % above its floor and under 60 % of its size in 60 s. */
static void test_wobbling_idle_guest_still_settles_near_its_floor(void)
{
        PolicyConfig c = config();
        PolicyGuestState st = { 0 };
        uint64_t actual = 512, used = 50;
        Decision d = { 0 };

        for (uint64_t t = 1; t <= 60; t++) {
                used = t < 10 ? 30 + 4 * t : 44 + t % 2; /* boot peak 66, then idle 44..45 MiB */
                GuestSample g = guest(actual, used, t);
                d = decide(&c, &g, &st);
                if (d.change)
                        actual = d.target_bytes / MIB;
        }
        check(actual * MIB <= d.floor_bytes * 5 / 4);
        check(actual < 512 * 6 / 10);
}

static void test_no_inflation_on_stale_stats(void)
{
        PolicyConfig c = config();
        PolicyGuestState st = { 0 };
        GuestSample g = guest(512, 50, 100);
        g.stats_fresh = false;
        Decision d = decide(&c, &g, &st);

        check(!d.change);
        check_u64_eq(d.target_bytes, 512 * MIB);
        check_str_contains(d.reason, "stats stale");
}

static void test_no_stats_yet_holds(void)
{
        PolicyConfig c = config();
        PolicyGuestState st = { 0 };
        GuestSample g = guest(512, 50, 0);
        balloon_stats_init(&g.stats);
        Decision d = decide(&c, &g, &st);

        check(!d.change);
        check_u64_eq(d.target_bytes, 512 * MIB);
        check_str_contains(d.reason, "no stats");
}

static void test_floor_respects_min_memory(void)
{
        PolicyConfig c = config();
        PolicyGuestState st = { 0 };
        GuestSample g = guest(300, 50, 100);
        g.min_bytes = 280 * MIB;
        Decision d = decide(&c, &g, &st);

        check_u64_eq(d.floor_bytes, 280 * MIB);
        check_u64_eq(d.target_bytes, 280 * MIB);
        check_str_contains(d.reason, "raised to floor");
}

static void test_distress_deflates_past_the_step_cap(void)
{
        PolicyConfig c = config();
        PolicyGuestState st = { 0 };
        GuestSample g = guest(120, 60, 100);
        Decision d = decide(&c, &g, &st);
        check(!d.distress);

        /* 150 MiB more in use two seconds later: available is gone */
        g = guest(120, 110, 102);
        d = decide(&c, &g, &st);
        check(d.distress);
        check(d.change);
        /* growth 25 MiB/s over a 5 s horizon on top of use + headroom */
        check(d.target_bytes > 110 * MIB + 125 * MIB);
        check(d.target_bytes - 120 * MIB > (uint64_t)(0.25 * 512 * MIB));
        check_str_contains(d.reason, "deflate");
}

/* Another controller set the balloon: no inflation, no ordinary deflation,
 * but a guest in distress is still rescued. */
static void test_other_controller_holds_except_distress(void)
{
        PolicyConfig c = config();
        PolicyGuestState st = { 0 };
        GuestSample g = guest(512, 50, 100);
        Decision d;

        g.other_controller_bytes = 512 * MIB;
        d = decide(&c, &g, &st);
        check(!d.change);
        check_u64_eq(d.target_bytes, 512 * MIB);
        check_str_contains(d.reason, "another controller");

        st = (PolicyGuestState){ 0 };
        g = guest(120, 60, 100);
        g.other_controller_bytes = 120 * MIB;
        (void)decide(&c, &g, &st);
        g = guest(120, 110, 102);
        g.other_controller_bytes = 120 * MIB;
        d = decide(&c, &g, &st);
        check(d.distress && d.change);
        check(d.target_bytes > 120 * MIB);
}

static void test_oom_kill_is_distress(void)
{
        PolicyConfig c = config();
        PolicyGuestState st = { 0 };
        GuestSample g = guest(200, 60, 100);
        (void)decide(&c, &g, &st);
        g.stats.oom_kills = 1;
        g.stats.last_update_sec = 101;
        Decision d = decide(&c, &g, &st);

        check(d.distress);
        check_str_contains(d.reason, "OOM kills rising");
        check(d.target_bytes >= 200 * MIB);
}

static void test_band_hysteresis_holds(void)
{
        PolicyConfig c = config();
        PolicyGuestState st = { 0 };
        /* available ~80 MiB: above the 51 MiB floor headroom, under the 102 MiB high mark */
        GuestSample g = guest(180, 92, 100);
        Decision d = decide(&c, &g, &st);

        check(!d.change);
        check_str_contains(d.reason, "hold");
}

static void test_pending_inflation_blocks_more_inflation(void)
{
        PolicyConfig c = config();
        PolicyGuestState st = { 0 };
        GuestSample g = guest(400, 50, 100);
        g.command_pending = true;
        g.pending_target_bytes = 350 * MIB;
        Decision d = decide(&c, &g, &st);

        check(!d.change);
        check_str_contains(d.reason, "in progress");
}

static void test_pending_does_not_block_deflation(void)
{
        PolicyConfig c = config();
        PolicyGuestState st = { 0 };
        GuestSample g = guest(120, 100, 100);
        g.command_pending = true;
        g.pending_target_bytes = 110 * MIB;
        Decision d = decide(&c, &g, &st);

        check(d.distress);
        check(d.change);
        check(d.target_bytes > 120 * MIB);
}

static void test_never_above_maximum(void)
{
        PolicyConfig c = config();
        PolicyGuestState st = { 0 };
        GuestSample g = guest(500, 480, 100);
        Decision d = decide(&c, &g, &st);

        check_u64_eq(d.target_bytes, 512 * MIB);
        check_u64_eq(d.floor_bytes, 512 * MIB);
}

/* A 4 GiB guest holding `actual` bytes, 2 GiB of them in use (2 GiB + 8 MiB
 * counted, as guest() does), its maximum lowered to `ceiling` (MaxMemory= or
 * memtidectl set --max). Squeezed below its use, it has 4 MiB available. */
static GuestSample lowered_guest(uint64_t actual, uint64_t ceiling, uint64_t t_sec)
{
        GuestSample g = guest(4096, 2048, t_sec);

        g.actual_bytes = actual;
        g.boot_bytes = 4096 * MIB;
        g.max_bytes = ceiling;
        g.stats.total_bytes = actual - 8 * MIB;
        g.stats.available_bytes =
                g.stats.total_bytes > 2052 * MIB ? g.stats.total_bytes - 2048 * MIB : 4 * MIB;
        g.stats.free_bytes = g.stats.available_bytes;
        return g;
}

/* Cycles with the balloon reaching each target until nothing more is sent;
 * no cycle takes more than one inflate step (10 % of the boot memory). */
static Decision settle_lowered(const PolicyConfig *c, uint64_t ceiling, bool forced,
                               uint64_t *ret_actual)
{
        PolicyGuestState st = { 0 };
        uint64_t step = size_or_share_bytes(&c->inflate_step, 4096 * MIB);
        uint64_t actual = 4096 * MIB;
        Decision d = { 0 };

        for (uint64_t t = 1; t < 100; t++) {
                GuestSample g = lowered_guest(actual, ceiling, 100 + t);
                g.max_below_floor = forced;
                d = decide(c, &g, &st);
                check(d.target_bytes + step >= actual);
                if (!d.change)
                        break;
                actual = d.target_bytes;
        }
        check(!d.change);
        *ret_actual = actual;
        return d;
}

/* memtidectl set GUEST --max 1M on a 4 GiB guest using 2 GiB once sent one
 * `balloon 1048576`. A maximum below use is approached one inflate step per
 * cycle and stops at the floor, use + HeadroomMin=, and the reason says so. */
static void test_low_maximum_approached_by_steps_down_to_the_floor(void)
{
        PolicyConfig c = config();
        PolicyGuestState st = { 0 };
        uint64_t step = size_or_share_bytes(&c.inflate_step, 4096 * MIB);
        GuestSample g = lowered_guest(4096 * MIB, 1 * MIB, 100);
        uint64_t floor = guest_used_bytes(&g) + c.headroom_min_bytes;
        Decision d = decide(&c, &g, &st);
        uint64_t actual;

        check(d.change);
        check_u64_eq(d.target_bytes, 4096 * MIB - step);
        check(d.floor_bytes >= floor);
        check_str_contains(d.reason, "MaxMemoryBelowFloor=no");

        d = settle_lowered(&c, 1 * MIB, false, &actual);
        check(actual >= floor);
        check(actual < floor + 4 * MIB);
        check_str_contains(d.reason, "MaxMemoryBelowFloor=no");
}

/* MaxMemoryBelowFloor=yes lets the maximum win over the floor, still one
 * inflate step per cycle, and every reason says it is in force. */
static void test_max_memory_below_floor_is_forced_by_steps(void)
{
        PolicyConfig c = config();
        PolicyGuestState st = { 0 };
        uint64_t step = size_or_share_bytes(&c.inflate_step, 4096 * MIB);
        GuestSample g = lowered_guest(4096 * MIB, 1024 * MIB, 100);
        Decision d;
        uint64_t actual;

        g.max_below_floor = true;
        d = decide(&c, &g, &st);
        check(d.change);
        check_u64_eq(d.target_bytes, 4096 * MIB - step);
        check_str_contains(d.reason, "MaxMemoryBelowFloor=yes");

        d = settle_lowered(&c, 1024 * MIB, true, &actual);
        check_u64_eq(actual, 1024 * MIB);
        check_u64_eq(d.floor_bytes, 1024 * MIB);
        check_str_contains(d.reason, "MaxMemoryBelowFloor=yes");
}

/* A guest at a lowered maximum whose use grows past it still gets its floor,
 * up to its boot memory and no further. */
static void test_floor_above_a_lowered_maximum_stops_at_boot_memory(void)
{
        PolicyConfig c = config();
        PolicyGuestState st = { 0 };
        GuestSample g = lowered_guest(2048 * MIB, 2048 * MIB, 100);
        Decision d;

        g.stats.available_bytes = 16 * MIB; /* 2032 MiB counted in use */
        g.stats.free_bytes = 16 * MIB;
        d = decide(&c, &g, &st);
        check(d.change);
        check(d.target_bytes >= guest_used_bytes(&g) + c.headroom_min_bytes);
        check(d.target_bytes <= 4096 * MIB);

        PolicyGuestState st2 = { 0 };
        g = lowered_guest(4096 * MIB, 2048 * MIB, 100);
        g.stats.available_bytes = 16 * MIB;
        g.stats.free_bytes = 16 * MIB;
        d = decide(&c, &g, &st2);
        check_u64_eq(d.floor_bytes, 4096 * MIB);
        check_u64_eq(d.target_bytes, 4096 * MIB);
}

static void test_unmanaged_guest_is_left_alone(void)
{
        PolicyConfig c = config();
        PolicyGuestState st = { 0 };
        GuestSample g = guest(512, 50, 100);
        g.manage = false;
        Decision d = decide(&c, &g, &st);

        check(!d.change);
        check_u64_eq(d.target_bytes, 512 * MIB);
        check_str_contains(d.reason, "not managed");
}

static void test_deflate_on_oom_total_counts_balloon_as_unused(void)
{
        GuestSample g = guest(256, 50, 100);
        /* With DEFLATE_ON_OOM MemTotal stays at boot size and the balloon looks used. */
        g.stats.total_bytes = 504 * MIB;
        g.stats.available_bytes = 504 * MIB - 50 * MIB - 256 * MIB;
        check_u64_eq(guest_used_bytes(&g), 50 * MIB + 8 * MIB);
}

static void test_early_cycle_when_memory_runs_short(void)
{
        PolicyConfig c = config();
        PolicyGuestState st = { 0 };
        GuestSample g = guest(120, 60, 100);
        check(!policy_wants_early_cycle(&c, &g, &st));
        (void)decide(&c, &g, &st);
        g = guest(120, 90, 101);
        check(policy_wants_early_cycle(&c, &g, &st));
}

/*
 * A guest that nothing more can be given to brings no cycle forward, however
 * short it reports itself: at its maximum, or with a deflation to it on its
 * way. Once, a guest at its maximum reporting low memory had a cycle at
 * every stats report.
 */
static void test_no_early_cycle_with_nothing_more_to_give(void)
{
        PolicyConfig c = config();
        PolicyGuestState st = { 0 };
        GuestSample g = guest(512, 490, 100); /* 14 MiB available, at 512 MiB */

        check(!policy_wants_early_cycle(&c, &g, &st));
        (void)decide(&c, &g, &st);
        g = guest(512, 500, 101); /* shorter still */
        check(!policy_wants_early_cycle(&c, &g, &st));

        /* on its way to the maximum: the next report will tell */
        g = guest(400, 390, 101);
        g.command_pending = true;
        g.pending_target_bytes = 512 * MIB;
        check(!policy_wants_early_cycle(&c, &g, &st));
        /* an inflation in flight is no help: the cycle must stop it */
        g.pending_target_bytes = 350 * MIB;
        check(policy_wants_early_cycle(&c, &g, &st));
        g.command_pending = false;
        check(policy_wants_early_cycle(&c, &g, &st));

        /* at a lowered maximum under its use the floor still gives more... */
        PolicyGuestState st2 = { 0 };
        g = lowered_guest(2048 * MIB, 2048 * MIB, 100);
        g.stats.available_bytes = g.stats.free_bytes = 16 * MIB;
        check(policy_wants_early_cycle(&c, &g, &st2));
        /* ...unless the maximum wins over the floor */
        g.max_below_floor = true;
        check(!policy_wants_early_cycle(&c, &g, &st2));
}

/* Guard-rail invariants over random snapshots, the same seed every run. */
/*
 * Two guests alike but for page reporting: with it, free memory is already
 * back on the host, so a moderate excess is held and the reason says why;
 * without it, the same excess is squeezed through the balloon.
 */
static void test_page_reporting_changes_what_is_reclaimed(void)
{
        PolicyConfig c = config();
        PolicyGuestState st_plain = { 0 }, st_reporting = { 0 };
        GuestSample plain = guest(260, 90, 100), reporting = guest(260, 90, 100);
        reporting.page_reporting_functional = true;

        Decision d_plain = decide(&c, &plain, &st_plain);
        Decision d_reporting = decide(&c, &reporting, &st_reporting);

        check(d_plain.change && d_plain.target_bytes < 260 * MIB);
        check_str_contains(d_plain.reason, "inflate");
        check(!d_reporting.change);
        check_u64_eq(d_reporting.target_bytes, 260 * MIB);
        check_str_contains(d_reporting.reason, "hold");
        check_str_contains(d_reporting.reason, "already returned by page reporting");

        /* far above its target, a reporting guest is still capped by the balloon */
        GuestSample big = guest(512, 50, 100);
        PolicyGuestState st_big = { 0 };
        big.page_reporting_functional = true;
        Decision d_big = decide(&c, &big, &st_big);
        check(d_big.change && d_big.target_bytes < 512 * MIB);
        check_str_contains(d_big.reason, "already returned by page reporting");
}

/* Host PSI full at or over HostPressureFull=: no inflation, distress deflation goes on. */
static void test_host_pressure_stops_inflation_not_distress_deflation(void)
{
        PolicyConfig c = config();
        HostSample stalling = { .mem_total_bytes = 64 * GIB,
                                .mem_available_bytes = GIB,
                                .psi_available = true,
                                .psi_some_avg10 = 60,
                                .psi_full_avg10 = 30 };
        HostSample calm = stalling;
        PolicyGuestState st = { 0 }, st2 = { 0 };
        GuestSample idle = guest(512, 50, 100), short_of_memory = guest(120, 110, 100);

        calm.psi_full_avg10 = 1;
        Decision d = decide_on_host(&c, &calm, &idle, &st);
        check(d.change && d.target_bytes < 512 * MIB);

        PolicyGuestState st3 = { 0 };
        d = decide_on_host(&c, &stalling, &idle, &st3);
        check(!d.change);
        check_u64_eq(d.target_bytes, 512 * MIB);
        check_str_contains(d.reason, "host memory pressure (PSI full 30.0% >= 5.0%)");

        d = decide_on_host(&c, &stalling, &short_of_memory, &st2);
        check(d.distress && d.change && d.target_bytes > 120 * MIB);
}

/*
 * A 32 GiB guest using 4 GiB: while the host has room its floor keeps 2 % of
 * 32 GiB free and adaptive 1.25 x that; with the host under its reserve
 * both narrow to HeadroomMin= (96 MiB); halfway, halfway.
 */
static void test_headroom_narrows_with_host_pressure(void)
{
        PolicyConfig c;
        policy_config_init(&c);
        HostSample roomy = { .mem_total_bytes = 64 * GIB, .mem_available_bytes = 40 * GIB };
        HostSample tight = roomy, half = roomy;
        tight.mem_available_bytes = (uint64_t)(0.04 * 64 * GIB);
        half.mem_available_bytes = (uint64_t)(0.125 * 64 * GIB); /* pressure 0.5 */
        uint64_t room = (uint64_t)(0.02 * 32 * GIB);
        PolicyGuestState st = { 0 }, st2 = { 0 };
        GuestSample g = guest(6 * 1024, 4 * 1024, 100);
        g.max_bytes = 32 * GIB;
        uint64_t used = guest_used_bytes(&g);

        Decision d = decide_on_host(&c, &roomy, &g, &st);
        check_u64_eq(d.floor_bytes, used + room);
        check(d.change);
        check(d.target_bytes >= used + room + room / 4 - MIB);
        check(d.target_bytes <= used + room + room / 4 + MIB);

        d = decide_on_host(&c, &tight, &g, &st2);
        check_u64_eq(d.floor_bytes, used + 96 * MIB);
        check_u64_eq(d.target_bytes, used + 96 * MIB);

        uint64_t mid = guest_floor_bytes(&c, &half, &g);
        check(mid >= used + (96 * MIB + room) / 2 - MIB &&
              mid <= used + (96 * MIB + room) / 2 + MIB);
        check_u64_eq(guest_headroom_bytes(&c, &g, NAN), room);
        check_u64_eq(guest_headroom_bytes(&c, &g, 7.0), 96 * MIB);
}

/*
 * GuestMemoryBudget= (HostReserve= 5 %): pressure from what is left of the
 * budget as from MemAvailable of MemTotal, 0 at 20 % left, 1 at 5 %; the
 * host's own pressure still counts, and available is the smaller of the two.
 */
static void test_budget_pressure_and_available(void)
{
        PolicyConfig c;
        policy_config_init(&c);
        HostSample roomy = { .mem_total_bytes = 64 * GIB, .mem_available_bytes = 40 * GIB };
        HostSample h = roomy;
        PolicyGuestState st = { 0 }, st2 = { 0 };
        GuestSample g = guest(6 * 1024, 4 * 1024, 100);
        g.max_bytes = 32 * GIB;
        uint64_t used = guest_used_bytes(&g), room = (uint64_t)(0.02 * 32 * GIB);

        check(host_pressure(&c, &roomy) == 0);
        check_u64_eq(host_available_bytes(&roomy), 40 * GIB);

        /* PSI: the higher of avg10 and the share since the last sample
         * (a cycle a PSI trigger brought forward sees the stall at once). */
        h.psi_available = true;
        h.psi_some_avg10 = 1.0;
        h.psi_some_recent = 5.0;
        check(fabs(host_pressure(&c, &h) - 0.5) < 1e-9);
        h.psi_some_recent = 0;
        check(fabs(host_pressure(&c, &h) - 0.1) < 1e-9);
        h = roomy;

        /* 8 GiB budget, 6 GiB held: 25 % left, no pressure; 2 GiB available. */
        h.guest_budget_bytes = 8 * GIB;
        h.guest_held_bytes = 6 * GIB;
        check(host_pressure(&c, &h) == 0);
        check_u64_eq(host_available_bytes(&h), 2 * GIB);

        /* 7 GiB held: 12.5 % left, (20 - 12.5) / 15 = 0.5; the floor halfway. */
        h.guest_held_bytes = 7 * GIB;
        check(fabs(host_pressure(&c, &h) - 0.5) < 1e-9);
        check_u64_eq(host_available_bytes(&h), GIB);
        uint64_t mid = guest_floor_bytes(&c, &h, &g);
        check(mid >= used + (96 * MIB + room) / 2 - MIB &&
              mid <= used + (96 * MIB + room) / 2 + MIB);

        /* 7.8 GiB held (2.5 % left) and overdrawn: full pressure, nothing available. */
        h.guest_held_bytes = 8 * GIB - 8 * GIB / 40;
        check(host_pressure(&c, &h) == 1);
        h.guest_held_bytes = 9 * GIB;
        check(host_pressure(&c, &h) == 1);
        check_u64_eq(host_available_bytes(&h), 0);
        Decision d = decide_on_host(&c, &h, &g, &st);
        check_u64_eq(d.floor_bytes, used + 96 * MIB);

        /* A budget larger than the host: MemAvailable is the smaller, and
         * the host's own pressure (2 % of MemTotal left) wins. */
        h = roomy;
        h.mem_available_bytes = (uint64_t)(0.02 * 64 * GIB);
        h.guest_budget_bytes = 100 * GIB;
        h.guest_held_bytes = 10 * GIB;
        check(host_pressure(&c, &h) == 1);
        check_u64_eq(host_available_bytes(&h), (uint64_t)(0.02 * 64 * GIB));

        /* Same guest, roomy host: the budget alone makes the difference. */
        h = roomy;
        d = decide_on_host(&c, &h, &g, &st2);
        check_u64_eq(d.floor_bytes, used + room);
}

/* The floor is the guard rails': MOM's and Proxmox's narrow too, unless
 * FloorNarrowing=no keeps HeadroomShare= at any pressure. */
static void test_floor_narrowing_applies_to_every_strategy_and_can_be_off(void)
{
        HostSample tight = { .mem_total_bytes = 64 * GIB,
                             .mem_available_bytes = (uint64_t)(0.04 * 64 * GIB) };
        uint64_t room = (uint64_t)(0.02 * 32 * GIB);

        for (int k = 0; k < _POLICY_STRATEGY_MAX; k++) {
                PolicyConfig c;
                policy_config_init(&c);
                c.strategy = k;
                GuestSample g = guest(6 * 1024, 4 * 1024, 100);
                g.max_bytes = 32 * GIB;
                uint64_t used = guest_used_bytes(&g);
                PolicyGuestState st = { 0 }, st2 = { 0 };
                Decision d = decide_on_host(&c, &tight, &g, &st);
                check_u64_eq(d.floor_bytes, used + 96 * MIB);
                c.floor_narrowing = false;
                d = decide_on_host(&c, &tight, &g, &st2);
                check_u64_eq(d.floor_bytes, used + room);
                check(d.target_bytes >= used + room);
        }
}

/*
 * A maximum for a guest of boot memory `boot` holding `actual`: its boot
 * memory, or one lowered below its use, below its size, or anywhere (as
 * MaxMemory= or memtidectl set --max can), sometimes forced over the floor.
 */
static void random_maximum(unsigned *seed, GuestSample *g, uint64_t boot)
{
        uint64_t used = balloon_stats_reported(&g->stats) ? guest_used_bytes(g) : 0;

        g->boot_bytes = boot;
        switch (rand_r(seed) % 4) {
        case 0:
                g->max_bytes = (uint64_t)rand_r(seed) % (used < boot ? used + 1 : boot + 1);
                break;
        case 1:
                g->max_bytes = (uint64_t)rand_r(seed) % (g->actual_bytes + 1);
                break;
        case 2:
                g->max_bytes = (uint64_t)rand_r(seed) % (boot + 1);
                break;
        default:
                g->max_bytes = boot;
        }
        g->max_below_floor = rand_r(seed) % 2;
}

static uint64_t boot_of(const GuestSample *g)
{
        return g->boot_bytes ? g->boot_bytes : g->max_bytes;
}

/* Most a cycle may take: a share of the maximum, or of the boot memory while
 * the guest is above a lowered maximum. */
static uint64_t inflate_step_of(const PolicyConfig *c, const GuestSample *g)
{
        uint64_t base = g->actual_bytes > g->max_bytes ? boot_of(g) : g->max_bytes;
        return size_or_share_bytes(&c->inflate_step, base);
}

/* Above its maximum a guest never grows, unless to its floor (when the
 * maximum does not win over it); never past its boot memory. */
static void check_ceiling(const GuestSample *g, const Decision *d)
{
        check(d->target_bytes <= boot_of(g));
        if (d->target_bytes > g->max_bytes)
                check(d->target_bytes <= g->actual_bytes ||
                      (!g->max_below_floor && d->target_bytes == d->floor_bytes));
}

/* The floor no host pressure can lower: MinMemory= up to the maximum; use +
 * HeadroomMin= up to the boot memory, or up to the maximum when that wins
 * over the floor (MaxMemoryBelowFloor=yes). */
static uint64_t absolute_floor(const PolicyConfig *c, const GuestSample *g)
{
        uint64_t floor = g->min_bytes < g->max_bytes ? g->min_bytes : g->max_bytes;

        if (balloon_stats_reported(&g->stats)) {
                uint64_t safe = guest_used_bytes(g) + c->headroom_min_bytes;
                uint64_t top = g->max_below_floor ? g->max_bytes : boot_of(g);
                if (safe > top)
                        safe = top;
                if (safe > floor)
                        floor = safe;
        }
        return floor;
}

static void test_random_snapshots_respect_guard_rails(void)
{
        PolicyConfig c = config();
        unsigned seed = 12345;

        for (int i = 0; i < 200000; i++) {
                PolicyGuestState st = { 0 };
                uint64_t max = (uint64_t)(rand_r(&seed) % 65536 + 1) * MIB;
                uint64_t actual = (uint64_t)rand_r(&seed) % (max + 1);
                GuestSample g = guest(1, 0, 0);
                g.max_bytes = max;
                g.actual_bytes = actual;
                g.min_bytes = rand_r(&seed) % 3 ? 0 : (uint64_t)rand_r(&seed) % (max + 1);
                g.stats.total_bytes =
                        rand_r(&seed) % 8 ? (uint64_t)rand_r(&seed) % (max + 1) : STAT_UNKNOWN;
                g.stats.available_bytes =
                        rand_r(&seed) % 8 ? (uint64_t)rand_r(&seed) % (max + 1) : STAT_UNKNOWN;
                g.stats.last_update_sec = (uint64_t)rand_r(&seed);
                g.stats_fresh = rand_r(&seed) % 2;
                g.command_pending = rand_r(&seed) % 4 == 0;
                g.pending_target_bytes = (uint64_t)rand_r(&seed) % (max + 1);
                random_maximum(&seed, &g, max);
                Decision d = decide(&c, &g, &st);

                check_ceiling(&g, &d);
                check(d.target_bytes >= d.floor_bytes);
                check(d.target_bytes >= absolute_floor(&c, &g));
                if (!guest_stats_usable(&g))
                        check(d.target_bytes >= actual);
                if (d.target_bytes < actual)
                        check(actual - d.target_bytes <= inflate_step_of(&c, &g));
                if (d.target_bytes > actual && !d.distress && d.target_bytes > d.floor_bytes)
                        check(d.target_bytes - actual <=
                              size_or_share_bytes(&c.deflate_step, g.max_bytes));
                /* deterministic: the same input gives the same output */
                PolicyGuestState st2 = { 0 };
                Decision d2 = decide(&c, &g, &st2);
                check(d2.target_bytes == d.target_bytes && d2.change == d.change);
        }
}

/* The guard rails hold after every strategy: random hosts and groups of guests,
 * several cycles so that periodic strategies run and hold. */
static void test_random_snapshots_respect_guard_rails_every_strategy(void)
{
        unsigned seed = 4242;

        for (int strategy = 0; strategy < _POLICY_STRATEGY_MAX; strategy++) {
                PolicyConfig c = config();
                c.strategy = strategy;
                for (int i = 0; i < 20000; i++) {
                        GuestSample g[4];
                        PolicyGuestState st[4] = { 0 };
                        PolicyState ps = { 0 };
                        Decision d[4];
                        size_t n = (size_t)(rand_r(&seed) % 4 + 1);
                        uint64_t total = (uint64_t)(rand_r(&seed) % 65536 + 1) * MIB;
                        Snapshot snap = { .n_guests = n, .guests = g };
                        snap.host.mem_total_bytes = total;
                        snap.host.mem_available_bytes = (uint64_t)rand_r(&seed) % (total + 1);
                        snap.host.mem_free_bytes = snap.host.mem_available_bytes;
                        snap.host.psi_available = rand_r(&seed) % 2;
                        snap.host.psi_some_avg10 = rand_r(&seed) % 2000 / 100.0;
                        for (size_t k = 0; k < n; k++) {
                                uint64_t max = (uint64_t)(rand_r(&seed) % 16384 + 1) * MIB;
                                g[k] = guest(1, 0, 0);
                                g[k].max_bytes = max;
                                g[k].actual_bytes = (uint64_t)rand_r(&seed) % (max + 1);
                                g[k].min_bytes =
                                        rand_r(&seed) % 2 ? 0 : (uint64_t)rand_r(&seed) % (max + 1);
                                g[k].shares = (uint32_t)(rand_r(&seed) % 3000);
                                g[k].stats.total_bytes = g[k].actual_bytes;
                                g[k].stats.free_bytes = (uint64_t)rand_r(&seed) % (max + 1);
                                g[k].stats.available_bytes =
                                        rand_r(&seed) % 8 ? (uint64_t)rand_r(&seed) % (max + 1)
                                                          : STAT_UNKNOWN;
                                g[k].stats_fresh = rand_r(&seed) % 3 != 0;
                                g[k].command_pending = rand_r(&seed) % 4 == 0;
                                g[k].pending_target_bytes = (uint64_t)rand_r(&seed) % (max + 1);
                                random_maximum(&seed, &g[k], max);
                        }
                        for (uint64_t t = 0; t < 3; t++) {
                                snap.now_usec = t * 5 * USEC_PER_SEC;
                                for (size_t k = 0; k < n; k++)
                                        g[k].stats.last_update_sec = 100 + t;
                                policy_decide(&c, &snap, &ps, st, d);
                                for (size_t k = 0; k < n; k++) {
                                        uint64_t max = g[k].max_bytes, actual = g[k].actual_bytes;
                                        if (!d[k].change)
                                                continue;
                                        check_ceiling(&g[k], &d[k]);
                                        check(d[k].target_bytes >= d[k].floor_bytes);
                                        /* whatever the host's pressure: use + HeadroomMin= */
                                        check(d[k].target_bytes >= absolute_floor(&c, &g[k]));
                                        if (!guest_stats_usable(&g[k]))
                                                check(d[k].target_bytes >= actual);
                                        if (d[k].target_bytes < actual)
                                                check(actual - d[k].target_bytes <=
                                                      inflate_step_of(&c, &g[k]));
                                        if (g[k].command_pending)
                                                check(d[k].target_bytes >=
                                                              g[k].pending_target_bytes ||
                                                      d[k].target_bytes >= actual);
                                        if (d[k].target_bytes > actual && !d[k].distress &&
                                            d[k].target_bytes > d[k].floor_bytes)
                                                check(d[k].target_bytes - actual <=
                                                      size_or_share_bytes(&c.deflate_step, max));
                                }
                        }
                }
        }
}

int main(void)
{
        RUN(test_idle_guest_is_inflated_by_capped_steps);
        RUN(test_idle_guest_settles_near_its_floor);
        RUN(test_wobbling_idle_guest_still_settles_near_its_floor);
        RUN(test_no_inflation_on_stale_stats);
        RUN(test_no_stats_yet_holds);
        RUN(test_floor_respects_min_memory);
        RUN(test_distress_deflates_past_the_step_cap);
        RUN(test_other_controller_holds_except_distress);
        RUN(test_oom_kill_is_distress);
        RUN(test_band_hysteresis_holds);
        RUN(test_pending_inflation_blocks_more_inflation);
        RUN(test_pending_does_not_block_deflation);
        RUN(test_never_above_maximum);
        RUN(test_low_maximum_approached_by_steps_down_to_the_floor);
        RUN(test_max_memory_below_floor_is_forced_by_steps);
        RUN(test_floor_above_a_lowered_maximum_stops_at_boot_memory);
        RUN(test_unmanaged_guest_is_left_alone);
        RUN(test_deflate_on_oom_total_counts_balloon_as_unused);
        RUN(test_early_cycle_when_memory_runs_short);
        RUN(test_no_early_cycle_with_nothing_more_to_give);
        RUN(test_page_reporting_changes_what_is_reclaimed);
        RUN(test_host_pressure_stops_inflation_not_distress_deflation);
        RUN(test_headroom_narrows_with_host_pressure);
        RUN(test_budget_pressure_and_available);
        RUN(test_floor_narrowing_applies_to_every_strategy_and_can_be_off);
        RUN(test_random_snapshots_respect_guard_rails);
        RUN(test_random_snapshots_respect_guard_rails_every_strategy);
        return 0;
}
