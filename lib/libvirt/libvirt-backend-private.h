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
        LIBVIRT_REQUEST_SET_VMEM,
} LibvirtRequestType;

typedef struct LibvirtRequest {
        LibvirtRequestType type;
        uint64_t id;
        char uuid[LIBVIRT_UUID_STRING_LEN];
        uint64_t target_bytes;          /* SET_MEMORY; SET_VMEM: the requested size */
        char alias[VMEM_DEVICE_ID_MAX]; /* SET_VMEM */
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
        LIBVIRT_NOTE_VMEM_SIZE,
} LibvirtNoteType;

typedef struct LibvirtNote {
        LibvirtNoteType type;
        char uuid[LIBVIRT_UUID_STRING_LEN];
        int event, detail;
        uint64_t actual_kib;            /* BALLOON; VMEM_SIZE: plugged */
        char alias[VMEM_DEVICE_ID_MAX]; /* VMEM_SIZE */
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
        int lifecycle_cb, balloon_cb, vmem_cb;
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

/* The worker's shared helpers (libvirt-worker-calls.c): a libvirt
 * call's name published while it runs; a failure as -errno (message in
 * *message, owned by the caller, may be NULL); the guest of a request, or
 * NULL with the result's error set. */
void libvirt_worker_call_begin(LibvirtBackend *b, const char *call);
void libvirt_worker_call_end(LibvirtBackend *b);
int libvirt_worker_failed(LibvirtBackend *b, char **message);
void libvirt_worker_set_last_error(LibvirtBackend *b, const char *message);
LibvirtWorkerGuest *libvirt_worker_request_guest(LibvirtBackend *b, LibvirtResultEntry *e);
LibvirtWorkerGuest *libvirt_worker_guest_find(LibvirtBackend *b, const char *uuid);
void libvirt_worker_note(LibvirtBackend *b, LibvirtNote *n);
/* virDomainGetXMLDesc(flags); NULL on failure, message as libvirt_worker_failed(). */
char *libvirt_worker_xml(LibvirtBackend *b, virDomainPtr dom, unsigned flags, char **message);

/* virtio-mem (libvirt-worker-vmem.c): the event callback, registered with
 * the others; a guest's devices from its live XML (balloon and boot memory
 * corrected in info); a SET_VMEM request. */
void libvirt_worker_on_vmem_size(virConnectPtr conn, virDomainPtr dom, const char *alias,
                                 unsigned long long size_kib, void *opaque);
void libvirt_worker_read_vmem(LibvirtBackend *b, virDomainPtr dom, LibvirtGuestInfo *info);
void libvirt_worker_do_set_vmem(LibvirtBackend *b, LibvirtResultEntry *e, const char *alias);

/* The worker thread's body (libvirt-worker.c). userdata is the backend,
 * whose reference the worker drops when it ends. */
void *libvirt_worker_main(void *userdata);
