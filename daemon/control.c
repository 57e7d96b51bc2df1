/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The varlink control socket. Clients are served on the main loop without
 * blocking: requests are read as they arrive, replies queued and written as
 * the socket allows. A client whose replies pile up unread is not read until
 * it reads them (backpressure), so what it costs the daemon is bounded. A
 * malformed or oversized request gets an error reply and the connection is
 * closed after it; the number of clients is bounded.
 */
#include "control.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <grp.h>

#include "cleanup.h"
#include "fileio.h"
#include "host-pause.h"
#include "json-util.h"
#include "log.h"
#include "manager-varlink-idl.h"
#include "memtide-config.h"
#include "metrics.h"
#include "reload.h"
#include "runtime-overrides.h"
#include "status-json.h"
#include "varlink.h"

#define VARLINK_INTERFACE "io.memtide.Manager"

/*
 * org.varlink.service as the varlink reference implementation describes it
 * (https://varlink.org/Service; the Go library's orgvarlinkservice.go), for
 * GetInterfaceDescription. memtided answers GetInfo and
 * GetInterfaceDescription of it.
 */
#define SERVICE_VARLINK_IDL                                                                        \
        "# The Varlink Service Interface is provided by every varlink service. It\n"               \
        "# describes the service and the interfaces it implements.\n"                              \
        "interface org.varlink.service\n"                                                          \
        "\n"                                                                                       \
        "# Get a list of all the interfaces a service provides and information\n"                  \
        "# about the implementation.\n"                                                            \
        "method GetInfo() -> (\n"                                                                  \
        "  vendor: string,\n"                                                                      \
        "  product: string,\n"                                                                     \
        "  version: string,\n"                                                                     \
        "  url: string,\n"                                                                         \
        "  interfaces: []string\n"                                                                 \
        ")\n"                                                                                      \
        "\n"                                                                                       \
        "# Get the description of an interface that is implemented by this service.\n"             \
        "method GetInterfaceDescription(interface: string) -> (description: string)\n"             \
        "\n"                                                                                       \
        "# The requested interface was not found.\n"                                               \
        "error InterfaceNotFound (interface: string)\n"                                            \
        "\n"                                                                                       \
        "# The requested method was not found\n"                                                   \
        "error MethodNotFound (method: string)\n"                                                  \
        "\n"                                                                                       \
        "# The interface defines the requested method, but the service does not\n"                 \
        "# implement it.\n"                                                                        \
        "error MethodNotImplemented (method: string)\n"                                            \
        "\n"                                                                                       \
        "# One of the passed parameters is invalid.\n"                                             \
        "error InvalidParameter (parameter: string)\n"

/* What GetInfo lists and GetInterfaceDescription describes. io.memtide.Manager's
 * text is data/io.memtide.Manager.varlink, compiled in (daemon/meson.build). */
static const struct {
        const char *name;
        const char *description;
} interfaces[] = {
        { "org.varlink.service", SERVICE_VARLINK_IDL },
        { VARLINK_INTERFACE, MANAGER_VARLINK_IDL },
};

typedef struct ControlClient ControlClient;

/*
 * Clients can make the daemon refuse or close connections as fast as they
 * like: the first of a kind is logged as it happens, then how many more there
 * were at most once per CONTROL_REFUSAL_LOG_INTERVAL_SEC, so that the journal
 * keeps the daemon's own messages.
 */
typedef struct LogLimit {
        const char *what;       /* "connections refused", for the count */
        sd_event_source *timer; /* on while a window is open */
        unsigned suppressed;    /* in the current window */
} LogLimit;

struct ControlServer {
        Manager *manager;
        char *path;
        int fd;
        sd_event_source *source;
        ControlClient *clients;
        size_t n_clients;
        gid_t write_gid;   /* CONTROL_WRITE_GROUP's, looked up at start; (gid_t)-1 if none */
        LogLimit refusals; /* connections refused */
        LogLimit closures; /* clients closed: bad requests, idle */
};

/* Who is at the other end, from the kernel (SO_PEERCRED, SO_PEERGROUPS) as it connected. */
typedef struct ControlPeer {
        uid_t uid;
        bool privileged; /* root or the memtide group: may write, may use the reserved slots */
} ControlPeer;

struct ControlClient {
        ControlServer *server;
        ControlClient *next;
        int fd;
        ControlPeer peer;
        sd_event_source *source;
        sd_event_source *idle_timer; /* closes it after CONTROL_IDLE_TIMEOUT_SEC without traffic */
        VarlinkBuffer in;
        char *out; /* replies queued: out_off written of out_len, room for out_cap */
        size_t out_len, out_off, out_cap;
        bool eof; /* the client shut its side: answer what it sent, then close */
        bool close_after_write;
        bool draining; /* error sent, write side shut: reading the rest away */
        size_t drained_bytes;
};

