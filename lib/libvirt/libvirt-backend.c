/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The caller's side of the libvirt backend: construction and teardown,
 * request and result queues, the eventfd, status. Nothing here calls
 * libvirt or waits for the worker (see libvirt-backend.h); the worker
 * thread lives in libvirt-worker.c.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cleanup.h"
#include "libvirt-backend-private.h"
#include "libvirt-event-loop.h"

uint64_t libvirt_now_usec(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

int libvirt_backend_new(const LibvirtBackendConfig *config, LibvirtBackend **ret)
{
        pthread_condattr_t attr;
        LibvirtBackend *b;

        b = calloc(1, sizeof(*b));
        if (!b)
                return -ENOMEM;

        atomic_init(&b->refs, 1);
        b->config = *config;
        b->uri = strdup(config->uri ? config->uri : "qemu:///system");
        b->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (!b->uri || b->efd < 0) {
                int r = b->uri ? -errno : -ENOMEM;
                if (b->efd >= 0)
                        close(b->efd);
                free(b->uri);
                free(b);
                return r;
        }
        b->config.uri = b->uri;

        /* The worker's reconnection timer waits on the monotonic clock. */
        pthread_mutex_init(&b->lock, NULL);
        pthread_condattr_init(&attr);
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
        pthread_cond_init(&b->wake, &attr);
        pthread_condattr_destroy(&attr);

        b->notes_tail = &b->notes;
        b->results_tail = &b->results;
        b->next_id = 1;
        b->state = LIBVIRT_CONN_CONNECTING;
        b->lifecycle_cb = b->balloon_cb = b->vmem_cb = -1;
        b->close_reason = -1;
        b->backoff_usec = config->reconnect_min_usec;

        *ret = b;
        return 0;
}

/* A write to a dead libvirtd raises SIGPIPE on the worker, and its default
 * action ends the whole process. Leave a handler the caller installed. */
static void libvirt_ignore_sigpipe(void)
{
        struct sigaction sa;

        if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL) {
                sa.sa_handler = SIG_IGN;
                sigaction(SIGPIPE, &sa, NULL);
        }
}

int libvirt_backend_start(LibvirtBackend *b)
{
        int r;

        if (b->started)
                return -EALREADY;

        libvirt_ignore_sigpipe();

        /* The worker holds a loop reference (and one to b) until it ends. */
        r = libvirt_event_loop_ref();
        if (r < 0)
                return r;

        atomic_fetch_add(&b->refs, 1);
        r = libvirt_thread_create(&b->worker, libvirt_worker_main, b);
        if (r < 0) {
                atomic_fetch_sub(&b->refs, 1);
                libvirt_event_loop_unref();
                return r;
        }
        b->started = true;
        return 0;
}

void libvirt_request_free(LibvirtRequest *q)
{
        if (!q)
                return;
        free(q->command);
        free(q);
}

LibvirtResultEntry *libvirt_result_new(LibvirtResultType type)
{
        LibvirtResultEntry *e = calloc(1, sizeof(*e));

        if (e)
                e->result.type = type;
        return e;
}

void libvirt_result_free(LibvirtResultEntry *e)
{
        if (!e)
                return;
        free(e->result.error);
        switch (e->result.type) {
        case LIBVIRT_RESULT_GUEST_ADDED:
                free(e->result.guest.name);
                free(e->result.guest.stats_period_error);
                break;
        case LIBVIRT_RESULT_STATS:
                free(e->result.stats.guests);
                break;
        case LIBVIRT_RESULT_QMP_REPLY:
                free(e->result.qmp_reply);
                break;
        default:
                break;
        }
        free(e);
}

static void libvirt_wake_caller(LibvirtBackend *b)
{
        uint64_t one = 1;

        /* Fails only when the counter would overflow: it is readable then. */
        (void)!write(b->efd, &one, sizeof(one));
}

void libvirt_result_push_locked(LibvirtBackend *b, LibvirtResultEntry *e)
{
        e->next = NULL;
        *b->results_tail = e;
        b->results_tail = &e->next;
        if (e->result.request_id != 0 && b->pending_requests > 0)
                b->pending_requests--;
        libvirt_wake_caller(b);
}

void libvirt_result_push(LibvirtBackend *b, LibvirtResultEntry *e)
{
        pthread_mutex_lock(&b->lock);
        libvirt_result_push_locked(b, e);
        pthread_mutex_unlock(&b->lock);
}

