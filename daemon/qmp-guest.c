/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A guest over QMP: the set-up sequence after the handshake (name, uuid,
 * balloon device path, boot memory, virtio-mem devices, stats polling),
 * stats polls, balloon and virtio-mem commands and BALLOON_CHANGE events. A
 * guest with a balloon or a virtio-mem device (with an id) is managed; with
 * neither its set-up fails. Every reply is checked; a failure
 * drops this guest only, which is then retried with backoff. A shared monitor
 * is held only for a session of queued commands once the set-up is done.
 */
#include "qmp-guest.h"

#include <errno.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "json-util.h"
#include "log.h"
#include "manager.h"
#include "memory-devices.h"
#include "qmp-compat.h"
#include "units.h"

#define RECONNECT_MIN_USEC (1 * USEC_PER_SEC)
#define RECONNECT_MAX_USEC (30 * USEC_PER_SEC)
/* A monitor that leaves any command unanswered this long (QEMU stopped with
 * SIGSTOP or wedged; QEMU answers in order, so a peer that answers later
 * commands and not that one is not QEMU) is dropped and reconnected; its
 * guest is not managed meanwhile. */
#define QMP_ANSWER_TIMEOUT_USEC (20 * USEC_PER_SEC)
/* QEMU sends the first BALLOON_CHANGE of a move at once and later ones at
 * most once a second (the last size at the end of that second): this long
 * after the last one, with no command of ours on its way, the size we hold
 * is QEMU's and no query-balloon is needed. */
#define BALLOON_EVENT_SETTLE_USEC (2 * USEC_PER_SEC)

static void setup_failed(Guest *g, const char *step, const char *error)
{
        char reason[256];
        snprintf(reason, sizeof(reason), "%s failed: %s", step, error ? error : "bad reply");
        qmp_guest_lost(g, reason);
}

static int set_target(Guest *g, uint64_t target_bytes);
static int set_vmem_requested(Guest *g, uint64_t requested_bytes);
static int open_session(Guest *g);

/* Sends now, or on a shared monitor between sessions queues the command and
 * opens a session. Takes args. */
static int send_command(Guest *g, const char *command, json_object *args, qmp_reply_fn cb)
{
        QmpGuest *q = qmp_guest_of(g);
        int r;

        if (q->qmp && qmp_client_is_ready(q->qmp))
                return qmp_client_command(q->qmp, command, args, cb, g);
        if (!q->shared || g->state != GUEST_READY) {
                json_object_put(args);
                return -ENOTCONN;
        }
        r = qmp_command_queue_push(&q->queue, command, args, cb, g);
        if (r >= 0 && !q->qmp)
                r = open_session(g);
        return r;
}

/* A query that must not pile up on a monitor that answers late: at most one
 * in flight, *inflight cleared by its reply callback. Takes args. */
static int send_once(Guest *g, bool *inflight, const char *command, json_object *args,
                     qmp_reply_fn cb)
{
        int r;

        if (*inflight) {
                json_object_put(args);
                return 0;
        }
        r = send_command(g, command, args, cb);
        if (r >= 0)
                *inflight = true;
        return r;
}

static const ActuatorOps balloon_actuator = {
        .kind = ACTUATOR_BALLOON,
        .set_target = set_target,
};

static const ActuatorOps vmem_actuator = {
        .kind = ACTUATOR_VIRTIO_MEM,
        .set_target = set_vmem_requested,
};

/* "balloon /machine/peripheral/balloon0, virtio-mem vmem0 (block 2.0 MiB,
 * max 2.0 GiB, plugged 0 B)", for the log. */
static char *describe_devices(const Guest *g)
{
        _cleanup_free_ char *vmem = guest_vmem_describe(g);
        const char *balloon = qmp_guest_of(g)->balloon_path;
        char *s = NULL;

        if (asprintf(&s, "%s%s%s%s", balloon ? "balloon " : "", balloon ? balloon : "",
                     balloon && vmem ? ", " : "", vmem ? vmem : "") < 0)
                return NULL;
        return s;
}

