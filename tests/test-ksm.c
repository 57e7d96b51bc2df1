/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The KSM controller: decisions pinned by hand, and a fake sysfs directory. */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ksm.h"
#include "test-util.h"

static KsmConfig enabled_config(void)
{
        KsmConfig c;
        ksm_config_init(&c);
        c.enabled = true;
        return c;
}

static void test_defaults_follow_ksmtuned(void)
{
        KsmConfig c;
        ksm_config_init(&c);
        check(!c.enabled);
        check(c.sysfs_path == NULL);
        check(c.threshold_share == 0.20);
        check_u64_eq(c.threshold_min_bytes, 2048 * MIB);
        check(c.committed_share == 0.80);
        check_u64_eq(c.pages_boost, 300);
        check_u64_eq(c.pages_decay, 50);
        check_u64_eq(c.pages_min, 64);
        check_u64_eq(c.pages_max, 1250);
        check_u64_eq(c.sleep_msec_per_16gib, 10);
        check_u64_eq(c.interval_usec, 60 * USEC_PER_SEC);
}

static void test_disabled_leaves_ksmd_alone(void)
{
        KsmConfig c;
        KsmState st = { 0 };
        KsmDecision d;
        KsmSample s = {
                .host = { .mem_total_bytes = 32 * GIB, .mem_available_bytes = 1 * GIB },
                .ksm = { .available = true, .run = 0, .pages_to_scan = 100, .sleep_millisecs = 20 },
        };

        ksm_config_init(&c);
        ksm_decide(&c, &s, &st, &d);
        check(d.action == KSM_ACTION_NONE);
        check_u64_eq(d.run, 0);
        check_u64_eq(d.pages_to_scan, 100);
        check_u64_eq(d.sleep_millisecs, 20);
        check_str_contains(d.reason, "Enabled=no");
        check(!st.started_by_us);
}

static void test_unavailable_is_a_state_not_an_error(void)
{
        KsmConfig c = enabled_config();
        KsmState st = { .started_by_us = true };
        KsmDecision d;
        KsmSample s = {
                .host = { .mem_total_bytes = 32 * GIB, .mem_available_bytes = 1 * GIB },
                .ksm = { .available = false },
        };

        ksm_decide(&c, &s, &st, &d);
        check(d.action == KSM_ACTION_NONE);
        check_str_contains(d.reason, "unavailable");
        check(!st.started_by_us);
        check(strcmp(ksm_run_state_to_string(&s.ksm), "unavailable") == 0);
        /* nothing to write, and apply refuses without touching the path */
        check(ksm_apply("/nonexistent/ksm", &s.ksm, &d) == -ENOENT);
}

static void test_pressure_starts_and_boosts(void)
{
        KsmConfig c = enabled_config();
        KsmState st = { 0 };
        KsmDecision d;
        /* 32 GiB host: threshold 20 % = 6.4 GiB; 4 GiB available is below it */
        KsmSample s = {
                .host = { .mem_total_bytes = 32 * GIB, .mem_available_bytes = 4 * GIB },
                .committed_bytes = 8 * GIB,
                .ksm = { .available = true, .run = 0, .pages_to_scan = 100, .sleep_millisecs = 20 },
        };

        ksm_decide(&c, &s, &st, &d);
        check(d.action == KSM_ACTION_RUN);
        check(d.pressure);
        check_u64_eq(d.threshold_bytes, 32 * GIB / 5);
        check_u64_eq(d.run, 1);
        check_u64_eq(d.pages_to_scan, 400);
        /* 10 ms x 16 GiB / 32 GiB = 5 ms, held at ksmtuned's 10 ms floor */
        check_u64_eq(d.sleep_millisecs, 10);
        check(st.started_by_us);
        check_str_contains(d.reason, "boost pages_to_scan 100 -> 400");
}

static void test_boost_stops_at_pages_max(void)
{
        KsmConfig c = enabled_config();
        KsmState st = { .started_by_us = true };
        KsmDecision d;
        KsmSample s = {
                .host = { .mem_total_bytes = 32 * GIB, .mem_available_bytes = 4 * GIB },
                .ksm = { .available = true,
                         .run = 1,
                         .pages_to_scan = 1100,
                         .sleep_millisecs = 10 },
        };

        ksm_decide(&c, &s, &st, &d);
        check_u64_eq(d.pages_to_scan, 1250);
        s.ksm.pages_to_scan = 1250;
        ksm_decide(&c, &s, &st, &d);
        check(d.action == KSM_ACTION_RUN);
        check_u64_eq(d.pages_to_scan, 1250);
        check(st.started_by_us);
}

