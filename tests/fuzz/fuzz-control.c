/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fuzz target: the control socket end to end. The input is what a client
 * writes to memtided's control socket. It goes through a socket pair into
 * the daemon's own client code (control_server_add_client(): admission,
 * reads, varlink framing, the method handlers on a Manager with three
 * guests of the fake backend (bench/fake-backend.c), runtime overrides
 * saved to a state directory, replies queued with backpressure and
 * written), on the daemon's sd-event loop, while this side writes in
 * chunks, reads the replies, and at the end shuts its side.
 *
 * Input: one control byte, then the stream.
 *   bits 0-2  chunk size of the writes (1, 2, 7, 64, 512, 4096, 65536, all)
 *   bit 3     the client connects as uid nobody (when run as root): the
 *             write methods are refused
 *   bit 4     the client reads replies only when it cannot write, so the
 *             daemon's reply queue fills (socket buffers are small)
 *
 * Invariants: no crash, leak or sanitizer report; every reply is a JSON
 * object in valid UTF-8 with an object "parameters" and, for an error, a
 * string "error"; one reply per request, none lost or added, up to the first
 * malformed or oversized request, whose InvalidParameter error ("request")
 * is the last; the daemon closes the connection once this side has shut its
 * own and read everything; what it then holds as overrides is within the
 * limits (count, names, shares, sizes, min not above max), and the saved
 * file is strict JSON that loads back to the same set.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cleanup.h"
#include "config.h"
#include "control.h"
#include "fake-backend.h"
#include "fileio.h"
#include "fuzz.h"
#include "json-util.h"
#include "log.h"
#include "manager.h"
#include "overrides.h"
#include "varlink.h"

static const size_t chunk_sizes[8] = { 1, 2, 7, 64, 512, 4096, 65536, SIZE_MAX };
#define AS_NOBODY   0x08
#define WRITE_FIRST 0x10

#define NOBODY_UID 65534
/* Bounds the conversation: a daemon that never closes is a hang, not a pass. */
#define MAX_ROUNDS_PER_BYTE 8
#define MAX_ROUNDS_EXTRA    20000

typedef struct FuzzDaemon {
        char dir[64];
        char *overrides_path;
        Manager *manager;
        ControlServer *server;
} FuzzDaemon;

static FuzzDaemon fuzz_daemon;

static const struct {
        const char *key, *name, *uuid;
        uint64_t size;
} guests[] = {
        { "/run/qmp/web1.qmp", "web1", "6f1c2b52-8e8f-4a57-9f0e-2d8f4c0b1a11", 2 * GIB },
        { "/run/qmp/db1.qmp", "db1", NULL, 4 * GIB },
        { "/run/qmp/\xc3\xa9t\xc3\xa9.qmp", "\xc3\xa9t\xc3\xa9", NULL, 512 * MIB },
};

static void report_stats(Manager *m, Guest *g)
{
        BalloonStats s;

        balloon_stats_init(&s);
        s.total_bytes = g->actual_bytes - 60 * MIB;
        s.available_bytes = s.total_bytes / 2;
        s.free_bytes = s.total_bytes / 3;
        s.last_update_sec = manager_wall_sec();
        manager_stats_arrived(m, g, &s);
}

static void add_guests(Manager *m)
{
        for (size_t i = 0; i < ELEMENTSOF(guests); i++) {
                Guest *g;
                fuzz_check(fake_backend_add_guest(m, guests[i].key, guests[i].size, &g) == 0);
                fuzz_check(guest_set_name(g, guests[i].name) == 0);
                if (guests[i].uuid)
                        fuzz_check(guest_set_uuid(g, guests[i].uuid) == 0);
                manager_refresh_settings(m, g);
                report_stats(m, g);
        }
        /* Decisions, for Explain and the status. */
        fuzz_check(manager_run_cycle(m) == 0);
        fuzz_check(manager_run_cycle(m) == 0);
}

/* A config file of its own, so that Reload reads one. */
static char *write_config(const char *dir)
{
        _cleanup_free_ char *text = NULL;
        char *path = NULL;

        fuzz_check(asprintf(&text,
                            "[Daemon]\nBackend=qmp\nControlSocket=%s/control.sock\n"
                            "StateDirectory=%s/state\n[Guest:db*]\nMinMemory=1G\nShares=2000\n",
                            dir, dir) > 0);
        fuzz_check(asprintf(&path, "%s/memtide.conf", dir) > 0);
        fuzz_check(write_file_atomic(path, text, strlen(text), 0644) == 0);
        return path;
}

static void fuzz_daemon_free(void)
{
        FuzzDaemon *d = &fuzz_daemon;
        _cleanup_free_ char *config = NULL, *state = NULL;

        d->server = control_server_free(d->server);
        d->manager = manager_free(d->manager);
        (void)unlink(d->overrides_path);
        free(d->overrides_path);
        if (asprintf(&config, "%s/memtide.conf", d->dir) > 0)
                (void)unlink(config);
        if (asprintf(&state, "%s/state", d->dir) > 0)
                (void)rmdir(state);
        (void)rmdir(d->dir);
}

