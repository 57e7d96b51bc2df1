/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Guest objects: allocation, naming, teardown. */
#include "guest.h"

#include <errno.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"

static const char *const state_names[] = {
        [GUEST_CONNECTING] = "connecting",
        [GUEST_READY] = "ready",
        [GUEST_DISCONNECTED] = "disconnected",
};

const char *guest_state_to_string(GuestState s)
{
        return s < ELEMENTSOF(state_names) ? state_names[s] : "invalid";
}

/* "/var/run/qemu-server/101.qmp" -> "101": the name until QEMU tells us its own. */
static char *socket_stem(const char *path)
{
        _cleanup_free_ char *copy = strdup(path);
        if (!copy)
                return NULL;
        char *base = basename(copy);
        char *dot = strrchr(base, '.');
        if (dot && dot != base)
                *dot = '\0';
        return strdup(base);
}

int guest_new(Guest **ret, Manager *m, const char *socket_path)
{
        Guest *g = calloc(1, sizeof(*g));
        if (!g)
                return -ENOMEM;
        g->manager = m;
        g->socket_path = strdup(socket_path);
        g->name = socket_stem(socket_path);
        balloon_stats_init(&g->stats);
        guest_compat_clear(&g->compat);
        g->state = GUEST_DISCONNECTED;
        g->seen = true;
        if (!g->socket_path || !g->name) {
                guest_free(g);
                return -ENOMEM;
        }
        *ret = g;
        return 0;
}

Guest *guest_free(Guest *g)
{
        if (!g)
                return NULL;
        qmp_client_free(g->qmp);
        guest_compat_clear(&g->compat);
        free(g->socket_path);
        free(g->name);
        free(g->uuid);
        free(g->balloon_path);
        free(g->last_error);
        free(g);
        return NULL;
}
