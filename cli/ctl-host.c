/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "ctl-host.h"

#include <stdio.h>
#include <string.h>

#include "cleanup.h"
#include "json-util.h"

static int no_arguments(int argc, char **argv, const char *verb)
{
        return argc == 1 ? 0 : ctl_unexpected_argument(verb, argv[1]);
}

/* The whole host observed: decisions recorded, nothing sent, kept across restarts. */
static int verb_pause(const CtlArgs *a, int argc, char **argv)
{
        _cleanup_json_ json_object *reply = NULL;
        int r = no_arguments(argc, argv, "pause");

        if (r == 0)
                r = ctl_request(a, "io.memtide.Manager.Pause", NULL, &reply);
        if (r == 0 && !a->json)
                printf("Paused: memtided observes and sends no balloon commands until "
                       "`memtidectl resume` (kept across restarts).\n");
        return r;
}

static int verb_resume(const CtlArgs *a, int argc, char **argv)
{
        _cleanup_json_ json_object *reply = NULL, *status = NULL;
        json_object *d = NULL;
        const char *mode = NULL;
        int r = no_arguments(argc, argv, "resume");

        if (r == 0)
                r = ctl_request(a, "io.memtide.Manager.Resume", NULL, &reply);
        if (r == 0)
                r = ctl_request(a, "io.memtide.Manager.GetStatus", NULL, &status);
        if (r != 0 || a->json)
                return r;
        json_object_object_get_ex(status, "daemon", &d);
        if (json_get_string(d, "mode", &mode) == 0 && strcmp(mode, "observe") == 0)
                printf("Resumed, but Mode=observe in the config still holds every command.\n");
        else
                printf("Resumed: memtided manages the guests again.\n");
        return 0;
}

static int verb_log_level(const CtlArgs *a, int argc, char **argv)
{
        _cleanup_json_ json_object *reply = NULL, *p = NULL;

        if (argc != 2) {
                fprintf(stderr, "memtidectl: usage: log-level debug|info|notice|warning|err\n");
                return EXIT_USAGE;
        }
        p = json_object_new_object();
        json_object_object_add(p, "level", json_object_new_string(argv[1]));
        return ctl_request(a, "io.memtide.Manager.SetLogLevel", json_object_get(p), &reply);
}

const CtlVerb host_verbs[] = {
        { .name = "pause",
          .run = verb_pause,
          .synopsis = "",
          .summary = "observe only: decide and record, send no balloon command (kept across\n"
                     "restarts until resume)" },
        { .name = "resume", .run = verb_resume, .synopsis = "", .summary = "manage again after pause" },
        { .name = "log-level",
          .run = verb_log_level,
          .synopsis = "debug|info|notice|warning|err",
          .summary = "the daemon's log level until the next reload or restart" },
        {},
};