static int on_stats_timer(sd_event_source *s, uint64_t usec, void *userdata);

static void arm_stats_timer(Guest *g, uint64_t at_usec)
{
        QmpGuest *q = qmp_guest_of(g);
        int r;

        if (!q->stats_timer)
                r = sd_event_add_time(g->manager->event, &q->stats_timer, CLOCK_MONOTONIC, at_usec,
                                      1000, on_stats_timer, g);
        else
                r = sd_event_source_set_time(q->stats_timer, at_usec);
        if (r >= 0)
                r = sd_event_source_set_enabled(q->stats_timer, SD_EVENT_ONESHOT);
        if (r < 0)
                log_guest_errno(LOG_WARNING, g, r, "Failed to schedule the stats poll: %m");
}

static uint64_t stats_fallback_usec(const Guest *g)
{
        return stats_poll_fallback_usec(g->manager->config->stats_period_usec);
}

/* The reply re-arms it for the next report; until then the plain period
 * covers a poll that could not be sent or is answered late. */
static int on_stats_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
        Guest *g = userdata;

        arm_stats_timer(g, manager_now_usec(g->manager) + stats_fallback_usec(g));
        (void)qmp_guest_poll_stats(g);
        return 0;
}

static void stop_stats_timer(QmpGuest *q)
{
        if (q->stats_timer)
                (void)sd_event_source_set_enabled(q->stats_timer, SD_EVENT_OFF);
        q->stats_schedule = (StatsPollSchedule){ 0 };
}

static void became_ready(Guest *g)
{
        QmpGuest *q = qmp_guest_of(g);
        _cleanup_free_ char *device = NULL;

        q->failures = 0;
        if (q->balloon_path)
                (void)guest_add_actuator(g, &balloon_actuator);
        if (guest_vmem_driven(g))
                (void)guest_add_actuator(g, &vmem_actuator);
        device = describe_devices(g);
        manager_guest_ready(g->manager, g, device ? device : "balloon");
        (void)qmp_guest_poll_stats(g);
        if (!q->shared)
                arm_stats_timer(g, manager_now_usec(g->manager) + stats_fallback_usec(g));
}

static void on_query_balloon(QmpClient *c, json_object *ret, const char *error, void *userdata)
{
        Guest *g = userdata;
        uint64_t actual;

        qmp_guest_of(g)->balloon_query_inflight = false;
        if (!ret || json_get_u64(ret, "actual", &actual) < 0) {
                if (g->state != GUEST_READY)
                        setup_failed(g, "query-balloon", error);
                return;
        }
        if (g->state == GUEST_READY)
                return guest_balloon_changed(g, actual);
        g->actual_bytes = actual;
        became_ready(g);
}

static void on_stats_interval_set(QmpClient *c, json_object *ret, const char *error, void *userdata)
{
        Guest *g = userdata;

        if (!ret)
                return setup_failed(g, "setting guest-stats-polling-interval", error);
        if (qmp_guest_refresh_balloon(g) < 0)
                setup_failed(g, "query-balloon", "could not queue");
}

/* qom-set arguments for QEMU's guest stats polling, in whole seconds. */
static json_object *stats_period_args(Guest *g)
{
        json_object *args = json_object_new_object();
        json_object_object_add(args, "path", json_object_new_string(qmp_guest_of(g)->balloon_path));
        json_object_object_add(args, "property",
                               json_object_new_string("guest-stats-polling-interval"));
        json_object_object_add(
                args, "value",
                json_object_new_int64(
                        (int64_t)(g->manager->config->stats_period_usec / USEC_PER_SEC)));
        return args;
}

/* The virtio-mem devices of a query-memory-devices reply into the guest; a
 * reply that cannot be read leaves what was known. */
static int take_vmem_devices(Guest *g, json_object *ret)
{
        VmemDevice devs[GUEST_MAX_VMEM];
        size_t n, total;
        int r = qmp_parse_virtio_mem(ret, devs, GUEST_MAX_VMEM, &n, &total);

        if (r < 0)
                return r;
        guest_vmem_changed(g, devs, n, total, manager_now_usec(g->manager));
        return 0;
}

