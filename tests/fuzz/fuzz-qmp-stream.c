/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fuzz target: the QMP client's stream parser (lib/qemu/qmp.c), driven as memtided
 * drives it. The input is what a QEMU monitor sends; the target plays QEMU on
 * the far end of a socketpair given to qmp_client_new_fd() and runs the
 * client's sd-event loop, so the real read, tokenize, dispatch and close
 * paths run, with no change to lib/.
 *
 * Input: one control byte, then the byte stream.
 *   bits 0-2  chunk size the stream is written in (1, 2, 3, 7, 16, 64, 512
 *             or all at once), so messages arrive split at every boundary;
 *             a stream over 4096 chunks goes in 4096 larger ones, so that
 *             one input takes no longer than the -timeout
 *   bit 3     each reply callback queues one more command (re-entry from
 *             inside dispatch)
 *   bits 4-7  N > 0: the owner frees the client from inside its N-th
 *             callback (the lifetime rules in qmp.c's header)
 * Once ready, the client has QMP_FUZZ_COMMANDS commands outstanding (ids 2
 * and up; qmp_capabilities is id 1), so replies in the seeds match. They
 * are qom-get guest-stats, as memtided's stats polls, so every message has
 * the small budget of lib/qemu/qmp.h (the large one, ~50 MB under ASan, is
 * test-qmp's).
 *
 * Invariants: no crash, leak or sanitizer report; after the stream ends
 * (EOF) the client has reported on_closed exactly once, failed every
 * outstanding command, and has nothing pending. And what a message may cost
 * is bounded: run-fuzzers.sh runs this target under -rss_limit_mb, which
 * json-c trips when it builds a message past the budget (before the budget,
 * the seed seed-many-objects, 128 KiB of "{},", took the target from 45 MB
 * to 90 MB; now it stops at the 4096th element).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <systemd/sd-event.h>

#include "balloon-stats.h"
#include "cleanup.h"
#include "fuzz.h"
#include "qmp.h"

#define QMP_FUZZ_COMMANDS   8u
#define QMP_FUZZ_MAX_WRITES 4096u

static const size_t chunk_sizes[8] = { 1, 2, 3, 7, 16, 64, 512, SIZE_MAX };

typedef struct FuzzState {
        QmpClient *client;
        bool requeue;
        unsigned free_at; /* callback number that frees the client; 0: never */
        unsigned n_callbacks;
        unsigned n_closed;
        unsigned n_replies, n_sent;
} FuzzState;

static void fuzz_callback(FuzzState *s)
{
        if (++s->n_callbacks == s->free_at)
                s->client = qmp_client_free(s->client);
}

static void on_reply(QmpClient *c, json_object *ret, const char *error, void *userdata)
{
        FuzzState *s = userdata;
        BalloonStats stats;

        s->n_replies++;
        /* A reply carries either a value (maybe JSON null) or an error, and
         * the value is readable for the length of the call. */
        if (error)
                fuzz_check(ret == NULL);
        else
                (void)json_object_to_json_string(ret);
        /* What the daemon does with a guest-stats reply. */
        (void)balloon_stats_from_qmp(&stats, ret);

        if (s->requeue && s->client && qmp_client_is_ready(c) &&
            qmp_client_command(c, "query-balloon", NULL, on_reply, s) == 0)
                s->n_sent++;
        fuzz_callback(s);
}

static void on_ready(QmpClient *c, void *userdata)
{
        FuzzState *s = userdata;

        for (unsigned i = 0; i < QMP_FUZZ_COMMANDS; i++) {
                json_object *args = json_object_new_object();

                json_object_object_add(args, "path",
                                       json_object_new_string("/machine/peripheral/balloon0"));
                json_object_object_add(args, "property", json_object_new_string("guest-stats"));
                fuzz_check(qmp_client_command(c, "qom-get", args, on_reply, s) == 0);
                s->n_sent++;
        }
        fuzz_callback(s);
}

static void on_event(QmpClient *c, const char *event, json_object *data, void *userdata)
{
        fuzz_check(event);
        (void)json_object_to_json_string(data);
        fuzz_callback(userdata);
}

static void on_closed(QmpClient *c, const char *reason, void *userdata)
{
        FuzzState *s = userdata;

        fuzz_check(reason && reason[0]);
        s->n_closed++;
        fuzz_check(qmp_client_pending(c) == 0);
        fuzz_callback(s);
}

static const QmpCallbacks callbacks = {
        .on_ready = on_ready,
        .on_event = on_event,
        .on_closed = on_closed,
};

static sd_event *fuzz_event(void)
{
        /* One loop for the whole process: creating one per input would cost
         * more than the input itself. Reachable from here, so not a leak. */
        static sd_event *event;

        if (!event)
                fuzz_check(sd_event_new(&event) >= 0);
        return event;
}

/* Runs the loop until nothing is ready, and swallows what the client sent. */
static void pump(sd_event *event, int peer)
{
        char sink[4096];

        for (unsigned i = 0; i < 10000; i++) {
                int r = sd_event_run(event, 0);

                fuzz_check(r >= 0);
                while (read(peer, sink, sizeof(sink)) > 0)
                        ;
                if (r == 0)
                        return;
        }
        fuzz_check(!"the event loop never went idle");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        FuzzState s = { 0 };
        _cleanup_close_ int peer = -1;
        sd_event *event = fuzz_event();
        size_t chunk, off = 0;
        int fds[2];

        if (size < 1)
                return 0;
        chunk = chunk_sizes[data[0] & 7];
        s.requeue = data[0] & 8;
        s.free_at = data[0] >> 4;
        data++, size--;
        if (chunk < size / QMP_FUZZ_MAX_WRITES)
                chunk = size / QMP_FUZZ_MAX_WRITES;

        fuzz_check(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, fds) == 0);
        peer = fds[1];
        fuzz_check(qmp_client_new_fd(&s.client, event, fds[0], &callbacks, &s) == 0);

        while (off < size && s.client && s.n_closed == 0) {
                size_t n = size - off < chunk ? size - off : chunk;
                ssize_t w = send(peer, data + off, n, MSG_NOSIGNAL);

                if (w < 0) {
                        /* Socket buffer full: let the client read. */
                        fuzz_check(errno == EAGAIN);
                        w = 0;
                }
                off += (size_t)w;
                pump(event, peer);
        }

        /* End of stream: the client must notice and close. */
        if (s.client && s.n_closed == 0) {
                fuzz_check(shutdown(peer, SHUT_WR) == 0);
                pump(event, peer);
        }
        if (s.client) {
                fuzz_check(s.n_closed == 1);
                fuzz_check(s.n_replies == s.n_sent);
                fuzz_check(qmp_client_pending(s.client) == 0);
                s.client = qmp_client_free(s.client);
        }
        fuzz_check(s.n_closed <= 1);
        return 0;
}
