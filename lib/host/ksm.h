/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The KSM controller: reads /sys/kernel/mm/ksm, decides whether ksmd should
 * run and how hard (a pure function, after ksmtuned and oVirt MOM's KSM
 * rules), and writes back only the values that change.
 *
 * Algorithm (ksmtuned, qemu-kvm/Fedora; MOM's ksm.rules is the same):
 *   threshold = max(ThresholdShare x MemTotal, threshold_min_bytes)
 *   needed    = free < threshold  or  committed > CommittedShare x MemTotal
 *   needed:     run=1; pages_to_scan += PagesBoost when free < threshold,
 *               else -= PagesDecay; clamped to [PagesMin, PagesMax];
 *               sleep_millisecs = SleepMsecPer16GiB x 16 GiB / MemTotal
 *   not needed: run=0 if we started ksmd, else leave it as it is.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "model.h"

#define KSM_SYSFS_PATH_DEFAULT "/sys/kernel/mm/ksm"
#define KSM_REASON_MAX         256
/* ksmtuned never lets ksmd sleep less than 10 ms between batches. */
#define KSM_SLEEP_MSEC_FLOOR 10

/* The [KSM] section of memtide.conf. */
typedef struct KsmConfig {
        bool enabled;           /* Enabled= */
        char *sysfs_path;       /* SysfsPath=, owned by MemtideConfig */
        double threshold_share; /* ThresholdShare=, host free share below which ksmd works harder */
        uint64_t threshold_min_bytes; /* the threshold is never below this (KSM_THRES_CONST) */
        double committed_share; /* CommittedShare=, guest memory / MemTotal above which ksmd runs */
        uint32_t pages_boost;   /* PagesBoost=, added to pages_to_scan per cycle under pressure */
        uint32_t pages_decay;   /* PagesDecay=, taken off per cycle otherwise */
        uint32_t pages_min;     /* PagesMin= */
        uint32_t pages_max;     /* PagesMax= */
        uint32_t sleep_msec_per_16gib; /* SleepMsecPer16GiB=, scaled by host size */
        uint64_t interval_usec;        /* how often the controller runs (KSM_MONITOR_INTERVAL) */
} KsmConfig;

/* Everything but sysfs_path, which the config parser allocates. */
void ksm_config_init(KsmConfig *c);

/* /sys/kernel/mm/ksm as read; available is false when the directory is absent
 * (kernel without CONFIG_KSM, or a container without /sys). */
typedef struct KsmFigures {
        bool available;
        uint32_t run; /* 0 stopped, 1 running, 2 unmerging everything */
        uint32_t pages_to_scan;
        uint32_t sleep_millisecs;
        uint64_t pages_shared;   /* shared pages in use */
        uint64_t pages_sharing;  /* extra sites sharing them: what KSM saves */
        uint64_t pages_unshared; /* unique pages checked repeatedly */
        uint64_t pages_volatile; /* pages changing too fast to merge */
        uint64_t full_scans;
} KsmFigures;

typedef struct KsmSample {
        HostSample host;
        /* Memory committed to guests: the sum of their current sizes (MOM's
         * ksm_shareable; ksmtuned sums the RSS of qemu processes). */
        uint64_t committed_bytes;
        KsmFigures ksm;
} KsmSample;

/* What the controller remembers between runs; zero-initialise it once. */
typedef struct KsmState {
        /* ksmd was stopped and we started it: only then do we stop it again. A
         * ksmd the administrator started is tuned while needed, never stopped. */
        bool started_by_us;
} KsmState;

typedef enum KsmAction {
        KSM_ACTION_NONE, /* leave ksmd alone: disabled, unavailable, unmerging, not ours */
        KSM_ACTION_RUN,  /* run with the values below */
        KSM_ACTION_STOP, /* run=0 */
        _KSM_ACTION_MAX,
} KsmAction;

typedef struct KsmDecision {
        KsmAction action;
        /* The values ksmd should have; equal to the current ones for
         * KSM_ACTION_NONE, so ksm_apply() writes nothing then. */
        uint32_t run;
        uint32_t pages_to_scan;
        uint32_t sleep_millisecs;
        bool pressure;            /* free memory below the threshold */
        uint64_t threshold_bytes; /* 0 when not computed */
        char reason[KSM_REASON_MAX];
} KsmDecision;

/* committed plus one guest's memory, for KsmSample.committed_bytes: the sum
 * of the guests' current sizes (actual_bytes), each at most the boot_bytes it
 * booted with (0 unknown), saturating. */
uint64_t ksm_committed_add(uint64_t committed, uint64_t actual_bytes, uint64_t boot_bytes);

/* Pure: decides from the config, the sample and the state, and updates the
 * state for the next run. */
void ksm_decide(const KsmConfig *config, const KsmSample *sample, KsmState *state,
                KsmDecision *ret);

/* sleep_millisecs for a host of mem_total_bytes: SleepMsecPer16GiB scaled
 * inversely to its size, at least KSM_SLEEP_MSEC_FLOOR (or the configured
 * value when that is lower). */
uint32_t ksm_sleep_millisecs(const KsmConfig *config, uint64_t mem_total_bytes);

/*
 * Reads sysfs_dir/{run,pages_to_scan,sleep_millisecs,pages_shared,
 * pages_sharing,pages_unshared,pages_volatile,full_scans}. Returns 0; -ENOENT
 * when the directory is absent (ret->available false, the rest zero); another
 * -errno (-EINVAL for garbage) otherwise.
 */
int ksm_read(const char *sysfs_dir, KsmFigures *ret);

/*
 * Writes to sysfs_dir the values of decision that differ from current:
 * pages_to_scan and sleep_millisecs first, run last, so ksmd starts with the
 * new settings. Returns the number of files written (0: nothing changed) or
 * -errno; -ENOENT when current says KSM is unavailable.
 */
int ksm_apply(const char *sysfs_dir, const KsmFigures *current, const KsmDecision *decision);

/* "unavailable", "stopped", "running", "unmerging": for status and metrics. */
const char *ksm_run_state_to_string(const KsmFigures *f);

/* Memory KSM saves now: pages_sharing x page_size. */
uint64_t ksm_saved_bytes(const KsmFigures *f, uint64_t page_size);
