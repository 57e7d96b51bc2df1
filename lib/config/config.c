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
#include <unistd.h>

#include "cleanup.h"
#include "model.h"
#include "units.h"

#define MAX_CONFIG_BYTES (1024 * 1024)

typedef enum Section {
        SECTION_NONE,
        SECTION_DAEMON,
        SECTION_POLICY,
        SECTION_GUEST,
        SECTION_KSM,
} Section;

/* A key's parser: stores value into c (or the current guest rule) or returns
 * -EINVAL with a reason in *why (a static string). */
typedef int (*key_parser)(MemtideConfig *c, GuestRule *rule, const char *value, const char **why);

typedef struct ConfigKey {
        Section section;
        const char *key;
        key_parser parse;
} ConfigKey;

static const char *const backend_names[_BACKEND_KIND_MAX] = {
        [BACKEND_AUTO] = "auto",
        [BACKEND_QMP] = "qmp",
        [BACKEND_LIBVIRT] = "libvirt",
};

const char *backend_kind_to_string(BackendKind k)
{
        return k < _BACKEND_KIND_MAX ? backend_names[k] : NULL;
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

static int parse_backend(MemtideConfig *c, GuestRule *rule, const char *v, const char **why)
{
        for (int i = 0; i < _BACKEND_KIND_MAX; i++)
                if (strcmp(v, backend_names[i]) == 0) {
                        c->backend = i;
                        return 0;
                }
        *why = "expected auto, libvirt or qmp";
        return -EINVAL;
}

static int parse_libvirt_uri(MemtideConfig *c, GuestRule *rule, const char *v, const char **why)
{
        return replace_string(&c->libvirt_uri, v);
}

static int parse_absolute_path(const char *v, char **dst, bool empty_ok, const char **why)
{
        if (empty_ok && v[0] == '\0') {
                free(*dst);
                *dst = NULL;
                return 0;
        }
        if (v[0] != '/') {
                *why = "expected an absolute path";
                return -EINVAL;
        }
        return replace_string(dst, v);
}

static int parse_state_directory(MemtideConfig *c, GuestRule *rule, const char *v, const char **why)
{
        return parse_absolute_path(v, &c->state_directory, false, why);
}

/* An empty value turns metrics off. */
static int parse_metrics_file(MemtideConfig *c, GuestRule *rule, const char *v, const char **why)
{
        return parse_absolute_path(v, &c->metrics_file, true, why);
}

static int parse_yes_no(const char *v, bool *dst, const char **why)
{
        if (strcmp(v, "yes") == 0 || strcmp(v, "true") == 0 || strcmp(v, "1") == 0)
                *dst = true;
        else if (strcmp(v, "no") == 0 || strcmp(v, "false") == 0 || strcmp(v, "0") == 0)
                *dst = false;
        else {
                *why = "expected yes or no";
                return -EINVAL;
        }
        return 0;
}

static int parse_libvirt_qmp_passthrough(MemtideConfig *c, GuestRule *rule, const char *v,
                                         const char **why)
{
        return parse_yes_no(v, &c->libvirt_qmp_passthrough, why);
}

static int parse_control_socket(MemtideConfig *c, GuestRule *rule, const char *v, const char **why)
{
        if (v[0] != '/') {
                *why = "expected an absolute path";
                return -EINVAL;
        }
        return replace_string(&c->control_socket, v);
}

/* Space-separated globs; an empty value clears the list (systemd convention). */
static int parse_qmp_sockets(MemtideConfig *c, GuestRule *rule, const char *v, const char **why)
{
        _cleanup_free_ char *copy = strdup(v);
        size_t n = 0;
        char **list, *save = NULL;

        if (!copy)
                return -ENOMEM;
        list = calloc(strlen(v) / 2 + 2, sizeof(char *));
        if (!list)
                return -ENOMEM;
        for (char *tok = strtok_r(copy, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
                if (tok[0] != '/') {
                        strv_free(list);
                        *why = "socket globs must be absolute paths";
                        return -EINVAL;
                }
                list[n] = strdup(tok);
                if (!list[n++]) {
                        strv_free(list);
                        return -ENOMEM;
                }
        }
        strv_free(c->qmp_sockets);
        c->qmp_sockets = list;
        return 0;
}

static int parse_positive_time(const char *v, uint64_t *dst, const char **why)
{
        uint64_t usec;
        if (parse_time_usec(v, &usec) < 0 || usec < 100000 || usec > 3600 * USEC_PER_SEC) {
                *why = "expected a time between 100ms and 1h, e.g. 2s or 500ms";
                return -EINVAL;
        }
        *dst = usec;
        return 0;
}

static int parse_interval(MemtideConfig *c, GuestRule *rule, const char *v, const char **why)
{
        return parse_positive_time(v, &c->interval_usec, why);
}

static int parse_stats_period(MemtideConfig *c, GuestRule *rule, const char *v, const char **why)
{
        uint64_t usec;
        int r = parse_positive_time(v, &usec, why);
        if (r < 0)
                return r;
        /* QEMU's guest-stats-polling-interval is whole seconds. */
        if (usec % USEC_PER_SEC != 0) {
                *why = "QEMU polls guest stats in whole seconds, e.g. 1s or 2s";
                return -EINVAL;
        }
        c->stats_period_usec = usec;
        return 0;
}

static int parse_strategy(MemtideConfig *c, GuestRule *rule, const char *v, const char **why)
{
        int s = policy_strategy_from_string(v);
        if (s < 0) {
                *why = "unknown strategy (known: adaptive, mom, proxmox)";
                return -EINVAL;
        }
        c->policy.strategy = s;
        return 0;
}

static int parse_headroom_min(MemtideConfig *c, GuestRule *rule, const char *v, const char **why)
{
        if (parse_size(v, &c->policy.headroom_min_bytes) < 0) {
                *why = "expected a size such as 64M";
                return -EINVAL;
        }
        return 0;
}

/* "25%" as a share in (0, 1]. */
static int parse_percent(const char *v, double *ret)
{
        char *end;
        double d = strtod(v, &end);
        if (end == v || strcmp(end, "%") != 0 || !(d > 0 && d <= 100))
                return -EINVAL;
        *ret = d / 100.0;
        return 0;
}

static int parse_headroom_share(MemtideConfig *c, GuestRule *rule, const char *v, const char **why)
{
        if (parse_percent(v, &c->policy.headroom_share) < 0) {
                *why = "expected a percentage such as 10%";
                return -EINVAL;
        }
        return 0;
}

static int parse_size_or_share(const char *v, SizeOrShare *dst, const char **why)
{
        SizeOrShare s = { 0 };
        if (strchr(v, '%') ? parse_percent(v, &s.share) < 0 : parse_size(v, &s.bytes) < 0 || s.bytes == 0) {
                *why = "expected a size such as 128M or a percentage of the guest's maximum such as 10%";
                return -EINVAL;
        }
        *dst = s;
        return 0;
}

static int parse_inflate_step(MemtideConfig *c, GuestRule *rule, const char *v, const char **why)
{
        return parse_size_or_share(v, &c->policy.inflate_step, why);
}

static int parse_deflate_step(MemtideConfig *c, GuestRule *rule, const char *v, const char **why)
{
        return parse_size_or_share(v, &c->policy.deflate_step, why);
}

static int parse_growth_horizon(MemtideConfig *c, GuestRule *rule, const char *v, const char **why)
{
        if (parse_time_usec(v, &c->policy.growth_horizon_usec) < 0) {
                *why = "expected a time such as 5s";
                return -EINVAL;
        }
        return 0;
}

static int parse_time_into(const char *v, uint64_t *dst, const char **why)
{
        if (parse_time_usec(v, dst) < 0 || *dst == 0) {
                *why = "expected a time such as 10s or 10min";
                return -EINVAL;
        }
        return 0;
}

static int parse_percent_into(const char *v, double *dst, const char **why)
{
        if (parse_percent(v, dst) < 0) {
                *why = "expected a percentage such as 20%";
                return -EINVAL;
        }
        return 0;
}

static int parse_size_into(const char *v, uint64_t *dst, const char **why)
{
        if (parse_size(v, dst) < 0) {
                *why = "expected a size such as 100M";
                return -EINVAL;
        }
        return 0;
}

static int parse_peak_half_life(MemtideConfig *c, GuestRule *rule, const char *v, const char **why)
{
        return parse_time_into(v, &c->policy.peak_half_life_usec, why);
}

static int parse_volatility_factor(MemtideConfig *c, GuestRule *rule, const char *v,
                                   const char **why)
{
        char *end;
        double d = strtod(v, &end);
        if (end == v || *end != '\0' || !(d >= 0 && d <= 100)) {
                *why = "expected a number between 0 and 100, e.g. 3";
                return -EINVAL;
        }
        c->policy.volatility_factor = d;
        return 0;
}

/* Pressure starts at 4 x the reserve: above 25 % an idle host would count as pressed. */
static int parse_host_reserve(MemtideConfig *c, GuestRule *rule, const char *v, const char **why)
{
        int r = parse_percent_into(v, &c->policy.host_reserve, why);
        if (r == 0 && c->policy.host_reserve > 0.25) {
                *why = "expected a percentage of at most 25%";
                return -EINVAL;
        }
        return r;
}

static int parse_floor_narrowing(MemtideConfig *c, GuestRule *rule, const char *v,
                                 const char **why)
{
        return parse_yes_no(v, &c->policy.floor_narrowing, why);
}

static int parse_host_pressure_full(MemtideConfig *c, GuestRule *rule, const char *v,
                                    const char **why)
{
        return parse_percent_into(v, &c->policy.host_pressure_full, why);
}

static int parse_idle_tax(MemtideConfig *c, GuestRule *rule, const char *v, const char **why)
{
        int r = parse_percent_into(v, &c->policy.idle_tax, why);
        if (r == 0 && c->policy.idle_tax >= 1.0) {
                *why = "expected a percentage below 100%";
                return -EINVAL;
        }
        return r;
}

static int parse_mom_interval(MemtideConfig *c, GuestRule *rule, const char *v, const char **why)
{
        return parse_time_into(v, &c->policy.mom.interval_usec, why);
}

static int parse_mom_sample_interval(MemtideConfig *c, GuestRule *rule, const char *v,
                                     const char **why)
{
        return parse_time_into(v, &c->policy.mom.sample_interval_usec, why);
}

static int parse_mom_pressure_threshold(MemtideConfig *c, GuestRule *rule, const char *v,
                                        const char **why)
{
        return parse_percent_into(v, &c->policy.mom.pressure_threshold, why);
}

static int parse_mom_pressure_critical(MemtideConfig *c, GuestRule *rule, const char *v,
                                       const char **why)
{
        return parse_percent_into(v, &c->policy.mom.pressure_critical, why);
}

static int parse_mom_min_guest_free(MemtideConfig *c, GuestRule *rule, const char *v,
                                    const char **why)
{
        return parse_percent_into(v, &c->policy.mom.min_guest_free, why);
}

static int parse_mom_max_change(MemtideConfig *c, GuestRule *rule, const char *v, const char **why)
{
        return parse_percent_into(v, &c->policy.mom.max_change, why);
}

static int parse_mom_min_change(MemtideConfig *c, GuestRule *rule, const char *v, const char **why)
{
        return parse_percent_into(v, &c->policy.mom.min_change, why);
}

static int parse_proxmox_interval(MemtideConfig *c, GuestRule *rule, const char *v,
                                  const char **why)
{
        return parse_time_into(v, &c->policy.proxmox.interval_usec, why);
}

static int parse_proxmox_target(MemtideConfig *c, GuestRule *rule, const char *v, const char **why)
{
        return parse_percent_into(v, &c->policy.proxmox.target, why);
}

static int parse_proxmox_max_change(MemtideConfig *c, GuestRule *rule, const char *v,
                                    const char **why)
{
        return parse_size_into(v, &c->policy.proxmox.max_change_bytes, why);
}

static int parse_proxmox_dead_band(MemtideConfig *c, GuestRule *rule, const char *v,
                                   const char **why)
{
        return parse_size_into(v, &c->policy.proxmox.dead_band_bytes, why);
}

static int parse_guest_size(const char *v, uint64_t *dst, bool *set, const char **why)
{
        if (parse_size(v, dst) < 0) {
                *why = "expected a size such as 256M or 1G";
                return -EINVAL;
        }
        *set = true;
        return 0;
}

static int parse_min_memory(MemtideConfig *c, GuestRule *rule, const char *v, const char **why)
{
        return parse_guest_size(v, &rule->min_bytes, &rule->min_set, why);
}

static int parse_max_memory(MemtideConfig *c, GuestRule *rule, const char *v, const char **why)
{
        return parse_guest_size(v, &rule->max_bytes, &rule->max_set, why);
}

/* Proxmox's shares: 0 leaves the guest out of auto-ballooning. */
static int parse_shares(MemtideConfig *c, GuestRule *rule, const char *v, const char **why)
{
        char *end;
        unsigned long n;

        errno = 0;
        n = strtoul(v, &end, 10);
        if (end == v || *end != '\0' || errno != 0 || v[0] == '-' || n > 50000) {
                *why = "expected a whole number between 0 and 50000, e.g. 1000";
                return -EINVAL;
        }
        rule->shares = (uint32_t)n;
        rule->shares_set = true;
        return 0;
}

static int parse_manage(MemtideConfig *c, GuestRule *rule, const char *v, const char **why)
{
        int r = parse_yes_no(v, &rule->manage, why);
        if (r >= 0)
                rule->manage_set = true;
        return r;
}

static int parse_ksm_enabled(MemtideConfig *c, GuestRule *rule, const char *v, const char **why)
{
        return parse_yes_no(v, &c->ksm.enabled, why);
}

static int parse_ksm_sysfs_path(MemtideConfig *c, GuestRule *rule, const char *v, const char **why)
{
        if (v[0] != '/') {
                *why = "expected an absolute path";
                return -EINVAL;
        }
        return replace_string(&c->ksm.sysfs_path, v);
}

static int parse_ksm_threshold_share(MemtideConfig *c, GuestRule *rule, const char *v,
                                     const char **why)
{
        return parse_percent_into(v, &c->ksm.threshold_share, why);
}

/* Guests may be committed beyond the host's memory: up to 1000 %. */
static int parse_ksm_committed_share(MemtideConfig *c, GuestRule *rule, const char *v,
                                     const char **why)
{
        char *end;
        double d = strtod(v, &end);
        if (end == v || strcmp(end, "%") != 0 || !(d > 0 && d <= 1000)) {
                *why = "expected a percentage of host memory such as 80% (up to 1000%)";
                return -EINVAL;
        }
        c->ksm.committed_share = d / 100.0;
        return 0;
}

/* A count of pages for ksmd's pages_to_scan, between min and 100000. */
static int parse_ksm_pages(const char *v, uint32_t min, uint32_t *dst, const char **why)
{
        char *end;
        unsigned long n;

        errno = 0;
        n = strtoul(v, &end, 10);
        if (end == v || *end != '\0' || errno != 0 || v[0] == '-' || n < min || n > 100000) {
                *why = min > 0 ? "expected a whole number of pages between 1 and 100000, e.g. 64"
                               : "expected a whole number of pages between 0 and 100000, e.g. 300";
                return -EINVAL;
        }
        *dst = (uint32_t)n;
        return 0;
}

static int parse_ksm_pages_boost(MemtideConfig *c, GuestRule *rule, const char *v, const char **why)
{
        return parse_ksm_pages(v, 0, &c->ksm.pages_boost, why);
}

/* ksmtuned writes KSM_NPAGES_DECAY=-50; here it is the positive amount taken off. */
static int parse_ksm_pages_decay(MemtideConfig *c, GuestRule *rule, const char *v, const char **why)
{
        return parse_ksm_pages(v, 0, &c->ksm.pages_decay, why);
}

static int parse_ksm_pages_min(MemtideConfig *c, GuestRule *rule, const char *v, const char **why)
{
        return parse_ksm_pages(v, 1, &c->ksm.pages_min, why);
}

static int parse_ksm_pages_max(MemtideConfig *c, GuestRule *rule, const char *v, const char **why)
{
        return parse_ksm_pages(v, 1, &c->ksm.pages_max, why);
}

static int parse_ksm_sleep_msec_per_16gib(MemtideConfig *c, GuestRule *rule, const char *v,
                                          const char **why)
{
        char *end;
        unsigned long n;

        errno = 0;
        n = strtoul(v, &end, 10);
        if (end == v || *end != '\0' || errno != 0 || v[0] == '-' || n < 1 || n > 60000) {
                *why = "expected milliseconds between 1 and 60000, e.g. 10";
                return -EINVAL;
        }
        c->ksm.sleep_msec_per_16gib = (uint32_t)n;
        return 0;
}

static const ConfigKey config_keys[] = {
        { SECTION_DAEMON, "Backend", parse_backend },
        { SECTION_DAEMON, "LibvirtURI", parse_libvirt_uri },
        { SECTION_DAEMON, "LibvirtQMPPassthrough", parse_libvirt_qmp_passthrough },
        { SECTION_DAEMON, "QMPSockets", parse_qmp_sockets },
        { SECTION_DAEMON, "Interval", parse_interval },
        { SECTION_DAEMON, "StatsPeriod", parse_stats_period },
        { SECTION_DAEMON, "ControlSocket", parse_control_socket },
        { SECTION_DAEMON, "StateDirectory", parse_state_directory },
        { SECTION_DAEMON, "MetricsFile", parse_metrics_file },
        { SECTION_POLICY, "Strategy", parse_strategy },
        { SECTION_POLICY, "HeadroomMin", parse_headroom_min },
        { SECTION_POLICY, "HeadroomShare", parse_headroom_share },
        { SECTION_POLICY, "InflateStep", parse_inflate_step },
        { SECTION_POLICY, "DeflateStep", parse_deflate_step },
        { SECTION_POLICY, "GrowthHorizon", parse_growth_horizon },
        { SECTION_POLICY, "PeakHalfLife", parse_peak_half_life },
        { SECTION_POLICY, "VolatilityFactor", parse_volatility_factor },
        { SECTION_POLICY, "HostReserve", parse_host_reserve },
        { SECTION_POLICY, "FloorNarrowing", parse_floor_narrowing },
        { SECTION_POLICY, "IdleTax", parse_idle_tax },
        { SECTION_POLICY, "HostPressureFull", parse_host_pressure_full },
        { SECTION_POLICY, "MomInterval", parse_mom_interval },
        { SECTION_POLICY, "MomSampleInterval", parse_mom_sample_interval },
        { SECTION_POLICY, "MomPressureThreshold", parse_mom_pressure_threshold },
        { SECTION_POLICY, "MomPressureCritical", parse_mom_pressure_critical },
        { SECTION_POLICY, "MomMinGuestFree", parse_mom_min_guest_free },
        { SECTION_POLICY, "MomMaxChange", parse_mom_max_change },
        { SECTION_POLICY, "MomMinChange", parse_mom_min_change },
        { SECTION_POLICY, "ProxmoxInterval", parse_proxmox_interval },
        { SECTION_POLICY, "ProxmoxTarget", parse_proxmox_target },
        { SECTION_POLICY, "ProxmoxMaxChange", parse_proxmox_max_change },
        { SECTION_POLICY, "ProxmoxDeadBand", parse_proxmox_dead_band },
        { SECTION_GUEST, "MinMemory", parse_min_memory },
        { SECTION_GUEST, "MaxMemory", parse_max_memory },
        { SECTION_GUEST, "Manage", parse_manage },
        { SECTION_GUEST, "Shares", parse_shares },
        { SECTION_KSM, "Enabled", parse_ksm_enabled },
        { SECTION_KSM, "SysfsPath", parse_ksm_sysfs_path },
        { SECTION_KSM, "ThresholdShare", parse_ksm_threshold_share },
        { SECTION_KSM, "CommittedShare", parse_ksm_committed_share },
        { SECTION_KSM, "PagesBoost", parse_ksm_pages_boost },
        { SECTION_KSM, "PagesDecay", parse_ksm_pages_decay },
        { SECTION_KSM, "PagesMin", parse_ksm_pages_min },
        { SECTION_KSM, "PagesMax", parse_ksm_pages_max },
        { SECTION_KSM, "SleepMsecPer16GiB", parse_ksm_sleep_msec_per_16gib },
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

int config_new(MemtideConfig **ret)
{
        MemtideConfig *c = calloc(1, sizeof(*c));
        const char *dummy;

        if (!c)
                return -ENOMEM;
        c->backend = BACKEND_AUTO;
        c->interval_usec = 2 * USEC_PER_SEC;
        c->stats_period_usec = 1 * USEC_PER_SEC;
        policy_config_init(&c->policy);
        ksm_config_init(&c->ksm);
        if (replace_string(&c->libvirt_uri, "qemu:///system") < 0 ||
            replace_string(&c->control_socket, CONFIG_DEFAULT_CONTROL_SOCKET) < 0 ||
            replace_string(&c->ksm.sysfs_path, KSM_SYSFS_PATH_DEFAULT) < 0 ||
            replace_string(&c->state_directory, config_default_state_directory()) < 0 ||
            parse_qmp_sockets(c, NULL, "/run/memtide/qmp/*.qmp /var/run/qemu-server/*.qmp", &dummy) < 0) {
                config_free(c);
                return -ENOMEM;
        }
        *ret = c;
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
        strv_free(c->qmp_sockets);
        for (size_t i = 0; i < c->n_guest_rules; i++)
                free(c->guest_rules[i].match);
        free(c->guest_rules);
        free(c);
        return NULL;
}

DEFINE_POINTER_CLEANUP(MemtideConfig, config_free)

static int set_error(char **ret_error, const char *file, unsigned line, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

static int set_error(char **ret_error, const char *file, unsigned line, const char *fmt, ...)
{
        _cleanup_free_ char *msg = NULL;
        va_list ap;

        va_start(ap, fmt);
        if (vasprintf(&msg, fmt, ap) < 0)
                msg = NULL;
        va_end(ap);
        if (ret_error && asprintf(ret_error, "%s:%u: %s", file, line, msg ? msg : "error") < 0)
                *ret_error = NULL;
        return -EINVAL;
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

static GuestRule *guest_rule_add(MemtideConfig *c, const char *match)
{
        GuestRule *rules = realloc(c->guest_rules, (c->n_guest_rules + 1) * sizeof(*rules));
        if (!rules)
                return NULL;
        c->guest_rules = rules;
        GuestRule *r = &rules[c->n_guest_rules];
        *r = (GuestRule){ .match = strdup(match), .manage = true };
        if (!r->match)
                return NULL;
        c->n_guest_rules++;
        return r;
}

/* "[Guest:web-*]" -> SECTION_GUEST and a new rule; unknown sections are errors. */
static int parse_section(MemtideConfig *c, char *line, Section *section, GuestRule **rule,
                         const char *file, unsigned n, char **ret_error)
{
        size_t len = strlen(line);
        if (line[len - 1] != ']')
                return set_error(ret_error, file, n, "section header lacks its closing ']'");
        line[len - 1] = '\0';
        const char *name = line + 1;
        *rule = NULL;
        if (strcmp(name, "Daemon") == 0)
                *section = SECTION_DAEMON;
        else if (strcmp(name, "Policy") == 0)
                *section = SECTION_POLICY;
        else if (strcmp(name, "KSM") == 0)
                *section = SECTION_KSM;
        else if (strncmp(name, "Guest:", 6) == 0 && name[6] != '\0') {
                *section = SECTION_GUEST;
                *rule = guest_rule_add(c, name + 6);
                if (!*rule)
                        return -ENOMEM;
        } else
                return set_error(ret_error, file, n,
                                 "unknown section [%s] (known: Daemon, Policy, KSM, Guest:GLOB)", name);
        return 0;
}

static int parse_assignment(MemtideConfig *c, char *line, Section section, GuestRule *rule,
                            const char *file, unsigned n, char **ret_error)
{
        char *eq = strchr(line, '=');
        if (!eq)
                return set_error(ret_error, file, n, "expected Key=Value or [Section]");
        *eq = '\0';
        const char *key = strip(line), *value = strip(eq + 1);
        if (section == SECTION_NONE)
                return set_error(ret_error, file, n, "%s= outside of any section", key);
        for (size_t i = 0; i < ELEMENTSOF(config_keys); i++) {
                const ConfigKey *k = &config_keys[i];
                if (k->section != section || strcmp(k->key, key) != 0)
                        continue;
                const char *why = "invalid value";
                int r = k->parse(c, rule, value, &why);
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        return set_error(ret_error, file, n, "%s=%s: %s", key, value, why);
                return 0;
        }
        return set_error(ret_error, file, n, "unknown key %s= in this section", key);
}

int config_parse_text(MemtideConfig *c, const char *text, const char *file, char **ret_error)
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
                        r = parse_section(c, line, &section, &rule, file, n, ret_error);
                else
                        r = parse_assignment(c, line, section, rule, file, n, ret_error);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int read_file(const char *path, char **ret, char **ret_error)
{
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        _cleanup_free_ char *buf = NULL;
        size_t n;

        if (!f) {
                int r = -errno;
                if (ret_error && asprintf(ret_error, "%s: %s", path, strerror(-r)) < 0)
                        *ret_error = NULL;
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
                if (ret_error && asprintf(ret_error, "%s: %s", path, why) < 0)
                        *ret_error = NULL;
                return -EIO;
        }
        buf[n] = '\0';
        if (memchr(buf, '\0', n))
                return set_error(ret_error, path, 1, "file contains a NUL byte");
        *ret = TAKE_PTR(buf);
        return 0;
}

static int load_one(MemtideConfig *c, const char *path, char **ret_error)
{
        _cleanup_free_ char *text = NULL;
        int r = read_file(path, &text, ret_error);
        if (r < 0)
                return r;
        return config_parse_text(c, text, path, ret_error);
}

static int conf_filter(const struct dirent *d)
{
        size_t n = strlen(d->d_name);
        return d->d_name[0] != '.' && n > 5 && strcmp(d->d_name + n - 5, ".conf") == 0;
}

static int load_dropins(MemtideConfig *c, const char *path, char **ret_error)
{
        _cleanup_free_ char *dir = NULL;
        struct dirent **names = NULL;
        int n, r = 0;

        if (asprintf(&dir, "%s.d", path) < 0)
                return -ENOMEM;
        n = scandir(dir, &names, conf_filter, alphasort);
        if (n < 0)
                return errno == ENOENT ? 0 : set_error(ret_error, dir, 0, "%s", strerror(errno));
        for (int i = 0; i < n; i++) {
                _cleanup_free_ char *file = NULL;
                if (r >= 0 && asprintf(&file, "%s/%s", dir, names[i]->d_name) < 0)
                        r = -ENOMEM;
                if (r >= 0)
                        r = load_one(c, file, ret_error);
                free(names[i]);
        }
        free(names);
        return r;
}

static int load(const char *path, bool main_optional, MemtideConfig **ret, char **ret_error)
{
        _cleanup_(config_freep) MemtideConfig *c = NULL;
        int r;

        if (ret_error)
                *ret_error = NULL;
        r = config_new(&c);
        if (r < 0)
                return r;
        if (!main_optional || access(path, F_OK) == 0 || errno != ENOENT) {
                r = load_one(c, path, ret_error);
                if (r < 0)
                        return r;
        }
        r = load_dropins(c, path, ret_error);
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

void config_guest_settings(const MemtideConfig *c, const char *name, const char *uuid,
                           GuestSettings *ret)
{
        *ret = (GuestSettings){ .manage = true, .shares = POLICY_SHARES_DEFAULT };
        for (size_t i = 0; i < c->n_guest_rules; i++) {
                const GuestRule *r = &c->guest_rules[i];
                bool hit = (name && fnmatch(r->match, name, 0) == 0) ||
                           (uuid && strcasecmp(r->match, uuid) == 0);
                if (!hit)
                        continue;
                if (r->min_set)
                        ret->min_bytes = r->min_bytes;
                if (r->max_set)
                        ret->max_bytes = r->max_bytes;
                if (r->manage_set)
                        ret->manage = r->manage;
                if (r->shares_set)
                        ret->shares = r->shares;
        }
}
