/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Tests for lib/qemu/qmp.c. A fake QEMU sits on the other end of a socketpair and
 * is driven from the same sd-event loop as the client: each test writes what
 * QEMU would write (often the replies recorded in tests/fixtures/qmp), runs
 * the loop and checks what the client reported. The last test talks to a
 * real QEMU when qemu-system-x86_64 is installed; without it the binary exits
 * 77 (skipped) after every other test has passed.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <linux/sockios.h>
#include <time.h>
#include <unistd.h>

#include "balloon-stats.h"
#include "cleanup.h"
#include "json-util.h"
#include "qmp.h"
#include "test-util.h"

#define USEC_PER_MSEC UINT64_C(1000)

/* What one command's reply callback saw. */
typedef struct Reply {
        struct Fixture *f;
        int calls;
        int order; /* position among all replies delivered in the test */
        json_object *ret;
        char *error;
        bool free_client; /* free the client from inside this callback */
        bool send_next;   /* queue another command from inside this callback */
} Reply;

/* The client under test, the fake QEMU's socket and what the callbacks saw. */
typedef struct Fixture {
        sd_event *event;
        QmpClient *client;
        int peer;
        char received[1 << 16]; /* bytes the client wrote, not yet consumed */
        size_t received_len;

        int ready;
        int closed;
        char closed_reason[512];
        size_t pending_at_close;
        char events[4096]; /* "NAME data\n" per event */
        int n_events;
        int replies;

        bool free_on_ready, free_on_event, free_on_closed, free_on_idle;
        int idle;                   /* on_idle calls */
        size_t pending_at_idle;     /* qmp_client_pending() when on_idle came */
        int replies_at_idle;        /* replies delivered before it */
        Reply chained; /* reply of the command queued by send_next */
} Fixture;

static void reply_clear(Reply *r)
{
        if (r->ret)
                json_object_put(r->ret);
        free(r->error);
        *r = (Reply){ .f = r->f };
}

static void on_reply(QmpClient *c, json_object *ret, const char *error, void *userdata)
{
        Reply *r = userdata;
        Fixture *f = r->f;

        r->calls++;
        r->order = ++f->replies;
        r->ret = ret ? json_object_get(ret) : NULL;
        r->error = error ? strdup(error) : NULL;
        if (r->send_next) {
                f->chained.f = f;
                check(qmp_client_command(c, "query-status", NULL, on_reply, &f->chained) == 0);
        }
        if (r->free_client)
                f->client = qmp_client_free(c);
}

static void on_ready(QmpClient *c, void *userdata)
{
        Fixture *f = userdata;

        f->ready++;
        if (f->free_on_ready)
                f->client = qmp_client_free(c);
}

static void on_event(QmpClient *c, const char *event, json_object *data, void *userdata)
{
        Fixture *f = userdata;
        size_t len = strlen(f->events);

        snprintf(f->events + len, sizeof(f->events) - len, "%s%s%s\n", event, data ? " " : "",
                 data ? json_object_to_json_string_ext(data, JSON_C_TO_STRING_PLAIN) : "");
        f->n_events++;
        if (f->free_on_event)
                f->client = qmp_client_free(c);
}

static void on_closed(QmpClient *c, const char *reason, void *userdata)
{
        Fixture *f = userdata;

        f->closed++;
        snprintf(f->closed_reason, sizeof(f->closed_reason), "%s", reason);
        f->pending_at_close = qmp_client_pending(c);
        check(!qmp_client_is_ready(c));
        if (f->free_on_closed)
                f->client = qmp_client_free(c);
}

static void on_idle(QmpClient *c, void *userdata)
{
        Fixture *f = userdata;

        f->idle++;
        f->pending_at_idle = qmp_client_pending(c);
        f->replies_at_idle = f->replies;
        if (f->free_on_idle)
                f->client = qmp_client_free(c);
}

static const QmpCallbacks callbacks = {
        .on_ready = on_ready,
        .on_event = on_event,
        .on_closed = on_closed,
        .on_idle = on_idle,
};

static Fixture *fixture_new(void)
{
        Fixture *f = calloc(1, sizeof(*f));
        int fds[2];

        check(f);
        check(sd_event_new(&f->event) >= 0);
        check(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0);
        f->peer = fds[1];
        check(qmp_client_new_fd(&f->client, f->event, fds[0], &callbacks, f) == 0);
        f->chained.f = f;
        return f;
}

static void fixture_free(Fixture *f)
{
        f->client = qmp_client_free(f->client);
        reply_clear(&f->chained);
        if (f->peer >= 0)
                close(f->peer);
        sd_event_unref(f->event);
        free(f);
}

