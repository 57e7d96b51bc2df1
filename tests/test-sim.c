/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The simulator on a tiny fixture trace with hand-computed scores, and its scenarios. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cleanup.h"
#include "config.h"
#include "guest-model.h"
#include "sim.h"
#include "test-util.h"

#define TINY FIXTURE_DIR "/sim/tiny.csv"

#define check_close(actual, expected)                                                              \
        do {                                                                                       \
                double _a = (actual), _e = (expected);                                             \
                if (fabs(_a - _e) > 1e-6 * fmax(1, fabs(_e))) {                                    \
                        fprintf(stderr, "%s:%d: %s is %.9f, expected %.9f\n", __FILE__, __LINE__,  \
                                #actual, _a, _e);                                                  \
                        abort();                                                                   \
                }                                                                                  \
        } while (0)

static MemtideConfig *config(void)
{
        MemtideConfig *c;
        check(config_new(&c) == 0);
        return c;
}

static Trace *tiny(void)
{
        Trace *t;
        unsigned line;
        check(trace_load(TINY, &t, &line) == 0);
        return t;
}

static void test_trace_drops_no_data_rows_and_single_samples(void)
{
        Trace *t = tiny();

        check_u64_eq(t->n_vms, 2); /* c has one sample: no time spanned */
        check_u64_eq(t->vms[0].n, 3);
        check_u64_eq(t->vms[1].n, 2); /* b's row at 900 s has no data */
        check_u64_eq(t->total_max_bytes, 2 * GIB);
        check(t->start_sec == 0 && t->end_sec == 3600);
        trace_free(t);
}

static void test_trace_reads_gzip_and_reports_bad_lines(void)
{
        char gz[] = "/tmp/test-sim-XXXXXX", cmd[256];
        Trace *t;
        unsigned line;
        int fd = mkstemp(gz);

        check(fd >= 0);
        close(fd);
        snprintf(cmd, sizeof(cmd), "gzip -c %s > %s", TINY, gz);
        if (system(cmd) == 0) {
                check(trace_load(gz, &t, &line) == 0);
                check_u64_eq(t->n_vms, 2);
                trace_free(t);
        }
        FILE *f = fopen(gz, "we");
        check(f);
        fputs("vm,timestamp_s,mem_provisioned_kb,mem_used_kb\na,0,1024,1\na,x,1,1\n", f);
        fclose(f);
        check(trace_load(gz, &t, &line) == -EINVAL);
        check_u64_eq(line, 3);
        unlink(gz);
}

/* Demand: a 0.25 GiB flat, b 0 -> 0.5 GiB over the hour; 360 steps of 10 s. */
static double demand_gib_hours(void)
{
        double sum = 0;
        for (int k = 0; k < 360; k++)
                sum += (0.25 + 0.5 * k / 360.0) * 10 / 3600.0;
        return sum;
}

static void test_oracle_overruns_only_above_demand(void)
{
        _cleanup_(config_freep) MemtideConfig *c = config();
        Trace *t = tiny();
        SimParams p;
        SimScores s;
        double over = 0;

        sim_params_init(&p, c);
        p.host_bytes = GIB / 2;
        check(sim_run(t, c, &p, SIM_ORACLE, &s) == 0);
        for (int k = 181; k < 360; k++)
                over += (0.25 + 0.5 * k / 360.0 - 0.5) * 10 / 3600.0;
        check_close(s.demand_gib_hours, demand_gib_hours());
        check_close(s.overrun_gib_hours, over);
        check_close(s.shortfall_gib_hours, 0);
        /* from 1 GiB each to demand at once, then b's growth */
        check_close(s.churn_gib, 0.75 + 1.0 + 0.5 * 359 / 360.0);
        trace_free(t);
}

static void test_static_keeps_only_touched_memory_resident(void)
{
        _cleanup_(config_freep) MemtideConfig *c = config();
        Trace *t = tiny();
        SimParams p;
        SimScores s;

        sim_params_init(&p, c);
        p.host_bytes = 2 * GIB;
        p.cache_bytes_per_sec = 0;
        check(sim_run(t, c, &p, SIM_STATIC, &s) == 0);
        check_close(s.overrun_gib_hours, 0);
        check_close(s.shortfall_gib_hours, 0);
        check_close(s.churn_gib, 0);
        check_close(s.returned_gib_hours, 2.0 - demand_gib_hours());
        check_u64_eq(s.oom_events, 0);
        trace_free(t);
}

static void test_sweep_finds_the_oracle_host_near_peak_demand(void)
{
        _cleanup_(config_freep) MemtideConfig *c = config();
        Trace *t = tiny();
        SimParams p;
        SimScores s;
        double f;

        sim_params_init(&p, c);
        /* peak demand 0.7486 GiB of 2 GiB; the 0.1 % budget allows ~16 steps above */
        check(sim_sweep(t, c, &p, SIM_ORACLE, 0.001, 1.0, &f, &s) == 0);
        check(f > 0.355 && f < 0.37);
        check(sim_scores_acceptable(&s));
        trace_free(t);
}

/* Less than a page missing is float residue, not a shortfall: no swap-in,
 * no OOM even without a swap allowance; a MiB missing is an OOM. */
static void test_sub_page_residue_is_not_an_oom(void)
{
        TraceVm vm = {.max_bytes = GIB};
        SimParams p;
        SimGuest g;
        _cleanup_(config_freep) MemtideConfig *c = config();

        sim_params_init(&p, c);
        p.swap_share = 0;
        sim_guest_boot(&g, &vm, &p, 512.0 * MIB);
        sim_guest_set_target(&g, &p, 512.0 * MIB);
        g.actual = 512.0 * MIB;
        g.demand = 512.0 * MIB + 0.001;
        check_u64_eq(sim_guest_step(&g, &vm, &p, 0, 10), 0);
        check_u64_eq(g.swap_in_bytes, 0);
        g.demand = 513.0 * MIB;
        check_u64_eq(sim_guest_step(&g, &vm, &p, 10, 10), 1);
        check(g.swap_in_bytes >= MIB);
}

/* A 16 GiB guest using 1 GiB: 4 GiB boot memory, a 12 GiB device of 2 MiB
 * blocks (6144), no page cache so that only the devices move memory. */
static void vmem_guest(SimParams *p, SimVmemMode mode, SimGuest *g, TraceVm *vm)
{
        _cleanup_(config_freep) MemtideConfig *c = config();

        sim_params_init(p, c);
        p->cache_bytes_per_sec = 0;
        p->vmem_mode = mode;
        *vm = (TraceVm){ .max_bytes = 16 * GIB };
        sim_guest_boot(g, vm, p, 1.0 * GIB);
}

static void test_vmem_boots_plugged_above_boot_memory(void)
{
        SimParams p;
        SimGuest g;
        TraceVm vm;

        vmem_guest(&p, SIM_VMEM_BOTH, &g, &vm);
        check_close(g.boot, 4.0 * GIB);
        check_close(g.vmem_max, 12.0 * GIB);
        check_close(g.plugged, 12.0 * GIB);
        check_close(g.actual, 16.0 * GIB);
        check(g.balloon);
        /* A share that does not leave whole blocks: boot memory takes the rest. */
        p.vmem_boot_share = 0.3; /* 0.7 x 16 GiB = 11468.8 MiB: 5734 blocks */
        sim_guest_boot(&g, &vm, &p, 0);
        check_close(g.vmem_max, 5734 * 2.0 * MIB);
        check_close(g.boot + g.vmem_max, 16.0 * GIB);
        vmem_guest(&p, SIM_VMEM_ONLY, &g, &vm);
        check(!g.balloon);
}

/* Unplug at 500 MiB/s in whole 2 MiB blocks, the remainder carried over:
 * a quarter second is 125 MiB, 62 blocks and 1 MiB carried, so the next
 * quarter moves 63 blocks. 12 GiB takes 12288 / 500 = 24.6 s. */
static void test_vmem_unplugs_whole_blocks_at_its_rate(void)
{
        SimParams p;
        SimGuest g;
        TraceVm vm;

        vmem_guest(&p, SIM_VMEM_BOTH, &g, &vm);
        sim_guest_set_target(&g, &p, 4.0 * GIB);
        check_close(g.requested, 0);
        check_close(g.balloon_target, 4.0 * GIB);
        sim_guest_step(&g, &vm, &p, 0, 0.25);
        check_close(g.plugged, 12288.0 * MIB - 124.0 * MIB);
        sim_guest_step(&g, &vm, &p, 0.25, 0.25);
        check_close(g.plugged, 12288.0 * MIB - 250.0 * MIB);
        check_close(g.actual, 16384.0 * MIB - 250.0 * MIB);
        for (int k = 2; k < 4; k++)
                sim_guest_step(&g, &vm, &p, k * 0.25, 0.25);
        check_close(g.plugged, 12288.0 * MIB - 500.0 * MIB);
        for (int k = 1; k < 24; k++)
                sim_guest_step(&g, &vm, &p, k, 1);
        check_close(g.plugged, 288.0 * MIB); /* 24 s: 12000 MiB gone */
        check(!g.vmem_stalled);
        sim_guest_step(&g, &vm, &p, 24, 1);
        check_close(g.plugged, 0);
        check_close(g.actual, 4.0 * GIB);
        check_close(sim_guest_resident(&g), 1.0 * GIB); /* only use was ever touched */
}

/* Plug at 2 GiB/s: 0 -> 12 GiB in 6 s; new memory is not resident until touched. */
static void test_vmem_plugs_at_its_rate_untouched(void)
{
        SimParams p;
        SimGuest g;
        TraceVm vm;

        vmem_guest(&p, SIM_VMEM_BOTH, &g, &vm);
        g.plugged = g.requested = 0;
        g.actual = 4.0 * GIB;
        sim_guest_set_target(&g, &p, 16.0 * GIB);
        check_close(g.requested, 12.0 * GIB);
        for (int k = 0; k < 5; k++)
                sim_guest_step(&g, &vm, &p, k, 1);
        check_close(g.plugged, 10.0 * GIB);
        sim_guest_step(&g, &vm, &p, 5, 1);
        check_close(g.plugged, 12.0 * GIB);
        check_close(g.actual, 16.0 * GIB);
        check_close(sim_guest_resident(&g), 1.0 * GIB);
        check_close(g.step_vmem_moved, 2.0 * GIB);
}

/* A tenth of the blocks unmovable: floor(6144 x 0.1) = 614 blocks, 1228 MiB,
 * stay plugged; the balloon takes the rest of the way to 4 GiB
 * (4096 - 1228 = 2868 MiB in the boot range). */
static void test_vmem_unplug_stalls_at_unmovable_blocks(void)
{
        SimParams p;
        SimGuest g;
        TraceVm vm;

        vmem_guest(&p, SIM_VMEM_BOTH, &g, &vm);
        p.vmem_unmovable_share = 0.1;
        check_close(sim_guest_unmovable_bytes(&g, &p), 1228.0 * MIB);
        sim_guest_set_target(&g, &p, 4.0 * GIB);
        for (int k = 0; k < 22; k++)
                sim_guest_step(&g, &vm, &p, k, 1);
        check(!g.vmem_stalled); /* 22 s: 11000 MiB unplugged, 1288 MiB plugged */
        check_close(g.plugged, 1288.0 * MIB);
        check_close(g.balloon_target, 4.0 * GIB);
        sim_guest_step(&g, &vm, &p, 22, 1);
        check(g.vmem_stalled); /* stopped 60 MiB further, short of its 500 MiB */
        check_close(g.plugged, 1228.0 * MIB);
        check_close(g.requested, 0);
        check_close(g.balloon_target, 2868.0 * MIB);
        /* inflating 1228 MiB at 256 MiB/s: 4.8 s, begun in the stalling step */
        for (int k = 23; k < 28; k++)
                sim_guest_step(&g, &vm, &p, k, 1);
        check_close(g.actual, 4.0 * GIB);
        check_close(g.plugged, 1228.0 * MIB);
        /* Growth plugs again and the stall is over: the balloon goes back to boot size. */
        sim_guest_set_target(&g, &p, 8.0 * GIB);
        for (int k = 28; k < 40; k++)
                sim_guest_step(&g, &vm, &p, k, 1);
        check(!g.vmem_stalled);
        check_close(g.plugged, 4.0 * GIB);
        check_close(g.actual, 8.0 * GIB);
}

/* Without a balloon the guest keeps its boot memory however low the target. */
static void test_vmem_only_keeps_boot_memory(void)
{
        SimParams p;
        SimGuest g;
        TraceVm vm;

        vmem_guest(&p, SIM_VMEM_ONLY, &g, &vm);
        sim_guest_set_target(&g, &p, 1.0 * GIB);
        for (int k = 0; k < 30; k++)
                sim_guest_step(&g, &vm, &p, k, 1);
        check_close(g.plugged, 0);
        check_close(g.actual, 4.0 * GIB);
}

/* Steps of 1 s until the guest's memory is within a MiB of target. */
static int seconds_to(SimGuest *g, const TraceVm *vm, const SimParams *p, double target)
{
        sim_guest_set_target(g, p, target);
        for (int k = 0; k < 1000; k++) {
                if (fabs(g->actual - target) < MIB)
                        return k;
                sim_guest_step(g, vm, p, k, 1);
        }
        return -1;
}

/* 16 GiB -> 4 GiB -> 16 GiB: the balloon inflates 12 GiB at 256 MiB/s (48 s)
 * and deflates it at 1 GiB/s (12 s); virtio-mem unplugs it at 500 MiB/s
 * (24.6 s, so 25 steps) and plugs it at 2 GiB/s (6 s). */
static void test_vmem_moves_a_large_target_faster_than_the_balloon(void)
{
        SimParams p;
        SimGuest g;
        TraceVm vm;

        vmem_guest(&p, SIM_VMEM_NONE, &g, &vm);
        check_int(seconds_to(&g, &vm, &p, 4.0 * GIB), 48);
        check_int(seconds_to(&g, &vm, &p, 16.0 * GIB), 12);
        vmem_guest(&p, SIM_VMEM_BOTH, &g, &vm);
        check_int(seconds_to(&g, &vm, &p, 4.0 * GIB), 25);
        check_int(seconds_to(&g, &vm, &p, 16.0 * GIB), 6);
}

/* The same move driven by the policy on a trace: a guest of 16 GiB drops
 * from 12 GiB of use to 1 GiB, then grows back at 1.5 GiB/s (faster than
 * the balloon deflates). The policy keeps the guest at 4 GiB or more, so
 * virtio-mem carries nearly all of the move; every layout keeps the guest
 * whole, and virtio-mem returns memory to the host no later. */
static void test_vmem_policy_run_carries_the_move_above_boot(void)
{
        _cleanup_(config_freep) MemtideConfig *c = config();
        SimScores s[_SIM_VMEM_MODE_MAX];

        for (int m = 0; m < _SIM_VMEM_MODE_MAX; m++) {
                Trace *t = trace_new();
                SimParams p;
                check(t);
                for (int64_t sec = 0; sec <= 600; sec++) {
                        double gib = sec < 60    ? 12
                                     : sec < 300 ? 1
                                                 : fmin(1 + (sec - 300) * 1.5, 12);
                        check(trace_add(t, "big", sec, 16 * GIB, (uint64_t)(gib * GIB)) == 0);
                }
                check(trace_finish(t) == 0);
                sim_params_init(&p, c);
                p.step_usec = USEC_PER_SEC;
                p.host_bytes = 64 * GIB;
                p.vmem_mode = m;
                check(sim_run(t, c, &p, SIM_POLICY, &s[m]) == 0);
                trace_free(t);
        }
        check(s[SIM_VMEM_NONE].vmem_churn_gib == 0);
        check_close(s[SIM_VMEM_ONLY].vmem_churn_gib, s[SIM_VMEM_ONLY].churn_gib);
        /* 12 GiB unplugged (16 -> 4) at the least, and some of it plugged back */
        check(s[SIM_VMEM_BOTH].vmem_churn_gib > 12);
        check(s[SIM_VMEM_BOTH].vmem_churn_gib > 0.95 * s[SIM_VMEM_BOTH].churn_gib);
        check(s[SIM_VMEM_BOTH].returned_gib_hours >= s[SIM_VMEM_NONE].returned_gib_hours);
        for (int m = 0; m < _SIM_VMEM_MODE_MAX; m++) {
                check_close(s[m].shortfall_gib_hours, 0);
                check_u64(s[m].oom_events, 0);
        }
}

static void test_policies_keep_a_calm_trace_whole(void)
{
        _cleanup_(config_freep) MemtideConfig *c = config();
        Trace *t = tiny();
        SimParams p;
        SimScores s;

        sim_params_init(&p, c);
        p.host_bytes = 2 * GIB;
        for (int k = 0; k < _POLICY_STRATEGY_MAX; k++) {
                c->policy.strategy = k;
                check(sim_run(t, c, &p, SIM_POLICY, &s) == 0);
                check_close(s.shortfall_gib_hours, 0);
                check_close(s.overrun_gib_hours, 0);
                check_u64_eq(s.oom_events, 0);
                check(s.decisions > 0);
        }
        trace_free(t);
}

/* GuestMemoryBudget=SIZE: the guests squeezed under it as under a smaller
 * host; a budget above the host changes nothing. */
static void test_budget_squeezes_like_a_smaller_host(void)
{
        _cleanup_(config_freep) MemtideConfig *c = config();
        Trace *t = tiny();
        SimParams p;
        SimScores free_run, roomy, tight;

        sim_params_init(&p, c);
        p.host_bytes = 2 * GIB;
        check(sim_run(t, c, &p, SIM_POLICY, &free_run) == 0);
        c->guest_budget = (GuestBudgetConfig){ GUEST_BUDGET_SIZE, 4 * GIB };
        check(sim_run(t, c, &p, SIM_POLICY, &roomy) == 0);
        check_close(roomy.returned_gib_hours, free_run.returned_gib_hours);
        check_close(roomy.peak_resident_gib, free_run.peak_resident_gib);
        c->guest_budget.bytes = (uint64_t)(free_run.peak_resident_gib * 1.05 * GIB);
        check(sim_run(t, c, &p, SIM_POLICY, &tight) == 0);
        printf("  returned %.4f GiB h without a budget, %.4f under %.2f GiB; peak resident %.3f, "
               "%.3f GiB\n",
               free_run.returned_gib_hours, tight.returned_gib_hours,
               (double)c->guest_budget.bytes / GIB, free_run.peak_resident_gib,
               tight.peak_resident_gib);
        check(tight.returned_gib_hours > free_run.returned_gib_hours);
        check_close(tight.shortfall_gib_hours, 0);
        trace_free(t);
}

static void run_scenario_all_strategies(const char *name, SimScores *ret)
{
        _cleanup_(config_freep) MemtideConfig *c = config();

        for (int k = 0; k < _POLICY_STRATEGY_MAX; k++) {
                Trace *t;
                SimParams p;
                sim_params_init(&p, c);
                check(sim_scenario_build(name, &t, &p) == 0);
                c->policy.strategy = k;
                check(sim_run(t, c, &p, SIM_POLICY, &ret[k]) == 0);
                trace_free(t);
        }
}

/* Reaction: adaptive is short for seconds where MOM and Proxmox take minutes. */
static void test_adaptive_reacts_faster_to_a_spike(void)
{
        SimScores s[_POLICY_STRATEGY_MAX];

        run_scenario_all_strategies("spike", s);
        check(s[POLICY_STRATEGY_ADAPTIVE].trouble_seconds < 10);
        check(s[POLICY_STRATEGY_ADAPTIVE].trouble_seconds < s[POLICY_STRATEGY_MOM].trouble_seconds);
        check(s[POLICY_STRATEGY_ADAPTIVE].trouble_seconds <
              s[POLICY_STRATEGY_PROXMOX].trouble_seconds);
}

/* A slow leak: nobody runs short (the guard rails' floor follows use), but
 * MOM and Proxmox leave the leaking guest under its floor headroom between
 * their 10 s runs for minutes; adaptive keeps it above. */
static void test_adaptive_keeps_up_with_a_slow_leak(void)
{
        SimScores s[_POLICY_STRATEGY_MAX];

        run_scenario_all_strategies("slow-leak", s);
        check(s[POLICY_STRATEGY_ADAPTIVE].trouble_seconds == 0);
        check(s[POLICY_STRATEGY_ADAPTIVE].lag_seconds < 10);
        check(s[POLICY_STRATEGY_MOM].lag_seconds > 60);
        check(s[POLICY_STRATEGY_PROXMOX].lag_seconds > 60);
}

int main(void)
{
        RUN(test_trace_drops_no_data_rows_and_single_samples);
        RUN(test_trace_reads_gzip_and_reports_bad_lines);
        RUN(test_oracle_overruns_only_above_demand);
        RUN(test_static_keeps_only_touched_memory_resident);
        RUN(test_sweep_finds_the_oracle_host_near_peak_demand);
        RUN(test_sub_page_residue_is_not_an_oom);
        RUN(test_vmem_boots_plugged_above_boot_memory);
        RUN(test_vmem_unplugs_whole_blocks_at_its_rate);
        RUN(test_vmem_plugs_at_its_rate_untouched);
        RUN(test_vmem_unplug_stalls_at_unmovable_blocks);
        RUN(test_vmem_only_keeps_boot_memory);
        RUN(test_vmem_moves_a_large_target_faster_than_the_balloon);
        RUN(test_vmem_policy_run_carries_the_move_above_boot);
        RUN(test_policies_keep_a_calm_trace_whole);
        RUN(test_budget_squeezes_like_a_smaller_host);
        RUN(test_adaptive_reacts_faster_to_a_spike);
        RUN(test_adaptive_keeps_up_with_a_slow_leak);
        return 0;
}