#define LOG_INTERVAL_USEC ((uint64_t)CONTROL_REFUSAL_LOG_INTERVAL_SEC * USEC_PER_SEC)
#define IDLE_TIMEOUT_USEC ((uint64_t)CONTROL_IDLE_TIMEOUT_SEC * USEC_PER_SEC)

static int on_log_window_end(sd_event_source *src, uint64_t usec, void *userdata)
{
        LogLimit *l = userdata;

        if (l->suppressed == 0)
                return 0; /* a quiet window: the next one is logged at once */
        log_warning("control socket: %u more %s in the last %d s", l->suppressed, l->what,
                    CONTROL_REFUSAL_LOG_INTERVAL_SEC);
        l->suppressed = 0;
        if (sd_event_source_set_time_relative(src, LOG_INTERVAL_USEC) < 0)
                return 0;
        return sd_event_source_set_enabled(src, SD_EVENT_ONESHOT);
}

/* True when this one may be logged; otherwise it is counted for later. */
static bool log_limit_pass(LogLimit *l, sd_event *e)
{
        int r;

        if (l->timer && sd_event_source_get_enabled(l->timer, NULL) > 0) {
                l->suppressed++;
                return false;
        }
        if (!l->timer)
                r = sd_event_add_time_relative(e, &l->timer, CLOCK_MONOTONIC, LOG_INTERVAL_USEC, 0,
                                               on_log_window_end, l);
        else
                r = sd_event_source_set_time_relative(l->timer, LOG_INTERVAL_USEC);
        if (r >= 0)
                (void)sd_event_source_set_enabled(l->timer, SD_EVENT_ONESHOT);
        return true;
}

static void log_limit_done(LogLimit *l)
{
        l->timer = sd_event_source_disable_unref(l->timer);
}

static void client_free(ControlClient *c)
{
        ControlServer *s = c->server;
        for (ControlClient **p = &s->clients; *p; p = &(*p)->next)
                if (*p == c) {
                        *p = c->next;
                        break;
                }
        s->n_clients--;
        sd_event_source_disable_unref(c->source);
        sd_event_source_disable_unref(c->idle_timer);
        close(c->fd);
        varlink_buffer_clear(&c->in);
        free(c->out);
        free(c);
}

/* Queues a reply (taken) behind those not yet written. */
static int client_queue(ControlClient *c, json_object *reply)
{
        _cleanup_free_ char *data = NULL;
        size_t len;
        int r = varlink_serialize(reply, &data, &len);

        json_object_put(reply);
        if (r < 0)
                return r;
        /* What is written is dropped first: the buffer holds what is queued, no more. */
        if (c->out_off > 0) {
                memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
                c->out_len -= c->out_off;
                c->out_off = 0;
        }
        if (c->out_len + len > c->out_cap) {
                /* Doubling: a queue filled reply by reply is copied a few times, not each time. */
                size_t cap = c->out_len + len > 2 * c->out_cap ? c->out_len + len : 2 * c->out_cap;
                char *out = realloc(c->out, cap);
                if (!out)
                        return -ENOMEM;
                c->out = out;
                c->out_cap = cap;
        }
        memcpy(c->out + c->out_len, data, len);
        c->out_len += len;
        return 0;
}

static json_object *reply_new(json_object *params)
{
        json_object *o = json_object_new_object();
        json_object_object_add(o, "parameters", params);
        return o;
}

static json_object *service_info(void)
{
        json_object *p = json_object_new_object(), *ifaces = json_object_new_array();
        json_object_object_add(p, "vendor", json_object_new_string("memtide"));
        json_object_object_add(p, "product", json_object_new_string("memtided"));
        json_object_object_add(p, "version", json_object_new_string(MEMTIDE_VERSION));
        json_object_object_add(p, "url", json_object_new_string(MEMTIDE_URL));
        for (size_t i = 0; i < ELEMENTSOF(interfaces); i++)
                json_object_array_add(ifaces, json_object_new_string(interfaces[i].name));
        json_object_object_add(p, "interfaces", ifaces);
        return p;
}

#define STRINGIFY(x)       #x
#define STRINGIFY_VALUE(x) STRINGIFY(x)

