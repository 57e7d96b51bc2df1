/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The libvirt backend: lifecycle, balloon and stats results of lib/libvirt/
 * turned into guests of the manager; balloon targets and QMP passthrough
 * sent as requests to its worker. Guests are keyed by their domain's UUID.
 */
#include "libvirt-guests.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "json-util.h"
#include "libvirt-backend.h"
#include "libvirt-vmem.h"
#include "log.h"
#include "manager.h"
#include "qemu-process.h"
#include "qmp-compat.h"

typedef struct PendingQmp {
        uint64_t id;
        Guest *guest;
        qmp_reply_fn cb;
} PendingQmp;

/* The backend's state (Backend.data). */
typedef struct LibvirtGuests {
        LibvirtBackend *backend;
        char *uri; /* the one connected to: LibvirtURI= changes at a restart only */
        sd_event_source *source;
        bool connected;
        PendingQmp *pending; /* passthrough commands awaiting QMP_REPLY */
        size_t n_pending;
} LibvirtGuests;

static LibvirtGuests *libvirt_of(const Guest *g)
{
        return g->backend->data;
}

/* A guest's own (Guest.backend_data): what its definition says, as of the
 * last GUEST_ADDED (start, reconnection, redefinition). */
static LibvirtDomainMemory *definition_of(const Guest *g)
{
        return g->backend_data;
}

bool libvirt_socket_present(void)
{
        return access("/run/libvirt/libvirt-sock", F_OK) == 0 ||
               access("/run/libvirt/virtqemud-sock", F_OK) == 0;
}

static int set_target(Guest *g, uint64_t target_bytes)
{
        uint64_t id;
        return libvirt_backend_set_memory(libvirt_of(g)->backend, g->uuid, target_bytes, &id);
}

static const ActuatorOps balloon_actuator = {
        .kind = ACTUATOR_BALLOON,
        .set_target = set_target,
};

static int set_vmem_requested(Guest *g, uint64_t requested_bytes)
{
        return libvirt_vmem_request(libvirt_of(g)->backend, g, requested_bytes);
}

static const ActuatorOps vmem_actuator = {
        .kind = ACTUATOR_VIRTIO_MEM,
        .set_target = set_vmem_requested,
};

/* "balloon (libvirt)", with the virtio-mem device memtided drives. A domain
 * with neither (<memballoon model='none'/>, no virtio-mem) is known, not
 * managed: list --all says why. */
static void became_ready(Manager *m, Guest *g)
{
        _cleanup_free_ char *vmem = guest_vmem_describe(g);
        _cleanup_free_ char *devices = NULL;
        bool balloon = guest_has_actuator(g, ACTUATOR_BALLOON);

        if (!balloon && !vmem) {
                if (!g->last_error)
                        log_guest(LOG_WARNING, g,
                                  "no balloon and no virtio-mem device: nothing to manage");
                free(g->last_error);
                g->last_error = strdup("no balloon and no virtio-mem device");
                return;
        }
        if (asprintf(&devices, "%s%s%s%s", balloon ? "balloon (libvirt)" : "",
                     balloon && vmem ? ", " : "", vmem ? vmem : "", vmem ? " (libvirt)" : "") < 0)
                devices = NULL;
        manager_guest_ready(m, g, devices ? devices : "libvirt");
}

static int new_guest(Manager *m, const LibvirtGuestInfo *info, Guest **ret)
{
        Guest *g = NULL;
        int r = manager_add_guest(m, info->uuid, &g);

        if (r >= 0)
                r = guest_set_uuid(g, info->uuid);
        if (r >= 0 && !(g->backend_data = calloc(1, sizeof(LibvirtDomainMemory))))
                r = -ENOMEM;
        if (r >= 0 && !m->config->libvirt_qmp_passthrough)
                g->compat.unknown_reason = strdup("unknown (QMP passthrough disabled)");
        if (r < 0) {
                if (g)
                        manager_remove_guest(m, g);
                return log_error_errno(r, "out of memory adding libvirt guest %s", info->name);
        }
        *ret = g;
        return 0;
}

/* QEMU's pid, for GuestMemoryBudget=auto: libvirt has no call for it, but
 * passes the domain's UUID with -uuid. Not found (a remote libvirtd): 0. */
static void find_qemu(Manager *m, Guest *g)
{
        pid_t pid = 0;

        if (qemu_pid_by_uuid(m->proc_root, g->uuid, &pid) < 0 && g->qemu_pid != 0)
                log_guest(LOG_DEBUG, g, "its QEMU process is not found on this host");
        g->qemu_pid = pid;
}

