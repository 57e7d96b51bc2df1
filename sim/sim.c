/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The simulation loop: step the guests, deliver stats, run the policy every
 * cycle (and early when policy_wants_early_cycle() says so, as the daemon
 * does), apply the targets, and score.
 */
#include "sim.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "guest-model.h"
#include "policy.h"

#define GIB_D (1024.0 * 1024.0 * 1024.0)
/* Below this a shortfall or overrun is rounding, not trouble. */
#define TROUBLE_BYTES (1024.0 * 1024.0)

void sim_params_init(SimParams *p, const MemtideConfig *config)
{
        *p = (SimParams){
                .step_usec = 10 * USEC_PER_SEC,
                .interval_usec = config->interval_usec,
                /* Linux's virtio_balloon moves 256 pages per request; measured
                 * inflation runs at a few hundred MiB/s, deflation faster. */
                .inflate_bytes_per_sec = 256.0 * MIB,
                .deflate_bytes_per_sec = 1024.0 * MIB,
                .cache_bytes_per_sec = 1.0 * MIB,
                .swap_share = 0.05,
                .min_share = 0,
                /* Proxmox balloons only guests with a minimum; its run gives every
                 * guest without MinMemory= one, as a Proxmox operator must. The
                 * others need none (their floor follows use). */
                .proxmox_min_share = 0.0625,
                .command_timeout_usec = 10 * USEC_PER_SEC,
                /* virtio-mem, measured on QEMU 7.2 (TCG) with a Debian 6.1
                 * guest (memhp_default_state=online_movable): 512 MiB plugged
                 * in 0.25 s, 384 MiB unplugged in 0.76 s, in 2 MiB blocks. A
                 * quarter of the guest as boot memory is a typical layout;
                 * with online_movable the measured unplug went all the way,
                 * so no block is unmovable unless asked. */
                .vmem_mode = SIM_VMEM_NONE,
                .vmem_boot_share = 0.25,
                .vmem_block_bytes = 2 * MIB,
                .vmem_plug_bytes_per_sec = 2048.0 * MIB,
                .vmem_unplug_bytes_per_sec = 500.0 * MIB,
                .vmem_unmovable_share = 0,
        };
}

static const char *const vmem_mode_names[_SIM_VMEM_MODE_MAX] = {
        [SIM_VMEM_NONE] = "none",
        [SIM_VMEM_ONLY] = "only",
        [SIM_VMEM_BOTH] = "both",
};

const char *sim_vmem_mode_to_string(SimVmemMode m)
{
        return m >= 0 && m < _SIM_VMEM_MODE_MAX ? vmem_mode_names[m] : NULL;
}

int sim_vmem_mode_from_string(const char *s)
{
        for (int m = 0; m < _SIM_VMEM_MODE_MAX; m++)
                if (strcmp(s, vmem_mode_names[m]) == 0)
                        return m;
        return -EINVAL;
}

bool sim_scores_acceptable(const SimScores *s)
{
        return s->shortfall_gib_hours + s->overrun_gib_hours <= 0.001 * s->demand_gib_hours;
}

/* Everything one run owns. Policy state is kept per VM and copied into the
 * compact arrays of present guests only when that set changes. */
typedef struct Sim {
        const Trace *trace;
        const MemtideConfig *config;
        const SimParams *p;
        SimKind kind;
        SimGuest *guests;
        GuestSettings *settings; /* [Guest:] rules per VM: MinMemory=, Shares=, Manage= */
        PolicyGuestState *vm_states;
        size_t n_present;
        size_t *present;          /* vm index per slot */
        GuestSample *samples;     /* per slot */
        PolicyGuestState *states; /* per slot */
        Decision *decisions;      /* per slot */
        PolicyState policy_state;
        bool roster_changed;
        double host_psi;
        double next_cycle;
        SimScores scores;
} Sim;

static void sim_free(Sim *s)
{
        free(s->guests);
        free(s->settings);
        free(s->vm_states);
        free(s->present);
        free(s->samples);
        free(s->states);
        free(s->decisions);
}

static int sim_init(Sim *s, const Trace *trace, const MemtideConfig *config, const SimParams *p,
                    SimKind kind)
{
        size_t n = trace->n_vms + 1;

        *s = (Sim){.trace = trace, .config = config, .p = p, .kind = kind};
        s->guests = calloc(n, sizeof(SimGuest));
        s->settings = calloc(n, sizeof(GuestSettings));
        s->vm_states = calloc(n, sizeof(PolicyGuestState));
        s->present = calloc(n, sizeof(size_t));
        s->samples = calloc(n, sizeof(GuestSample));
        s->states = calloc(n, sizeof(PolicyGuestState));
        s->decisions = calloc(n, sizeof(Decision));
        s->policy_state.quiet = true;
        if (!s->guests || !s->settings || !s->vm_states || !s->present || !s->samples ||
            !s->states || !s->decisions) {
                sim_free(s);
                return -ENOMEM;
        }
        for (size_t i = 0; i < trace->n_vms; i++)
                config_guest_settings(config, trace->vms[i].name, NULL, &s->settings[i]);
        return 0;
}

