/* SPDX-License-Identifier: GPL-2.0-or-later */
/* One managed guest: what memtided knows of it and its connection. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "balloon-stats.h"
#include "compat.h"
#include "config.h"
#include "policy.h"
#include "qmp.h"

typedef struct Manager Manager;

typedef enum GuestState {
        GUEST_CONNECTING,   /* socket connected, QMP handshake or set-up running */
        GUEST_READY,        /* managed every cycle */
        GUEST_DISCONNECTED, /* QEMU gone or refused us: retried with backoff, not listed */
} GuestState;

/* What the compatibility layer learnt of this guest's balloon device (QMP x-query-virtio*). */
typedef struct GuestCompat {
        bool probing;            /* a query chain is under way */
        bool supported;          /* QEMU has the x-query-virtio commands */
        bool probed;             /* the schema probe has answered */
        char *virtio_path;       /* QOM path of the virtio backend */
        char *unknown_reason;    /* why the verdict is unknown, when it is */
        VirtioStatus status;
        unsigned queues_pending; /* queue queries still to answer */
        bool have_inference;
        CompatInference inference;
        uint64_t next_refresh_usec;
        /* Page reporting liveness: used-idx of the reporting queue over a window. */
        int reporting_queue;     /* device index, COMPAT_INDEX_NONE when not in use */
        uint16_t window_used_idx;
        uint64_t window_start_usec;
        uint64_t window_freed_bytes;
        uint64_t last_free_bytes;
        CompatReporting reporting;
} GuestCompat;

/* One past decision with the inputs it saw, for memtidectl explain. */
typedef struct DecisionRecord {
        uint64_t wall_sec;
        GuestSample input; /* name not kept: the guest's own */
        Decision decision;
} DecisionRecord;

#define GUEST_HISTORY 10

typedef enum GuestBackend {
        GUEST_BACKEND_QMP,     /* our own QMP connection to QEMU */
        GUEST_BACKEND_LIBVIRT, /* through libvirtd (daemon/libvirt-guests.c) */
        GUEST_BACKEND_FAKE,    /* in-process, for benchmarks: a target is reached at once */
} GuestBackend;

typedef struct Guest {
        Manager *manager;
        GuestBackend backend;
        char *socket_path; /* QMP only */
        char *name; /* QMP query-name, else the socket file's stem */
        char *uuid; /* NULL when QEMU has none */
        char *balloon_path; /* QOM path of the balloon device */
        QmpClient *qmp;
        GuestState state;
        bool seen;   /* discovery mark */
        bool paused; /* QMP: stopped (STOP/RESUME); libvirt: suspended or crashed. Its stats go stale */

        uint64_t actual_bytes;
        uint64_t qemu_rss_bytes; /* resident memory of the QEMU process; 0 unknown */
        uint64_t max_bytes;
        BalloonStats stats;
        uint64_t stats_actual_bytes; /* actual_bytes when the last new report arrived */
        uint64_t kernel_reserve_bytes; /* max - MemTotal seen with the balloon fully deflated */
        bool stats_poll_inflight;
        uint64_t stats_poll_sent_usec;
        uint64_t connect_started_usec;

        bool command_pending;
        uint64_t pending_target_bytes;
        uint64_t command_sent_usec;

        GuestCompat compat;
        GuestSettings settings;
        PolicyGuestState policy_state;
        bool has_decision;
        Decision last_decision;
        DecisionRecord history[GUEST_HISTORY]; /* ring, newest at history_next - 1 */
        unsigned history_next, history_len;

        unsigned failures;
        uint64_t reconnect_at_usec;
        char *last_error;
} Guest;

/* key: the QMP socket path, or the libvirt domain's UUID. */
int guest_new(Guest **ret, Manager *m, GuestBackend backend, const char *key);
const char *guest_backend_to_string(GuestBackend b);
/*
 * A QMP command to the guest's QEMU: over our own monitor connection, or for
 * a libvirt guest through libvirt's passthrough (LibvirtQMPPassthrough=yes;
 * -EPERM otherwise). cb gets c == NULL for libvirt guests. Takes args.
 */
int guest_qmp_command(Guest *g, const char *command, json_object *args, qmp_reply_fn cb);

/* New stats from either backend: keeps the report, learns the kernel reserve. */
void guest_stats_arrived(Guest *g, const BalloonStats *s);
/* The balloon reached actual_bytes (BALLOON_CHANGE from either backend). */
void guest_balloon_changed(Guest *g, uint64_t actual_bytes);
Guest *guest_free(Guest *g);

const char *guest_state_to_string(GuestState s);

/* QMP backend (qmp-guest.c) */
int qmp_guest_connect(Guest *g);
void qmp_guest_disconnect(Guest *g, const char *reason);
int qmp_guest_poll_stats(Guest *g);
int qmp_guest_set_stats_period(Guest *g);
int qmp_guest_refresh_balloon(Guest *g);
int qmp_guest_set_target(Guest *g, uint64_t target_bytes);

/* Compatibility probing over QMP (qmp-compat.c) */
void qmp_compat_refresh(Guest *g, uint64_t now_usec);
void qmp_compat_note_stats(Guest *g);
void guest_compat_clear(GuestCompat *c);
bool guest_compat_reporting_functional(const GuestCompat *c);
const char *guest_compat_verdict(const GuestCompat *c);