#define NAME_RULE          "a guest's name or UUID, UTF-8 without NUL"
#define OVERRIDE_RULE      NAME_RULE ", 1 to " STRINGIFY_VALUE(OVERRIDE_GUEST_MAX_BYTES) " bytes"
#define TOO_MANY_OVERRIDES "the most guests (" STRINGIFY_VALUE(OVERRIDES_MAX) ") have overrides"

/* InvalidParameter naming the parameter, with why for people (memtidectl shows it). */
static json_object *invalid_parameter(const char *name, const char *why)
{
        json_object *p = json_object_new_object();
        _cleanup_free_ char *message = NULL;

        /* Echoed back only when it is valid JSON text (an unknown key may not be). */
        if (!varlink_text_valid(name, strlen(name)))
                name = "(not UTF-8)";
        json_object_object_add(p, "parameter", json_object_new_string(name));
        if (asprintf(&message, "%s: %s", name, why) >= 0)
                json_object_object_add(p, "message", json_object_new_string(message));
        return varlink_error_new("org.varlink.service.InvalidParameter", p);
}

/* The guest a call names: 0, -ENOENT when absent, -EINVAL unless a
 * non-empty string C can use ("a\u0000b" must not read as "a"). */
static int get_name(json_object *params, const char **ret)
{
        const char *name;
        int r = varlink_get_string(params, "name", &name);

        if (r < 0)
                return r;
        if (name[0] == '\0')
                return -EINVAL;
        *ret = name;
        return 0;
}

/* A guest by name or UUID, among those being managed. */
static Guest *find_guest(Manager *m, const char *key)
{
        for (size_t i = 0; i < m->n_guests; i++) {
                Guest *g = m->guests[i];
                if (g->state == GUEST_READY &&
                    (strcmp(g->name, key) == 0 || (g->uuid && strcasecmp(g->uuid, key) == 0)))
                        return g;
        }
        return NULL;
}

static json_object *no_such_guest(const char *name)
{
        json_object *p = json_object_new_object();
        json_object_object_add(p, "name", json_object_new_string(name ? name : ""));
        return varlink_error_new(VARLINK_INTERFACE ".NoSuchGuest", p);
}

static json_object *get_compat(Manager *m, json_object *params)
{
        json_object *p;
        const char *name = NULL;
        Guest *g;

        if (get_name(params, &name) < 0)
                return invalid_parameter("name", NAME_RULE);
        g = find_guest(m, name);
        if (!g)
                return no_such_guest(name);
        p = json_object_new_object();
        json_object_object_add(p, "name", json_object_new_string(g->name));
        json_object_object_add(p, "compat", compat_json(g, true));
        json_object_object_add(p, "virtio_mem", vmem_json(g));
        return reply_new(p);
}

static json_object *get_guest(Manager *m, json_object *params)
{
        const char *name = NULL;
        Guest *g;

        if (get_name(params, &name) < 0)
                return invalid_parameter("name", NAME_RULE);
        g = find_guest(m, name);
        if (!g)
                return no_such_guest(name);
        json_object *p = json_object_new_object(), *gj = guest_json(m, g);
        const Override *ov = overrides_find(&m->overrides, g->name, g->uuid);
        json_object_object_add(gj, "override", ov ? override_to_json(ov) : NULL);
        json_object_object_add(p, "guest", gj);
        return reply_new(p);
}

/* since: seconds since the epoch; absent (EXPLAIN_NO_CHANGES) for the last decisions only. */
static int get_since(json_object *params, uint64_t *ret)
{
        json_object *v = NULL;

        *ret = EXPLAIN_NO_CHANGES;
        if (!json_object_object_get_ex(params, "since", &v))
                return 0;
        return json_to_u64(v, ret);
}

/* One guest's decisions, or every guest's when no name is given; with since,
 * also every change of target from then on. */
static json_object *explain(Manager *m, json_object *params)
{
        const char *name = NULL;
        json_object *list, *p;
        uint64_t since;
        int r = get_name(params, &name);

        if (r < 0 && r != -ENOENT)
                return invalid_parameter("name", NAME_RULE);
        if (get_since(params, &since) < 0)
                return invalid_parameter("since", "seconds since the epoch");
        list = json_object_new_array();
        for (size_t i = 0; i < m->n_guests; i++) {
                Guest *g = m->guests[i];
                bool known = g->state == GUEST_READY || g->changes.n > 0;
                if (known && (!name || g == find_guest(m, name)))
                        json_object_array_add(list, explain_json(g, since));
        }
        if (name && json_object_array_length(list) == 0) {
                json_object_put(list);
                return no_such_guest(name);
        }
        p = json_object_new_object();
        json_object_object_add(p, "guests", list);
        return reply_new(p);
}

