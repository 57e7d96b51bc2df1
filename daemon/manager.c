/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The manager: the guests' list, the control cycle (collect -> decide ->
 * act) and its timers. Which backend reaches the guests is not its concern:
 * it calls the backend's operations and the guests' actuators.
 */
#include "manager.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <systemd/sd-daemon.h>

#include "cleanup.h"
#include "log.h"
#include "psi-trigger.h"
#include "units.h"

/* A balloon command not reached by then no longer blocks new decisions. */
#define COMMAND_TIMEOUT_USEC (10 * USEC_PER_SEC)

uint64_t manager_now_usec(Manager *m)
{
        uint64_t now;
        if (sd_event_now(m->event, CLOCK_MONOTONIC, &now) < 0)
                now = 0;
        return now;
}

static uint64_t clock_usec(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * USEC_PER_SEC + (uint64_t)ts.tv_nsec / 1000;
}

uint64_t manager_wall_sec(void)
{
        return (uint64_t)time(NULL);
}

Guest *manager_find_guest(Manager *m, const char *key)
{
        for (size_t i = 0; i < m->n_guests; i++)
                if (strcmp(m->guests[i]->key, key) == 0)
                        return m->guests[i];
        return NULL;
}

int manager_add_guest(Manager *m, const char *key, Guest **ret)
{
        Guest **list = realloc(m->guests, (m->n_guests + 1) * sizeof(*list));
        Guest *g;
        int r;

        if (!list)
                return -ENOMEM;
        m->guests = list;
        r = guest_new(&g, m, &m->backend, key);
        if (r < 0)
                return r;
        m->guests[m->n_guests++] = g;
        if (ret)
                *ret = g;
        return 0;
}

void manager_remove_guest(Manager *m, Guest *g)
{
        for (size_t i = 0; i < m->n_guests; i++)
                if (m->guests[i] == g) {
                        memmove(&m->guests[i], &m->guests[i + 1],
                                (m->n_guests - i - 1) * sizeof(Guest *));
                        m->n_guests--;
                        guest_free(g);
                        return;
                }
}

void manager_refresh_settings(Manager *m, Guest *g)
{
        guest_apply_settings(g, m->config, &m->overrides);
}

void manager_guest_ready(Manager *m, Guest *g, const char *device)
{
        char max_s[32], act_s[32];

        g->state = GUEST_READY;
        manager_refresh_settings(m, g);
        log_guest(LOG_INFO, g, "managed: %s, boot memory %s, current %s%s", device,
                  format_bytes(max_s, sizeof(max_s), g->max_bytes),
                  format_bytes(act_s, sizeof(act_s), g->actual_bytes),
                  g->settings.manage ? "" : " (Manage=no: observed only)");
}

void manager_guest_lost(Manager *m, Guest *g, const char *reason, bool log_it)
{
        if (log_it)
                log_guest(LOG_WARNING, g, "connection dropped: %s", reason);
        m->errors_connection++;
        guest_reset(g, reason);
}

void manager_guest_sample(Manager *m, const Guest *g, GuestSample *ret)
{
        uint64_t wall = manager_wall_sec();
        uint64_t stale_after_sec = 3 * m->config->stats_period_usec / USEC_PER_SEC + 2;
        uint64_t device_max = guest_device_max_bytes(g), max = device_max;

        if (g->settings.max_bytes && g->settings.max_bytes < max)
                max = g->settings.max_bytes;
        /* The policy sees the guest's total, balloon and virtio-mem together;
         * guest_apply_target() splits its target between them. */
        *ret = (GuestSample){
                .name = g->name,
                .actual_bytes = guest_total_bytes(g),
                .max_bytes = max,
                .boot_bytes = device_max,
                .max_below_floor = g->settings.max_below_floor,
                .min_bytes = g->settings.min_bytes,
                .stats = g->stats,
                .stats_actual_bytes = g->stats_actual_bytes,
                .kernel_reserve_bytes = g->kernel_reserve_bytes,
                .stats_age_usec = UINT64_MAX,
                .command_pending = g->command_pending,
                .pending_target_bytes = g->pending_target_bytes,
                .manage = g->settings.manage,
                .other_controller_bytes =
                        other_controller_active(&g->other_controller, manager_now_usec(m))
                                ? g->other_controller.moved_bytes
                                : 0,
                .shares = g->settings.shares,
                .page_reporting_functional = guest_compat_reporting_functional(&g->compat),
                .deflate_on_oom =
                        g->compat.have_inference &&
                        g->compat.status.negotiated & COMPAT_FEATURE(COMPAT_F_DEFLATE_ON_OOM),
        };
        if (g->stats.last_update_sec > 0) {
                uint64_t age =
                        wall > g->stats.last_update_sec ? wall - g->stats.last_update_sec : 0;
                ret->stats_age_usec = age * USEC_PER_SEC;
                ret->stats_fresh = age <= stale_after_sec;
        }
}

