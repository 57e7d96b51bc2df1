/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The manager: discovery of QMP sockets, the control cycle (collect ->
 * decide -> act), stats polling, and the guests' lifecycle.
 */
#include "manager.h"

#include <errno.h>
#include <glob.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <systemd/sd-daemon.h>

#include "cleanup.h"
#include "control.h"
#include "host.h"
#include "ksm-control.h"
#include "libvirt-guests.h"
#include "log.h"
#include "metrics.h"
#include "units.h"

#define RECONNECT_MIN_USEC (1 * USEC_PER_SEC)
#define RECONNECT_MAX_USEC (30 * USEC_PER_SEC)
/* A balloon command not reached by then no longer blocks new decisions. */
#define COMMAND_TIMEOUT_USEC (10 * USEC_PER_SEC)
/* A monitor that does not answer (QEMU stopped with SIGSTOP, wedged) is
 * dropped and reconnected; its guest is not managed meanwhile. */
#define QMP_ANSWER_TIMEOUT_USEC (20 * USEC_PER_SEC)

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

static Guest *find_guest(Manager *m, const char *path)
{
        for (size_t i = 0; i < m->n_guests; i++)
                if (m->guests[i]->socket_path && strcmp(m->guests[i]->socket_path, path) == 0)
                        return m->guests[i];
        return NULL;
}