static void libvirt_backend_destroy(LibvirtBackend *b)
{
        while (b->requests) {
                LibvirtRequest *q = b->requests;
                b->requests = q->next;
                libvirt_request_free(q);
        }
        while (b->notes) {
                LibvirtNote *n = b->notes;
                b->notes = n->next;
                free(n);
        }
        while (b->results) {
                LibvirtResultEntry *e = b->results;
                b->results = e->next;
                libvirt_result_free(e);
        }
        for (size_t i = 0; i < b->n_guests; i++)
                free(b->guests[i].set_memory_error);
        free(b->guests);
        free(b->disconnect_error);
        pthread_cond_destroy(&b->wake);
        pthread_mutex_destroy(&b->lock);
        closep(&b->efd);
        free(b->uri);
        free(b);
}

void libvirt_backend_unref(LibvirtBackend *b)
{
        if (atomic_fetch_sub(&b->refs, 1) == 1)
                libvirt_backend_destroy(b);
}

static int libvirt_join_until(pthread_t t, uint64_t timeout_usec)
{
        struct timespec deadline;

        clock_gettime(CLOCK_REALTIME, &deadline);
        deadline.tv_sec += timeout_usec / 1000000;
        deadline.tv_nsec += (timeout_usec % 1000000) * 1000;
        if (deadline.tv_nsec >= 1000000000) {
                deadline.tv_sec++;
                deadline.tv_nsec -= 1000000000;
        }
        return -pthread_timedjoin_np(t, NULL, &deadline);
}

LibvirtBackend *libvirt_backend_free(LibvirtBackend *b)
{
        if (!b)
                return NULL;

        if (b->started) {
                pthread_mutex_lock(&b->lock);
                b->stop = true;
                pthread_cond_signal(&b->wake);
                pthread_mutex_unlock(&b->lock);

                /* A worker stuck in libvirt (frozen libvirtd) must not hold
                 * up shutdown: it keeps its own reference and frees b when
                 * the call returns or keepalive cuts it off. */
                if (libvirt_join_until(b->worker, b->config.shutdown_timeout_usec) < 0)
                        pthread_detach(b->worker);
        }
        libvirt_backend_unref(b);
        return NULL;
}

int libvirt_backend_get_fd(const LibvirtBackend *b)
{
        return b->efd;
}

size_t libvirt_backend_drain(LibvirtBackend *b, LibvirtResultHandler handler, void *userdata)
{
        LibvirtResultEntry *list;
        uint64_t counter;
        size_t n = 0;

        /* Reset the counter before taking the list: a result pushed after
         * this read makes the fd readable again, so none is missed. */
        (void)!read(b->efd, &counter, sizeof(counter));

        pthread_mutex_lock(&b->lock);
        list = b->results;
        b->results = NULL;
        b->results_tail = &b->results;
        /* A stats request counts as out until its answer is drained. */
        for (LibvirtResultEntry *e = list; e; e = e->next)
                if (e->result.type == LIBVIRT_RESULT_STATS)
                        b->stats_pending = false;
        pthread_mutex_unlock(&b->lock);

        while (list) {
                LibvirtResultEntry *e = list;
                list = e->next;
                if (handler)
                        handler(&e->result, userdata);
                libvirt_result_free(e);
                n++;
        }
        return n;
}

static bool libvirt_uuid_valid(const char *uuid)
{
        if (!uuid || strlen(uuid) != LIBVIRT_UUID_STRING_LEN - 1)
                return false;
        for (size_t i = 0; uuid[i]; i++) {
                bool dash = i == 8 || i == 13 || i == 18 || i == 23;
                if (dash ? uuid[i] != '-' : !strchr("0123456789abcdefABCDEF", uuid[i]))
                        return false;
        }
        return true;
}

/* libvirt prints UUIDs in lower case; so does the worker's guest table. */
static void libvirt_uuid_copy(char dst[LIBVIRT_UUID_STRING_LEN], const char *src)
{
        for (size_t i = 0; i < LIBVIRT_UUID_STRING_LEN; i++)
                dst[i] = (char)tolower((unsigned char)src[i]);
}

static void libvirt_request_queue_locked(LibvirtBackend *b, LibvirtRequest *q)
{
        LibvirtRequest **p = &b->requests;

        while (*p)
                p = &(*p)->next;
        q->id = b->next_id++;
        *p = q;
        b->pending_requests++;
        pthread_cond_signal(&b->wake);
}

int libvirt_backend_request_stats(LibvirtBackend *b, uint64_t *ret_id)
{
        LibvirtRequest *q;
        int r = 0;

        q = calloc(1, sizeof(*q));
        if (!q)
                return -ENOMEM;
        q->type = LIBVIRT_REQUEST_STATS;

        pthread_mutex_lock(&b->lock);
        if (b->stats_pending)
                r = -EBUSY;
        else {
                b->stats_pending = true;
                libvirt_request_queue_locked(b, q);
                if (ret_id)
                        *ret_id = q->id;
                q = NULL;
        }
        pthread_mutex_unlock(&b->lock);

        free(q);
        return r;
}