static void rebuild_roster(Sim *s)
{
        for (size_t k = 0; k < s->n_present; k++)
                s->vm_states[s->present[k]] = s->states[k];
        s->n_present = 0;
        for (size_t i = 0; i < s->trace->n_vms; i++)
                if (s->guests[i].present) {
                        s->states[s->n_present] = s->vm_states[i];
                        s->present[s->n_present++] = i;
                }
        s->roster_changed = false;
}

/* Demand now; a VM appears at its first sample and leaves after its last. */
static void update_presence(Sim *s, double t)
{
        for (size_t i = 0; i < s->trace->n_vms; i++) {
                SimGuest *g = &s->guests[i];
                const TraceVm *vm = &s->trace->vms[i];
                double d;
                bool exists = sim_demand_at(vm, &g->next, t, &d);
                if (exists && !g->present) {
                        size_t next = g->next;
                        sim_guest_boot(g, vm, s->p, d);
                        g->next = next;
                        if (s->settings[i].min_bytes)
                                g->min = fmin((double)s->settings[i].min_bytes, g->max);
                        else if (g->min == 0 && s->kind == SIM_POLICY &&
                                 s->config->policy.strategy == POLICY_STRATEGY_PROXMOX)
                                g->min = s->p->proxmox_min_share * g->max;
                        /* Without a balloon nothing takes the guest below boot
                         * memory: the policy is told so, as MinMemory=. */
                        if (!g->balloon)
                                g->min = fmax(g->min, g->boot);
                        s->vm_states[i] = (PolicyGuestState){0};
                        s->roster_changed = true;
                } else if (!exists && g->present) {
                        g->present = false;
                        s->roster_changed = true;
                }
                if (exists)
                        g->demand = fmin(d, g->max);
        }
        if (s->roster_changed)
                rebuild_roster(s);
}

static void fill_sample(const Sim *s, size_t vm, double t, GuestSample *ret)
{
        const SimGuest *g = &s->guests[vm];

        *ret = (GuestSample){
                .name = s->trace->vms[vm].name,
                .actual_bytes = (uint64_t)g->actual,
                .max_bytes = (uint64_t)g->max,
                .min_bytes = (uint64_t)g->min,
                .stats_age_usec = 0,
                .stats_fresh = true,
                .command_pending = g->pending,
                .pending_target_bytes = (uint64_t)g->target,
                .manage = s->settings[vm].manage,
                .shares = s->settings[vm].shares,
                .page_reporting_functional = s->p->page_reporting,
        };
        sim_guest_stats(g, t, &ret->stats);
}

/* GuestMemoryBudget= as a size (auto has no cgroup here): what the guests
 * hold against it is their resident memory, as a cgroup's usage would be. */
static uint64_t guest_budget(const Sim *s)
{
        const GuestBudgetConfig *b = &s->config->guest_budget;

        return b->kind == GUEST_BUDGET_SIZE ? b->bytes : 0;
}

/* The memory the guests may take before trouble: the host's RAM, or a
 * smaller budget (past a cgroup's limit the kernel reclaims or kills QEMU). */
static double guest_capacity(const Sim *s)
{
        uint64_t budget = guest_budget(s);

        return (double)(budget && budget < s->p->host_bytes ? budget : s->p->host_bytes);
}

static void fill_host(const Sim *s, double resident, HostSample *h)
{
        double avail = fmax((double)s->p->host_bytes - resident, 0);

        *h = (HostSample){
                .mem_total_bytes = s->p->host_bytes,
                .mem_available_bytes = (uint64_t)avail,
                .mem_free_bytes = (uint64_t)avail,
                .psi_available = true,
                .psi_some_avg10 = s->host_psi,
                .guest_budget_bytes = guest_budget(s),
                .guest_held_bytes = guest_budget(s) ? (uint64_t)resident : 0,
        };
}

static bool wants_early_cycle(Sim *s)
{
        for (size_t k = 0; k < s->n_present; k++)
                if (policy_wants_early_cycle(&s->config->policy, &s->samples[k], &s->states[k]))
                        return true;
        return false;
}

static void run_policy(Sim *s, double t, double resident)
{
        double interval = fmax(s->p->interval_usec, s->p->step_usec) / 1e6;
        Snapshot snap = {
                .now_usec = (uint64_t)(t * 1e6),
                .n_guests = s->n_present,
                .guests = s->samples,
        };

        for (size_t k = 0; k < s->n_present; k++)
                fill_sample(s, s->present[k], t, &s->samples[k]);
        if (t < s->next_cycle && !wants_early_cycle(s))
                return;
        s->next_cycle = t + interval;
        fill_host(s, resident, &snap.host);
        policy_decide(&s->config->policy, &snap, &s->policy_state, s->states, s->decisions);
        s->scores.decisions++;
        for (size_t k = 0; k < s->n_present; k++) {
                SimGuest *g = &s->guests[s->present[k]];
                if (!s->decisions[k].change)
                        continue;
                sim_guest_set_target(g, s->p, (double)s->decisions[k].target_bytes);
                g->pending = true;
                g->command_sent_sec = t;
        }
}

