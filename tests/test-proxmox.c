/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The `proxmox` strategy pinned to hand-computed cases of PVE's auto-ballooning. */
#include "proxmox.h"
#include "test-util.h"

static PolicyConfig config(void)
{
        PolicyConfig c;
        policy_config_init(&c);
        c.strategy = POLICY_STRATEGY_PROXMOX;
        return c;
}

/* A 10000 MiB host using `used` MiB: the 80 % goal is 8000 - used. */
static HostSample host(uint64_t used_mib)
{
        return (HostSample){
                .mem_total_bytes = 10000 * MIB,
                .mem_available_bytes = (10000 - used_mib) * MIB,
                .mem_free_bytes = (10000 - used_mib) * MIB,
        };
}

/* min 1000 MiB, max 4000 MiB, shares 1000. */
static GuestSample guest(uint64_t actual_mib, uint64_t free_mib)
{
        GuestSample g = {
                .name = "g",
                .actual_bytes = actual_mib * MIB,
                .max_bytes = 4000 * MIB,
                .min_bytes = 1000 * MIB,
                .stats_fresh = true,
                .manage = true,
                .shares = 1000,
        };
        balloon_stats_init(&g.stats);
        g.stats.total_bytes = actual_mib * MIB;
        g.stats.free_bytes = free_mib * MIB;
        g.stats.available_bytes = free_mib * MIB;
        g.stats.last_update_sec = 100;
        return g;
}

static void propose(const PolicyConfig *c, HostSample h, GuestSample *g, size_t n, Decision *d)
{
        Snapshot snap = {.host = h, .n_guests = n, .guests = g};
        for (size_t i = 0; i < n; i++)
                d[i] = (Decision){.target_bytes = g[i].actual_bytes};
        proxmox_propose(c, &snap, d);
}

static void test_dead_band_of_10_mib(void)
{
        PolicyConfig c = config();
        GuestSample g[] = {guest(2000, 100)};
        Decision d[1];

        propose(&c, host(7990), g, 1, d); /* goal +10 MiB: nothing */
        check_u64_eq(d[0].target_bytes, 2000 * MIB);
        propose(&c, host(8010), g, 1, d); /* goal -10 MiB: nothing */
        check_u64_eq(d[0].target_bytes, 2000 * MIB);
        propose(&c, host(7989), g, 1, d); /* goal +11 MiB: the guest grows by it */
        check_u64_eq(d[0].target_bytes, 2011 * MIB);
}

static void test_growth_goes_to_guests_under_pressure_first(void)
{
        PolicyConfig c = config();
        /* A: MemFree 100 <= 250 (pressure); B: MemFree 1000 (enough free) */
        GuestSample g[] = {guest(2000, 100), guest(2000, 1000)};
        Decision d[2];

        /* goal +1000: alloc = 1000 + 1000, A desired 3000, step-capped at 2100 */
        propose(&c, host(7000), g, 2, d);
        check_u64_eq(d[0].target_bytes, 2100 * MIB);
        check_u64_eq(d[1].target_bytes, 2000 * MIB);
}

static void test_growth_goes_to_all_when_none_under_pressure(void)
{
        PolicyConfig c = config();
        GuestSample g[] = {guest(2000, 1000), guest(2000, 1000)};
        Decision d[2];

        /* first pass over nobody makes no progress; second: desired 2500, capped 2100 */
        propose(&c, host(7000), g, 2, d);
        check_u64_eq(d[0].target_bytes, 2100 * MIB);
        check_u64_eq(d[1].target_bytes, 2100 * MIB);
}

static void test_shrink_takes_from_enough_free_first(void)
{
        PolicyConfig c = config();
        GuestSample g[] = {guest(2000, 500), guest(2000, 100)};
        Decision d[2];

        /* goal -1000: A alone, desired = its minimum, step-capped at 1900; rest -900
         * is progress, so B is not touched */
        propose(&c, host(9000), g, 2, d);
        check_u64_eq(d[0].target_bytes, 1900 * MIB);
        check_u64_eq(d[1].target_bytes, 2000 * MIB);
}

static void test_shrink_takes_from_all_when_none_has_enough_free(void)
{
        PolicyConfig c = config();
        GuestSample g[] = {guest(2000, 100), guest(2000, 100)};
        Decision d[2];

        /* alloc = 2000 - 1000 = 1000: desired 1500 each, step-capped at 1900 */
        propose(&c, host(9000), g, 2, d);
        check_u64_eq(d[0].target_bytes, 1900 * MIB);
        check_u64_eq(d[1].target_bytes, 1900 * MIB);
}

static void test_under_minimum_is_under_pressure(void)
{
        PolicyConfig c = config();
        /* MemFree 500 > 250 but actual 900 < min 1000: pressure, so it grows first */
        GuestSample g[] = {guest(900, 500), guest(2000, 1000)};
        Decision d[2];

        propose(&c, host(7800), g, 2, d); /* goal +200: alloc = -100 + 200, desired 1100 */
        check_u64_eq(d[0].target_bytes, 1000 * MIB);
        check_u64_eq(d[1].target_bytes, 2000 * MIB);
}