static void on_setup_memory_devices(QmpClient *c, json_object *ret, const char *error,
                                    void *userdata)
{
        Guest *g = userdata;
        QmpGuest *q = qmp_guest_of(g);
        int r = ret ? take_vmem_devices(g, ret) : -EIO;

        /* A QEMU that cannot answer still has its balloon. */
        if (r < 0)
                log_guest(LOG_WARNING, g, "query-memory-devices failed: %s; no virtio-mem",
                          error ? error : strerror(-r));
        q->has_vmem = g->vmem.n_total > 0;
        if (g->vmem.n_total > 0 && !guest_vmem_driven(g))
                log_guest(LOG_WARNING, g,
                          "virtio-mem device(s) without an id: shown, not driven (give the "
                          "device an id=)");
        if (!q->balloon_path && !guest_vmem_driven(g))
                return setup_failed(g, "finding a balloon or virtio-mem device",
                                    "no balloon in /machine/peripheral or peripheral-anon, no "
                                    "virtio-mem device with an id");
        if (!q->balloon_path) {
                /* No balloon: the guest keeps its boot memory, virtio-mem moves the rest. */
                g->actual_bytes = g->max_bytes;
                return became_ready(g);
        }
        if (qmp_client_command(c, "qom-set", stats_period_args(g), on_stats_interval_set, g) < 0)
                setup_failed(g, "qom-set", "could not queue");
}

static void on_memory_summary(QmpClient *c, json_object *ret, const char *error, void *userdata)
{
        Guest *g = userdata;

        if (!ret || json_get_u64(ret, "base-memory", &g->max_bytes) < 0)
                return setup_failed(g, "query-memory-size-summary", error);
        if (qmp_client_command(c, "query-memory-devices", NULL, on_setup_memory_devices, g) < 0)
                setup_failed(g, "query-memory-devices", "could not queue");
}

/* Balloon devices appear as child<virtio-balloon-pci>, -ccw, -device, ... */
static const char *find_balloon_child(json_object *list)
{
        size_t n = json_object_is_type(list, json_type_array) ? json_object_array_length(list) : 0;
        for (size_t i = 0; i < n; i++) {
                json_object *e = json_object_array_get_idx(list, i);
                const char *type = NULL, *name = NULL;
                if (json_get_string(e, "type", &type) < 0 || json_get_string(e, "name", &name) < 0)
                        continue;
                if (strncmp(type, "child<virtio-balloon", 20) == 0)
                        return name;
        }
        return NULL;
}

static void list_peripherals(Guest *g, const char *container);

static void on_qom_list(QmpClient *c, json_object *ret, const char *error, void *userdata,
                        const char *container, const char *next)
{
        Guest *g = userdata;
        const char *child = ret ? find_balloon_child(ret) : NULL;

        QmpGuest *q = qmp_guest_of(g);

        if (!child && next)
                return list_peripherals(g, next);
        /* Without a balloon the guest may still have virtio-mem (found next). */
        free(q->balloon_path);
        q->balloon_path = NULL;
        if (child && asprintf(&q->balloon_path, "%s/%s", container, child) < 0) {
                q->balloon_path = NULL;
                return setup_failed(g, "finding the virtio-balloon device", "out of memory");
        }
        if (qmp_client_command(c, "query-memory-size-summary", NULL, on_memory_summary, g) < 0)
                setup_failed(g, "query-memory-size-summary", "could not queue");
}

static void on_peripheral(QmpClient *c, json_object *ret, const char *error, void *userdata)
{
        on_qom_list(c, ret, error, userdata, "/machine/peripheral", "/machine/peripheral-anon");
}

static void on_peripheral_anon(QmpClient *c, json_object *ret, const char *error, void *userdata)
{
        on_qom_list(c, ret, error, userdata, "/machine/peripheral-anon", NULL);
}