/* A newer target for the same guest (and device) replaces one still
 * queued: after a stall, only the latest decision is worth sending. */
static LibvirtRequest *libvirt_find_queued_target(LibvirtBackend *b, LibvirtRequestType type,
                                                  const char *uuid, const char *alias)
{
        for (LibvirtRequest *q = b->requests; q; q = q->next)
                if (q->type == type && strcasecmp(q->uuid, uuid) == 0 &&
                    strcmp(q->alias, alias) == 0)
                        return q;
        return NULL;
}

static void libvirt_cancel_locked(LibvirtBackend *b, LibvirtRequest *q)
{
        bool vmem = q->type == LIBVIRT_REQUEST_SET_VMEM;
        LibvirtResultEntry *e =
                libvirt_result_new(vmem ? LIBVIRT_RESULT_SET_VMEM : LIBVIRT_RESULT_SET_MEMORY);

        if (!e)
                return;
        e->result.request_id = q->id;
        e->result.r = -ECANCELED;
        if (vmem) {
                memcpy(e->result.vmem.alias, q->alias, sizeof(q->alias));
                e->result.vmem.bytes = q->target_bytes;
        } else
                e->result.target_bytes = q->target_bytes;
        memcpy(e->result.uuid, q->uuid, sizeof(q->uuid));
        libvirt_result_push_locked(b, e);
}

/* Queues a target (SET_MEMORY, SET_VMEM), or replaces the one still queued. */
static int libvirt_queue_target(LibvirtBackend *b, LibvirtRequestType type, const char *uuid,
                                const char *alias, uint64_t target_bytes, uint64_t *ret_id)
{
        LibvirtRequest *q, *old;

        pthread_mutex_lock(&b->lock);
        old = libvirt_find_queued_target(b, type, uuid, alias);
        if (old) {
                libvirt_cancel_locked(b, old);
                b->pending_requests++; /* the cancel answered the old id */
                old->id = b->next_id++;
                old->target_bytes = target_bytes;
                if (ret_id)
                        *ret_id = old->id;
                pthread_mutex_unlock(&b->lock);
                return 0;
        }
        pthread_mutex_unlock(&b->lock);

        q = calloc(1, sizeof(*q));
        if (!q)
                return -ENOMEM;
        q->type = type;
        libvirt_uuid_copy(q->uuid, uuid);
        snprintf(q->alias, sizeof(q->alias), "%s", alias);
        q->target_bytes = target_bytes;

        pthread_mutex_lock(&b->lock);
        libvirt_request_queue_locked(b, q);
        if (ret_id)
                *ret_id = q->id;
        pthread_mutex_unlock(&b->lock);
        return 0;
}

int libvirt_backend_set_memory(LibvirtBackend *b, const char *uuid, uint64_t target_bytes,
                               uint64_t *ret_id)
{
        if (!libvirt_uuid_valid(uuid) || target_bytes == 0)
                return -EINVAL;
        return libvirt_queue_target(b, LIBVIRT_REQUEST_SET_MEMORY, uuid, "", target_bytes, ret_id);
}

int libvirt_backend_set_vmem(LibvirtBackend *b, const char *uuid, const char *alias,
                             uint64_t requested_bytes, uint64_t *ret_id)
{
        if (!libvirt_uuid_valid(uuid) || !alias || !alias[0] || strlen(alias) >= VMEM_DEVICE_ID_MAX)
                return -EINVAL;
        return libvirt_queue_target(b, LIBVIRT_REQUEST_SET_VMEM, uuid, alias, requested_bytes,
                                    ret_id);
}

/* Only queries, and of these the ones the compat layer reads: anything that
 * changes the guest behind libvirtd's back is refused. */
static bool libvirt_qmp_command_allowed(const char *command_json)
{
        _cleanup_json_ json_object *o = json_tokener_parse(command_json);
        json_object *execute;
        const char *name;

        if (!o || !json_object_object_get_ex(o, "execute", &execute) ||
            !json_object_is_type(execute, json_type_string))
                return false;
        name = json_object_get_string(execute);
        return strncmp(name, "x-query-virtio", 14) == 0 || strncmp(name, "query-", 6) == 0;
}

int libvirt_backend_qmp_query(LibvirtBackend *b, const char *uuid, const char *command_json,
                              uint64_t *ret_id)
{
        LibvirtRequest *q;

        if (!b->config.qmp_passthrough)
                return -EPERM;
        if (!libvirt_uuid_valid(uuid) || !command_json ||
            !libvirt_qmp_command_allowed(command_json))
                return -EINVAL;

        q = calloc(1, sizeof(*q));
        if (!q)
                return -ENOMEM;
        q->type = LIBVIRT_REQUEST_QMP;
        libvirt_uuid_copy(q->uuid, uuid);
        q->command = strdup(command_json);
        if (!q->command) {
                free(q);
                return -ENOMEM;
        }

        pthread_mutex_lock(&b->lock);
        libvirt_request_queue_locked(b, q);
        if (ret_id)
                *ret_id = q->id;
        pthread_mutex_unlock(&b->lock);
        return 0;
}