static void test_shares_and_step_from_actual_across_passes(void)
{
        PolicyConfig c = config();
        GuestSample g[] = {guest(2000, 100), guest(2000, 100)};
        Decision d[2];

        g[0].shares = 3000;
        /* goal +400: alloc 2400, A desired 1000 + 1800, B desired 1000 + 600. A grows to
         * 2100 and B shrinks to 1900 (the rest stays 400: no progress), the second
         * distribute over all cannot go past actual +- 100 MiB either. */
        propose(&c, host(7600), g, 2, d);
        check_u64_eq(d[0].target_bytes, 2100 * MIB);
        check_u64_eq(d[1].target_bytes, 1900 * MIB);
}

static void test_distribute_iterates_with_the_rest(void)
{
        PolicyConfig c = config();
        GuestSample g[] = {guest(2000, 100), guest(3950, 100)};
        Snapshot snap = {.host = host(0), .n_guests = 2, .guests = g};
        size_t ids[] = {0, 1};
        uint64_t targets[] = {2000 * MIB, 3950 * MIB};

        c.proxmox.max_change_bytes = 10000 * MIB; /* no step cap: see the passes */
        /* pass 1: alloc = 1000 + 2950 + 1000 = 4950, desired 3475 each: A 3475, B shrinks
         * to 3475 (rest = 1000 - 1475 + 475 = 0): done in one pass */
        int64_t rest = proxmox_distribute(&c, &snap, ids, 2, 1000 * (int64_t)MIB, targets);
        check(rest == 0);
        check_u64_eq(targets[0], 3475 * MIB);
        check_u64_eq(targets[1], 3475 * MIB);

        /* B at its maximum: pass 1 gives A 2000 + alloc share, B clamped (done);
         * pass 2 hands A the rest. */
        GuestSample h[] = {guest(2000, 100), guest(4000, 100)};
        Snapshot snap2 = {.host = host(0), .n_guests = 2, .guests = h};
        uint64_t t2[] = {2000 * MIB, 4000 * MIB};
        /* alloc = 1000 + 3000 + 1000 = 5000: desired 3500 each; B 4000 -> 3500 shrinks,
         * A -> 3500: rest = 1000 - 1500 + 500 = 0 */
        rest = proxmox_distribute(&c, &snap2, ids, 2, 1000 * (int64_t)MIB, t2);
        check(rest == 0);
        check_u64_eq(t2[0], 3500 * MIB);
        check_u64_eq(t2[1], 3500 * MIB);

        /* Clamping at the maximum leaves a rest for the next pass: A max 2500. */
        GuestSample k[] = {guest(2000, 100), guest(2000, 100)};
        k[0].max_bytes = 2500 * MIB;
        Snapshot snap3 = {.host = host(0), .n_guests = 2, .guests = k};
        uint64_t t3[] = {2000 * MIB, 2000 * MIB};
        /* pass 1: alloc 3000, desired 2500 each (A clamped to its max): rest 0 */
        rest = proxmox_distribute(&c, &snap3, ids, 2, 1000 * (int64_t)MIB, t3);
        check(rest == 0);
        check_u64_eq(t3[0], 2500 * MIB);
        check_u64_eq(t3[1], 2500 * MIB);
        /* with 2000 to give: pass 1 alloc 4000, desired 3000: A 2500 (clamped), B 3000,
         * rest 500; pass 2 recomputes the same desired sizes, marks both done and moves
         * nothing, so the loop ends with 500 left (the rules iterate only on change) */
        uint64_t t4[] = {2000 * MIB, 2000 * MIB};
        rest = proxmox_distribute(&c, &snap3, ids, 2, 2000 * (int64_t)MIB, t4);
        check(rest == 500 * (int64_t)MIB);
        check_u64_eq(t4[0], 2500 * MIB);
        check_u64_eq(t4[1], 3000 * MIB);
}

static void test_ineligible_guests_are_left_alone(void)
{
        PolicyConfig c = config();
        GuestSample g[] = {guest(2000, 100), guest(2000, 100), guest(2000, 100)};
        Decision d[3];

        g[0].min_bytes = 0; /* no minimum */
        g[1].shares = 0;    /* Shares=0 */
        propose(&c, host(7000), g, 3, d);
        check_u64_eq(d[0].target_bytes, 2000 * MIB);
        check_str_contains(d[0].reason, "no MinMemory");
        check_u64_eq(d[1].target_bytes, 2000 * MIB);
        check_str_contains(d[1].reason, "Shares=0");
        check_u64_eq(d[2].target_bytes, 2100 * MIB);
}

int main(void)
{
        RUN(test_dead_band_of_10_mib);
        RUN(test_growth_goes_to_guests_under_pressure_first);
        RUN(test_growth_goes_to_all_when_none_under_pressure);
        RUN(test_shrink_takes_from_enough_free_first);
        RUN(test_shrink_takes_from_all_when_none_has_enough_free);
        RUN(test_under_minimum_is_under_pressure);
        RUN(test_shares_and_step_from_actual_across_passes);
        RUN(test_distribute_iterates_with_the_rest);
        RUN(test_ineligible_guests_are_left_alone);
        return 0;
}