static void list_peripherals(Guest *g, const char *container)
{
        json_object *args = json_object_new_object();
        bool anon = strcmp(container, "/machine/peripheral-anon") == 0;

        json_object_object_add(args, "path", json_object_new_string(container));
        if (qmp_client_command(qmp_guest_of(g)->qmp, "qom-list", args,
                               anon ? on_peripheral_anon : on_peripheral, g) < 0)
                setup_failed(g, "qom-list", "could not queue");
}

static void on_query_uuid(QmpClient *c, json_object *ret, const char *error, void *userdata)
{
        Guest *g = userdata;
        const char *uuid = NULL;

        /* QEMU answers all zeroes when started without -uuid. */
        if (ret && json_get_string(ret, "UUID", &uuid) == 0 &&
            strcmp(uuid, "00000000-0000-0000-0000-000000000000") != 0)
                (void)guest_set_uuid(g, uuid); /* without it the guest is known by name */
        list_peripherals(g, "/machine/peripheral");
}

static void on_query_name(QmpClient *c, json_object *ret, const char *error, void *userdata)
{
        Guest *g = userdata;
        const char *name = NULL;

        if (ret && json_get_string(ret, "name", &name) == 0 && name[0] != '\0')
                (void)guest_set_name(g, name); /* keeps the socket's stem when out of memory */
        if (qmp_client_command(c, "query-uuid", NULL, on_query_uuid, g) < 0)
                setup_failed(g, "query-uuid", "could not queue");
}

static void set_paused(Guest *g, bool paused, const char *why)
{
        if (g->paused != paused)
                log_guest(LOG_INFO, g, "%s (%s)", paused ? "paused" : "running again", why);
        g->paused = paused;
}

/* A guest may be stopped before we connect (-S, or paused by someone else);
 * STOP and RESUME keep it current afterwards. Not fatal when missing. */
static void on_query_status(QmpClient *c, json_object *ret, const char *error, void *userdata)
{
        bool running;

        qmp_guest_of((Guest *)userdata)->status_query_inflight = false;
        if (ret && json_get_bool(ret, "running", &running) == 0)
                set_paused(userdata, !running, "query-status");
}

/* A session on a shared monitor: what was queued since the last one. */
static void session_ready(Guest *g, QmpClient *c)
{
        QmpGuest *q = qmp_guest_of(g);

        qmp_command_queue_flush(&q->queue, c);
        if (q->qmp == c && qmp_client_pending(c) == 0)
                q->qmp = qmp_client_free(c);
}

static void on_ready(QmpClient *c, void *userdata)
{
        Guest *g = userdata;

        qmp_guest_of(g)->peer_pid = qmp_client_peer_pid(c); /* QEMU's RSS between sessions */
        if (g->state == GUEST_READY)
                return session_ready(g, c);
        if (qmp_client_command(c, "query-status", NULL, on_query_status, g) < 0 ||
            qmp_client_command(c, "query-name", NULL, on_query_name, g) < 0)
                setup_failed(g, "query-name", "could not queue");
}

static void balloon_change(Guest *g, json_object *data)
{
        uint64_t actual;

        if (json_get_u64(data, "actual", &actual) < 0)
                return;
        qmp_guest_of(g)->balloon_event_usec = manager_now_usec(g->manager);
        guest_balloon_changed(g, actual);
}

static void on_event(QmpClient *c, const char *event, json_object *data, void *userdata)
{
        if (strcmp(event, "BALLOON_CHANGE") == 0)
                balloon_change(userdata, data);
        else if (strcmp(event, "STOP") == 0)
                set_paused(userdata, true, "STOP event");
        else if (strcmp(event, "RESUME") == 0)
                set_paused(userdata, false, "RESUME event");
}

static void on_closed(QmpClient *c, const char *reason, void *userdata)
{
        qmp_guest_lost(userdata, reason);
}

/* Everything answered: a shared monitor is handed back to its other clients. */
static void on_idle(QmpClient *c, void *userdata)
{
        Guest *g = userdata;
        QmpGuest *q = qmp_guest_of(g);

        if (q->shared && g->state == GUEST_READY && q->queue.n == 0)
                q->qmp = qmp_client_free(q->qmp);
}

