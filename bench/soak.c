/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Soak benchmark: the real manager, policy and JSON dumps in-process over
 * guests of a fake backend (fake-backend.c) whose use wanders, cycle after cycle. Prints
 * RSS, open fds and time per cycle at checkpoints: both must stay flat.
 *
 *   bench/soak [GUESTS (200)] [CYCLES (20000)]
 */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "fake-backend.h"
#include "log.h"
#include "manager.h"
#include "status-json.h"

static long rss_kib(void)
{
        FILE *f = fopen("/proc/self/status", "re");
        char line[256];
        long kib = -1;

        while (f && fgets(line, sizeof(line), f))
                if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
                        break;
        if (f)
                fclose(f);
        return kib;
}

static int open_fds(void)
{
        DIR *d = opendir("/proc/self/fd");
        int n = 0;

        while (d && readdir(d))
                n++;
        if (d)
                closedir(d);
        return n - 3; /* ".", ".." and the directory's own fd */
}

static double now_sec(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A guest's use: a slow wave, a daily-like burst and a little noise. */
static void fake_report(Guest *g, unsigned i, unsigned cycle, uint64_t wall)
{
        BalloonStats s;
        double phase = (double)cycle / (50.0 + i % 37);
        uint64_t used =
                (uint64_t)(300 + 200 * sin(phase) + (cycle % 500 < 20 ? 600 : 0) + rand() % 16) *
                MIB;
        uint64_t reserve = 60 * MIB;

        balloon_stats_init(&s);
        if (used + reserve + 16 * MIB > g->actual_bytes)
                used = g->actual_bytes > reserve + 16 * MIB ? g->actual_bytes - reserve - 16 * MIB
                                                            : 0;
        s.total_bytes = g->actual_bytes - reserve;
        s.available_bytes = s.total_bytes - used;
        s.free_bytes = s.available_bytes;
        s.last_update_sec = wall + cycle;
        manager_stats_arrived(g->manager, g, &s);
}

static int add_guests(Manager *m, unsigned n)
{
        for (unsigned i = 0; i < n; i++) {
                char key[64];
                Guest *g;
                snprintf(key, sizeof(key), "guest%u", i);
                if (fake_backend_add_guest(m, key, 4 * GIB, &g) < 0)
                        return -1;
        }
        return 0;
}

int main(int argc, char **argv)
{
        unsigned n_guests = argc > 1 ? (unsigned)atoi(argv[1]) : 200;
        unsigned cycles = argc > 2 ? (unsigned)atoi(argv[2]) : 20000;
        char dir[] = "/tmp/memtide-soak-XXXXXX";
        MemtideConfig *c = NULL;
        Manager *m = NULL;
        uint64_t wall = (uint64_t)time(NULL);
        double t0;

        log_set_max_level(LOG_WARNING);
        if (!mkdtemp(dir) || config_new(&c) < 0)
                return 1;
        free(c->control_socket);
        free(c->state_directory);
        if (asprintf(&c->control_socket, "%s/ctl.sock", dir) < 0 ||
            asprintf(&c->state_directory, "%s/state", dir) < 0)
                return 1;
        if (manager_new(&m, c, NULL, &fake_backend_ops) < 0 || manager_start(m) < 0 ||
            add_guests(m, n_guests) < 0)
                return 1;
        printf("%8s %10s %6s %14s %10s\n", "cycle", "rss_kib", "fds", "usec_per_cycle", "commands");
        t0 = now_sec();
        for (unsigned k = 1; k <= cycles; k++) {
                for (unsigned i = 0; i < m->n_guests; i++)
                        fake_report(m->guests[i], i, k, wall);
                if (manager_run_cycle(m) < 0)
                        return 1;
                if (k % 100 == 0) {
                        json_object_put(guests_json(m, true));
                        json_object_put(status_json(m));
                }
                if (k == 1 || k % (cycles / 10 ? cycles / 10 : 1) == 0) {
                        double t = now_sec();
                        printf("%8u %10ld %6d %14.1f %10llu\n", k, rss_kib(), open_fds(),
                               (t - t0) * 1e6 / (k == 1 ? 1 : cycles / 10),
                               (unsigned long long)m->balloon_commands);
                        t0 = t;
                }
        }
        manager_free(m);
        return 0;
}