/* Marked pending before it is sent: an actuator that arrives at once clears it. */
static int send_target(Manager *m, Guest *g, uint64_t target_bytes)
{
        int r;

        g->command_pending = true;
        g->pending_target_bytes = target_bytes;
        g->command_sent_usec = manager_now_usec(m);
        r = guest_apply_target(g, target_bytes);
        if (r < 0)
                g->command_pending = false;
        return r;
}

bool manager_observing(const Manager *m)
{
        return m->config->mode == DAEMON_MODE_OBSERVE || m->operator_paused;
}

/* How the target is split between the guest's devices (virtio-mem), in
 * its reason: for a change, and while an unplug stalls. */
static void add_split(const Guest *g, Decision *d)
{
        char split[160];
        size_t len = strlen(d->reason);

        if ((!d->change && !g->vmem.stalled) || d->quiet)
                return;
        guest_describe_target(g, d->target_bytes, split, sizeof(split));
        if (split[0] != '\0' && len + 2 < sizeof(d->reason))
                snprintf(d->reason + len, sizeof(d->reason) - len, "; %s", split);
}

/* A change decided while observing says so wherever its reason is shown
 * (the end of a long reason gives way to the prefix). */
static void mark_observed(Decision *d)
{
        static const char prefix[] = "observing, not sent: ";
        size_t keep = sizeof(d->reason) - sizeof(prefix); /* room left after the prefix */
        size_t len = strnlen(d->reason, keep);

        if (!d->change)
                return;
        memmove(d->reason + sizeof(prefix) - 1, d->reason, len);
        memcpy(d->reason, prefix, sizeof(prefix) - 1);
        d->reason[sizeof(prefix) - 1 + len] = '\0';
}

/* No new target: the guest's devices may still need the last one split
 * anew (an unplug that stalled or resumed). */
static void follow_plan(Guest *g, const GuestSample *in)
{
        char split[160], target_s[32];

        if (!in->manage || in->other_controller_bytes || !guest_follow_plan(g))
                return;
        guest_describe_target(g, g->pending_target_bytes, split, sizeof(split));
        log_guest(LOG_INFO, g, "target %s unchanged, devices adjusted: %s",
                  format_bytes(target_s, sizeof(target_s), g->pending_target_bytes), split);
}

static void act(Manager *m, Guest *g, const GuestSample *in, const Decision *d)
{
        char target_s[32], target_bytes[24];
        int r;

        if (!d->change || manager_observing(m)) {
                log_guest(LOG_DEBUG, g, "%s", d->reason);
                if (!manager_observing(m))
                        follow_plan(g, in);
                return;
        }
        format_bytes(target_s, sizeof(target_s), d->target_bytes);
        r = send_target(m, g, d->target_bytes);
        if (r < 0) {
                m->balloon_commands_failed++;
                log_guest_errno(LOG_WARNING, g, r, "could not send target %s: %m", target_s);
                return;
        }
        m->balloon_commands++;
        snprintf(target_bytes, sizeof(target_bytes), "%llu", (unsigned long long)d->target_bytes);
        log_fields(LOG_INFO,
                   &(LogFields){ .guest = g->name,
                                 .uuid = g->uuid,
                                 .target = target_bytes,
                                 .reason = d->reason },
                   "target %s: %s", target_s, d->reason);
}