static uint64_t now_usec(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Runs the loop until cond holds; a test that waits longer than that fails. */
#define run_until(f, cond, timeout_msec)                                                           \
        do {                                                                                       \
                uint64_t _deadline = now_usec() + (uint64_t)(timeout_msec)*USEC_PER_MSEC;          \
                while (!(cond)) {                                                                  \
                        if (now_usec() > _deadline) {                                              \
                                fprintf(stderr, "%s:%d: %s: timed out waiting for %s\n", __FILE__, \
                                        __LINE__, __func__, #cond);                                \
                                abort();                                                           \
                        }                                                                          \
                        check(sd_event_run((f)->event, 10 * USEC_PER_MSEC) >= 0);                  \
                }                                                                                  \
        } while (0)

/* Lets the client process whatever is readable now. */
static void run_briefly(Fixture *f)
{
        for (int i = 0; i < 20; i++)
                check(sd_event_run(f->event, 0) >= 0);
}

static void peer_send_len(Fixture *f, const char *data, size_t len)
{
        while (len > 0) {
                ssize_t n = send(f->peer, data, len, MSG_NOSIGNAL);

                check(n > 0);
                data += n;
                len -= (size_t)n;
        }
}

/* Sends more than the socket holds: runs the loop while the client reads. */
static void peer_send_big(Fixture *f, const char *data)
{
        size_t len = strlen(data);

        while (len > 0) {
                ssize_t n = send(f->peer, data, len, MSG_NOSIGNAL | MSG_DONTWAIT);

                if (n < 0 && errno == EAGAIN) {
                        check(sd_event_run(f->event, 10 * USEC_PER_MSEC) >= 0);
                        continue;
                }
                if (n < 0 && (errno == EPIPE || errno == ECONNRESET))
                        return; /* the client hung up */
                check(n > 0);
                data += n;
                len -= (size_t)n;
        }
}

static void peer_send(Fixture *f, const char *text)
{
        peer_send_len(f, text, strlen(text));
}

static char *fixture_text(const char *name)
{
        char path[4096];
        json_object *o;
        char *text;

        snprintf(path, sizeof(path), "%s/qmp/%s", FIXTURE_DIR, name);
        o = json_object_from_file(path);
        check(o);
        text = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
        json_object_put(o);
        check(text);
        return text;
}

/* Sends a recorded QEMU reply with its id replaced, ended by "\r\n" like QEMU. */
static void peer_send_fixture(Fixture *f, const char *name, uint64_t id)
{
        char path[4096];
        json_object *o;

        snprintf(path, sizeof(path), "%s/qmp/%s", FIXTURE_DIR, name);
        o = json_object_from_file(path);
        check(o);
        if (json_object_object_get_ex(o, "id", NULL))
                json_object_object_add(o, "id", json_object_new_uint64(id));
        peer_send(f, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
        peer_send(f, "\r\n");
        json_object_put(o);
}

static bool peer_has_line(Fixture *f)
{
        ssize_t n;

        n = recv(f->peer, f->received + f->received_len, sizeof(f->received) - f->received_len - 1,
                 MSG_DONTWAIT);
        if (n > 0)
                f->received_len += (size_t)n;
        return memchr(f->received, '\n', f->received_len) != NULL;
}

/* Waits for the client's next command line, checks its name, returns its id. */
static uint64_t peer_expect(Fixture *f, const char *execute, json_object **ret_args)
{
        _cleanup_json_ json_object *message = NULL;
        json_object *args = NULL;
        const char *name;
        uint64_t id;
        char *nl;

        run_until(f, peer_has_line(f), 5000);
        nl = memchr(f->received, '\n', f->received_len);
        *nl = '\0';
        message = json_tokener_parse(f->received);
        check(message);
        f->received_len -= (size_t)(nl + 1 - f->received);
        memmove(f->received, nl + 1, f->received_len);

        check(json_get_string(message, "execute", &name) == 0);
        check_streq(name, execute);
        check(json_get_u64(message, "id", &id) == 0);
        if (ret_args) {
                *ret_args = NULL;
                if (json_object_object_get_ex(message, "arguments", &args))
                        *ret_args = json_object_get(args);
        }
        return id;
}

static void peer_sendf(Fixture *f, const char *format, ...) __attribute__((format(printf, 2, 3)));
static void peer_sendf(Fixture *f, const char *format, ...)
{
        char buf[4096];
        va_list ap;

        va_start(ap, format);
        vsnprintf(buf, sizeof(buf), format, ap);
        va_end(ap);
        peer_send(f, buf);
}

static void handshake(Fixture *f)
{
        _cleanup_free_ char *greeting = fixture_text("greeting.json");
        uint64_t id;

        peer_send(f, greeting);
        peer_send(f, "\r\n");
        id = peer_expect(f, "qmp_capabilities", NULL);
        peer_sendf(f, "{\"return\": {}, \"id\": %" PRIu64 "}\r\n", id);
        run_until(f, f->ready == 1, 5000);
        check(qmp_client_is_ready(f->client));
}

static const char *ret_string(const Reply *r)
{
        return r->ret ? json_object_to_json_string_ext(r->ret, JSON_C_TO_STRING_PLAIN) : NULL;
}

/* ---- handshake and normal traffic ---- */

static void test_handshake_calls_on_ready(void)
{
        _cleanup_free_ char *greeting = fixture_text("greeting.json");
        Fixture *f = fixture_new();
        json_object *args = json_object_new_object();
        uint64_t id;

        check(!qmp_client_is_ready(f->client));
        check(qmp_client_socket_path(f->client) == NULL);
        /* Commands before the handshake are refused (and args freed). */
        check(qmp_client_command(f->client, "query-name", args, NULL, NULL) == -ENOTCONN);

        peer_send(f, greeting);
        peer_send(f, "\r\n");
        id = peer_expect(f, "qmp_capabilities", NULL);
        check(f->ready == 0);
        check(!qmp_client_is_ready(f->client));
        check(qmp_client_pending(f->client) == 1);

        /* QEMU answers qmp_capabilities with an empty return and our id. */
        peer_sendf(f, "{\"return\": {}, \"id\": %" PRIu64 "}\r\n", id);
        run_until(f, f->ready == 1, 5000);
        check(qmp_client_is_ready(f->client));
        check(qmp_client_pending(f->client) == 0);
        check(f->closed == 0);
        fixture_free(f);
}

static void test_replies_matched_by_id_out_of_order(void)
{
        Fixture *f = fixture_new();
        Reply r[3] = { { .f = f }, { .f = f }, { .f = f } };
        uint64_t id[3];

        handshake(f);
        check(qmp_client_command(f->client, "query-name", NULL, on_reply, &r[0]) == 0);
        check(qmp_client_command(f->client, "query-balloon", NULL, on_reply, &r[1]) == 0);
        check(qmp_client_command(f->client, "query-status", NULL, on_reply, &r[2]) == 0);
        check(qmp_client_pending(f->client) == 3);
        id[0] = peer_expect(f, "query-name", NULL);
        id[1] = peer_expect(f, "query-balloon", NULL);
        id[2] = peer_expect(f, "query-status", NULL);
        check(id[0] != id[1] && id[1] != id[2] && id[0] != id[2]);

        peer_sendf(f, "{\"return\": {\"status\": \"prelaunch\"}, \"id\": %" PRIu64 "}\r\n", id[2]);
        peer_sendf(f, "{\"return\": {\"name\": \"vm1\"}, \"id\": %" PRIu64 "}\r\n", id[0]);
        run_until(f, r[0].calls == 1, 5000);
        check(qmp_client_pending(f->client) == 1);
        peer_send_fixture(f, "query-balloon.json", id[1]);
        run_until(f, r[1].calls == 1, 5000);

        check_streq(ret_string(&r[0]), "{\"name\":\"vm1\"}");
        check_streq(ret_string(&r[1]), "{\"actual\":67108864}");
        check_streq(ret_string(&r[2]), "{\"status\":\"prelaunch\"}");
        check(r[2].order == 1 && r[0].order == 2 && r[1].order == 3);
        for (int i = 0; i < 3; i++)
                check(r[i].calls == 1 && r[i].error == NULL);
        check(qmp_client_pending(f->client) == 0);
        check(f->closed == 0);
        for (int i = 0; i < 3; i++)
                reply_clear(&r[i]);
        fixture_free(f);
}

/* on_idle comes once every command is answered, after the last reply's
 * callback, not after each reply; the owner may hang up from inside it (a
 * shared monitor's session) and no callback follows. */
static void test_idle_after_the_last_reply(void)
{
        Fixture *f = fixture_new();
        Reply r[2] = { { .f = f }, { .f = f } };
        uint64_t id[2];

        handshake(f);
        check(f->idle == 0); /* negotiation is no command of the owner's */
        check(qmp_client_command(f->client, "query-balloon", NULL, on_reply, &r[0]) == 0);
        check(qmp_client_command(f->client, "query-status", NULL, on_reply, &r[1]) == 0);
        id[0] = peer_expect(f, "query-balloon", NULL);
        id[1] = peer_expect(f, "query-status", NULL);
        peer_send_fixture(f, "query-balloon.json", id[0]);
        run_until(f, r[0].calls == 1, 5000);
        run_briefly(f);
        check(f->idle == 0);
        f->free_on_idle = true;
        peer_sendf(f, "{\"return\": {\"status\": \"running\"}, \"id\": %" PRIu64 "}\r\n",
                   id[1]);
        run_until(f, f->idle == 1, 5000);
        check(f->pending_at_idle == 0);
        check(f->replies_at_idle == 2);
        check(f->client == NULL); /* freed inside on_idle */
        run_briefly(f);
        check(f->closed == 0); /* a hang-up of the owner's, not a lost connection */
        for (int i = 0; i < 2; i++)
                reply_clear(&r[i]);
        fixture_free(f);
}

/* A reply whose callback sends the next command is not idle. */
static void test_no_idle_while_a_callback_chains(void)
{
        Fixture *f = fixture_new();
        Reply r = { .f = f, .send_next = true };
        uint64_t id;

        handshake(f);
        check(qmp_client_command(f->client, "query-name", NULL, on_reply, &r) == 0);
        id = peer_expect(f, "query-name", NULL);
        peer_sendf(f, "{\"return\": {}, \"id\": %" PRIu64 "}\r\n", id);
        run_until(f, r.calls == 1, 5000);
        run_briefly(f);
        check(f->idle == 0);
        id = peer_expect(f, "query-status", NULL);
        peer_sendf(f, "{\"return\": {}, \"id\": %" PRIu64 "}\r\n", id);
        run_until(f, f->idle == 1, 5000);
        reply_clear(&r);
        reply_clear(&f->chained);
        fixture_free(f);
}

static void test_events_interleaved_with_replies(void)
{
        _cleanup_free_ char *shutdown = fixture_text("event-shutdown.json");
        Fixture *f = fixture_new();
        Reply a = { .f = f }, b = { .f = f };
        uint64_t ida, idb;

        handshake(f);
        check(qmp_client_command(f->client, "query-name", NULL, on_reply, &a) == 0);
        check(qmp_client_command(f->client, "query-status", NULL, on_reply, &b) == 0);
        ida = peer_expect(f, "query-name", NULL);
        idb = peer_expect(f, "query-status", NULL);

        peer_send(f, "{\"event\": \"BALLOON_CHANGE\", \"data\": {\"actual\": 33554432},"
                     " \"timestamp\": {\"seconds\": 1, \"microseconds\": 2}}\r\n");
        peer_sendf(f, "{\"return\": {}, \"id\": %" PRIu64 "}\r\n", ida);
        peer_send(
                f,
                "{\"timestamp\": {\"seconds\": 3, \"microseconds\": 4}, \"event\": \"STOP\"}\r\n");
        peer_sendf(f, "{\"return\": {\"running\": false}, \"id\": %" PRIu64 "}\r\n", idb);
        peer_send(f, shutdown);
        peer_send(f, "\r\n");
        run_until(f, f->n_events == 3, 5000);

        check_streq(f->events, "BALLOON_CHANGE {\"actual\":33554432}\n"
                               "STOP\n"
                               "SHUTDOWN {\"guest\":false,\"reason\":\"host-qmp-quit\"}\n");
        check(a.calls == 1 && b.calls == 1);
        check_streq(ret_string(&a), "{}");
        check_streq(ret_string(&b), "{\"running\":false}");
        check(f->closed == 0);
        reply_clear(&a);
        reply_clear(&b);
        fixture_free(f);
}

static void send_byte_by_byte(Fixture *f, const char *text)
{
        for (const char *p = text; *p; p++) {
                peer_send_len(f, p, 1);
                run_briefly(f);
        }
}

static void test_messages_split_byte_by_byte(void)
{
        _cleanup_free_ char *greeting = fixture_text("greeting.json");
        Fixture *f = fixture_new();
        Reply r = { .f = f };
        char text[512];
        uint64_t id;

        send_byte_by_byte(f, greeting);
        send_byte_by_byte(f, "\r\n");
        id = peer_expect(f, "qmp_capabilities", NULL);
        snprintf(text, sizeof(text), "{\"return\": {}, \"id\": %" PRIu64 "}\r\n", id);
        send_byte_by_byte(f, text);
        check(f->ready == 1);

        check(qmp_client_command(f->client, "query-name", NULL, on_reply, &r) == 0);
        id = peer_expect(f, "query-name", NULL);
        snprintf(text, sizeof(text),
                 "  {\"event\": \"RESUME\", \"data\": {\"n\": [1, 2.5, \"x\\\"}\"]}}\r\n"
                 "{\"return\": {\"name\": \"split\\u00e9\"}, \"id\": %" PRIu64 "}\r\n",
                 id);
        send_byte_by_byte(f, text);
        check(f->n_events == 1);
        check_streq(f->events, "RESUME {\"n\":[1,2.5,\"x\\\"}\"]}\n");
        check(r.calls == 1);
        check_streq(ret_string(&r), "{\"name\":\"split\xc3\xa9\"}");
        check(f->closed == 0);
        reply_clear(&r);
        fixture_free(f);
}

static void test_several_messages_in_one_write(void)
{
        Fixture *f = fixture_new();
        Reply r[3] = { { .f = f }, { .f = f }, { .f = f } };
        uint64_t id[3];
        char text[1024];

        handshake(f);
        for (int i = 0; i < 3; i++)
                check(qmp_client_command(f->client, "query-status", NULL, on_reply, &r[i]) == 0);
        for (int i = 0; i < 3; i++)
                id[i] = peer_expect(f, "query-status", NULL);

        /* No separator, "\n" only, "\r\n" and blanks: all legal between messages. */
        snprintf(text, sizeof(text),
                 "{\"event\": \"A\"}{\"return\": 1, \"id\": %" PRIu64 "}\n"
                 "{\"event\": \"B\", \"data\": {}}  \t\r\n\r\n"
                 "{\"return\": 2, \"id\": %" PRIu64 "}{\"return\": 3, \"id\": %" PRIu64 "}"
                 "{\"event\": \"C\"}\r\n",
                 id[0], id[1], id[2]);
        peer_send(f, text);
        run_until(f, f->n_events == 3, 5000);

        check_streq(f->events, "A\nB {}\nC\n");
        for (int i = 0; i < 3; i++) {
                char expected[8];

                snprintf(expected, sizeof(expected), "%d", i + 1);
                check(r[i].calls == 1);
                check_streq(ret_string(&r[i]), expected);
                reply_clear(&r[i]);
        }
        check(f->closed == 0);
        fixture_free(f);
}

static void test_error_reply_gives_desc(void)
{
        Fixture *f = fixture_new();
        Reply bad = { .f = f }, nodesc = { .f = f }, good = { .f = f };
        uint64_t id;

        handshake(f);
        check(qmp_client_command(f->client, "nonexistent-cmd", NULL, on_reply, &bad) == 0);
        id = peer_expect(f, "nonexistent-cmd", NULL);
        peer_send_fixture(f, "error-command-not-found.json", id);
        run_until(f, bad.calls == 1, 5000);
        check(bad.ret == NULL);
        check_streq(bad.error, "The command nonexistent-cmd has not been found");

        check(qmp_client_command(f->client, "x", NULL, on_reply, &nodesc) == 0);
        id = peer_expect(f, "x", NULL);
        peer_sendf(f, "{\"error\": {\"class\": \"GenericError\"}, \"id\": %" PRIu64 "}\r\n", id);
        run_until(f, nodesc.calls == 1, 5000);
        check_streq(nodesc.error, "GenericError");

        /* An error reply is not a connection error. */
        check(qmp_client_is_ready(f->client));
        check(qmp_client_command(f->client, "query-balloon", NULL, on_reply, &good) == 0);
        id = peer_expect(f, "query-balloon", NULL);
        peer_send_fixture(f, "query-balloon.json", id);
        run_until(f, good.calls == 1, 5000);
        check(good.error == NULL);
        check(f->closed == 0);
        reply_clear(&bad);
        reply_clear(&nodesc);
        reply_clear(&good);
        fixture_free(f);
}

static void test_command_args_and_chaining(void)
{
        Fixture *f = fixture_new();
        Reply r = { .f = f, .send_next = true };
        _cleanup_json_ json_object *args = NULL;
        json_object *a = json_object_new_object();
        const char *s;
        uint64_t id;

        handshake(f);
        json_object_object_add(a, "path", json_object_new_string("/machine/peripheral/balloon0"));
        json_object_object_add(a, "property", json_object_new_string("guest-stats"));
        check(qmp_client_command(f->client, "qom-get", a, on_reply, &r) == 0);
        /* Non-object arguments are a caller bug, refused with the args freed. */
        check(qmp_client_command(f->client, "qom-get", json_object_new_int(1), NULL, NULL) ==
              -EINVAL);

        id = peer_expect(f, "qom-get", &args);
        check(json_get_string(args, "path", &s) == 0);
        check_streq(s, "/machine/peripheral/balloon0");
        check(json_get_string(args, "property", &s) == 0);
        check_streq(s, "guest-stats");
        peer_send_fixture(f, "guest-stats-unreported.json", id);
        run_until(f, r.calls == 1, 5000);

        /* The callback queued query-status from inside the dispatch. */
        id = peer_expect(f, "query-status", NULL);
        peer_sendf(f, "{\"return\": {\"status\": \"running\"}, \"id\": %" PRIu64 "}\r\n", id);
        run_until(f, f->chained.calls == 1, 5000);
        check_streq(ret_string(&f->chained), "{\"status\":\"running\"}");
        reply_clear(&r);
        fixture_free(f);
}

/* ---- protocol errors close the connection ---- */

/* Sends text after the handshake with two commands outstanding and checks
 * that the client closed once, failing both. */
static void check_closes(const char *text, const char *reason)
{
        Fixture *f = fixture_new();
        Reply a = { .f = f }, b = { .f = f };

        handshake(f);
        check(qmp_client_command(f->client, "query-name", NULL, on_reply, &a) == 0);
        check(qmp_client_command(f->client, "query-status", NULL, on_reply, &b) == 0);
        (void)peer_expect(f, "query-name", NULL);
        (void)peer_expect(f, "query-status", NULL);
        if (text)
                peer_send(f, text);
        else {
                close(f->peer);
                f->peer = -1;
        }
        run_until(f, f->closed > 0, 5000);
        run_briefly(f);

        check(f->closed == 1);
        check_contains(f->closed_reason, reason);
        check(f->pending_at_close == 0); /* commands failed before on_closed */
        check(a.calls == 1 && b.calls == 1);
        check(a.ret == NULL && b.ret == NULL);
        check_contains(a.error, "connection closed: ");
        check_contains(a.error, reason);
        check(a.order == 1 && b.order == 2);
        check(!qmp_client_is_ready(f->client));
        check(qmp_client_pending(f->client) == 0);
        check(qmp_client_command(f->client, "query-name", json_object_new_object(), NULL, NULL) ==
              -ENOTCONN);
        reply_clear(&a);
        reply_clear(&b);
        fixture_free(f);
}

static void test_garbage_closes(void)
{
        check_closes("{\"return\": nope}\r\n", "invalid JSON");
        check_closes("{\"return\": {}, \"id\": 1,,}\r\n", "invalid JSON");
        check_closes("\x01\x02\r\n", "invalid JSON");
}

static void test_non_object_message_closes(void)
{
        check_closes("[1, 2]\r\n", "not a JSON object");
        check_closes("\"QMP\"\r\n", "not a JSON object");
        check_closes("null\r\n", "not a JSON object");
        check_closes("{\"unexpected\": true}\r\n", "neither a reply nor an event");
        check_closes("{\"event\": 5}\r\n", "event without a name");
}

static void test_reply_with_unknown_id_closes(void)
{
        check_closes("{\"return\": {}, \"id\": 999}\r\n", "unknown command id 999");
        check_closes("{\"return\": {}, \"id\": \"abc\"}\r\n", "without a valid id");
        /* QEMU's answer to input it cannot parse carries no id. */
        check_closes(
                "{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse error\"}}\r\n",
                "without a valid id");
}

static void test_eof_closes(void)
{
        check_closes(NULL, "end of file");
}

static void test_first_message_must_be_greeting(void)
{
        Fixture *f = fixture_new();

        peer_send(f, "{\"return\": {}, \"id\": 1}\r\n");
        run_until(f, f->closed == 1, 5000);
        check_contains(f->closed_reason, "not a QMP greeting");
        check(f->ready == 0);
        fixture_free(f);
}

static void test_capabilities_error_closes(void)
{
        _cleanup_free_ char *greeting = fixture_text("greeting.json");
        Fixture *f = fixture_new();
        uint64_t id;

        peer_send(f, greeting);
        id = peer_expect(f, "qmp_capabilities", NULL);
        peer_sendf(f,
                   "{\"error\": {\"class\": \"GenericError\", \"desc\": \"no\"}, \"id\": %" PRIu64
                   "}\r\n",
                   id);
        run_until(f, f->closed == 1, 5000);
        check_contains(f->closed_reason, "qmp_capabilities failed: no");
        check(f->ready == 0);
        fixture_free(f);
}

/* Streams one message past a limit without holding it, from the loop: head,
 * then unit repeated until total bytes are sent or the client hangs up. */
typedef struct Stream {
        const char *head, *unit;
        size_t sent, total;
        bool stopped;
        char filler[65536];
        size_t filler_len;
} Stream;

static int on_peer_writable(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        Stream *st = userdata;
        size_t head_len = strlen(st->head);
        ssize_t n;

        if (st->filler_len == 0) {
                size_t unit_len = strlen(st->unit);

                while (st->filler_len + unit_len <= sizeof(st->filler)) {
                        memcpy(st->filler + st->filler_len, st->unit, unit_len);
                        st->filler_len += unit_len;
                }
        }
        if (st->sent == 0) {
                check(send(fd, st->head, head_len, MSG_NOSIGNAL) == (ssize_t)head_len);
                st->sent = head_len;
        }
        n = send(fd, st->filler, st->filler_len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return 0;
        if (n > 0)
                st->sent += (size_t)n;
        if (n <= 0 || st->sent >= st->total) {
                st->stopped = true;
                return sd_event_source_set_enabled(s, SD_EVENT_OFF);
        }
        return 0;
}

/* Bytes the client has not read yet. */
static int peer_unread(Fixture *f)
{
        int n = 0;

        check(ioctl(f->peer, SIOCOUTQ, &n) == 0);
        return n;
}

/* Answers `command` with st (unterminated) and runs the loop until the client
 * closed or read all of it; returns the reply the command got. */
static void stream_reply(Fixture *f, const char *command, Stream *st, Reply *r)
{
        sd_event_source *source = NULL;

        handshake(f);
        check(qmp_client_command(f->client, command, NULL, on_reply, r) == 0);
        (void)peer_expect(f, command, NULL);
        check(sd_event_add_io(f->event, &source, f->peer, EPOLLOUT, on_peer_writable, st) >= 0);
        run_until(f, f->closed == 1 || (st->stopped && peer_unread(f) == 0), 60000);
        sd_event_source_disable_unref(source);
}

static void test_oversized_message_closes(void)
{
        Fixture *f = fixture_new();
        Stream st = { .head = "{\"return\": \"",
                      .unit = "a",
                      .total = QMP_MAX_MESSAGE_BYTES + (size_t)16 * 1024 * 1024 };
        Reply r = { .f = f };

        stream_reply(f, "query-qmp-schema", &st, &r);
        check(f->closed == 1);
        check_contains(f->closed_reason, "larger than");
        /* Cut off soon after the limit, long before the message would end. */
        check(st.sent > QMP_MAX_MESSAGE_BYTES);
        check(st.sent < QMP_MAX_MESSAGE_BYTES + (size_t)4 * 1024 * 1024);
        check(r.calls == 1 && r.ret == NULL);
        check_contains(r.error, "larger than");
        reply_clear(&r);
        fixture_free(f);
}

/*
 * json-c builds the message as it parses, so the byte limit alone lets 256 KiB
 * of "{}," cost it 70 MB (and 8 MiB cost 2 GB). A reply to an ordinary
 * command (query-name's is 25 bytes) must be refused long before that.
 */
static void check_stream_refused(const char *head, const char *unit, const char *reason)
{
        Fixture *f = fixture_new();
        Stream st = { .head = head, .unit = unit, .total = 256 * 1024 };
        Reply r = { .f = f };

        stream_reply(f, "query-name", &st, &r);
        check(f->closed == 1);
        check_contains(f->closed_reason, reason);
        check(st.sent < st.total);
        check(r.calls == 1 && r.ret == NULL);
        check_contains(r.error, reason);
        reply_clear(&r);
        fixture_free(f);
}

static void test_many_elements_close(void)
{
        check_stream_refused("{\"return\": [{}", ",{}", "elements");
        check_stream_refused("{\"return\": [0", ",0", "elements");
        check_stream_refused("{\"return\": {\"a\": [[]", ", \"a\": [[]]", "elements");
        /* An ordinary reply has no business being 256 KiB either. */
        check_stream_refused("{\"return\": \"", "a", "larger than");
}

/* Nesting deeper than any reply memtided asks for is refused outright. */
static void test_deep_nesting_closes(void)
{
        char text[256] = "{\"return\": ";
        size_t len = strlen(text);

        for (int i = 0; i < 20; i++)
                text[len++] = '[';
        for (int i = 0; i < 20; i++)
                text[len++] = ']';
        snprintf(text + len, sizeof(text) - len, ", \"id\": 2}\r\n");
        check_closes(text, "nesting too deep");
}

/* Appends s to the growing buffer *b of *len bytes. */
static void append(char **b, size_t *len, size_t *size, const char *s)
{
        size_t n = strlen(s);

        while (*len + n + 1 > *size) {
                *size = *size ? *size * 2 : 4096;
                *b = realloc(*b, *size);
                check(*b);
        }
        memcpy(*b + *len, s, n + 1);
        *len += n;
}

/* A schema shaped like QEMU's (QEMU 7.2's is 207 KB, 4364 objects), n entries long. */
static char *schema_reply(uint64_t id, unsigned n)
{
        char *b = NULL, entry[256];
        size_t len = 0, size = 0;

        append(&b, &len, &size, "{\"return\": [");
        for (unsigned i = 0; i < n; i++) {
                snprintf(entry, sizeof(entry),
                         "%s{\"name\": \"%u\", \"meta-type\": \"object\", \"members\": "
                         "[{\"name\": \"a\", \"type\": \"str\"}, {\"name\": \"b\", \"type\": "
                         "\"int\"}]}",
                         i ? ", " : "", i);
                append(&b, &len, &size, entry);
        }
        snprintf(entry, sizeof(entry), "], \"id\": %" PRIu64 "}\r\n", id);
        append(&b, &len, &size, entry);
        return b;
}

/* The few large replies memtided needs still get through, to their command only. */
static void test_large_reply_only_for_schema(void)
{
        Fixture *f = fixture_new();
        Reply r = { .f = f };
        char *text;
        uint64_t id;

        handshake(f);
        check(qmp_client_command(f->client, "query-qmp-schema", NULL, on_reply, &r) == 0);
        id = peer_expect(f, "query-qmp-schema", NULL);
        text = schema_reply(id, 2000);
        peer_send_big(f, text);
        free(text);
        run_until(f, r.calls == 1 || f->closed, 10000);
        check(f->closed == 0);
        check(json_object_array_length(r.ret) == 2000);
        reply_clear(&r);

        check(qmp_client_command(f->client, "query-name", NULL, on_reply, &r) == 0);
        id = peer_expect(f, "query-name", NULL);
        text = schema_reply(id, 2000);
        peer_send_big(f, text);
        free(text);
        run_until(f, f->closed == 1, 10000);
        check_contains(f->closed_reason, "elements");
        reply_clear(&r);
        fixture_free(f);
}

/* ---- freeing from inside callbacks ---- */

static void test_free_inside_on_closed(void)
{
        Fixture *f = fixture_new();
        Reply r = { .f = f };

        handshake(f);
        f->free_on_closed = true;
        check(qmp_client_command(f->client, "query-name", NULL, on_reply, &r) == 0);
        (void)peer_expect(f, "query-name", NULL);
        peer_send(f, "garbage\r\n");
        run_until(f, f->closed == 1, 5000);
        check(f->client == NULL);
        check(r.calls == 1); /* failed before on_closed, so not lost */
        run_briefly(f);
        reply_clear(&r);
        fixture_free(f);
}

static void test_free_inside_reply_callback(void)
{
        Fixture *f = fixture_new();
        Reply a = { .f = f, .free_client = true }, b = { .f = f };
        uint64_t ida, idb;
        char text[512];

        handshake(f);
        check(qmp_client_command(f->client, "query-name", NULL, on_reply, &a) == 0);
        check(qmp_client_command(f->client, "query-status", NULL, on_reply, &b) == 0);
        ida = peer_expect(f, "query-name", NULL);
        idb = peer_expect(f, "query-status", NULL);
        /* Both replies and an event arrive in one read; the first frees. */
        snprintf(text, sizeof(text),
                 "{\"return\": {}, \"id\": %" PRIu64 "}\r\n{\"event\": \"STOP\"}\r\n"
                 "{\"return\": {}, \"id\": %" PRIu64 "}\r\n",
                 ida, idb);
        peer_send(f, text);
        run_until(f, a.calls == 1, 5000);
        run_briefly(f);
        check(f->client == NULL);
        check(b.calls == 0); /* dropped without callback, as documented */
        check(f->n_events == 0);
        check(f->closed == 0);
        reply_clear(&a);
        fixture_free(f);
}

static void test_free_inside_on_event(void)
{
        Fixture *f = fixture_new();
        Reply r = { .f = f };
        uint64_t id;
        char text[256];

        handshake(f);
        f->free_on_event = true;
        check(qmp_client_command(f->client, "query-name", NULL, on_reply, &r) == 0);
        id = peer_expect(f, "query-name", NULL);
        snprintf(text, sizeof(text),
                 "{\"event\": \"STOP\"}{\"event\": \"RESUME\"}{\"return\": {}, \"id\": %" PRIu64
                 "}",
                 id);
        peer_send(f, text);
        run_until(f, f->n_events == 1, 5000);
        run_briefly(f);
        check(f->client == NULL);
        check(f->n_events == 1);
        check(r.calls == 0);
        check(f->closed == 0);
        fixture_free(f);
}

static void test_free_inside_failed_command(void)
{
        Fixture *f = fixture_new();
        Reply a = { .f = f, .free_client = true }, b = { .f = f };

        handshake(f);
        check(qmp_client_command(f->client, "query-name", NULL, on_reply, &a) == 0);
        check(qmp_client_command(f->client, "query-status", NULL, on_reply, &b) == 0);
        run_briefly(f);
        close(f->peer);
        f->peer = -1;
        run_until(f, a.calls == 1, 5000);
        run_briefly(f);
        check(f->client == NULL);
        check_contains(a.error, "connection closed");
        check(b.calls == 0);
        check(f->closed == 0); /* freed: no on_closed afterwards */
        reply_clear(&a);
        fixture_free(f);
}

static void test_free_inside_on_ready(void)
{
        Fixture *f = fixture_new();

        f->free_on_ready = true;
        {
                _cleanup_free_ char *greeting = fixture_text("greeting.json");
                uint64_t id;

                peer_send(f, greeting);
                id = peer_expect(f, "qmp_capabilities", NULL);
                peer_sendf(f, "{\"return\": {}, \"id\": %" PRIu64 "}\r\n{\"event\": \"STOP\"}\r\n",
                           id);
                run_until(f, f->ready == 1, 5000);
                run_briefly(f);
        }
        check(f->client == NULL);
        check(f->n_events == 0);
        fixture_free(f);
}

/* ---- output queue ---- */

static void test_output_waits_for_writable_socket(void)
{
        enum { N = 64, ARG_BYTES = 32 * 1024 };
        Fixture *f = fixture_new();
        char *big = malloc(ARG_BYTES + 1);
        uint64_t last = 0;

        check(big);
        memset(big, 'x', ARG_BYTES);
        big[ARG_BYTES] = '\0';
        handshake(f);

        /* 2 MiB queued at once is far more than the socket buffer holds. */
        for (int i = 0; i < N; i++) {
                json_object *a = json_object_new_object();

                json_object_object_add(a, "blob", json_object_new_string(big));
                json_object_object_add(a, "n", json_object_new_int(i));
                check(qmp_client_command(f->client, "x-test", a, NULL, NULL) == 0);
        }
        /* The loop returns although the peer reads nothing yet. */
        for (int i = 0; i < 50; i++)
                check(sd_event_run(f->event, 1000) >= 0);
        check(qmp_client_pending(f->client) == N);

        for (int i = 0; i < N; i++) {
                _cleanup_json_ json_object *args = NULL;
                const char *blob;
                uint64_t id, n;

                id = peer_expect(f, "x-test", &args);
                check(id > last);
                last = id;
                check(json_get_u64(args, "n", &n) == 0 && n == (uint64_t)i);
                check(json_get_string(args, "blob", &blob) == 0 && strlen(blob) == ARG_BYTES);
        }
        check(f->closed == 0);
        free(big);
        fixture_free(f);
}

static void test_output_backlog_is_bounded(void)
{
        Fixture *f = fixture_new();
        size_t len = 1024 * 1024;
        char *big = malloc(len);
        int r = 0, n = 0;

        check(big);
        memset(big, 'y', len - 1);
        big[len - 1] = '\0';
        handshake(f);
        /* Without running the loop nothing is written: the queue only grows. */
        while (n < 20) {
                json_object *a = json_object_new_object();

                json_object_object_add(a, "blob", json_object_new_string(big));
                r = qmp_client_command(f->client, "x-test", a, NULL, NULL);
                if (r < 0)
                        break;
                n++;
        }
        check(r == -ENOBUFS);
        check(n == (int)(QMP_MAX_OUTPUT_BYTES / len) - 1 || n == (int)(QMP_MAX_OUTPUT_BYTES / len));
        check(qmp_client_pending(f->client) == (size_t)n);
        check(qmp_client_is_ready(f->client));
        free(big);
        fixture_free(f);
}

/* A peer that reads commands and answers none must not make the client
 * keep all of them: past a bound, new commands are refused. */
static void test_unanswered_commands_are_bounded(void)
{
        Fixture *f = fixture_new();
        size_t n = 0;
        uint64_t id;
        int r = 0;

        handshake(f);
        while (n < 1000) {
                r = qmp_client_command(f->client, "query-status", NULL, NULL, NULL);
                if (r < 0)
                        break;
                n++;
        }
        check(r == -ENOBUFS);
        check(n == QMP_MAX_PENDING);
        check(qmp_client_pending(f->client) == n);
        check(qmp_client_is_ready(f->client));

        /* An answer makes room for one more. */
        id = peer_expect(f, "query-status", NULL);
        peer_sendf(f, "{\"return\": {}, \"id\": %" PRIu64 "}\r\n", id);
        run_until(f, qmp_client_pending(f->client) == n - 1, 5000);
        check(qmp_client_command(f->client, "query-status", NULL, NULL, NULL) == 0);
        check(qmp_client_command(f->client, "query-status", NULL, NULL, NULL) == -ENOBUFS);
        check(f->closed == 0);
        fixture_free(f);
}

/* The owner can tell how long the oldest command has gone unanswered. */
static void test_oldest_pending_time(void)
{
        Fixture *f = fixture_new();
        uint64_t first, id1, id2, now;

        handshake(f);
        check(qmp_client_oldest_pending_usec(f->client) == 0);
        check(qmp_client_command(f->client, "query-name", NULL, NULL, NULL) == 0);
        first = qmp_client_oldest_pending_usec(f->client);
        check(sd_event_now(f->event, CLOCK_MONOTONIC, &now) >= 0);
        check(first > 0 && first <= now);
        id1 = peer_expect(f, "query-name", NULL);
        check(qmp_client_command(f->client, "query-status", NULL, NULL, NULL) == 0);
        id2 = peer_expect(f, "query-status", NULL);
        check(qmp_client_oldest_pending_usec(f->client) == first);

        /* Answering a later command leaves the first one the oldest. */
        peer_sendf(f, "{\"return\": {}, \"id\": %" PRIu64 "}\r\n", id2);
        run_until(f, qmp_client_pending(f->client) == 1, 5000);
        check(qmp_client_oldest_pending_usec(f->client) == first);
        peer_sendf(f, "{\"return\": {}, \"id\": %" PRIu64 "}\r\n", id1);
        run_until(f, qmp_client_pending(f->client) == 0, 5000);
        check(qmp_client_oldest_pending_usec(f->client) == 0);
        check(f->closed == 0);
        fixture_free(f);
}

/* ---- connecting by path ---- */

static int listen_unix(const char *path, int backlog)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd;

        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        check(fd >= 0);
        check(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
        check(listen(fd, backlog) == 0);
        return fd;
}

static void test_connect_errors_fail_cleanly(void)
{
        char dir[] = "/tmp/memtide-test-qmp-XXXXXX", path[256], longpath[200];
        sd_event *e = NULL;
        QmpClient *c = NULL;
        int fd;

        check(sd_event_new(&e) >= 0);
        check(mkdtemp(dir));

        snprintf(path, sizeof(path), "%s/missing.qmp", dir);
        check(qmp_client_new(&c, e, path, &callbacks, NULL) == -ENOENT);
        check(c == NULL);

        /* A socket file left behind by a dead QEMU. */
        snprintf(path, sizeof(path), "%s/stale.qmp", dir);
        fd = listen_unix(path, 1);
        close(fd);
        check(qmp_client_new(&c, e, path, &callbacks, NULL) == -ECONNREFUSED);
        check(c == NULL);
        unlink(path);

        memset(longpath, 'p', sizeof(longpath) - 1);
        longpath[sizeof(longpath) - 1] = '\0';
        check(qmp_client_new(&c, e, longpath, &callbacks, NULL) == -ENAMETOOLONG);
        check(qmp_client_new(&c, e, "", &callbacks, NULL) == -EINVAL);
        check(c == NULL);

        check(rmdir(dir) == 0);
        sd_event_unref(e);
}

/* Also covers the EAGAIN retry: with a full backlog Linux refuses a
 * non-blocking connect with EAGAIN until the server accepts. */
static void test_connect_by_path_retries_full_backlog(void)
{
        char dir[] = "/tmp/memtide-test-qmp-XXXXXX", path[96];
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        Fixture *f = calloc(1, sizeof(*f));
        int listener, filler, accepted;

        check(f);
        check(mkdtemp(dir));
        snprintf(path, sizeof(path), "%s/vm.qmp", dir);
        check(sd_event_new(&f->event) >= 0);
        listener = listen_unix(path, 0);

        /* Fill the backlog (0 admits one) so the client's connect gets EAGAIN. */
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
        filler = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        check(filler >= 0);
        check(connect(filler, (struct sockaddr *)&sa, sizeof(sa)) == 0);

        check(qmp_client_new(&f->client, f->event, path, &callbacks, f) == 0);
        check_streq(qmp_client_socket_path(f->client), path);
        check(!qmp_client_is_ready(f->client));
        run_briefly(f);

        /* Drain the filler; the client's retry then lands in the backlog. */
        accepted = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
        check(accepted >= 0);
        /* The client is not queued yet: its first connect() was refused. */
        check(accept4(listener, NULL, NULL, SOCK_CLOEXEC) < 0 && errno == EAGAIN);
        close(accepted);
        close(filler);
        f->peer = -1;
        {
                uint64_t deadline = now_usec() + 5 * USEC_PER_MSEC * 1000;

                while (f->peer < 0) {
                        check(now_usec() < deadline);
                        check(sd_event_run(f->event, 10 * USEC_PER_MSEC) >= 0);
                        f->peer = accept4(listener, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
                }
        }
        check(f->closed == 0);
        handshake(f);
        check(f->ready == 1);

        close(listener);
        unlink(path);
        check(rmdir(dir) == 0);
        fixture_free(f);
}

/* ---- a real QEMU ---- */

static char *find_qemu(void)
{
        const char *env = getenv("QEMU"), *path = getenv("PATH");
        char candidate[4096];

        if (env && *env)
                return access(env, X_OK) == 0 ? strdup(env) : NULL;
        for (const char *p = path ? path : "/usr/bin:/bin"; p && *p;) {
                const char *end = strchrnul(p, ':');

                snprintf(candidate, sizeof(candidate), "%.*s/qemu-system-x86_64", (int)(end - p),
                         p);
                if (access(candidate, X_OK) == 0)
                        return strdup(candidate);
                p = *end ? end + 1 : end;
        }
        return NULL;
}

static pid_t spawn_qemu(const char *qemu, const char *socket_path)
{
        char qmp[512];
        pid_t pid;

        snprintf(qmp, sizeof(qmp), "unix:%s,server=on,wait=off", socket_path);
        pid = fork();
        check(pid >= 0);
        if (pid == 0) {
                /* Never outlive a test that aborted half-way. */
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                execl(qemu, qemu, "-name", "memtide-test", "-M", "q35", "-accel", "tcg",
                      "-nodefaults", "-nographic", "-m", "64", "-device",
                      "virtio-balloon-pci,id=balloon0", "-qmp", qmp, "-S", (char *)NULL);
                _exit(127);
        }
        return pid;
}

/* Sends one command and runs the loop until its reply; returns the reply. */
static void call(Fixture *f, Reply *r, const char *command, const char *args_json)
{
        json_object *args = args_json ? json_tokener_parse(args_json) : NULL;

        reply_clear(r);
        r->f = f;
        check(!args_json || args);
        check(qmp_client_command(f->client, command, args, on_reply, r) == 0);
        run_until(f, r->calls == 1, 20000);
}

static int test_real_qemu(void)
{
        _cleanup_free_ char *qemu = find_qemu();
        char dir[] = "/tmp/memtide-test-qmp-XXXXXX", path[96];
        Fixture *f = NULL;
        Reply r = { 0 }, stopped = { 0 };
        BalloonStats stats;
        uint64_t v;
        const char *s;
        pid_t pid;
        int status;

        if (!qemu) {
                printf("qemu-system-x86_64 not found, skipping the real QEMU test\n");
                return 77;
        }
        check(mkdtemp(dir));
        snprintf(path, sizeof(path), "%s/qmp.sock", dir);
        pid = spawn_qemu(qemu, path);

        f = calloc(1, sizeof(*f));
        check(f);
        f->peer = -1;
        check(sd_event_new(&f->event) >= 0);
        {
                uint64_t deadline = now_usec() + 20 * 1000 * USEC_PER_MSEC;
                struct stat st;
                int rr = -ENOENT;

                while (rr < 0) {
                        check(now_usec() < deadline);
                        check(waitpid(pid, &status, WNOHANG) == 0); /* QEMU still runs */
                        if (stat(path, &st) == 0)
                                rr = qmp_client_new(&f->client, f->event, path, &callbacks, f);
                        if (rr < 0)
                                usleep(20 * 1000);
                }
        }
        run_until(f, f->ready == 1 || f->closed, 20000);
        check(f->ready == 1);

        call(f, &r, "query-name", NULL);
        check(r.error == NULL);
        check(json_get_string(r.ret, "name", &s) == 0);
        check_streq(s, "memtide-test");

        /* The largest reply memtided asks for (qmp-compat.c) fits its budget. */
        call(f, &r, "query-qmp-schema", NULL);
        check(r.error == NULL);
        check(json_object_array_length(r.ret) > 1000);
        printf("real QEMU query-qmp-schema: %zu entries, %zu bytes\n",
               json_object_array_length(r.ret), strlen(ret_string(&r)));

        call(f, &r, "query-balloon", NULL);
        check(json_get_u64(r.ret, "actual", &v) == 0);
        check(v == UINT64_C(64) << 20);

        call(f, &r, "qom-get",
             "{\"path\": \"/machine/peripheral/balloon0\", \"property\": \"guest-stats\"}");
        check(r.error == NULL);
        check(balloon_stats_from_qmp(&stats, r.ret) == 0);
        check(!balloon_stats_reported(&stats));
        check(stats.free_bytes == STAT_UNKNOWN && stats.total_bytes == STAT_UNKNOWN);
        check(stats.last_update_sec == 0);

        call(f, &r, "qom-set",
             "{\"path\": \"/machine/peripheral/balloon0\","
             " \"property\": \"guest-stats-polling-interval\", \"value\": 1}");
        check(r.error == NULL);
        call(f, &r, "qom-get",
             "{\"path\": \"/machine/peripheral/balloon0\","
             " \"property\": \"guest-stats-polling-interval\"}");
        check(r.error == NULL && json_to_u64(r.ret, &v) == 0 && v == 1);

        /* Accepted although no guest driver will ever act on it (-S). */
        call(f, &r, "balloon", "{\"value\": 33554432}");
        check(r.error == NULL);
        check_streq(ret_string(&r), "{}");

        call(f, &r, "qom-get", "{\"path\": \"/machine/peripheral/nope\", \"property\": \"x\"}");
        check(r.ret == NULL);
        check_streq(r.error, "Device '/machine/peripheral/nope' not found");
        check(f->closed == 0);

        /* A frozen QEMU never answers; killing it must fail the command. */
        check(kill(pid, SIGSTOP) == 0);
        stopped.f = f;
        check(qmp_client_command(f->client, "query-status", NULL, on_reply, &stopped) == 0);
        for (int i = 0; i < 20; i++)
                check(sd_event_run(f->event, 10 * USEC_PER_MSEC) >= 0);
        check(stopped.calls == 0);
        check(kill(pid, SIGKILL) == 0);
        run_until(f, f->closed == 1, 20000);
        printf("real QEMU closed: %s\n", f->closed_reason);
        check(stopped.calls == 1 && stopped.ret == NULL);
        check_contains(stopped.error, "connection closed: ");
        check(waitpid(pid, &status, 0) == pid);
        check(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

        reply_clear(&r);
        reply_clear(&stopped);
        fixture_free(f);
        unlink(path);
        check(rmdir(dir) == 0);
        return 0;
}

int main(void)
{
        static const struct {
                const char *name;
                void (*fn)(void);
        } tests[] = {
#define T(fn) { #fn, fn }
                T(test_handshake_calls_on_ready),
                T(test_replies_matched_by_id_out_of_order),
                T(test_idle_after_the_last_reply),
                T(test_no_idle_while_a_callback_chains),
                T(test_events_interleaved_with_replies),
                T(test_messages_split_byte_by_byte),
                T(test_several_messages_in_one_write),
                T(test_error_reply_gives_desc),
                T(test_command_args_and_chaining),
                T(test_garbage_closes),
                T(test_non_object_message_closes),
                T(test_reply_with_unknown_id_closes),
                T(test_eof_closes),
                T(test_first_message_must_be_greeting),
                T(test_capabilities_error_closes),
                T(test_oversized_message_closes),
                T(test_many_elements_close),
                T(test_deep_nesting_closes),
                T(test_large_reply_only_for_schema),
                T(test_free_inside_on_closed),
                T(test_free_inside_reply_callback),
                T(test_free_inside_on_event),
                T(test_free_inside_failed_command),
                T(test_free_inside_on_ready),
                T(test_output_waits_for_writable_socket),
                T(test_output_backlog_is_bounded),
                T(test_unanswered_commands_are_bounded),
                T(test_oldest_pending_time),
                T(test_connect_errors_fail_cleanly),
                T(test_connect_by_path_retries_full_backlog),
#undef T
        };
        int r;

        for (size_t i = 0; i < ELEMENTSOF(tests); i++) {
                printf("%s\n", tests[i].name);
                fflush(stdout);
                tests[i].fn();
        }
        printf("test_real_qemu\n");
        fflush(stdout);
        r = test_real_qemu();
        printf("%zu tests passed%s\n", ELEMENTSOF(tests) + (r == 0),
               r == 77 ? ", real QEMU test skipped" : "");
        return r;
}
