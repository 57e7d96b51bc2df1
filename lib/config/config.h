/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * memtide.conf: systemd-style INI. The main file, then FILE.d/\*.conf in
 * lexical order (later files win). Errors name file:line and the reason; a
 * failed load leaves the caller's current config untouched.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cleanup.h"
#include "guest-settings.h"
#include "ksm.h"
#include "policy-config.h"

#include "memtide-config.h"

/* The main file; may be absent, then defaults and its drop-ins apply. */
#define CONFIG_DEFAULT_PATH           MEMTIDE_SYSCONFDIR "/memtide/memtide.conf"
#define CONFIG_DEFAULT_CONTROL_SOCKET "/run/memtide/io.memtide.socket"
/* Where Proxmox VE keeps each VM's config (pmxcfs). */
#define CONFIG_DEFAULT_PROXMOX_CONFIG_DIR "/etc/pve/qemu-server"
/* Proxmox VE's own monitors: qm, pvestatd and backups connect to them too. */
#define CONFIG_DEFAULT_SHARED_QMP_SOCKETS "/var/run/qemu-server/*.qmp /run/qemu-server/*.qmp"

/* Manage: send the policy's targets. Observe: decide and record, send nothing. */
typedef enum DaemonMode {
        DAEMON_MODE_MANAGE,
        DAEMON_MODE_OBSERVE,
        _DAEMON_MODE_MAX,
} DaemonMode;

const char *daemon_mode_to_string(DaemonMode m);
/* "debug", "info", "notice", "warning", "err" for the syslog levels; NULL else. */
const char *log_level_to_string(int level);
int log_level_from_string(const char *s);

typedef enum BackendKind {
        BACKEND_AUTO,
        BACKEND_QMP,
        BACKEND_LIBVIRT,
        _BACKEND_KIND_MAX,
} BackendKind;

/* GuestMemoryBudget=: what the guests may hold together. */
typedef enum GuestBudgetKind {
        GUEST_BUDGET_NONE, /* unset or empty: the host's memory alone */
        GUEST_BUDGET_SIZE, /* a fixed size */
        GUEST_BUDGET_AUTO, /* the limit of the memory cgroup that holds the guests */
} GuestBudgetKind;

typedef struct GuestBudgetConfig {
        GuestBudgetKind kind;
        uint64_t bytes; /* GUEST_BUDGET_SIZE */
} GuestBudgetConfig;

typedef struct GuestRule {
        char *match; /* name glob or UUID, from [Guest:MATCH] */
        char *file;  /* the file the section is in, for the settings' sources */
        bool min_set, max_set, manage_set;
        uint64_t min_bytes;
        uint64_t max_bytes;
        bool max_below_floor_set;
        bool max_below_floor; /* MaxMemoryBelowFloor= */
        bool manage;
        bool shares_set;
        uint32_t shares;
} GuestRule;

typedef struct MemtideConfig {
        BackendKind backend;
        DaemonMode mode;
        int log_level; /* syslog level: LOG_ERR .. LOG_DEBUG */
        char *libvirt_uri;
        bool libvirt_qmp_passthrough; /* compat probing through libvirt; taints domains */
        char **qmp_sockets;           /* NULL-terminated globs */
        /* Monitors other clients use too (Proxmox's qm, pvestatd): held only
         * while memtided has commands for them. NULL-terminated globs. */
        char **shared_qmp_sockets;
        /* How long memtided leaves a guest alone after another controller
         * moved its balloon. */
        uint64_t other_controller_hold_usec;
        uint64_t interval_usec;
        uint64_t stats_period_usec;
        bool pressure_trigger; /* a PSI trigger brings the cycle forward */
        char *control_socket;
        char *state_directory;    /* runtime overrides survive restarts here */
        char *metrics_file;       /* Prometheus textfile, NULL = none */
        char *proxmox_config_dir; /* VMID.conf per QMP socket VMID.qmp; NULL = none */
        GuestBudgetConfig guest_budget;
        /* GuestMemoryCgroup=: the guests' memory cgroup, relative to the
         * cgroup mount ("/machine.slice"); NULL = found from QEMU's pid. */
        char *guest_memory_cgroup;
        PolicyConfig policy;
        KsmConfig ksm; /* [KSM] */
        GuestRule *guest_rules;
        size_t n_guest_rules;
} MemtideConfig;

/* Defaults only. */
int config_new(MemtideConfig **ret);
MemtideConfig *config_free(MemtideConfig *c);
DEFINE_POINTER_CLEANUP(MemtideConfig, config_free)

/*
 * Loads path and its drop-in directory path.d/. On error returns -errno and
 * sets *ret_error to "file:line: reason" (caller frees): every error of every
 * file, one a line (a bad line is skipped and parsing goes on, so that one
 * run shows them all); any error refuses the whole config.
 */
int config_load(const char *path, MemtideConfig **ret, char **ret_error);

/* Like config_load, but a missing main file means defaults (plus drop-ins). */
int config_load_optional(const char *path, MemtideConfig **ret, char **ret_error);

/* Parses one file's text into c (used by config_load and tests); errors as config_load's,
 * the good lines applied to c all the same. */
int config_parse_text(MemtideConfig *c, const char *text, const char *filename, char **ret_error);

/* Effective settings for a guest: the defaults, then the matching [Guest:] rules. */
void config_guest_settings(const MemtideConfig *c, const char *name, const char *uuid,
                           GuestSettings *ret);
/* The matching [Guest:] rules over s (the last match wins per key), each
 * key's source "config FILE [Guest:MATCH]". */
void config_guest_rules_apply(const MemtideConfig *c, const char *name, const char *uuid,
                              GuestSettings *s);

const char *backend_kind_to_string(BackendKind k);

/* The keys the parser knows, for docs and tests. */
/*
 * Writes the config as a config file: [Daemon], [Policy], [KSM] with every
 * key at its value, then each [Guest:] rule with the keys it sets. What it
 * writes parses back into the same config. -EIO when writing fails.
 */
int config_dump(const MemtideConfig *c, FILE *f);

size_t config_key_count(void);
const char *config_key_name(size_t i);
