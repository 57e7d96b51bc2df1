/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Built-in second-resolution scenarios: small hosts where one event forces
 * the policy to act. Each is a synthetic trace (1 s steps) and a host size;
 * the reaction score is the time any guest is short or the host overrun.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "model.h"
#include "sim.h"

const SimScenario sim_scenarios[] = {
        {"spike", "a guest allocates and touches 2 GiB within 2 s (6 x 4 GiB guests using "
                  "1 GiB, 9 GiB host)"},
        {"boot-storm", "8 x 2 GiB guests boot 10 s apart, touch 1 GiB, settle at 250 MiB "
                       "(6 GiB host)"},
        {"slow-leak", "a guest leaks 2 MiB/s for 25 min next to three steady ones (7 GiB host)"},
        {"cache-growth", "a guest reads 3 GiB of files, then another needs 2 GiB (7 GiB host)"},
        {"batch", "two guests take turns running a 2 GiB batch job every 5 min (6 GiB host)"},
};
const unsigned sim_n_scenarios = sizeof(sim_scenarios) / sizeof(sim_scenarios[0]);

typedef struct Point {
        int64_t t_sec;
        double demand_mib;
} Point;

/* Samples every second between the points, linear in between. */
static int add_vm(Trace *t, const char *name, uint64_t max_mib, const Point *pts, size_t n,
                  int64_t end_sec)
{
        size_t k = 0;

        for (int64_t s = pts[0].t_sec; s <= end_sec; s++) {
                while (k + 1 < n && pts[k + 1].t_sec <= s)
                        k++;
                double d = pts[k].demand_mib;
                if (k + 1 < n && pts[k + 1].t_sec > pts[k].t_sec)
                        d += (pts[k + 1].demand_mib - d) * (double)(s - pts[k].t_sec) /
                             (double)(pts[k + 1].t_sec - pts[k].t_sec);
                int r = trace_add(t, name, s, max_mib * MIB, (uint64_t)(d * MIB));
                if (r < 0)
                        return r;
        }
        return 0;
}

static int add_flat(Trace *t, const char *name, uint64_t max_mib, double mib, int64_t end)
{
        Point p[] = {{0, mib}};
        return add_vm(t, name, max_mib, p, 1, end);
}

/* The host is tight before the spike, so every strategy has squeezed the
 * guests: the score is how fast the spiking one gets its memory back. */
static int build_spike(Trace *t)
{
        Point p[] = {{0, 1024}, {300, 1024}, {302, 3072}};
        int r = add_vm(t, "spike-0", 4096, p, 3, 900);
        for (int i = 1; r >= 0 && i < 6; i++) {
                char name[32];
                snprintf(name, sizeof(name), "spike-%d", i);
                r = add_flat(t, name, 4096, 1024, 900);
        }
        return r;
}

static int build_boot_storm(Trace *t)
{
        int r = 0;
        for (int i = 0; r >= 0 && i < 8; i++) {
                char name[32];
                int64_t b = 10 + 10 * i;
                Point p[] = {{b, 64}, {b + 20, 1024}, {b + 60, 250}};
                snprintf(name, sizeof(name), "boot-%d", i);
                r = add_vm(t, name, 2048, p, 3, 600);
        }
        return r;
}

static int build_slow_leak(Trace *t)
{
        Point p[] = {{0, 512}, {60, 512}, {1560, 3584}};
        int r = add_vm(t, "leak-0", 4096, p, 3, 1800);
        for (int i = 1; r >= 0 && i < 4; i++) {
                char name[32];
                snprintf(name, sizeof(name), "leak-%d", i);
                r = add_flat(t, name, 4096, 1024, 1800);
        }
        return r;
}

static int build_cache_growth(Trace *t)
{
        Point p[] = {{0, 1024}, {300, 1024}, {330, 3072}};
        int r = add_flat(t, "cache-0", 4096, 1024, 900);
        if (r >= 0)
                r = add_flat(t, "cache-1", 4096, 1024, 900);
        if (r >= 0)
                r = add_vm(t, "cache-2", 4096, p, 3, 900);
        if (r >= 0)
                r = add_flat(t, "cache-3", 4096, 1024, 900);
        if (r >= 0) {
                TraceVm *vm = trace_find(t, "cache-1");
                vm->cache_burst_start_sec = 60;
                vm->cache_burst_end_sec = 120;
                vm->cache_burst_bytes_per_sec = 50.0 * MIB;
        }
        return r;
}

/* Jobs: ramp 2 GiB over 20 s, hold 100 s, free over 10 s, every 300 s. */
static int add_batch_vm(Trace *t, const char *name, int64_t first, int64_t end)
{
        Point p[32];
        size_t n = 0;

        p[n++] = (Point){0, 512};
        for (int64_t s = first; s + 130 < end && n + 4 <= 32; s += 300) {
                p[n++] = (Point){s, 512};
                p[n++] = (Point){s + 20, 2560};
                p[n++] = (Point){s + 120, 2560};
                p[n++] = (Point){s + 130, 512};
        }
        return add_vm(t, name, 4096, p, n, end);
}

static int build_batch(Trace *t)
{
        int r = add_batch_vm(t, "batch-0", 60, 1800);
        if (r >= 0)
                r = add_batch_vm(t, "batch-1", 210, 1800);
        if (r >= 0)
                r = add_flat(t, "batch-2", 4096, 512, 1800);
        if (r >= 0)
                r = add_flat(t, "batch-3", 4096, 512, 1800);
        return r;
}

typedef struct ScenarioDef {
        int (*build)(Trace *t);
        uint64_t host_mib;
} ScenarioDef;

static const ScenarioDef defs[] = {
        {build_spike, 9216},        {build_boot_storm, 6144}, {build_slow_leak, 7168},
        {build_cache_growth, 7168}, {build_batch, 6144},
};

int sim_scenario_build(const char *name, Trace **ret, SimParams *params)
{
        for (unsigned i = 0; i < sim_n_scenarios; i++) {
                if (strcmp(name, sim_scenarios[i].name) != 0)
                        continue;
                Trace *t = trace_new();
                int r = t ? defs[i].build(t) : -ENOMEM;
                if (r >= 0)
                        r = trace_finish(t);
                if (r < 0) {
                        trace_free(t);
                        return r;
                }
                params->host_bytes = defs[i].host_mib * MIB;
                params->step_usec = USEC_PER_SEC;
                *ret = t;
                return 0;
        }
        return -ENOENT;
}