static const QmpCallbacks guest_callbacks = {
        .on_ready = on_ready,
        .on_event = on_event,
        .on_closed = on_closed,
        .on_idle = on_idle,
};

static bool socket_is_shared(const Guest *g)
{
        for (char **p = g->manager->config->shared_qmp_sockets; p && *p; p++)
                if (fnmatch(*p, g->key, FNM_PATHNAME | FNM_PERIOD) == 0)
                        return true;
        return false;
}

/* "/var/run/qemu-server/101.qmp" -> "101": the name until QEMU tells us its own. */
static char *socket_stem(const char *path)
{
        const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
        const char *dot = strrchr(base, '.');

        return strndup(base, dot && dot != base ? (size_t)(dot - base) : strlen(base));
}

int qmp_guest_attach(Guest *g)
{
        _cleanup_free_ char *stem = socket_stem(g->key);
        QmpGuest *q = calloc(1, sizeof(*q));

        if (!q || !stem || guest_set_name(g, stem) < 0) {
                free(q);
                return -ENOMEM;
        }
        q->seen = true;
        g->backend_data = q;
        return 0;
}

void qmp_guest_detach(Guest *g)
{
        QmpGuest *q = qmp_guest_of(g);

        if (!q)
                return;
        qmp_client_free(q->qmp);
        qmp_command_queue_clear(&q->queue);
        sd_event_source_disable_unref(q->stats_timer);
        free(q->balloon_path);
        free(q);
        g->backend_data = NULL;
}

static int connect_now(Guest *g)
{
        QmpGuest *q = qmp_guest_of(g);

        q->qmp = qmp_client_free(q->qmp);
        g->state = GUEST_CONNECTING;
        q->shared = socket_is_shared(g);
        q->connect_started_usec = manager_now_usec(g->manager);
        return qmp_client_new(&q->qmp, g->manager->event, g->key, &guest_callbacks, g);
}

/* A monitor busy with another client is waited for (the connect is retried,
 * the greeting comes when that client hangs up); one that refuses us or
 * closes has lost its QEMU: the guest is dropped and set up again. */
static int open_session(Guest *g)
{
        QmpGuest *q = qmp_guest_of(g);
        char reason[128];
        int r;

        q->connect_started_usec = manager_now_usec(g->manager);
        q->sessions++;
        r = qmp_client_new(&q->qmp, g->manager->event, g->key, &guest_callbacks, g);
        if (r < 0) {
                snprintf(reason, sizeof(reason), "connecting to the shared monitor: %s",
                         strerror(-r));
                qmp_guest_lost(g, reason);
        }
        return r;
}

bool qmp_guest_shared(const Guest *g)
{
        return qmp_guest_of(g)->shared;
}

bool qmp_guest_session_waiting(const Guest *g)
{
        const QmpGuest *q = qmp_guest_of(g);

        return q->shared && g->state == GUEST_READY && q->qmp && !qmp_client_is_ready(q->qmp);
}

void qmp_guest_try_connect(Guest *g, uint64_t now_usec)
{
        int r;

        if (g->state != GUEST_DISCONNECTED || now_usec < qmp_guest_of(g)->reconnect_at_usec)
                return;
        r = connect_now(g);
        if (r < 0) {
                char reason[128];
                snprintf(reason, sizeof(reason), "connecting to the QMP socket: %s (QEMU gone?)",
                         strerror(-r));
                qmp_guest_lost(g, reason);
        }
}

void qmp_guest_lost(Guest *g, const char *reason)
{
        QmpGuest *q = qmp_guest_of(g);
        uint64_t backoff = RECONNECT_MIN_USEC << (q->failures < 5 ? q->failures : 5);

        if (backoff > RECONNECT_MAX_USEC)
                backoff = RECONNECT_MAX_USEC;
        q->qmp = qmp_client_free(q->qmp);
        qmp_command_queue_clear(&q->queue);
        stop_stats_timer(q);
        q->peer_pid = 0;
        q->stats_poll_inflight = false;
        q->balloon_query_inflight = false;
        q->status_query_inflight = false;
        q->vmem_query_inflight = false;
        q->balloon_event_usec = 0;
        /* A guest that never came up again is not logged at every retry. */
        manager_guest_lost(g->manager, g, reason, g->state == GUEST_READY || q->failures == 0);
        q->failures++;
        q->reconnect_at_usec = manager_now_usec(g->manager) + backoff;
}

