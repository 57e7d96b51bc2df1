/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * memtidectl verbs about one guest and the daemon's config: show, set, reset,
 * overrides, reload, explain.
 */
#include "ctl-guest.h"
#include "ctl-vmem.h"

#include <errno.h>
#include <fnmatch.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cleanup.h"
#include "json-util.h"
#include "model.h"
#include "units.h"

/* The range memtided takes for shares (Shares= and SetOverride). */
#define SHARES_MAX 50000
/* Close names: at most this many edits apart, and at most this many shown. */
#define CLOSE_NAME_EDITS 3
#define CLOSE_NAMES_MAX  5

/* A size as the operator would write it: "2 GiB", "384 MiB"; else "1.5 GiB". */
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
        if (argc > 2) {
                ctl_unexpected_argument(verb, argv[2]);
                return -EINVAL;
        }
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

/* An override's fields, as memtidectl set takes them: "max 256 MiB, shares 200". */
static const char *format_override(char *buf, size_t size, json_object *ov)
{
        uint64_t v;
        bool manage;
        size_t n = 0;
        char b[32];

        buf[0] = '\0';
#define APPEND(...) (n += (size_t)snprintf(buf + n, n < size ? size - n : 0, __VA_ARGS__))
        if (json_get_u64(ov, "min_bytes", &v) == 0)
                APPEND("%smin %s", n ? ", " : "", ctl_format_size(b, sizeof(b), v));
        if (json_get_u64(ov, "max_bytes", &v) == 0)
                APPEND("%smax %s", n ? ", " : "", ctl_format_size(b, sizeof(b), v));
        if (json_get_u64(ov, "shares", &v) == 0)
                APPEND("%sshares %" PRIu64, n ? ", " : "", v);
        if (json_get_bool(ov, "manage", &manage) == 0)
                APPEND("%smanage %s", n ? ", " : "", manage ? "yes" : "no");
#undef APPEND
        return n ? buf : "none";
}

static void print_guest(json_object *g)
{
        json_object *stats = NULL, *ov = NULL, *compat = NULL, *balloon = NULL;
        char override[160];

        json_object_object_get_ex(g, "stats", &stats);
        json_object_object_get_ex(g, "override", &ov);
        json_object_object_get_ex(g, "compat", &compat);
        printf("%-20s %s\n", "Guest:", str_or(g, "name", "?"));
        printf("%-20s %s\n", "UUID:", str_or(g, "uuid", "-"));
        printf("%-20s %s (%s)\n", "Backend:", str_or(g, "backend", "?"), str_or(g, "socket", ""));
        print_size("Actual:", g, "actual_bytes");
        print_size("Boot memory:", g, "boot_bytes");
        if (json_object_object_get_ex(g, "balloon_actual_bytes", &balloon) && balloon)
                print_size("Balloon:", g, "balloon_actual_bytes");
        else
                printf("%-20s %s\n", "Balloon:", "none (no stats: held)");
        ctl_print_vmem(g, "virtio-mem          ");
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
        printf("%-20s %s\n",
               "Override:", ov ? format_override(override, sizeof(override), ov) : "none");
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
                fprintf(stderr, "memtidectl: set: %s %s: expected a size such as 512M or 2G\n", opt,
                        v);
                return -EINVAL;
        }
        json_object_object_add(p, key, json_object_new_uint64(bytes));
        return 0;
}

/* Parses set's options into the SetOverride parameters p; says what is wrong. */
static int parse_set_options(int argc, char **argv, json_object *p, bool *ret_create)
{
        static const struct option options[] = {
                { "min", required_argument, NULL, 'm' },
                { "max", required_argument, NULL, 'M' },
                { "shares", required_argument, NULL, 's' },
                { "manage", required_argument, NULL, 'g' },
                { "create", no_argument, NULL, 'c' },
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
                        if (*optarg == '\0' || *optarg == '-' || *end || v > SHARES_MAX) {
                                fprintf(stderr,
                                        "memtidectl: set: --shares %s: expected a whole number "
                                        "from 0 to %d (as Shares=; 100 is a guest's usual "
                                        "weight)\n",
                                        optarg, SHARES_MAX);
                                r = -EINVAL;
                        } else
                                json_object_object_add(p, "shares", json_object_new_uint64(v));
                        break;
                }
                case 'g':
                        if (strcmp(optarg, "yes") != 0 && strcmp(optarg, "no") != 0) {
                                fprintf(stderr,
                                        "memtidectl: set: --manage %s: expected yes or no\n",
                                        optarg);
                                r = -EINVAL;
                        } else
                                json_object_object_add(p, "manage",
                                                       json_object_new_boolean(optarg[0] == 'y'));
                        break;
                case 'c':
                        *ret_create = true;
                        break;
                default:
                        r = -EINVAL; /* getopt said which option */
                }
        if (r < 0)
                return r;
        if (optind >= argc) {
                fprintf(stderr, "memtidectl: set: which guest? (memtidectl set GUEST ...)\n");
                return -EINVAL;
        }
        if (optind + 1 < argc) {
                ctl_unexpected_argument("set", argv[optind + 1]);
                return -EINVAL;
        }
        if (json_object_object_length(p) == 0) {
                fprintf(stderr, "memtidectl: set: nothing to set: give --min, --max, --shares "
                                "or --manage\n");
                return -EINVAL;
        }
        return 0;
}

