/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The libvirt backend's worker thread: the only thread that calls libvirt
 * (apart from the event loop's own dispatch). It connects and reconnects,
 * keeps the table of active guests by UUID, turns the notes left by event
 * callbacks into results, and answers requests one at a time.
 *
 * A call may block for as long as libvirtd does not answer; that is why it
 * runs here. The name and start of the current call are published (under
 * the lock) so that the caller can tell a slow libvirtd from a quiet one.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <libvirt/libvirt-qemu.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "cleanup.h"
#include "libvirt-backend-private.h"
#include "libvirt-event-loop.h"

/* --- bookkeeping shared with the caller ------------------------------------------------ */



static void worker_set_state(LibvirtBackend *b, LibvirtConnState state)
{
        pthread_mutex_lock(&b->lock);
        b->state = state;
        if (state == LIBVIRT_CONN_CONNECTED)
                b->connects++;
        pthread_mutex_unlock(&b->lock);
}




/* --- guest table ----------------------------------------------------------------------- */


static LibvirtWorkerGuest *worker_guest_add(LibvirtBackend *b, const char *uuid)
{
        LibvirtWorkerGuest *g = realloc(b->guests, (b->n_guests + 1) * sizeof(*g));

        if (!g)
                return NULL;
        b->guests = g;
        g = &b->guests[b->n_guests++];
        *g = (LibvirtWorkerGuest){.period_set_id = -2};
        snprintf(g->uuid, sizeof(g->uuid), "%s", uuid);
        return g;
}

static void worker_guest_remove(LibvirtBackend *b, LibvirtWorkerGuest *g)
{
        if (g->dom)
                virDomainFree(g->dom);
        free(g->set_memory_error);
        *g = b->guests[--b->n_guests];
}

/* --- results --------------------------------------------------------------------------- */

static void worker_push_removed(LibvirtBackend *b, const char *uuid, LibvirtRemoveReason why)
{
        LibvirtResultEntry *e = libvirt_result_new(LIBVIRT_RESULT_GUEST_REMOVED);

        if (!e)
                return;
        snprintf(e->result.uuid, sizeof(e->result.uuid), "%s", uuid);
        e->result.removed = why;
        libvirt_result_push(b, e);
}

static void worker_push_state(LibvirtBackend *b, const char *uuid, LibvirtGuestState state)
{
        LibvirtResultEntry *e = libvirt_result_new(LIBVIRT_RESULT_GUEST_STATE);

        if (!e)
                return;
        snprintf(e->result.uuid, sizeof(e->result.uuid), "%s", uuid);
        e->result.state = state;
        libvirt_result_push(b, e);
}

static LibvirtGuestState worker_guest_state(int state)
{
        switch (state) {
        case VIR_DOMAIN_RUNNING:
        case VIR_DOMAIN_BLOCKED: /* blocked on a resource, still running */
                return LIBVIRT_GUEST_RUNNING;
        case VIR_DOMAIN_PAUSED:
                return LIBVIRT_GUEST_PAUSED;
        case VIR_DOMAIN_PMSUSPENDED:
                return LIBVIRT_GUEST_PMSUSPENDED;
        case VIR_DOMAIN_CRASHED:
                return LIBVIRT_GUEST_CRASHED;
        default:
                return LIBVIRT_GUEST_OTHER;
        }
}

/*
 * The stats period is per QEMU process: set it once per run (domain id) of
 * the guest, and again when the period changes. Returns 0 (set, or nothing
 * to do) or -errno with libvirt's message in *message (owned by the caller).
 */
static int worker_set_stats_period(LibvirtBackend *b, LibvirtWorkerGuest *g, int id, char **message)
{
        int r;

        if (b->config.stats_period_sec == 0 || g->period_set_id == id)
                return 0;

        libvirt_worker_call_begin(b, "virDomainSetMemoryStatsPeriod");
        r = virDomainSetMemoryStatsPeriod(g->dom, (int)b->config.stats_period_sec,
                                          VIR_DOMAIN_AFFECT_LIVE);
        libvirt_worker_call_end(b);
        if (r < 0)
                return libvirt_worker_failed(b, message);
        g->period_set_id = id;
        return 0;
}

/* What the persistent definition says about memory (the inactive XML: the
 * live one's <currentMemory> is only the balloon's size now). No API gives
 * min_guarantee for QEMU, nor metadata values, hence the XML. Left at zero
 * when it cannot be had: the guest is still managed, on memtide's defaults. */
static void worker_read_definition(LibvirtBackend *b, virDomainPtr dom, LibvirtDomainMemory *ret)
{
        _cleanup_free_ char *xml = libvirt_worker_xml(b, dom, VIR_DOMAIN_XML_INACTIVE, NULL);

        if (xml)
                (void)libvirt_domain_xml_memory(xml, strlen(xml), ret);
}

/* Takes ownership of dom: records the guest (new, or a new run of a known
 * one) and sends GUEST_ADDED. */
static void worker_guest_appeared(LibvirtBackend *b, virDomainPtr dom)
{
        char uuid[VIR_UUID_STRING_BUFLEN];
        LibvirtWorkerGuest *g;
        LibvirtResultEntry *e;
        virDomainInfo info;
        int r;

        if (virDomainGetUUIDString(dom, uuid) < 0) {
                virDomainFree(dom);
                return;
        }
        g = libvirt_worker_guest_find(b, uuid) ?: worker_guest_add(b, uuid);
        e = libvirt_result_new(LIBVIRT_RESULT_GUEST_ADDED);
        if (!g || !e) {
                virDomainFree(dom);
                libvirt_result_free(e);
                return;
        }
        if (g->dom)
                virDomainFree(g->dom);
        g->dom = dom;
        g->seen = true;

        snprintf(e->result.uuid, sizeof(e->result.uuid), "%s", uuid);
        memcpy(e->result.guest.uuid, e->result.uuid, sizeof(e->result.uuid));
        e->result.guest.name = strdup(virDomainGetName(dom) ?: "");
        e->result.guest.id = (int)virDomainGetID(dom);

        libvirt_worker_call_begin(b, "virDomainGetInfo");
        r = virDomainGetInfo(dom, &info);
        libvirt_worker_call_end(b);
        if (r < 0) {
                e->result.r = libvirt_worker_failed(b, &e->result.error);
                e->result.guest.state = LIBVIRT_GUEST_OTHER;
                e->result.guest.actual_bytes = e->result.guest.max_bytes = STAT_UNKNOWN;
        } else {
                e->result.guest.state = worker_guest_state(info.state);
                e->result.guest.actual_bytes = (uint64_t)info.memory * 1024;
                e->result.guest.max_bytes = (uint64_t)info.maxMem * 1024;
        }
        worker_read_definition(b, dom, &e->result.guest.memory);
        if (r >= 0)
                libvirt_worker_read_vmem(b, dom, &e->result.guest);
        (void)worker_set_stats_period(b, g, e->result.guest.id,
                                      &e->result.guest.stats_period_error);
        libvirt_result_push(b, e);
}

/* --- libvirt callbacks (event loop thread: no libvirt calls here) ------------------------ */


static int worker_on_lifecycle(virConnectPtr conn, virDomainPtr dom, int event, int detail,
                               void *opaque)
{
        LibvirtNote *n = calloc(1, sizeof(*n));

        /* virDomainGetUUIDString reads the handle, it does not ask libvirtd. */
        if (!n || virDomainGetUUIDString(dom, n->uuid) < 0) {
                free(n);
                return 0;
        }
        n->type = LIBVIRT_NOTE_LIFECYCLE;
        n->event = event;
        n->detail = detail;
        libvirt_worker_note(opaque, n);
        return 0;
}

static void worker_on_balloon(virConnectPtr conn, virDomainPtr dom, unsigned long long actual_kib,
                              void *opaque)
{
        LibvirtNote *n = calloc(1, sizeof(*n));

        if (!n || virDomainGetUUIDString(dom, n->uuid) < 0) {
                free(n);
                return;
        }
        n->type = LIBVIRT_NOTE_BALLOON;
        n->actual_kib = actual_kib;
        libvirt_worker_note(opaque, n);
}

/* Only flags the connection: tearing it down is the worker's job. */
static void worker_on_close(virConnectPtr conn, int reason, void *opaque)
{
        LibvirtBackend *b = opaque;

        pthread_mutex_lock(&b->lock);
        b->conn_dead = true;
        b->close_reason = reason;
        pthread_cond_signal(&b->wake);
        pthread_mutex_unlock(&b->lock);
}

/* Never prompt: a daemon has no terminal, and a prompt would hang the worker. */
static int worker_refuse_credentials(virConnectCredentialPtr cred, unsigned int ncred, void *cbdata)
{
        return -1;
}

/* --- connection ------------------------------------------------------------------------ */

static void worker_free_notes(LibvirtNote *n)
{
        while (n) {
                LibvirtNote *next = n->next;
                free(n);
                n = next;
        }
}

static const char *worker_close_reason(int reason)
{
        switch (reason) {
        case VIR_CONNECT_CLOSE_REASON_ERROR:
                return "connection closed: I/O error";
        case VIR_CONNECT_CLOSE_REASON_EOF:
                return "connection closed: end of file (libvirtd gone)";
        case VIR_CONNECT_CLOSE_REASON_KEEPALIVE:
                return "connection closed: keepalive timeout (libvirtd not answering)";
        default:
                return "connection closed";
        }
}

/* Sends DISCONNECTED unless the same reason was the last one sent. */
static void worker_push_disconnected(LibvirtBackend *b, const char *reason)
{
        LibvirtResultEntry *e;

        if (b->disconnect_error && strcmp(b->disconnect_error, reason) == 0)
                return;
        free(b->disconnect_error);
        b->disconnect_error = strdup(reason);

        e = libvirt_result_new(LIBVIRT_RESULT_DISCONNECTED);
        if (!e)
                return;
        e->result.r = -ENOTCONN;
        e->result.error = strdup(reason);
        libvirt_result_push(b, e);
}

/* Closes the connection; every virDomainPtr goes with it (the guests stay
 * in the table, to be matched by UUID after reconnecting). */
static void worker_close(LibvirtBackend *b)
{
        LibvirtNote *notes;

        if (!b->conn)
                return;

        if (b->lifecycle_cb >= 0)
                virConnectDomainEventDeregisterAny(b->conn, b->lifecycle_cb);
        if (b->balloon_cb >= 0)
                virConnectDomainEventDeregisterAny(b->conn, b->balloon_cb);
        if (b->vmem_cb >= 0)
                virConnectDomainEventDeregisterAny(b->conn, b->vmem_cb);
        if (b->close_cb)
                virConnectUnregisterCloseCallback(b->conn, worker_on_close);
        b->lifecycle_cb = b->balloon_cb = b->vmem_cb = -1;
        b->close_cb = false;

        for (size_t i = 0; i < b->n_guests; i++)
                if (b->guests[i].dom) {
                        virDomainFree(b->guests[i].dom);
                        b->guests[i].dom = NULL;
                }
        virConnectClose(b->conn);
        b->conn = NULL;
        virResetLastError();

        /* Notes of the old connection describe handles that are gone; the
         * resync after reconnecting tells the whole truth. */
        pthread_mutex_lock(&b->lock);
        b->conn_dead = false;
        notes = b->notes;
        b->notes = NULL;
        b->notes_tail = &b->notes;
        pthread_mutex_unlock(&b->lock);
        worker_free_notes(notes);
}

static void worker_schedule_retry(LibvirtBackend *b, uint64_t delay_usec)
{
        b->next_attempt_usec = libvirt_now_usec() + delay_usec;
        worker_set_state(b, LIBVIRT_CONN_DISCONNECTED);
}

/* The connection died under us: retry at once (libvirtd may be back
 * already, e.g. a restart), then back off. */
static void worker_connection_lost(LibvirtBackend *b)
{
        int reason;

        pthread_mutex_lock(&b->lock);
        reason = b->close_reason;
        b->close_reason = -1;
        pthread_mutex_unlock(&b->lock);

        worker_close(b);
        libvirt_worker_set_last_error(b, worker_close_reason(reason));
        /* State first: whoever reads DISCONNECTED must find the status saying so. */
        b->backoff_usec = b->config.reconnect_min_usec;
        worker_schedule_retry(b, 0);
        worker_push_disconnected(b, worker_close_reason(reason));
}

static void worker_connect_failed(LibvirtBackend *b, const char *message)
{
        worker_close(b);
        worker_schedule_retry(b, b->backoff_usec);
        worker_push_disconnected(b, message);
        b->backoff_usec *= 2;
        if (b->backoff_usec > b->config.reconnect_max_usec)
                b->backoff_usec = b->config.reconnect_max_usec;
        if (b->backoff_usec == 0)
                b->backoff_usec = 1000;
}

static int worker_register_callbacks(LibvirtBackend *b)
{
        /* Close callbacks exist for remote connections; in-process drivers
         * (test://) refuse them and never lose their connection anyway. */
        if (virConnectRegisterCloseCallback(b->conn, worker_on_close, b, NULL) >= 0)
                b->close_cb = true;
        virResetLastError();

        b->lifecycle_cb = virConnectDomainEventRegisterAny(
                b->conn, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                VIR_DOMAIN_EVENT_CALLBACK(worker_on_lifecycle), b, NULL);
        if (b->lifecycle_cb < 0)
                return -1;
        b->balloon_cb = virConnectDomainEventRegisterAny(
                b->conn, NULL, VIR_DOMAIN_EVENT_ID_BALLOON_CHANGE,
                VIR_DOMAIN_EVENT_CALLBACK(worker_on_balloon), b, NULL);
        if (b->balloon_cb < 0)
                return -1;
        /* virtio-mem's plugged size; a libvirtd without it (before 7.9) has no
         * virtio-mem either */
        b->vmem_cb = virConnectDomainEventRegisterAny(
                b->conn, NULL, VIR_DOMAIN_EVENT_ID_MEMORY_DEVICE_SIZE_CHANGE,
                VIR_DOMAIN_EVENT_CALLBACK(libvirt_worker_on_vmem_size), b, NULL);
        virResetLastError();
        return 0;
}

/* Lists the active domains: every one becomes GUEST_ADDED (with a handle of
 * this connection), and known guests not among them GUEST_REMOVED. */
static int worker_resync(LibvirtBackend *b)
{
        virDomainPtr *doms = NULL;
        int n;

        libvirt_worker_call_begin(b, "virConnectListAllDomains");
        n = virConnectListAllDomains(b->conn, &doms, VIR_CONNECT_LIST_DOMAINS_ACTIVE);
        libvirt_worker_call_end(b);
        if (n < 0)
                return -1;

        for (size_t i = 0; i < b->n_guests; i++)
                b->guests[i].seen = false;
        for (int i = 0; i < n; i++)
                worker_guest_appeared(b, doms[i]);
        free(doms);

        for (size_t i = b->n_guests; i > 0; i--)
                if (!b->guests[i - 1].seen) {
                        worker_push_removed(b, b->guests[i - 1].uuid, LIBVIRT_REMOVED_GONE);
                        worker_guest_remove(b, &b->guests[i - 1]);
                }
        return 0;
}

/* libvirt prints every error on stderr unless a handler is set; the
 * message is kept (virGetLastErrorMessage) and reported by libvirt_worker_failed(). */
static void worker_quiet_error(void *userdata, virErrorPtr error)
{
}

/* In-process drivers (test://) have no keepalive, and need none: they
 * cannot hang on a peer. */
static int worker_set_keepalive(LibvirtBackend *b)
{
        if (b->config.keepalive_interval_sec == 0)
                return 0;
        if (virConnectSetKeepAlive(b->conn, (int)b->config.keepalive_interval_sec,
                                   b->config.keepalive_count) >= 0)
                return 0;
        if (virGetLastErrorCode() != VIR_ERR_NO_SUPPORT)
                return -1;
        virResetLastError();
        return 0;
}

static void worker_connect(LibvirtBackend *b)
{
        static int credtypes[] = {
                VIR_CRED_AUTHNAME,     VIR_CRED_PASSPHRASE, VIR_CRED_ECHOPROMPT,
                VIR_CRED_NOECHOPROMPT, VIR_CRED_REALM,      VIR_CRED_EXTERNAL,
        };
        virConnectAuth auth = {credtypes, ELEMENTSOF(credtypes), worker_refuse_credentials, NULL};
        _cleanup_free_ char *message = NULL;
        LibvirtResultEntry *e;

        worker_set_state(b, LIBVIRT_CONN_CONNECTING);
        libvirt_worker_call_begin(b, "virConnectOpenAuth");
        b->conn = virConnectOpenAuth(b->uri, &auth, 0);
        libvirt_worker_call_end(b);
        if (!b->conn)
                goto fail;

        virConnSetErrorFunc(b->conn, NULL, worker_quiet_error);
        if (worker_set_keepalive(b) < 0 || worker_register_callbacks(b) < 0 || worker_resync(b) < 0)
                goto fail;

        free(b->disconnect_error);
        b->disconnect_error = NULL;
        b->backoff_usec = b->config.reconnect_min_usec;
        worker_set_state(b, LIBVIRT_CONN_CONNECTED);
        e = libvirt_result_new(LIBVIRT_RESULT_CONNECTED);
        if (e) {
                e->result.n_guests = b->n_guests;
                libvirt_result_push(b, e);
        }
        return;

fail:
        libvirt_worker_failed(b, &message);
        worker_connect_failed(b, message ?: "cannot connect");
}

/* --- events ---------------------------------------------------------------------------- */

static LibvirtRemoveReason worker_remove_reason(int detail)
{
        switch (detail) {
        case VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN:
                return LIBVIRT_REMOVED_SHUTDOWN;
        case VIR_DOMAIN_EVENT_STOPPED_DESTROYED:
                return LIBVIRT_REMOVED_DESTROYED;
        case VIR_DOMAIN_EVENT_STOPPED_CRASHED:
                return LIBVIRT_REMOVED_CRASHED;
        case VIR_DOMAIN_EVENT_STOPPED_MIGRATED:
                return LIBVIRT_REMOVED_MIGRATED;
        case VIR_DOMAIN_EVENT_STOPPED_SAVED:
                return LIBVIRT_REMOVED_SAVED;
        case VIR_DOMAIN_EVENT_STOPPED_FAILED:
                return LIBVIRT_REMOVED_FAILED;
        default:
                return LIBVIRT_REMOVED_OTHER;
        }
}

/* A domain that started (booted, restored, migrated in) is looked up by
 * UUID: the event's handle belongs to the callback, not to us. */
static void worker_guest_started(LibvirtBackend *b, const char *uuid)
{
        virDomainPtr dom;

        libvirt_worker_call_begin(b, "virDomainLookupByUUIDString");
        dom = virDomainLookupByUUIDString(b->conn, uuid);
        libvirt_worker_call_end(b);
        if (!dom) {
                libvirt_worker_failed(b, NULL);
                return;
        }
        worker_guest_appeared(b, dom);
}

static void worker_handle_lifecycle(LibvirtBackend *b, const LibvirtNote *n)
{
        LibvirtWorkerGuest *g = libvirt_worker_guest_find(b, n->uuid);

        switch (n->event) {
        case VIR_DOMAIN_EVENT_STARTED:
                worker_guest_started(b, n->uuid);
                return;
        case VIR_DOMAIN_EVENT_STOPPED:
                if (g) {
                        worker_push_removed(b, n->uuid, worker_remove_reason(n->detail));
                        worker_guest_remove(b, g);
                }
                return;
        case VIR_DOMAIN_EVENT_SUSPENDED:
                if (g)
                        worker_push_state(b, n->uuid, LIBVIRT_GUEST_PAUSED);
                return;
        case VIR_DOMAIN_EVENT_RESUMED:
                if (g)
                        worker_push_state(b, n->uuid, LIBVIRT_GUEST_RUNNING);
                return;
        case VIR_DOMAIN_EVENT_PMSUSPENDED:
                if (g)
                        worker_push_state(b, n->uuid, LIBVIRT_GUEST_PMSUSPENDED);
                return;
        case VIR_DOMAIN_EVENT_CRASHED:
                if (g)
                        worker_push_state(b, n->uuid, LIBVIRT_GUEST_CRASHED);
                return;
        case VIR_DOMAIN_EVENT_DEFINED:
                /* virsh define or edit of a running domain: its settings may have changed */
                if (g)
                        worker_guest_started(b, n->uuid);
                return;
        default: /* undefined, shutdown (STOPPED follows) */
                return;
        }
}

static void worker_push_vmem_size(LibvirtBackend *b, const LibvirtNote *n)
{
        LibvirtResultEntry *e;

        if (!libvirt_worker_guest_find(b, n->uuid) || !(e = libvirt_result_new(LIBVIRT_RESULT_VMEM_SIZE)))
                return;
        snprintf(e->result.uuid, sizeof(e->result.uuid), "%s", n->uuid);
        memcpy(e->result.vmem.alias, n->alias, sizeof(n->alias));
        e->result.vmem.bytes = n->actual_kib * 1024;
        libvirt_result_push(b, e);
}

static void worker_handle_notes(LibvirtBackend *b, LibvirtNote *notes)
{
        for (LibvirtNote *n = notes; n; n = n->next) {
                if (!b->conn)
                        break;
                if (n->type == LIBVIRT_NOTE_LIFECYCLE)
                        worker_handle_lifecycle(b, n);
                else if (n->type == LIBVIRT_NOTE_VMEM_SIZE)
                        worker_push_vmem_size(b, n);
                else if (libvirt_worker_guest_find(b, n->uuid)) {
                        LibvirtResultEntry *e = libvirt_result_new(LIBVIRT_RESULT_BALLOON_CHANGE);
                        if (!e)
                                continue;
                        snprintf(e->result.uuid, sizeof(e->result.uuid), "%s", n->uuid);
                        e->result.actual_bytes = n->actual_kib * 1024;
                        libvirt_result_push(b, e);
                }
        }
        worker_free_notes(notes);
}

/* --- requests -------------------------------------------------------------------------- */

static void worker_do_stats(LibvirtBackend *b, LibvirtResultEntry *e)
{
        virDomainStatsRecordPtr *records = NULL;
        uint64_t t0 = libvirt_now_usec();
        int n;

        /* NOWAIT: a domain with a job running (migration, a hung monitor)
         * gives only current and maximum instead of stalling every guest. */
        libvirt_worker_call_begin(b, "virConnectGetAllDomainStats");
        n = virConnectGetAllDomainStats(b->conn, VIR_DOMAIN_STATS_BALLOON, &records,
                                        VIR_CONNECT_GET_ALL_DOMAINS_STATS_ACTIVE |
                                                VIR_CONNECT_GET_ALL_DOMAINS_STATS_NOWAIT);
        libvirt_worker_call_end(b);
        e->result.stats.duration_usec = libvirt_now_usec() - t0;
        if (n < 0) {
                e->result.r = libvirt_worker_failed(b, &e->result.error);
                return;
        }

        e->result.stats.guests = calloc(n > 0 ? n : 1, sizeof(LibvirtGuestSample));
        if (!e->result.stats.guests) {
                e->result.r = -ENOMEM;
        } else {
                for (int i = 0; i < n; i++) {
                        LibvirtGuestSample *s = &e->result.stats.guests[i];
                        if (virDomainGetUUIDString(records[i]->dom, s->uuid) < 0)
                                continue;
                        libvirt_balloon_sample_from_params(&s->balloon, records[i]->params,
                                                           records[i]->nparams);
                        e->result.stats.n_guests++;
                }
        }
        virDomainStatsRecordListFree(records);
}


static void worker_do_set_memory(LibvirtBackend *b, LibvirtResultEntry *e)
{
        LibvirtWorkerGuest *g = libvirt_worker_request_guest(b, e);
        /* Round up: a target that is a floor must not end below it. */
        unsigned long kib = (unsigned long)((e->result.target_bytes + 1023) / 1024);
        int r;

        if (!g)
                return;

        libvirt_worker_call_begin(b, "virDomainSetMemoryFlags");
        r = virDomainSetMemoryFlags(g->dom, kib, VIR_DOMAIN_AFFECT_LIVE);
        libvirt_worker_call_end(b);
        if (r >= 0) {
                free(g->set_memory_error);
                g->set_memory_error = NULL;
                return;
        }

        e->result.r = libvirt_worker_failed(b, &e->result.error);
        e->result.error_repeated = g->set_memory_error && e->result.error &&
                                   strcmp(g->set_memory_error, e->result.error) == 0;
        free(g->set_memory_error);
        g->set_memory_error = e->result.error ? strdup(e->result.error) : NULL;
}

static void worker_do_qmp(LibvirtBackend *b, LibvirtResultEntry *e, const char *command)
{
        LibvirtWorkerGuest *g = libvirt_worker_request_guest(b, e);
        int r;

        if (!g)
                return;

        libvirt_worker_call_begin(b, "virDomainQemuMonitorCommand");
        r = virDomainQemuMonitorCommand(g->dom, command, &e->result.qmp_reply,
                                        VIR_DOMAIN_QEMU_MONITOR_COMMAND_DEFAULT);
        libvirt_worker_call_end(b);
        if (r < 0)
                e->result.r = libvirt_worker_failed(b, &e->result.error);
}

static void worker_not_connected(LibvirtBackend *b, LibvirtResultEntry *e)
{
        e->result.r = -ENOTCONN;
        e->result.error = strdup(b->disconnect_error ?: "not connected to libvirt");
}

/* Sets the new period on one active guest; the first failure becomes the
 * result's. Returns what worker_set_stats_period() did. */
static int worker_stats_period_guest(LibvirtBackend *b, LibvirtWorkerGuest *g,
                                     LibvirtResultEntry *e)
{
        _cleanup_free_ char *message = NULL;
        int r;

        r = worker_set_stats_period(b, g, (int)virDomainGetID(g->dom), &message);
        if (r >= 0) {
                e->result.stats_period.n_guests++;
                return r;
        }
        e->result.stats_period.n_failed++;
        if (e->result.r < 0)
                return r;
        e->result.r = r;
        memcpy(e->result.uuid, g->uuid, sizeof(g->uuid));
        if (asprintf(&e->result.error, "domain %s: %s", virDomainGetName(g->dom) ?: g->uuid,
                     message ?: "failed") < 0)
                e->result.error = NULL;
        return r;
}

/* A new period: kept for the guests that appear from now on (and for all of
 * them again after a reconnection, through the resync), and set on every
 * active guest at once when connected. */
static void worker_do_stats_period(LibvirtBackend *b, LibvirtResultEntry *e, unsigned seconds)
{
        b->config.stats_period_sec = seconds;
        e->result.stats_period.seconds = seconds;
        for (size_t i = 0; i < b->n_guests; i++)
                b->guests[i].period_set_id = -2;

        if (!b->conn) {
                worker_not_connected(b, e);
                return;
        }
        if (seconds == 0)
                return;
        for (size_t i = 0; i < b->n_guests; i++) {
                if (!b->guests[i].dom)
                        continue;
                /* the rest get it when the resync after reconnecting adds them */
                if (worker_stats_period_guest(b, &b->guests[i], e) == -ENOTCONN)
                        break;
        }
}

static const LibvirtResultType request_result_type[] = {
        [LIBVIRT_REQUEST_STATS] = LIBVIRT_RESULT_STATS,
        [LIBVIRT_REQUEST_SET_MEMORY] = LIBVIRT_RESULT_SET_MEMORY,
        [LIBVIRT_REQUEST_QMP] = LIBVIRT_RESULT_QMP_REPLY,
        [LIBVIRT_REQUEST_STATS_PERIOD] = LIBVIRT_RESULT_STATS_PERIOD,
        [LIBVIRT_REQUEST_SET_VMEM] = LIBVIRT_RESULT_SET_VMEM,
};

static void worker_handle_request(LibvirtBackend *b, LibvirtRequest *q)
{
        LibvirtResultEntry *e = libvirt_result_new(request_result_type[q->type]);

        if (!e) {
                /* Still answer, or the caller waits forever (stats: -EBUSY). */
                pthread_mutex_lock(&b->lock);
                if (q->type == LIBVIRT_REQUEST_STATS)
                        b->stats_pending = false;
                if (b->pending_requests > 0)
                        b->pending_requests--;
                pthread_mutex_unlock(&b->lock);
                libvirt_request_free(q);
                return;
        }
        e->result.request_id = q->id;
        memcpy(e->result.uuid, q->uuid, sizeof(q->uuid));
        if (q->type == LIBVIRT_REQUEST_SET_MEMORY)
                e->result.target_bytes = q->target_bytes;
        if (q->type == LIBVIRT_REQUEST_SET_VMEM) {
                memcpy(e->result.vmem.alias, q->alias, sizeof(q->alias));
                e->result.vmem.bytes = q->target_bytes;
        }

        if (q->type == LIBVIRT_REQUEST_STATS_PERIOD)
                worker_do_stats_period(b, e, q->stats_period_sec); /* kept even when disconnected */
        else if (!b->conn)
                worker_not_connected(b, e);
        else if (q->type == LIBVIRT_REQUEST_STATS)
                worker_do_stats(b, e);
        else if (q->type == LIBVIRT_REQUEST_SET_MEMORY)
                worker_do_set_memory(b, e);
        else if (q->type == LIBVIRT_REQUEST_SET_VMEM)
                libvirt_worker_do_set_vmem(b, e, q->alias);
        else
                worker_do_qmp(b, e, q->command);

        libvirt_request_free(q);
        libvirt_result_push(b, e);
}

/* --- the loop -------------------------------------------------------------------------- */

static bool worker_has_work(LibvirtBackend *b, uint64_t now)
{
        return b->notes || b->requests || (b->conn && b->conn_dead) ||
               (!b->conn && now >= b->next_attempt_usec);
}

static void worker_wait_until(LibvirtBackend *b, uint64_t usec)
{
        struct timespec ts = {.tv_sec = usec / 1000000, .tv_nsec = (usec % 1000000) * 1000};

        pthread_cond_timedwait(&b->wake, &b->lock, &ts);
}

/* Waits for something to do; false when told to stop. Hands over the
 * notes and the oldest request. */
static bool worker_wait(LibvirtBackend *b, LibvirtNote **notes, LibvirtRequest **request,
                        bool *dead)
{
        uint64_t now;

        pthread_mutex_lock(&b->lock);
        while (!b->stop && !worker_has_work(b, now = libvirt_now_usec())) {
                if (b->conn)
                        pthread_cond_wait(&b->wake, &b->lock);
                else
                        worker_wait_until(b, b->next_attempt_usec);
        }
        if (b->stop) {
                pthread_mutex_unlock(&b->lock);
                return false;
        }
        *dead = b->conn_dead;
        *notes = b->notes;
        b->notes = NULL;
        b->notes_tail = &b->notes;
        *request = b->requests;
        if (*request)
                b->requests = (*request)->next;
        pthread_mutex_unlock(&b->lock);
        return true;
}

void *libvirt_worker_main(void *userdata)
{
        LibvirtBackend *b = userdata;

        for (;;) {
                LibvirtNote *notes = NULL;
                LibvirtRequest *request = NULL;
                bool dead = false;

                if (!worker_wait(b, &notes, &request, &dead))
                        break;
                if (dead && b->conn) {
                        /* Notes of the dead connection could contradict
                         * the resync that follows: drop them. */
                        worker_free_notes(notes);
                        notes = NULL;
                        worker_connection_lost(b);
                }
                if (!b->conn && libvirt_now_usec() >= b->next_attempt_usec)
                        worker_connect(b);
                worker_handle_notes(b, notes);
                if (request)
                        worker_handle_request(b, request);
        }

        worker_close(b);
        libvirt_event_loop_unref();
        libvirt_backend_unref(b);
        return NULL;
}