/* Baselines set the devices directly: static never moves them, the oracle
 * gives each guest its demand (no less than its minimum) at once, split as
 * the daemon would split it. */
static double run_baseline(Sim *s, double *ret_vmem_churn)
{
        double churn = 0, vmem_churn = 0;

        for (size_t k = 0; k < s->n_present; k++) {
                SimGuest *g = &s->guests[s->present[k]];
                if (s->kind == SIM_ORACLE) {
                        double balloon = g->actual - g->plugged, plugged = g->plugged;
                        sim_guest_set_target(g, s->p, fmax(g->demand, g->min));
                        sim_guest_jump_to_target(g);
                        vmem_churn += fabs(g->plugged - plugged);
                        churn +=
                                fabs(g->actual - g->plugged - balloon) + fabs(g->plugged - plugged);
                        g->cache = 0;
                        g->touched_free = 0;
                }
        }
        *ret_vmem_churn = vmem_churn;
        return churn;
}

/* Less than HeadroomMin= free with room left under its maximum: the policy lags. */
static bool guest_lagging(const Sim *s, const SimGuest *g)
{
        double margin = (double)s->config->policy.headroom_min_bytes;
        return g->actual + TROUBLE_BYTES < g->max && g->demand + margin > g->actual + TROUBLE_BYTES;
}

static void score_step(Sim *s, double dt, double resident, double demand, double shortfall,
                       double returned, double churn)
{
        double h = dt / 3600.0;
        double overrun = fmax(resident - guest_capacity(s), 0);

        s->scores.demand_gib_hours += demand / GIB_D * h;
        s->scores.shortfall_gib_hours += shortfall / GIB_D * h;
        s->scores.overrun_gib_hours += overrun / GIB_D * h;
        s->scores.returned_gib_hours += returned / GIB_D * h;
        s->scores.churn_gib += churn / GIB_D;
        if (overrun > TROUBLE_BYTES || shortfall > TROUBLE_BYTES)
                s->scores.trouble_seconds += dt;
        if (resident / GIB_D > s->scores.peak_resident_gib)
                s->scores.peak_resident_gib = resident / GIB_D;
        /* PSI some avg10: share of time stalled, averaged over 10 s. */
        double stall = fmin(overrun / (0.05 * guest_capacity(s)), 1.0) * 100.0;
        double keep = exp(-dt / 10.0);
        s->host_psi = s->host_psi * keep + stall * (1 - keep);
}

static void step(Sim *s, double t, double dt, SimStep *ret)
{
        double demand = 0, shortfall = 0, returned = 0, churn = 0, vmem_churn = 0, res = 0;
        double actual = 0;
        bool lagging = false;

        if (s->kind == SIM_ORACLE)
                churn = run_baseline(s, &vmem_churn);
        for (size_t k = 0; k < s->n_present; k++) {
                size_t i = s->present[k];
                SimGuest *g = &s->guests[i];
                s->scores.oom_events += sim_guest_step(g, &s->trace->vms[i], s->p, t, dt);
                double r = sim_guest_resident(g);
                churn += g->step_balloon_moved + g->step_vmem_moved;
                vmem_churn += g->step_vmem_moved;
                demand += g->demand;
                actual += g->actual;
                shortfall += fmax(g->demand - g->actual, 0);
                returned += g->max - r;
                res += r;
                lagging = lagging || guest_lagging(s, g);
        }
        if (lagging)
                s->scores.lag_seconds += dt;
        score_step(s, dt, res, demand, shortfall, returned, churn);
        s->scores.vmem_churn_gib += vmem_churn / GIB_D;
        *ret = (SimStep){ .time_sec = t,
                          .resident_bytes = res,
                          .demand_bytes = demand,
                          .actual_bytes = actual,
                          .host_bytes = s->p->host_bytes };
}

int sim_run(const Trace *trace, const MemtideConfig *config, const SimParams *params, SimKind kind,
            SimScores *ret)
{
        double dt = params->step_usec / 1e6;
        Sim s;
        int r = sim_init(&s, trace, config, params, kind);

        if (r < 0)
                return r;
        /* Each step stands for [t, t + dt): the last sample closes the trace. */
        for (double t = (double)trace->start_sec; t < (double)trace->end_sec; t += dt) {
                SimStep st;
                update_presence(&s, t);
                step(&s, t, dt, &st);
                if (params->on_step)
                        params->on_step(&st, params->step_userdata);
                if (kind == SIM_POLICY)
                        run_policy(&s, t, st.resident_bytes);
        }
        *ret = s.scores;
        sim_free(&s);
        return 0;
}
