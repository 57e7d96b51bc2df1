/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "host-pause.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "fileio.h"
#include "json-util.h"
#include "log.h"

static char *pause_path(Manager *m)
{
        char *p = NULL;
        if (asprintf(&p, "%s/paused.json", m->config->state_directory) < 0)
                return NULL;
        return p;
}

void host_pause_load(Manager *m)
{
        _cleanup_free_ char *path = pause_path(m);
        _cleanup_json_ json_object *root = NULL;
        uint64_t since = 0;

        if (!path)
                return (void)log_oom();
        if (access(path, F_OK) < 0 && errno == ENOENT)
                return;
        root = json_object_from_file(path);
        if (!root || json_get_u64(root, "paused_since", &since) < 0)
                log_error("%s is not a valid pause file; the host stays paused (observed) until "
                          "memtidectl resume",
                          path);
        m->operator_paused = true;
        m->paused_since_sec = since;
        log_warning("Paused by memtidectl pause (%s): observing, no balloon commands are sent",
                    path);
}

static int save(Manager *m, const char *path, bool paused, uint64_t since)
{
        char text[64];
        int r;

        if (!paused)
                return unlink(path) < 0 && errno != ENOENT ? -errno : 0;
        r = mkdir_p(m->config->state_directory, 0750);
        if (r < 0)
                return r;
        snprintf(text, sizeof(text), "{\"paused_since\":%llu}\n", (unsigned long long)since);
        return write_file_atomic(path, text, strlen(text), 0640);
}

int host_pause_set(Manager *m, bool paused)
{
        _cleanup_free_ char *path = pause_path(m);
        uint64_t since = paused ? manager_wall_sec() : 0;
        int r;

        if (!path)
                return log_oom();
        if (paused == m->operator_paused)
                return 0;
        r = save(m, path, paused, since);
        if (r < 0)
                return log_error_errno(r, "Failed to %s %s: %m", paused ? "write" : "remove", path);
        m->operator_paused = paused;
        m->paused_since_sec = since;
        if (paused)
                log_warning("Paused by memtidectl pause: observing, no balloon commands are sent");
        else
                log_info("Resumed by memtidectl resume%s",
                         m->config->mode == DAEMON_MODE_OBSERVE
                                 ? "; Mode=observe in the config still holds every command"
                                 : ": managing the guests again");
        return 0;
}
