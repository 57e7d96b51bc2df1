/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The QMP backend: discovery of QMP sockets each cycle (new ones connected,
 * vanished ones forgotten), reconnection with backoff, the stuck-monitor
 * check, stats polls, QEMU's RSS through the socket's peer, and the compat
 * probes. One guest's connection is qmp-guest.c.
 */
#include "qmp-backend.h"

#include <errno.h>
#include <glob.h>
#include <string.h>

#include "host.h"
#include "log.h"
#include "manager.h"
#include "proxmox-vmconf.h"
#include "qmp-compat.h"
#include "qmp-guest.h"

static void add_guest(Manager *m, const char *path)
{
        Guest *g;
        int r = manager_add_guest(m, path, &g);

        if (r >= 0 && qmp_guest_attach(g) < 0) {
                manager_remove_guest(m, g);
                r = -ENOMEM;
        }
        if (r < 0)
                log_error("out of memory adding %s", path);
        else
                log_guest(LOG_INFO, g, "found QMP socket %s", path);
}

static void mark_found(Manager *m, const char *pattern)
{
        glob_t gl = { 0 };

        if (glob(pattern, GLOB_NOSORT, NULL, &gl) == 0)
                for (size_t j = 0; j < gl.gl_pathc; j++) {
                        Guest *g = manager_find_guest(m, gl.gl_pathv[j]);
                        if (g)
                                qmp_guest_of(g)->seen = true;
                        else
                                add_guest(m, gl.gl_pathv[j]);
                }
        globfree(&gl);
}

/* Globs QMPSockets=: new sockets are connected, vanished ones forgotten. */
static void discover(Manager *m)
{
        uint64_t now = manager_now_usec(m);

        for (size_t i = 0; i < m->n_guests; i++)
                qmp_guest_of(m->guests[i])->seen = false;
        for (char **p = m->config->qmp_sockets; p && *p; p++)
                mark_found(m, *p);
        for (size_t i = m->n_guests; i-- > 0;) {
                Guest *g = m->guests[i];
                if (qmp_guest_of(g)->seen)
                        continue;
                log_guest(LOG_INFO, g, "QMP socket %s is gone, forgetting the guest", g->key);
                manager_remove_guest(m, g);
        }
        for (size_t i = 0; i < m->n_guests; i++)
                qmp_guest_try_connect(m->guests[i], now);
}

/* What the guest costs the host: the QEMU process at the other end of its QMP socket. */
static void read_qemu_rss(Manager *m, Guest *g)
{
        int pid = qmp_guest_peer_pid(g);

        g->qemu_pid = pid > 0 ? pid : 0; /* for GuestMemoryBudget=auto */
        if (pid <= 0 || host_process_rss(m->proc_root, pid, &g->qemu_rss_bytes) < 0)
                g->qemu_rss_bytes = 0;
}

static int start(Backend *b)
{
        return 0; /* guests are found by the first cycle's discovery */
}

static void cycle_begin(Backend *b)
{
        Manager *m = b->manager;

        discover(m);
        for (size_t i = 0; i < m->n_guests; i++) {
                Guest *g = m->guests[i];
                if (g->state != GUEST_READY)
                        continue;
                read_qemu_rss(m, g);
                if (g->settings.vm_settings_missing)
                        manager_refresh_settings(m, g); /* until pmxcfs is back */
        }
}

static void cycle_end(Backend *b)
{
        Manager *m = b->manager;

        for (size_t i = 0; i < m->n_guests; i++) {
                Guest *g = m->guests[i];
                if (g->state != GUEST_READY)
                        continue;
                /* A shared monitor still waiting for another client to hang up
                 * gets nothing new: a queue of the same queries helps nobody. */
                if (qmp_guest_session_waiting(g))
                        continue;
                (void)qmp_guest_refresh_balloon_if_moving(g);
                if (qmp_guest_shared(g)) {
                        /* One session per cycle brings all of it. */
                        (void)qmp_guest_refresh_status(g);
                        (void)qmp_guest_refresh_vmem(g);
                        (void)qmp_guest_poll_stats(g);
                }
                if (g->state == GUEST_READY) /* a session that failed to open lost it */
                        qmp_compat_refresh(g, manager_now_usec(m));
        }
}

static void poll_guests(Backend *b)
{
        Manager *m = b->manager;
        uint64_t now = manager_now_usec(m);

        for (size_t i = 0; i < m->n_guests; i++) {
                Guest *g = m->guests[i];
                /* Stats polls have a timer per guest (qmp-guest.c), aligned to its reports. */
                if (qmp_guest_stuck(g, now))
                        qmp_guest_lost(g, "QEMU monitor did not answer for 20 s");
                else if (g->state == GUEST_READY && !qmp_guest_shared(g)) {
                        /* Plugging and unplugging are the guest's, at its
                         * own pace: their sizes are read at every tick. */
                        (void)qmp_guest_refresh_vmem(g);
                        /* Guests waiting for their first probe need not
                         * wait for the cycle's next turn. */
                        if (g->state == GUEST_READY && !g->compat.probed)
                                qmp_compat_refresh(g, now);
                }
        }
}

static int set_stats_period(Backend *b)
{
        Manager *m = b->manager;

        for (size_t i = 0; i < m->n_guests; i++)
                if (m->guests[i]->state == GUEST_READY)
                        (void)qmp_guest_set_stats_period(
                                m->guests[i]); /* failures logged per guest */
        return 0;
}

static void describe_guest(const Guest *g, json_object *o)
{
        json_object_object_add(o, "socket", json_object_new_string(g->key));
        json_object_object_add(o, "shared_monitor", json_object_new_boolean(qmp_guest_shared(g)));
        if (qmp_guest_shared(g))
                json_object_object_add(o, "monitor_sessions",
                                       json_object_new_uint64(qmp_guest_of(g)->sessions));
}

/* Proxmox names a VM's socket VMID.qmp: its VM config has the guest's memory,
 * balloon minimum and shares. Read at every call: a reload sees edits. */
static void vm_settings(Guest *g, GuestSettings *s)
{
        _cleanup_free_ char *error = NULL;
        const char *dir = g->manager->config->proxmox_config_dir;
        int r = dir ? proxmox_vmconf_guest_settings(dir, g->key, s, &error) : 0;

        if (r < 0)
                log_guest_errno(LOG_WARNING, g, r,
                                "%s; guest left unmanaged (Manage= in a [Guest:] rule overrides)",
                                error ? error : "cannot read its Proxmox VM config");
}

const BackendOps qmp_backend_ops = {
        .name = "qmp",
        .start = start,
        .cycle_begin = cycle_begin,
        .cycle_end = cycle_end,
        .poll = poll_guests,
        .set_stats_period = set_stats_period,
        .qmp_command = qmp_guest_command,
        .forget = qmp_guest_detach,
        .describe_guest = describe_guest,
        .vm_settings = vm_settings,
};