static void test_overcommit_without_pressure_runs_and_decays(void)
{
        KsmConfig c = enabled_config();
        KsmState st = { 0 };
        KsmDecision d;
        /* 28 GiB committed on a 32 GiB host is above 80 % (25.6 GiB); 12 GiB free is plenty */
        KsmSample s = {
                .host = { .mem_total_bytes = 32 * GIB, .mem_available_bytes = 12 * GIB },
                .committed_bytes = 28 * GIB,
                .ksm = { .available = true, .run = 0, .pages_to_scan = 400, .sleep_millisecs = 20 },
        };

        ksm_decide(&c, &s, &st, &d);
        check(d.action == KSM_ACTION_RUN);
        check(!d.pressure);
        check_u64_eq(d.run, 1);
        check_u64_eq(d.pages_to_scan, 350);
        check(st.started_by_us);
        check_str_contains(d.reason, "decay pages_to_scan 400 -> 350");

        /* decay never goes below PagesMin */
        s.ksm = (KsmFigures){
                .available = true, .run = 1, .pages_to_scan = 100, .sleep_millisecs = 10
        };
        ksm_decide(&c, &s, &st, &d);
        check_u64_eq(d.pages_to_scan, 64);
}

static void test_stops_only_a_ksmd_it_started(void)
{
        KsmConfig c = enabled_config();
        KsmDecision d;
        KsmSample s = {
                .host = { .mem_total_bytes = 32 * GIB, .mem_available_bytes = 20 * GIB },
                .committed_bytes = 8 * GIB,
                .ksm = { .available = true, .run = 1, .pages_to_scan = 300, .sleep_millisecs = 10 },
        };

        KsmState ours = { .started_by_us = true };
        ksm_decide(&c, &s, &ours, &d);
        check(d.action == KSM_ACTION_STOP);
        check_u64_eq(d.run, 0);
        /* only run changes: pages_to_scan and sleep_millisecs stay */
        check_u64_eq(d.pages_to_scan, 300);
        check_u64_eq(d.sleep_millisecs, 10);
        check(!ours.started_by_us);
        check_str_contains(d.reason, "stopping ksmd");

        KsmState theirs = { .started_by_us = false };
        ksm_decide(&c, &s, &theirs, &d);
        check(d.action == KSM_ACTION_NONE);
        check_u64_eq(d.run, 1);
        check_str_contains(d.reason, "started by someone else");

        /* already stopped: nothing to do */
        s.ksm.run = 0;
        ksm_decide(&c, &s, &theirs, &d);
        check(d.action == KSM_ACTION_NONE);
        check_u64_eq(d.run, 0);
}

static void test_admin_started_ksmd_is_tuned_but_not_claimed(void)
{
        KsmConfig c = enabled_config();
        KsmState st = { 0 };
        KsmDecision d;
        KsmSample s = {
                .host = { .mem_total_bytes = 32 * GIB, .mem_available_bytes = 4 * GIB },
                .ksm = { .available = true, .run = 1, .pages_to_scan = 100, .sleep_millisecs = 20 },
        };

        ksm_decide(&c, &s, &st, &d);
        check(d.action == KSM_ACTION_RUN);
        check_u64_eq(d.pages_to_scan, 400);
        check(!st.started_by_us);
}

static void test_threshold_floor_on_small_hosts(void)
{
        KsmConfig c = enabled_config();
        KsmState st = { 0 };
        KsmDecision d;
        /* 4 GiB host: 20 % is 819 MiB, the 2 GiB floor wins; 1.5 GiB free is pressure */
        KsmSample s = {
                .host = { .mem_total_bytes = 4 * GIB, .mem_available_bytes = 3 * GIB / 2 },
                .ksm = { .available = true, .run = 0, .pages_to_scan = 100, .sleep_millisecs = 20 },
        };

        ksm_decide(&c, &s, &st, &d);
        check(d.pressure);
        check_u64_eq(d.threshold_bytes, 2 * GIB);
        check(d.action == KSM_ACTION_RUN);
        /* 10 ms x 16 GiB / 4 GiB */
        check_u64_eq(d.sleep_millisecs, 40);
}

