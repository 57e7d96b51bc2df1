/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The seam between the manager and the ways it reaches guests. A backend
 * finds guests, keeps them connected, feeds them stats and attaches the
 * actuators that move their memory (actuator.h); the manager only calls
 * these operations, never a backend's own functions, and never asks which
 * backend a guest has. main.c picks the backend (Backend=auto resolved).
 *
 * Adding a backend: one file that fills a BackendOps, plus its line in
 * main.c. Every operation runs on the manager's event loop and must not block.
 */
#pragma once

#include <json-c/json.h>

#include "qmp.h"

typedef struct Backend Backend;
typedef struct Guest Guest;
typedef struct GuestSettings GuestSettings;
typedef struct Manager Manager;

typedef struct BackendOps {
        const char *name; /* "qmp", "libvirt": shown per guest and in status */
        /* Starts finding guests on m's loop; fills b->data. */
        int (*start)(Backend *b);
        /* Releases b->data; the guests are already freed. */
        void (*stop)(Backend *b);
        /* Before each control cycle: discovery, what the cycle reads (QEMU's RSS). */
        void (*cycle_begin)(Backend *b);
        /* After it: refresh what the next cycle needs (balloon size, compat probes). */
        void (*cycle_end)(Backend *b);
        /* The stats poll timer: ask for fresh balloon stats, check that peers answer. */
        void (*poll)(Backend *b);
        /* After a reload changed StatsPeriod=: apply it to every running guest. */
        int (*set_stats_period)(Backend *b);
        /* Optional: a QMP command to the guest's QEMU; cb gets c == NULL when not
         * sent over a QmpClient of ours. Takes args. NULL or -EPERM: not available. */
        int (*qmp_command)(Guest *g, const char *command, json_object *args, qmp_reply_fn cb);
        /* The guest is being freed: drop the backend's per-guest data. */
        void (*forget)(Guest *g);
        /* Optional: backend-specific fields of a guest for memtidectl (e.g. "socket"). */
        void (*describe_guest)(const Guest *g, json_object *o);
        /* Optional: what the guest's VM manager (a Proxmox VM config, the libvirt
         * domain) sets, put into s over memtide's defaults with each field's
         * source; the config's [Guest:] rules and the overrides come on top.
         * Called whenever the settings are applied: the guest ready, a reload. */
        void (*vm_settings)(Guest *g, GuestSettings *s);
        /* Optional: the backend's own state for memtidectl status (key: name). */
        json_object *(*status_json)(Backend *b);
} BackendOps;

struct Backend {
        const BackendOps *ops;
        Manager *manager;
        void *data; /* the backend's own, owned by it */
};
