/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A guest over QMP: the set-up sequence after the handshake (name, uuid,
 * balloon device path, boot memory, stats polling), stats polls, balloon
 * commands and BALLOON_CHANGE events. Every reply is checked; a failure
 * drops this guest only.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "json-util.h"
#include "log.h"
#include "manager.h"

static void setup_failed(Guest *g, const char *step, const char *error)
{
        char reason[256];
        snprintf(reason, sizeof(reason), "%s failed: %s", step, error ? error : "bad reply");
        manager_guest_lost(g->manager, g, reason);
}

static void on_query_balloon(QmpClient *c, json_object *ret, const char *error, void *userdata)
{
        Guest *g = userdata;
        uint64_t actual;

        if (!ret || json_get_u64(ret, "actual", &actual) < 0) {
                if (g->state != GUEST_READY)
                        setup_failed(g, "query-balloon", error);
                return;
        }
        g->actual_bytes = actual;
        if (g->state != GUEST_READY)
                manager_guest_ready(g->manager, g);
}

static void on_stats_interval_set(QmpClient *c, json_object *ret, const char *error, void *userdata)
{
        Guest *g = userdata;

        if (!ret)
                return setup_failed(g, "setting guest-stats-polling-interval", error);
        if (qmp_client_command(c, "query-balloon", NULL, on_query_balloon, g) < 0)
                setup_failed(g, "query-balloon", "could not queue");
}

/* qom-set arguments for QEMU's guest stats polling, in whole seconds. */
static json_object *stats_period_args(Guest *g)
{
        json_object *args = json_object_new_object();
        json_object_object_add(args, "path", json_object_new_string(g->balloon_path));
        json_object_object_add(args, "property",
                               json_object_new_string("guest-stats-polling-interval"));
        json_object_object_add(args, "value", json_object_new_int64((int64_t)(
                g->manager->config->stats_period_usec / USEC_PER_SEC)));
        return args;
}