static void guest_added(Manager *m, const LibvirtGuestInfo *info)
{
        Guest *g = manager_find_guest(m, info->uuid);

        if (!g && new_guest(m, info, &g) < 0)
                return;
        (void)guest_set_name(g, info->name ? info->name : info->uuid); /* else keeps its UUID */
        /* A redefinition of a running domain whose info could not be read
         * keeps what is known rather than writing "unknown" into it. */
        if (info->actual_bytes != STAT_UNKNOWN || g->state != GUEST_READY)
                g->actual_bytes = info->actual_bytes;
        if (info->max_bytes != STAT_UNKNOWN || g->state != GUEST_READY)
                g->max_bytes = info->max_bytes;
        g->paused = info->state != LIBVIRT_GUEST_RUNNING;
        *definition_of(g) = info->memory;
        find_qemu(m, g);
        if (!info->vmem.no_balloon)
                (void)guest_add_actuator(g, &balloon_actuator);
        if (libvirt_vmem_guest_added(g, &info->vmem, manager_now_usec(m)))
                (void)guest_add_actuator(g, &vmem_actuator);
        if (info->stats_period_error)
                log_guest(LOG_WARNING, g, "setting the stats period failed: %s",
                          info->stats_period_error);
        if (g->state != GUEST_READY)
                became_ready(m, g);
        else
                manager_refresh_settings(m, g); /* the definition may have changed */
}

static void guest_removed(Manager *m, const LibvirtResult *r)
{
        Guest *g = manager_find_guest(m, r->uuid);
        if (!g)
                return;
        log_guest(LOG_INFO, g, "domain gone (%s)", libvirt_remove_reason_to_string(r->removed));
        manager_remove_guest(m, g);
}

static void stats_arrived(Manager *m, const LibvirtResult *r)
{
        for (size_t i = 0; i < r->stats.n_guests; i++) {
                const LibvirtGuestSample *s = &r->stats.guests[i];
                Guest *g = manager_find_guest(m, s->uuid);
                if (!g)
                        continue;
                /* A driver without balloon stats (libvirt's test driver) leaves
                 * them out. With virtio-mem it counts the devices in: the
                 * balloon's own size comes from its events then. */
                if (s->balloon.current_bytes != STAT_UNKNOWN && g->vmem.n_total == 0)
                        g->actual_bytes = s->balloon.current_bytes;
                libvirt_vmem_tick(g, manager_now_usec(m));
                if (s->balloon.rss_bytes != STAT_UNKNOWN)
                        g->qemu_rss_bytes = s->balloon.rss_bytes;
                if (s->balloon.stale)
                        continue; /* busy domain or no report: keep the last, it ages */
                manager_stats_arrived(m, g, &s->balloon.stats);
        }
}

static void balloon_changed(Manager *m, const LibvirtResult *r)
{
        Guest *g = manager_find_guest(m, r->uuid);
        if (g)
                guest_balloon_changed(g, r->actual_bytes);
}

static void set_memory_done(Manager *m, const LibvirtResult *r)
{
        Guest *g = manager_find_guest(m, r->uuid);
        if (!g || r->r >= 0 || r->r == -ECANCELED)
                return;
        g->command_pending = false;
        m->balloon_commands_failed++;
        if (!r->error_repeated)
                log_guest(LOG_WARNING, g, "setting the balloon target failed: %s",
                          r->error ? r->error : strerror(-r->r));
}

/* The answer to libvirt_guests_set_stats_period(), logged once. */
static void stats_period_set(const LibvirtResult *r)
{
        unsigned sec = r->stats_period.seconds;
        size_t tried = r->stats_period.n_guests + r->stats_period.n_failed;

        if (r->r == -ENOTCONN)
                log_info("libvirt: stats period %u s set on the guests once reconnected (%s)", sec,
                         r->error ? r->error : "not connected");
        else if (r->r < 0)
                log_warning("libvirt: stats period %u s failed on %zu of %zu guest(s): %s", sec,
                            r->stats_period.n_failed, tried, r->error ? r->error : strerror(-r->r));
        else
                log_info("libvirt: stats period %u s applied to %zu guest(s)", sec,
                         r->stats_period.n_guests);
}

static void connection(Manager *m, const LibvirtResult *r)
{
        LibvirtGuests *l = m->backend.data;

        if (r->type == LIBVIRT_RESULT_CONNECTED) {
                log_info("libvirt: connected to %s, %zu active guest(s)", l->uri, r->n_guests);
                l->connected = true;
        } else {
                log_warning(
                        "libvirt: %s unreachable: %s; guests keep their balloons until it is back",
                        l->uri, r->error ? r->error : "connection lost");
                l->connected = false;
        }
}