int libvirt_backend_set_stats_period(LibvirtBackend *b, unsigned seconds, uint64_t *ret_id)
{
        LibvirtRequest *q;

        /* virDomainSetMemoryStatsPeriod takes an int */
        if (seconds > INT_MAX)
                return -EINVAL;

        q = calloc(1, sizeof(*q));
        if (!q)
                return -ENOMEM;
        q->type = LIBVIRT_REQUEST_STATS_PERIOD;
        q->stats_period_sec = seconds;

        pthread_mutex_lock(&b->lock);
        libvirt_request_queue_locked(b, q);
        if (ret_id)
                *ret_id = q->id;
        pthread_mutex_unlock(&b->lock);
        return 0;
}

void libvirt_backend_get_status(LibvirtBackend *b, LibvirtBackendStatus *ret)
{
        uint64_t now = libvirt_now_usec();

        memset(ret, 0, sizeof(*ret));
        pthread_mutex_lock(&b->lock);
        ret->state = b->state;
        snprintf(ret->call, sizeof(ret->call), "%s", b->call);
        ret->call_usec = b->call[0] && now > b->call_start_usec ? now - b->call_start_usec : 0;
        ret->connects = b->connects;
        ret->pending_requests = b->pending_requests;
        snprintf(ret->last_error, sizeof(ret->last_error), "%s", b->last_error);
        pthread_mutex_unlock(&b->lock);

        ret->reachable = ret->state == LIBVIRT_CONN_CONNECTED &&
                         ret->call_usec <= b->config.call_timeout_usec;
}

const char *libvirt_conn_state_to_string(LibvirtConnState s)
{
        static const char *const names[] = {
                [LIBVIRT_CONN_CONNECTING] = "connecting",
                [LIBVIRT_CONN_CONNECTED] = "connected",
                [LIBVIRT_CONN_DISCONNECTED] = "disconnected",
        };
        return (size_t)s < ELEMENTSOF(names) ? names[s] : "unknown";
}

const char *libvirt_guest_state_to_string(LibvirtGuestState s)
{
        static const char *const names[] = {
                [LIBVIRT_GUEST_RUNNING] = "running",
                [LIBVIRT_GUEST_PAUSED] = "paused",
                [LIBVIRT_GUEST_PMSUSPENDED] = "pmsuspended",
                [LIBVIRT_GUEST_CRASHED] = "crashed",
                [LIBVIRT_GUEST_OTHER] = "other",
        };
        return (size_t)s < ELEMENTSOF(names) ? names[s] : "unknown";
}

const char *libvirt_remove_reason_to_string(LibvirtRemoveReason r)
{
        static const char *const names[] = {
                [LIBVIRT_REMOVED_SHUTDOWN] = "shutdown", [LIBVIRT_REMOVED_DESTROYED] = "destroyed",
                [LIBVIRT_REMOVED_CRASHED] = "crashed",   [LIBVIRT_REMOVED_MIGRATED] = "migrated",
                [LIBVIRT_REMOVED_SAVED] = "saved",       [LIBVIRT_REMOVED_FAILED] = "failed",
                [LIBVIRT_REMOVED_GONE] = "gone",         [LIBVIRT_REMOVED_OTHER] = "other",
        };
        return (size_t)r < ELEMENTSOF(names) ? names[r] : "unknown";
}

const char *libvirt_result_type_to_string(LibvirtResultType t)
{
        static const char *const names[] = {
                [LIBVIRT_RESULT_CONNECTED] = "connected",
                [LIBVIRT_RESULT_DISCONNECTED] = "disconnected",
                [LIBVIRT_RESULT_GUEST_ADDED] = "guest-added",
                [LIBVIRT_RESULT_GUEST_REMOVED] = "guest-removed",
                [LIBVIRT_RESULT_GUEST_STATE] = "guest-state",
                [LIBVIRT_RESULT_BALLOON_CHANGE] = "balloon-change",
                [LIBVIRT_RESULT_STATS] = "stats",
                [LIBVIRT_RESULT_SET_MEMORY] = "set-memory",
                [LIBVIRT_RESULT_QMP_REPLY] = "qmp-reply",
                [LIBVIRT_RESULT_STATS_PERIOD] = "stats-period",
        };
        return (size_t)t < ELEMENTSOF(names) ? names[t] : "unknown";
}
