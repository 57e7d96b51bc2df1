/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * memtidectl: the operators' CLI. Verb first, a table for people, --json for
 * programs. Exit codes: 0 success, 1 the daemon failed or could not be
 * reached, 2 bad usage.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cleanup.h"
#include "config.h"
#include "ctl-client.h"
#include "ctl-compat.h"
#include "ctl-guest.h"
#include "ctl-host.h"
#include "ctl-simulate.h"
#include "ctl.h"
#include "json-util.h"
#include "memtide-config.h"
#include "units.h"

#define CTL_TIMEOUT_MS 5000

static int verb_status(const CtlArgs *a, int argc, char **argv);
static int verb_list(const CtlArgs *a, int argc, char **argv);
static int verb_metrics(const CtlArgs *a, int argc, char **argv);
static int verb_top(const CtlArgs *a, int argc, char **argv);

static const CtlVerb verbs[] = {
        { "status", verb_status },   { "list", verb_list }, { "compat", verb_compat },
        { "metrics", verb_metrics }, { "top", verb_top },   { "simulate", verb_simulate },
};

static void usage(FILE *f)
{
        fprintf(f,
                "Usage: memtidectl [--socket PATH] [--json] COMMAND\n\n"
                "Commands:\n"
                "  status                 daemon state and host memory\n"
                "  list [--all]           managed guests with balloon sizes and last decision\n"
                "                         (--all: also guests known and not managed, and why)\n"
                "  show GUEST             one guest in detail\n"
                "  set GUEST [--min SIZE] [--max SIZE] [--shares N] [--manage yes|no]\n"
                "                         runtime override (kept across restarts)\n"
                "  reset GUEST            drop the guest's runtime override\n"
                "  reload                 re-read the config (a bad one is refused)\n"
                "  explain [GUEST] [--since 1h|TIME]\n"
                "                         the last decisions with their inputs and reasons;\n"
                "                         --since: every change of target since then\n"
                "  pause                  observe only: decide, record, send nothing (kept)\n"
                "  resume                 manage again after pause\n"
                "  log-level LEVEL        debug, info, notice, warning or err until a reload\n"
                "  compat GUEST           the guest's balloon queue layout and what works\n"
                "  metrics                Prometheus exposition of the daemon's state\n"
                "  top [--interval S] [--iterations N]   (--json: one JSON line per refresh)\n"
                "                         live view of the guests\n"
                "  compat --device SIDE --driver SIDE --offered MASK [--negotiated MASK]\n"
                "                         queue-layout calculator (SIDE: fixed, dense-offered,\n"
                "                         dense-negotiated or an implementation; compat --list)\n\n"
                "Options:\n"
                "  -s, --socket PATH  control socket (default $MEMTIDE_SOCKET or %s)\n"
                "  -j, --json         print JSON\n"
                "  -h, --help         this help\n"
                "      --version      print the version\n\n"
                "Exit status: 0 success, 1 daemon error or unreachable, 2 usage error.\n",
                CONFIG_DEFAULT_CONTROL_SOCKET);
}

static const char *mib(char *buf, size_t size, json_object *o, const char *key)
{
        uint64_t v;
        if (json_get_u64(o, key, &v) < 0)
                return "-";
        snprintf(buf, size, "%.0f", (double)v / (1024.0 * 1024.0));
        return buf;
}

/* The width the terminal gives the REASON column; the full reason is in
 * show and explain. */
static int reason_width(void)
{
        const char *c = getenv("COLUMNS");
        long cols = c ? strtol(c, NULL, 10) : 0;
        struct winsize ws;

        if (cols <= 0 && isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0)
                cols = ws.ws_col;
        if (cols <= 0)
                cols = 120;
        return cols > 100 ? (int)cols - 78 : 22;
}

/*
 * A reason fit for the list: without its leading "target X:" / "hold at X:"
 * (the TARGET column says it), the strategy's wish "-> N MiB" said as such
 * (it may differ from TARGET, which the guard rails cap), cut to width.
 */