/* A change to FILE in the state directory could not be saved: what stays says what is in force. */
static json_object *state_not_saved(Manager *m, int r, const char *file, const char *what_stays)
{
        json_object *p = json_object_new_object();
        char *msg = NULL;
        if (asprintf(&msg, "cannot save %s/%s: %s; %s", m->config->state_directory, file,
                     strerror(-r), what_stays) < 0)
                msg = NULL;
        json_object_object_add(p, "message", json_object_new_string(msg ? msg : strerror(-r)));
        free(msg);
        return varlink_error_new(VARLINK_INTERFACE ".StateNotSaved", p);
}

/*
 * An override for any valid name, running or not (a guest about to start
 * may be given one), up to OVERRIDES_MAX guests; each field within the
 * limits the config has for it.
 */
static json_object *set_override(Manager *m, json_object *params)
{
        const char *name = NULL, *field = NULL;
        Override patch;
        int r;

        if (get_name(params, &name) < 0 || !override_guest_valid(name))
                return invalid_parameter("name", OVERRIDE_RULE);
        if (override_from_json(params, &patch, &field) < 0)
                return invalid_parameter(field, override_field_rule(field));
        if (!(patch.min_set || patch.max_set || patch.manage_set || patch.shares_set))
                return invalid_parameter("parameters",
                                         "nothing to set: min_bytes, max_bytes, manage or shares");
        patch.guest = (char *)name;
        r = overrides_check_patch(&m->overrides, &patch, &field);
        if (r == -E2BIG)
                return invalid_parameter("name", TOO_MANY_OVERRIDES);
        if (r < 0)
                return invalid_parameter(field, override_field_rule(field));
        r = runtime_override_set(m, &patch);
        if (r < 0)
                return state_not_saved(m, r, "overrides.json",
                                       "the previous overrides stay in force");
        return reply_new(json_object_new_object());
}

static json_object *reset_override(Manager *m, json_object *params)
{
        const char *name = NULL;
        int r;

        if (get_name(params, &name) < 0)
                return invalid_parameter("name", NAME_RULE);
        r = runtime_override_reset(m, name);
        if (r == -ENOENT)
                return no_such_guest(name);
        if (r < 0)
                return state_not_saved(m, r, "overrides.json",
                                       "the previous overrides stay in force");
        return reply_new(json_object_new_object());
}

/* Guest that an override's name or UUID matches among those managed, or NULL. */
static const Guest *override_guest(Manager *m, const Override *ov)
{
        for (size_t i = 0; i < m->n_guests; i++) {
                const Guest *g = m->guests[i];
                const Overrides one = { .items = (Override *)ov, .n = 1 };
                if (g->state == GUEST_READY && (overrides_find(&one, g->name, g->uuid) ||
                                                overrides_find_glob(&one, g->name)))
                        return g; /* a glob: the first guest it matches */
        }
        return NULL;
}

/* Every runtime override, with whether a managed guest has it (a guest not
 * started yet, or a name no guest has, shows as not running). */
static json_object *list_overrides(Manager *m, json_object *params)
{
        json_object *list = json_object_new_array(), *p = json_object_new_object();

        for (size_t i = 0; i < m->overrides.n; i++) {
                const Override *ov = &m->overrides.items[i];
                const Guest *g = override_guest(m, ov);
                json_object *o = override_to_json(ov);
                json_object_object_add(o, "running", json_object_new_boolean(g != NULL));
                json_object_object_add(o, "guest_name", g ? json_object_new_string(g->name) : NULL);
                json_object_array_add(list, o);
        }
        json_object_object_add(p, "overrides", list);
        return reply_new(p);
}

static json_object *reload(Manager *m)
{
        _cleanup_free_ char *error = NULL;

        if (reload_config(m, &error) < 0) {
                json_object *p = json_object_new_object();
                json_object_object_add(p, "message",
                                       json_object_new_string(error ? error : "failed"));
                return varlink_error_new(VARLINK_INTERFACE ".ReloadFailed", p);
        }
        return reply_new(json_object_new_object());
}

typedef struct Method {
        const char *name;
        bool writes;
        json_object *(*call)(Manager *m, json_object *params);
        const char *const *parameters; /* what it takes; any other is refused */
} Method;

static json_object *m_status(Manager *m, json_object *params)
{
        return reply_new(status_json(m));
}
/* An optional boolean parameter: -EINVAL when present and not a boolean. */
static int get_optional_bool(json_object *params, const char *key, bool *ret)
{
        json_object *v = NULL;

        if (!json_object_object_get_ex(params, key, &v))
                return 0;
        if (!json_object_is_type(v, json_type_boolean))
                return -EINVAL;
        *ret = json_object_get_boolean(v);
        return 0;
}

