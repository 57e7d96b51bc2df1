/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "cleanup.h"
#include "model.h"
#include "units.h"

#define MAX_CONFIG_BYTES (1024 * 1024)
/* Errors reported of one load: enough for any config a person wrote, and a
 * binary file given by mistake does not make a report of thousands of lines. */
#define MAX_CONFIG_ERRORS 50
#define USEC_PER_MSEC    UINT64_C(1000)

typedef enum Section {
        SECTION_NONE,
        SECTION_INVALID, /* after a bad header: its keys are skipped, the header was reported */
        SECTION_DAEMON,
        SECTION_POLICY,
        SECTION_GUEST,
        SECTION_KSM,
} Section;

typedef struct ConfigKey ConfigKey;

/* Stores value into field, or returns -ENOMEM, or -EINVAL with the reason in
 * *why (a static string; the key's own reason unless the parser sets one). */
typedef int (*value_parser)(const char *value, void *field, const ConfigKey *k, const char **why);

/* One key: where its value goes, how it is parsed and which values it takes. */
struct ConfigKey {
        Section section;
        const char *key;
        value_parser parse;
        size_t offset;     /* of the field: in MemtideConfig, in GuestRule for [Guest:] */
        uint64_t min, max; /* accepted range, in the parser's unit (usec, count, %) */
        const char *why;   /* reason given for a rejected value */
        size_t given;      /* [Guest:] keys: GuestRule's bool that records the key was set */
        int (*from_string)(const char *name); /* parse_enum: name -> value, < 0 if unknown */
        const char *(*to_string)(int value);  /* parse_enum: value -> name, for config_dump() */
};

#define CONF(field) offsetof(MemtideConfig, field)
#define RULE(field) offsetof(GuestRule, field)

/* given == 0 means none: offset 0 holds the rule's match, not a flag. */
_Static_assert(offsetof(GuestRule, match) == 0, "GuestRule.match must come first");
/* parse_enum stores an int. */
_Static_assert(sizeof(BackendKind) == sizeof(int) && sizeof(PolicyStrategy) == sizeof(int),
               "config enums must be int-sized");

static const char *const backend_names[_BACKEND_KIND_MAX] = {
        [BACKEND_AUTO] = "auto",
        [BACKEND_QMP] = "qmp",
        [BACKEND_LIBVIRT] = "libvirt",
};

const char *backend_kind_to_string(BackendKind k)
{
        return k < _BACKEND_KIND_MAX ? backend_names[k] : NULL;
}

static const char *backend_name(int v)
{
        return backend_kind_to_string((BackendKind)v);
}

static const char *const mode_names[_DAEMON_MODE_MAX] = {
        [DAEMON_MODE_MANAGE] = "manage",
        [DAEMON_MODE_OBSERVE] = "observe",
};

const char *daemon_mode_to_string(DaemonMode m)
{
        return m < _DAEMON_MODE_MAX ? mode_names[m] : NULL;
}

static const char *mode_name(int v)
{
        return daemon_mode_to_string((DaemonMode)v);
}

static int mode_from_string(const char *s)
{
        for (int i = 0; i < _DAEMON_MODE_MAX; i++)
                if (strcmp(s, mode_names[i]) == 0)
                        return i;
        return -EINVAL;
}

