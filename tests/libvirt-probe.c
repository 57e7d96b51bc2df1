/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libvirt-probe: the libvirt backend on an sd-event loop, driven by line
 * commands on stdin, reporting JSON lines on stdout. The integration tests
 * script it against a real libvirtd; it is also the smallest example of how
 * a daemon wires the backend in (eventfd as an sd-event I/O source).
 *
 *   libvirt-probe [--stats-period SEC] [--keepalive SEC] [--qmp] URI
 *
 * Commands (one per line):
 *   stats                 request bulk balloon stats
 *   set UUID BYTES        set a balloon target
 *   qmp UUID JSON         QMP passthrough (needs --qmp)
 *   status                print the connection status
 *   quit
 *
 * Every command is answered at once with {"reply": CMD, "r": N,
 * "main_usec": N}: main_usec is how long the backend call took on this
 * (the main) thread, the figure that must stay small while libvirtd hangs.
 * Results arrive later as {"event": TYPE, ...}.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <systemd/sd-event.h>

#include "cleanup.h"
#include "libvirt-backend.h"

typedef struct Probe {
        sd_event *event;
        LibvirtBackend *backend;
        char line[8192];
        size_t len;
} Probe;

static uint64_t now_usec(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void emit(json_object *o)
{
        puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
        fflush(stdout);
        json_object_put(o);
}

static json_object *json_u64_or_null(uint64_t v)
{
        return v == STAT_UNKNOWN ? NULL : json_object_new_uint64(v);
}

static json_object *sample_to_json(const LibvirtGuestSample *g)
{
        const LibvirtBalloonSample *s = &g->balloon;
        json_object *o = json_object_new_object();

        json_object_object_add(o, "uuid", json_object_new_string(g->uuid));
        json_object_object_add(o, "stale", json_object_new_boolean(s->stale));
        json_object_object_add(o, "current_bytes", json_u64_or_null(s->current_bytes));
        json_object_object_add(o, "maximum_bytes", json_u64_or_null(s->maximum_bytes));
        json_object_object_add(o, "rss_bytes", json_u64_or_null(s->rss_bytes));
        json_object_object_add(o, "total_bytes", json_u64_or_null(s->stats.total_bytes));
        json_object_object_add(o, "free_bytes", json_u64_or_null(s->stats.free_bytes));
        json_object_object_add(o, "available_bytes", json_u64_or_null(s->stats.available_bytes));
        json_object_object_add(o, "disk_caches_bytes",
                               json_u64_or_null(s->stats.disk_caches_bytes));
        json_object_object_add(o, "major_faults", json_u64_or_null(s->stats.major_faults));
        json_object_object_add(o, "last_update_sec",
                               json_object_new_uint64(s->stats.last_update_sec));
        return o;
}

static void result_details(json_object *o, const LibvirtResult *r)
{
        json_object *a;

        switch (r->type) {
        case LIBVIRT_RESULT_CONNECTED:
                json_object_object_add(o, "n_guests", json_object_new_uint64(r->n_guests));
                break;
        case LIBVIRT_RESULT_GUEST_ADDED:
                json_object_object_add(o, "name", json_object_new_string(r->guest.name));
                json_object_object_add(o, "id", json_object_new_int(r->guest.id));
                json_object_object_add(
                        o, "state",
                        json_object_new_string(libvirt_guest_state_to_string(r->guest.state)));
                json_object_object_add(o, "actual_bytes", json_u64_or_null(r->guest.actual_bytes));
                json_object_object_add(o, "max_bytes", json_u64_or_null(r->guest.max_bytes));
                if (r->guest.stats_period_error)
                        json_object_object_add(o, "stats_period_error",
                                               json_object_new_string(r->guest.stats_period_error));
                break;
        case LIBVIRT_RESULT_GUEST_REMOVED:
                json_object_object_add(
                        o, "reason",
                        json_object_new_string(libvirt_remove_reason_to_string(r->removed)));
                break;
        case LIBVIRT_RESULT_GUEST_STATE:
                json_object_object_add(
                        o, "state",
                        json_object_new_string(libvirt_guest_state_to_string(r->state)));
                break;
        case LIBVIRT_RESULT_BALLOON_CHANGE:
                json_object_object_add(o, "actual_bytes", json_object_new_uint64(r->actual_bytes));
                break;
        case LIBVIRT_RESULT_STATS:
                json_object_object_add(o, "duration_usec",
                                       json_object_new_uint64(r->stats.duration_usec));
                a = json_object_new_array();
                for (size_t i = 0; i < r->stats.n_guests; i++)
                        json_object_array_add(a, sample_to_json(&r->stats.guests[i]));
                json_object_object_add(o, "guests", a);
                break;
        case LIBVIRT_RESULT_SET_MEMORY:
                json_object_object_add(o, "target_bytes", json_object_new_uint64(r->target_bytes));
                json_object_object_add(o, "error_repeated",
                                       json_object_new_boolean(r->error_repeated));
                break;
        case LIBVIRT_RESULT_QMP_REPLY:
                if (r->qmp_reply)
                        json_object_object_add(o, "reply", json_object_new_string(r->qmp_reply));
                break;
        default:
                break;
        }
}

static void on_result(const LibvirtResult *r, void *userdata)
{
        json_object *o = json_object_new_object();

        json_object_object_add(o, "event",
                               json_object_new_string(libvirt_result_type_to_string(r->type)));
        json_object_object_add(o, "time_usec", json_object_new_uint64(now_usec()));
        if (r->request_id)
                json_object_object_add(o, "request_id", json_object_new_uint64(r->request_id));
        if (r->uuid[0])
                json_object_object_add(o, "uuid", json_object_new_string(r->uuid));
        json_object_object_add(o, "r", json_object_new_int(r->r));
        if (r->error)
                json_object_object_add(o, "error", json_object_new_string(r->error));
        result_details(o, r);
        emit(o);
}

static int on_backend(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        Probe *p = userdata;

        libvirt_backend_drain(p->backend, on_result, p);
        return 0;
}

static json_object *status_to_json(const LibvirtBackendStatus *st)
{
        json_object *o = json_object_new_object();

        json_object_object_add(o, "state",
                               json_object_new_string(libvirt_conn_state_to_string(st->state)));
        json_object_object_add(o, "reachable", json_object_new_boolean(st->reachable));
        json_object_object_add(o, "call", json_object_new_string(st->call));
        json_object_object_add(o, "call_usec", json_object_new_uint64(st->call_usec));
        json_object_object_add(o, "connects", json_object_new_uint64(st->connects));
        json_object_object_add(o, "pending_requests", json_object_new_uint64(st->pending_requests));
        json_object_object_add(o, "last_error", json_object_new_string(st->last_error));
        return o;
}

/* Runs one command line; every backend call is timed on this thread. */
static void run_command(Probe *p, char *line)
{
        char *save = NULL, *cmd = strtok_r(line, " ", &save);
        json_object *o = json_object_new_object(), *extra = NULL;
        uint64_t t0 = now_usec(), id = 0;
        LibvirtBackendStatus st;
        int r = 0;

        if (!cmd) {
                json_object_put(o);
                return;
        }
        if (strcmp(cmd, "stats") == 0)
                r = libvirt_backend_request_stats(p->backend, &id);
        else if (strcmp(cmd, "set") == 0) {
                const char *uuid = strtok_r(NULL, " ", &save), *bytes = strtok_r(NULL, " ", &save);
                r = uuid && bytes ? libvirt_backend_set_memory(p->backend, uuid,
                                                               strtoull(bytes, NULL, 10), &id)
                                  : -EINVAL;
        } else if (strcmp(cmd, "qmp") == 0) {
                const char *uuid = strtok_r(NULL, " ", &save);
                r = uuid && save ? libvirt_backend_qmp_query(p->backend, uuid, save, &id) : -EINVAL;
        } else if (strcmp(cmd, "status") == 0) {
                libvirt_backend_get_status(p->backend, &st);
                extra = status_to_json(&st);
        } else if (strcmp(cmd, "quit") == 0)
                sd_event_exit(p->event, 0);
        else
                r = -EINVAL;

        json_object_object_add(o, "reply", json_object_new_string(cmd));
        json_object_object_add(o, "r", json_object_new_int(r));
        json_object_object_add(o, "main_usec", json_object_new_uint64(now_usec() - t0));
        if (id)
                json_object_object_add(o, "request_id", json_object_new_uint64(id));
        if (extra)
                json_object_object_add(o, "status", extra);
        emit(o);
}

static int on_stdin(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        Probe *p = userdata;
        ssize_t n = read(fd, p->line + p->len, sizeof(p->line) - 1 - p->len);
        char *nl;

        if (n <= 0)
                return sd_event_exit(p->event, 0);
        p->len += (size_t)n;
        p->line[p->len] = '\0';
        while ((nl = strchr(p->line, '\n'))) {
                *nl = '\0';
                run_command(p, p->line);
                p->len -= (size_t)(nl + 1 - p->line);
                memmove(p->line, nl + 1, p->len + 1);
        }
        if (p->len == sizeof(p->line) - 1)
                p->len = 0; /* overlong line: dropped */
        return 0;
}

static int parse_args(int argc, char **argv, LibvirtBackendConfig *c)
{
        for (int i = 1; i < argc; i++) {
                if (strcmp(argv[i], "--stats-period") == 0 && i + 1 < argc)
                        c->stats_period_sec = (unsigned)atoi(argv[++i]);
                else if (strcmp(argv[i], "--keepalive") == 0 && i + 1 < argc)
                        c->keepalive_interval_sec = (unsigned)atoi(argv[++i]);
                else if (strcmp(argv[i], "--qmp") == 0)
                        c->qmp_passthrough = true;
                else if (argv[i][0] != '-' && !c->uri)
                        c->uri = argv[i];
                else
                        return -EINVAL;
        }
        return 0;
}

int main(int argc, char **argv)
{
        LibvirtBackendConfig c = LIBVIRT_BACKEND_CONFIG_DEFAULT;
        Probe p = {0};
        sigset_t mask;
        int r;

        if (parse_args(argc, argv, &c) < 0) {
                fprintf(stderr, "usage: %s [--stats-period SEC] [--keepalive SEC] [--qmp] URI\n",
                        argv[0]);
                return 2;
        }

        /* As the daemon does: signals go to sd-event, SIGPIPE nowhere. */
        signal(SIGPIPE, SIG_IGN);
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigprocmask(SIG_BLOCK, &mask, NULL);

        r = sd_event_default(&p.event);
        if (r >= 0)
                r = libvirt_backend_new(&c, &p.backend);
        if (r >= 0)
                r = sd_event_add_io(p.event, NULL, libvirt_backend_get_fd(p.backend), EPOLLIN,
                                    on_backend, &p);
        if (r >= 0)
                r = sd_event_add_io(p.event, NULL, STDIN_FILENO, EPOLLIN, on_stdin, &p);
        if (r >= 0)
                r = sd_event_add_signal(p.event, NULL, SIGTERM, NULL, NULL);
        if (r >= 0)
                r = sd_event_add_signal(p.event, NULL, SIGINT, NULL, NULL);
        if (r >= 0)
                r = libvirt_backend_start(p.backend);
        if (r >= 0)
                r = sd_event_loop(p.event);
        if (r < 0)
                fprintf(stderr, "libvirt-probe: %s\n", strerror(-r));

        /* sd_event_unref drops the sources, then the backend goes. */
        p.event = sd_event_unref(p.event);
        p.backend = libvirt_backend_free(p.backend);
        return r < 0 ? 1 : 0;
}