static void test_sleep_scales_with_host_size(void)
{
        KsmConfig c = enabled_config();
        check_u64_eq(ksm_sleep_millisecs(&c, 2 * GIB), 80);
        check_u64_eq(ksm_sleep_millisecs(&c, 16 * GIB), 10);
        check_u64_eq(ksm_sleep_millisecs(&c, 256 * GIB), 10);
        c.sleep_msec_per_16gib = 100;
        check_u64_eq(ksm_sleep_millisecs(&c, 64 * GIB), 25);
        /* a configured value below the floor is honoured */
        c.sleep_msec_per_16gib = 5;
        check_u64_eq(ksm_sleep_millisecs(&c, 64 * GIB), 5);
        check_u64_eq(ksm_sleep_millisecs(&c, 0), 5);
}

static void test_unmerging_is_left_alone(void)
{
        KsmConfig c = enabled_config();
        KsmState st = { .started_by_us = true };
        KsmDecision d;
        KsmSample s = {
                .host = { .mem_total_bytes = 32 * GIB, .mem_available_bytes = 4 * GIB },
                .ksm = { .available = true, .run = 2, .pages_to_scan = 100, .sleep_millisecs = 20 },
        };

        ksm_decide(&c, &s, &st, &d);
        check(d.action == KSM_ACTION_NONE);
        check_u64_eq(d.run, 2);
        check(!st.started_by_us);
        check(strcmp(ksm_run_state_to_string(&s.ksm), "unmerging") == 0);
}

static void test_free_without_memavailable_counts_caches(void)
{
        KsmConfig c = enabled_config();
        KsmState st = { 0 };
        KsmDecision d;
        /* Pre-3.14 kernel: MemFree 2 + Buffers 1 + Cached 4 = 7 GiB >= 6.4 GiB */
        KsmSample s = {
                .host = { .mem_total_bytes = 32 * GIB,
                          .mem_free_bytes = 2 * GIB,
                          .buffers_bytes = 1 * GIB,
                          .cached_bytes = 4 * GIB },
                .ksm = { .available = true, .run = 0, .pages_to_scan = 100, .sleep_millisecs = 20 },
        };

        ksm_decide(&c, &s, &st, &d);
        check(!d.pressure);
        check(d.action == KSM_ACTION_NONE);
        s.host.cached_bytes = 3 * GIB;
        ksm_decide(&c, &s, &st, &d);
        check(d.pressure);
        check(d.action == KSM_ACTION_RUN);
}

static void test_pages_min_above_max_is_not_a_crash(void)
{
        KsmConfig c = enabled_config();
        KsmState st = { 0 };
        KsmDecision d;
        KsmSample s = {
                .host = { .mem_total_bytes = 32 * GIB, .mem_available_bytes = 4 * GIB },
                .ksm = { .available = true, .run = 0, .pages_to_scan = 100, .sleep_millisecs = 20 },
        };

        c.pages_min = 2000;
        c.pages_max = 1000;
        ksm_decide(&c, &s, &st, &d);
        check_u64_eq(d.pages_to_scan, 2000);
}

/* A fake /sys/kernel/mm/ksm in a temporary directory. */
typedef struct FakeSysfs {
        char dir[64];
} FakeSysfs;

static void fake_write(const FakeSysfs *f, const char *name, const char *text)
{
        char path[128];
        FILE *fp;

        snprintf(path, sizeof(path), "%s/%s", f->dir, name);
        fp = fopen(path, "we");
        check(fp);
        fputs(text, fp);
        check(fclose(fp) == 0);
}

static void fake_read(const FakeSysfs *f, const char *name, char *buf, size_t size)
{
        char path[128];
        FILE *fp;
        size_t n;

        snprintf(path, sizeof(path), "%s/%s", f->dir, name);
        fp = fopen(path, "re");
        check(fp);
        n = fread(buf, 1, size - 1, fp);
        buf[n] = '\0';
        fclose(fp);
}

static const char *const fake_names[] = {
        "run",           "pages_to_scan",  "sleep_millisecs", "pages_shared",
        "pages_sharing", "pages_unshared", "pages_volatile",  "full_scans",
};