static json_object *m_list(Manager *m, json_object *params)
{
        bool all = false;

        if (get_optional_bool(params, "all", &all) < 0)
                return invalid_parameter("all", "a boolean");
        return reply_new(guests_json(m, all));
}

static json_object *set_paused(Manager *m, bool paused)
{
        int r = host_pause_set(m, paused);

        if (r < 0)
                return state_not_saved(m, r, "paused.json", "nothing changed");
        return reply_new(json_object_new_object());
}

static json_object *m_pause(Manager *m, json_object *params)
{
        return set_paused(m, true);
}

static json_object *m_resume(Manager *m, json_object *params)
{
        return set_paused(m, false);
}

/* Until the next reload or restart, which apply LogLevel= again. */
static json_object *m_set_log_level(Manager *m, json_object *params)
{
        const char *name = NULL;
        int level;

        if (varlink_get_string(params, "level", &name) < 0 ||
            (level = log_level_from_string(name)) < 0)
                return invalid_parameter("level", "one of debug, info, notice, warning, err");
        log_set_max_level(level);
        log_fields(LOG_NOTICE, NULL, "Log level set to %s by memtidectl", name);
        return reply_new(json_object_new_object());
}
static json_object *m_info(Manager *m, json_object *params)
{
        return reply_new(service_info());
}
static json_object *m_reload(Manager *m, json_object *params)
{
        return reload(m);
}

const char *control_interface_description(const char *interface)
{
        for (size_t i = 0; i < ELEMENTSOF(interfaces); i++)
                if (strcmp(interface, interfaces[i].name) == 0)
                        return interfaces[i].description;
        return NULL;
}

static json_object *m_interface_description(Manager *m, json_object *params)
{
        const char *interface = NULL, *description;
        json_object *p;

        if (varlink_get_string(params, "interface", &interface) < 0)
                return invalid_parameter("interface", "an interface name, UTF-8 without NUL");
        description = control_interface_description(interface);
        p = json_object_new_object();
        if (!description) {
                json_object_object_add(p, "interface", json_object_new_string(interface));
                return varlink_error_new("org.varlink.service.InterfaceNotFound", p);
        }
        json_object_object_add(p, "description", json_object_new_string(description));
        return reply_new(p);
}

static json_object *m_metrics(Manager *m, json_object *params)
{
        _cleanup_free_ char *text = metrics_render(m);
        json_object *p = json_object_new_object();
        json_object_object_add(p, "text", json_object_new_string(text ? text : ""));
        return reply_new(p);
}

static const char *const no_parameters[] = { NULL };
static const char *const name_only[] = { "name", NULL };
static const char *const list_parameters[] = { "all", NULL };
static const char *const explain_parameters[] = { "name", "since", NULL };
static const char *const level_only[] = { "level", NULL };
static const char *const interface_only[] = { "interface", NULL };
static const char *const override_parameters[] = { "name",   "min_bytes", "max_bytes",
                                                   "manage", "shares",    NULL };

static const Method methods[] = {
        { VARLINK_INTERFACE ".GetStatus", false, m_status, no_parameters },
        { VARLINK_INTERFACE ".ListGuests", false, m_list, list_parameters },
        { VARLINK_INTERFACE ".GetGuest", false, get_guest, name_only },
        { VARLINK_INTERFACE ".GetCompat", false, get_compat, name_only },
        { VARLINK_INTERFACE ".Explain", false, explain, explain_parameters },
        { VARLINK_INTERFACE ".GetMetrics", false, m_metrics, no_parameters },
        { VARLINK_INTERFACE ".ListOverrides", false, list_overrides, no_parameters },
        { VARLINK_INTERFACE ".SetOverride", true, set_override, override_parameters },
        { VARLINK_INTERFACE ".ResetOverride", true, reset_override, name_only },
        { VARLINK_INTERFACE ".Reload", true, m_reload, no_parameters },
        { VARLINK_INTERFACE ".Pause", true, m_pause, no_parameters },
        { VARLINK_INTERFACE ".Resume", true, m_resume, no_parameters },
        { VARLINK_INTERFACE ".SetLogLevel", true, m_set_log_level, level_only },
        { "org.varlink.service.GetInfo", false, m_info, no_parameters },
        { "org.varlink.service.GetInterfaceDescription", false, m_interface_description,
          interface_only },
};

