/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * One guest over our own QMP connection: the set-up sequence after the
 * handshake, stats polls, balloon and virtio-mem commands and events, and
 * reconnection with backoff. Private to the QMP backend (qmp-backend.c).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "guest.h"
#include "qmp-command-queue.h"
#include "qmp.h"
#include "stats-poll-schedule.h"

/* The QMP backend's per-guest state (Guest.backend_data). */
typedef struct QmpGuest {
        QmpClient *qmp;
        char *balloon_path; /* QOM path of the balloon device; NULL without one */
        /* query-memory-devices showed virtio-mem devices at set-up: each
         * stats poll asks for their sizes again (plugging is the guest's). */
        bool has_vmem;
        bool vmem_query_inflight;
        bool seen; /* discovery mark */
        /* One stats poll and one query-balloon at a time: a monitor that
         * answers late must not collect a queue of them. */
        bool stats_poll_inflight;
        bool balloon_query_inflight;
        /* Stats polls just after each report is due (not on a shared
         * monitor, which is polled once per cycle). */
        StatsPollSchedule stats_schedule;
        sd_event_source *stats_timer;
        uint64_t stats_poll_sent_usec; /* when the poll in flight went out */
        bool status_query_inflight;
        uint64_t balloon_event_usec; /* the last BALLOON_CHANGE; 0: none */
        uint64_t connect_started_usec;
        unsigned failures;
        uint64_t reconnect_at_usec;

        /* A monitor other clients use too (SharedQMPSockets=, read when we
         * connect): once set up, memtided connects only for a session, the
         * commands queued since the last one, and hangs up when all are
         * answered, so that another client waits at most that long. */
        bool shared;
        QmpCommandQueue queue;
        int peer_pid;      /* QEMU's, kept between sessions for its RSS */
        uint64_t sessions; /* sessions opened after the set-up */
} QmpGuest;

static inline QmpGuest *qmp_guest_of(const Guest *g)
{
        return g->backend_data;
}

/* Gives g its QMP state; -ENOMEM. */
int qmp_guest_attach(Guest *g);
/* Closes the connection and frees the QMP state. */
void qmp_guest_detach(Guest *g);

/* Connects when the guest is disconnected and its backoff has passed. */
void qmp_guest_try_connect(Guest *g, uint64_t now_usec);
/* Drops the connection; reconnected later with backoff (1 s doubling to 30 s). */
void qmp_guest_lost(Guest *g, const char *reason);
/* True when the monitor has left a command unanswered for too long (QEMU
 * stopped or wedged, or a peer that answers only some commands). */
bool qmp_guest_stuck(const Guest *g, uint64_t now_usec);

/* True for a guest on a shared monitor: polled once per cycle, not at every tick. */
bool qmp_guest_shared(const Guest *g);
/* A session on a shared monitor opened and not greeted yet (another client holds it). */
bool qmp_guest_session_waiting(const Guest *g);

int qmp_guest_poll_stats(Guest *g);
/* query-status: a shared monitor's STOP and RESUME events are missed between sessions. */
int qmp_guest_refresh_status(Guest *g);
int qmp_guest_set_stats_period(Guest *g);
int qmp_guest_refresh_balloon(Guest *g);
/* query-balloon while the balloon may be moving: a command of ours on its
 * way, a BALLOON_CHANGE in the last 2 s, or a shared monitor (whose events
 * are missed between sessions). */
int qmp_guest_refresh_balloon_if_moving(Guest *g);
/* query-memory-devices: the virtio-mem devices' plugged and requested sizes. */
int qmp_guest_refresh_vmem(Guest *g);
int qmp_guest_command(Guest *g, const char *command, json_object *args, qmp_reply_fn cb);
/* Process id of the QEMU at the other end, or <= 0. */
int qmp_guest_peer_pid(const Guest *g);
