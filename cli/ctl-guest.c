/* SPDX-License-Identifier: GPL-2.0-or-later */
/* memtidectl verbs about one guest and the daemon's config: show, set, reset, reload, explain. */
#include "ctl-guest.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cleanup.h"
#include "json-util.h"
#include "units.h"

static const char *str_or(json_object *o, const char *key, const char *fallback)
{
        const char *s = NULL;
        return json_get_string(o, key, &s) == 0 ? s : fallback;
}

static void print_size(const char *label, json_object *o, const char *key)
{
        uint64_t v;
        char b[32];
        printf("%-20s %s\n", label,
               json_get_u64(o, key, &v) == 0 ? format_bytes(b, sizeof(b), v) : "-");
}

/* A setting's value and, in brackets, where it came from (settings_sources). */
static void print_setting(const char *label, const char *value, json_object *g, const char *key)
{
        json_object *sources = NULL;

        json_object_object_get_ex(g, "settings_sources", &sources);
        printf("%-20s %s (%s)\n", label, value, str_or(sources, key, "?"));
}

static void print_size_setting(const char *label, json_object *g, const char *key)
{
        uint64_t v;
        char b[32];

        print_setting(label, json_get_u64(g, key, &v) == 0 ? format_bytes(b, sizeof(b), v) : "-", g,
                      key);
}

static void print_settings(json_object *g)
{
        json_object *managed = NULL;
        uint64_t shares;
        char b[24] = "-";

        json_object_object_get_ex(g, "managed", &managed);
        if (json_get_u64(g, "shares", &shares) == 0)
                snprintf(b, sizeof(b), "%llu", (unsigned long long)shares);
        print_setting("Managed:", json_object_get_boolean(managed) ? "yes" : "no", g, "manage");
        print_size_setting("Minimum:", g, "min_bytes");
        print_size_setting("Maximum:", g, "max_bytes");
        print_setting("Shares:", b, g, "shares");
}

static int one_name(int argc, char **argv, const char *verb, const char **ret)
{
        if (argc != 2) {
                fprintf(stderr, "memtidectl: usage: %s GUEST\n", verb);
                return -EINVAL;
        }
        *ret = argv[1];
        return 0;
}

static json_object *name_params(const char *name)
{
        json_object *p = json_object_new_object();
        json_object_object_add(p, "name", json_object_new_string(name));
        return p;
}

/* A QMP guest's monitor: memtide's own, or shared with other clients. */
static void print_monitor(json_object *g)
{
        bool shared = false;
        uint64_t sessions = 0;

        if (json_get_bool(g, "shared_monitor", &shared) < 0)
                return;
        if (!shared) {
                printf("%-20s %s\n", "Monitor:", "held by memtided");
                return;
        }
        (void)json_get_u64(g, "monitor_sessions", &sessions);
        printf("%-20s shared, one session per cycle (%llu so far)\n",
               "Monitor:", (unsigned long long)sessions);
}

static void print_other_controller(json_object *g)
{
        json_object *oc = NULL;
        uint64_t to = 0, left = 0;
        bool back = false;

        if (!json_object_object_get_ex(g, "other_controller", &oc) || !oc) {
                printf("%-20s %s\n", "Other controller:", "none seen");
                return;
        }
        (void)json_get_u64(oc, "moved_to_bytes", &to);
        (void)json_get_bool(oc, "standing_back", &back);
        (void)json_get_u64(oc, "standing_back_seconds", &left);
        if (back)
                printf("%-20s moved the balloon to %llu MiB; memtided stands back for %llu s\n",
                       "Other controller:", (unsigned long long)(to >> 20),
                       (unsigned long long)left);
        else
                printf("%-20s moved the balloon to %llu MiB; memtided manages it again\n",
                       "Other controller:", (unsigned long long)(to >> 20));
}