static void expire_commands(Manager *m, uint64_t now)
{
        for (size_t i = 0; i < m->n_guests; i++) {
                Guest *g = m->guests[i];
                if (g->command_pending && now - g->command_sent_usec > COMMAND_TIMEOUT_USEC)
                        g->command_pending = false;
        }
}

/* The ready guests, their samples and policy states, in step. */
typedef struct CycleInput {
        Guest **guests;
        GuestSample *samples;
        PolicyGuestState *states;
        Decision *decisions;
        size_t n;
} CycleInput;

/* Logged here, once per move and once when memtided takes over again. */
static void check_other_controller(Manager *m, Guest *g)
{
        OtherController *o = &g->other_controller;
        uint64_t hold_sec = m->config->other_controller_hold_usec / USEC_PER_SEC;
        char from_s[32], to_s[32];
        bool deflate_on_oom = g->compat.have_inference &&
                              g->compat.status.negotiated & COMPAT_FEATURE(COMPAT_F_DEFLATE_ON_OOM);
        OtherControllerEvent e;

        if (!g->settings.manage)
                return; /* Manage=no: whoever moves its balloon, memtided does not */
        e = other_controller_check(o, g->actual_bytes, g->max_bytes, g->command_pending,
                                   deflate_on_oom, manager_now_usec(m), manager_wall_sec(),
                                   m->config->other_controller_hold_usec);
        if (e == OTHER_CONTROLLER_MOVED) {
                g->command_pending = false; /* QEMU has one target: the other's now */
                log_guest(LOG_WARNING, g,
                          "the balloon moved from %s to %s without a command of memtided's: "
                          "another controller (Proxmox's auto-ballooning, virsh setmem?); "
                          "standing back for %" PRIu64 " s instead of fighting it",
                          format_bytes(from_s, sizeof(from_s), o->moved_from_bytes),
                          format_bytes(to_s, sizeof(to_s), o->moved_bytes), hold_sec);
        } else if (e == OTHER_CONTROLLER_RESUMED)
                log_guest(LOG_INFO, g,
                          "no other controller seen for %" PRIu64 " s: managing the balloon again",
                          hold_sec);
}

static void cycle_input_free(CycleInput *in)
{
        free(in->guests);
        free(in->samples);
        free(in->states);
        free(in->decisions);
}

static int collect(Manager *m, CycleInput *in)
{
        size_t cap = m->n_guests + 1;

        in->guests = calloc(cap, sizeof(*in->guests));
        in->samples = calloc(cap, sizeof(*in->samples));
        in->states = calloc(cap, sizeof(*in->states));
        in->decisions = calloc(cap, sizeof(*in->decisions));
        if (!in->guests || !in->samples || !in->states || !in->decisions)
                return -ENOMEM;
        for (size_t i = 0; i < m->n_guests; i++) {
                Guest *g = m->guests[i];
                if (g->state != GUEST_READY)
                        continue;
                check_other_controller(m, g);
                in->guests[in->n] = g;
                manager_guest_sample(m, g, &in->samples[in->n]);
                in->states[in->n] = g->policy_state;
                in->n++;
        }
        return 0;
}

/* PSI's stall share since the last cycle, beside its slow averages; logged
 * (debug) while tasks stall, so that reaction times can be measured. */
static void host_pressure_since_last_cycle(Manager *m, uint64_t now)
{
        HostSample *h = &m->host;

        if (!m->host_ok || !h->psi_available)
                return;
        if (m->psi_prev_usec)
                h->psi_some_recent = psi_stall_percent(
                        h->psi_some_total_usec, m->psi_prev_total_usec, now - m->psi_prev_usec);
        m->psi_prev2_total_usec = m->psi_prev_total_usec;
        m->psi_prev_total_usec = h->psi_some_total_usec;
        m->psi_prev_usec = now;
        if (h->psi_some_recent > 0)
                log_debug("host: tasks stalled on memory %.1f %% of the time since the last "
                          "cycle (PSI some avg10 %.2f %%)",
                          h->psi_some_recent, h->psi_some_avg10);
}

