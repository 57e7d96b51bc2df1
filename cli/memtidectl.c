/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * memtidectl: the operators' CLI. Verb first, a table for people, --json for
 * programs. Exit codes: 0 success, 1 the daemon failed, could not be reached
 * or has no such guest, 2 bad usage (also a value the daemon refused).
 */
#include <errno.h>
#include <inttypes.h>
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
#include "ctl-vmem.h"
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
static int verb_help(const CtlArgs *a, int argc, char **argv);

static const CtlVerb first_verbs[] = {
        { .name = "status",
          .run = verb_status,
          .synopsis = "",
          .summary = "daemon state and host memory" },
        { .name = "list",
          .run = verb_list,
          .synopsis = "[--all]",
          .summary = "managed guests with balloon sizes and last decision",
          .details = "  --all    also the guests known and not managed (disconnected, no\n"
                     "           balloon), with why\n" },
        {},
};

static const CtlVerb last_verbs[] = {
        { .name = "compat",
          .run = verb_compat,
          .synopsis =
                  "GUEST | --device SIDE --driver SIDE --offered MASK [--negotiated MASK] | --list",
          .summary = "a guest's balloon queue layout and what works, or the layout calculator",
          .details = "  GUEST                   the daemon's view of a running guest's queues\n"
                     "  --device SIDE --driver SIDE --offered MASK [--negotiated MASK]\n"
                     "                          calculator; SIDE: fixed, dense-offered,\n"
                     "                          dense-negotiated or an implementation\n"
                     "  --list                  the implementations known\n" },
        { .name = "metrics",
          .run = verb_metrics,
          .synopsis = "",
          .summary = "Prometheus exposition of the daemon's state" },
        { .name = "top",
          .run = verb_top,
          .synopsis = "[--interval SECONDS] [--iterations N]",
          .summary = "live view of the guests (--json: one JSON line per refresh)" },
        { .name = "simulate",
          .run = verb_simulate,
          .synopsis = "--trace FILE | --scenario NAME|all [OPTIONS]",
          .summary = "run the balloon strategies on a trace or a built-in scenario (no daemon)",
          .help = simulate_help },
        { .name = "help",
          .run = verb_help,
          .synopsis = "[COMMAND]",
          .summary = "this help, or the command's" },
        {},
};

/* Every verb, in the order --help lists them. */
static const CtlVerb *const verb_tables[] = { first_verbs, guest_verbs, host_verbs, last_verbs };

static const CtlVerb *find_verb(const char *name)
{
        for (size_t t = 0; t < ELEMENTSOF(verb_tables); t++)
                for (const CtlVerb *v = verb_tables[t]; v->name; v++)
                        if (strcmp(v->name, name) == 0)
                                return v;
        return NULL;
}

static void usage(FILE *f)
{
        fprintf(f, "Usage: memtidectl [--socket PATH] [--json] COMMAND [ARGS...]\n"
                   "       memtidectl help COMMAND | COMMAND --help\n\n"
                   "Commands:\n");
        for (size_t t = 0; t < ELEMENTSOF(verb_tables); t++)
                for (const CtlVerb *v = verb_tables[t]; v->name; v++) {
                        /* The summary's first line only: help COMMAND has the rest. */
                        int len = (int)strcspn(v->summary, "\n");
                        fprintf(f, "  %s%s%s\n      %.*s\n", v->name, *v->synopsis ? " " : "",
                                v->synopsis, len, v->summary);
                }
        fprintf(f,
                "\nOptions:\n"
                "  -s, --socket PATH  control socket (default $MEMTIDE_SOCKET or %s)\n"
                "  -j, --json         print JSON\n"
                "  -h, --help         this help\n"
                "      --version      print the version\n\n"
                "Exit status: 0 success, 1 daemon error, unreachable or no such guest,\n"
                "2 usage error (also a value the daemon refused).\n",
                CONFIG_DEFAULT_CONTROL_SOCKET);
}

/* memtidectl VERB --help and memtidectl help VERB: the same text, on stdout. */
static void verb_usage(const CtlVerb *v, FILE *f)
{
        if (v->help) {
                v->help(f);
                return;
        }
        fprintf(f, "Usage: memtidectl %s%s%s\n\n%s\n", v->name, *v->synopsis ? " " : "",
                v->synopsis, v->summary);
        if (v->details)
                fprintf(f, "\n%s", v->details);
        fprintf(f, "\nSee memtidectl(1) for the JSON form and exit status.\n");
}

