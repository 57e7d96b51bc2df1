/* SPDX-License-Identifier: GPL-2.0-or-later */
/* One managed guest: what memtided knows of it and its connection. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "balloon-stats.h"
#include "config.h"
#include "policy.h"
#include "qmp.h"

typedef struct Manager Manager;

typedef enum GuestState {
        GUEST_CONNECTING,   /* socket connected, QMP handshake or set-up running */
        GUEST_READY,        /* managed every cycle */
        GUEST_DISCONNECTED, /* QEMU gone or refused us: retried with backoff, not listed */
} GuestState;

typedef struct Guest {
        Manager *manager;
        char *socket_path;
        char *name; /* QMP query-name, else the socket file's stem */
        char *uuid; /* NULL when QEMU has none */
        char *balloon_path; /* QOM path of the balloon device */
        QmpClient *qmp;
        GuestState state;
        bool seen; /* discovery mark */

        uint64_t actual_bytes;
        uint64_t max_bytes;
        BalloonStats stats;
        uint64_t stats_actual_bytes; /* actual_bytes when the last new report arrived */
        bool stats_poll_inflight;
        uint64_t stats_poll_sent_usec;
        uint64_t connect_started_usec;

        bool command_pending;
        uint64_t pending_target_bytes;
        uint64_t command_sent_usec;

        GuestSettings settings;
        PolicyGuestState policy_state;
        bool has_decision;
        Decision last_decision;

        unsigned failures;
        uint64_t reconnect_at_usec;
        char *last_error;
} Guest;

int guest_new(Guest **ret, Manager *m, const char *socket_path);
Guest *guest_free(Guest *g);

const char *guest_state_to_string(GuestState s);

/* QMP backend (qmp-guest.c) */
int qmp_guest_connect(Guest *g);
void qmp_guest_disconnect(Guest *g, const char *reason);
int qmp_guest_poll_stats(Guest *g);
int qmp_guest_refresh_balloon(Guest *g);
int qmp_guest_set_target(Guest *g, uint64_t target_bytes);
