/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The Prometheus exposition: guest counters only where the guest reports
 * them (never 0 for unknown), the balloon target memtided stands by and
 * whether it holds the balloon down, failed balloon commands counted.
 * With --series, prints the name of every series a daemon that knows
 * everything emits, for check-metrics-man.sh to compare with memtided(8). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "fake-backend.h"
#include "log.h"
#include "manager.h"
#include "metrics.h"
#include "test-util.h"

static Manager *new_manager(void)
{
        MemtideConfig *c = NULL;
        Manager *m = NULL;

        check(config_new(&c) == 0);
        check(manager_new(&m, c, NULL, &fake_backend_ops) == 0);
        return m;
}

static Guest *add_guest(Manager *m, const char *name)
{
        Guest *g = NULL;

        check(fake_backend_add_guest(m, name, 1024 * MIB, &g) == 0);
        check(guest_set_name(g, name) == 0);
        return g;
}

/* A guest that reports every stat, with a decision and a command of ours. */
static Guest *add_full_guest(Manager *m, const char *name)
{
        Guest *g = add_guest(m, name);

        g->actual_bytes = 768 * MIB;
        g->qemu_rss_bytes = 800 * MIB;
        g->pending_target_bytes = 768 * MIB;
        g->stats = (BalloonStats){
                .swap_in_bytes = 4096,
                .swap_out_bytes = 8192,
                .major_faults = 17,
                .minor_faults = 1000,
                .free_bytes = 100 * MIB,
                .total_bytes = 760 * MIB,
                .available_bytes = 300 * MIB,
                .disk_caches_bytes = 50 * MIB,
                .oom_kills = 2,
                .alloc_stalls = 5,
                .last_update_sec = manager_wall_sec(),
        };
        g->has_decision = true;
        g->last_decision = (Decision){ .target_bytes = 768 * MIB,
                                       .floor_bytes = 400 * MIB,
                                       .used_bytes = 350 * MIB,
                                       .distress = false };
        return g;
}

/* The line of series for guest name, or NULL. */
static const char *guest_line(const char *text, const char *series, const char *name)
{
        char prefix[256];

        snprintf(prefix, sizeof(prefix), "\n%s{guest=\"%s\",", series, name);
        return strstr(text, prefix);
}

static void test_unknown_guest_counters_are_absent(void)
{
        Manager *m = new_manager();
        char *text;

        add_guest(m, "quiet"); /* stats never reported: all STAT_UNKNOWN */
        text = metrics_render(m);
        check(text);
        check(guest_line(text, "memtide_guest_actual_bytes", "quiet"));
        check(!guest_line(text, "memtide_guest_oom_kills_total", "quiet"));
        check(!guest_line(text, "memtide_guest_alloc_stalls_total", "quiet"));
        check(!guest_line(text, "memtide_guest_swap_in_bytes_total", "quiet"));
        check(!guest_line(text, "memtide_guest_swap_out_bytes_total", "quiet"));
        check(!guest_line(text, "memtide_guest_major_faults_total", "quiet"));
        /* the family is still declared, as a counter */
        check_contains(text, "# TYPE memtide_guest_oom_kills_total counter\n");
        free(text);
        manager_free(m);
}

static void test_reported_guest_counters(void)
{
        Manager *m = new_manager();
        Guest *g = add_full_guest(m, "busy");
        char *text;

        /* an older QEMU: the Linux tags 10-15 unknown, the virtio ones known */
        g->stats.alloc_stalls = STAT_UNKNOWN;
        text = metrics_render(m);
        check(text);
        check_contains(text, "memtide_guest_oom_kills_total{guest=\"busy\",uuid=\"\"} 2\n");
        check_contains(text, "memtide_guest_swap_in_bytes_total{guest=\"busy\",uuid=\"\"} 4096\n");
        check_contains(text, "memtide_guest_swap_out_bytes_total{guest=\"busy\",uuid=\"\"} 8192\n");
        check_contains(text, "memtide_guest_major_faults_total{guest=\"busy\",uuid=\"\"} 17\n");
        check(!guest_line(text, "memtide_guest_alloc_stalls_total", "busy"));
        free(text);
        manager_free(m);
}

static void test_balloon_target_and_hold(void)
{
        Manager *m = new_manager();
        Guest *g = add_full_guest(m, "held");
        Guest *full = add_guest(m, "full"); /* at its maximum, no command sent */
        char *text;

        text = metrics_render(m);
        check_contains(text,
                       "memtide_guest_balloon_target_bytes{guest=\"held\",uuid=\"\"} 805306368\n");
        check_contains(text, "memtide_guest_balloon_held_below_max{guest=\"held\",uuid=\"\"} 1\n");
        check_contains(text, "memtide_guest_balloon_held_below_max{guest=\"full\",uuid=\"\"} 0\n");
        check(!guest_line(text, "memtide_guest_balloon_target_bytes", "full"));
        free(text);

        /* Observed only: memtided holds nothing and stands by no target. */
        g->settings.manage = false;
        text = metrics_render(m);
        check_contains(text, "memtide_guest_balloon_held_below_max{guest=\"held\",uuid=\"\"} 0\n");
        check(!guest_line(text, "memtide_guest_balloon_target_bytes", "held"));
        free(text);

        /* A guest gone: none of its series, but still known. */
        g->settings.manage = true;
        guest_reset(full, "test");
        text = metrics_render(m);
        check(!guest_line(text, "memtide_guest_balloon_held_below_max", "full"));
        check_contains(text, "memtide_guests_known 2\n");
        check_contains(text, "memtide_guests_managed 1\n");
        free(text);
        manager_free(m);
}

static int refuse_target(Guest *g, uint64_t target_bytes)
{
        return -EIO;
}