/* Sets every file's mtime an hour back, so a write shows as a newer mtime. */
static void fake_age(const FakeSysfs *f)
{
        struct timespec t[2] = { { .tv_sec = time(NULL) - 3600 }, { .tv_sec = time(NULL) - 3600 } };
        char path[128];

        for (size_t i = 0; i < sizeof(fake_names) / sizeof(fake_names[0]); i++) {
                snprintf(path, sizeof(path), "%s/%s", f->dir, fake_names[i]);
                check(utimensat(AT_FDCWD, path, t, 0) == 0);
        }
}

static bool fake_touched(const FakeSysfs *f, const char *name)
{
        char path[128];
        struct stat st;

        snprintf(path, sizeof(path), "%s/%s", f->dir, name);
        check(stat(path, &st) == 0);
        return st.st_mtime > time(NULL) - 1800;
}

static void fake_setup(FakeSysfs *f)
{
        snprintf(f->dir, sizeof(f->dir), "/tmp/memtide-test-ksm-XXXXXX");
        check(mkdtemp(f->dir));
        /* values as a Debian 12 host prints them, ksmd stopped */
        fake_write(f, "run", "0\n");
        fake_write(f, "pages_to_scan", "100\n");
        fake_write(f, "sleep_millisecs", "20\n");
        fake_write(f, "pages_shared", "1520\n");
        fake_write(f, "pages_sharing", "9874\n");
        fake_write(f, "pages_unshared", "30411\n");
        fake_write(f, "pages_volatile", "212\n");
        fake_write(f, "full_scans", "17\n");
        fake_age(f);
}

static void fake_teardown(FakeSysfs *f)
{
        char path[128];

        for (size_t i = 0; i < sizeof(fake_names) / sizeof(fake_names[0]); i++) {
                snprintf(path, sizeof(path), "%s/%s", f->dir, fake_names[i]);
                unlink(path);
        }
        check(rmdir(f->dir) == 0);
}

/*
 * QEMU reports a guest's size as its memory minus a page count the guest
 * itself writes (the virtio-balloon config's 32-bit "actual"), unchecked: a
 * guest claiming more pages than it has is reported at nearly 2^64, by
 * query-balloon and BALLOON_CHANGE alike (and libvirt passes it on). Such a
 * guest counts as its boot memory: it cannot turn ksmd on by itself, nor can
 * a few of them wrap the sum around.
 */
static void test_guest_size_near_2_64_counts_as_boot_memory(void)
{
        KsmConfig c = enabled_config();
        KsmState st = { 0 };
        KsmDecision d;
        uint64_t bogus = 1 * GIB - (UINT64_C(0xffffffff) << 12); /* 2^64 - 16 TiB + 1 GiB + 4 KiB */
        KsmSample s = {
                .host = { .mem_total_bytes = 64 * GIB, .mem_available_bytes = 60 * GIB },
                .ksm = { .available = true, .run = 0, .pages_to_scan = 100, .sleep_millisecs = 20 },
        };

        s.committed_bytes = ksm_committed_add(0, bogus, 1 * GIB);
        check_u64_eq(s.committed_bytes, 1 * GIB);
        ksm_decide(&c, &s, &st, &d);
        check(d.action == KSM_ACTION_NONE);
        check_u64_eq(d.run, 0);
        check_str_contains(d.reason, "not needed");

        uint64_t sum = 0;
        for (int i = 0; i < 5; i++)
                sum = ksm_committed_add(sum, bogus, 1 * GIB);
        check_u64_eq(sum, 5 * GIB);

        /* guests really holding more than 80 % of the host still run ksmd */
        s.committed_bytes = 0;
        for (int i = 0; i < 3; i++)
                s.committed_bytes = ksm_committed_add(s.committed_bytes, 20 * GIB, 32 * GIB);
        check_u64_eq(s.committed_bytes, 60 * GIB);
        ksm_decide(&c, &s, &st, &d);
        check(d.action == KSM_ACTION_RUN);

        /* boot memory unknown: the size as reported, and the sum saturates */
        check_u64_eq(ksm_committed_add(UINT64_MAX - GIB, 2 * GIB, 0), UINT64_MAX);
        check_u64_eq(ksm_committed_add(3 * GIB, 2 * GIB, 0), 5 * GIB);
}

/* A share of the host that does not fit 64 bits saturates instead of
 * converting (undefined): CommittedShare=1000% of a 4 EiB host is not 0. */
