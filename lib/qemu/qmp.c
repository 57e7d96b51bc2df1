/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QMP client: one non-blocking Unix stream socket on sd-event, an incremental
 * json_tokener for the input stream (behind a pre-scan that holds each
 * message to its budget before json-c builds it), a byte queue for output and
 * a FIFO of commands awaiting replies. Nothing here blocks and nothing logs:
 * failures come back as -errno or as the reason given to on_closed.
 *
 * Lifetime: the owner may call qmp_client_free() from inside any callback.
 * Every path that calls out holds a reference, and `freed` tells it to stop
 * touching the connection; the memory goes when the last reference does.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "json-util.h"
#include "qmp.h"

/* One read per wakeup: the loop stays fair to other guests and the control
 * socket, and level-triggered epoll brings us back for the rest. */
#define QMP_READ_CHUNK 65536u
/* Linux answers a non-blocking connect() to a Unix socket whose backlog is
 * full with EAGAIN, not EINPROGRESS, and the socket stays unconnected (epoll
 * would report it writable at once), so the connect is retried on a timer. */
#define QMP_CONNECT_RETRY_USEC (100u * 1000u)
#define QMP_CONNECT_RETRIES    50u
#define QMP_REASON_MAX         256

typedef enum QmpState {
        QMP_CONNECTING,  /* connect() in progress or waiting to be retried */
        QMP_GREETING,    /* connected; waiting for {"QMP": ...} */
        QMP_NEGOTIATING, /* qmp_capabilities sent */
        QMP_READY,
        QMP_CLOSED,
} QmpState;

typedef struct QmpPending {
        struct QmpPending *next;
        uint64_t id;
        uint64_t queued_usec;
        bool large_reply; /* the reply may need the large budget */
        qmp_reply_fn cb;
        void *userdata;
} QmpPending;

/* What a message may cost (qmp.h). */
typedef struct QmpBudget {
        size_t bytes, elements;
} QmpBudget;

static const QmpBudget small_budget = { QMP_SMALL_MESSAGE_BYTES, QMP_SMALL_MESSAGE_ELEMENTS };
static const QmpBudget large_budget = { QMP_MAX_MESSAGE_BYTES, QMP_MAX_MESSAGE_ELEMENTS };

/* The message in progress as the pre-scan sees it, ahead of json-c. */
typedef struct QmpScan {
        const QmpBudget *budget; /* NULL between messages */
        size_t bytes, elements;
        unsigned depth;
        bool in_string, escaped;
} QmpScan;

typedef enum QmpOverBudget {
        QMP_WITHIN_BUDGET,
        QMP_TOO_MANY_BYTES,
        QMP_TOO_MANY_ELEMENTS,
} QmpOverBudget;

struct QmpClient {
        unsigned n_ref;
        bool freed; /* the owner let go: no more callbacks */
        QmpState state;

        sd_event *event;
        sd_event_source *io;
        sd_event_source *retry;
        int fd;
        char *socket_path;
        struct sockaddr_un address;
        socklen_t address_len;
        unsigned connect_tries;

        QmpCallbacks callbacks;
        void *userdata;

        json_tokener *tokener; /* NULL once closed: what it held is freed */
        QmpScan scan;

        char *output; /* queued bytes are output[output_start..output_end) */
        size_t output_start, output_end, output_size;

        /* FIFO: QEMU answers in order unless out-of-band, so the reply is
         * nearly always at the head and a list is enough. */
        QmpPending *pending_head, *pending_tail;
        size_t n_pending;
        size_t n_large_pending; /* of which may have a large reply */
        uint64_t next_id;
};

static void qmp_client_close(QmpClient *c, const char *format, ...)
        __attribute__((format(printf, 2, 3)));

static int safe_close(int fd)
{
        if (fd >= 0)
                close(fd);
        return -1;
}

static void qmp_pending_free_all(QmpClient *c)
{
        while (c->pending_head) {
                QmpPending *p = c->pending_head;

                c->pending_head = p->next;
                free(p);
        }
        c->pending_tail = NULL;
        c->n_pending = 0;
        c->n_large_pending = 0;
}

