/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * memtidectl simulate: the trace-driven simulator (sim/) from the command
 * line. One strategy on a trace (at a host size, or the smallest acceptable
 * host with --sweep), every strategy side by side, scores on a grid of host
 * sizes (for plots), or the built-in scenarios; with --virtio-mem, the
 * guests' devices (balloon, virtio-mem or both), or every layout side by
 * side (compare). Needs no daemon.
 */
#include "ctl-simulate.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cleanup.h"
#include "config.h"
#include "ctl-timeline.h"
#include "json-util.h"
#include "model.h"
#include "sim.h"

#define SWEEP_PRECISION    0.0025
#define SWEEP_MAX_FRACTION 1.0
/* Fractions are found to SWEEP_PRECISION: four decimals say all there is. */
#define FRACTION_DECIMALS  4
#define MAX_GRID           64
/* A timeline's size: rows of text for a terminal, points of JSON for a plot. */
#define TIMELINE_ROWS   40
#define TIMELINE_POINTS 500

typedef struct StrategyName {
        const char *name;
        SimKind kind;
        PolicyStrategy strategy;
} StrategyName;

static const StrategyName strategies[] = {
        {"adaptive", SIM_POLICY, POLICY_STRATEGY_ADAPTIVE},
        {"mom", SIM_POLICY, POLICY_STRATEGY_MOM},
        {"proxmox", SIM_POLICY, POLICY_STRATEGY_PROXMOX},
        {"static", SIM_STATIC, POLICY_STRATEGY_ADAPTIVE},
        {"oracle", SIM_ORACLE, POLICY_STRATEGY_ADAPTIVE},
};

typedef struct SimArgs {
        const char *trace, *scenario, *config, *strategy;
        double host_fraction; /* < 0: not given */
        bool sweep, json, timeline;
        double grid[MAX_GRID];
        size_t n_grid;
        SimParams overrides; /* fields < 0 or 0: keep the default */
        double step_sec, cache_mib, swap_share, min_share;
        bool page_reporting;
        /* --virtio-mem: the layouts to run, each a row; compare runs all */
        SimVmemMode vmem_modes[_SIM_VMEM_MODE_MAX];
        size_t n_vmem_modes; /* 0: not given, balloon only as before */
        double vmem_boot_share, vmem_block_mib, vmem_unmovable;
} SimArgs;

DEFINE_POINTER_CLEANUP(Trace, trace_free);

void simulate_help(FILE *f)
{
        fprintf(f, "Usage: memtidectl simulate --trace FILE [--strategy NAME] [--host-fraction F | "
                   "--sweep | --grid F,F,...]\n"
                   "                           [--config FILE] [--json] [model options]\n"
                   "       memtidectl simulate --scenario NAME|all [--strategy NAME] [--json]\n"
                   "       memtidectl simulate --timeline --scenario NAME | --trace FILE\n"
                   "                           [--strategy NAME] [--host-fraction F] [--json]\n\n"
                   "--timeline: one run (--strategy, default adaptive) step by step: the host's\n"
                   "resident memory, the guests' demand and balloons against its RAM, as\n"
                   "columns with a bar chart (--json: points for a plot).\n"
                   "Strategies: adaptive, mom, proxmox (policy/), static, oracle (baselines).\n"
                   "Without --strategy every one runs side by side (with --sweep on a trace).\n"
                   "Trace: CSV vm,timestamp_s,mem_provisioned_kb,mem_used_kb, plain or gzip.\n\n"
                   "Model options:\n"
                   "  --step SEC            model step on traces (default 10)\n"
                   "  --cache-rate MIB      page cache growth per guest, MiB/s (default 1)\n"
                   "  --swap-share F        swap allowance, share of guest memory (default 0.05)\n"
                   "  --min-share F         MinMemory= of every guest, share of its memory\n"
                   "                        (default: none; proxmox runs get 0.0625)\n"
                   "  --page-reporting      guests report free pages to the host\n"
                   "  --virtio-mem MODE     the guests' devices: none (a balloon, the default),\n"
                   "                        only (virtio-mem above boot memory, no balloon),\n"
                   "                        both (balloon below boot memory, virtio-mem above),\n"
                   "                        compare (each of them, side by side)\n"
                   "  --vmem-boot-share F   boot memory, share of guest memory (default 0.25)\n"
                   "  --vmem-block MIB      virtio-mem block size, MiB (default 2)\n"
                   "  --vmem-unmovable F    share of blocks that cannot be unplugged (default 0)\n"
                   "virtio-mem plugs 2 GiB/s and unplugs 500 MiB/s (measured on QEMU 7.2).\n\n"
                   "Scenarios:\n");
        for (unsigned i = 0; i < sim_n_scenarios; i++)
                fprintf(f, "  %-14s %s\n", sim_scenarios[i].name, sim_scenarios[i].description);
        fprintf(f, "\nExit status: 0 success, 1 simulation failed, 2 usage error.\n");
}