int manager_run_cycle(Manager *m)
{
        _cleanup_(cycle_input_free) CycleInput in = { 0 };
        uint64_t start = manager_now_usec(m), begun = clock_usec(), wall = manager_wall_sec();

        m->host_ok = host_sample_read(m->proc_root, &m->host) >= 0;
        host_pressure_since_last_cycle(m, start);
        guest_budget_update(m);
        expire_commands(m, start);
        if (collect(m, &in) < 0)
                return -ENOMEM;
        /* An unreadable /proc/meminfo is no host figures (room), not the last ones. */
        Snapshot snap = { .now_usec = start,
                          .host = m->host_ok ? m->host : (HostSample){ 0 },
                          .n_guests = in.n,
                          .guests = in.samples };
        snap.host.guest_budget_bytes = m->budget.bytes; /* a cgroup read without /proc/meminfo */
        snap.host.guest_held_bytes = m->budget.held_bytes;
        policy_decide(&m->config->policy, &snap, &m->policy_state, in.states, in.decisions);
        for (size_t i = 0; i < in.n; i++) {
                in.guests[i]->policy_state = in.states[i];
                add_split(in.guests[i], &in.decisions[i]);
                if (manager_observing(m))
                        mark_observed(&in.decisions[i]);
                guest_record_decision(in.guests[i], wall, &in.samples[i], &in.decisions[i],
                                      !manager_observing(m));
                act(m, in.guests[i], &in.samples[i], &in.decisions[i]);
        }
        m->cycles++;
        /* sd_event_now() is the loop iteration's cached time: measure for real. */
        m->last_cycle_duration_usec = clock_usec() - begun;
        if (m->after_cycle)
                m->after_cycle(m);
        (void)sd_notifyf(false, "STATUS=Managing %zu guest(s), %" PRIu64 " balloon command(s) sent",
                         in.n, m->balloon_commands);
        return 0;
}

static int on_cycle_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
        Manager *m = userdata;
        const BackendOps *ops = m->backend.ops;

        if (ops->cycle_begin)
                ops->cycle_begin(&m->backend);
        if (manager_run_cycle(m) < 0)
                log_error("control cycle failed: out of memory");
        if (ops->cycle_end)
                ops->cycle_end(&m->backend);
        return sd_event_source_set_time(s, manager_now_usec(m) + m->config->interval_usec);
}

/* Stats are polled faster than QEMU refreshes them so a new report is seen soon. */
uint64_t manager_poll_period_usec(const Manager *m)
{
        uint64_t p = m->config->stats_period_usec / 4;
        return p < 250000 ? 250000 : p;
}

static int on_poll_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
        Manager *m = userdata;
        uint64_t next = usec + manager_poll_period_usec(m), now = manager_now_usec(m);

        if (m->backend.ops->poll)
                m->backend.ops->poll(&m->backend);
        /* On a grid, not from now: ticks each late by the loop's work would
         * drift (libvirt's bulk stats, the virtio-mem sizes). */
        return sd_event_source_set_time(s, next > now ? next : now + manager_poll_period_usec(m));
}

/* One StatsPeriod= after the last early cycle at the soonest: a guest that
 * reports every period still gets one per report, but guests together, or a
 * QEMU that reports faster than asked, cannot have one each time. */
static uint64_t early_cycle_at(Manager *m, uint64_t now)
{
        uint64_t earliest = m->early_cycle_usec + m->config->stats_period_usec;

        return m->early_cycle_usec && earliest > now ? earliest : now;
}

/*
 * A guest whose memory is running out is not left waiting for the next cycle:
 * its fresh stats bring the cycle forward (the guard rails still apply),
 * rate-limited, since what a guest reports is up to the guest. A cycle
 * brought forward within the limit is moved to its end, not dropped.
 */
bool manager_cycle_soon(Manager *m)
{
        uint64_t now = manager_now_usec(m), at = early_cycle_at(m, now), next;

        if (!m->cycle_timer || sd_event_source_get_time(m->cycle_timer, &next) < 0 || next <= at)
                return false;
        m->early_cycle_usec = at;
        (void)sd_event_source_set_time(m->cycle_timer, at);
        return true;
}