const char *control_method(size_t i, const char *const **ret_parameters)
{
        if (i >= ELEMENTSOF(methods))
                return NULL;
        if (ret_parameters)
                *ret_parameters = methods[i].parameters;
        return methods[i].name;
}

/* The first parameter the method does not take, or NULL. */
static const char *unknown_parameter(const Method *method, json_object *params)
{
        json_object_object_foreach(params, key, value)
        {
                bool known = false;
                for (const char *const *k = method->parameters; *k && !known; k++)
                        known = strcmp(key, *k) == 0;
                if (!known)
                        return key;
        }
        return NULL;
}

static json_object *call_method(ControlClient *c, const Method *method, json_object *params)
{
        _cleanup_json_ json_object *none = NULL;
        const char *unknown;

        if (!params)
                params = none = json_object_new_object();
        if (!json_object_is_type(params, json_type_object))
                return invalid_parameter("parameters", "an object");
        unknown = unknown_parameter(method, params);
        if (unknown)
                return invalid_parameter(unknown, "not a parameter of this method");
        if (method->writes && !c->peer.privileged)
                return varlink_error_new(VARLINK_INTERFACE ".PermissionDenied", NULL);
        return method->call(c->server->manager, params);
}

static json_object *dispatch(ControlClient *c, json_object *call)
{
        json_object *params = NULL, *p;
        const char *method = NULL;

        if (varlink_get_string(call, "method", &method) < 0)
                return invalid_parameter("method", "a method name, UTF-8 without NUL");
        (void)json_object_object_get_ex(call, "parameters", &params);
        for (size_t i = 0; i < ELEMENTSOF(methods); i++)
                if (strcmp(method, methods[i].name) == 0)
                        return call_method(c, &methods[i], params);
        p = json_object_new_object();
        json_object_object_add(p, "method", json_object_new_string(method));
        return varlink_error_new("org.varlink.service.MethodNotFound", p);
}

/* 1 when the peer had gid among its supplementary groups as it connected. */
static int peer_has_group(int fd, gid_t gid)
{
        gid_t some[64];
        _cleanup_free_ gid_t *all = NULL;
        gid_t *groups = some;
        socklen_t len = sizeof(some);

        if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) < 0) {
                if (errno != ERANGE)
                        return -errno;
                /* More than fit: len is now what they need. */
                groups = all = malloc(len);
                if (!all)
                        return -ENOMEM;
                if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) < 0)
                        return -errno;
        }
        for (size_t i = 0; i < len / sizeof(gid_t); i++)
                if (groups[i] == gid)
                        return 1;
        return 0;
}

/*
 * The peer's credentials as the kernel recorded them when it connected,
 * never the user database: no NSS lookup on the loop, and what counts is the
 * groups the process had, not the ones its user would get at the next login.
 * Writes are for root and the memtide group (primary or supplementary).
 */
static int peer_credentials(ControlServer *s, int fd, ControlPeer *ret)
{
        struct ucred cred;
        socklen_t len = sizeof(cred);
        int r = 0;

        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
                return -errno;
        bool privileged = cred.uid == 0 || (s->write_gid != (gid_t)-1 && cred.gid == s->write_gid);
        if (!privileged && s->write_gid != (gid_t)-1) {
                r = peer_has_group(fd, s->write_gid);
                if (r < 0)
                        return r;
        }
        *ret = (ControlPeer){ .uid = cred.uid, .privileged = privileged || r > 0 };
        return 0;
}

/* Traffic either way: the idle timeout starts again. */
static void client_touch(ControlClient *c)
{
        (void)sd_event_source_set_time_relative(c->idle_timer, IDLE_TIMEOUT_USEC);
}

/* Replies not yet written: past CONTROL_MAX_QUEUED_BYTES the client's requests wait. */
static size_t client_queued(const ControlClient *c)
{
        return c->out_len - c->out_off;
}

/* Done: it closed its side and every reply it asked for is written. */
static bool client_finished(const ControlClient *c)
{
        return c->eof && !c->close_after_write && client_queued(c) == 0;
}

/*
 * Read while its replies are being read, write while some are queued. A
 * client that does not read its replies is not read either: its requests
 * wait in the kernel's socket buffer, then in the client itself, never here.
 */
static int client_update_events(ControlClient *c)
{
        uint32_t events = 0;

        if (c->draining ||
            (!c->eof && !c->close_after_write && client_queued(c) < CONTROL_MAX_QUEUED_BYTES))
                events |= EPOLLIN;
        if (client_queued(c) > 0)
                events |= EPOLLOUT;
        return sd_event_source_set_io_events(c->source, events);
}

