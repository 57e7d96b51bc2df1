/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * One guest as the manager sees it, whatever backend reaches it: its
 * balloon, its stats, its settings and the decisions taken for it. What a
 * backend needs beyond this (a QMP connection, retry state) hangs off
 * backend_data and is the backend's own.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>

#include "actuator.h"
#include "backend.h"
#include "balloon-stats.h"
#include "cleanup.h"
#include "config.h"
#include "guest-compat.h"
#include "memory-devices.h"
#include "other-controller.h"
#include "target-history.h"
#include "overrides.h"
#include "policy.h"
#include "qmp.h"
#include "vmem-plan.h"

typedef enum GuestState {
        GUEST_CONNECTING,   /* connection or set-up under way */
        GUEST_READY,        /* managed every cycle */
        GUEST_DISCONNECTED, /* gone or refused us: not listed; the backend may retry */
} GuestState;

/* One past decision with the inputs it saw, for memtidectl explain. */
typedef struct DecisionRecord {
        uint64_t wall_sec;
        bool sent;         /* a change decided while observing is recorded, not sent */
        GuestSample input; /* name not kept: the guest's own */
        Decision decision;
} DecisionRecord;

#define GUEST_HISTORY 10

/* virtio-mem devices shown per guest; the first with an id is driven. */
#define GUEST_MAX_VMEM 4

/* A guest's virtio-mem devices as its backend last saw them (QMP:
 * query-memory-devices), whichever backend reaches it. */
typedef struct GuestVmem {
        VmemDevice devices[GUEST_MAX_VMEM];
        size_t n_devices;            /* in devices[] */
        size_t n_total;              /* the guest has, also those beyond GUEST_MAX_VMEM */
        int driven;                  /* index of the device memtided drives; -1 none */
        VmemStall stall;             /* of the driven device */
        bool stalled;                /* its unplug stopped short (vmem_stall_update()) */
        bool balloon_covers_stall;   /* the last split had the balloon take it */
        uint64_t plugged_since_usec; /* the driven device's plugged size unchanged since */
        bool settled;                /* ... for GUEST_VMEM_SETTLE_USEC */
} GuestVmem;

/* Blocks are onlined after QEMU counts them plugged and offlined before it
 * counts them unplugged: once the plugged size has stood still this long,
 * the guest's MemTotal has caught up (a 512 MiB plug takes 0.25 s on TCG). */
#define GUEST_VMEM_SETTLE_USEC (3 * UINT64_C(1000000))

typedef struct Guest {
        Manager *manager;
        Backend *backend;
        void *backend_data; /* the backend's per-guest state, freed by its forget() */
        char *key;  /* identifies the guest within its backend: QMP socket path, domain UUID */
        char *name; /* QMP query-name or the libvirt domain's name; the key until known */
        char *uuid; /* NULL when QEMU has none */
        GuestState state;
        bool paused; /* stopped, suspended or crashed: its stats go stale */

        const ActuatorOps *actuators[GUEST_MAX_ACTUATORS];
        size_t n_actuators;

        /* The balloon's actual size, at most boot memory (QEMU's ram_size
         * excludes virtio-mem); boot memory for a guest without a balloon. */
        uint64_t actual_bytes;
        uint64_t qemu_rss_bytes; /* resident memory of the QEMU process; 0 unknown */
        int qemu_pid;            /* QMP: the socket's peer; libvirt: found by -uuid; 0 unknown */
        uint64_t max_bytes;      /* boot memory */
        GuestVmem vmem;
        BalloonStats stats;
        uint64_t stats_actual_bytes;   /* guest_total_bytes() when the last new report arrived */
        uint64_t kernel_reserve_bytes; /* total - MemTotal seen with the balloon fully deflated */

        bool command_pending;
        uint64_t pending_target_bytes; /* the policy's target: the guest's total */
        uint64_t command_sent_usec;
        /* What the devices can reach of the pending target (guest_apply_target()):
         * the command arrives when the total is within a block of it. */
        uint64_t planned_total_bytes;
        uint64_t balloon_target_bytes; /* last target sent to the balloon; 0 none */

        GuestCompat compat;
        OtherController other_controller;
        GuestSettings settings;
        PolicyGuestState policy_state;
        bool has_decision;
        Decision last_decision;
        DecisionRecord history[GUEST_HISTORY]; /* ring, newest at history_next - 1 */
        unsigned history_next, history_len;
        TargetHistory changes; /* kept across reconnects: a log, not connection state */

        char *last_error;
} Guest;

/* A guest of backend b, known by key (also its name until it has one). */
int guest_new(Guest **ret, Manager *m, Backend *b, const char *key);
Guest *guest_free(Guest *g);
DEFINE_POINTER_CLEANUP(Guest, guest_free)

/* Replace the guest's name or UUID (copies). */
int guest_set_name(Guest *g, const char *name);
int guest_set_uuid(Guest *g, const char *uuid);

/* A QMP command to the guest's QEMU through its backend; -EPERM where the
 * backend offers none. Takes args. */
int guest_qmp_command(Guest *g, const char *command, json_object *args, qmp_reply_fn cb);

/* New stats: keeps the report, learns the kernel reserve. True when the
 * report is new (QEMU's last-update moved). */
bool guest_stats_arrived(Guest *g, const BalloonStats *s);
/* The balloon reached actual_bytes (BALLOON_CHANGE, a stats refresh). */
void guest_balloon_changed(Guest *g, uint64_t actual_bytes);
/* The guest's virtio-mem devices now (n of n_total kept); now_usec for the
 * stall check of the driven one. */
void guest_vmem_changed(Guest *g, const VmemDevice *devs, size_t n, size_t n_total,
                        uint64_t now_usec);
/* The driven virtio-mem device, or NULL. */
const VmemDevice *guest_vmem_driven(const Guest *g);
/* "virtio-mem vmem0 (block 2.0 MiB, max 1.0 GiB, plugged 512.0 MiB)": the
 * driven device, for the log; NULL without one (or out of memory). */
char *guest_vmem_describe(const Guest *g);
/* The memory the guest has: the balloon's actual size plus what every
 * virtio-mem device has plugged. */
uint64_t guest_total_bytes(const Guest *g);
/* The most its devices can give it: boot memory, the driven device's
 * maximum, what the others have plugged (memtided does not move them). */
uint64_t guest_device_max_bytes(const Guest *g);
/* The connection is gone: everything learnt through it is dropped. */
void guest_reset(Guest *g, const char *reason);

/* Defaults, then what the guest's VM manager sets (its backend's vm_settings),
 * the config's [Guest:] rules, the operator's runtime override: each field
 * keeps the source of the last layer that set it. */
void guest_apply_settings(Guest *g, const MemtideConfig *config, const Overrides *overrides);

/* sent: the change goes to the guest (false while observing). */
void guest_record_decision(Guest *g, uint64_t wall_sec, const GuestSample *in, const Decision *d,
                           bool sent);

const char *guest_state_to_string(GuestState s);