/* Unlinks the entry for id; the caller frees it. */
static QmpPending *qmp_pending_take(QmpClient *c, uint64_t id)
{
        QmpPending *prev = NULL;

        for (QmpPending *p = c->pending_head; p; prev = p, p = p->next) {
                if (p->id != id)
                        continue;
                if (prev)
                        prev->next = p->next;
                else
                        c->pending_head = p->next;
                if (c->pending_tail == p)
                        c->pending_tail = prev;
                c->n_pending--;
                c->n_large_pending -= p->large_reply;
                p->next = NULL;
                return p;
        }
        return NULL;
}

static void qmp_client_disconnect(QmpClient *c)
{
        c->io = sd_event_source_disable_unref(c->io);
        c->retry = sd_event_source_disable_unref(c->retry);
        c->fd = safe_close(c->fd);
        c->output_start = c->output_end = 0;
}

static void qmp_client_destroy(QmpClient *c)
{
        qmp_client_disconnect(c);
        qmp_pending_free_all(c);
        if (c->tokener)
                json_tokener_free(c->tokener);
        free(c->output);
        free(c->socket_path);
        sd_event_unref(c->event);
        free(c);
}

static QmpClient *qmp_client_ref(QmpClient *c)
{
        c->n_ref++;
        return c;
}

static void qmp_client_unref(QmpClient *c)
{
        assert(c->n_ref > 0);
        if (--c->n_ref == 0)
                qmp_client_destroy(c);
}

static inline void qmp_client_unrefp(QmpClient **c)
{
        if (*c)
                qmp_client_unref(*c);
}

static int qmp_client_alloc(QmpClient **ret, sd_event *event, const QmpCallbacks *callbacks,
                            void *userdata)
{
        QmpClient *c;

        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->n_ref = 1;
        c->fd = -1;
        c->state = QMP_CONNECTING;
        c->event = sd_event_ref(event);
        c->next_id = 1;
        c->userdata = userdata;
        if (callbacks)
                c->callbacks = *callbacks;

        c->tokener = json_tokener_new_ex(QMP_MAX_DEPTH);
        if (!c->tokener) {
                qmp_client_destroy(c);
                return -ENOMEM;
        }
        /* Strict: no single quotes, trailing commas or NaN from a peer that
         * is not QEMU; trailing characters are the next message. */
        json_tokener_set_flags(c->tokener, JSON_TOKENER_STRICT | JSON_TOKENER_ALLOW_TRAILING_CHARS);
        *ret = c;
        return 0;
}

static int qmp_client_set_events(QmpClient *c)
{
        uint32_t events = EPOLLIN;

        if (!c->io)
                return 0;
        if (c->state == QMP_CONNECTING)
                events = EPOLLOUT;
        else if (c->output_end > c->output_start)
                events |= EPOLLOUT;
        return sd_event_source_set_io_events(c->io, events);
}

/* Frees what json-c built of the message in progress. glibc keeps freed
 * heap for reuse; after a message larger than an ordinary one, that would
 * leave up to the large budget resident for good, so it goes back. */
static void qmp_client_drop_input(QmpClient *c)
{
        bool was_large = c->scan.bytes > QMP_SMALL_MESSAGE_BYTES ||
                         c->scan.elements > QMP_SMALL_MESSAGE_ELEMENTS;

        if (c->tokener)
                json_tokener_free(c->tokener);
        c->tokener = NULL;
        c->scan = (QmpScan){ 0 };
        if (was_large)
                (void)malloc_trim(0);
}

/*
 * The only place that reports a dead connection. Outstanding commands are
 * failed first and on_closed comes last, so an owner that frees the client
 * in on_closed has already seen every reply callback (and can release their
 * userdata there); an owner that frees it earlier drops the rest silently,
 * as qmp_client_free() documents.
 */
static void qmp_client_close(QmpClient *c, const char *format, ...)
{
        _cleanup_(qmp_client_unrefp) QmpClient *ref = NULL;
        char reason[QMP_REASON_MAX], error[QMP_REASON_MAX + 32];
        va_list ap;

        if (c->state == QMP_CLOSED)
                return;
        c->state = QMP_CLOSED;
        qmp_client_disconnect(c);
        qmp_client_drop_input(c);
        ref = qmp_client_ref(c);

        va_start(ap, format);
        vsnprintf(reason, sizeof(reason), format, ap);
        va_end(ap);
        snprintf(error, sizeof(error), "connection closed: %s", reason);

        while (c->pending_head && !c->freed) {
                QmpPending *p = qmp_pending_take(c, c->pending_head->id);
                qmp_reply_fn cb = p->cb;
                void *userdata = p->userdata;

                free(p);
                if (cb)
                        cb(c, NULL, error, userdata);
        }

        if (!c->freed && c->callbacks.on_closed)
                c->callbacks.on_closed(c, reason, c->userdata);
}