/* A malformed or oversized request: an error reply after those queued, then close. */
static int client_refuse_request(ControlClient *c, int error)
{
        if (log_limit_pass(&c->server->closures, c->server->manager->event))
                log_warning("control client (uid %u) sent a %s request, closing it",
                            (unsigned)c->peer.uid, error == -EMSGSIZE ? "too large" : "malformed");
        c->close_after_write = true;
        varlink_buffer_clear(&c->in);
        return client_queue(
                c, invalid_parameter("request", error == -EMSGSIZE
                                                        ? "over the size limit of one request"
                                                        : "not one JSON object ended by NUL"));
}

/*
 * Answers the requests received while fewer than CONTROL_MAX_QUEUED_BYTES of
 * replies wait to be read; the rest are answered as the client reads.
 */
static int client_process(ControlClient *c)
{
        json_object *call;
        int r = 0;

        while (!c->close_after_write && client_queued(c) < CONTROL_MAX_QUEUED_BYTES &&
               (r = varlink_buffer_next(&c->in, &call)) > 0) {
                r = client_queue(c, dispatch(c, call));
                json_object_put(call);
                if (r < 0)
                        return r;
        }
        if (r == -EMSGSIZE || r == -EBADMSG)
                r = client_refuse_request(c, r);
        return r < 0 ? r : client_update_events(c);
}

static int client_read(ControlClient *c)
{
        char buf[4096];
        ssize_t n = read(c->fd, buf, sizeof(buf));
        int r;

        if (n < 0)
                return errno == EAGAIN || errno == EINTR ? 0 : -errno;
        client_touch(c);
        if (n == 0) {
                /* Shut its side: the replies to what it sent are still written. */
                c->eof = true;
                return client_update_events(c);
        }
        r = varlink_buffer_append(&c->in, buf, (size_t)n);
        if (r < 0)
                return r;
        return client_process(c);
}

static int client_write(ControlClient *c)
{
        while (client_queued(c) > 0) {
                ssize_t n = send(c->fd, c->out + c->out_off, client_queued(c), MSG_NOSIGNAL);
                if (n < 0)
                        return errno == EAGAIN || errno == EINTR ? 0 : -errno;
                client_touch(c);
                c->out_off += (size_t)n;
        }
        free(c->out);
        c->out = NULL;
        c->out_off = c->out_len = c->out_cap = 0;
        if (c->close_after_write && !c->draining) {
                /* Closing with unread input would reset the connection and lose
                 * the error reply: shut the write side and read the rest away. */
                (void)shutdown(c->fd, SHUT_WR);
                c->draining = true;
                return client_update_events(c);
        }
        /* Room again: the requests held back are answered, reading resumes. */
        return client_process(c);
}

/* After an error reply: discard what the client still sends, up to a bound. */
static int client_drain(ControlClient *c)
{
        char buf[16384];
        ssize_t n = read(c->fd, buf, sizeof(buf));

        if (n < 0)
                return errno == EAGAIN || errno == EINTR ? 0 : -errno;
        c->drained_bytes += (size_t)n;
        return n == 0 || c->drained_bytes > CONTROL_DRAIN_MAX_BYTES ? -ECONNRESET : 0;
}

static int on_client_io(sd_event_source *src, int fd, uint32_t revents, void *userdata)
{
        ControlClient *c = userdata;
        int r = 0;

        if (revents & EPOLLIN)
                r = c->draining ? client_drain(c) : client_read(c);
        if (r >= 0 && revents & EPOLLOUT)
                r = client_write(c);
        if (r >= 0 && revents & (EPOLLHUP | EPOLLERR) && !(revents & EPOLLIN))
                r = -ECONNRESET;
        if (r < 0 || client_finished(c))
                client_free(c);
        return 0;
}

/* Nothing sent or read for CONTROL_IDLE_TIMEOUT_SEC: its slot is for others. */
static int on_client_idle(sd_event_source *src, uint64_t usec, void *userdata)
{
        ControlClient *c = userdata;

        if (log_limit_pass(&c->server->closures, c->server->manager->event))
                log_info("control client (uid %u) idle for %d s, closing it", (unsigned)c->peer.uid,
                         CONTROL_IDLE_TIMEOUT_SEC);
        client_free(c);
        return 0;
}

static size_t clients_of_uid(const ControlServer *s, uid_t uid)
{
        size_t n = 0;
        for (const ControlClient *c = s->clients; c; c = c->next)
                n += c->peer.uid == uid;
        return n;
}