static void short_reason(const char *reason, char *buf, size_t size)
{
        const char *p = reason, *colon = strstr(reason, ": ");
        char tmp[512];
        size_t n = 0;
        int width = reason_width();

        if (colon && (strncmp(reason, "target ", 7) == 0 || strncmp(reason, "hold at ", 8) == 0))
                p = colon + 2;
        for (; *p && n + 8 < sizeof(tmp); p++) {
                if (strncmp(p, " -> ", 4) == 0) {
                        memcpy(tmp + n, " wants ", 7);
                        n += 7;
                        p += 3;
                        continue;
                }
                tmp[n++] = *p;
        }
        tmp[n] = '\0';
        if ((int)n > width && width > 3)
                snprintf(buf, size, "%.*s...", width - 3, tmp);
        else
                snprintf(buf, size, "%s", tmp);
}

static void print_unmanaged_row(json_object *g)
{
        const char *name = "?", *state = "?", *reason = "";
        char why[512];

        (void)json_get_string(g, "name", &name);
        (void)json_get_string(g, "state", &state);
        (void)json_get_string(g, "reason", &reason);
        short_reason(reason, why, sizeof(why));
        printf("%-16s %7s %7s %7s %7s %7s %7s %7s %5s  not managed (%s): %s\n", name, "-", "-", "-",
               "-", "-", "-", "-", "-", state, why);
}

static void print_guest_row(json_object *g)
{
        char a[32], t[32], f[32], mx[32], u[32], av[32], rss[32], age[32] = "-", why[512];
        const char *name = "?", *reason = "", *state = NULL;
        json_object *stats = NULL, *age_o = NULL;

        if (json_get_string(g, "state", &state) == 0 && strcmp(state, "ready") != 0)
                return print_unmanaged_row(g);
        (void)json_get_string(g, "name", &name);
        (void)json_get_string(g, "reason", &reason);
        short_reason(reason, why, sizeof(why));
        json_object_object_get_ex(g, "stats", &stats);
        if (json_object_object_get_ex(g, "stats_age_seconds", &age_o) && age_o)
                snprintf(age, sizeof(age), "%.0fs", json_object_get_double(age_o));
        printf("%-16s %7s %7s %7s %7s %7s %7s %7s %5s  %s\n", name,
               mib(a, sizeof(a), g, "actual_bytes"), mib(t, sizeof(t), g, "target_bytes"),
               mib(f, sizeof(f), g, "floor_bytes"), mib(mx, sizeof(mx), g, "max_bytes"),
               mib(u, sizeof(u), g, "used_bytes"),
               stats ? mib(av, sizeof(av), stats, "available_bytes") : "-",
               mib(rss, sizeof(rss), g, "qemu_rss_bytes"), age, why);
}

static void print_top_header(json_object *status)
{
        json_object *d = NULL, *h = NULL;
        uint64_t total = 0, avail = 0;
        char t[32], av[32];

        json_object_object_get_ex(status, "daemon", &d);
        json_object_object_get_ex(status, "host", &h);
        (void)json_get_u64(h, "mem_total_bytes", &total);
        (void)json_get_u64(h, "mem_available_bytes", &avail);
        printf("memtide: host %s, %s available; strategy %s; %s cycles\n\n",
               format_bytes(t, sizeof(t), total), format_bytes(av, sizeof(av), avail),
               json_object_get_string(json_object_object_get(d, "strategy")),
               json_object_get_string(json_object_object_get(d, "cycles")));
}