/* The syslog levels an operator picks from, by their journalctl -p names. */
static const char *const level_names[] = {
        [LOG_ERR] = "err",   [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice",
        [LOG_INFO] = "info", [LOG_DEBUG] = "debug",
};

const char *log_level_to_string(int level)
{
        return level >= LOG_ERR && level <= LOG_DEBUG ? level_names[level] : NULL;
}

int log_level_from_string(const char *s)
{
        for (int i = LOG_ERR; i <= LOG_DEBUG; i++)
                if (strcmp(s, level_names[i]) == 0)
                        return i;
        return -EINVAL;
}

static const char *log_level_name(int v)
{
        return log_level_to_string(v);
}

static const char *strategy_name(int v)
{
        return policy_strategy_to_string((PolicyStrategy)v);
}

static int backend_kind_from_string(const char *s)
{
        for (int i = 0; i < _BACKEND_KIND_MAX; i++)
                if (strcmp(s, backend_names[i]) == 0)
                        return i;
        return -EINVAL;
}

static void strv_free(char **v)
{
        for (char **p = v; p && *p; p++)
                free(*p);
        free(v);
}

static int replace_string(char **dst, const char *value)
{
        char *copy = strdup(value);
        if (!copy)
                return -ENOMEM;
        free(*dst);
        *dst = copy;
        return 0;
}

/* Generic parsers: the field's type is the parser's; limits and reason come from the key. */

static int parse_enum(const char *v, void *field, const ConfigKey *k, const char **why)
{
        int i = k->from_string(v);
        if (i < 0)
                return -EINVAL;
        *(int *)field = i;
        return 0;
}

static int parse_bool(const char *v, void *field, const ConfigKey *k, const char **why)
{
        if (strcmp(v, "yes") == 0 || strcmp(v, "true") == 0 || strcmp(v, "1") == 0)
                *(bool *)field = true;
        else if (strcmp(v, "no") == 0 || strcmp(v, "false") == 0 || strcmp(v, "0") == 0)
                *(bool *)field = false;
        else {
                *why = "expected yes or no";
                return -EINVAL;
        }
        return 0;
}

static int parse_string(const char *v, void *field, const ConfigKey *k, const char **why)
{
        return replace_string(field, v);
}

static int parse_absolute_path(const char *v, void *field, const ConfigKey *k, const char **why)
{
        if (v[0] != '/') {
                *why = "expected an absolute path";
                return -EINVAL;
        }
        return replace_string(field, v);
}

/* An empty value turns the feature off (NULL). */
static int parse_optional_path(const char *v, void *field, const ConfigKey *k, const char **why)
{
        char **dst = field;
        if (v[0] != '\0')
                return parse_absolute_path(v, field, k, why);
        free(*dst);
        *dst = NULL;
        return 0;
}

/* Space-separated absolute globs into a NULL-terminated list; an empty value
 * clears the list (systemd convention). */
static int parse_glob_list(const char *v, void *field, const ConfigKey *k, const char **why)
{
        _cleanup_free_ char *copy = strdup(v);
        char ***dst = field, **list, *save = NULL;
        size_t n = 0;

        if (!copy)
                return -ENOMEM;
        list = calloc(strlen(v) / 2 + 2, sizeof(char *));
        if (!list)
                return -ENOMEM;
        for (char *tok = strtok_r(copy, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
                if (tok[0] != '/') {
                        strv_free(list);
                        return -EINVAL;
                }
                list[n] = strdup(tok);
                if (!list[n++]) {
                        strv_free(list);
                        return -ENOMEM;
                }
        }
        strv_free(*dst);
        *dst = list;
        return 0;
}

/* A whole number in [min, max] into a uint32_t. */
static int parse_uint32(const char *v, void *field, const ConfigKey *k, const char **why)
{
        char *end;
        unsigned long n;

        errno = 0;
        n = strtoul(v, &end, 10);
        if (end == v || *end != '\0' || errno != 0 || v[0] == '-' || n < k->min || n > k->max)
                return -EINVAL;
        *(uint32_t *)field = (uint32_t)n;
        return 0;
}

/* A plain number (no unit) in [min, max] into a double. */
static int parse_number(const char *v, void *field, const ConfigKey *k, const char **why)
{
        char *end;
        double d = strtod(v, &end);
        if (end == v || *end != '\0' || !(d >= k->min && d <= k->max))
                return -EINVAL;
        *(double *)field = d;
        return 0;
}

/* "25%" into a share (0.25) of at most max %; zero is never a share. */
static int parse_percent(const char *v, void *field, const ConfigKey *k, const char **why)
{
        char *end;
        double d = strtod(v, &end);
        if (end == v || strcmp(end, "%") != 0 || !(d > 0 && d <= k->max))
                return -EINVAL;
        *(double *)field = d / 100.0;
        return 0;
}

/* "64M" into bytes (uint64_t); any size, no limits. */
static int parse_bytes(const char *v, void *field, const ConfigKey *k, const char **why)
{
        return parse_size(v, field) < 0 ? -EINVAL : 0;
}

/* "500ms" into usec (uint64_t) in [min, max]. */
static int parse_duration(const char *v, void *field, const ConfigKey *k, const char **why)
{
        uint64_t usec;
        if (parse_time_usec(v, &usec) < 0 || usec < k->min || usec > k->max)
                return -EINVAL;
        *(uint64_t *)field = usec;
        return 0;
}

/* "128M", or "10%" of the guest's maximum (at most max %); never zero. */
static int parse_size_or_share(const char *v, void *field, const ConfigKey *k, const char **why)
{
        SizeOrShare s = { 0 };
        int r = strchr(v, '%') ? parse_percent(v, &s.share, k, why)
                               : parse_bytes(v, &s.bytes, k, why);
        if (r < 0 || (s.share == 0 && s.bytes == 0))
                return -EINVAL;
        *(SizeOrShare *)field = s;
        return 0;
}

/* Special parsers: a further limit with a reason of its own. */

/* QEMU's guest-stats-polling-interval is whole seconds. */
static int parse_stats_period(const char *v, void *field, const ConfigKey *k, const char **why)
{
        uint64_t usec;
        int r = parse_duration(v, &usec, k, why);
        if (r < 0)
                return r;
        if (usec % USEC_PER_SEC != 0) {
                *why = "QEMU polls guest stats in whole seconds, e.g. 1s or 2s";
                return -EINVAL;
        }
        *(uint64_t *)field = usec;
        return 0;
}

/* Pressure starts at 4 x the reserve: above 25 % an idle host would count as pressed. */
static int parse_host_reserve(const char *v, void *field, const ConfigKey *k, const char **why)
{
        double share;
        int r = parse_percent(v, &share, k, why);
        if (r < 0)
                return r;
        if (share > 0.25) {
                *why = "expected a percentage of at most 25%";
                return -EINVAL;
        }
        *(double *)field = share;
        return 0;
}

/* An idle page costs 1/(1-rate): the rate must stay below 1. */
static int parse_idle_tax(const char *v, void *field, const ConfigKey *k, const char **why)
{
        double share;
        int r = parse_percent(v, &share, k, why);
        if (r < 0)
                return r;
        if (share >= 1.0) {
                *why = "expected a percentage below 100%";
                return -EINVAL;
        }
        *(double *)field = share;
        return 0;
}

/* "", a size, or "auto" (guest-budget: GuestBudgetConfig). */
static int parse_guest_budget(const char *v, void *field, const ConfigKey *k, const char **why)
{
        GuestBudgetConfig *b = field, parsed = { GUEST_BUDGET_NONE, 0 };

        if (strcmp(v, "auto") == 0)
                parsed.kind = GUEST_BUDGET_AUTO;
        else if (v[0] != '\0') {
                if (parse_size(v, &parsed.bytes) < 0 || parsed.bytes == 0)
                        return -EINVAL;
                parsed.kind = GUEST_BUDGET_SIZE;
        }
        *b = parsed;
        return 0;
}

/* A cgroup as /proc/PID/cgroup names it: below the mount, never above it. */
static int parse_cgroup_path(const char *v, void *field, const ConfigKey *k, const char **why)
{
        char **dst = field;

        if (v[0] == '\0') {
                free(*dst);
                *dst = NULL;
                return 0;
        }
        if (v[0] != '/' || strstr(v, "/..") || strstr(v, "//"))
                return -EINVAL;
        return replace_string(dst, v);
}

#define WHY_INTERVAL     "expected a time between 100ms and 1h, e.g. 2s or 500ms"
#define WHY_TIME         "expected a time such as 10s or 10min"
#define WHY_PERCENT      "expected a percentage such as 20%"
#define WHY_STEP         "expected a size such as 128M or a percentage of the guest's maximum such as 10%"
#define WHY_PROXMOX_SIZE "expected a size such as 100M"
#define WHY_GUEST_SIZE   "expected a size such as 256M or 1G"
#define WHY_PAGES_0      "expected a whole number of pages between 0 and 100000, e.g. 300"
#define WHY_PAGES_1      "expected a whole number of pages between 1 and 100000, e.g. 64"

/* Every key, one row each. man/check-conf-keys.sh reads the rows: each starts
 * a line with {SECTION_..., "Key", */
static const ConfigKey config_keys[] = {
        { SECTION_DAEMON, "Backend", parse_enum, .offset = CONF(backend),
          .from_string = backend_kind_from_string, .to_string = backend_name,
          .why = "expected auto, libvirt or qmp" },
        { SECTION_DAEMON, "Mode", parse_enum, .offset = CONF(mode), .from_string = mode_from_string,
          .to_string = mode_name, .why = "expected manage or observe" },
        { SECTION_DAEMON, "LogLevel", parse_enum, .offset = CONF(log_level),
          .from_string = log_level_from_string, .to_string = log_level_name,
          .why = "expected debug, info, notice, warning or err" },
        { SECTION_DAEMON, "LibvirtURI", parse_string, .offset = CONF(libvirt_uri) },
        { SECTION_DAEMON, "LibvirtQMPPassthrough", parse_bool,
          .offset = CONF(libvirt_qmp_passthrough) },
        { SECTION_DAEMON, "QMPSockets", parse_glob_list, .offset = CONF(qmp_sockets),
          .why = "socket globs must be absolute paths" },
        { SECTION_DAEMON, "SharedQMPSockets", parse_glob_list, .offset = CONF(shared_qmp_sockets),
          .why = "socket globs must be absolute paths" },
        { SECTION_DAEMON, "OtherControllerHold", parse_duration,
          .offset = CONF(other_controller_hold_usec), .min = USEC_PER_SEC,
          .max = 24 * 3600 * USEC_PER_SEC, .why = "expected a time from 1s to 24h" },
        { SECTION_DAEMON, "Interval", parse_duration, .offset = CONF(interval_usec),
          .min = 100 * USEC_PER_MSEC, .max = 3600 * USEC_PER_SEC, .why = WHY_INTERVAL },
        { SECTION_DAEMON, "StatsPeriod", parse_stats_period, .offset = CONF(stats_period_usec),
          .min = 100 * USEC_PER_MSEC, .max = 3600 * USEC_PER_SEC, .why = WHY_INTERVAL },
        { SECTION_DAEMON, "PressureTrigger", parse_bool, .offset = CONF(pressure_trigger) },
        { SECTION_DAEMON, "ControlSocket", parse_absolute_path, .offset = CONF(control_socket) },
        { SECTION_DAEMON, "StateDirectory", parse_absolute_path, .offset = CONF(state_directory) },
        { SECTION_DAEMON, "MetricsFile", parse_optional_path, .offset = CONF(metrics_file) },
        /* Proxmox VE's VM configs: memory, balloon and shares of QMP guests VMID.qmp. */
        { SECTION_DAEMON, "ProxmoxConfigDir", parse_optional_path,
          .offset = CONF(proxmox_config_dir) },
        /* What the guests may hold together: a size, or their cgroup's limit. */
        { SECTION_DAEMON, "GuestMemoryBudget", parse_guest_budget, .offset = CONF(guest_budget),
          .why = "expected a size such as 6G, auto (the guests' memory cgroup limit), or "
                 "nothing for no budget" },
        { SECTION_DAEMON, "GuestMemoryCgroup", parse_cgroup_path,
          .offset = CONF(guest_memory_cgroup),
          .why = "expected a cgroup path below the cgroup mount such as /machine.slice, or "
                 "nothing" },
        { SECTION_POLICY, "Strategy", parse_enum, .offset = CONF(policy.strategy),
          .from_string = policy_strategy_from_string, .to_string = strategy_name,
          .why = "unknown strategy (known: adaptive, mom, proxmox)" },
        { SECTION_POLICY, "HeadroomMin", parse_bytes, .offset = CONF(policy.headroom_min_bytes),
          .why = "expected a size such as 64M" },
        { SECTION_POLICY, "HeadroomShare", parse_percent, .offset = CONF(policy.headroom_share),
          .max = 100, .why = "expected a percentage such as 10%" },
        { SECTION_POLICY, "InflateStep", parse_size_or_share, .offset = CONF(policy.inflate_step),
          .max = 100, .why = WHY_STEP },
        { SECTION_POLICY, "DeflateStep", parse_size_or_share, .offset = CONF(policy.deflate_step),
          .max = 100, .why = WHY_STEP },
        { SECTION_POLICY, "GrowthHorizon", parse_duration,
          .offset = CONF(policy.growth_horizon_usec), .max = UINT64_MAX,
          .why = "expected a time such as 5s" },
        { SECTION_POLICY, "PeakHalfLife", parse_duration,
          .offset = CONF(policy.peak_half_life_usec), .min = 1, .max = UINT64_MAX,
          .why = WHY_TIME },
        { SECTION_POLICY, "VolatilityFactor", parse_number,
          .offset = CONF(policy.volatility_factor), .max = 100,
          .why = "expected a number between 0 and 100, e.g. 3" },
        { SECTION_POLICY, "HostReserve", parse_host_reserve, .offset = CONF(policy.host_reserve),
          .max = 100, .why = WHY_PERCENT },
        { SECTION_POLICY, "FloorNarrowing", parse_bool, .offset = CONF(policy.floor_narrowing) },
        { SECTION_POLICY, "IdleTax", parse_idle_tax, .offset = CONF(policy.idle_tax), .max = 100,
          .why = WHY_PERCENT },
        { SECTION_POLICY, "HostPressureFull", parse_percent,
          .offset = CONF(policy.host_pressure_full), .max = 100, .why = WHY_PERCENT },
        { SECTION_POLICY, "MomInterval", parse_duration, .offset = CONF(policy.mom.interval_usec),
          .min = 1, .max = UINT64_MAX, .why = WHY_TIME },
        { SECTION_POLICY, "MomSampleInterval", parse_duration,
          .offset = CONF(policy.mom.sample_interval_usec), .min = 1, .max = UINT64_MAX,
          .why = WHY_TIME },
        { SECTION_POLICY, "MomPressureThreshold", parse_percent,
          .offset = CONF(policy.mom.pressure_threshold), .max = 100, .why = WHY_PERCENT },
        { SECTION_POLICY, "MomPressureCritical", parse_percent,
          .offset = CONF(policy.mom.pressure_critical), .max = 100, .why = WHY_PERCENT },
        { SECTION_POLICY, "MomMinGuestFree", parse_percent,
          .offset = CONF(policy.mom.min_guest_free), .max = 100, .why = WHY_PERCENT },
        { SECTION_POLICY, "MomMaxChange", parse_percent, .offset = CONF(policy.mom.max_change),
          .max = 100, .why = WHY_PERCENT },
        { SECTION_POLICY, "MomMinChange", parse_percent, .offset = CONF(policy.mom.min_change),
          .max = 100, .why = WHY_PERCENT },
        { SECTION_POLICY, "ProxmoxInterval", parse_duration,
          .offset = CONF(policy.proxmox.interval_usec), .min = 1, .max = UINT64_MAX,
          .why = WHY_TIME },
        { SECTION_POLICY, "ProxmoxTarget", parse_percent, .offset = CONF(policy.proxmox.target),
          .max = 100, .why = WHY_PERCENT },
        { SECTION_POLICY, "ProxmoxMaxChange", parse_bytes,
          .offset = CONF(policy.proxmox.max_change_bytes), .why = WHY_PROXMOX_SIZE },
        { SECTION_POLICY, "ProxmoxDeadBand", parse_bytes,
          .offset = CONF(policy.proxmox.dead_band_bytes), .why = WHY_PROXMOX_SIZE },
        { SECTION_GUEST, "MinMemory", parse_bytes, .offset = RULE(min_bytes),
          .given = RULE(min_set), .why = WHY_GUEST_SIZE },
        { SECTION_GUEST, "MaxMemory", parse_bytes, .offset = RULE(max_bytes),
          .given = RULE(max_set), .why = WHY_GUEST_SIZE },
        { SECTION_GUEST, "MaxMemoryBelowFloor", parse_bool, .offset = RULE(max_below_floor),
          .given = RULE(max_below_floor_set) },
        { SECTION_GUEST, "Manage", parse_bool, .offset = RULE(manage), .given = RULE(manage_set) },
        /* Proxmox's shares: 0 leaves the guest out of auto-ballooning. */
        { SECTION_GUEST, "Shares", parse_uint32, .offset = RULE(shares), .given = RULE(shares_set),
          .max = 50000, .why = "expected a whole number between 0 and 50000, e.g. 1000" },
        { SECTION_KSM, "Enabled", parse_bool, .offset = CONF(ksm.enabled) },
        { SECTION_KSM, "SysfsPath", parse_absolute_path, .offset = CONF(ksm.sysfs_path) },
        { SECTION_KSM, "ThresholdShare", parse_percent, .offset = CONF(ksm.threshold_share),
          .max = 100, .why = WHY_PERCENT },
        /* Guests may be committed beyond the host's memory. */
        { SECTION_KSM, "CommittedShare", parse_percent, .offset = CONF(ksm.committed_share),
          .max = 1000, .why = "expected a percentage of host memory such as 80% (up to 1000%)" },
        /* ksmtuned writes KSM_NPAGES_DECAY=-50; PagesDecay= is the positive amount taken off. */
        { SECTION_KSM, "PagesBoost", parse_uint32, .offset = CONF(ksm.pages_boost), .max = 100000,
          .why = WHY_PAGES_0 },
        { SECTION_KSM, "PagesDecay", parse_uint32, .offset = CONF(ksm.pages_decay), .max = 100000,
          .why = WHY_PAGES_0 },
        { SECTION_KSM, "PagesMin", parse_uint32, .offset = CONF(ksm.pages_min), .min = 1,
          .max = 100000, .why = WHY_PAGES_1 },
        { SECTION_KSM, "PagesMax", parse_uint32, .offset = CONF(ksm.pages_max), .min = 1,
          .max = 100000, .why = WHY_PAGES_1 },
        { SECTION_KSM, "SleepMsecPer16GiB", parse_uint32, .offset = CONF(ksm.sleep_msec_per_16gib),
          .min = 1, .max = 60000, .why = "expected milliseconds between 1 and 60000, e.g. 10" },
};

/* systemd passes StateDirectory= as $STATE_DIRECTORY; the FHS place otherwise. */
static const char *config_default_state_directory(void)
{
        const char *e = getenv("STATE_DIRECTORY");
        return e && e[0] == '/' && !strchr(e, ':') ? e : "/var/lib/memtide";
}

size_t config_key_count(void)
{
        return ELEMENTSOF(config_keys);
}

const char *config_key_name(size_t i)
{
        return i < ELEMENTSOF(config_keys) ? config_keys[i].key : NULL;
}

/* Formatters: each parser's value written back in a form it reads again. */

typedef void (*value_formatter)(FILE *f, const void *field, const ConfigKey *k);

typedef struct Unit {
        const char *suffix;
        uint64_t factor;
} Unit;

/* The largest unit that divides v exactly, so that the value reads back the same. */
static void format_exact(FILE *f, uint64_t v, const Unit *units, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (v != 0 && v % units[i].factor == 0) {
                        fprintf(f, "%llu%s", (unsigned long long)(v / units[i].factor),
                                units[i].suffix);
                        return;
                }
        fprintf(f, "%llu%s", (unsigned long long)v, units[n - 1].suffix);
}

static void format_bytes_exact(FILE *f, const void *field, const ConfigKey *k)
{
        static const Unit units[] = {
                { "T", UINT64_C(1) << 40 },
                { "G", UINT64_C(1) << 30 },
                { "M", UINT64_C(1) << 20 },
                { "K", UINT64_C(1) << 10 },
                { "", 1 },
        };
        format_exact(f, *(const uint64_t *)field, units, ELEMENTSOF(units));
}

static void format_duration(FILE *f, const void *field, const ConfigKey *k)
{
        static const Unit units[] = {
                { "h", 3600 * USEC_PER_SEC },
                { "min", 60 * USEC_PER_SEC },
                { "s", USEC_PER_SEC },
                { "ms", USEC_PER_MSEC },
                { "us", 1 },
        };
        format_exact(f, *(const uint64_t *)field, units, ELEMENTSOF(units));
}

static void format_enum(FILE *f, const void *field, const ConfigKey *k)
{
        const char *name = k->to_string(*(const int *)field);
        fputs(name ? name : "", f);
}

static void format_bool(FILE *f, const void *field, const ConfigKey *k)
{
        fputs(*(const bool *)field ? "yes" : "no", f);
}

static void format_string(FILE *f, const void *field, const ConfigKey *k)
{
        const char *s = *(char *const *)field;
        fputs(s ? s : "", f);
}

static void format_list(FILE *f, const void *field, const ConfigKey *k)
{
        char *const *list = *(char **const *)field;
        for (size_t i = 0; list && list[i]; i++)
                fprintf(f, "%s%s", i ? " " : "", list[i]);
}

static void format_uint32(FILE *f, const void *field, const ConfigKey *k)
{
        fprintf(f, "%u", *(const uint32_t *)field);
}

static void format_number(FILE *f, const void *field, const ConfigKey *k)
{
        fprintf(f, "%.15g", *(const double *)field);
}

static void format_percent(FILE *f, const void *field, const ConfigKey *k)
{
        fprintf(f, "%.15g%%", *(const double *)field * 100.0);
}

static void format_size_or_share(FILE *f, const void *field, const ConfigKey *k)
{
        const SizeOrShare *s = field;
        if (s->share > 0)
                format_percent(f, &s->share, k);
        else
                format_bytes_exact(f, &s->bytes, k);
}

static void format_guest_budget(FILE *f, const void *field, const ConfigKey *k)
{
        const GuestBudgetConfig *b = field;

        if (b->kind == GUEST_BUDGET_AUTO)
                fputs("auto", f);
        else if (b->kind == GUEST_BUDGET_SIZE)
                format_bytes_exact(f, &b->bytes, k);
}

static const struct {
        value_parser parse;
        value_formatter format;
} formatters[] = {
        { parse_enum, format_enum },
        { parse_bool, format_bool },
        { parse_string, format_string },
        { parse_absolute_path, format_string },
        { parse_optional_path, format_string },
        { parse_glob_list, format_list },
        { parse_uint32, format_uint32 },
        { parse_number, format_number },
        { parse_percent, format_percent },
        { parse_bytes, format_bytes_exact },
        { parse_duration, format_duration },
        { parse_size_or_share, format_size_or_share },
        { parse_stats_period, format_duration },
        { parse_host_reserve, format_percent },
        { parse_idle_tax, format_percent },
        { parse_guest_budget, format_guest_budget },
        { parse_cgroup_path, format_string },
};

static value_formatter formatter_of(const ConfigKey *k)
{
        for (size_t i = 0; i < ELEMENTSOF(formatters); i++)
                if (formatters[i].parse == k->parse)
                        return formatters[i].format;
        return NULL;
}

static void dump_key(FILE *f, const ConfigKey *k, const void *base)
{
        value_formatter format = formatter_of(k);

        fprintf(f, "%s=", k->key);
        if (format)
                format(f, (const char *)base + k->offset, k);
        fputc('\n', f);
}

static void dump_section(FILE *f, const char *title, Section section, const void *base)
{
        fprintf(f, "[%s]\n", title);
        for (size_t i = 0; i < ELEMENTSOF(config_keys); i++)
                if (config_keys[i].section == section)
                        dump_key(f, &config_keys[i], base);
}

/* A [Guest:] rule: only the keys it sets. */
static void dump_rule(FILE *f, const GuestRule *rule)
{
        fprintf(f, "\n[Guest:%s]\n", rule->match);
        for (size_t i = 0; i < ELEMENTSOF(config_keys); i++) {
                const ConfigKey *k = &config_keys[i];
                if (k->section == SECTION_GUEST &&
                    (!k->given || *(const bool *)((const char *)rule + k->given)))
                        dump_key(f, k, rule);
        }
}

int config_dump(const MemtideConfig *c, FILE *f)
{
        dump_section(f, "Daemon", SECTION_DAEMON, c);
        fputc('\n', f);
        dump_section(f, "Policy", SECTION_POLICY, c);
        fputc('\n', f);
        dump_section(f, "KSM", SECTION_KSM, c);
        for (size_t i = 0; i < c->n_guest_rules; i++)
                dump_rule(f, &c->guest_rules[i]);
        return fflush(f) == 0 && !ferror(f) ? 0 : -EIO;
}

int config_new(MemtideConfig **ret)
{
        _cleanup_(config_freep) MemtideConfig *c = calloc(1, sizeof(*c));
        const char *why;

        if (!c)
                return -ENOMEM;
        c->backend = BACKEND_AUTO;
        c->mode = DAEMON_MODE_MANAGE;
        c->log_level = LOG_INFO;
        c->interval_usec = 2 * USEC_PER_SEC;
        c->stats_period_usec = 1 * USEC_PER_SEC;
        c->pressure_trigger = true;
        c->other_controller_hold_usec = 5 * 60 * USEC_PER_SEC;
        policy_config_init(&c->policy);
        ksm_config_init(&c->ksm);
        if (replace_string(&c->libvirt_uri, "qemu:///system") < 0 ||
            replace_string(&c->control_socket, CONFIG_DEFAULT_CONTROL_SOCKET) < 0 ||
            replace_string(&c->ksm.sysfs_path, KSM_SYSFS_PATH_DEFAULT) < 0 ||
            replace_string(&c->state_directory, config_default_state_directory()) < 0 ||
            replace_string(&c->proxmox_config_dir, CONFIG_DEFAULT_PROXMOX_CONFIG_DIR) < 0 ||
            parse_glob_list("/run/memtide/qmp/*.qmp /var/run/qemu-server/*.qmp", &c->qmp_sockets,
                            NULL, &why) < 0 ||
            parse_glob_list(CONFIG_DEFAULT_SHARED_QMP_SOCKETS, &c->shared_qmp_sockets, NULL, &why) <
                    0)
                return -ENOMEM;
        *ret = TAKE_PTR(c);
        return 0;
}

MemtideConfig *config_free(MemtideConfig *c)
{
        if (!c)
                return NULL;
        free(c->libvirt_uri);
        free(c->control_socket);
        free(c->ksm.sysfs_path);
        free(c->state_directory);
        free(c->metrics_file);
        free(c->proxmox_config_dir);
        free(c->guest_memory_cgroup);
        strv_free(c->qmp_sockets);
        strv_free(c->shared_qmp_sockets);
        for (size_t i = 0; i < c->n_guest_rules; i++) {
                free(c->guest_rules[i].match);
                free(c->guest_rules[i].file);
        }
        free(c->guest_rules);
        free(c);
        return NULL;
}

/*
 * The errors of one load, one "file:line: reason" a line: a bad line is
 * reported and skipped, parsing goes on, and the config is refused as a
 * whole at the end when there was any.
 */
typedef struct ConfigErrors {
        char *text;     /* NULL when the caller wants no text */
        unsigned count; /* reported, and beyond MAX_CONFIG_ERRORS counted only */
        bool wanted;
} ConfigErrors;

static void errors_add(ConfigErrors *e, const char *msg)
{
        char *text = NULL;

        e->count++;
        if (!e->wanted || e->count > MAX_CONFIG_ERRORS)
                return;
        if (asprintf(&text, "%s%s%s", e->text ? e->text : "", e->text ? "\n" : "", msg) < 0)
                return; /* out of memory: the count still refuses the config */
        free(e->text);
        e->text = text;
}

static int set_error(ConfigErrors *e, const char *file, unsigned line, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

static int set_error(ConfigErrors *e, const char *file, unsigned line, const char *fmt, ...)
{
        _cleanup_free_ char *msg = NULL, *full = NULL;
        va_list ap;

        va_start(ap, fmt);
        if (vasprintf(&msg, fmt, ap) < 0)
                msg = NULL;
        va_end(ap);
        if (asprintf(&full, "%s:%u: %s", file, line, msg ? msg : "error") < 0)
                full = NULL;
        errors_add(e, full ? full : "error");
        return -EINVAL;
}

/* Hands the report to the caller: -EINVAL when there were errors. */
static int errors_finish(ConfigErrors *e, char **ret_error)
{
        if (e->count > MAX_CONFIG_ERRORS && e->wanted) {
                char *text = NULL;
                if (asprintf(&text, "%s\n(%u more errors not shown)", e->text ? e->text : "",
                             e->count - MAX_CONFIG_ERRORS) >= 0) {
                        free(e->text);
                        e->text = text;
                }
        }
        if (ret_error)
                *ret_error = TAKE_PTR(e->text);
        free(e->text);
        e->text = NULL;
        return e->count > 0 ? -EINVAL : 0;
}

static char *strip(char *s)
{
        while (isspace((unsigned char)*s))
                s++;
        size_t n = strlen(s);
        while (n > 0 && isspace((unsigned char)s[n - 1]))
                s[--n] = '\0';
        return s;
}

static GuestRule *guest_rule_add(MemtideConfig *c, const char *match, const char *file)
{
        GuestRule *rules = realloc(c->guest_rules, (c->n_guest_rules + 1) * sizeof(*rules));
        if (!rules)
                return NULL;
        c->guest_rules = rules;
        GuestRule *r = &rules[c->n_guest_rules];
        *r = (GuestRule){ .match = strdup(match), .file = strdup(file), .manage = true };
        if (!r->match || !r->file) {
                free(r->match);
                free(r->file);
                return NULL;
        }
        c->n_guest_rules++;
        return r;
}

/* "[Guest:web-*]" -> SECTION_GUEST and a new rule; unknown sections are errors. */
static int parse_section(MemtideConfig *c, char *line, Section *section, GuestRule **rule,
                         const char *file, unsigned n, ConfigErrors *errors)
{
        size_t len = strlen(line);

        /* Until a good header, the keys that follow belong nowhere. */
        *section = SECTION_INVALID;
        *rule = NULL;
        if (line[len - 1] != ']')
                return set_error(errors, file, n, "section header lacks its closing ']'");
        line[len - 1] = '\0';
        const char *name = line + 1;
        if (strcmp(name, "Daemon") == 0)
                *section = SECTION_DAEMON;
        else if (strcmp(name, "Policy") == 0)
                *section = SECTION_POLICY;
        else if (strcmp(name, "KSM") == 0)
                *section = SECTION_KSM;
        else if (strncmp(name, "Guest:", 6) == 0 && name[6] != '\0') {
                *section = SECTION_GUEST;
                *rule = guest_rule_add(c, name + 6, file);
                if (!*rule)
                        return -ENOMEM;
        } else
                return set_error(errors, file, n,
                                 "unknown section [%s] (known: Daemon, Policy, KSM, Guest:GLOB)",
                                 name);
        return 0;
}

static const ConfigKey *config_key_find(Section section, const char *key)
{
        for (size_t i = 0; i < ELEMENTSOF(config_keys); i++)
                if (config_keys[i].section == section && strcmp(config_keys[i].key, key) == 0)
                        return &config_keys[i];
        return NULL;
}

static int parse_assignment(MemtideConfig *c, char *line, Section section, GuestRule *rule,
                            const char *file, unsigned n, ConfigErrors *errors)
{
        char *eq = strchr(line, '=');
        if (!eq)
                return set_error(errors, file, n, "expected Key=Value or [Section]");
        *eq = '\0';
        const char *key = strip(line), *value = strip(eq + 1);
        if (section == SECTION_INVALID)
                return 0; /* the section's header was reported */
        if (section == SECTION_NONE)
                return set_error(errors, file, n, "%s= outside of any section", key);
        const ConfigKey *k = config_key_find(section, key);
        if (!k)
                return set_error(errors, file, n, "unknown key %s= in this section", key);
        /* [Guest:] keys fill the section's rule, all others the config itself */
        char *base = section == SECTION_GUEST ? (char *)rule : (char *)c;
        const char *why = k->why ? k->why : "invalid value";
        int r = k->parse(value, base + k->offset, k, &why);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return set_error(errors, file, n, "%s=%s: %s", key, value, why);
        if (k->given)
                *(bool *)(base + k->given) = true;
        return 0;
}

/* Parses text into c, adding each bad line's error to errors; -ENOMEM only. */
static int parse_text(MemtideConfig *c, const char *text, const char *file, ConfigErrors *errors)
{
        _cleanup_free_ char *copy = strdup(text);
        Section section = SECTION_NONE;
        GuestRule *rule = NULL;
        char *p;
        unsigned n = 0;

        if (!copy)
                return -ENOMEM;
        /* strsep keeps empty lines so line numbers stay right */
        p = copy;
        for (char *raw; (raw = strsep(&p, "\n"));) {
                n++;
                char *line = strip(raw);
                int r = 0;
                if (line[0] == '\0' || line[0] == '#' || line[0] == ';')
                        continue;
                if (line[0] == '[')
                        r = parse_section(c, line, &section, &rule, file, n, errors);
                else
                        r = parse_assignment(c, line, section, rule, file, n, errors);
                if (r == -ENOMEM)
                        return r;
        }
        return 0;
}

int config_parse_text(MemtideConfig *c, const char *text, const char *file, char **ret_error)
{
        ConfigErrors errors = { .wanted = ret_error != NULL };
        int r = parse_text(c, text, file, &errors);

        if (r < 0) {
                free(errors.text);
                return r;
        }
        return errors_finish(&errors, ret_error);
}

static int read_file(const char *path, char **ret, ConfigErrors *errors)
{
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        _cleanup_free_ char *buf = NULL;
        size_t n;

        if (!f) {
                int r = -errno;
                _cleanup_free_ char *msg = NULL;
                if (asprintf(&msg, "%s: %s", path, strerror(-r)) >= 0)
                        errors_add(errors, msg);
                return r;
        }
        buf = malloc(MAX_CONFIG_BYTES + 1);
        if (!buf)
                return -ENOMEM;
        errno = 0;
        n = fread(buf, 1, MAX_CONFIG_BYTES + 1, f);
        if (ferror(f) || n > MAX_CONFIG_BYTES) {
                /* a directory in place of the file reads as EISDIR: say so */
                const char *why = ferror(f) ? (errno ? strerror(errno) : "read error")
                                            : "file larger than 1 MiB";
                _cleanup_free_ char *msg = NULL;
                if (asprintf(&msg, "%s: %s", path, why) >= 0)
                        errors_add(errors, msg);
                return -EIO;
        }
        buf[n] = '\0';
        if (memchr(buf, '\0', n))
                return set_error(errors, path, 1, "file contains a NUL byte");
        *ret = TAKE_PTR(buf);
        return 0;
}

/* A file that cannot be read is an error like a bad line: reported, the next one read. */
static int load_one(MemtideConfig *c, const char *path, ConfigErrors *errors)
{
        _cleanup_free_ char *text = NULL;
        int r = read_file(path, &text, errors);
        if (r < 0)
                return r;
        return parse_text(c, text, path, errors);
}

static int conf_filter(const struct dirent *d)
{
        size_t n = strlen(d->d_name);
        return d->d_name[0] != '.' && n > 5 && strcmp(d->d_name + n - 5, ".conf") == 0;
}

static int load_dropins(MemtideConfig *c, const char *path, ConfigErrors *errors)
{
        _cleanup_free_ char *dir = NULL;
        struct dirent **names = NULL;
        int n, r = 0;

        if (asprintf(&dir, "%s.d", path) < 0)
                return -ENOMEM;
        n = scandir(dir, &names, conf_filter, alphasort);
        if (n < 0)
                return errno == ENOENT ? 0 : set_error(errors, dir, 0, "%s", strerror(errno));
        for (int i = 0; i < n; i++) {
                _cleanup_free_ char *file = NULL;
                if (r >= 0 && asprintf(&file, "%s/%s", dir, names[i]->d_name) < 0)
                        r = -ENOMEM;
                if (r >= 0 && load_one(c, file, errors) == -ENOMEM)
                        r = -ENOMEM;
                free(names[i]);
        }
        free(names);
        return r;
}

static int load(const char *path, bool main_optional, MemtideConfig **ret, char **ret_error)
{
        _cleanup_(config_freep) MemtideConfig *c = NULL;
        ConfigErrors errors = { .wanted = ret_error != NULL };
        int r;

        if (ret_error)
                *ret_error = NULL;
        r = config_new(&c);
        if (r < 0)
                return r;
        if (!main_optional || access(path, F_OK) == 0 || errno != ENOENT) {
                r = load_one(c, path, &errors);
                /* The main file unreadable (absent, a directory): that is what to say. */
                if (r < 0 && r != -EINVAL) {
                        (void)errors_finish(&errors, ret_error);
                        return r;
                }
        }
        r = load_dropins(c, path, &errors);
        if (r < 0) {
                free(errors.text);
                return r;
        }
        r = errors_finish(&errors, ret_error);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(c);
        return 0;
}

int config_load(const char *path, MemtideConfig **ret, char **ret_error)
{
        return load(path, false, ret, ret_error);
}

/* The default file may be absent (defaults and drop-ins apply); a named one may not. */
int config_load_optional(const char *path, MemtideConfig **ret, char **ret_error)
{
        return load(path, true, ret, ret_error);
}

/* The key's source: the file and section of the rule that set it. */
static void rule_source(GuestSettings *s, GuestSettingField f, const GuestRule *r)
{
        guest_settings_set_source(s, f, "config %s [Guest:%s]", r->file, r->match);
}

void config_guest_rules_apply(const MemtideConfig *c, const char *name, const char *uuid,
                              GuestSettings *s)
{
        for (size_t i = 0; i < c->n_guest_rules; i++) {
                const GuestRule *r = &c->guest_rules[i];
                bool hit = (name && fnmatch(r->match, name, 0) == 0) ||
                           (uuid && strcasecmp(r->match, uuid) == 0);
                if (!hit)
                        continue;
                if (r->min_set) {
                        s->min_bytes = r->min_bytes;
                        rule_source(s, GUEST_SETTING_MIN, r);
                }
                if (r->max_set) {
                        s->max_bytes = r->max_bytes;
                        rule_source(s, GUEST_SETTING_MAX, r);
                }
                if (r->max_below_floor_set) {
                        s->max_below_floor = r->max_below_floor;
                        rule_source(s, GUEST_SETTING_MAX_BELOW_FLOOR, r);
                }
                if (r->manage_set) {
                        s->manage = r->manage;
                        rule_source(s, GUEST_SETTING_MANAGE, r);
                }
                if (r->shares_set) {
                        s->shares = r->shares;
                        rule_source(s, GUEST_SETTING_SHARES, r);
                }
        }
}

void config_guest_settings(const MemtideConfig *c, const char *name, const char *uuid,
                           GuestSettings *ret)
{
        guest_settings_init(ret);
        config_guest_rules_apply(c, name, uuid, ret);
}
