/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A non-blocking QMP client on sd-event: connects to one QEMU monitor socket,
 * reads the greeting, negotiates capabilities, matches replies to commands by
 * id and hands events to the owner. The stream is parsed incrementally, so a
 * message may arrive split or several may arrive at once. Any protocol error
 * (garbage, oversized message, EOF) closes this client only and reports it
 * through on_closed; other clients are untouched. What one message may cost
 * is bounded (see QMP_SMALL_MESSAGE_BYTES).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>
#include <systemd/sd-event.h>

typedef struct QmpClient QmpClient;

/*
 * Reply to one command. On success `ret` is the "return" member (borrowed:
 * valid only during the call, take a reference to keep it) and error is
 * NULL. On a QMP error reply, ret is NULL and error is its "desc". When the
 * connection closes with the command outstanding, ret is NULL and error says
 * so ("connection closed: ...").
 */
typedef void (*qmp_reply_fn)(QmpClient *c, json_object *ret, const char *error, void *userdata);

typedef struct QmpCallbacks {
        /* Greeting read and qmp_capabilities accepted: commands may be sent. */
        void (*on_ready)(QmpClient *c, void *userdata);
        /* An asynchronous event; data may be NULL. Borrowed for the call. */
        void (*on_event)(QmpClient *c, const char *event, json_object *data, void *userdata);
        /* The connection is gone (EOF, I/O error, protocol error, timeout).
         * reason is a one-line description. The client stays allocated until
         * the owner frees it; it may be freed from inside this callback. */
        void (*on_closed)(QmpClient *c, const char *reason, void *userdata);
        /* Every command sent has been answered (after the last reply's
         * callback): an owner sharing the monitor may hang up. May be NULL. */
        void (*on_idle)(QmpClient *c, void *userdata);
} QmpCallbacks;

/*
 * What one message may cost, counted ahead of json-c as the bytes stream in
 * (json-c builds objects as it parses, so a byte cap alone let 8 MiB of
 * "[{},{},..." cost 2 GB): its bytes, and its elements, which estimate
 * json-c's heap in units of about 100 bytes: one per '[', ',' and ':' outside
 * strings, eight per '{' (each object gets a hash table). A peer that sends
 * a message over budget is cut off, as is one nesting deeper than
 * QMP_MAX_DEPTH.
 *
 * Every message gets the small budget, except while a command whose reply
 * may be large is pending (query-qmp-schema; qom-list and x-query-virtio,
 * whose replies grow with the machine's devices). Measured on QEMU 7.2: its
 * schema is 207 KB, 56,745 elements and 7 levels deep; the largest reply to
 * any other command memtided sends (x-query-virtio-status) 1.7 KB and 124
 * elements. So an ordinary message costs json-c at most about 400 KB, a
 * large one about 25 MB.
 */
#define QMP_SMALL_MESSAGE_BYTES    (64u * 1024u)
#define QMP_SMALL_MESSAGE_ELEMENTS 4096u
#define QMP_MAX_MESSAGE_BYTES      (1024u * 1024u)
#define QMP_MAX_MESSAGE_ELEMENTS   (256u * 1024u)
#define QMP_MAX_DEPTH              16
/* Bytes of commands queued and not yet written: a peer that stops reading
 * must not make us buffer without bound. */
#define QMP_MAX_OUTPUT_BYTES (8u * 1024u * 1024u)
/* Commands sent and not answered yet: a peer that reads and never answers
 * must not make us keep them without bound either. memtided has a handful
 * in flight per guest. */
#define QMP_MAX_PENDING 64u

/* Connects (non-blocking) to a Unix socket path. */
int qmp_client_new(QmpClient **ret, sd_event *event, const char *socket_path,
                   const QmpCallbacks *callbacks, void *userdata);
/* Takes ownership of an already connected stream socket (tests: socketpair). */
int qmp_client_new_fd(QmpClient **ret, sd_event *event, int fd, const QmpCallbacks *callbacks,
                      void *userdata);
/* Closes the socket; outstanding commands are dropped without callbacks. Accepts NULL. */
QmpClient *qmp_client_free(QmpClient *c);

bool qmp_client_is_ready(const QmpClient *c);
const char *qmp_client_socket_path(const QmpClient *c);
/* The QEMU process at the other end (SO_PEERCRED), or -errno. */
int qmp_client_peer_pid(const QmpClient *c);

/*
 * Queues a command. args may be NULL; ownership of args passes to the client
 * even on failure. cb may be NULL to ignore the reply. Returns 0 or -errno
 * (-ENOTCONN when the client is not ready or closed, -ENOBUFS past
 * QMP_MAX_PENDING or QMP_MAX_OUTPUT_BYTES).
 */
int qmp_client_command(QmpClient *c, const char *command, json_object *args, qmp_reply_fn cb,
                       void *userdata);

/* Number of commands sent and not answered yet. */
size_t qmp_client_pending(const QmpClient *c);
/* When the oldest of them was queued (CLOCK_MONOTONIC, the event loop's
 * time), or 0 when every command is answered. */
uint64_t qmp_client_oldest_pending_usec(const QmpClient *c);