static int qmp_command(Guest *g, const char *command, json_object *args, qmp_reply_fn cb)
{
        LibvirtGuests *l = libvirt_of(g);
        json_object *call = json_object_new_object();
        PendingQmp *p;
        uint64_t id;
        int r;

        json_object_object_add(call, "execute", json_object_new_string(command));
        if (args)
                json_object_object_add(call, "arguments", args);
        if (!g->manager->config->libvirt_qmp_passthrough)
                r = -EPERM;
        else
                r = libvirt_backend_qmp_query(
                        l->backend, g->uuid,
                        json_object_to_json_string_ext(call, JSON_C_TO_STRING_PLAIN), &id);
        json_object_put(call);
        if (r < 0)
                return r;
        p = realloc(l->pending, (l->n_pending + 1) * sizeof(*p));
        if (!p)
                return -ENOMEM;
        l->pending = p;
        l->pending[l->n_pending++] = (PendingQmp){ .id = id, .guest = g, .cb = cb };
        return 0;
}

static void forget(Guest *g)
{
        LibvirtGuests *l = libvirt_of(g);
        for (size_t i = 0; l && i < l->n_pending;)
                if (l->pending[i].guest == g)
                        l->pending[i] = l->pending[--l->n_pending];
                else
                        i++;
        free(g->backend_data);
        g->backend_data = NULL;
}

/* The domain's guaranteed minimum: <memtune><min_guarantee> as MOM reads it,
 * or oVirt's metadata where QEMU's driver refuses that element. */
static void vm_settings(Guest *g, GuestSettings *s)
{
        const LibvirtDomainMemory *d = definition_of(g);

        if (!d || d->min_source == LIBVIRT_MIN_NONE)
                return;
        s->min_bytes = d->min_bytes;
        guest_settings_set_source(s, GUEST_SETTING_MIN, "%s",
                                  libvirt_min_source_to_string(d->min_source));
}

/* <currentMemory>: shown, not used (memtide.conf(5), LIBVIRT SETTINGS). */
static void describe_guest(const Guest *g, json_object *o)
{
        const LibvirtDomainMemory *d = definition_of(g);

        json_object_object_add(o, "libvirt_current_memory_bytes",
                               d && d->current_bytes ? json_object_new_uint64(d->current_bytes)
                                                     : NULL);
}

/* QEMU's answer, as our own QMP client would hand it out. */
static void qmp_replied(Manager *m, const LibvirtResult *r)
{
        LibvirtGuests *l = m->backend.data;
        json_object *reply = NULL, *ret = NULL, *err = NULL;
        const char *desc = NULL;

        for (size_t i = 0; i < l->n_pending; i++) {
                if (l->pending[i].id != r->request_id)
                        continue;
                PendingQmp p = l->pending[i];
                l->pending[i] = l->pending[--l->n_pending];
                reply = r->r >= 0 && r->qmp_reply ? json_tokener_parse(r->qmp_reply) : NULL;
                if (reply && json_object_object_get_ex(reply, "error", &err))
                        (void)json_get_string(err, "desc", &desc);
                if (reply && !err)
                        json_object_object_get_ex(reply, "return", &ret);
                p.cb(NULL, ret,
                     ret        ? NULL
                     : desc     ? desc
                     : r->error ? r->error
                                : "passthrough failed",
                     p.guest);
                json_object_put(reply);
                return;
        }
}

static void vmem_result(Manager *m, const LibvirtResult *r)
{
        Guest *g = manager_find_guest(m, r->uuid);

        if (!g)
                return;
        if (r->type == LIBVIRT_RESULT_VMEM_SIZE)
                libvirt_vmem_size_changed(g, r->vmem.alias, r->vmem.bytes, manager_now_usec(m));
        else
                libvirt_vmem_set_done(g, r, manager_now_usec(m));
}

static void on_result(const LibvirtResult *r, void *userdata)
{
        Manager *m = userdata;

        switch (r->type) {
        case LIBVIRT_RESULT_CONNECTED:
        case LIBVIRT_RESULT_DISCONNECTED:
                connection(m, r);
                break;
        case LIBVIRT_RESULT_GUEST_ADDED:
                guest_added(m, &r->guest);
                break;
        case LIBVIRT_RESULT_GUEST_REMOVED:
                guest_removed(m, r);
                break;
        case LIBVIRT_RESULT_GUEST_STATE: {
                Guest *g = manager_find_guest(m, r->uuid);
                if (g) {
                        g->paused = r->state != LIBVIRT_GUEST_RUNNING;
                        log_guest(LOG_INFO, g, "now %s", libvirt_guest_state_to_string(r->state));
                }
                break;
        }
        case LIBVIRT_RESULT_BALLOON_CHANGE:
                balloon_changed(m, r);
                break;
        case LIBVIRT_RESULT_STATS:
                stats_arrived(m, r);
                break;
        case LIBVIRT_RESULT_SET_MEMORY:
                set_memory_done(m, r);
                break;
        case LIBVIRT_RESULT_QMP_REPLY:
                qmp_replied(m, r);
                break;
        case LIBVIRT_RESULT_STATS_PERIOD:
                stats_period_set(r);
                break;
        case LIBVIRT_RESULT_VMEM_SIZE:
        case LIBVIRT_RESULT_SET_VMEM:
                vmem_result(m, r);
                break;
        }
}

