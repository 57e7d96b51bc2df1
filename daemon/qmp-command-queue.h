/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Commands for a shared QEMU monitor while memtided is not connected to it:
 * kept in order and sent when the next session is ready. Bounded, so a
 * monitor that other clients hold for long cannot make us pile them up.
 */
#pragma once

#include <stddef.h>

#include <json-c/json.h>

#include "qmp.h"

/* One cycle queues a handful (query-status, query-balloon, guest-stats, a
 * balloon target, the compat probes). */
#define QMP_COMMAND_QUEUE_MAX 16

typedef struct QueuedCommand {
        char *command;
        json_object *args;
        qmp_reply_fn cb;
        void *userdata;
} QueuedCommand;

typedef struct QmpCommandQueue {
        QueuedCommand items[QMP_COMMAND_QUEUE_MAX];
        size_t n;
} QmpCommandQueue;

/* Takes args, even on failure. -ENOBUFS when full, -ENOMEM. */
int qmp_command_queue_push(QmpCommandQueue *q, const char *command, json_object *args,
                           qmp_reply_fn cb, void *userdata);
/* Sends every queued command on c, in order; one that cannot be sent gets
 * its callback with the error (and a NULL client), as a failed reply would.
 * Empties the queue. */
void qmp_command_queue_flush(QmpCommandQueue *q, QmpClient *c);
/* Drops every queued command without calling back (the connection is gone
 * and its owner resets what the callbacks would have). */
void qmp_command_queue_clear(QmpCommandQueue *q);