static void print_list(json_object *params)
{
        json_object *guests = NULL;
        size_t n;

        json_object_object_get_ex(params, "guests", &guests);
        n = guests ? json_object_array_length(guests) : 0;
        if (json_object_get_boolean(json_object_object_get(params, "observing")))
                printf("Observing (Mode=observe or memtidectl pause): targets are decided and "
                       "recorded, none is sent.\n");
        printf("%-16s %7s %7s %7s %7s %7s %7s %7s %5s  %s\n", "NAME", "ACTUAL", "TARGET", "FLOOR",
               "MAX", "USED", "AVAIL", "RSS", "AGE",
               "REASON (sizes in MiB; RSS: the QEMU process)");
        for (size_t i = 0; i < n; i++)
                print_guest_row(json_object_array_get_idx(guests, i));
        printf("%zu guest(s)\n", n);
}

static void print_field(const char *label, json_object *o, const char *key)
{
        json_object *v = NULL;
        char b[32];
        uint64_t u;

        if (!json_object_object_get_ex(o, key, &v) || !v)
                printf("%-22s -\n", label);
        else if (strstr(key, "_bytes") && json_get_u64(o, key, &u) == 0)
                printf("%-22s %s\n", label, format_bytes(b, sizeof(b), u));
        else
                printf("%-22s %s\n", label, json_object_get_string(v));
}

static void print_overrides(json_object *daemon)
{
        json_object *o = NULL;
        const char *problem = NULL;

        if (!json_object_object_get_ex(daemon, "overrides", &o) || !o)
                return;
        print_field("Runtime overrides:", o, "count");
        if (json_get_string(o, "problem", &problem) == 0)
                printf("%-22s %s\n", "Overrides problem:", problem);
}

/* Managing, or observing and why: an operator must never wonder. */
static void print_mode(json_object *d)
{
        const char *mode = "?", *why = NULL;

        (void)json_get_string(d, "mode", &mode);
        (void)json_get_string(d, "observe_reason", &why);
        if (strcmp(mode, "observe") == 0)
                printf("%-22s observe, not manage (%s): no balloon commands are sent\n",
                       "Mode:", why ? why : "?");
        else
                printf("%-22s %s\n", "Mode:", mode);
}

static void print_status(json_object *params)
{
        json_object *d = NULL, *h = NULL;

        json_object_object_get_ex(params, "daemon", &d);
        json_object_object_get_ex(params, "host", &h);
        print_field("Version:", d, "version");
        print_field("Backend:", d, "backend");
        print_mode(d);
        print_field("Log level:", d, "log_level");
        print_field("Strategy:", d, "strategy");
        print_field("Interval (s):", d, "interval_seconds");
        print_field("Uptime (s):", d, "uptime_seconds");
        print_field("Cycles:", d, "cycles");
        print_field("Balloon commands:", d, "balloon_commands");
        print_field("Guests managed:", d, "guests_managed");
        print_field("Guests known:", d, "guests_known");
        print_field("Another controller:", d, "guests_other_controller");
        print_overrides(d);
        if (!h) {
                printf("%-22s unavailable\n", "Host memory:");
                return;
        }
        print_field("Host memory:", h, "mem_total_bytes");
        print_field("Host available:", h, "mem_available_bytes");
        if (json_get_u64(h, "zfs_arc_reclaimable_bytes", &(uint64_t){ 0 }) == 0)
                print_field("  of it ZFS ARC:", h, "zfs_arc_reclaimable_bytes");
        print_field("PSI some avg10 (%):", h, "psi_some_avg10_percent");
}

/* The daemon's varlink errors, said for people. */
static void print_daemon_error(const char *error, json_object *params)
{
        const char *name = strrchr(error, '.') ? strrchr(error, '.') + 1 : error;
        const char *detail = NULL;

        if (json_get_string(params, "message", &detail) < 0 &&
            json_get_string(params, "name", &detail) < 0)
                detail = NULL;
        if (strcmp(name, "PermissionDenied") == 0)
                fprintf(stderr,
                        "memtidectl: permission denied: changes need root or the memtide group\n");
        else if (strcmp(name, "NoSuchGuest") == 0)
                fprintf(stderr, "memtidectl: no such guest: %s\n", detail ? detail : "?");
        else if (strcmp(name, "StateNotSaved") == 0)
                fprintf(stderr, "memtidectl: not changed: %s\n", detail ? detail : "?");
        else if (strcmp(name, "ReloadFailed") == 0)
                fprintf(stderr, "memtidectl: reload refused, the old config stays in force: %s\n",
                        detail ? detail : "?");
        else
                fprintf(stderr, "memtidectl: the daemon answered %s%s%s\n", error,
                        detail ? ": " : "", detail ? detail : "");
}