static int on_eventfd(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        Manager *m = userdata;
        LibvirtGuests *l = m->backend.data;
        (void)libvirt_backend_drain(l->backend, on_result, m);
        return 0;
}

static int start(Backend *b)
{
        LibvirtBackendConfig c = LIBVIRT_BACKEND_CONFIG_DEFAULT;
        Manager *m = b->manager;
        LibvirtGuests *l = calloc(1, sizeof(*l));
        int r;

        if (!l)
                return -ENOMEM;
        b->data = l;
        l->uri = strdup(m->config->libvirt_uri);
        if (!l->uri)
                return -ENOMEM;
        c.uri = l->uri;
        c.stats_period_sec = (unsigned)(m->config->stats_period_usec / USEC_PER_SEC);
        c.qmp_passthrough = m->config->libvirt_qmp_passthrough;
        r = libvirt_backend_new(&c, &l->backend);
        if (r >= 0)
                r = sd_event_add_io(m->event, &l->source, libvirt_backend_get_fd(l->backend),
                                    EPOLLIN, on_eventfd, m);
        if (r >= 0)
                r = libvirt_backend_start(l->backend);
        return r;
}

static void stop(Backend *b)
{
        LibvirtGuests *l = b->data;

        if (!l)
                return;
        sd_event_source_disable_unref(l->source);
        libvirt_backend_free(l->backend);
        free(l->pending);
        free(l->uri);
        free(l);
        b->data = NULL;
}

/* One bulk stats call for every guest, answered asynchronously. */
static void poll_guests(Backend *b)
{
        LibvirtGuests *l = b->data;
        uint64_t id;

        if (l->connected)
                (void)libvirt_backend_request_stats(l->backend, &id);
}

/* The compat probes need QMP, which libvirt passes through only when allowed. */
static void cycle_end(Backend *b)
{
        Manager *m = b->manager;

        if (!m->config->libvirt_qmp_passthrough)
                return;
        for (size_t i = 0; i < m->n_guests; i++)
                if (m->guests[i]->state == GUEST_READY)
                        qmp_compat_refresh(m->guests[i], manager_now_usec(m));
}

/* The worker sets the period on every active domain now and on every domain
 * that appears later; the outcome is logged when it arrives. */
static int set_stats_period(Backend *b)
{
        LibvirtGuests *l = b->data;
        return libvirt_backend_set_stats_period(
                l->backend, (unsigned)(b->manager->config->stats_period_usec / USEC_PER_SEC), NULL);
}

/* "connected", "connecting (...)", "unreachable: ..." for status. */
static json_object *status_json(Backend *b)
{
        LibvirtGuests *l = b->data;
        LibvirtBackendStatus s;
        json_object *o;

        libvirt_backend_get_status(l->backend, &s);
        o = json_object_new_object();
        json_object_object_add(o, "uri", json_object_new_string(l->uri));
        json_object_object_add(o, "state",
                               json_object_new_string(libvirt_conn_state_to_string(s.state)));
        json_object_object_add(o, "reachable", json_object_new_boolean(s.reachable));
        json_object_object_add(o, "current_call",
                               s.call[0] ? json_object_new_string(s.call) : NULL);
        json_object_object_add(o, "current_call_seconds",
                               s.call[0] ? json_new_seconds(s.call_usec) : NULL);
        json_object_object_add(o, "connects", json_object_new_int((int)s.connects));
        json_object_object_add(o, "last_error",
                               s.last_error[0] ? json_object_new_string(s.last_error) : NULL);
        return o;
}

const BackendOps libvirt_backend_ops = {
        .name = "libvirt",
        .start = start,
        .stop = stop,
        .cycle_end = cycle_end,
        .poll = poll_guests,
        .set_stats_period = set_stats_period,
        .qmp_command = qmp_command,
        .forget = forget,
        .describe_guest = describe_guest,
        .vm_settings = vm_settings,
        .status_json = status_json,
};