int manager_add_guest(Manager *m, GuestBackend backend, const char *key, Guest **ret)
{
        Guest **list = realloc(m->guests, (m->n_guests + 1) * sizeof(*list));
        Guest *g;
        int r;

        if (!list)
                return -ENOMEM;
        m->guests = list;
        r = guest_new(&g, m, backend, key);
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

static int add_qmp_guest(Manager *m, const char *path)
{
        Guest *g;
        int r = manager_add_guest(m, GUEST_BACKEND_QMP, path, &g);
        if (r >= 0)
                log_guest(LOG_INFO, g, "found QMP socket %s", path);
        return r;
}

static void try_connect(Manager *m, Guest *g, uint64_t now)
{
        if (g->state != GUEST_DISCONNECTED || now < g->reconnect_at_usec)
                return;
        int r = qmp_guest_connect(g);
        if (r < 0)
                manager_guest_lost(m, g, strerror(-r));
}

/* Globs QMPSockets=: new sockets are connected, vanished ones forgotten. */
static void discover(Manager *m)
{
        uint64_t now = manager_now_usec(m);

        for (size_t i = 0; i < m->n_guests; i++)
                m->guests[i]->seen = false;
        for (char **p = m->config->qmp_sockets; p && *p; p++) {
                glob_t gl = { 0 };
                if (glob(*p, GLOB_NOSORT, NULL, &gl) == 0)
                        for (size_t j = 0; j < gl.gl_pathc; j++) {
                                Guest *g = find_guest(m, gl.gl_pathv[j]);
                                if (g)
                                        g->seen = true;
                                else if (add_qmp_guest(m, gl.gl_pathv[j]) < 0)
                                        log_error("out of memory adding %s", gl.gl_pathv[j]);
                        }
                globfree(&gl);
        }
        for (size_t i = m->n_guests; i-- > 0;)
                if (!m->guests[i]->seen) {
                        log_guest(LOG_INFO, m->guests[i], "QMP socket %s is gone, forgetting the guest",
                                  m->guests[i]->socket_path);
                        manager_remove_guest(m, m->guests[i]);
                }
        for (size_t i = 0; i < m->n_guests; i++)
                try_connect(m, m->guests[i], now);
}

void manager_guest_ready(Manager *m, Guest *g)
{
        char max_s[32], act_s[32];
        g->state = GUEST_READY;
        g->failures = 0;
        manager_refresh_settings(m, g);
        log_guest(LOG_INFO, g, "managed: balloon %s, boot memory %s, current %s%s", g->balloon_path,
                  format_bytes(max_s, sizeof(max_s), g->max_bytes),
                  format_bytes(act_s, sizeof(act_s), g->actual_bytes),
                  g->settings.manage ? "" : " (Manage=no: observed only)");
        if (g->backend == GUEST_BACKEND_QMP)
                (void)qmp_guest_poll_stats(g);
}

void manager_guest_lost(Manager *m, Guest *g, const char *reason)
{
        uint64_t backoff = RECONNECT_MIN_USEC << (g->failures < 5 ? g->failures : 5);

        if (backoff > RECONNECT_MAX_USEC)
                backoff = RECONNECT_MAX_USEC;
        if (g->state == GUEST_READY || g->failures == 0)
                log_guest(LOG_WARNING, g, "connection dropped: %s", reason);
        free(g->last_error);
        g->last_error = strdup(reason);
        m->errors_connection++;
        qmp_guest_disconnect(g, reason);
        g->state = GUEST_DISCONNECTED;
        g->failures++;
        g->reconnect_at_usec = manager_now_usec(m) + backoff;
        /* Stats belong to the connection that is gone. */
        balloon_stats_init(&g->stats);
        g->stats_actual_bytes = 0;
        guest_compat_clear(&g->compat);
        g->policy_state = (PolicyGuestState){ 0 };
        g->has_decision = false;
        g->history_len = g->history_next = 0;
}

void manager_guest_sample(Manager *m, const Guest *g, GuestSample *ret)
{
        uint64_t wall = manager_wall_sec();
        uint64_t stale_after_sec = 3 * m->config->stats_period_usec / USEC_PER_SEC + 2;
        uint64_t max = g->max_bytes;

        if (g->settings.max_bytes && g->settings.max_bytes < max)
                max = g->settings.max_bytes;
        *ret = (GuestSample){
                .name = g->name,
                .actual_bytes = g->actual_bytes,
                .max_bytes = max,
                .min_bytes = g->settings.min_bytes,
                .stats = g->stats,
                .stats_actual_bytes = g->stats_actual_bytes,
                .kernel_reserve_bytes = g->kernel_reserve_bytes,
                .stats_age_usec = UINT64_MAX,
                .command_pending = g->command_pending,
                .pending_target_bytes = g->pending_target_bytes,
                .manage = g->settings.manage,
                .shares = g->settings.shares,
                .page_reporting_functional = guest_compat_reporting_functional(&g->compat),
                .deflate_on_oom = g->compat.have_inference &&
                                  g->compat.status.negotiated & COMPAT_FEATURE(COMPAT_F_DEFLATE_ON_OOM),
        };
        if (g->stats.last_update_sec > 0) {
                uint64_t age = wall > g->stats.last_update_sec ? wall - g->stats.last_update_sec : 0;
                ret->stats_age_usec = age * USEC_PER_SEC;
                ret->stats_fresh = age <= stale_after_sec;
        }
}

static void act(Manager *m, Guest *g, const Decision *d)
{
        char target_s[32];
        int r;

        format_bytes(target_s, sizeof(target_s), d->target_bytes);
        if (!d->change) {
                log_guest(LOG_DEBUG, g, "%s", d->reason);
                return;
        }
        switch (g->backend) {
        case GUEST_BACKEND_FAKE:
                guest_balloon_changed(g, d->target_bytes);
                r = 0;
                break;
        case GUEST_BACKEND_LIBVIRT:
                r = libvirt_guests_set_target(m, g, d->target_bytes);
                break;
        default:
                r = qmp_guest_set_target(g, d->target_bytes);
        }
        if (r >= 0 && g->backend == GUEST_BACKEND_LIBVIRT) {
                g->command_pending = true;
                g->pending_target_bytes = d->target_bytes;
                g->command_sent_usec = manager_now_usec(m);
        }
        if (r < 0) {
                log_guest(LOG_WARNING, g, "could not send balloon target %s: %s", target_s, strerror(-r));
                return;
        }
        m->balloon_commands++;
        char target_bytes[24];
        snprintf(target_bytes, sizeof(target_bytes), "%llu", (unsigned long long)d->target_bytes);
        log_fields(LOG_INFO,
                   &(LogFields){ .guest = g->name, .uuid = g->uuid, .target = target_bytes,
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

/* What the guest costs the host: the QEMU process at the other end of its QMP socket. */
static void read_qemu_rss(Manager *m, Guest *g)
{
        int pid = qmp_client_peer_pid(g->qmp);
        if (pid <= 0 || host_process_rss(m->proc_root, pid, &g->qemu_rss_bytes) < 0)
                g->qemu_rss_bytes = 0;
}

static void record_decision(Guest *g, const GuestSample *in, const Decision *d)
{
        DecisionRecord *rec = &g->history[g->history_next];

        *rec = (DecisionRecord){ .wall_sec = manager_wall_sec(), .input = *in, .decision = *d };
        rec->input.name = NULL;
        g->history_next = (g->history_next + 1) % GUEST_HISTORY;
        if (g->history_len < GUEST_HISTORY)
                g->history_len++;
}

/* Collect -> decide -> act over the guests that are ready. */
int manager_run_cycle(Manager *m)
{
        _cleanup_free_ GuestSample *samples = calloc(m->n_guests + 1, sizeof(GuestSample));
        _cleanup_free_ PolicyGuestState *states = calloc(m->n_guests + 1, sizeof(PolicyGuestState));
        _cleanup_free_ Decision *decisions = calloc(m->n_guests + 1, sizeof(Decision));
        _cleanup_free_ Guest **ready = calloc(m->n_guests + 1, sizeof(Guest *));
        uint64_t start = manager_now_usec(m), begun = clock_usec();
        size_t n = 0;

        if (!samples || !states || !decisions || !ready)
                return -ENOMEM;
        m->host_ok = host_sample_read(m->proc_root, &m->host) >= 0;
        expire_commands(m, start);
        for (size_t i = 0; i < m->n_guests; i++) {
                Guest *g = m->guests[i];
                if (g->state != GUEST_READY)
                        continue;
                ready[n] = g;
                if (g->backend == GUEST_BACKEND_QMP)
                        read_qemu_rss(m, g);
                manager_guest_sample(m, g, &samples[n]);
                states[n] = g->policy_state;
                n++;
        }
        /* An unreadable /proc/meminfo is no host figures (room), not the last ones. */
        Snapshot snap = { .now_usec = start, .host = m->host_ok ? m->host : (HostSample){ 0 },
                          .n_guests = n, .guests = samples };
        policy_decide(&m->config->policy, &snap, &m->policy_state, states, decisions);
        for (size_t i = 0; i < n; i++) {
                ready[i]->policy_state = states[i];
                ready[i]->last_decision = decisions[i];
                ready[i]->has_decision = true;
                record_decision(ready[i], &samples[i], &decisions[i]);
                act(m, ready[i], &decisions[i]);
        }
        m->cycles++;
        /* sd_event_now() is the loop iteration's cached time: measure for real. */
        m->last_cycle_duration_usec = clock_usec() - begun;
        if (start >= m->ksm_next_usec) {
                ksm_control_run(m);
                m->ksm_next_usec = start + m->config->ksm.interval_usec;
        }
        metrics_write(m);
        sd_notifyf(false, "STATUS=Managing %zu guest(s), %" PRIu64 " balloon command(s) sent", n,
                   m->balloon_commands);
        return 0;
}

static int on_cycle_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
        Manager *m = userdata;

        if (m->backend == BACKEND_QMP)
                discover(m);
        if (manager_run_cycle(m) < 0)
                log_error("control cycle failed: out of memory");
        for (size_t i = 0; i < m->n_guests; i++) {
                Guest *g = m->guests[i];
                if (g->state != GUEST_READY)
                        continue;
                if (g->backend == GUEST_BACKEND_QMP)
                        (void)qmp_guest_refresh_balloon(g);
                if (g->backend == GUEST_BACKEND_QMP || m->config->libvirt_qmp_passthrough)
                        qmp_compat_refresh(g, manager_now_usec(m));
        }
        return sd_event_source_set_time(s, manager_now_usec(m) + m->config->interval_usec);
}

/* Stats are polled faster than QEMU refreshes them so a new report is seen soon. */
static uint64_t poll_period_usec(Manager *m)
{
        uint64_t p = m->config->stats_period_usec / 4;
        return p < 250000 ? 250000 : p;
}

static bool monitor_stuck(const Guest *g, uint64_t now)
{
        if (g->backend != GUEST_BACKEND_QMP)
                return false;
        if (g->state == GUEST_CONNECTING)
                return now - g->connect_started_usec > QMP_ANSWER_TIMEOUT_USEC;
        return g->state == GUEST_READY && g->stats_poll_inflight &&
               now - g->stats_poll_sent_usec > QMP_ANSWER_TIMEOUT_USEC;
}

static int on_poll_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
        Manager *m = userdata;
        uint64_t now = manager_now_usec(m);

        for (size_t i = 0; i < m->n_guests; i++) {
                Guest *g = m->guests[i];
                if (monitor_stuck(g, now))
                        manager_guest_lost(m, g, "QEMU monitor did not answer for 20 s");
                else if (g->state == GUEST_READY && g->backend == GUEST_BACKEND_QMP)
                        (void)qmp_guest_poll_stats(g);
        }
        libvirt_guests_poll(m);
        return sd_event_source_set_time(s, manager_now_usec(m) + poll_period_usec(m));
}

/*
 * A guest whose memory is running out is not left waiting for the next cycle:
 * its fresh stats bring the cycle forward (the guard rails still apply).
 */
void manager_guest_stats_updated(Manager *m, Guest *g)
{
        GuestSample sample;
        uint64_t next;

        if (!g->settings.manage)
                return;
        manager_guest_sample(m, g, &sample);
        if (!policy_wants_early_cycle(&m->config->policy, &sample, &g->policy_state))
                return;
        if (sd_event_source_get_time(m->cycle_timer, &next) >= 0 && next > manager_now_usec(m)) {
                log_guest(LOG_DEBUG, g, "memory running short, running the cycle now");
                (void)sd_event_source_set_time(m->cycle_timer, manager_now_usec(m));
        }
}

static int on_reload_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
        (void)manager_reload(userdata, NULL);
        return 0;
}

static int on_exit_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
        Manager *m = userdata;
        log_info("received signal %u, exiting", si->ssi_signo);
        (void)sd_notify(false, "STOPPING=1");
        return sd_event_exit(m->event, 0);
}