void manager_stats_arrived(Manager *m, Guest *g, const BalloonStats *s)
{
        GuestSample sample;

        if (!guest_stats_arrived(g, s) || !g->settings.manage)
                return;
        manager_guest_sample(m, g, &sample);
        if (!policy_wants_early_cycle(&m->config->policy, &sample, &g->policy_state))
                return;
        if (manager_cycle_soon(m))
                log_guest(LOG_DEBUG, g, "memory running short, running the cycle %s",
                          m->early_cycle_usec > manager_now_usec(m)
                                  ? "at the end of the early-cycle limit"
                                  : "now");
}

int manager_new(Manager **ret, MemtideConfig *config, const char *config_path,
                const BackendOps *backend)
{
        _cleanup_(manager_freep) Manager *m = calloc(1, sizeof(*m));
        const char *proc_root = getenv("MEMTIDE_PROC_ROOT");
        int r;

        if (!m)
                return -ENOMEM;
        m->backend = (Backend){ .ops = backend, .manager = m };
        m->psi.fd = -1;
        m->config_path = config_path ? strdup(config_path) : NULL;
        m->proc_root = strdup(proc_root ? proc_root : "/proc");
        if (!m->proc_root || (config_path && !m->config_path))
                return -ENOMEM;
        r = sd_event_default(&m->event);
        if (r < 0)
                return r;
        m->config = config; /* taken last: on failure the caller still owns it */
        *ret = TAKE_PTR(m);
        return 0;
}

Manager *manager_free(Manager *m)
{
        if (!m)
                return NULL;
        for (size_t i = 0; i < m->n_guests; i++)
                guest_free(m->guests[i]);
        free(m->guests);
        if (m->backend.ops && m->backend.ops->stop)
                m->backend.ops->stop(&m->backend);
        overrides_clear(&m->overrides);
        free(m->overrides_problem);
        guest_budget_done(&m->budget);
        psi_watch_stop(&m->psi);
        sd_event_source_unref(m->cycle_timer);
        sd_event_source_unref(m->poll_timer);
        sd_event_unref(m->event);
        config_free(m->config);
        free(m->config_path);
        free(m->proc_root);
        free(m);
        return NULL;
}

static int add_timer(Manager *m, sd_event_source **ret, uint64_t at, uint64_t accuracy_usec,
                     sd_event_time_handler_t fn)
{
        int r = sd_event_add_time(m->event, ret, CLOCK_MONOTONIC, at, accuracy_usec, fn, m);
        if (r < 0)
                return r;
        return sd_event_source_set_enabled(*ret, SD_EVENT_ON);
}

/* The PSI trigger's wake-up: the cycle, early (within its limits). */
static void cycle_soon(void *userdata)
{
        manager_cycle_soon(userdata);
}

int manager_start(Manager *m)
{
        uint64_t now;
        int r;

        r = m->backend.ops->start(&m->backend);
        if (r < 0)
                return log_error_errno(r, "Failed to start the %s backend: %m",
                                       m->backend.ops->name);
        (void)sd_event_now(m->event, CLOCK_MONOTONIC, &now);
        m->start_usec = now;
        r = add_timer(m, &m->cycle_timer, now, 10000, on_cycle_timer);
        /* 1 ms: the ticks stay a quarter period apart. */
        if (r >= 0)
                r = add_timer(m, &m->poll_timer, now + manager_poll_period_usec(m), 1000,
                              on_poll_timer);
        if (r < 0)
                return log_error_errno(r, "Failed to set up timers: %m");
        psi_watch_start(&m->psi, m->event, m->proc_root, m->config->pressure_trigger,
                        &m->psi_prev2_total_usec, cycle_soon, m);
        log_info("memtided started: backend %s, interval %" PRIu64 " ms, stats period %" PRIu64
                 " s",
                 m->backend.ops->name, m->config->interval_usec / 1000,
                 m->config->stats_period_usec / USEC_PER_SEC);
        return 0;
}