static int qmp_output_append(QmpClient *c, const char *data, size_t len)
{
        if (c->output_start == c->output_end)
                c->output_start = c->output_end = 0;

        if (c->output_end + len > c->output_size && c->output_start > 0) {
                memmove(c->output, c->output + c->output_start, c->output_end - c->output_start);
                c->output_end -= c->output_start;
                c->output_start = 0;
        }

        if (c->output_end + len > c->output_size) {
                size_t size = c->output_size ? c->output_size : 4096;
                char *p;

                while (size < c->output_end + len)
                        size *= 2;
                p = realloc(c->output, size);
                if (!p)
                        return -ENOMEM;
                c->output = p;
                c->output_size = size;
        }

        memcpy(c->output + c->output_end, data, len);
        c->output_end += len;
        return 0;
}

/* Adds value under key; takes value, including when it or the add failed. */
static int json_add(json_object *object, const char *key, json_object *value)
{
        if (!value)
                return -ENOMEM;
        if (json_object_object_add(object, key, value) < 0) {
                json_object_put(value);
                return -ENOMEM;
        }
        return 0;
}

/* Builds {"execute": ..., "id": ..., "arguments": ...}; always takes args. */
static int qmp_build_command(const char *command, uint64_t id, json_object *args, json_object **ret)
{
        _cleanup_json_ json_object *arguments = args, *message = NULL;

        if (arguments && !json_object_is_type(arguments, json_type_object))
                return -EINVAL;

        message = json_object_new_object();
        if (!message)
                return -ENOMEM;
        if (json_add(message, "execute", json_object_new_string(command)) < 0 ||
            json_add(message, "id", json_object_new_uint64(id)) < 0)
                return -ENOMEM;
        if (arguments && json_add(message, "arguments", TAKE_PTR(arguments)) < 0)
                return -ENOMEM;

        *ret = TAKE_PTR(message);
        return 0;
}

static void qmp_pending_append(QmpClient *c, QmpPending *p)
{
        if (c->pending_tail)
                c->pending_tail->next = p;
        else
                c->pending_head = p;
        c->pending_tail = p;
        c->n_pending++;
        c->n_large_pending += p->large_reply;
}

/*
 * Writes what was just queued (the last len bytes) at once when nothing was
 * queued before it, so that a command costs one send() and no trip through
 * the loop; what the socket does not take waits for EPOLLOUT. A failed
 * send() is left for the loop's flush to report: closing here would call the
 * owner back inside its own call. Returns -errno, with the command taken back
 * unsent, only when EPOLLOUT cannot be asked for.
 */
static int qmp_client_send_queued(QmpClient *c, size_t len)
{
        size_t queued_before = c->output_end - c->output_start - len;
        int r;

        if (!c->io || c->state == QMP_CONNECTING)
                return 0; /* the connect's EPOLLOUT flushes it */
        if (queued_before == 0) {
                ssize_t n =
                        send(c->fd, c->output + c->output_start, len, MSG_NOSIGNAL | MSG_DONTWAIT);
                if (n > 0)
                        c->output_start += (size_t)n;
                if (c->output_start == c->output_end)
                        return 0;
        }
        r = sd_event_source_set_io_events(c->io, EPOLLIN | EPOLLOUT);
        /* Part of it already went out: it stays, and the loop's next read or
         * the unanswered-command timeout of the owner finds the dead socket. */
        if (r < 0 && c->output_end - c->output_start == queued_before + len)
                c->output_end -= len;
        else
                r = 0;
        return r;
}

/* Commands whose replies may outgrow the small budget (qmp.h). */
static bool qmp_reply_may_be_large(const char *command)
{
        static const char *const commands[] = { "query-qmp-schema", "qom-list", "x-query-virtio" };

        for (size_t i = 0; i < ELEMENTSOF(commands); i++)
                if (strcmp(command, commands[i]) == 0)
                        return true;
        return false;
}

