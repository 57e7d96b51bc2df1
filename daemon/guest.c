/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Guest objects: allocation, naming, teardown. */
#include "guest.h"

#include <errno.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "libvirt-guests.h"
#include "manager.h"

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

int guest_new(Guest **ret, Manager *m, GuestBackend backend, const char *key)
{
        Guest *g = calloc(1, sizeof(*g));
        if (!g)
                return -ENOMEM;
        g->manager = m;
        g->backend = backend;
        if (backend == GUEST_BACKEND_QMP || backend == GUEST_BACKEND_FAKE) {
                g->socket_path = strdup(key);
                g->name = socket_stem(key);
        } else {
                g->uuid = strdup(key);
                g->name = strdup(key);
        }
        balloon_stats_init(&g->stats);
        guest_compat_clear(&g->compat);
        g->state = GUEST_DISCONNECTED;
        g->seen = true;
        if (!g->name || (backend == GUEST_BACKEND_LIBVIRT ? !g->uuid : !g->socket_path)) {
                guest_free(g);
                return -ENOMEM;
        }
        *ret = g;
        return 0;
}

const char *guest_backend_to_string(GuestBackend b)
{
        return b == GUEST_BACKEND_LIBVIRT ? "libvirt" : b == GUEST_BACKEND_FAKE ? "fake" : "qmp";
}

int guest_qmp_command(Guest *g, const char *command, json_object *args, qmp_reply_fn cb)
{
        if (g->backend == GUEST_BACKEND_QMP)
                return qmp_client_command(g->qmp, command, args, cb, g);
        return libvirt_guests_qmp_command(g->manager, g, command, args, cb);
}

void guest_stats_arrived(Guest *g, const BalloonStats *s)
{
        bool updated = s->last_update_sec != g->stats.last_update_sec;

        g->stats = *s;
        if (!updated)
                return;
        g->stats_actual_bytes = g->actual_bytes;
        /* At full size with nothing in flight, what MemTotal lacks is the kernel's. */
        if (g->actual_bytes == g->max_bytes && !g->command_pending &&
            s->total_bytes != STAT_UNKNOWN && s->total_bytes < g->max_bytes)
                g->kernel_reserve_bytes = g->max_bytes - s->total_bytes;
        manager_guest_stats_updated(g->manager, g);
}

void guest_balloon_changed(Guest *g, uint64_t actual)
{
        g->actual_bytes = actual;
        if (g->command_pending && (actual > g->pending_target_bytes ? actual - g->pending_target_bytes
                                                                    : g->pending_target_bytes - actual) < MIB)
                g->command_pending = false;
}

Guest *guest_free(Guest *g)
{
        if (!g)
                return NULL;
        qmp_client_free(g->qmp);
        libvirt_guests_forget(g->manager, g);
        guest_compat_clear(&g->compat);
        free(g->socket_path);
        free(g->name);
        free(g->uuid);
        free(g->balloon_path);
        free(g->last_error);
        free(g);
        return NULL;
}