static void print_guest(json_object *g)
{
        json_object *stats = NULL, *ov = NULL, *compat = NULL;

        json_object_object_get_ex(g, "stats", &stats);
        json_object_object_get_ex(g, "override", &ov);
        json_object_object_get_ex(g, "compat", &compat);
        printf("%-20s %s\n", "Guest:", str_or(g, "name", "?"));
        printf("%-20s %s\n", "UUID:", str_or(g, "uuid", "-"));
        printf("%-20s %s (%s)\n", "Backend:", str_or(g, "backend", "?"), str_or(g, "socket", ""));
        print_size("Actual:", g, "actual_bytes");
        print_size("Target:", g, "target_bytes");
        print_size("Floor:", g, "floor_bytes");
        print_settings(g);
        if (json_object_object_get_ex(g, "libvirt_current_memory_bytes", NULL))
                print_size("Current (libvirt):", g, "libvirt_current_memory_bytes");
        print_size("Used:", g, "used_bytes");
        print_size("Available (guest):", stats, "available_bytes");
        print_size("Free (guest):", stats, "free_bytes");
        printf("%-20s %s\n", "Compat verdict:", str_or(compat, "verdict", "unknown"));
        printf("%-20s %s\n", "Page reporting:", str_or(compat, "page_reporting", "-"));
        printf("%-20s %s\n", "Override:", ov ? json_object_to_json_string(ov) : "none");
        print_monitor(g);
        print_other_controller(g);
        printf("%-20s %s\n", "Last decision:", str_or(g, "reason", "-"));
}

static int verb_show(const CtlArgs *a, int argc, char **argv)
{
        _cleanup_json_ json_object *reply = NULL;
        json_object *g = NULL;
        const char *name;
        int r;

        if (one_name(argc, argv, "show", &name) < 0)
                return EXIT_USAGE;
        r = ctl_request(a, "io.memtide.Manager.GetGuest", name_params(name), &reply);
        if (r != 0)
                return r;
        json_object_object_get_ex(reply, "guest", &g);
        if (a->json)
                ctl_print_json(g);
        else
                print_guest(g);
        return 0;
}

static int parse_size_option(const char *opt, const char *v, json_object *p, const char *key)
{
        uint64_t bytes;
        if (parse_size(v, &bytes) < 0) {
                fprintf(stderr, "memtidectl: %s %s: expected a size such as 512M or 2G\n", opt, v);
                return -EINVAL;
        }
        json_object_object_add(p, key, json_object_new_uint64(bytes));
        return 0;
}