static void test_limits_beyond_64_bits_saturate(void)
{
        KsmConfig c = enabled_config();
        KsmState st = { 0 };
        KsmDecision d;
        KsmSample s = {
                .host = { .mem_total_bytes = UINT64_C(1) << 62,
                          .mem_available_bytes = UINT64_C(1) << 61 },
                .committed_bytes = 1 * GIB,
                .ksm = { .available = true, .run = 0, .pages_to_scan = 100, .sleep_millisecs = 20 },
        };

        c.committed_share = 10.0;
        ksm_decide(&c, &s, &st, &d);
        check(d.action == KSM_ACTION_NONE);
        check_str_contains(d.reason, "not needed");
}

static void test_read_fake_sysfs(void)
{
        FakeSysfs f;
        KsmFigures k;

        fake_setup(&f);
        check(ksm_read(f.dir, &k) == 0);
        check(k.available);
        check_u64_eq(k.run, 0);
        check_u64_eq(k.pages_to_scan, 100);
        check_u64_eq(k.sleep_millisecs, 20);
        check_u64_eq(k.pages_shared, 1520);
        check_u64_eq(k.pages_sharing, 9874);
        check_u64_eq(k.pages_unshared, 30411);
        check_u64_eq(k.pages_volatile, 212);
        check_u64_eq(k.full_scans, 17);
        check(strcmp(ksm_run_state_to_string(&k), "stopped") == 0);
        check_u64_eq(ksm_saved_bytes(&k, 4096), UINT64_C(9874) * 4096);
        fake_teardown(&f);
}

static void test_absent_directory_is_unavailable(void)
{
        KsmFigures k = { .available = true, .run = 1 };

        check(ksm_read("/nonexistent/sys/kernel/mm/ksm", &k) == -ENOENT);
        check(!k.available);
        check_u64_eq(k.run, 0);
        check(strcmp(ksm_run_state_to_string(&k), "unavailable") == 0);
        check_u64_eq(ksm_saved_bytes(&k, 4096), 0);
}

static void test_garbage_is_rejected(void)
{
        FakeSysfs f;
        KsmFigures k;

        fake_setup(&f);
        fake_write(&f, "pages_sharing", "lots\n");
        check(ksm_read(f.dir, &k) == -EINVAL);
        check(!k.available);
        fake_write(&f, "pages_sharing", "-1\n");
        check(ksm_read(f.dir, &k) == -EINVAL);
        fake_write(&f, "pages_sharing", "12 34\n");
        check(ksm_read(f.dir, &k) == -EINVAL);
        fake_write(&f, "pages_sharing", "");
        check(ksm_read(f.dir, &k) == -EINVAL);
        fake_write(&f, "pages_sharing", "12\n");
        fake_write(&f, "run", "4294967296\n");
        check(ksm_read(f.dir, &k) == -ERANGE);
        fake_teardown(&f);
}

static void test_apply_writes_only_changed_values(void)
{
        FakeSysfs f;
        KsmFigures k;
        char buf[32];

        fake_setup(&f);
        check(ksm_read(f.dir, &k) == 0);

        /* same values: nothing written */
        KsmDecision same = { .run = 0, .pages_to_scan = 100, .sleep_millisecs = 20 };
        check(ksm_apply(f.dir, &k, &same) == 0);
        check(!fake_touched(&f, "run"));
        check(!fake_touched(&f, "pages_to_scan"));
        check(!fake_touched(&f, "sleep_millisecs"));

        /* only pages_to_scan changes */
        KsmDecision pages = { .run = 0, .pages_to_scan = 400, .sleep_millisecs = 20 };
        check(ksm_apply(f.dir, &k, &pages) == 1);
        fake_read(&f, "pages_to_scan", buf, sizeof(buf));
        check(strcmp(buf, "400\n") == 0);
        check(fake_touched(&f, "pages_to_scan"));
        check(!fake_touched(&f, "run"));
        check(!fake_touched(&f, "sleep_millisecs"));

        /* start: all three */
        fake_age(&f);
        check(ksm_read(f.dir, &k) == 0);
        KsmDecision start = { .run = 1, .pages_to_scan = 700, .sleep_millisecs = 10 };
        check(ksm_apply(f.dir, &k, &start) == 3);
        check(ksm_read(f.dir, &k) == 0);
        check_u64_eq(k.run, 1);
        check_u64_eq(k.pages_to_scan, 700);
        check_u64_eq(k.sleep_millisecs, 10);

        /* stop: run alone */
        fake_age(&f);
        KsmDecision stop = { .run = 0, .pages_to_scan = 700, .sleep_millisecs = 10 };
        check(ksm_apply(f.dir, &k, &stop) == 1);
        fake_read(&f, "run", buf, sizeof(buf));
        check(strcmp(buf, "0\n") == 0);
        check(fake_touched(&f, "run"));
        check(!fake_touched(&f, "pages_to_scan"));
        check(!fake_touched(&f, "sleep_millisecs"));
        fake_teardown(&f);
}