/* Once per process: the daemon's state lives across inputs; overrides are reset for each. */
static FuzzDaemon *fuzz_daemon_get(void)
{
        FuzzDaemon *d = &fuzz_daemon;
        _cleanup_free_ char *config_path = NULL, *error = NULL;
        MemtideConfig *config = NULL;

        if (d->manager)
                return d;
        log_set_max_level(LOG_ERR);
        strcpy(d->dir, "/dev/shm/memtide-fuzz-control-XXXXXX"); /* tmpfs: fsync is free */
        if (!mkdtemp(d->dir)) {
                strcpy(d->dir, "/tmp/memtide-fuzz-control-XXXXXX");
                fuzz_check(mkdtemp(d->dir));
        }
        config_path = write_config(d->dir);
        fuzz_check(config_load(config_path, &config, &error) == 0);
        fuzz_check(manager_new(&d->manager, config, config_path, &fake_backend_ops) == 0);
        fuzz_check(mkdir_p(config->state_directory, 0750) == 0);
        fuzz_check(asprintf(&d->overrides_path, "%s/overrides.json", config->state_directory) > 0);
        add_guests(d->manager);
        fuzz_check(control_server_new(&d->server, d->manager, config->control_socket) == 0);
        atexit(fuzz_daemon_free);
        return d;
}

static void reset_overrides(FuzzDaemon *d)
{
        overrides_clear(&d->manager->overrides);
        (void)unlink(d->overrides_path);
        for (size_t i = 0; i < d->manager->n_guests; i++)
                manager_refresh_settings(d->manager, d->manager->guests[i]);
}

