/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The manager owns the event loop, the config, the guests and the control cycle. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <systemd/sd-event.h>

#include "config.h"
#include "guest.h"
#include "ksm.h"
#include "model.h"
#include "overrides.h"
#include "policy.h"

typedef struct ControlServer ControlServer;
typedef struct LibvirtGuests LibvirtGuests;

typedef struct Manager {
        sd_event *event;
        MemtideConfig *config;
        char *config_path;
        bool config_optional; /* the default path: may be absent */
        char *proc_root; /* "/proc", or a fixture directory in tests */

        BackendKind backend; /* in effect: Backend=auto resolved at start */
        LibvirtGuests *libvirt;

        Guest **guests;
        size_t n_guests;

        sd_event_source *cycle_timer;
        sd_event_source *poll_timer;
        ControlServer *control;

        HostSample host;
        bool host_ok;
        Overrides overrides;
        PolicyState policy_state; /* the strategy's host-wide memory (cadence, MOM averages) */
        uint64_t start_usec;
        uint64_t cycles;
        uint64_t last_cycle_duration_usec;
        uint64_t balloon_commands;
        KsmFigures ksm;
        KsmState ksm_state;
        int ksm_last_error;
        uint64_t ksm_next_usec;
        uint64_t errors_connection;
        uint64_t errors_metrics;
        int metrics_last_error;
} Manager;

int manager_new(Manager **ret, MemtideConfig *config, const char *config_path);
Manager *manager_free(Manager *m);
int manager_start(Manager *m);

uint64_t manager_now_usec(Manager *m);
/* Wall clock seconds: QEMU stamps guest stats with host wall-clock time. */
uint64_t manager_wall_sec(void);

/* One control cycle: collect -> decide -> act over the ready guests. */
int manager_run_cycle(Manager *m);

int manager_add_guest(Manager *m, GuestBackend backend, const char *key, Guest **ret);
void manager_remove_guest(Manager *m, Guest *g);

/* Backend notifications. */
void manager_guest_ready(Manager *m, Guest *g);
void manager_guest_lost(Manager *m, Guest *g, const char *reason);
void manager_guest_stats_updated(Manager *m, Guest *g);

/* Config reload and runtime overrides (reload.c). */
int manager_reload(Manager *m, char **ret_error);
void manager_refresh_settings(Manager *m, Guest *g);
void manager_load_overrides(Manager *m);
int manager_set_override(Manager *m, const Override *patch);
int manager_reset_override(Manager *m, const char *guest);

/* Guest sample as the policy sees it (borrowed name). */
void manager_guest_sample(Manager *m, const Guest *g, GuestSample *ret);