/*
 * Why a new client cannot be served, or NULL. The last slots are kept for
 * root and the memtide group, and a user has a few at most (root excepted:
 * the reserve is for it), so that unprivileged users, alone or together,
 * cannot lock out the operator.
 */
static const char *refusal_reason(const ControlServer *s, const ControlPeer *peer)
{
        if (s->n_clients >= CONTROL_MAX_CLIENTS)
                return "every connection slot is taken";
        if (!peer->privileged && s->n_clients >= CONTROL_MAX_CLIENTS - CONTROL_RESERVED_CLIENTS)
                return "the remaining slots are reserved for root and the memtide group";
        if (peer->uid != 0 && clients_of_uid(s, peer->uid) >= CONTROL_MAX_CLIENTS_PER_UID)
                return "the user holds as many connections as one user may";
        return NULL;
}

static int client_new(ControlServer *s, int fd, const ControlPeer *peer)
{
        ControlClient *c = calloc(1, sizeof(*c));
        int r;

        if (!c) {
                close(fd);
                return -ENOMEM;
        }
        *c = (ControlClient){ .server = s, .fd = fd, .peer = *peer, .next = s->clients };
        varlink_buffer_init(&c->in, VARLINK_MAX_MESSAGE_BYTES);
        s->clients = c;
        s->n_clients++;
        r = sd_event_add_io(s->manager->event, &c->source, c->fd, EPOLLIN, on_client_io, c);
        if (r >= 0)
                r = sd_event_add_time_relative(s->manager->event, &c->idle_timer, CLOCK_MONOTONIC,
                                               IDLE_TIMEOUT_USEC, 0, on_client_idle, c);
        if (r < 0)
                client_free(c);
        return r;
}

int control_server_add_client(ControlServer *s, int fd)
{
        _cleanup_close_ int owned = fd;
        ControlPeer peer = {};
        const char *why;
        int r;

        r = peer_credentials(s, fd, &peer);
        if (r < 0) {
                if (log_limit_pass(&s->refusals, s->manager->event))
                        log_warning_errno(r, "control socket: refused a connection whose peer is "
                                             "unknown: %m");
                return r;
        }
        why = refusal_reason(s, &peer);
        if (why) {
                if (log_limit_pass(&s->refusals, s->manager->event))
                        log_warning("control socket: refused a connection from uid %u: %s",
                                    (unsigned)peer.uid, why);
                return -EUSERS;
        }
        return client_new(s, TAKE_FD(owned), &peer);
}

static int on_accept(sd_event_source *src, int fd, uint32_t revents, void *userdata)
{
        ControlServer *s = userdata;
        int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

        if (cfd >= 0)
                (void)control_server_add_client(s, cfd);
        return 0;
}

static int listen_unix(const char *path, gid_t group)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_close_ int fd = -1;

        if (strlen(path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        (void)unlink(path);
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 16) < 0)
                return -errno;
        /* 0660 root:memtide: the group may connect (and write); others may not. */
        if (group != (gid_t)-1)
                (void)chown(path, (uid_t)-1, group);
        if (chmod(path, group != (gid_t)-1 ? 0660 : 0666) < 0)
                return -errno;
        return TAKE_FD(fd);
}

/* Looked up once, at start: an NSS lookup may block, and must not on the loop. */
static gid_t write_group_gid(void)
{
        struct group *grp = getgrnam(CONTROL_WRITE_GROUP);
        return grp ? grp->gr_gid : (gid_t)-1;
}

int control_server_new(ControlServer **ret, Manager *m, const char *path)
{
        _cleanup_(control_server_freep) ControlServer *s = calloc(1, sizeof(*s));
        int r;

        if (!s)
                return -ENOMEM;
        s->manager = m;
        s->fd = -1;
        s->refusals.what = "connections refused";
        s->closures.what = "control clients closed (bad requests, idle)";
        s->path = strdup(path);
        s->write_gid = write_group_gid();
        r = s->path ? mkdir_parent(path, 0755) : -ENOMEM;
        if (r >= 0)
                r = s->fd = listen_unix(path, s->write_gid);
        if (r >= 0)
                r = sd_event_add_io(m->event, &s->source, s->fd, EPOLLIN, on_accept, s);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(s);
        return 0;
}

ControlServer *control_server_free(ControlServer *s)
{
        if (!s)
                return NULL;
        while (s->clients)
                client_free(s->clients);
        log_limit_done(&s->refusals);
        log_limit_done(&s->closures);
        sd_event_source_disable_unref(s->source);
        if (s->fd >= 0) {
                close(s->fd);
                (void)unlink(s->path);
        }
        free(s->path);
        free(s);
        return NULL;
}
