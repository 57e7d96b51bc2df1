/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The shared monitor's command queue: bounded, in order, failures reported
 * through the callbacks after every send (a callback may free the client),
 * and a callback that queues again finds an empty queue. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "qmp-command-queue.h"
#include "test-util.h"

typedef struct Seen {
        int calls;
        int order[QMP_COMMAND_QUEUE_MAX + 1];
        bool client_null;
        char error[128];
        QmpCommandQueue *requeue; /* push once more from inside the callback */
} Seen;

static int counter;

static void on_reply(QmpClient *c, json_object *ret, const char *error, void *userdata)
{
        Seen *s = userdata;

        s->order[s->calls++] = ++counter;
        s->client_null = c == NULL;
        snprintf(s->error, sizeof(s->error), "%s", error ? error : "");
        if (s->requeue) {
                check(s->requeue->n == 0);
                check(qmp_command_queue_push(s->requeue, "query-status", NULL, NULL, NULL) == 0);
                s->requeue = NULL;
        }
}

static void test_bounded(void)
{
        QmpCommandQueue q = { 0 };

        for (int i = 0; i < QMP_COMMAND_QUEUE_MAX; i++)
                check(qmp_command_queue_push(&q, "query-balloon", json_object_new_object(), NULL,
                                             NULL) == 0);
        /* args are taken even when refused (ASan's leak check sees it) */
        check(qmp_command_queue_push(&q, "balloon", json_object_new_object(), NULL, NULL) ==
              -ENOBUFS);
        check_u64_eq(q.n, QMP_COMMAND_QUEUE_MAX);
        qmp_command_queue_clear(&q);
        check_u64_eq(q.n, 0);
}

static void test_flush_on_a_client_not_ready_fails_each_in_order(void)
{
        QmpCommandQueue q = { 0 };
        Seen a = { 0 }, b = { 0 };
        sd_event *event = NULL;
        QmpClient *c = NULL;
        int fds[2];

        check(sd_event_default(&event) >= 0);
        check(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0);
        check(qmp_client_new_fd(&c, event, fds[0], &(QmpCallbacks){ 0 }, NULL) == 0);
        b.requeue = &q;
        check(qmp_command_queue_push(&q, "query-balloon", NULL, on_reply, &a) == 0);
        check(qmp_command_queue_push(&q, "qom-get", json_object_new_object(), on_reply, &b) == 0);
        qmp_command_queue_flush(&q, c); /* no greeting yet: -ENOTCONN for each */
        check(a.calls == 1 && b.calls == 1);
        check(a.order[0] < b.order[0]);
        check(a.client_null && b.client_null);
        check_str_contains(a.error, strerror(ENOTCONN));
        check_u64_eq(q.n, 1); /* what b's callback queued stays for the next session */
        qmp_command_queue_clear(&q);
        qmp_client_free(c);
        close(fds[1]);
        sd_event_unref(event);
}

int main(void)
{
        RUN(test_bounded);
        RUN(test_flush_on_a_client_not_ready_fails_each_in_order);
        return 0;
}