static void test_controller_cycles_on_fake_sysfs(void)
{
        KsmConfig c = enabled_config();
        KsmState st = { 0 };
        KsmDecision d;
        FakeSysfs f;
        KsmSample s = {
                .host = { .mem_total_bytes = 16 * GIB, .mem_available_bytes = 2 * GIB },
                .committed_bytes = 12 * GIB,
        };
        const uint32_t expected_pages[] = { 400, 700, 1000, 1250, 1250 };

        fake_setup(&f);
        /* under pressure: start, then boost each cycle up to PagesMax */
        for (size_t i = 0; i < sizeof(expected_pages) / sizeof(expected_pages[0]); i++) {
                check(ksm_read(f.dir, &s.ksm) == 0);
                ksm_decide(&c, &s, &st, &d);
                check(d.action == KSM_ACTION_RUN);
                check(ksm_apply(f.dir, &s.ksm, &d) >= 0);
                check(ksm_read(f.dir, &s.ksm) == 0);
                check_u64_eq(s.ksm.run, 1);
                check_u64_eq(s.ksm.pages_to_scan, expected_pages[i]);
                check_u64_eq(s.ksm.sleep_millisecs, 10);
        }
        /* at the maximum a steady state writes nothing */
        fake_age(&f);
        ksm_decide(&c, &s, &st, &d);
        check(ksm_apply(f.dir, &s.ksm, &d) == 0);
        check(!fake_touched(&f, "pages_to_scan"));

        /* pressure gone, but 14 GiB committed is above 80 % of 16 GiB: decay */
        s.host.mem_available_bytes = 8 * GIB;
        s.committed_bytes = 14 * GIB;
        ksm_decide(&c, &s, &st, &d);
        check(d.action == KSM_ACTION_RUN);
        check(ksm_apply(f.dir, &s.ksm, &d) == 1);
        check(ksm_read(f.dir, &s.ksm) == 0);
        check_u64_eq(s.ksm.pages_to_scan, 1200);

        /* neither: we started ksmd, so we stop it */
        s.committed_bytes = 4 * GIB;
        ksm_decide(&c, &s, &st, &d);
        check(d.action == KSM_ACTION_STOP);
        check(ksm_apply(f.dir, &s.ksm, &d) == 1);
        check(ksm_read(f.dir, &s.ksm) == 0);
        check_u64_eq(s.ksm.run, 0);
        check(!st.started_by_us);
        fake_teardown(&f);
}

int main(void)
{
        RUN(test_defaults_follow_ksmtuned);
        RUN(test_disabled_leaves_ksmd_alone);
        RUN(test_unavailable_is_a_state_not_an_error);
        RUN(test_pressure_starts_and_boosts);
        RUN(test_boost_stops_at_pages_max);
        RUN(test_overcommit_without_pressure_runs_and_decays);
        RUN(test_stops_only_a_ksmd_it_started);
        RUN(test_admin_started_ksmd_is_tuned_but_not_claimed);
        RUN(test_threshold_floor_on_small_hosts);
        RUN(test_sleep_scales_with_host_size);
        RUN(test_unmerging_is_left_alone);
        RUN(test_free_without_memavailable_counts_caches);
        RUN(test_pages_min_above_max_is_not_a_crash);
        RUN(test_guest_size_near_2_64_counts_as_boot_memory);
        RUN(test_limits_beyond_64_bits_saturate);
        RUN(test_read_fake_sysfs);
        RUN(test_absent_directory_is_unavailable);
        RUN(test_garbage_is_rejected);
        RUN(test_apply_writes_only_changed_values);
        RUN(test_controller_cycles_on_fake_sysfs);
        return 0;
}