int ctl_request(const CtlArgs *a, const char *method, json_object *params, json_object **ret)
{
        _cleanup_free_ char *error = NULL;
        int r = ctl_call(a->socket, method, params, CTL_TIMEOUT_MS, ret, &error);

        if (r == -EBADE) {
                print_daemon_error(error, *ret);
                json_object_put(*ret);
                *ret = NULL;
                return EXIT_DAEMON;
        }
        if (r < 0) {
                fprintf(stderr, "memtidectl: cannot talk to memtided at %s: %s\n", a->socket,
                        strerror(-r));
                return EXIT_DAEMON;
        }
        return 0;
}

int ctl_parse_double(const char *s, double lo, double hi, double *ret)
{
        char *end;
        double d = strtod(s, &end);

        if (end == s || *end != '\0' || !(d >= lo && d <= hi))
                return -EINVAL;
        *ret = d;
        return 0;
}

void ctl_print_json(json_object *o)
{
        printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
                                                                 JSON_C_TO_STRING_NOSLASHESCAPE));
}

static int simple_verb(const CtlArgs *a, int argc, const char *method, void (*print)(json_object *))
{
        _cleanup_json_ json_object *reply = NULL;
        int r;

        if (argc > 1) {
                fprintf(stderr, "memtidectl: unexpected argument\n");
                return EXIT_USAGE;
        }
        r = ctl_request(a, method, NULL, &reply);
        if (r != 0)
                return r;
        if (a->json)
                ctl_print_json(reply);
        else
                print(reply);
        return 0;
}

static int verb_status(const CtlArgs *a, int argc, char **argv)
{
        return simple_verb(a, argc, "io.memtide.Manager.GetStatus", print_status);
}

static int verb_list(const CtlArgs *a, int argc, char **argv)
{
        _cleanup_json_ json_object *reply = NULL;
        json_object *p = NULL;
        int r;

        if (argc > 2 || (argc == 2 && strcmp(argv[1], "--all") != 0)) {
                fprintf(stderr, "memtidectl: unexpected argument '%s'; usage: list [--all]\n",
                        argv[argc - 1]);
                return EXIT_USAGE;
        }
        if (argc == 2) {
                p = json_object_new_object();
                json_object_object_add(p, "all", json_object_new_boolean(true));
        }
        r = ctl_request(a, "io.memtide.Manager.ListGuests", p, &reply);
        if (r != 0)
                return r;
        if (a->json)
                ctl_print_json(reply);
        else
                print_list(reply);
        return 0;
}

static void print_metrics(json_object *reply)
{
        const char *text = NULL;
        if (json_get_string(reply, "text", &text) == 0)
                fputs(text, stdout);
}

static int verb_metrics(const CtlArgs *a, int argc, char **argv)
{
        return simple_verb(a, argc, "io.memtide.Manager.GetMetrics", print_metrics);
}

static int parse_top_args(int argc, char **argv, double *interval, long *iterations)
{
        for (int i = 1; i < argc; i++) {
                double v;
                bool has_value = i + 1 < argc;
                if (strcmp(argv[i], "--interval") == 0 && has_value &&
                    ctl_parse_double(argv[++i], 0.1, 86400, &v) == 0)
                        *interval = v;
                else if (strcmp(argv[i], "--iterations") == 0 && has_value &&
                         ctl_parse_double(argv[++i], 1, 1e9, &v) == 0 && v == (long)v)
                        *iterations = (long)v;
                else {
                        fprintf(stderr, "memtidectl: usage: top [--interval SECONDS (>= 0.1)] "
                                        "[--iterations N] [--json]\n");
                        return -EINVAL;
                }
        }
        return 0;
}