/* Both bounds given and crossed: said here, the daemon would refuse them anyway. */
static int check_set_bounds(json_object *p)
{
        uint64_t min, max;
        char a[32], b[32];

        if (json_get_u64(p, "min_bytes", &min) < 0 || json_get_u64(p, "max_bytes", &max) < 0 ||
            min <= max)
                return 0;
        fprintf(stderr,
                "memtidectl: set: --min %s is above --max %s: the minimum must not "
                "exceed the maximum\n",
                ctl_format_size(a, sizeof(a), min), ctl_format_size(b, sizeof(b), max));
        return -EINVAL;
}

/* Edit distance (Levenshtein) between a and b, stopping early past limit. */
static size_t edit_distance(const char *a, const char *b, size_t limit)
{
        size_t la = strlen(a), lb = strlen(b);
        _cleanup_free_ size_t *row = NULL;

        if ((la > lb ? la - lb : lb - la) > limit)
                return limit + 1;
        row = malloc((lb + 1) * sizeof(*row));
        if (!row)
                return limit + 1;
        for (size_t j = 0; j <= lb; j++)
                row[j] = j;
        for (size_t i = 1; i <= la; i++) {
                size_t diag = row[0], best;
                best = row[0] = i;
                for (size_t j = 1; j <= lb; j++) {
                        size_t up = row[j];
                        size_t v = diag + (a[i - 1] != b[j - 1]);
                        if (up + 1 < v)
                                v = up + 1;
                        if (row[j - 1] + 1 < v)
                                v = row[j - 1] + 1;
                        row[j] = v;
                        diag = up;
                        if (v < best)
                                best = v;
                }
                if (best > limit)
                        return limit + 1;
        }
        return row[lb];
}

static bool names_close(const char *typed, const char *known)
{
        size_t len = strlen(typed);
        /* One typo in a short name, up to CLOSE_NAME_EDITS in a long one. */
        size_t limit = len <= 4 ? 1 : len <= 8 ? 2 : CLOSE_NAME_EDITS;

        return strcasecmp(typed, known) == 0 || (len >= 3 && strcasestr(known, typed)) ||
               edit_distance(typed, known, limit) <= limit;
}

/*
 * 1 when a guest memtided manages has this name or UUID, 0 when none has
 * (then the close names are printed), or minus the exit code when the daemon
 * could not be asked.
 */
static int check_guest_known(const CtlArgs *a, const char *name)
{
        _cleanup_json_ json_object *reply = NULL;
        json_object *guests = NULL;
        unsigned shown = 0;
        size_t n;
        int r = ctl_request(a, "io.memtide.Manager.ListGuests", NULL, &reply);

        if (r != 0)
                return -r;
        json_object_object_get_ex(reply, "guests", &guests);
        n = guests ? json_object_array_length(guests) : 0;
        for (size_t i = 0; i < n; i++) {
                json_object *g = json_object_array_get_idx(guests, i);
                const char *uuid = str_or(g, "uuid", NULL);
                /* A glob (set 'web*' --manage no) is known when it matches one. */
                if (strcmp(str_or(g, "name", ""), name) == 0 ||
                    (uuid && strcasecmp(uuid, name) == 0) ||
                    (strpbrk(name, "*?[") && fnmatch(name, str_or(g, "name", ""), 0) == 0))
                        return 1;
        }
        fprintf(stderr,
                "memtidectl: set: no guest '%s' is running or matches it (memtidectl list "
                "shows them)\n",
                name);
        for (size_t i = 0; i < n && shown < CLOSE_NAMES_MAX; i++) {
                const char *known = str_or(json_object_array_get_idx(guests, i), "name", "");
                if (names_close(name, known))
                        fprintf(stderr, "%s '%s'", shown++ ? "," : "memtidectl: did you mean",
                                known);
        }
        if (shown)
                fputs("?\n", stderr);
        fprintf(stderr, "memtidectl: to set an override for a guest that has not started yet, "
                        "add --create\n");
        return 0;
}