/* Serializes and queues one command; the caller checks the state. */
static int qmp_client_queue(QmpClient *c, const char *command, json_object *args, qmp_reply_fn cb,
                            void *userdata)
{
        _cleanup_json_ json_object *message = NULL;
        _cleanup_free_ QmpPending *p = NULL;
        uint64_t now;
        const char *text;
        size_t len;
        int r;

        r = qmp_build_command(command, c->next_id, args, &message);
        if (r < 0)
                return r;
        if (c->n_pending >= QMP_MAX_PENDING)
                return -ENOBUFS;
        r = sd_event_now(c->event, CLOCK_MONOTONIC, &now);
        if (r < 0)
                return r;
        p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;

        /* No "\/" escapes: QEMU reads either, but paths stay greppable. */
        text = json_object_to_json_string_ext(message, JSON_C_TO_STRING_PLAIN |
                                                               JSON_C_TO_STRING_NOSLASHESCAPE);
        if (!text)
                return -ENOMEM;
        len = strlen(text);

        if (c->output_end - c->output_start + len + 1 > QMP_MAX_OUTPUT_BYTES)
                return -ENOBUFS;

        r = qmp_output_append(c, text, len);
        if (r < 0)
                return r;
        r = qmp_output_append(c, "\n", 1);
        if (r < 0) {
                c->output_end -= len;
                return r;
        }
        r = qmp_client_send_queued(c, len + 1);
        if (r < 0)
                return r;

        *p = (QmpPending){ .id = c->next_id++,
                           .queued_usec = now,
                           .large_reply = qmp_reply_may_be_large(command),
                           .cb = cb,
                           .userdata = userdata };
        qmp_pending_append(c, TAKE_PTR(p));
        return 0;
}

static int qmp_client_flush(QmpClient *c)
{
        while (c->output_start < c->output_end) {
                ssize_t n;

                /* MSG_NOSIGNAL: a QEMU that went away must not SIGPIPE the daemon. */
                n = send(c->fd, c->output + c->output_start, c->output_end - c->output_start,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN || errno == EWOULDBLOCK)
                                break;
                        return -errno;
                }
                c->output_start += (size_t)n;
        }
        return qmp_client_set_events(c);
}

static void qmp_client_on_capabilities(QmpClient *c, json_object *ret, const char *error,
                                       void *userdata)
{
        /* Closing fails this command too; the close reports itself. */
        if (c->state != QMP_NEGOTIATING)
                return;
        if (error) {
                qmp_client_close(c, "qmp_capabilities failed: %s", error);
                return;
        }
        c->state = QMP_READY;
        if (c->callbacks.on_ready)
                c->callbacks.on_ready(c, c->userdata);
}

static void qmp_client_handle_greeting(QmpClient *c, json_object *message)
{
        int r;

        if (!json_object_object_get_ex(message, "QMP", NULL)) {
                qmp_client_close(c, "protocol error: first message is not a QMP greeting");
                return;
        }
        c->state = QMP_NEGOTIATING;
        r = qmp_client_queue(c, "qmp_capabilities", NULL, qmp_client_on_capabilities, NULL);
        if (r < 0)
                qmp_client_close(c, "failed to queue qmp_capabilities: %s", strerror(-r));
}

static void qmp_client_handle_event(QmpClient *c, json_object *message)
{
        json_object *data = NULL;
        const char *name;

        if (json_get_string(message, "event", &name) < 0) {
                qmp_client_close(c, "protocol error: event without a name");
                return;
        }
        (void)json_object_object_get_ex(message, "data", &data);
        if (c->callbacks.on_event)
                c->callbacks.on_event(c, name, data, c->userdata);
}

/* QMP errors are {"class": ..., "desc": ...}; desc is the readable part. */
static const char *qmp_error_desc(json_object *error)
{
        const char *s;

        if (json_get_string(error, "desc", &s) >= 0)
                return s;
        if (json_get_string(error, "class", &s) >= 0)
                return s;
        return "malformed QMP error reply";
}