static int verb_help(const CtlArgs *a, int argc, char **argv)
{
        const CtlVerb *v;

        if (argc == 1) {
                usage(stdout);
                return 0;
        }
        if (argc > 2)
                return ctl_unexpected_argument("help", argv[2]);
        v = find_verb(argv[1]);
        if (!v) {
                fprintf(stderr, "memtidectl: unknown command '%s' (try --help)\n", argv[1]);
                return EXIT_USAGE;
        }
        verb_usage(v, stdout);
        return 0;
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
        /* The columns before REASON take 80. */
        return cols > 96 ? (int)cols - 80 : 16;
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

/* Under a guest with virtio-mem: boot memory, the balloon, each device. */
static void print_vmem_row(json_object *g)
{
        json_object *list = NULL, *balloon = NULL;
        char boot[32], bal[32];

        if (!json_object_object_get_ex(g, "virtio_mem", &list) || !list)
                return;
        json_object_object_get_ex(g, "balloon_actual_bytes", &balloon);
        printf("  boot %s MiB, balloon %s MiB, virtio-mem:\n",
               mib(boot, sizeof(boot), g, "boot_bytes"),
               balloon ? mib(bal, sizeof(bal), g, "balloon_actual_bytes") : "(none)");
        ctl_print_vmem(g, "    ");
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
        print_vmem_row(g);
}

/* "guest budget 6.00 GiB, 5.10 GiB held; " when one is in force. */
static void print_top_budget(json_object *b)
{
        uint64_t bytes, held;
        char t[32], h[32];

        if (json_get_u64(b, "budget_bytes", &bytes) < 0 || json_get_u64(b, "held_bytes", &held) < 0)
                return;
        printf("guest budget %s, %s held; ", format_bytes(t, sizeof(t), bytes),
               format_bytes(h, sizeof(h), held));
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
        printf("memtide: host %s, %s available; ", format_bytes(t, sizeof(t), total),
               format_bytes(av, sizeof(av), avail));
        print_top_budget(json_object_object_get(status, "budget"));
        printf("strategy %s; %s cycles\n\n",
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

/* 0.5 s, 42 s, 1 min 40 s, 3 h 12 min, 2 d 5 h: as precise as a reader needs. */
static const char *format_seconds(char *buf, size_t size, double sec)
{
        uint64_t s = (uint64_t)(sec + 0.5);

        if (sec < 10 && sec != (double)(uint64_t)sec)
                snprintf(buf, size, "%.1f s", sec);
        else if (s < 60)
                snprintf(buf, size, "%" PRIu64 " s", s);
        else if (s < 3600)
                snprintf(buf, size, "%" PRIu64 " min %" PRIu64 " s", s / 60, s % 60);
        else if (s < 86400)
                snprintf(buf, size, "%" PRIu64 " h %" PRIu64 " min", s / 3600, s % 3600 / 60);
        else
                snprintf(buf, size, "%" PRIu64 " d %" PRIu64 " h", s / 86400, s % 86400 / 3600);
        return buf;
}

static void print_seconds(const char *label, json_object *o, const char *key)
{
        json_object *v = NULL;
        char b[48];

        if (!json_object_object_get_ex(o, key, &v) || !v)
                printf("%-22s -\n", label);
        else
                printf("%-22s %s\n", label,
                       format_seconds(b, sizeof(b), json_object_get_double(v)));
}

static void print_percent(const char *label, json_object *o, const char *key)
{
        json_object *v = NULL;

        if (!json_object_object_get_ex(o, key, &v) || !v)
                printf("%-22s -\n", label);
        else
                printf("%-22s %.2f %%\n", label, json_object_get_double(v));
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

/* GuestMemoryBudget=: the budget and where it comes from, or why there is none. */
static void print_budget(json_object *b)
{
        const char *source = "none", *held_source = NULL, *problem = NULL;
        uint64_t bytes;
        char v[32];

        if (!b)
                return;
        (void)json_get_string(b, "source", &source);
        (void)json_get_string(b, "held_source", &held_source);
        (void)json_get_string(b, "problem", &problem);
        if (json_get_u64(b, "budget_bytes", &bytes) == 0)
                printf("%-22s %s (%s)\n", "Guest budget:", format_bytes(v, sizeof(v), bytes),
                       source);
        else
                printf("%-22s none\n", "Guest budget:");
        if (json_get_u64(b, "held_bytes", &bytes) == 0)
                printf("%-22s %s (%s)\n", "  held by guests:", format_bytes(v, sizeof(v), bytes),
                       held_source ? held_source : "?");
        if (json_get_u64(b, "available_bytes", &bytes) == 0)
                printf("%-22s %s\n", "  available:", format_bytes(v, sizeof(v), bytes));
        if (problem)
                printf("%-22s %s\n", "Budget problem:", problem);
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
        print_seconds("Interval:", d, "interval_seconds");
        print_seconds("Uptime:", d, "uptime_seconds");
        print_field("Cycles:", d, "cycles");
        print_field("Balloon commands:", d, "balloon_commands");
        print_field("Guests managed:", d, "guests_managed");
        print_field("Guests known:", d, "guests_known");
        print_field("Another controller:", d, "guests_other_controller");
        print_overrides(d);
        print_budget(json_object_object_get(params, "budget"));
        if (!h) {
                printf("%-22s unavailable\n", "Host memory:");
                return;
        }
        print_field("Host memory:", h, "mem_total_bytes");
        print_field("Host available:", h, "mem_available_bytes");
        if (json_get_u64(h, "zfs_arc_reclaimable_bytes", &(uint64_t){ 0 }) == 0)
                print_field("  of it ZFS ARC:", h, "zfs_arc_reclaimable_bytes");
        print_percent("PSI some avg10:", h, "psi_some_avg10_percent");
}

/* The request's parameter as the operator gave it: memtidectl set's options. */
static const char *option_of_parameter(const char *parameter)
{
        static const struct {
                const char *parameter, *option;
        } map[] = {
                { "min_bytes", "--min" }, { "max_bytes", "--max" }, { "shares", "--shares" },
                { "manage", "--manage" }, { "name", "GUEST" },
        };
        for (size_t i = 0; i < ELEMENTSOF(map); i++)
                if (strcmp(parameter, map[i].parameter) == 0)
                        return map[i].option;
        return NULL;
}

static const char *rule_of_parameter(const char *parameter)
{
        if (strcmp(parameter, "min_bytes") == 0)
                return "the minimum may not be above the maximum in force (see memtidectl "
                       "overrides), nor above 128 PiB";
        if (strcmp(parameter, "max_bytes") == 0)
                return "the maximum may not be below the minimum in force (see memtidectl "
                       "overrides), nor above 128 PiB";
        return NULL;
}

/* InvalidParameter: the value refused, named as the operator gave it, and why. */
static void print_invalid_parameter(json_object *params)
{
        const char *parameter = NULL, *message = NULL, *option, *rule, *why = NULL;

        if (json_get_string(params, "parameter", &parameter) < 0) {
                fprintf(stderr, "memtidectl: memtided refused the request as invalid\n");
                return;
        }
        (void)json_get_string(params, "message", &message);
        /* The daemon's message is "parameter: why"; the why is what people need. */
        if (message && strncmp(message, parameter, strlen(parameter)) == 0 &&
            strncmp(message + strlen(parameter), ": ", 2) == 0)
                why = message + strlen(parameter) + 2;
        option = option_of_parameter(parameter);
        rule = rule_of_parameter(parameter);
        fprintf(stderr, "memtidectl: memtided refused %s: %s\n", option ? option : parameter,
                rule  ? rule
                : why ? why
                      : "invalid");
}

/* The daemon's varlink errors, said for people. */
static int print_daemon_error(const char *error, json_object *params)
{
        const char *name = strrchr(error, '.') ? strrchr(error, '.') + 1 : error;
        const char *detail = NULL;

        if (json_get_string(params, "message", &detail) < 0 &&
            json_get_string(params, "name", &detail) < 0)
                detail = NULL;
        if (strcmp(error, "org.varlink.service.InvalidParameter") == 0) {
                print_invalid_parameter(params);
                return EXIT_USAGE;
        }
        if (strcmp(name, "PermissionDenied") == 0)
                fprintf(stderr,
                        "memtidectl: permission denied: changes need root or the memtide group\n");
        else if (strcmp(name, "NoSuchGuest") == 0)
                fprintf(stderr, "memtidectl: no such guest: %s (see memtidectl list)\n",
                        detail ? detail : "?");
        else if (strcmp(name, "StateNotSaved") == 0)
                fprintf(stderr, "memtidectl: not changed: %s\n", detail ? detail : "?");
        else if (strcmp(name, "ReloadFailed") == 0)
                fprintf(stderr, "memtidectl: reload refused, the old config stays in force: %s\n",
                        detail ? detail : "?");
        else if (strcmp(error, "org.varlink.service.MethodNotFound") == 0)
                fprintf(stderr,
                        "memtidectl: memtided does not know this request: is it older "
                        "than memtidectl %s? (memtidectl status shows its version)\n",
                        MEMTIDE_VERSION);
        else
                fprintf(stderr, "memtidectl: the daemon answered %s%s%s\n", error,
                        detail ? ": " : "", detail ? detail : "");
        return EXIT_DAEMON;
}

/* Where the socket came from, for the hint: an operator may not know MEMTIDE_SOCKET is set. */
static const char *socket_origin(const CtlArgs *a)
{
        const char *env = getenv("MEMTIDE_SOCKET");

        if (a->socket_given)
                return "given with --socket";
        if (env && *env && strcmp(env, a->socket) == 0)
                return "from $MEMTIDE_SOCKET";
        return "the default";
}

/* Cannot connect or talk: what the operator can check, by cause. */
static void print_unreachable(const CtlArgs *a, int r)
{
        fprintf(stderr, "memtidectl: cannot talk to memtided at %s (%s): %s\n", a->socket,
                socket_origin(a), strerror(-r));
        switch (r) {
        case -ENOENT:
        case -ECONNREFUSED:
                fprintf(stderr,
                        "memtidectl: is memtided running? Check 'systemctl status memtided'; "
                        "ControlSocket= in its config must match this path (--socket or "
                        "$MEMTIDE_SOCKET otherwise)\n");
                break;
        case -EACCES:
        case -EPERM:
                fprintf(stderr, "memtidectl: permission denied on the socket: run as root or "
                                "as a member of the memtide group (usermod -aG memtide USER, "
                                "then log in again)\n");
                break;
        case -ETIMEDOUT:
                fprintf(stderr,
                        "memtidectl: memtided did not answer within %d s; check "
                        "'systemctl status memtided' and its journal\n",
                        CTL_TIMEOUT_MS / 1000);
                break;
        default:
                fprintf(stderr, "memtidectl: check 'systemctl status memtided' and the socket "
                                "path (--socket or $MEMTIDE_SOCKET)\n");
        }
}

int ctl_request(const CtlArgs *a, const char *method, json_object *params, json_object **ret)
{
        _cleanup_free_ char *error = NULL;
        int r = ctl_call(a->socket, method, params, CTL_TIMEOUT_MS, ret, &error);

        if (r == -EBADE) {
                r = print_daemon_error(error, *ret);
                json_object_put(*ret);
                *ret = NULL;
                return r;
        }
        if (r < 0) {
                print_unreachable(a, r);
                return EXIT_DAEMON;
        }
        return 0;
}

int ctl_unexpected_argument(const char *verb, const char *arg)
{
        fprintf(stderr, "memtidectl: %s: unexpected argument '%s' (see memtidectl %s --help)\n",
                verb, arg, verb);
        return EXIT_USAGE;
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

static int simple_verb(const CtlArgs *a, int argc, char **argv, const char *method,
                       void (*print)(json_object *))
{
        _cleanup_json_ json_object *reply = NULL;
        int r;

        if (argc > 1)
                return ctl_unexpected_argument(argv[0], argv[1]);
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
        return simple_verb(a, argc, argv, "io.memtide.Manager.GetStatus", print_status);
}

static int verb_list(const CtlArgs *a, int argc, char **argv)
{
        _cleanup_json_ json_object *reply = NULL;
        json_object *p = NULL;
        int r;

        if (argc > 2 || (argc == 2 && strcmp(argv[1], "--all") != 0)) {
                return ctl_unexpected_argument("list", argv[argc - 1]);
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
        return simple_verb(a, argc, argv, "io.memtide.Manager.GetMetrics", print_metrics);
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
                        a->socket_given = true;
                } else if (strncmp(s, "--socket=", 9) == 0) {
                        a->socket = s + 9;
                        a->socket_given = true;
                } else
                        argv[n++] = argv[i];
        }
        argv[n] = NULL;
        *argc = n;
        return 0;
}

/* VERB ... --help anywhere among the verb's arguments. */
static bool wants_help(int argc, char **argv)
{
        for (int i = 1; i < argc; i++)
                if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
                        return true;
        return false;
}

int main(int argc, char **argv)
{
        const CtlVerb *v;
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
        v = find_verb(argv[0]);
        if (!v) {
                fprintf(stderr, "memtidectl: unknown command '%s' (try --help)\n", argv[0]);
                return EXIT_USAGE;
        }
        if (wants_help(argc, argv)) {
                verb_usage(v, stdout);
                return 0;
        }
        return v->run(&a, argc, argv);
}