static int verb_set(const CtlArgs *a, int argc, char **argv)
{
        _cleanup_json_ json_object *reply = NULL;
        _cleanup_json_ json_object *p = json_object_new_object();
        bool create = false;
        int r;

        if (parse_set_options(argc, argv, p, &create) < 0 || check_set_bounds(p) < 0)
                return EXIT_USAGE;
        if (!create) {
                r = check_guest_known(a, argv[optind]);
                if (r <= 0)
                        return r < 0 ? -r : EXIT_DAEMON;
        }
        json_object_object_add(p, "name", json_object_new_string(argv[optind]));
        return ctl_request(a, "io.memtide.Manager.SetOverride", json_object_get(p), &reply);
}

static void print_override_row(json_object *ov)
{
        char min[32] = "-", max[32] = "-", shares[16] = "-";
        uint64_t v;
        bool b, running = false;
        const char *manage = "-";

        if (json_get_u64(ov, "min_bytes", &v) == 0)
                ctl_format_size(min, sizeof(min), v);
        if (json_get_u64(ov, "max_bytes", &v) == 0)
                ctl_format_size(max, sizeof(max), v);
        if (json_get_u64(ov, "shares", &v) == 0)
                snprintf(shares, sizeof(shares), "%" PRIu64, v);
        if (json_get_bool(ov, "manage", &b) == 0)
                manage = b ? "yes" : "no";
        (void)json_get_bool(ov, "running", &running);
        printf("%-24s %10s %10s %6s %6s  %s\n", str_or(ov, "guest", "?"), min, max, shares, manage,
               running ? "yes" : "no");
}

/* The runtime overrides in force, for guests running or not. */
static int verb_overrides(const CtlArgs *a, int argc, char **argv)
{
        _cleanup_json_ json_object *reply = NULL;
        json_object *list = NULL;
        size_t n;
        int r;

        if (argc > 1)
                return ctl_unexpected_argument("overrides", argv[1]);
        r = ctl_request(a, "io.memtide.Manager.ListOverrides", NULL, &reply);
        if (r != 0)
                return r;
        if (a->json) {
                ctl_print_json(reply);
                return 0;
        }
        json_object_object_get_ex(reply, "overrides", &list);
        n = list ? json_object_array_length(list) : 0;
        printf("%-24s %10s %10s %6s %6s  %s\n", "GUEST", "MIN", "MAX", "SHARES", "MANAGE",
               "RUNNING");
        for (size_t i = 0; i < n; i++)
                print_override_row(json_object_array_get_idx(list, i));
        printf("%zu override(s); '-': the config's value (memtidectl reset GUEST drops one)\n", n);
        return 0;
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

        if (argc > 1)
                return ctl_unexpected_argument("reload", argv[1]);
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
        { .name = "show", .run = verb_show, .synopsis = "GUEST", .summary = "one guest in detail" },
        { .name = "set",
          .run = verb_set,
          .synopsis = "GUEST [--min SIZE] [--max SIZE] [--shares N] [--manage yes|no] [--create]",
          .summary = "runtime override of the guest's settings (kept across restarts)",
          .details = "  --min SIZE, --max SIZE  balloon bounds, such as 512M or 2G (min <= max)\n"
                     "  --shares N              weight under pressure, 0 to 50000 (as Shares=)\n"
                     "  --manage yes|no         whether memtided moves the guest's balloon\n"
                     "  --create                set it even though no running guest has this\n"
                     "                          name or UUID (a guest not started yet);\n"
                     "                          without it a mistyped name is refused\n" },
        { .name = "reset",
          .run = verb_reset,
          .synopsis = "GUEST",
          .summary = "drop the guest's runtime override" },
        { .name = "overrides",
          .run = verb_overrides,
          .synopsis = "",
          .summary = "the runtime overrides in force, running guests or not" },
        { .name = "reload",
          .run = verb_reload,
          .synopsis = "",
          .summary = "re-read the config (a bad one is refused)" },
        { .name = "explain",
          .run = verb_explain,
          .synopsis = "[GUEST] [--since 1h|TIME]",
          .summary = "the last decisions with their inputs and reasons; --since: every change\n"
                     "of target since then",
          .details = "  --since AGO|TIME  1h, 30min (that long ago), 2026-12-03 03:00 (local\n"
                     "                    time) or @SECONDS; changes are kept 24 h or more\n" },
        {},
};
