/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "qmp-command-queue.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int qmp_command_queue_push(QmpCommandQueue *q, const char *command, json_object *args,
                           qmp_reply_fn cb, void *userdata)
{
        char *copy;

        if (q->n >= QMP_COMMAND_QUEUE_MAX) {
                json_object_put(args);
                return -ENOBUFS;
        }
        copy = strdup(command);
        if (!copy) {
                json_object_put(args);
                return -ENOMEM;
        }
        q->items[q->n++] = (QueuedCommand){ copy, args, cb, userdata };
        return 0;
}

void qmp_command_queue_flush(QmpCommandQueue *q, QmpClient *c)
{
        /* Taken out first: a callback may queue again (and will find it empty). */
        QueuedCommand items[QMP_COMMAND_QUEUE_MAX];
        int result[QMP_COMMAND_QUEUE_MAX];
        size_t n = q->n;

        memcpy(items, q->items, n * sizeof(items[0]));
        q->n = 0;
        for (size_t i = 0; i < n; i++) {
                result[i] = qmp_client_command(c, items[i].command, items[i].args, items[i].cb,
                                               items[i].userdata);
                free(items[i].command);
        }
        /* Failures are reported after every send: a callback may free c. */
        for (size_t i = 0; i < n; i++)
                if (result[i] < 0 && items[i].cb)
                        items[i].cb(NULL, NULL, strerror(-result[i]), items[i].userdata);
}

void qmp_command_queue_clear(QmpCommandQueue *q)
{
        for (size_t i = 0; i < q->n; i++) {
                free(q->items[i].command);
                json_object_put(q->items[i].args);
        }
        q->n = 0;
}
