/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The headline score: the smallest host (a fraction of the guests' total
 * provisioned memory) on which a strategy keeps shortfall plus overrun
 * under 0.1 % of demand. Trisection with the two probes of each round run
 * on two threads: the interval shrinks threefold per round. Scores are
 * assumed to get no worse on a larger host, which holds for every strategy
 * here up to noise of a few runs' width.
 */
#include <errno.h>
#include <pthread.h>

#include "sim.h"

typedef struct Probe {
        const Trace *trace;
        const MemtideConfig *config;
        SimParams params;
        SimKind kind;
        SimScores scores;
        int r;
} Probe;

static void *probe_run(void *userdata)
{
        Probe *p = userdata;

        p->r = sim_run(p->trace, p->config, &p->params, p->kind, &p->scores);
        return NULL;
}

static void probe_init(Probe *p, const Trace *trace, const MemtideConfig *config,
                       const SimParams *params, SimKind kind, double fraction)
{
        *p = (Probe){.trace = trace, .config = config, .params = *params, .kind = kind};
        p->params.host_bytes = (uint64_t)(fraction * (double)trace->total_max_bytes);
        p->params.on_step = NULL; /* the probes run in parallel */
}

/* Runs both probes, the second on its own thread. */
static int probe_pair(Probe *a, Probe *b)
{
        pthread_t thread;
        bool threaded = pthread_create(&thread, NULL, probe_run, b) == 0;

        probe_run(a);
        if (threaded)
                pthread_join(thread, NULL);
        else
                probe_run(b);
        return a->r < 0 ? a->r : b->r;
}

int sim_sweep(const Trace *trace, const MemtideConfig *config, const SimParams *params,
              SimKind kind, double precision, double max_fraction, double *ret_fraction,
              SimScores *ret_scores)
{
        double lo = 0, hi = max_fraction;
        bool found = false;
        Probe a, b;
        SimScores best = {0};
        int r;

        while (hi - lo > precision) {
                double fa = lo + (hi - lo) / 3, fb = lo + 2 * (hi - lo) / 3;
                probe_init(&a, trace, config, params, kind, fa);
                probe_init(&b, trace, config, params, kind, fb);
                r = probe_pair(&a, &b);
                if (r < 0)
                        return r;
                if (sim_scores_acceptable(&a.scores)) {
                        hi = fa;
                        best = a.scores;
                        found = true;
                } else if (sim_scores_acceptable(&b.scores)) {
                        lo = fa;
                        hi = fb;
                        best = b.scores;
                        found = true;
                } else
                        lo = fb;
        }
        if (!found) {
                probe_init(&a, trace, config, params, kind, max_fraction);
                r = sim_run(trace, config, &a.params, kind, &a.scores);
                if (r < 0)
                        return r;
                found = sim_scores_acceptable(&a.scores);
                best = a.scores;
        }
        *ret_fraction = found ? hi : -1;
        if (ret_scores)
                *ret_scores = best;
        return 0;
}