static void on_memory_summary(QmpClient *c, json_object *ret, const char *error, void *userdata)
{
        Guest *g = userdata;
        json_object *args;

        if (!ret || json_get_u64(ret, "base-memory", &g->max_bytes) < 0)
                return setup_failed(g, "query-memory-size-summary", error);
        args = stats_period_args(g);
        if (qmp_client_command(c, "qom-set", args, on_stats_interval_set, g) < 0)
                setup_failed(g, "qom-set", "could not queue");
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

        if (!child) {
                if (next)
                        return list_peripherals(g, next);
                return setup_failed(g, "finding the virtio-balloon device",
                                    "no balloon device in /machine/peripheral or peripheral-anon");
        }
        free(g->balloon_path);
        if (asprintf(&g->balloon_path, "%s/%s", container, child) < 0) {
                g->balloon_path = NULL;
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
        if (qmp_client_command(g->qmp, "qom-list", args, anon ? on_peripheral_anon : on_peripheral,
                               g) < 0)
                setup_failed(g, "qom-list", "could not queue");
}

static void on_query_uuid(QmpClient *c, json_object *ret, const char *error, void *userdata)
{
        Guest *g = userdata;
        const char *uuid = NULL;

        /* QEMU answers all zeroes when started without -uuid. */
        if (ret && json_get_string(ret, "UUID", &uuid) == 0 &&
            strcmp(uuid, "00000000-0000-0000-0000-000000000000") != 0) {
                free(g->uuid);
                g->uuid = strdup(uuid);
        }
        list_peripherals(g, "/machine/peripheral");
}

static void on_query_name(QmpClient *c, json_object *ret, const char *error, void *userdata)
{
        Guest *g = userdata;
        const char *name = NULL;

        if (ret && json_get_string(ret, "name", &name) == 0 && name[0] != '\0') {
                char *copy = strdup(name);
                if (copy) {
                        free(g->name);
                        g->name = copy;
                }
        }
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

        if (ret && json_get_bool(ret, "running", &running) == 0)
                set_paused(userdata, !running, "query-status");
}

static void on_ready(QmpClient *c, void *userdata)
{
        Guest *g = userdata;
        if (qmp_client_command(c, "query-status", NULL, on_query_status, g) < 0 ||
            qmp_client_command(c, "query-name", NULL, on_query_name, g) < 0)
                setup_failed(g, "query-name", "could not queue");
}

static void on_event(QmpClient *c, const char *event, json_object *data, void *userdata)
{
        uint64_t actual;

        if (strcmp(event, "BALLOON_CHANGE") == 0 && json_get_u64(data, "actual", &actual) == 0)
                guest_balloon_changed(userdata, actual);
        else if (strcmp(event, "STOP") == 0)
                set_paused(userdata, true, "STOP event");
        else if (strcmp(event, "RESUME") == 0)
                set_paused(userdata, false, "RESUME event");
}

static void on_closed(QmpClient *c, const char *reason, void *userdata)
{
        Guest *g = userdata;
        manager_guest_lost(g->manager, g, reason);
}

static const QmpCallbacks guest_callbacks = {
        .on_ready = on_ready,
        .on_event = on_event,
        .on_closed = on_closed,
};

int qmp_guest_connect(Guest *g)
{
        g->qmp = qmp_client_free(g->qmp);
        g->state = GUEST_CONNECTING;
        g->connect_started_usec = manager_now_usec(g->manager);
        return qmp_client_new(&g->qmp, g->manager->event, g->socket_path, &guest_callbacks, g);
}

void qmp_guest_disconnect(Guest *g, const char *reason)
{
        g->qmp = qmp_client_free(g->qmp);
        g->stats_poll_inflight = false;
        g->command_pending = false;
}

static void on_guest_stats(QmpClient *c, json_object *ret, const char *error, void *userdata)
{
        Guest *g = userdata;
        BalloonStats s;

        g->stats_poll_inflight = false;
        if (!ret) {
                log_guest(LOG_WARNING, g, "reading guest-stats failed: %s, ignoring", error);
                return;
        }
        if (balloon_stats_from_qmp(&s, ret) < 0) {
                log_guest(LOG_WARNING, g, "guest-stats reply has no stats, ignoring");
                return;
        }
        guest_stats_arrived(g, &s);
        qmp_compat_note_stats(g);
}

int qmp_guest_poll_stats(Guest *g)
{
        json_object *args;
        int r;

        if (g->stats_poll_inflight)
                return 0;
        args = json_object_new_object();
        json_object_object_add(args, "path", json_object_new_string(g->balloon_path));
        json_object_object_add(args, "property", json_object_new_string("guest-stats"));
        r = qmp_client_command(g->qmp, "qom-get", args, on_guest_stats, g);
        if (r >= 0) {
                g->stats_poll_inflight = true;
                g->stats_poll_sent_usec = manager_now_usec(g->manager);
        }
        return r;
}

static void on_period_set(QmpClient *c, json_object *ret, const char *error, void *userdata)
{
        if (!ret)
                log_guest(LOG_WARNING, (Guest *)userdata, "setting the stats period failed: %s", error);
}

int qmp_guest_set_stats_period(Guest *g)
{
        return qmp_client_command(g->qmp, "qom-set", stats_period_args(g), on_period_set, g);
}

int qmp_guest_refresh_balloon(Guest *g)
{
        return qmp_client_command(g->qmp, "query-balloon", NULL, on_query_balloon, g);
}

static void on_balloon(QmpClient *c, json_object *ret, const char *error, void *userdata)
{
        Guest *g = userdata;
        if (!ret) {
                g->command_pending = false;
                log_guest(LOG_WARNING, g, "balloon command failed: %s", error);
        }
}

int qmp_guest_set_target(Guest *g, uint64_t target_bytes)
{
        json_object *args = json_object_new_object();
        int r;

        json_object_object_add(args, "value", json_object_new_uint64(target_bytes));
        r = qmp_client_command(g->qmp, "balloon", args, on_balloon, g);
        if (r < 0)
                return r;
        g->command_pending = true;
        g->pending_target_bytes = target_bytes;
        g->command_sent_usec = manager_now_usec(g->manager);
        return 0;
}