bool qmp_guest_stuck(const Guest *g, uint64_t now)
{
        const QmpGuest *q = qmp_guest_of(g);
        uint64_t oldest;

        /* Set-up, or a session waiting for another client to hang up. */
        if (g->state == GUEST_CONNECTING || (q->qmp && !qmp_client_is_ready(q->qmp)))
                return now - q->connect_started_usec > QMP_ANSWER_TIMEOUT_USEC;
        if (!q->qmp)
                return false;
        oldest = qmp_client_oldest_pending_usec(q->qmp);
        return g->state == GUEST_READY && oldest > 0 && now - oldest > QMP_ANSWER_TIMEOUT_USEC;
}

int qmp_guest_peer_pid(const Guest *g)
{
        const QmpGuest *q = qmp_guest_of(g);

        if (q->qmp && qmp_client_is_ready(q->qmp))
                return qmp_client_peer_pid(q->qmp);
        return q->shared && q->peer_pid > 0 ? q->peer_pid : -1;
}

int qmp_guest_command(Guest *g, const char *command, json_object *args, qmp_reply_fn cb)
{
        return send_command(g, command, args, cb);
}

/* The next poll just after the next report is due (stats-poll-schedule.h). */
static void schedule_next_poll(Guest *g, uint64_t last_update_sec)
{
        QmpGuest *q = qmp_guest_of(g);
        uint64_t at;

        if (q->shared || g->state != GUEST_READY)
                return;
        at = stats_poll_next(&q->stats_schedule, g->manager->config->stats_period_usec,
                             q->stats_poll_sent_usec, manager_now_usec(g->manager),
                             last_update_sec);
        arm_stats_timer(g, at);
}

static void on_guest_stats(QmpClient *c, json_object *ret, const char *error, void *userdata)
{
        Guest *g = userdata;
        BalloonStats s;

        qmp_guest_of(g)->stats_poll_inflight = false;
        if (!ret) {
                log_guest(LOG_WARNING, g, "reading guest-stats failed: %s, ignoring", error);
                return;
        }
        if (balloon_stats_from_qmp(&s, ret) < 0) {
                log_guest(LOG_WARNING, g, "guest-stats reply has no stats, ignoring");
                return;
        }
        schedule_next_poll(g, s.last_update_sec);
        manager_stats_arrived(g->manager, g, &s);
        qmp_compat_note_stats(g);
}

/* A shared monitor's events are missed between sessions. */
static bool balloon_may_be_moving(const Guest *g, uint64_t now)
{
        const QmpGuest *q = qmp_guest_of(g);

        return q->shared || g->command_pending ||
               (q->balloon_event_usec && now - q->balloon_event_usec < BALLOON_EVENT_SETTLE_USEC);
}

int qmp_guest_refresh_balloon_if_moving(Guest *g)
{
        if (!balloon_may_be_moving(g, manager_now_usec(g->manager)))
                return 0;
        return qmp_guest_refresh_balloon(g);
}

int qmp_guest_poll_stats(Guest *g)
{
        QmpGuest *q = qmp_guest_of(g);
        json_object *args;
        int r;

        if (q->stats_poll_inflight || !q->balloon_path)
                return 0;
        /* The balloon's size first, answered first: a report is measured
         * against the size of its time, not one up to a second older
         * (BALLOON_CHANGE is rate-limited). Else a balloon someone else
         * deflated makes the report's MemAvailable exceed the size we hold,
         * the guest's use comes out 0 and its floor too low. A balloon that
         * has not moved needs no asking: its first move is an event at once. */
        (void)qmp_guest_refresh_balloon_if_moving(g);
        args = json_object_new_object();
        json_object_object_add(args, "path", json_object_new_string(q->balloon_path));
        json_object_object_add(args, "property", json_object_new_string("guest-stats"));
        r = send_once(g, &q->stats_poll_inflight, "qom-get", args, on_guest_stats);
        if (r >= 0) /* the schedule counts from here, however late the answer */
                q->stats_poll_sent_usec = manager_now_usec(g->manager);
        return r;
}

