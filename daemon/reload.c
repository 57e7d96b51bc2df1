/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Reloading the config (SIGHUP, memtidectl reload). A config that fails to
 * load changes nothing: the old one stays in force and the error goes to the
 * log and to the caller.
 */
#include "reload.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <systemd/sd-daemon.h>

#include "cleanup.h"
#include "log.h"

static void apply_new_config(Manager *m, const MemtideConfig *old)
{
        const MemtideConfig *c = m->config;
        bool period_changed = old->stats_period_usec != c->stats_period_usec;
        int r;

        if (strcmp(old->control_socket, c->control_socket) != 0)
                log_warning("ControlSocket= changed to %s: takes effect at the next restart",
                            c->control_socket);
        if (strcmp(old->libvirt_uri, c->libvirt_uri) != 0)
                log_warning("LibvirtURI= changed to %s: takes effect at the next restart",
                            c->libvirt_uri);
        if (!m->debug_forced)
                log_set_max_level(c->log_level); /* a run-time log-level lasts until a reload */
        if (old->mode != c->mode)
                log_warning("Mode=%s%s", daemon_mode_to_string(c->mode),
                            c->mode == DAEMON_MODE_OBSERVE
                                    ? ": observing, no balloon commands are sent"
                            : m->operator_paused ? ", but memtidectl pause holds"
                                                 : ": managing the guests");
        for (size_t i = 0; i < m->n_guests; i++)
                manager_refresh_settings(m, m->guests[i]);
        if (!period_changed || !m->backend.ops->set_stats_period)
                return;
        r = m->backend.ops->set_stats_period(&m->backend);
        if (r < 0)
                log_warning_errno(r, "%s: cannot change the stats period: %m",
                                  m->backend.ops->name);
}

int reload_config(Manager *m, char **ret_error)
{
        _cleanup_free_ char *error = NULL;
        MemtideConfig *fresh = NULL, *old;
        int r;

        (void)sd_notify(false, "RELOADING=1");
        r = m->config_optional ? config_load_optional(m->config_path, &fresh, &error)
                               : config_load(m->config_path, &fresh, &error);
        if (r < 0) {
                log_error("Reloading %s failed, keeping the current config: %s", m->config_path,
                          error ? error : strerror(-r));
                (void)sd_notify(false, "READY=1");
                if (ret_error)
                        *ret_error = TAKE_PTR(error);
                return r;
        }
        old = m->config;
        m->config = fresh;
        apply_new_config(m, old);
        config_free(old);
        log_info("Reloaded %s", m->config_path);
        (void)sd_notify(false, "READY=1");
        return 0;
}
