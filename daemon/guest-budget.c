/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "guest-budget.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "log.h"
#include "manager.h"

void guest_budget_done(GuestBudget *b)
{
        free(b->source);
        free(b->held_source);
        free(b->problem);
        free(b->logged);
        cgroup_mount_done(&b->mount);
        *b = (GuestBudget){ 0 };
}

static void set_string(char **dst, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_string(char **dst, const char *fmt, ...)
{
        va_list ap;
        char *s = NULL;

        free(*dst);
        *dst = NULL;
        if (!fmt)
                return;
        va_start(ap, fmt);
        if (vasprintf(&s, fmt, ap) >= 0)
                *dst = s;
        va_end(ap);
}

static const char *version_name(const CgroupMount *mnt)
{
        return mnt->version == CGROUP_V1 ? "v1" : "v2";
}

/* The cgroup reader's error as an operator reads it: which file of which cgroup. */
static void set_read_problem(GuestBudget *b, const char *path, const char *file, int r)
{
        set_string(&b->problem, "cannot read memory cgroup %s%s%s%s: %s", b->mount.dir,
                   strcmp(path, "/") == 0 ? "" : path, file ? "/" : "", file ? file : "",
                   strerror(-r));
}

static int ensure_mount(Manager *m, GuestBudget *b)
{
        int r;

        if (b->mount.dir)
                return 0;
        r = cgroup_memory_mount(m->proc_root, "", &b->mount);
        if (r < 0)
                set_string(&b->problem, "no memory cgroup hierarchy is mounted: %s", strerror(-r));
        return r;
}

static bool manager_has_ready_guest(const Manager *m)
{
        for (size_t i = 0; i < m->n_guests; i++)
                if (m->guests[i]->state == GUEST_READY)
                        return true;
        return false;
}

/* The deepest cgroup holding every ready guest's QEMU; NULL when no pid is known. */
static char *common_guest_cgroup(Manager *m, CgroupVersion version)
{
        char *common = NULL;

        for (size_t i = 0; i < m->n_guests; i++) {
                const Guest *g = m->guests[i];
                _cleanup_free_ char *path = NULL;
                if (g->state != GUEST_READY || g->qemu_pid <= 0 ||
                    cgroup_memory_of_pid(m->proc_root, g->qemu_pid, version, &path) < 0)
                        continue;
                if (!common)
                        common = TAKE_PTR(path);
                else
                        cgroup_path_common(common, path);
        }
        return common;
}

/* GuestMemoryBudget=auto: the nearest limited cgroup above the guests (or the named one). */
static void from_cgroup(Manager *m, GuestBudget *b)
{
        const char *named = m->config->guest_memory_cgroup;
        _cleanup_free_ char *found = NULL, *limited = NULL;
        const char *file = NULL;
        CgroupMemory mem;
        int r;

        if (ensure_mount(m, b) < 0)
                return;
        if (!named)
                found = common_guest_cgroup(m, b->mount.version);
        if (!named && !found) {
                /* Before the first guest is set up there is nothing to say. */
                b->waiting = !manager_has_ready_guest(m);
                set_string(&b->problem, "GuestMemoryBudget=auto: no managed guest's QEMU process "
                                        "is known (a remote libvirt host, or none yet); name the guests' "
                                        "cgroup with GuestMemoryCgroup=");
                return;
        }
        r = cgroup_memory_find_limited(&b->mount, named ? named : found, &limited, &mem, &file);
        if (r < 0) {
                set_read_problem(b, limited, file, r);
                return;
        }
        if (mem.limit_bytes == CGROUP_NO_LIMIT) {
                set_string(&b->problem,
                           "GuestMemoryBudget=auto: no memory cgroup with a limit holds the "
                           "guests (from cgroup %s %s%s up to the root); no budget",
                           version_name(&b->mount), b->mount.dir, named ? named : found);
                return;
        }
        b->bytes = mem.limit_bytes;
        b->held_bytes = mem.usage_bytes;
        set_string(&b->source, "cgroup %s %s%s", version_name(&b->mount), b->mount.dir,
                   strcmp(limited, "/") == 0 ? "" : limited);
        set_string(&b->held_source, "%s", b->source);
}

static uint64_t guests_rss_bytes(Manager *m)
{
        uint64_t sum = 0;

        for (size_t i = 0; i < m->n_guests; i++)
                if (m->guests[i]->state == GUEST_READY)
                        sum += m->guests[i]->qemu_rss_bytes;
        return sum;
}

/* A fixed size: held is the named cgroup's usage, else the guests' QEMU RSS. */
static void from_size(Manager *m, GuestBudget *b)
{
        const char *named = m->config->guest_memory_cgroup;
        const char *file = NULL;
        CgroupMemory mem;
        int r;

        b->bytes = m->config->guest_budget.bytes;
        set_string(&b->source, "config");
        if (named && ensure_mount(m, b) >= 0) {
                r = cgroup_memory_read(&b->mount, named, &mem, &file);
                if (r >= 0) {
                        b->held_bytes = mem.usage_bytes;
                        set_string(&b->held_source, "cgroup %s %s%s", version_name(&b->mount),
                                   b->mount.dir, named);
                        return;
                }
                set_read_problem(b, named, file, r);
        }
        b->held_bytes = guests_rss_bytes(m);
        set_string(&b->held_source, "QEMU RSS");
}

/* Each problem, and each new source of the budget, once. */
static void log_change(GuestBudget *b)
{
        _cleanup_free_ char *now = NULL;

        if (b->problem)
                now = strdup(b->problem);
        else if (b->bytes)
                (void)asprintf(&now, "guest memory budget %" PRIu64 " MiB from %s, held: %s",
                               b->bytes >> 20, b->source, b->held_source);
        if (!now || b->waiting || (b->logged && strcmp(now, b->logged) == 0))
                return;
        if (b->problem)
                log_warning("%s", now);
        else
                log_info("%s", now);
        free(b->logged);
        b->logged = TAKE_PTR(now);
}

void guest_budget_update(Manager *m)
{
        GuestBudget *b = &m->budget;

        b->bytes = b->held_bytes = 0;
        b->waiting = false;
        set_string(&b->problem, NULL);
        set_string(&b->source, "none");
        set_string(&b->held_source, NULL);
        if (m->config->guest_budget.kind == GUEST_BUDGET_AUTO)
                from_cgroup(m, b);
        else if (m->config->guest_budget.kind == GUEST_BUDGET_SIZE)
                from_size(m, b);
        log_change(b);
        m->host.guest_budget_bytes = b->bytes;
        m->host.guest_held_bytes = b->held_bytes;
}
