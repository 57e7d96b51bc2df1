/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Reloading the config (SIGHUP, memtidectl reload) and runtime overrides
 * (memtidectl set/reset). A config that fails to load changes nothing: the
 * old one stays in force and the error goes to the log and to the caller.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <systemd/sd-daemon.h>

#include "cleanup.h"
#include "fileio.h"
#include "libvirt-guests.h"
#include "log.h"
#include "manager.h"

/* The config's [Guest:] rules, then the operator's runtime override. */
void manager_refresh_settings(Manager *m, Guest *g)
{
        config_guest_settings(m->config, g->name, g->uuid, &g->settings);
        overrides_apply(&m->overrides, g->name, g->uuid, &g->settings);
}

static void apply_new_config(Manager *m, const MemtideConfig *old)
{
        const MemtideConfig *c = m->config;
        bool period_changed = old->stats_period_usec != c->stats_period_usec;
        int r;

        if (strcmp(old->control_socket, c->control_socket) != 0)
                log_warning("ControlSocket= changed to %s: takes effect at the next restart",
                            c->control_socket);
        for (size_t i = 0; i < m->n_guests; i++) {
                Guest *g = m->guests[i];
                manager_refresh_settings(m, g);
                if (g->state == GUEST_READY && g->backend == GUEST_BACKEND_QMP && period_changed)
                        (void)qmp_guest_set_stats_period(g);
        }
        /* libvirt guests: the backend's worker sets the period on every active
         * domain (and on those that appear later); its answer is logged. */
        if (period_changed && m->libvirt) {
                r = libvirt_guests_set_stats_period(m);
                if (r < 0)
                        log_warning("libvirt: cannot change the stats period: %s", strerror(-r));
        }
}

int manager_reload(Manager *m, char **ret_error)
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

static char *overrides_path(Manager *m)
{
        char *p = NULL;
        if (asprintf(&p, "%s/overrides.json", m->config->state_directory) < 0)
                return NULL;
        return p;
}

void manager_load_overrides(Manager *m)
{
        _cleanup_free_ char *path = overrides_path(m);
        int r = path ? overrides_load(&m->overrides, path) : -ENOMEM;
        if (r < 0)
                log_error("Ignoring runtime overrides in %s: %s", path ? path : "?",
                          r == -EINVAL ? "not a valid overrides file" : strerror(-r));
        else if (m->overrides.n > 0)
                log_info("Loaded %zu runtime override(s) from %s", m->overrides.n, path);
}

/* Saved before it takes effect, so that what is in force survives a crash. */
static int save_overrides(Manager *m, const Overrides *o)
{
        _cleanup_free_ char *path = overrides_path(m);
        int r = path ? mkdir_p(m->config->state_directory, 0750) : -ENOMEM;
        if (r >= 0)
                r = overrides_save(o, path);
        if (r < 0)
                log_error("Failed to save runtime overrides to %s: %s", path ? path : "?",
                          strerror(-r));
        return r;
}

static void refresh_all(Manager *m)
{
        for (size_t i = 0; i < m->n_guests; i++)
                manager_refresh_settings(m, m->guests[i]);
}

int manager_set_override(Manager *m, const Override *patch)
{
        Overrides next = { 0 };
        int r = 0;

        for (size_t i = 0; i < m->overrides.n && r >= 0; i++)
                r = overrides_set(&next, &m->overrides.items[i]);
        if (r >= 0)
                r = overrides_set(&next, patch);
        if (r >= 0)
                r = save_overrides(m, &next);
        if (r < 0) {
                overrides_clear(&next);
                return r;
        }
        overrides_clear(&m->overrides);
        m->overrides = next;
        refresh_all(m);
        log_info("Runtime override for %s set", patch->guest);
        return 0;
}

int manager_reset_override(Manager *m, const char *guest)
{
        Overrides next = { 0 };
        int r = 0;

        if (!overrides_find(&m->overrides, guest, NULL))
                return -ENOENT;
        for (size_t i = 0; i < m->overrides.n && r >= 0; i++)
                if (strcmp(m->overrides.items[i].guest, guest) != 0)
                        r = overrides_set(&next, &m->overrides.items[i]);
        if (r >= 0)
                r = save_overrides(m, &next);
        if (r < 0) {
                overrides_clear(&next);
                return r;
        }
        overrides_clear(&m->overrides);
        m->overrides = next;
        refresh_all(m);
        log_info("Runtime override for %s removed", guest);
        return 0;
}