static void on_period_set(QmpClient *c, json_object *ret, const char *error, void *userdata)
{
        if (!ret)
                log_guest(LOG_WARNING, (Guest *)userdata, "setting the stats period failed: %s",
                          error);
}

int qmp_guest_set_stats_period(Guest *g)
{
        if (!qmp_guest_of(g)->balloon_path)
                return 0; /* no balloon, no stats */
        /* Reports come at the new period from now: learn their phase anew. */
        qmp_guest_of(g)->stats_schedule = (StatsPollSchedule){ 0 };
        return send_command(g, "qom-set", stats_period_args(g), on_period_set);
}

int qmp_guest_refresh_balloon(Guest *g)
{
        QmpGuest *q = qmp_guest_of(g);

        if (!q->balloon_path)
                return 0;
        return send_once(g, &q->balloon_query_inflight, "query-balloon", NULL, on_query_balloon);
}

static void on_balloon(QmpClient *c, json_object *ret, const char *error, void *userdata)
{
        Guest *g = userdata;
        if (!ret) {
                g->command_pending = false;
                g->manager->balloon_commands_failed++;
                log_guest(LOG_WARNING, g, "balloon command failed: %s", error);
        }
}

static void on_vmem_query(QmpClient *c, json_object *ret, const char *error, void *userdata)
{
        Guest *g = userdata;

        qmp_guest_of(g)->vmem_query_inflight = false;
        if (!ret || take_vmem_devices(g, ret) < 0)
                log_guest(LOG_DEBUG, g, "query-memory-devices failed: %s, ignoring",
                          error ? error : "bad reply");
}

int qmp_guest_refresh_vmem(Guest *g)
{
        QmpGuest *q = qmp_guest_of(g);

        if (!q->has_vmem)
                return 0;
        return send_once(g, &q->vmem_query_inflight, "query-memory-devices", NULL, on_vmem_query);
}

static void on_vmem_set(QmpClient *c, json_object *ret, const char *error, void *userdata)
{
        Guest *g = userdata;

        if (!ret) {
                g->command_pending = false;
                g->manager->balloon_commands_failed++;
                log_guest(LOG_WARNING, g, "virtio-mem requested-size failed: %s", error);
        }
}

/* qom-set on /machine/peripheral/ID: QEMU refuses a requested size that is
 * not whole blocks or above the device's maximum (vmem_plan() sends neither). */
static int set_vmem_requested(Guest *g, uint64_t requested_bytes)
{
        const VmemDevice *d = guest_vmem_driven(g);
        _cleanup_free_ char *path = NULL;
        json_object *args;

        if (!d)
                return -ENODEV;
        if (asprintf(&path, "/machine/peripheral/%s", d->id) < 0)
                return -ENOMEM;
        args = json_object_new_object();
        json_object_object_add(args, "path", json_object_new_string(path));
        json_object_object_add(args, "property", json_object_new_string("requested-size"));
        json_object_object_add(args, "value", json_object_new_uint64(requested_bytes));
        return send_command(g, "qom-set", args, on_vmem_set);
}

static int set_target(Guest *g, uint64_t target_bytes)
{
        json_object *args = json_object_new_object();

        json_object_object_add(args, "value", json_object_new_uint64(target_bytes));
        return send_command(g, "balloon", args, on_balloon);
}

int qmp_guest_refresh_status(Guest *g)
{
        QmpGuest *q = qmp_guest_of(g);

        return send_once(g, &q->status_query_inflight, "query-status", NULL, on_query_status);
}
