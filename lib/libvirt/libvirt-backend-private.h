/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What libvirt-backend.c (the caller's side: queues, drain, status) and
 * libvirt-worker.c (the worker thread: every libvirt call) share. Not for
 * use outside lib/libvirt-*.c.
 *
 * Locking: `lock` guards the three queues and the fields marked "locked";
 * nobody holds it across a libvirt call or a callback into the caller.
 * Fields marked "worker" are touched by the worker thread only.
 */
#pragma once

#include <pthread.h>
#include <stdatomic.h>

#include <libvirt/libvirt.h>

#include "libvirt-backend.h"

typedef enum LibvirtRequestType {
        LIBVIRT_REQUEST_STATS,
        LIBVIRT_REQUEST_SET_MEMORY,
        LIBVIRT_REQUEST_QMP,
        LIBVIRT_REQUEST_STATS_PERIOD,
} LibvirtRequestType;

typedef struct LibvirtRequest {
        LibvirtRequestType type;
        uint64_t id;
        char uuid[LIBVIRT_UUID_STRING_LEN];
        uint64_t target_bytes;
        char *command;
        unsigned stats_period_sec;
        struct LibvirtRequest *next;
} LibvirtRequest;

/* What libvirt's event callbacks pass to the worker: they run on the event
 * loop thread, which must stay free to answer keepalives, so they only note
 * what happened and leave every libvirt call to the worker. */
typedef enum LibvirtNoteType {
        LIBVIRT_NOTE_LIFECYCLE,
        LIBVIRT_NOTE_BALLOON,
} LibvirtNoteType;

typedef struct LibvirtNote {
        LibvirtNoteType type;
        char uuid[LIBVIRT_UUID_STRING_LEN];
        int event, detail;
        uint64_t actual_kib;
        struct LibvirtNote *next;
} LibvirtNote;

typedef struct LibvirtResultEntry {
        LibvirtResult result;
        struct LibvirtResultEntry *next;
} LibvirtResultEntry;

/* A guest as the worker knows it. */
typedef struct LibvirtWorkerGuest {
        char uuid[LIBVIRT_UUID_STRING_LEN];
        virDomainPtr dom; /* NULL while disconnected */
        /* The run (domain id) the current stats period was set for; -2 none
         * (or the period changed since). */
        int period_set_id;
        char *set_memory_error; /* last set-memory failure, for reporting once */
        bool seen;
} LibvirtWorkerGuest;

struct LibvirtBackend {
        atomic_int refs; /* the caller's and the running worker's */
        /* Read-only once started, except config.stats_period_sec: worker. */
        LibvirtBackendConfig config;
        char *uri;
        int efd;
        pthread_t worker;
        bool started;

        pthread_mutex_t lock;
        pthread_cond_t wake; /* worker: work, stop or a dead connection */

        /* locked */
        LibvirtRequest *requests;
        LibvirtNote *notes, **notes_tail;
        LibvirtResultEntry *results, **results_tail;
        bool stop;
        bool conn_dead;
        int close_reason; /* virConnectCloseReason of the close callback */
        uint64_t next_id;
        bool stats_pending;
        size_t pending_requests;
        LibvirtConnState state;
        unsigned connects;
        char call[48];
        uint64_t call_start_usec;
        char last_error[256];

        /* worker */
        virConnectPtr conn;
        int lifecycle_cb, balloon_cb;
        bool close_cb;
        LibvirtWorkerGuest *guests;
        size_t n_guests;
        uint64_t backoff_usec;
        uint64_t next_attempt_usec;
        char *disconnect_error; /* last DISCONNECTED reason sent */
};

uint64_t libvirt_now_usec(void);

/* Queues a result and wakes the caller's eventfd. Takes ownership of e. */
void libvirt_result_push(LibvirtBackend *b, LibvirtResultEntry *e);
void libvirt_result_push_locked(LibvirtBackend *b, LibvirtResultEntry *e);
LibvirtResultEntry *libvirt_result_new(LibvirtResultType type);
void libvirt_result_free(LibvirtResultEntry *e);

void libvirt_request_free(LibvirtRequest *q);

/* Drops a reference; the last frees b. */
void libvirt_backend_unref(LibvirtBackend *b);

/* The worker thread's body (libvirt-worker.c). userdata is the backend,
 * whose reference the worker drops when it ends. */
void *libvirt_worker_main(void *userdata);
