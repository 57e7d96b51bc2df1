/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Runtime overrides (memtidectl set/reset) in force in the daemon. Each
 * change is saved before it takes effect, so that what is in force survives
 * a crash; a change that cannot be saved is refused.
 */
#include "runtime-overrides.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "fileio.h"
#include "log.h"

static char *overrides_path(Manager *m)
{
        char *p = NULL;
        if (asprintf(&p, "%s/overrides.json", m->config->state_directory) < 0)
                return NULL;
        return p;
}

/*
 * A file that cannot be read as overrides is moved aside, never ignored and
 * then overwritten by the next `memtidectl set`: the operator's overrides
 * stay on disk for a person to repair, and the daemon keeps working.
 */
static void set_aside(Manager *m, const char *path, int error)
{
        const char *why = error == -EINVAL ? "not a valid overrides file" : strerror(-error);
        _cleanup_free_ char *aside = NULL, *problem = NULL;
        int r;

        if (asprintf(&aside, "%s.corrupt-%llu", path, (unsigned long long)manager_wall_sec()) < 0)
                return (void)log_oom();
        r = rename(path, aside) < 0 ? -errno : 0;
        if (r < 0)
                log_error_errno(r,
                                "Runtime overrides in %s: %s, and moving it aside failed: %m; "
                                "it will be replaced at the next change",
                                path, why);
        else
                log_error("Runtime overrides in %s: %s; moved to %s, starting without overrides",
                          path, why, aside);
        if (asprintf(&problem, "%s: %s; %s %s", path, why,
                     r < 0 ? "could not move it to" : "moved to", aside) < 0)
                return (void)log_oom();
        free(m->overrides_problem);
        m->overrides_problem = TAKE_PTR(problem);
}

void runtime_overrides_load(Manager *m)
{
        _cleanup_free_ char *path = overrides_path(m);
        int r;

        if (!path)
                return (void)log_oom();
        r = overrides_load(&m->overrides, path);
        if (r < 0)
                set_aside(m, path, r);
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
                log_error_errno(r, "Failed to save runtime overrides to %s: %m", path ? path : "?");
        return r;
}

static void refresh_all(Manager *m)
{
        for (size_t i = 0; i < m->n_guests; i++)
                manager_refresh_settings(m, m->guests[i]);
}

/* The overrides in force, less skip's (NULL: all of them), into next. */
static int copy_overrides(const Overrides *from, const char *skip, Overrides *next)
{
        int r = 0;

        for (size_t i = 0; i < from->n && r >= 0; i++)
                if (!skip || strcmp(from->items[i].guest, skip) != 0)
                        r = overrides_set(next, &from->items[i]);
        return r;
}

/* Saves next, then puts it in force; on failure (r < 0 on entry included)
 * next is dropped and what was in force stays. */
static int put_in_force(Manager *m, Overrides *next, int r)
{
        if (r >= 0)
                r = save_overrides(m, next);
        if (r < 0) {
                overrides_clear(next);
                return r;
        }
        overrides_clear(&m->overrides);
        m->overrides = *next;
        refresh_all(m);
        return 0;
}

int runtime_override_set(Manager *m, const Override *patch)
{
        Overrides next = { 0 };
        int r = copy_overrides(&m->overrides, NULL, &next);

        if (r >= 0)
                r = overrides_set(&next, patch);
        r = put_in_force(m, &next, r);
        if (r >= 0)
                log_info("Runtime override for %s set", patch->guest);
        return r;
}

int runtime_override_reset(Manager *m, const char *guest)
{
        Overrides next = { 0 };
        int r;

        if (!overrides_find(&m->overrides, guest, NULL))
                return -ENOENT;
        r = put_in_force(m, &next, copy_overrides(&m->overrides, guest, &next));
        if (r >= 0)
                log_info("Runtime override for %s removed", guest);
        return r;
}