static int parse_grid(const char *s, SimArgs *a)
{
        _cleanup_free_ char *copy = strdup(s);
        char *save = NULL;

        if (!copy)
                return -ENOMEM;
        for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
                if (a->n_grid >= MAX_GRID ||
                    ctl_parse_double(tok, 0.001, 4, &a->grid[a->n_grid]) < 0)
                        return -EINVAL;
                a->n_grid++;
        }
        return a->n_grid > 0 ? 0 : -EINVAL;
}

static int parse_vmem_modes(const char *s, SimArgs *a)
{
        if (strcmp(s, "compare") == 0) {
                for (int m = 0; m < _SIM_VMEM_MODE_MAX; m++)
                        a->vmem_modes[m] = m;
                a->n_vmem_modes = _SIM_VMEM_MODE_MAX;
                return 0;
        }
        int m = sim_vmem_mode_from_string(s);
        if (m < 0)
                return m;
        a->vmem_modes[0] = m;
        a->n_vmem_modes = 1;
        return 0;
}

static int parse_sim_args(int argc, char **argv, SimArgs *a)
{
        enum {
                ARG_TRACE = 0x100,
                ARG_SCENARIO,
                ARG_STRATEGY,
                ARG_HOST_FRACTION,
                ARG_SWEEP,
                ARG_GRID,
                ARG_CONFIG,
                ARG_STEP,
                ARG_CACHE,
                ARG_SWAP,
                ARG_MIN,
                ARG_FPR,
                ARG_TIMELINE,
                ARG_VMEM,
                ARG_VMEM_BOOT,
                ARG_VMEM_BLOCK,
                ARG_VMEM_UNMOVABLE,
        };
        static const struct option options[] = {
                { "trace", required_argument, NULL, ARG_TRACE },
                { "scenario", required_argument, NULL, ARG_SCENARIO },
                { "strategy", required_argument, NULL, ARG_STRATEGY },
                { "host-fraction", required_argument, NULL, ARG_HOST_FRACTION },
                { "sweep", no_argument, NULL, ARG_SWEEP },
                { "grid", required_argument, NULL, ARG_GRID },
                { "config", required_argument, NULL, ARG_CONFIG },
                { "step", required_argument, NULL, ARG_STEP },
                { "cache-rate", required_argument, NULL, ARG_CACHE },
                { "swap-share", required_argument, NULL, ARG_SWAP },
                { "min-share", required_argument, NULL, ARG_MIN },
                { "page-reporting", no_argument, NULL, ARG_FPR },
                { "timeline", no_argument, NULL, ARG_TIMELINE },
                { "virtio-mem", required_argument, NULL, ARG_VMEM },
                { "vmem-boot-share", required_argument, NULL, ARG_VMEM_BOOT },
                { "vmem-block", required_argument, NULL, ARG_VMEM_BLOCK },
                { "vmem-unmovable", required_argument, NULL, ARG_VMEM_UNMOVABLE },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        int c, r = 0;

        a->host_fraction = a->step_sec = a->cache_mib = a->swap_share = a->min_share = -1;
        a->vmem_boot_share = a->vmem_block_mib = a->vmem_unmovable = -1;
        optind = 1;
        while (r == 0 && (c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case ARG_TRACE:
                        a->trace = optarg;
                        break;
                case ARG_SCENARIO:
                        a->scenario = optarg;
                        break;
                case ARG_STRATEGY:
                        a->strategy = optarg;
                        break;
                case ARG_HOST_FRACTION:
                        r = ctl_parse_double(optarg, 0.001, 4, &a->host_fraction);
                        break;
                case ARG_SWEEP:
                        a->sweep = true;
                        break;
                case ARG_GRID:
                        r = parse_grid(optarg, a);
                        break;
                case ARG_CONFIG:
                        a->config = optarg;
                        break;
                case ARG_STEP:
                        r = ctl_parse_double(optarg, 1, 300, &a->step_sec);
                        break;
                case ARG_CACHE:
                        r = ctl_parse_double(optarg, 0, 10000, &a->cache_mib);
                        break;
                case ARG_SWAP:
                        r = ctl_parse_double(optarg, 0, 4, &a->swap_share);
                        break;
                case ARG_MIN:
                        r = ctl_parse_double(optarg, 0, 1, &a->min_share);
                        break;
                case ARG_FPR:
                        a->page_reporting = true;
                        break;
                case ARG_TIMELINE:
                        a->timeline = true;
                        break;
                case ARG_VMEM:
                        r = parse_vmem_modes(optarg, a);
                        break;
                case ARG_VMEM_BOOT:
                        r = ctl_parse_double(optarg, 0.01, 1, &a->vmem_boot_share);
                        break;
                case ARG_VMEM_BLOCK:
                        /* virtio-mem blocks are powers of two from 1 MiB (x86: 2 MiB) */
                        r = ctl_parse_double(optarg, 1, 1024, &a->vmem_block_mib);
                        if (r == 0 && (a->vmem_block_mib != floor(a->vmem_block_mib) ||
                                       ((uint64_t)a->vmem_block_mib &
                                        ((uint64_t)a->vmem_block_mib - 1)) != 0))
                                r = -EINVAL;
                        break;
                case ARG_VMEM_UNMOVABLE:
                        r = ctl_parse_double(optarg, 0, 1, &a->vmem_unmovable);
                        break;
                case 'h':
                        simulate_help(stdout);
                        return 0;
                default:
                        return -EINVAL;
                }
        if (r < 0 || optind < argc || (!a->trace == !a->scenario) ||
            (a->sweep && (a->host_fraction >= 0 || a->n_grid > 0)))
                return -EINVAL;
        return 1;
}

static const StrategyName *find_strategy(const char *name)
{
        for (size_t i = 0; i < ELEMENTSOF(strategies); i++)
                if (strcmp(strategies[i].name, name) == 0)
                        return &strategies[i];
        return NULL;
}

static bool scenario_known(const char *name)
{
        if (strcmp(name, "all") == 0)
                return true;
        for (unsigned i = 0; i < sim_n_scenarios; i++)
                if (strcmp(sim_scenarios[i].name, name) == 0)
                        return true;
        return false;
}

static void apply_model_args(const SimArgs *a, SimParams *p)
{
        if (a->step_sec > 0)
                p->step_usec = (uint64_t)(a->step_sec * 1e6);
        if (a->cache_mib >= 0)
                p->cache_bytes_per_sec = a->cache_mib * MIB;
        if (a->swap_share >= 0)
                p->swap_share = a->swap_share;
        if (a->min_share >= 0)
                p->min_share = a->min_share;
        if (a->page_reporting)
                p->page_reporting = true;
        if (a->vmem_boot_share > 0)
                p->vmem_boot_share = a->vmem_boot_share;
        if (a->vmem_block_mib > 0)
                p->vmem_block_bytes = (uint64_t)a->vmem_block_mib * MIB;
        if (a->vmem_unmovable >= 0)
                p->vmem_unmovable_share = a->vmem_unmovable;
}

/* The layouts to run: those of --virtio-mem, else the balloon alone. */
static size_t vmem_modes(const SimArgs *a, const SimVmemMode **ret)
{
        static const SimVmemMode balloon_only = SIM_VMEM_NONE;

        if (a->n_vmem_modes == 0) {
                *ret = &balloon_only;
                return 1;
        }
        *ret = a->vmem_modes;
        return a->n_vmem_modes;
}

static double now_sec(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec + ts.tv_nsec / 1e9;
}

typedef struct Result {
        const char *strategy;
        SimVmemMode vmem_mode;
        double host_fraction; /* < 0: none acceptable up to the sweep's maximum */
        uint64_t host_bytes;  /* the host size the fraction stands for */
        bool swept;
        SimScores scores;
        double seconds;
} Result;

static json_object *result_json(const Result *r)
{
        json_object *o = json_object_new_object();
        const SimScores *s = &r->scores;

        json_object_object_add(o, "strategy", json_object_new_string(r->strategy));
        json_object_object_add(o, "virtio_mem",
                               json_object_new_string(sim_vmem_mode_to_string(r->vmem_mode)));
        json_object_object_add(
                o, r->swept ? "min_host_fraction" : "host_fraction",
                r->host_fraction >= 0 ? json_new_double_rounded(r->host_fraction, FRACTION_DECIMALS)
                                      : NULL);
        json_object_object_add(o, r->swept ? "min_host_bytes" : "host_bytes",
                               r->host_fraction >= 0 ? json_object_new_uint64(r->host_bytes)
                                                     : NULL);
        json_object_object_add(o, "shortfall_gib_hours",
                               json_new_double_rounded(s->shortfall_gib_hours, 6));
        json_object_object_add(o, "overrun_gib_hours",
                               json_new_double_rounded(s->overrun_gib_hours, 6));
        json_object_object_add(o, "oom_events", json_object_new_int64((int64_t)s->oom_events));
        json_object_object_add(o, "returned_gib_hours",
                               json_new_double_rounded(s->returned_gib_hours, 6));
        json_object_object_add(o, "churn_gib", json_new_double_rounded(s->churn_gib, 6));
        json_object_object_add(o, "vmem_churn_gib", json_new_double_rounded(s->vmem_churn_gib, 6));
        json_object_object_add(o, "demand_gib_hours",
                               json_new_double_rounded(s->demand_gib_hours, 6));
        json_object_object_add(o, "trouble_seconds",
                               json_new_double_rounded(s->trouble_seconds, 3));
        json_object_object_add(o, "peak_resident_gib",
                               json_new_double_rounded(s->peak_resident_gib, 6));
        json_object_object_add(o, "run_seconds", json_new_double_rounded(r->seconds, 3));
        return o;
}

/* One strategy on the trace: at a host size, or swept; step by step into tl when given. */
static int run_one(const Trace *t, const MemtideConfig *base, const SimParams *params,
                   const StrategyName *sn, const SimArgs *a, double fraction, Timeline *tl,
                   Result *ret)
{
        MemtideConfig config = *base;
        SimParams p = *params;
        double start = now_sec();
        int r;

        config.policy.strategy = sn->strategy;
        *ret = (Result){ .strategy = sn->name,
                         .vmem_mode = params->vmem_mode,
                         .swept = a->sweep,
                         .host_fraction = fraction };
        if (a->sweep)
                r = sim_sweep(t, &config, &p, sn->kind, SWEEP_PRECISION, SWEEP_MAX_FRACTION,
                              &ret->host_fraction, &ret->scores);
        else {
                p.host_bytes = (uint64_t)(fraction * (double)t->total_max_bytes);
                p.on_step = tl ? timeline_on_step : NULL;
                p.step_userdata = tl;
                r = sim_run(t, &config, &p, sn->kind, &ret->scores);
        }
        if (r >= 0 && tl && tl->out_of_memory)
                r = -ENOMEM;
        ret->host_bytes = (uint64_t)(fmax(ret->host_fraction, 0) * (double)t->total_max_bytes);
        ret->seconds = now_sec() - start;
        return r;
}

/* With --virtio-mem a row names its layout and shows the peak resident
 * memory and what virtio-mem moved; without, the table is as before. */
static void print_table_header(const char *first, bool vmem)
{
        printf("%-10s ", "STRATEGY");
        if (vmem)
                printf("%-5s ", "VMEM");
        printf("%20s %12s %12s %6s %12s %10s ", first, "SHORT GiB-h", "OVER GiB-h", "OOM",
               "RET GiB-h", "CHURN GiB");
        if (vmem)
                printf("%10s %10s ", "PLUG GiB", "PEAK GiB");
        printf("%8s\n", "TIME s");
}

static void print_row(const Result *r, bool vmem)
{
        char frac[48];

        if (r->host_fraction < 0)
                snprintf(frac, sizeof(frac), "> %.2f", SWEEP_MAX_FRACTION);
        else
                snprintf(frac, sizeof(frac), "%.*f %7.2f GiB", FRACTION_DECIMALS, r->host_fraction,
                         (double)r->host_bytes / GIB);
        printf("%-10s ", r->strategy);
        if (vmem)
                printf("%-5s ", sim_vmem_mode_to_string(r->vmem_mode));
        printf("%20s %12.2f %12.2f %6" PRIu64 " %12.0f %10.1f ", frac,
               r->scores.shortfall_gib_hours, r->scores.overrun_gib_hours, r->scores.oom_events,
               r->scores.returned_gib_hours, r->scores.churn_gib);
        if (vmem)
                printf("%10.1f %10.2f ", r->scores.vmem_churn_gib, r->scores.peak_resident_gib);
        printf("%8.1f\n", r->seconds);
}

static int simulate_trace(const SimArgs *a, const MemtideConfig *config, const SimParams *params)
{
        _cleanup_(trace_freep) Trace *t = NULL;
        _cleanup_json_ json_object *out = json_object_new_array();
        const StrategyName *only = NULL;
        unsigned line = 0;
        int r;

        if (a->strategy && !(only = find_strategy(a->strategy))) {
                fprintf(stderr, "memtidectl: unknown strategy '%s' (try simulate --help)\n",
                        a->strategy);
                return EXIT_USAGE;
        }
        r = trace_load(a->trace, &t, &line);
        if (r < 0) {
                fprintf(stderr, "memtidectl: cannot read trace %s%s%.0u: %s\n", a->trace,
                        line ? ":" : "", line, strerror(-r));
                return 1;
        }
        SimArgs eff = *a;
        if (!only && a->host_fraction < 0 && a->n_grid == 0)
                eff.sweep = true; /* the side-by-side table is about host sizes */
        double fraction = a->host_fraction >= 0 ? a->host_fraction : 1.0;
        if (!a->json && a->n_grid == 0) {
                printf("%zu VMs, %.1f days, %.0f GiB provisioned in total\n", t->n_vms,
                       (t->end_sec - t->start_sec) / 86400.0, t->total_max_bytes / (double)GIB);
                print_table_header(eff.sweep ? "MIN HOST" : "HOST", a->n_vmem_modes > 0);
        }
        const SimVmemMode *modes;
        size_t n_modes = vmem_modes(a, &modes);
        for (size_t i = 0; i < ELEMENTSOF(strategies) * n_modes; i++) {
                const StrategyName *sn = &strategies[i / n_modes];
                SimParams p = *params;
                p.vmem_mode = modes[i % n_modes];
                if (only && sn != only)
                        continue;
                size_t n_runs = a->n_grid ? a->n_grid : 1;
                for (size_t k = 0; k < n_runs; k++) {
                        Timeline tl = { 0 };
                        Result res;
                        r = run_one(t, config, &p, sn, &eff, a->n_grid ? a->grid[k] : fraction,
                                    a->timeline ? &tl : NULL, &res);
                        if (r < 0) {
                                timeline_clear(&tl);
                                fprintf(stderr, "memtidectl: simulation failed: %s\n",
                                        strerror(-r));
                                return 1;
                        }
                        if (a->json || a->n_grid) {
                                json_object *o = result_json(&res);
                                if (a->timeline)
                                        json_object_object_add(o, "timeline",
                                                               timeline_json(&tl, TIMELINE_POINTS));
                                json_object_array_add(out, o);
                        } else {
                                print_row(&res, a->n_vmem_modes > 0);
                                if (a->timeline) {
                                        putchar('\n');
                                        timeline_print(&tl, TIMELINE_ROWS);
                                }
                                fflush(stdout);
                        }
                        timeline_clear(&tl);
                }
        }
        if (!a->json && a->n_grid == 0)
                printf("%s\nSHORT: the guests' demand above their memory (swapped); OVER: resident "
                       "memory above the host's RAM\n",
                       eff.sweep
                               ? "MIN HOST: the smallest host on which the strategy is acceptable "
                                 "(SHORT plus OVER under 0.1 % of\nthe guests' demand), as a "
                                 "share of their provisioned memory and in GiB; > 1.00: none is"
                               : "HOST: the host's RAM, as a share of the guests' provisioned "
                                 "memory and in GiB");
        if (a->json || a->n_grid) {
                json_object *o = out;
                if (only && !a->n_grid && n_modes == 1)
                        o = json_object_array_get_idx(out, 0);
                printf("%s\n",
                       json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
                                                                 JSON_C_TO_STRING_NOSLASHESCAPE));
        }
        return 0;
}

/* The oracle keeps no headroom by definition: its lag means nothing. */
static const char *lag_column(const StrategyName *strategy, const SimScores *s)
{
        static char buf[32];

        if (strategy->kind == SIM_ORACLE)
                return "-";
        snprintf(buf, sizeof(buf), "%.0f", s->lag_seconds);
        return buf;
}

static int simulate_scenarios(const SimArgs *a, const MemtideConfig *base,
                              const SimParams *defaults)
{
        _cleanup_json_ json_object *out = json_object_new_array();
        bool all = strcmp(a->scenario, "all") == 0;
        const StrategyName *only = a->strategy ? find_strategy(a->strategy) : NULL;

        if (a->strategy && !only) {
                fprintf(stderr,
                        "memtidectl: simulate: unknown strategy '%s' (try simulate "
                        "--help)\n",
                        a->strategy);
                return EXIT_USAGE;
        }
        bool vmem = a->n_vmem_modes > 0;
        const SimVmemMode *modes;
        size_t n_modes = vmem_modes(a, &modes);

        if (!a->json) {
                printf("%-13s %-10s ", "SCENARIO", "STRATEGY");
                if (vmem)
                        printf("%-5s ", "VMEM");
                printf("%10s %6s %12s %12s %5s %10s", "REACTION s", "LAG s", "SHORT MiB-s",
                       "OVER MiB-s", "OOM", "CHURN MiB");
                if (vmem)
                        printf(" %10s %10s", "PLUG MiB", "PEAK GiB");
                putchar('\n');
        }
        for (unsigned i = 0; i < sim_n_scenarios; i++) {
                _cleanup_(trace_freep) Trace *t = NULL;
                SimParams p = *defaults;
                if (!all && strcmp(a->scenario, sim_scenarios[i].name) != 0)
                        continue;
                if (sim_scenario_build(sim_scenarios[i].name, &t, &p) < 0)
                        return 1;
                for (size_t j = 0; j < ELEMENTSOF(strategies) * n_modes; j++) {
                        size_t k = j / n_modes;
                        MemtideConfig config = *base;
                        Timeline tl = { 0 };
                        SimScores s;
                        if (only && &strategies[k] != only)
                                continue;
                        p.vmem_mode = modes[j % n_modes];
                        config.policy.strategy = strategies[k].strategy;
                        p.on_step = a->timeline ? timeline_on_step : NULL;
                        p.step_userdata = &tl;
                        if (sim_run(t, &config, &p, strategies[k].kind, &s) < 0 ||
                            tl.out_of_memory) {
                                timeline_clear(&tl);
                                fprintf(stderr, "memtidectl: simulation failed: %s\n",
                                        strerror(ENOMEM));
                                return 1;
                        }
                        double short_mib_s = s.shortfall_gib_hours * 1024 * 3600;
                        double over_mib_s = s.overrun_gib_hours * 1024 * 3600;
                        if (a->json) {
                                json_object *o = json_object_new_object();
                                json_object_object_add(
                                        o, "scenario",
                                        json_object_new_string(sim_scenarios[i].name));
                                json_object_object_add(o, "strategy",
                                                       json_object_new_string(strategies[k].name));
                                json_object_object_add(
                                        o, "virtio_mem",
                                        json_object_new_string(
                                                sim_vmem_mode_to_string(p.vmem_mode)));
                                json_object_object_add(
                                        o, "reaction_seconds",
                                        json_new_double_rounded(s.trouble_seconds, 3));
                                json_object_object_add(
                                        o, "lag_seconds",
                                        strategies[k].kind == SIM_ORACLE
                                                ? NULL
                                                : json_new_double_rounded(s.lag_seconds, 3));
                                json_object_object_add(o, "shortfall_mib_seconds",
                                                       json_new_double_rounded(short_mib_s, 3));
                                json_object_object_add(o, "overrun_mib_seconds",
                                                       json_new_double_rounded(over_mib_s, 3));
                                json_object_object_add(
                                        o, "oom_events",
                                        json_object_new_int64((int64_t)s.oom_events));
                                json_object_object_add(o, "churn_gib",
                                                       json_new_double_rounded(s.churn_gib, 6));
                                json_object_object_add(
                                        o, "vmem_churn_gib",
                                        json_new_double_rounded(s.vmem_churn_gib, 6));
                                json_object_object_add(
                                        o, "peak_resident_gib",
                                        json_new_double_rounded(s.peak_resident_gib, 6));
                                if (a->timeline)
                                        json_object_object_add(o, "timeline",
                                                               timeline_json(&tl, TIMELINE_POINTS));
                                json_object_array_add(out, o);
                        } else {
                                printf("%-13s %-10s ", sim_scenarios[i].name, strategies[k].name);
                                if (vmem)
                                        printf("%-5s ", sim_vmem_mode_to_string(p.vmem_mode));
                                printf("%10.0f %6s %12.0f %12.0f %5" PRIu64 " %10.0f",
                                       s.trouble_seconds, lag_column(&strategies[k], &s),
                                       short_mib_s, over_mib_s, s.oom_events, s.churn_gib * 1024);
                                if (vmem)
                                        printf(" %10.0f %10.2f", s.vmem_churn_gib * 1024,
                                               s.peak_resident_gib);
                                putchar('\n');
                                if (a->timeline) {
                                        putchar('\n');
                                        timeline_print(&tl, TIMELINE_ROWS);
                                }
                        }
                        timeline_clear(&tl);
                }
        }
        if (a->json)
                printf("%s\n", json_object_to_json_string_ext(out, JSON_C_TO_STRING_PRETTY));
        return 0;
}

int verb_simulate(const CtlArgs *ctl, int argc, char **argv)
{
        _cleanup_(config_freep) MemtideConfig *config = NULL;
        _cleanup_free_ char *error = NULL;
        SimArgs a = {.json = ctl->json};
        SimParams params;
        int r;

        r = parse_sim_args(argc, argv, &a);
        if (r <= 0) {
                if (r < 0)
                        simulate_help(stderr);
                return r < 0 ? EXIT_USAGE : 0;
        }
        if (a.scenario && !scenario_known(a.scenario)) {
                fprintf(stderr, "memtidectl: simulate: unknown scenario '%s'; the scenarios are",
                        a.scenario);
                for (unsigned i = 0; i < sim_n_scenarios; i++)
                        fprintf(stderr, " %s,", sim_scenarios[i].name);
                fprintf(stderr, " or all (simulate --help says what each does)\n");
                return EXIT_USAGE;
        }
        if (a.timeline && (a.sweep || a.n_grid || (a.scenario && strcmp(a.scenario, "all") == 0))) {
                fprintf(stderr, "memtidectl: simulate: --timeline follows one run: one scenario, "
                                "or a trace at one --host-fraction (default 1), not all, --sweep "
                                "or --grid\n");
                return EXIT_USAGE;
        }
        if (a.timeline && !a.strategy)
                a.strategy = "adaptive"; /* one run: the daemon's default strategy */
        r = a.config ? config_load(a.config, &config, &error) : config_new(&config);
        if (r < 0) {
                fprintf(stderr, "memtidectl: %s\n", error ? error : strerror(-r));
                return 1;
        }
        sim_params_init(&params, config);
        apply_model_args(&a, &params);
        if (a.scenario)
                return simulate_scenarios(&a, config, &params);
        return simulate_trace(&a, config, &params);
}