static void qmp_client_handle_reply(QmpClient *c, json_object *message)
{
        json_object *id_value = NULL, *value = NULL;
        _cleanup_free_ QmpPending *p = NULL;
        uint64_t id;

        /* Every command we send carries an id; a reply without one is QEMU
         * rejecting input it could not parse, i.e. we and it disagree. */
        if (!json_object_object_get_ex(message, "id", &id_value) ||
            json_to_u64(id_value, &id) < 0) {
                qmp_client_close(c, "protocol error: reply without a valid id");
                return;
        }
        p = qmp_pending_take(c, id);
        if (!p) {
                qmp_client_close(c, "protocol error: reply to unknown command id %" PRIu64, id);
                return;
        }
        if (p->cb && json_object_object_get_ex(message, "error", &value))
                p->cb(c, NULL, qmp_error_desc(value), p->userdata);
        else if (p->cb) {
                (void)json_object_object_get_ex(message, "return", &value);
                p->cb(c, value, NULL, p->userdata);
        }
        /* Negotiation is no command of the owner's: on_ready says it is done. */
        if (!c->freed && c->state == QMP_READY && !c->pending_head && c->callbacks.on_idle &&
            p->cb != qmp_client_on_capabilities)
                c->callbacks.on_idle(c, c->userdata);
}

static void qmp_client_dispatch(QmpClient *c, json_object *message)
{
        if (!json_object_is_type(message, json_type_object)) {
                qmp_client_close(c, "protocol error: message is not a JSON object");
                return;
        }
        if (c->state == QMP_GREETING)
                qmp_client_handle_greeting(c, message);
        else if (json_object_object_get_ex(message, "event", NULL))
                qmp_client_handle_event(c, message);
        else if (json_object_object_get_ex(message, "return", NULL) ||
                 json_object_object_get_ex(message, "error", NULL))
                qmp_client_handle_reply(c, message);
        else
                qmp_client_close(c, "protocol error: message is neither a reply nor an event");
}

