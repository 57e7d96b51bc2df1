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
        g.actual = g.target = 512.0 * MIB;
        g.demand = 512.0 * MIB + 0.001;
        check_u64_eq(sim_guest_step(&g, &vm, &p, 0, 10), 0);
        check_u64_eq(g.swap_in_bytes, 0);
        g.demand = 513.0 * MIB;
        check_u64_eq(sim_guest_step(&g, &vm, &p, 10, 10), 1);
        check(g.swap_in_bytes >= MIB);
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
        RUN(test_policies_keep_a_calm_trace_whole);
        RUN(test_adaptive_reacts_faster_to_a_spike);
        RUN(test_adaptive_keeps_up_with_a_slow_leak);
        return 0;
}
