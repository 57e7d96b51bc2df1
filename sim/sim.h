/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The trace-driven simulator: a host and its guests modelled step by step,
 * balloon targets decided by the same policy code the daemon runs
 * (policy_decide), or by the `static` and `oracle` baselines.
 *
 * Guest model: memory the guest has (`actual`, moved toward the target at a
 * finite balloon rate) holds used memory (demand, as far as it fits), page
 * cache (grows into free memory, dropped first when memory is needed or the
 * balloon inflates) and free memory, part of it touched before (resident on
 * the host) and part never touched or returned. Demand above `actual` is
 * swapped (shortfall; swap-in and allocation stalls rise); beyond the swap
 * allowance the guest kills a process (an OOM event). With free page
 * reporting, free memory goes back to the host by itself.
 * virtio-mem (vmem_mode): the balloon acts below boot memory, a virtio-mem
 * device above it plugs and unplugs whole blocks at its own rates, the
 * target split between them by vmem_plan() (policy/vmem-plan.h) as the
 * daemon splits it; unplug stalls at blocks holding unmovable memory.
 * Host model: RAM; MemAvailable = RAM minus the guests' resident memory;
 * PSI-like pressure while resident memory exceeds RAM (overrun).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "trace.h"

typedef enum SimKind {
        SIM_POLICY, /* config->policy.strategy */
        SIM_STATIC, /* no ballooning: every guest keeps its maximum */
        SIM_ORACLE, /* target = demand, known in advance, applied at once */
} SimKind;

typedef enum SimVmemMode {
        SIM_VMEM_NONE, /* a balloon over all of the guest's memory */
        SIM_VMEM_ONLY, /* virtio-mem above boot memory, no balloon: boot memory is the floor */
        SIM_VMEM_BOTH, /* the balloon below boot memory, virtio-mem above it */
        _SIM_VMEM_MODE_MAX,
} SimVmemMode;

const char *sim_vmem_mode_to_string(SimVmemMode m);
/* Returns the mode or -EINVAL. */
int sim_vmem_mode_from_string(const char *s);

/* One model step as the host saw it: what a timeline plots. */
typedef struct SimStep {
        double time_sec;       /* the trace's clock */
        double resident_bytes; /* the guests' memory resident on the host */
        double demand_bytes;   /* what the guests' programs use */
        double actual_bytes;   /* the guests' memory with their balloons where they are */
        uint64_t host_bytes;   /* the host's RAM */
} SimStep;

typedef struct SimParams {
        uint64_t host_bytes;
        uint64_t step_usec;     /* model step; stats are delivered every step */
        uint64_t interval_usec; /* policy cycle ([Daemon] Interval=), at least one step */
        double inflate_bytes_per_sec;
        double deflate_bytes_per_sec;
        double cache_bytes_per_sec; /* page cache growth into free memory, per guest */
        double swap_share;          /* swap allowance, share of the guest's maximum */
        double min_share;           /* MinMemory= of every guest, share of its maximum */
        double proxmox_min_share;   /* MinMemory= for proxmox runs when none is set */
        bool page_reporting;
        SimVmemMode vmem_mode;
        double vmem_boot_share; /* boot memory, share of the guest's maximum */
        uint64_t vmem_block_bytes;
        double vmem_plug_bytes_per_sec;
        double vmem_unplug_bytes_per_sec;
        double vmem_unmovable_share;   /* share of the device's blocks that cannot be unplugged */
        uint64_t command_timeout_usec; /* as the daemon: a command older stops blocking */
        /* Called after every step when set (a timeline); sim_sweep runs
         * without it, its runs being in parallel. */
        void (*on_step)(const SimStep *step, void *userdata);
        void *step_userdata;
} SimParams;

typedef struct SimScores {
        double demand_gib_hours;
        double shortfall_gib_hours;
        double overrun_gib_hours;
        double returned_gib_hours;
        double churn_gib;      /* balloon and virtio-mem moves together */
        double vmem_churn_gib; /* of which plugged and unplugged */
        uint64_t oom_events;
        double trouble_seconds; /* time with any guest short or the host overrun */
        /* time with any guest below its demand plus the floor headroom
         * (HeadroomMin=) while under its maximum: the policy lagging behind
         * its own safety margin. Not meaningful for the oracle (no headroom). */
        double lag_seconds;
        double peak_resident_gib;
        uint64_t decisions;
} SimScores;

/* Defaults for a trace of 300 s samples (10 s steps) and the given config. */
void sim_params_init(SimParams *p, const MemtideConfig *config);

/* Runs the whole trace once. Returns 0 or -ENOMEM. */
int sim_run(const Trace *trace, const MemtideConfig *config, const SimParams *params, SimKind kind,
            SimScores *ret);

/* The headline criterion: shortfall plus overrun under 0.1 % of demand. */
bool sim_scores_acceptable(const SimScores *s);

/*
 * Smallest host, as a fraction of the guests' total provisioned memory
 * (to within `precision`), on which the scores are acceptable; two runs in
 * parallel per round (trisection). *ret_fraction is negative when even a
 * host of `max_fraction` is not enough. ret_scores: scores at the result.
 */
int sim_sweep(const Trace *trace, const MemtideConfig *config, const SimParams *params,
              SimKind kind, double precision, double max_fraction, double *ret_fraction,
              SimScores *ret_scores);

/* Built-in second-resolution scenarios. */
typedef struct SimScenario {
        const char *name;
        const char *description;
} SimScenario;

extern const SimScenario sim_scenarios[];
extern const unsigned sim_n_scenarios;

/* Builds scenario `name`: its trace and host size (params->host_bytes, step 1 s). */
int sim_scenario_build(const char *name, Trace **ret, SimParams *params);