static bool is_json_space(char ch)
{
        return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

/* json-c's heap for each structural character, in units of about 100 bytes
 * (json-c 0.16: "0," 72 bytes, "[]," 156, "{}," 800 for its hash table). */
static unsigned qmp_element_cost(char ch)
{
        switch (ch) {
        case '{':
                return 8;
        case '[':
        case ',':
        case ':':
                return 1;
        default:
                return 0;
        }
}

/* Follows strings and nesting; true when ch closes the top-level value. */
static bool qmp_scan_char(QmpScan *s, char ch)
{
        if (s->in_string) {
                if (s->escaped)
                        s->escaped = false;
                else if (ch == '\\')
                        s->escaped = true;
                else if (ch == '"')
                        s->in_string = false;
                return false;
        }
        if (ch == '"')
                s->in_string = true;
        else if (ch == '{' || ch == '[')
                s->depth++;
        else if ((ch == '}' || ch == ']') && s->depth > 0)
                return --s->depth == 0;
        return false;
}

/*
 * Counts the next bytes of the message in progress against its budget and
 * returns how many may go to json-c: up to the message's end or the buffer's.
 * Stops short at the first byte over budget and says which limit it broke.
 */
static size_t qmp_scan(QmpScan *s, const char *buf, size_t n, QmpOverBudget *over)
{
        for (size_t i = 0; i < n; i++) {
                unsigned cost = s->in_string ? 0 : qmp_element_cost(buf[i]);

                if (s->bytes + 1 > s->budget->bytes) {
                        *over = QMP_TOO_MANY_BYTES;
                        return i;
                }
                if (s->elements + cost > s->budget->elements) {
                        *over = QMP_TOO_MANY_ELEMENTS;
                        return i;
                }
                s->bytes++;
                s->elements += cost;
                if (qmp_scan_char(s, buf[i]))
                        return i + 1;
        }
        return n;
}

static void qmp_client_close_over_budget(QmpClient *c, QmpOverBudget over)
{
        if (over == QMP_TOO_MANY_BYTES)
                qmp_client_close(c, "protocol error: message larger than %zu bytes",
                                 c->scan.budget->bytes);
        else
                qmp_client_close(c, "protocol error: message has more than %zu elements",
                                 c->scan.budget->elements);
}

/* Feeds len bytes to json-c and dispatches the message if they complete it.
 * Returns the bytes json-c used. */
static size_t qmp_client_parse(QmpClient *c, const char *buf, size_t len)
{
        _cleanup_json_ json_object *message = NULL;
        enum json_tokener_error jerr;
        bool was_large;

        message = json_tokener_parse_ex(c->tokener, buf, (int)len);
        jerr = json_tokener_get_error(c->tokener);
        if (jerr == json_tokener_continue)
                return len;
        if (jerr != json_tokener_success) {
                qmp_client_close(c, "protocol error: invalid JSON: %s",
                                 json_tokener_error_desc(jerr));
                return len;
        }
        len = json_tokener_get_parse_end(c->tokener);
        was_large = c->scan.bytes > QMP_SMALL_MESSAGE_BYTES;
        c->scan.budget = NULL; /* the next message starts here */
        /* A bare "null" parses successfully into a NULL object. */
        qmp_client_dispatch(c, message);
        /* A large reply (query-qmp-schema: 200 kB, 2.5 MiB as json-c
         * objects) leaves that much heap free but resident: give it back. */
        if (was_large) {
                json_object_put(TAKE_PTR(message));
                (void)malloc_trim(0);
        }
        return len;
}

/* Feeds bytes to json-c, each message only as far as its budget allows. */
static void qmp_client_feed(QmpClient *c, const char *buf, size_t n)
{
        size_t off = 0;

        while (off < n && c->state != QMP_CLOSED && !c->freed) {
                QmpOverBudget over = QMP_WITHIN_BUDGET;
                size_t len;

                if (!c->scan.budget) {
                        /* QEMU ends each message with "\r\n": no part of the next. */
                        while (off < n && is_json_space(buf[off]))
                                off++;
                        if (off == n)
                                break;
                        c->scan = (QmpScan){ .budget = c->n_large_pending > 0 ? &large_budget
                                                                              : &small_budget };
                }
                len = qmp_scan(&c->scan, buf + off, n - off, &over);
                if (over != QMP_WITHIN_BUDGET) {
                        qmp_client_close_over_budget(c, over);
                        return;
                }
                off += qmp_client_parse(c, buf + off, len);
        }
}

static void qmp_client_read(QmpClient *c)
{
        /* One buffer for all clients of the thread's loop: json-c copies
         * what it keeps, so nothing stays in it between reads, and a
         * connection does not hold 64 KiB of its own for good. */
        static _Thread_local char input[QMP_READ_CHUNK];
        ssize_t n;

        n = recv(c->fd, input, sizeof(input), MSG_DONTWAIT);
        if (n < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
                        return;
                qmp_client_close(c, "read: %s", strerror(errno));
                return;
        }
        if (n == 0) {
                qmp_client_close(c, "end of file from peer");
                return;
        }
        qmp_client_feed(c, input, (size_t)n);
}

static void qmp_client_finish_connect(QmpClient *c)
{
        socklen_t len = sizeof(int);
        int error = 0, r;

        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &error, &len) < 0)
                error = errno;
        if (error != 0) {
                qmp_client_close(c, "connect to %s: %s", c->socket_path, strerror(error));
                return;
        }
        c->state = QMP_GREETING;
        r = qmp_client_set_events(c);
        if (r < 0)
                qmp_client_close(c, "failed to watch socket: %s", strerror(-r));
}

static int qmp_client_on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        _cleanup_(qmp_client_unrefp) QmpClient *c = qmp_client_ref(userdata);
        int r;

        if (c->state == QMP_CONNECTING) {
                qmp_client_finish_connect(c);
                return 0;
        }

        /* Read before writing: a peer that hung up may have sent a last
         * reply, and its EOF is a better reason than EPIPE. */
        if (revents & (EPOLLIN | EPOLLHUP | EPOLLERR))
                qmp_client_read(c);

        if (c->state != QMP_CLOSED && !c->freed && (revents & EPOLLOUT)) {
                r = qmp_client_flush(c);
                if (r < 0)
                        qmp_client_close(c, "write: %s", strerror(-r));
        }
        /* Errors are handled above; a negative return would make sd-event
         * disable the source behind our back. */
        return 0;
}

static int qmp_client_watch(QmpClient *c, uint32_t events)
{
        int r;

        r = sd_event_add_io(c->event, &c->io, c->fd, events, qmp_client_on_io, c);
        if (r < 0)
                return r;
        (void)sd_event_source_set_description(c->io, "qmp-client");
        return 0;
}

static int qmp_client_on_retry(sd_event_source *s, uint64_t usec, void *userdata);