/* One refresh: the table, or with --json one line {"status":..,"guests":..}
 * per refresh (JSON Lines), for scripts that follow the daemon. */
static int top_refresh(const CtlArgs *a)
{
        _cleanup_json_ json_object *status = NULL, *list = NULL;
        int r = ctl_request(a, "io.memtide.Manager.GetStatus", NULL, &status);

        if (r == 0)
                r = ctl_request(a, "io.memtide.Manager.ListGuests", NULL, &list);
        if (r != 0)
                return r;
        if (a->json) {
                _cleanup_json_ json_object *line = json_object_new_object();
                json_object *guests = NULL;
                json_object_object_add(line, "status", json_object_get(status));
                if (json_object_object_get_ex(list, "guests", &guests))
                        json_object_object_add(line, "guests", json_object_get(guests));
                puts(json_object_to_json_string_ext(line, JSON_C_TO_STRING_PLAIN));
        } else {
                if (isatty(STDOUT_FILENO))
                        fputs("\033[H\033[2J", stdout);
                print_top_header(status);
                print_list(list);
        }
        fflush(stdout);
        return 0;
}

/* A live view: the guest table refreshed every interval until interrupted. */
static int verb_top(const CtlArgs *a, int argc, char **argv)
{
        double interval = 2.0;
        long iterations = -1;

        if (parse_top_args(argc, argv, &interval, &iterations) < 0)
                return EXIT_USAGE;
        for (long n = 0; iterations < 0 || n < iterations; n++) {
                int r = top_refresh(a);
                if (r != 0)
                        return r;
                if (iterations < 0 || n + 1 < iterations)
                        usleep((useconds_t)(interval * 1e6));
        }
        return 0;
}

/*
 * Global options may stand anywhere (memtidectl list --json); they are taken
 * out of argv so that each verb sees only its own arguments.
 */
static int take_global_options(int *argc, char **argv, CtlArgs *a)
{
        int n = 0;

        *a = (CtlArgs){ .socket = getenv("MEMTIDE_SOCKET") };
        if (!a->socket || !*a->socket)
                a->socket = CONFIG_DEFAULT_CONTROL_SOCKET;
        for (int i = 1; i < *argc; i++) {
                const char *s = argv[i];
                if (strcmp(s, "--json") == 0 || strcmp(s, "-j") == 0)
                        a->json = true;
                else if (strcmp(s, "--socket") == 0 || strcmp(s, "-s") == 0) {
                        if (++i >= *argc)
                                return -EINVAL;
                        a->socket = argv[i];
                } else if (strncmp(s, "--socket=", 9) == 0)
                        a->socket = s + 9;
                else
                        argv[n++] = argv[i];
        }
        argv[n] = NULL;
        *argc = n;
        return 0;
}

int main(int argc, char **argv)
{
        CtlArgs a;

        if (take_global_options(&argc, argv, &a) < 0 || argc == 0) {
                usage(stderr);
                return EXIT_USAGE;
        }
        if (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0) {
                usage(stdout);
                return 0;
        }
        if (strcmp(argv[0], "--version") == 0) {
                printf("memtidectl %s\n", MEMTIDE_VERSION);
                return 0;
        }
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                if (strcmp(argv[0], verbs[i].name) == 0)
                        return verbs[i].run(&a, argc, argv);
        for (const CtlVerb *v = guest_verbs; v->name; v++)
                if (strcmp(argv[0], v->name) == 0)
                        return v->run(&a, argc, argv);
        for (const CtlVerb *v = host_verbs; v->name; v++)
                if (strcmp(argv[0], v->name) == 0)
                        return v->run(&a, argc, argv);
        fprintf(stderr, "memtidectl: unknown command '%s' (try --help)\n", argv[0]);
        return EXIT_USAGE;
}
