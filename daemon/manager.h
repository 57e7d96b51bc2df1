/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The manager owns the event loop's timers, the config, the guests and the
 * control cycle (collect -> decide -> act). It reaches guests only through
 * its backend's operations (backend.h) and their actuators (actuator.h);
 * what else runs each cycle (metrics, KSM) hangs on after_cycle, set by main.c.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <systemd/sd-event.h>

#include "backend.h"
#include "config.h"
#include "guest-budget.h"
#include "guest.h"
#include "host.h"
#include "ksm.h"
#include "model.h"
#include "overrides.h"
#include "policy.h"
#include "psi-watch.h"

typedef struct Manager {
        sd_event *event;
        MemtideConfig *config;
        char *config_path;
        bool config_optional; /* the default path: may be absent */
        char *proc_root;      /* "/proc", or a fixture directory in tests */

        Backend backend;
        Guest **guests;
        size_t n_guests;

        sd_event_source *cycle_timer;
        sd_event_source *poll_timer;
        /* Runs at the end of every cycle (metrics, KSM): set by main.c. */
        void (*after_cycle)(struct Manager *m);

        HostSample host;
        bool host_ok;
        GuestBudget budget; /* GuestMemoryBudget=, read each cycle after the host */
        Overrides overrides;
        char *overrides_problem; /* why the overrides file was set aside, for status; NULL */
        PolicyState policy_state; /* the strategy's host-wide memory (cadence, MOM averages) */
        uint64_t start_usec;
        uint64_t cycles;
        uint64_t early_cycle_usec; /* when the last cycle brought forward was set to run; 0 none */
        PsiWatch psi;              /* PressureTrigger= */
        uint64_t psi_prev_total_usec, psi_prev_usec; /* the last cycle's PSI reading */
        uint64_t psi_prev2_total_usec;               /* the cycle's before; 0 none */
        uint64_t last_cycle_duration_usec;
        uint64_t balloon_commands;
        /* memtidectl pause (kept in the state directory): observing at run time. */
        bool operator_paused;
        bool debug_forced; /* memtided --debug: LogLevel= does not apply */
        uint64_t paused_since_sec;
        /* Balloon targets that could not be sent or that QEMU or libvirt
         * refused (or dropped with the connection): counted by act() and the
         * backends' reply handlers. */
        uint64_t balloon_commands_failed;
        KsmFigures ksm;
        KsmState ksm_state;
        int ksm_last_error;
        uint64_t ksm_next_usec;
        uint64_t errors_connection;
        uint64_t errors_metrics;
        int metrics_last_error;
} Manager;

/* Takes config. The backend's operations are the manager's only way to its guests. */
int manager_new(Manager **ret, MemtideConfig *config, const char *config_path,
                const BackendOps *backend);
Manager *manager_free(Manager *m);
DEFINE_POINTER_CLEANUP(Manager, manager_free)
/* Starts the backend and the timers. */
int manager_start(Manager *m);

uint64_t manager_now_usec(Manager *m);
/* The stats poll tick: a quarter of StatsPeriod=, at least 250 ms. */
uint64_t manager_poll_period_usec(const Manager *m);
/* Mode=observe or memtidectl pause: decide and record, send nothing. */
bool manager_observing(const Manager *m);
/* Wall clock seconds: QEMU stamps guest stats with host wall-clock time. */
uint64_t manager_wall_sec(void);

/* One control cycle: collect -> decide -> act over the ready guests. */
int manager_run_cycle(Manager *m);

/* Guests of the manager's backend, by key. */
int manager_add_guest(Manager *m, const char *key, Guest **ret);
void manager_remove_guest(Manager *m, Guest *g);
Guest *manager_find_guest(Manager *m, const char *key);

/* What backends report. */
/* Set up and managed from now on; device says what moves its memory, for the log. */
void manager_guest_ready(Manager *m, Guest *g, const char *device);
/* The guest's connection is gone; log_it false for a retry that failed again. */
void manager_guest_lost(Manager *m, Guest *g, const char *reason, bool log_it);
/* New balloon stats: kept, and a guest running short brings the cycle forward. */
void manager_stats_arrived(Manager *m, Guest *g, const BalloonStats *s);
/* Runs the cycle now, or at the end of the early-cycle limit (one per
 * StatsPeriod=); false when the timer is due sooner anyway. */
bool manager_cycle_soon(Manager *m);

/* The config's and the overrides' settings for g. */
void manager_refresh_settings(Manager *m, Guest *g);

/* Guest sample as the policy sees it (borrowed name). */
void manager_guest_sample(Manager *m, const Guest *g, GuestSample *ret);