/* One connect() attempt; arranges for the next step (I/O watch or retry). */
static int qmp_client_connect_step(QmpClient *c)
{
        int r = 0;

        if (connect(c->fd, (struct sockaddr *)&c->address, c->address_len) < 0)
                r = -errno;

        if (r == -EAGAIN) {
                if (++c->connect_tries > QMP_CONNECT_RETRIES)
                        return r;
                return sd_event_add_time_relative(c->event, &c->retry, CLOCK_MONOTONIC,
                                                  QMP_CONNECT_RETRY_USEC, 0, qmp_client_on_retry,
                                                  c);
        }
        if (r == -EINPROGRESS || r == -EINTR)
                return qmp_client_watch(c, EPOLLOUT);
        if (r < 0)
                return r;

        c->state = QMP_GREETING;
        return qmp_client_watch(c, EPOLLIN);
}

static int qmp_client_on_retry(sd_event_source *s, uint64_t usec, void *userdata)
{
        QmpClient *c = userdata;
        int r;

        c->retry = sd_event_source_disable_unref(c->retry);
        r = qmp_client_connect_step(c);
        if (r < 0)
                qmp_client_close(c, "connect to %s: %s", c->socket_path, strerror(-r));
        return 0;
}

int qmp_client_new(QmpClient **ret, sd_event *event, const char *socket_path,
                   const QmpCallbacks *callbacks, void *userdata)
{
        _cleanup_(qmp_client_unrefp) QmpClient *c = NULL;
        size_t len;
        int r;

        assert(ret);
        assert(event);
        assert(socket_path);

        len = strlen(socket_path);
        if (len == 0)
                return -EINVAL;
        if (len >= sizeof(c->address.sun_path))
                return -ENAMETOOLONG;

        r = qmp_client_alloc(&c, event, callbacks, userdata);
        if (r < 0)
                return r;
        c->socket_path = strdup(socket_path);
        if (!c->socket_path)
                return -ENOMEM;
        c->address.sun_family = AF_UNIX;
        memcpy(c->address.sun_path, socket_path, len + 1);
        c->address_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + 1);

        c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (c->fd < 0)
                return -errno;

        /* A missing socket or a dead QEMU (ENOENT, ECONNREFUSED) fails here,
         * synchronously; only later failures go through on_closed. */
        r = qmp_client_connect_step(c);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(c);
        return 0;
}

int qmp_client_new_fd(QmpClient **ret, sd_event *event, int fd, const QmpCallbacks *callbacks,
                      void *userdata)
{
        _cleanup_(qmp_client_unrefp) QmpClient *c = NULL;
        int flags, r;

        assert(ret);
        assert(event);
        assert(fd >= 0);

        r = qmp_client_alloc(&c, event, callbacks, userdata);
        if (r < 0) {
                close(fd);
                return r;
        }
        c->fd = fd;

        flags = fcntl(fd, F_GETFL);
        if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0 ||
            fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
                return -errno;

        c->state = QMP_GREETING;
        r = qmp_client_watch(c, EPOLLIN);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(c);
        return 0;
}

QmpClient *qmp_client_free(QmpClient *c)
{
        if (!c)
                return NULL;

        assert(!c->freed);
        c->freed = true;
        c->state = QMP_CLOSED;
        qmp_client_disconnect(c);
        qmp_pending_free_all(c);
        qmp_client_unref(c);
        return NULL;
}

bool qmp_client_is_ready(const QmpClient *c)
{
        return c && c->state == QMP_READY;
}

const char *qmp_client_socket_path(const QmpClient *c)
{
        return c ? c->socket_path : NULL;
}

int qmp_client_peer_pid(const QmpClient *c)
{
        struct ucred cred;
        socklen_t len = sizeof(cred);

        if (!c || c->fd < 0)
                return -ENOTCONN;
        if (getsockopt(c->fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
                return -errno;
        return cred.pid > 0 ? cred.pid : -ESRCH;
}

int qmp_client_command(QmpClient *c, const char *command, json_object *args, qmp_reply_fn cb,
                       void *userdata)
{
        assert(c);
        assert(command);

        if (c->state != QMP_READY) {
                json_object_put(args);
                return -ENOTCONN;
        }
        return qmp_client_queue(c, command, args, cb, userdata);
}

size_t qmp_client_pending(const QmpClient *c)
{
        return c ? c->n_pending : 0;
}

uint64_t qmp_client_oldest_pending_usec(const QmpClient *c)
{
        /* Commands join at the tail, so the head is the oldest left. */
        return c && c->pending_head ? c->pending_head->queued_usec : 0;
}