int manager_new(Manager **ret, MemtideConfig *config, const char *config_path)
{
        Manager *m = calloc(1, sizeof(*m));
        int r;

        if (!m)
                return -ENOMEM;
        m->config = config;
        m->config_path = config_path ? strdup(config_path) : NULL;
        m->proc_root = strdup(getenv("MEMTIDE_PROC_ROOT") ? getenv("MEMTIDE_PROC_ROOT") : "/proc");
        r = sd_event_default(&m->event);
        if (r < 0 || !m->proc_root) {
                manager_free(m);
                return r < 0 ? r : -ENOMEM;
        }
        *ret = m;
        return 0;
}

Manager *manager_free(Manager *m)
{
        if (!m)
                return NULL;
        for (size_t i = 0; i < m->n_guests; i++)
                guest_free(m->guests[i]);
        free(m->guests);
        libvirt_guests_stop(m);
        control_server_free(m->control);
        overrides_clear(&m->overrides);
        sd_event_source_unref(m->cycle_timer);
        sd_event_source_unref(m->poll_timer);
        sd_event_unref(m->event);
        config_free(m->config);
        free(m->config_path);
        free(m->proc_root);
        free(m);
        return NULL;
}

int manager_start(Manager *m)
{
        uint64_t now;
        sigset_t mask;
        int r;

        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        (void)sd_event_add_signal(m->event, NULL, SIGTERM, on_exit_signal, m);
        (void)sd_event_add_signal(m->event, NULL, SIGINT, on_exit_signal, m);
        (void)sd_event_add_signal(m->event, NULL, SIGHUP, on_reload_signal, m);
        /* Feeds WATCHDOG=1 from the loop itself when WatchdogSec= is set. */
        (void)sd_event_set_watchdog(m->event, true);
        manager_load_overrides(m);

        m->backend = m->config->backend;
        if (m->backend == BACKEND_AUTO)
                m->backend = libvirt_socket_present() ? BACKEND_LIBVIRT : BACKEND_QMP;
        if (m->backend == BACKEND_LIBVIRT) {
                r = libvirt_guests_start(m);
                if (r < 0)
                        return log_error_errno(r, "Failed to start the libvirt backend: %s",
                                               strerror(-r));
        }
        r = control_server_new(&m->control, m, m->config->control_socket);
        if (r < 0)
                return log_error_errno(r, "Failed to listen on %s: %s", m->config->control_socket,
                                       strerror(-r));
        sd_event_now(m->event, CLOCK_MONOTONIC, &now);
        m->start_usec = now;
        r = sd_event_add_time(m->event, &m->cycle_timer, CLOCK_MONOTONIC, now, 10000,
                              on_cycle_timer, m);
        if (r >= 0)
                r = sd_event_source_set_enabled(m->cycle_timer, SD_EVENT_ON);
        if (r >= 0)
                r = sd_event_add_time(m->event, &m->poll_timer, CLOCK_MONOTONIC,
                                      now + poll_period_usec(m), 10000, on_poll_timer, m);
        if (r >= 0)
                r = sd_event_source_set_enabled(m->poll_timer, SD_EVENT_ON);
        if (r < 0)
                return log_error_errno(r, "Failed to set up timers: %s", strerror(-r));
        log_info("memtided started: backend %s, interval %" PRIu64 " ms, stats period %" PRIu64 " s",
                 backend_kind_to_string(m->backend), m->config->interval_usec / 1000,
                 m->config->stats_period_usec / USEC_PER_SEC);
        (void)sd_notify(false, "READY=1\nSTATUS=Starting");
        return 0;
}