static int parse_set_options(int argc, char **argv, json_object *p)
{
        static const struct option options[] = {
                { "min", required_argument, NULL, 'm' },
                { "max", required_argument, NULL, 'M' },
                { "shares", required_argument, NULL, 's' },
                { "manage", required_argument, NULL, 'g' },
                {},
        };
        int opt, r = 0;
        char *end;

        optind = 1;
        while (r >= 0 && (opt = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (opt) {
                case 'm':
                        r = parse_size_option("--min", optarg, p, "min_bytes");
                        break;
                case 'M':
                        r = parse_size_option("--max", optarg, p, "max_bytes");
                        break;
                case 's': {
                        unsigned long v = strtoul(optarg, &end, 10);
                        if (*optarg == '\0' || *end || v > 50000)
                                r = -EINVAL;
                        else
                                json_object_object_add(p, "shares", json_object_new_uint64(v));
                        break;
                }
                case 'g':
                        if (strcmp(optarg, "yes") != 0 && strcmp(optarg, "no") != 0)
                                r = -EINVAL;
                        else
                                json_object_object_add(p, "manage",
                                                       json_object_new_boolean(optarg[0] == 'y'));
                        break;
                default:
                        r = -EINVAL;
                }
        if (r >= 0 && optind + 1 != argc)
                r = -EINVAL;
        return r;
}

static int verb_set(const CtlArgs *a, int argc, char **argv)
{
        _cleanup_json_ json_object *reply = NULL;
        json_object *p = json_object_new_object();

        if (parse_set_options(argc, argv, p) < 0 || json_object_object_length(p) == 0) {
                json_object_put(p);
                fprintf(stderr, "memtidectl: usage: set GUEST [--min SIZE] [--max SIZE] "
                                "[--shares N] [--manage yes|no]\n");
                return EXIT_USAGE;
        }
        json_object_object_add(p, "name", json_object_new_string(argv[optind]));
        return ctl_request(a, "io.memtide.Manager.SetOverride", p, &reply);
}

static int verb_reset(const CtlArgs *a, int argc, char **argv)
{
        _cleanup_json_ json_object *reply = NULL;
        const char *name;

        if (one_name(argc, argv, "reset", &name) < 0)
                return EXIT_USAGE;
        return ctl_request(a, "io.memtide.Manager.ResetOverride", name_params(name), &reply);
}

static int verb_reload(const CtlArgs *a, int argc, char **argv)
{
        _cleanup_json_ json_object *reply = NULL;

        if (argc != 1) {
                fprintf(stderr, "memtidectl: usage: reload\n");
                return EXIT_USAGE;
        }
        return ctl_request(a, "io.memtide.Manager.Reload", NULL, &reply);
}

/* Local time, ISO 8601 with its offset: what an operator compares with the journal. */
static const char *iso_local(char *buf, size_t size, uint64_t wall_sec)
{
        time_t t = (time_t)wall_sec;
        struct tm tm;

        if (!localtime_r(&t, &tm) || strftime(buf, size, "%Y-%m-%dT%H:%M:%S%z", &tm) == 0)
                snprintf(buf, size, "@%llu", (unsigned long long)wall_sec);
        return buf;
}

static const char *change_mark(json_object *d)
{
        if (!json_object_get_boolean(json_object_object_get(d, "change")))
                return "";
        return json_object_get_boolean(json_object_object_get(d, "sent")) ? " (sent)"
                                                                          : " (observed)";
}

static void print_decisions(json_object *guest)
{
        json_object *list = NULL;
        char when[40];

        json_object_object_get_ex(guest, "decisions", &list);
        printf("%s: the last decisions\n", str_or(guest, "name", "?"));
        for (size_t i = 0; list && i < json_object_array_length(list); i++) {
                json_object *d = json_object_array_get_idx(list, i), *in = NULL;
                uint64_t t = 0, act = 0, used = 0, target = 0;
                json_object_object_get_ex(d, "inputs", &in);
                (void)json_get_u64(d, "time_seconds", &t);
                (void)json_get_u64(in, "actual_bytes", &act);
                (void)json_get_u64(in, "used_bytes", &used);
                (void)json_get_u64(d, "target_bytes", &target);
                printf("  %s  actual %4llu MiB  used %4llu MiB -> target %4llu MiB%s  %s\n",
                       iso_local(when, sizeof(when), t), (unsigned long long)(act >> 20),
                       (unsigned long long)(used >> 20), (unsigned long long)(target >> 20),
                       change_mark(d), str_or(d, "reason", ""));
        }
}

/* explain --since: each change of target, steps in one direction merged. */
static void print_changes(json_object *guest)
{
        json_object *list = NULL;
        char first[40], last[40];

        if (!json_object_object_get_ex(guest, "changes", &list) || !list)
                return;
        printf("%s: %zu change(s) of target\n", str_or(guest, "name", "?"),
               json_object_array_length(list));
        for (size_t i = 0; i < json_object_array_length(list); i++) {
                json_object *c = json_object_array_get_idx(list, i);
                uint64_t t0 = 0, t1 = 0, from = 0, to = 0, steps = 0;
                (void)json_get_u64(c, "first_seconds", &t0);
                (void)json_get_u64(c, "last_seconds", &t1);
                (void)json_get_u64(c, "from_bytes", &from);
                (void)json_get_u64(c, "target_bytes", &to);
                (void)json_get_u64(c, "steps", &steps);
                printf("  %s", iso_local(first, sizeof(first), t0));
                if (t1 != t0)
                        printf(" .. %s", iso_local(last, sizeof(last), t1));
                printf("  %llu -> %llu MiB in %llu step(s)%s  %s\n",
                       (unsigned long long)(from >> 20), (unsigned long long)(to >> 20),
                       (unsigned long long)steps,
                       json_object_get_boolean(json_object_object_get(c, "sent")) ? ""
                                                                                  : " (observed)",
                       str_or(c, "reason", ""));
        }
}

/*
 * --since: "1h", "30min" (that long ago), "@SECONDS", or a local time
 * "YYYY-MM-DD HH:MM[:SS]" / "YYYY-MM-DDTHH:MM[:SS]". -EINVAL otherwise.
 */
static int parse_since(const char *s, uint64_t *ret)
{
        uint64_t usec;
        struct tm tm = { .tm_isdst = -1 };
        const char *end;
        char *num_end;

        if (s[0] == '@') {
                unsigned long long v = strtoull(s + 1, &num_end, 10);
                if (num_end == s + 1 || *num_end)
                        return -EINVAL;
                *ret = v;
                return 0;
        }
        if (parse_time_usec(s, &usec) == 0) {
                uint64_t now = (uint64_t)time(NULL), ago = usec / 1000000;
                *ret = ago < now ? now - ago : 0;
                return 0;
        }
        for (const char *const *f =
                     (const char *const[]){ "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S",
                                            "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", NULL };
             *f; f++) {
                tm = (struct tm){ .tm_isdst = -1 };
                end = strptime(s, *f, &tm);
                if (end && *end == '\0') {
                        time_t t = mktime(&tm);
                        if (t < 0)
                                return -EINVAL;
                        *ret = (uint64_t)t;
                        return 0;
                }
        }
        return -EINVAL;
}

static int explain_args(int argc, char **argv, json_object **ret)
{
        json_object *p = json_object_new_object();
        uint64_t since;

        for (int i = 1; i < argc; i++) {
                if (strcmp(argv[i], "--since") == 0 && i + 1 < argc) {
                        if (parse_since(argv[++i], &since) < 0) {
                                fprintf(stderr,
                                        "memtidectl: --since %s: expected a time ago (1h, 30min), "
                                        "a local time (2026-12-03 03:00) or @SECONDS\n",
                                        argv[i]);
                                json_object_put(p);
                                return -EINVAL;
                        }
                        json_object_object_add(p, "since", json_object_new_uint64(since));
                } else if (argv[i][0] != '-' && !json_object_object_get_ex(p, "name", NULL))
                        json_object_object_add(p, "name", json_object_new_string(argv[i]));
                else {
                        fprintf(stderr,
                                "memtidectl: unexpected argument '%s'; usage: explain "
                                "[GUEST] [--since 1h|TIME]\n",
                                argv[i]);
                        json_object_put(p);
                        return -EINVAL;
                }
        }
        *ret = p;
        return 0;
}

static int verb_explain(const CtlArgs *a, int argc, char **argv)
{
        _cleanup_json_ json_object *reply = NULL;
        json_object *guests = NULL;
        int r;

        json_object *params = NULL;

        if (explain_args(argc, argv, &params) < 0)
                return EXIT_USAGE;
        r = ctl_request(a, "io.memtide.Manager.Explain", params, &reply);
        if (r != 0)
                return r;
        if (a->json) {
                ctl_print_json(reply);
                return 0;
        }
        json_object_object_get_ex(reply, "guests", &guests);
        for (size_t i = 0; guests && i < json_object_array_length(guests); i++) {
                print_decisions(json_object_array_get_idx(guests, i));
                print_changes(json_object_array_get_idx(guests, i));
        }
        return 0;
}

const CtlVerb guest_verbs[] = {
        { "show", verb_show },     { "set", verb_set },         { "reset", verb_reset },
        { "reload", verb_reload }, { "explain", verb_explain }, {},
};