static const ActuatorOps refusing_balloon = {
        .kind = ACTUATOR_BALLOON,
        .set_target = refuse_target,
};

static void test_failed_balloon_commands_are_counted(void)
{
        Manager *m = new_manager();
        Guest *g = add_full_guest(m, "stuck");
        char *text;

        /* Short of memory: the policy deflates, and the balloon refuses. */
        g->actuators[0] = &refusing_balloon;
        g->stats.available_bytes = 2 * MIB;
        g->stats.free_bytes = 1 * MIB;
        g->has_decision = false;
        check(manager_run_cycle(m) == 0);
        check(g->has_decision && g->last_decision.change);
        check_u64_eq(m->balloon_commands, 0);
        check_u64_eq(m->balloon_commands_failed, 1);
        text = metrics_render(m);
        check_contains(text, "\nmemtide_balloon_commands_total 0\n");
        check_contains(text, "\nmemtide_balloon_commands_failed_total 1\n");
        check_contains(text, "# TYPE memtide_balloon_commands_failed_total counter\n");
        free(text);
        manager_free(m);
}

static void test_timestamp_is_now(void)
{
        Manager *m = new_manager();
        uint64_t before = manager_wall_sec();
        char *text = metrics_render(m);
        const char *p = strstr(text, "\nmemtide_metrics_timestamp_seconds ");
        uint64_t ts;

        check(p);
        ts = strtoull(p + strlen("\nmemtide_metrics_timestamp_seconds "), NULL, 10);
        check(ts >= before && ts <= manager_wall_sec());
        free(text);
        manager_free(m);
}

/* Every series family (# TYPE lines) a daemon that knows everything emits. */
static int print_series(void)
{
        Manager *m = new_manager();
        char *text, *line, *save = NULL;

        add_full_guest(m, "all");
        m->host_ok = true;
        m->host = (HostSample){ .mem_total_bytes = 8192 * MIB,
                                .mem_available_bytes = 4096 * MIB,
                                .swap_known = true,
                                .zfs_arc_known = true,
                                .zfs_arc_reclaimable_bytes = 512 * MIB,
                                .psi_available = true };
        m->ksm = (KsmFigures){ .available = true };
        m->budget.bytes = 6 * GIB;
        text = metrics_render(m);
        check(text);
        for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char name[128];
                if (sscanf(line, "# TYPE %127s", name) == 1)
                        puts(name);
        }
        free(text);
        manager_free(m);
        return 0;
}

/* The budget's series only with a budget in force, with its figures. */
static void test_budget_series(void)
{
        Manager *m = new_manager();
        char *text;

        m->host_ok = true;
        m->host = (HostSample){ .mem_total_bytes = 8192 * MIB, .mem_available_bytes = 4096 * MIB };
        text = metrics_render(m);
        check(!strstr(text, "memtide_host_guest_budget_bytes"));
        check(!strstr(text, "memtide_host_guest_held_bytes"));
        free(text);
        m->budget.bytes = 6 * GIB;
        m->budget.held_bytes = 5 * GIB;
        text = metrics_render(m);
        check_contains(text, "\nmemtide_host_guest_budget_bytes 6442450944\n");
        check_contains(text, "\nmemtide_host_guest_held_bytes 5368709120\n");
        free(text);
        manager_free(m);
}

/* A guest with virtio-mem: its total, boot memory and the device's sizes;
 * none of the device's series for a guest without one. */
static void test_virtio_mem_series(void)
{
        Manager *m = new_manager();
        Guest *g = add_guest(m, "vmem");
        VmemDevice d = { .id = "vmem0",
                         .plugged_bytes = 256 * MIB,
                         .requested_bytes = 128 * MIB,
                         .max_bytes = 2 * GIB,
                         .block_bytes = 2 * MIB,
                         .node = 0 };
        char *text;

        add_guest(m, "plain");
        g->actual_bytes = 1000 * MIB; /* balloon; boot memory 1 GiB */
        guest_vmem_changed(g, &d, 1, 1, 1);
        text = metrics_render(m);
        check(text);
        check_contains(text, "memtide_guest_actual_bytes{guest=\"vmem\",uuid=\"\"} 1317011456\n");
        check_contains(text, "memtide_guest_max_bytes{guest=\"vmem\",uuid=\"\"} 3221225472\n");
        check_contains(text, "memtide_guest_boot_bytes{guest=\"vmem\",uuid=\"\"} 1073741824\n");
        check_contains(text, "memtide_guest_virtio_mem_plugged_bytes{guest=\"vmem\",uuid=\"\"} "
                             "268435456\n");
        check_contains(text, "memtide_guest_virtio_mem_requested_bytes{guest=\"vmem\",uuid=\"\"} "
                             "134217728\n");
        check_contains(text, "memtide_guest_virtio_mem_max_bytes{guest=\"vmem\",uuid=\"\"} "
                             "2147483648\n");
        check_contains(text,
                       "memtide_guest_virtio_mem_unplug_stalled{guest=\"vmem\",uuid=\"\"} 0\n");
        check(!guest_line(text, "memtide_guest_virtio_mem_plugged_bytes", "plain"));
        check(!guest_line(text, "memtide_guest_virtio_mem_unplug_stalled", "plain"));
        free(text);
        manager_free(m);
}

int main(int argc, char **argv)
{
        log_set_max_level(LOG_ERR);
        if (argc > 1 && strcmp(argv[1], "--series") == 0)
                return print_series();
        RUN(test_unknown_guest_counters_are_absent);
        RUN(test_reported_guest_counters);
        RUN(test_balloon_target_and_hold);
        RUN(test_failed_balloon_commands_are_counted);
        RUN(test_timestamp_is_now);
        RUN(test_virtio_mem_series);
        RUN(test_budget_series);
        return 0;
}