/* One end for this side, the other served by the daemon; small buffers, so that replies back up. */
static int connect_client(FuzzDaemon *d, bool as_nobody)
{
        int pair[2], size = 4096, r;

        /* SO_PEERCRED reports who made the pair. */
        as_nobody = as_nobody && geteuid() == 0;
        if (as_nobody)
                fuzz_check(seteuid(NOBODY_UID) == 0);
        r = socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, pair);
        if (as_nobody)
                fuzz_check(seteuid(0) == 0);
        fuzz_check(r == 0);
        for (int i = 0; i < 2; i++) {
                (void)setsockopt(pair[i], SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
                (void)setsockopt(pair[i], SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
        }
        fuzz_check(control_server_add_client(d->server, pair[1]) == 0);
        return pair[0];
}

/* Keys and strings: valid UTF-8 without NUL, all the way down. */
static void check_text(json_object *o)
{
        switch (json_object_get_type(o)) {
        case json_type_string:
                fuzz_check(varlink_text_valid(json_object_get_string(o),
                                              (size_t)json_object_get_string_len(o)));
                break;
        case json_type_array:
                for (size_t i = 0; i < json_object_array_length(o); i++)
                        check_text(json_object_array_get_idx(o, i));
                break;
        case json_type_object: {
                json_object_object_foreach(o, key, value)
                {
                        fuzz_check(varlink_text_valid(key, strlen(key)));
                        check_text(value);
                }
                break;
        }
        default:
                break;
        }
}

typedef struct Replies {
        VarlinkBuffer in;
        size_t n;
        bool last_refused_request; /* the last reply: InvalidParameter "request" */
        bool closed;
} Replies;

static void check_reply(Replies *replies, json_object *reply)
{
        json_object *params = NULL;
        const char *error = NULL, *parameter = NULL;

        fuzz_check(json_object_object_get_ex(reply, "parameters", &params));
        fuzz_check(json_object_is_type(params, json_type_object));
        check_text(reply);
        replies->last_refused_request = false;
        if (json_object_object_get_ex(reply, "error", NULL)) {
                fuzz_check(json_get_string(reply, "error", &error) == 0);
                replies->last_refused_request =
                        strcmp(error, "org.varlink.service.InvalidParameter") == 0 &&
                        json_get_string(params, "parameter", &parameter) == 0 &&
                        strcmp(parameter, "request") == 0;
        }
        replies->n++;
}

static void read_replies(int fd, Replies *replies)
{
        char buf[65536];
        json_object *reply;
        ssize_t n;
        int r;

        while (!replies->closed) {
                n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
                if (n < 0 && (errno == EAGAIN || errno == EINTR))
                        return;
                replies->closed = n <= 0; /* EOF, or reset once it shut */
                if (n <= 0)
                        return;
                fuzz_check(varlink_buffer_append(&replies->in, buf, (size_t)n) == 0);
                while ((r = varlink_buffer_next(&replies->in, &reply)) > 0) {
                        check_reply(replies, reply);
                        json_object_put(reply);
                }
                fuzz_check(r == 0);
        }
}

/* How many replies the stream asks for: its requests up to the first bad one, and that one. */
static size_t requests_in(const uint8_t *data, size_t size, bool *ret_refused)
{
        VarlinkBuffer b;
        json_object *call;
        size_t n = 0;
        int r;

        varlink_buffer_init(&b, VARLINK_MAX_MESSAGE_BYTES);
        fuzz_check(varlink_buffer_append(&b, data, size) == 0);
        while ((r = varlink_buffer_next(&b, &call)) > 0) {
                json_object_put(call);
                n++;
        }
        varlink_buffer_clear(&b);
        *ret_refused = r < 0;
        return n + (r < 0);
}

static void run_loop(Manager *m)
{
        int r;
        while ((r = sd_event_run(m->event, 0)) > 0)
                ;
        fuzz_check(r >= 0);
}

static void converse(FuzzDaemon *d, int fd, const uint8_t *data, size_t size, size_t chunk,
                     bool write_first)
{
        Replies replies = { 0 };
        size_t off = 0, rounds = 0;
        bool shut = false, refused;
        size_t expected = requests_in(data, size, &refused);

        varlink_buffer_init(&replies.in, 64u * 1024u * 1024u);
        while (!replies.closed) {
                bool wrote = false;
                fuzz_check(rounds++ < size * MAX_ROUNDS_PER_BYTE + MAX_ROUNDS_EXTRA);
                if (off < size) {
                        size_t n = size - off < chunk ? size - off : chunk;
                        ssize_t w = send(fd, data + off, n, MSG_DONTWAIT | MSG_NOSIGNAL);
                        if (w > 0)
                                off += (size_t)w, wrote = true;
                        else if (w < 0 && errno != EAGAIN && errno != EINTR)
                                off = size; /* it closed after a bad request */
                } else if (!shut) {
                        fuzz_check(shutdown(fd, SHUT_WR) == 0);
                        shut = true;
                }
                run_loop(d->manager);
                if (!write_first || !wrote)
                        read_replies(fd, &replies);
        }
        varlink_buffer_clear(&replies.in);
        fuzz_check(replies.n == expected);
        fuzz_check(replies.last_refused_request == refused);
}

static void check_override(const Override *ov)
{
        fuzz_check(override_guest_valid(ov->guest));
        fuzz_check(varlink_text_valid(ov->guest, strlen(ov->guest)));
        fuzz_check(!ov->shares_set || ov->shares <= OVERRIDE_SHARES_MAX);
        fuzz_check(!ov->min_set || ov->min_bytes <= OVERRIDE_MAX_BYTES);
        fuzz_check(!ov->max_set || ov->max_bytes <= OVERRIDE_MAX_BYTES);
        fuzz_check(!(ov->min_set && ov->max_set) || ov->min_bytes <= ov->max_bytes);
}

/* The whole file; NULL when it cannot be read (absent). */
static char *read_whole(const char *path, size_t *ret_len)
{
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        _cleanup_free_ char *text = NULL;
        size_t len = 0, cap = 0, n;

        if (!f)
                return NULL;
        do {
                if (len + 4096 > cap) {
                        char *t = realloc(text, cap = 2 * (len + 4096));
                        fuzz_check(t);
                        text = t;
                }
                n = fread(text + len, 1, cap - len, f);
                len += n;
        } while (n > 0);
        *ret_len = len;
        return TAKE_PTR(text);
}

/* Strict JSON (RFC 8259) in valid UTF-8, as any other tool would read it. */
static void check_strict_json(const char *text, size_t len)
{
        json_tokener *tok = json_tokener_new();
        json_object *root;

        fuzz_check(tok && len <= INT_MAX);
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
        root = json_tokener_parse_ex(tok, text, (int)len);
        fuzz_check(root && json_tokener_get_error(tok) == json_tokener_success);
        json_object_put(root);
        json_tokener_free(tok);
}

/* What is in force is within limits; the file is strict JSON and loads back the same. */
static void check_overrides(FuzzDaemon *d)
{
        const Overrides *o = &d->manager->overrides;
        _cleanup_free_ char *text = NULL;
        Overrides loaded = { 0 };
        size_t len;

        fuzz_check(o->n <= OVERRIDES_MAX);
        for (size_t i = 0; i < o->n; i++)
                check_override(&o->items[i]);
        text = read_whole(d->overrides_path, &len);
        if (!text) {
                fuzz_check(o->n == 0);
                return;
        }
        check_strict_json(text, len);
        fuzz_check(overrides_load(&loaded, d->overrides_path) == 0);
        fuzz_check(loaded.n == o->n);
        overrides_clear(&loaded);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        FuzzDaemon *d;
        int fd;

        if (size < 1)
                return 0;
        d = fuzz_daemon_get();
        reset_overrides(d);
        fd = connect_client(d, data[0] & AS_NOBODY);
        converse(d, fd, data + 1, size - 1, chunk_sizes[data[0] & 7], data[0] & WRITE_FIRST);
        close(fd);
        run_loop(d->manager);
        check_overrides(d);
        return 0;
}
