/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "metrics.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "fileio.h"
#include "log.h"
#include "memtide-config.h"

typedef struct Out {
        char *buf;
        size_t len;
        FILE *f;
} Out;

static void header(FILE *f, const char *name, const char *type, const char *help)
{
        fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Label values escape backslash, double quote and newline (exposition format). */
static void label_value(FILE *f, const char *v)
{
        for (; v && *v; v++) {
                if (*v == '\\' || *v == '"')
                        fprintf(f, "\\%c", *v);
                else if (*v == '\n')
                        fputs("\\n", f);
                else
                        fputc(*v, f);
        }
}

static void guest_labels(FILE *f, const Guest *g)
{
        fputs("{guest=\"", f);
        label_value(f, g->name);
        fputs("\",uuid=\"", f);
        label_value(f, g->uuid ? g->uuid : "");
        fputs("\"}", f);
}

typedef uint64_t (*guest_value_fn)(Manager *m, const Guest *g);

/* type is "gauge" or "counter"; a guest whose value is STAT_UNKNOWN has no line. */
static void guest_series(FILE *f, Manager *m, const char *name, const char *type, const char *help,
                         guest_value_fn fn)
{
        header(f, name, type, help);
        for (size_t i = 0; i < m->n_guests; i++) {
                const Guest *g = m->guests[i];
                uint64_t v;
                if (g->state != GUEST_READY || (v = fn(m, g)) == STAT_UNKNOWN)
                        continue;
                fputs(name, f);
                guest_labels(f, g);
                fprintf(f, " %llu\n", (unsigned long long)v);
        }
}

static uint64_t g_actual(Manager *m, const Guest *g)
{
        return guest_total_bytes(g);
}
static uint64_t g_max(Manager *m, const Guest *g)
{
        return guest_device_max_bytes(g);
}
static uint64_t g_boot(Manager *m, const Guest *g)
{
        return g->max_bytes;
}
/* The driven virtio-mem device's figures; no line without one. */
static uint64_t g_vmem_plugged(Manager *m, const Guest *g)
{
        const VmemDevice *d = guest_vmem_driven(g);
        return d ? d->plugged_bytes : STAT_UNKNOWN;
}
static uint64_t g_vmem_requested(Manager *m, const Guest *g)
{
        const VmemDevice *d = guest_vmem_driven(g);
        return d ? d->requested_bytes : STAT_UNKNOWN;
}
static uint64_t g_vmem_max(Manager *m, const Guest *g)
{
        const VmemDevice *d = guest_vmem_driven(g);
        return d ? d->max_bytes : STAT_UNKNOWN;
}
static uint64_t g_vmem_stalled(Manager *m, const Guest *g)
{
        return guest_vmem_driven(g) ? g->vmem.stalled : STAT_UNKNOWN;
}
static uint64_t g_rss(Manager *m, const Guest *g)
{
        return g->qemu_rss_bytes ? g->qemu_rss_bytes : STAT_UNKNOWN;
}
static uint64_t g_available(Manager *m, const Guest *g)
{
        return g->stats.available_bytes;
}
static uint64_t g_target(Manager *m, const Guest *g)
{
        return g->has_decision ? g->last_decision.target_bytes : STAT_UNKNOWN;
}
static uint64_t g_floor(Manager *m, const Guest *g)
{
        return g->has_decision && g->last_decision.floor_bytes ? g->last_decision.floor_bytes
                                                               : STAT_UNKNOWN;
}
static uint64_t g_used(Manager *m, const Guest *g)
{
        return g->has_decision && g->last_decision.used_bytes ? g->last_decision.used_bytes
                                                              : STAT_UNKNOWN;
}
static uint64_t g_stats_age(Manager *m, const Guest *g)
{
        GuestSample s;
        manager_guest_sample(m, g, &s);
        return s.stats_age_usec == UINT64_MAX ? STAT_UNKNOWN : s.stats_age_usec / USEC_PER_SEC;
}
static uint64_t g_distress(Manager *m, const Guest *g)
{
        return g->has_decision && g->last_decision.distress;
}
static uint64_t g_reporting(Manager *m, const Guest *g)
{
        return guest_compat_reporting_functional(&g->compat);
}

/* The guest's own cumulative counts, as its balloon driver reports them:
 * unknown (no line) where the guest or QEMU does not report the tag. */
static uint64_t g_oom_kills(Manager *m, const Guest *g)
{
        return g->stats.oom_kills;
}
static uint64_t g_alloc_stalls(Manager *m, const Guest *g)
{
        return g->stats.alloc_stalls;
}
static uint64_t g_swap_in(Manager *m, const Guest *g)
{
        return g->stats.swap_in_bytes;
}
static uint64_t g_swap_out(Manager *m, const Guest *g)
{
        return g->stats.swap_out_bytes;
}
static uint64_t g_major_faults(Manager *m, const Guest *g)
{
        return g->stats.major_faults;
}

/* What memtided stands by: none for a guest it only observes (Manage=no) or
 * while another controller holds the balloon, since the balloon then follows
 * someone else and an alert on the gap would blame the wrong one. */
static bool holds_balloon(Manager *m, const Guest *g, GuestSample *s)
{
        manager_guest_sample(m, g, s);
        return s->manage && s->other_controller_bytes == 0;
}
static uint64_t g_balloon_target(Manager *m, const Guest *g)
{
        GuestSample s;
        return holds_balloon(m, g, &s) && g->pending_target_bytes ? g->pending_target_bytes
                                                                  : STAT_UNKNOWN;
}
static uint64_t g_held_below_max(Manager *m, const Guest *g)
{
        GuestSample s;
        return holds_balloon(m, g, &s) && s.actual_bytes < s.max_bytes;
}

static void compat_series(FILE *f, Manager *m)
{
        header(f, "memtide_guest_compat_verdict", "gauge",
               "Balloon queue layout verdict of the guest (1 for the current verdict).");
        for (size_t i = 0; i < m->n_guests; i++) {
                const Guest *g = m->guests[i];
                if (g->state != GUEST_READY)
                        continue;
                fputs("memtide_guest_compat_verdict{guest=\"", f);
                label_value(f, g->name);
                fprintf(f, "\",verdict=\"%s\"} 1\n", guest_compat_verdict(&g->compat));
        }
}

static void host_series(FILE *f, Manager *m)
{
        const HostSample *h = &m->host;

        if (!m->host_ok)
                return;
        header(f, "memtide_host_memory_total_bytes", "gauge", "Host MemTotal.");
        fprintf(f, "memtide_host_memory_total_bytes %llu\n",
                (unsigned long long)h->mem_total_bytes);
        header(f, "memtide_host_memory_available_bytes", "gauge",
               "Host MemAvailable, plus the ZFS ARC above its minimum.");
        fprintf(f, "memtide_host_memory_available_bytes %llu\n",
                (unsigned long long)h->mem_available_bytes);
        if (h->zfs_arc_known) {
                header(f, "memtide_host_zfs_arc_reclaimable_bytes", "gauge",
                       "ZFS ARC above its minimum, counted as available.");
                fprintf(f, "memtide_host_zfs_arc_reclaimable_bytes %llu\n",
                        (unsigned long long)h->zfs_arc_reclaimable_bytes);
        }
        if (m->budget.bytes) {
                header(f, "memtide_host_guest_budget_bytes", "gauge",
                       "GuestMemoryBudget=: what the guests may hold together.");
                fprintf(f, "memtide_host_guest_budget_bytes %llu\n",
                        (unsigned long long)m->budget.bytes);
                header(f, "memtide_host_guest_held_bytes", "gauge",
                       "What the guests hold against the budget (cgroup usage or QEMU RSS).");
                fprintf(f, "memtide_host_guest_held_bytes %llu\n",
                        (unsigned long long)m->budget.held_bytes);
        }
        if (h->swap_known) {
                header(f, "memtide_host_swap_in_pages_total", "counter",
                       "Host pages swapped in (pswpin).");
                fprintf(f, "memtide_host_swap_in_pages_total %llu\n",
                        (unsigned long long)h->swap_in_pages);
                header(f, "memtide_host_swap_out_pages_total", "counter",
                       "Host pages swapped out (pswpout).");
                fprintf(f, "memtide_host_swap_out_pages_total %llu\n",
                        (unsigned long long)h->swap_out_pages);
        }
        if (h->psi_available) {
                header(f, "memtide_host_memory_pressure_some_avg10_ratio", "gauge",
                       "Host memory PSI some avg10, as a ratio.");
                fprintf(f, "memtide_host_memory_pressure_some_avg10_ratio %g\n",
                        h->psi_some_avg10 / 100);
                header(f, "memtide_host_memory_pressure_full_avg10_ratio", "gauge",
                       "Host memory PSI full avg10, as a ratio.");
                fprintf(f, "memtide_host_memory_pressure_full_avg10_ratio %g\n",
                        h->psi_full_avg10 / 100);
        }
}

static void daemon_series(FILE *f, Manager *m)
{
        size_t ready = 0;
        for (size_t i = 0; i < m->n_guests; i++)
                ready += m->guests[i]->state == GUEST_READY;
        header(f, "memtide_build_info", "gauge", "memtided version.");
        fprintf(f, "memtide_build_info{version=\"%s\"} 1\n", MEMTIDE_VERSION);
        /* Written after every cycle: an old value means memtided stopped or hangs. */
        header(f, "memtide_metrics_timestamp_seconds", "gauge",
               "When these metrics were rendered (Unix time).");
        fprintf(f, "memtide_metrics_timestamp_seconds %llu\n",
                (unsigned long long)manager_wall_sec());
        header(f, "memtide_cycles_total", "counter", "Control cycles run.");
        fprintf(f, "memtide_cycles_total %llu\n", (unsigned long long)m->cycles);
        header(f, "memtide_cycle_duration_seconds", "gauge", "Duration of the last control cycle.");
        fprintf(f, "memtide_cycle_duration_seconds %g\n",
                (double)m->last_cycle_duration_usec / 1e6);
        header(f, "memtide_balloon_commands_total", "counter", "Balloon targets sent.");
        fprintf(f, "memtide_balloon_commands_total %llu\n",
                (unsigned long long)m->balloon_commands);
        header(f, "memtide_balloon_commands_failed_total", "counter",
               "Balloon targets not sent, refused, or lost with the connection.");
        fprintf(f, "memtide_balloon_commands_failed_total %llu\n",
                (unsigned long long)m->balloon_commands_failed);
        header(f, "memtide_guests_managed", "gauge", "Guests managed now.");
        fprintf(f, "memtide_guests_managed %zu\n", ready);
        header(f, "memtide_guests_known", "gauge", "Guests found, managed or not.");
        fprintf(f, "memtide_guests_known %zu\n", m->n_guests);
        header(f, "memtide_errors_total", "counter", "Errors by kind.");
        fprintf(f, "memtide_errors_total{kind=\"guest_connection\"} %llu\n",
                (unsigned long long)m->errors_connection);
        fprintf(f, "memtide_errors_total{kind=\"metrics_write\"} %llu\n",
                (unsigned long long)m->errors_metrics);
}

static void ksm_series(FILE *f, Manager *m)
{
        const KsmFigures *k = &m->ksm;

        if (!k->available)
                return;
        header(f, "memtide_ksm_running", "gauge", "1 when ksmd is merging pages.");
        fprintf(f, "memtide_ksm_running %d\n", k->run == 1);
        header(f, "memtide_ksm_pages_to_scan", "gauge", "KSM pages_to_scan.");
        fprintf(f, "memtide_ksm_pages_to_scan %u\n", k->pages_to_scan);
        header(f, "memtide_ksm_pages_shared", "gauge", "KSM pages_shared.");
        fprintf(f, "memtide_ksm_pages_shared %llu\n", (unsigned long long)k->pages_shared);
        header(f, "memtide_ksm_pages_sharing", "gauge",
               "KSM pages_sharing (memory saved, in pages).");
        fprintf(f, "memtide_ksm_pages_sharing %llu\n", (unsigned long long)k->pages_sharing);
}

char *metrics_render(Manager *m)
{
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);

        if (!f)
                return NULL;
        daemon_series(f, m);
        host_series(f, m);
        guest_series(f, m, "memtide_guest_actual_bytes", "gauge",
                     "Memory the guest has now (balloon + plugged virtio-mem).", g_actual);
        guest_series(f, m, "memtide_guest_target_bytes", "gauge", "Last balloon target decided.",
                     g_target);
        guest_series(f, m, "memtide_guest_balloon_target_bytes", "gauge",
                     "Last balloon target memtided gave the guest, while it holds the balloon.",
                     g_balloon_target);
        guest_series(f, m, "memtide_guest_balloon_held_below_max", "gauge",
                     "1 when memtided holds the guest's balloon below its maximum.",
                     g_held_below_max);
        guest_series(f, m, "memtide_guest_floor_bytes", "gauge",
                     "Lowest size the guard rails allow.", g_floor);
        guest_series(f, m, "memtide_guest_max_bytes", "gauge",
                     "The guest's maximum: boot memory plus virtio-mem's maximum.", g_max);
        guest_series(f, m, "memtide_guest_boot_bytes", "gauge",
                     "The guest's boot memory (the balloon's range).", g_boot);
        guest_series(f, m, "memtide_guest_virtio_mem_plugged_bytes", "gauge",
                     "Memory the guest's virtio-mem device has plugged.", g_vmem_plugged);
        guest_series(f, m, "memtide_guest_virtio_mem_requested_bytes", "gauge",
                     "The virtio-mem device's requested size.", g_vmem_requested);
        guest_series(f, m, "memtide_guest_virtio_mem_max_bytes", "gauge",
                     "The virtio-mem device's maximum size.", g_vmem_max);
        guest_series(f, m, "memtide_guest_virtio_mem_unplug_stalled", "gauge",
                     "1 while the virtio-mem unplug stalls and the balloon takes the rest.",
                     g_vmem_stalled);
        guest_series(f, m, "memtide_guest_used_bytes", "gauge", "Memory the guest cannot give up.",
                     g_used);
        guest_series(f, m, "memtide_guest_available_bytes", "gauge", "The guest's MemAvailable.",
                     g_available);
        guest_series(f, m, "memtide_guest_stats_age_seconds", "gauge",
                     "Age of the guest's balloon stats.", g_stats_age);
        guest_series(f, m, "memtide_guest_distress", "gauge",
                     "1 when the guest is short of memory.", g_distress);
        guest_series(f, m, "memtide_guest_page_reporting_functional", "gauge",
                     "1 when free page reporting is negotiated, agreed and moving.", g_reporting);
        guest_series(f, m, "memtide_guest_qemu_rss_bytes", "gauge",
                     "Resident memory of the QEMU process.", g_rss);
        guest_series(f, m, "memtide_guest_oom_kills_total", "counter",
                     "Processes the guest's OOM killer killed (guest-reported).", g_oom_kills);
        guest_series(f, m, "memtide_guest_alloc_stalls_total", "counter",
                     "Allocation stalls in the guest (guest-reported).", g_alloc_stalls);
        guest_series(f, m, "memtide_guest_swap_in_bytes_total", "counter",
                     "Memory the guest swapped in (guest-reported).", g_swap_in);
        guest_series(f, m, "memtide_guest_swap_out_bytes_total", "counter",
                     "Memory the guest swapped out (guest-reported).", g_swap_out);
        guest_series(f, m, "memtide_guest_major_faults_total", "counter",
                     "Major page faults in the guest (guest-reported).", g_major_faults);
        compat_series(f, m);
        ksm_series(f, m);
        if (fclose(f) != 0) {
                free(buf);
                return NULL;
        }
        return buf;
}

void metrics_write(Manager *m)
{
        const char *path = m->config->metrics_file;
        _cleanup_free_ char *text = NULL;
        int r;

        if (!path)
                return;
        text = metrics_render(m);
        r = text ? write_file_atomic_nosync(path, text, strlen(text), 0644) : -ENOMEM;
        if (r < 0) {
                m->errors_metrics++;
                if (r != m->metrics_last_error)
                        log_error_errno(
                                r,
                                "Failed to write metrics to %s: %m (logged once until it changes)",
                                path);
        } else if (m->metrics_last_error)
                log_info("Writing metrics to %s works again", path);
        m->metrics_last_error = r < 0 ? r : 0;
}
