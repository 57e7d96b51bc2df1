/* SPDX-License-Identifier: GPL-2.0-or-later */
/* memtide.conf parsing: keys, units, guest rules, errors with file:line, drop-ins. */
#include <errno.h>
#include <sys/stat.h>

#include "cleanup.h"
#include "config.h"
#include "model.h"
#include "test-util.h"
#include "units.h"

/* config_dump() into a string (caller frees). */
static char *dump_text(const MemtideConfig *c)
{
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);

        check(f);
        check(config_dump(c, f) == 0);
        check(fclose(f) == 0);
        return buf;
}

static void test_defaults(void)
{
        _cleanup_(config_freep) MemtideConfig *c = NULL;
        check(config_new(&c) == 0);
        check_u64_eq(c->interval_usec, 2 * USEC_PER_SEC);
        check_u64_eq(c->stats_period_usec, USEC_PER_SEC);
        check(strcmp(c->control_socket, "/run/memtide/io.memtide.socket") == 0);
        check(strcmp(c->qmp_sockets[1], "/var/run/qemu-server/*.qmp") == 0);
        check(!c->ksm.enabled);
        check(strcmp(c->ksm.sysfs_path, "/sys/kernel/mm/ksm") == 0);
        check(c->ksm.threshold_share == 0.20);
        check_u64_eq(c->ksm.pages_max, 1250);
}

static void test_ksm_keys_parse(void)
{
        _cleanup_(config_freep) MemtideConfig *c = NULL;
        _cleanup_free_ char *err = NULL;
        const char *text = "[KSM]\n"
                           "Enabled=yes\n"
                           "SysfsPath=/tmp/fake-ksm\n"
                           "ThresholdShare=25%\n"
                           "CommittedShare=150%\n"
                           "PagesBoost=500\n"
                           "PagesDecay=0\n"
                           "PagesMin=32\n"
                           "PagesMax=4000\n"
                           "SleepMsecPer16GiB=20\n";
        check(config_new(&c) == 0);
        check(config_parse_text(c, text, "ksm.conf", &err) == 0);
        check(c->ksm.enabled);
        check(strcmp(c->ksm.sysfs_path, "/tmp/fake-ksm") == 0);
        check(c->ksm.threshold_share == 0.25);
        check(c->ksm.committed_share == 1.5);
        check_u64_eq(c->ksm.pages_boost, 500);
        check_u64_eq(c->ksm.pages_decay, 0);
        check_u64_eq(c->ksm.pages_min, 32);
        check_u64_eq(c->ksm.pages_max, 4000);
        check_u64_eq(c->ksm.sleep_msec_per_16gib, 20);
        check(config_parse_text(c, "[KSM]\nEnabled=no\n", "ksm.conf", &err) == 0);
        check(!c->ksm.enabled);
}

static void test_all_keys_parse(void)
{
        _cleanup_(config_freep) MemtideConfig *c = NULL;
        _cleanup_free_ char *err = NULL;
        const char *text = "# comment\n"
                           "[Daemon]\n"
                           "Backend=qmp\n"
                           "QMPSockets=/tmp/a/*.qmp  /tmp/b/*.qmp\n"
                           "Interval=500ms\n"
                           "StatsPeriod=2s\n"
                           "ControlSocket=/tmp/ctl.sock\n"
                           "\n"
                           "[Policy]\n"
                           "Strategy=adaptive\n"
                           "HeadroomMin=64M\n"
                           "HeadroomShare=5%\n"
                           "FloorNarrowing=no\n"
                           "InflateStep=128M\n"
                           "DeflateStep=50%\n"
                           "GrowthHorizon=3s\n"
                           "[Guest:web-*]\n"
                           "MinMemory=1G\n"
                           "MaxMemory=2G\n"
                           "Manage=no\n";
        check(config_new(&c) == 0);
        check(config_parse_text(c, text, "t.conf", &err) == 0);
        check(c->backend == BACKEND_QMP);
        check(strcmp(c->qmp_sockets[0], "/tmp/a/*.qmp") == 0);
        check(strcmp(c->qmp_sockets[1], "/tmp/b/*.qmp") == 0);
        check(c->qmp_sockets[2] == NULL);
        check_u64_eq(c->interval_usec, 500000);
        check_u64_eq(c->stats_period_usec, 2 * USEC_PER_SEC);
        check_u64_eq(c->policy.headroom_min_bytes, 64 * MIB);
        check(c->policy.headroom_share == 0.05);
        check(!c->policy.floor_narrowing);
        check_u64_eq(c->policy.inflate_step.bytes, 128 * MIB);
        check(c->policy.deflate_step.share == 0.5);
        check_u64_eq(c->policy.growth_horizon_usec, 3 * USEC_PER_SEC);

        GuestSettings s;
        config_guest_settings(c, "web-1", NULL, &s);
        check_u64_eq(s.min_bytes, GIB);
        check_u64_eq(s.max_bytes, 2 * GIB);
        check(!s.manage);
        config_guest_settings(c, "db-1", NULL, &s);
        check_u64_eq(s.min_bytes, 0);
        check(s.manage);
}

static void check_error(const char *text, const char *expected)
{
        _cleanup_(config_freep) MemtideConfig *c = NULL;
        _cleanup_free_ char *err = NULL;
        check(config_new(&c) == 0);
        check(config_parse_text(c, text, "bad.conf", &err) == -EINVAL);
        check_str_contains(err, expected);
}

static void test_errors_name_file_line_and_reason(void)
{
        check_error("[Daemon]\nInterval=fast\n", "bad.conf:2: Interval=fast: expected a time");
        check_error("[Daemon]\n\n\nBogus=1\n", "bad.conf:4: unknown key Bogus=");
        check_error("[Nope]\n", "bad.conf:1: unknown section [Nope]");
        check_error("Interval=2s\n", "bad.conf:1: Interval= outside of any section");
        check_error("[Daemon]\nBackend=xen\n",
                    "bad.conf:2: Backend=xen: expected auto, libvirt or qmp");
        check_error("[Guest:a]\nMinMemory=-5M\n", "bad.conf:2: MinMemory=-5M");
        check_error("[Daemon]\nStatsPeriod=1500ms\n", "whole seconds");
        check_error("[Daemon]\nQMPSockets=relative/*.qmp\n", "absolute");
        check_error("[Policy]\nHeadroomShare=150%\n", "percentage");
        check_error("[Policy]\nHostReserve=30%\n", "bad.conf:2: HostReserve=30%: expected a "
                                                   "percentage of at most 25%");
        check_error("[Policy]\nFloorNarrowing=sometimes\n", "expected yes or no");
        check_error("[KSM]\nEnabled=maybe\n", "bad.conf:2: Enabled=maybe: expected yes or no");
        check_error("[KSM]\nSysfsPath=sys/kernel/mm/ksm\n", "absolute path");
        check_error("[KSM]\nThresholdShare=0.2\n", "percentage");
        check_error("[KSM]\nCommittedShare=2000%\n", "up to 1000%");
        check_error("[KSM]\nPagesDecay=-50\n", "PagesDecay=-50: expected a whole number of pages");
        check_error("[KSM]\nPagesMin=0\n", "between 1 and 100000");
        check_error("[KSM]\nPagesMax=lots\n", "PagesMax=lots");
        check_error("[KSM]\nSleepMsecPer16GiB=0\n", "milliseconds");
        check_error("[Daemon\n", "closing");
        check_error("[Daemon]\njust text\n", "expected Key=Value");
}

static void write_file(const char *path, const char *text)
{
        FILE *f = fopen(path, "we");
        check(f);
        fputs(text, f);
        fclose(f);
}

static void test_dropins_override_in_lexical_order(void)
{
        char dir[] = "/tmp/memtide-test-config-XXXXXX";
        char path[256], dropins[300], a[400], b[400];
        _cleanup_(config_freep) MemtideConfig *c = NULL;
        _cleanup_free_ char *err = NULL;

        check(mkdtemp(dir));
        snprintf(path, sizeof(path), "%s/memtide.conf", dir);
        snprintf(dropins, sizeof(dropins), "%s.d", path);
        snprintf(a, sizeof(a), "%s/10-a.conf", dropins);
        snprintf(b, sizeof(b), "%s/20-b.conf", dropins);
        write_file(path, "[Daemon]\nInterval=5s\n");
        check(mkdir(dropins, 0755) == 0);
        write_file(b, "[Daemon]\nInterval=3s\n");
        write_file(a, "[Daemon]\nInterval=4s\nStatsPeriod=2s\n");
        check(config_load(path, &c, &err) == 0);
        check_u64_eq(c->interval_usec, 3 * USEC_PER_SEC);
        check_u64_eq(c->stats_period_usec, 2 * USEC_PER_SEC);

        /* a broken drop-in fails the whole load, naming that file */
        write_file(b, "[Daemon]\nInterval=soon\n");
        c = config_free(c);
        check(config_load(path, &c, &err) == -EINVAL);
        check(c == NULL);
        check_str_contains(err, "20-b.conf:2:");
        unlink(a);
        unlink(b);
        rmdir(dropins);
        unlink(path);
        rmdir(dir);
}

/* Every error of a file, each with its line; the lines between still parse,
 * and keys under a bad section header are skipped without errors of their own. */
static void test_every_error_is_reported(void)
{
        _cleanup_(config_freep) MemtideConfig *c = NULL;
        _cleanup_free_ char *err = NULL;

        check(config_new(&c) == 0);
        check(config_parse_text(c,
                                "[Daemon]\nInterval=fast\nStatsPeriod=2s\nBogus=1\n"
                                "no assignment\n[Nope]\nWhatever=1\n[Policy]\nHeadroomMin=lots\n",
                                "bad.conf", &err) == -EINVAL);
        check_str_contains(err, "bad.conf:2: Interval=fast");
        check_str_contains(err, "bad.conf:4: unknown key Bogus=");
        check_str_contains(err, "bad.conf:5: expected Key=Value");
        check_str_contains(err, "bad.conf:6: unknown section [Nope]");
        check_str_contains(err, "bad.conf:9: HeadroomMin=lots");
        check(strstr(err, "bad.conf:7:") == NULL);
        check_u64_eq(c->stats_period_usec, 2 * USEC_PER_SEC);
}

/* The main file's errors and a drop-in's, in one report; the load is refused. */
static void test_errors_across_dropins(void)
{
        _cleanup_(config_freep) MemtideConfig *c = NULL;
        _cleanup_free_ char *err = NULL;
        char dir[] = "/tmp/memtide-test-XXXXXX", path[128], dropins[160], a[200];

        check(mkdtemp(dir) != NULL);
        snprintf(path, sizeof(path), "%s/memtide.conf", dir);
        snprintf(dropins, sizeof(dropins), "%s.d", path);
        snprintf(a, sizeof(a), "%s/10-a.conf", dropins);
        write_file(path, "[Daemon]\nInterval=soon\n");
        check(mkdir(dropins, 0755) == 0);
        write_file(a, "[Policy]\nHeadroomMin=lots\n");
        check(config_load(path, &c, &err) == -EINVAL);
        check(c == NULL);
        check_str_contains(err, "memtide.conf:2: Interval=soon");
        check_str_contains(err, "10-a.conf:2: HeadroomMin=lots");
        unlink(a);
        rmdir(dropins);
        unlink(path);
        rmdir(dir);
}

static void test_missing_file_is_an_error(void)
{
        _cleanup_(config_freep) MemtideConfig *c = NULL;
        _cleanup_free_ char *err = NULL;
        check(config_load("/nonexistent/memtide.conf", &c, &err) == -ENOENT);
        check_str_contains(err, "/nonexistent/memtide.conf");
}

static void test_units(void)
{
        uint64_t v;
        check(parse_size("512M", &v) == 0 && v == 512 * MIB);
        check(parse_size("1.5G", &v) == 0 && v == 3 * GIB / 2);
        check(parse_size("4096", &v) == 0 && v == 4096);
        check(parse_size("2 GiB", &v) == 0 && v == 2 * GIB);
        check(parse_size("-1M", &v) == -EINVAL);
        check(parse_size("12Q", &v) == -EINVAL);
        check(parse_size("", &v) == -EINVAL);
        check(parse_time_usec("500ms", &v) == 0 && v == 500000);
        check(parse_time_usec("2", &v) == 0 && v == 2 * USEC_PER_SEC);
        check(parse_time_usec("1min", &v) == 0 && v == 60 * USEC_PER_SEC);
        check(parse_time_usec("soon", &v) == -EINVAL);
}

/*
 * The shipped example lists every key at its default: uncommented, it must
 * parse, and every key of the parser's table must appear in it.
 */
/* Every key the example lists before its sample [Guest:] section is at its
 * default: the example, read as a config, is the defaults. */
static void check_example_is_at_defaults(const char *text)
{
        _cleanup_(config_freep) MemtideConfig *example = NULL, *defaults = NULL;
        _cleanup_free_ char *before_guests = NULL, *err = NULL, *want = NULL, *got = NULL;
        const char *guests = strstr(text, "\n[Guest:");

        check(guests);
        before_guests = strndup(text, (size_t)(guests - text) + 1);
        check(config_new(&example) == 0 && config_new(&defaults) == 0);
        check(config_parse_text(example, before_guests, EXAMPLE_CONFIG, &err) == 0);
        want = dump_text(defaults);
        got = dump_text(example);
        if (strcmp(want, got) != 0)
                fprintf(stderr, "defaults:\n%s\nthe example:\n%s\n", want, got);
        check_str(got, want);
}

static void test_example_config_is_complete(void)
{
        _cleanup_(config_freep) MemtideConfig *c = NULL;
        _cleanup_free_ char *err = NULL, *text = NULL;
        FILE *f = fopen(EXAMPLE_CONFIG, "re");
        size_t n = 0;
        char line[512];

        check(f);
        text = calloc(1, 65536);
        while (fgets(line, sizeof(line), f)) {
                const char *l = line;
                /* "#Key=" and "#[Section]" lines are settings; "# text" is prose. */
                if (l[0] == '#' && (l[1] == '[' || (l[1] >= 'A' && l[1] <= 'Z')))
                        l++;
                else if (l[0] == '#')
                        continue;
                n += (size_t)snprintf(text + n, 65536 - n, "%s", l);
        }
        fclose(f);
        check(config_new(&c) == 0);
        if (config_parse_text(c, text, EXAMPLE_CONFIG, &err) < 0)
                fprintf(stderr, "%s\n", err);
        check(err == NULL);
        for (size_t i = 0; i < config_key_count(); i++) {
                char needle[96];
                snprintf(needle, sizeof(needle), "\n%s=", config_key_name(i));
                check_str_contains(text, needle);
        }
        check_example_is_at_defaults(text);
}

/* What config_dump() writes reads back as the same config, guest rules included. */
static void test_dump_round_trips(void)
{
        _cleanup_(config_freep) MemtideConfig *c = NULL, *again = NULL;
        _cleanup_free_ char *err = NULL, *first = NULL, *second = NULL;
        const char *text = "[Daemon]\nBackend=libvirt\nQMPSockets=/a/*.qmp /b/*.qmp\n"
                           "Interval=1500ms\nStatsPeriod=3s\nMetricsFile=/tmp/m.prom\n"
                           "[Policy]\nStrategy=mom\nHeadroomMin=100M\nHeadroomShare=3%\n"
                           "InflateStep=128M\nDeflateStep=30%\nVolatilityFactor=1.5\n"
                           "HostReserve=7%\nIdleTax=75%\n"
                           "[KSM]\nEnabled=yes\nPagesMax=2000\n"
                           "[Guest:db-*]\nMinMemory=2G\nShares=2000\n"
                           "[Guest:web-1]\nManage=no\nMaxMemory=1536M\n";

        check(config_new(&c) == 0 && config_new(&again) == 0);
        check(config_parse_text(c, text, "t.conf", &err) == 0);
        first = dump_text(c);
        check_str_contains(first, "Interval=1500ms\n");
        check_str_contains(first, "StatsPeriod=3s\n");
        check_str_contains(first, "Strategy=mom\n");
        check_str_contains(first, "IdleTax=75%\n");
        check_str_contains(first, "QMPSockets=/a/*.qmp /b/*.qmp\n");
        check_str_contains(first, "[Guest:db-*]\nMinMemory=2G\nShares=2000\n");
        check_str_contains(first, "[Guest:web-1]\nMaxMemory=1536M\nManage=no\n");
        check(config_parse_text(again, first, "dump.conf", &err) == 0);
        second = dump_text(again);
        check_str(second, first);
}

static void test_guest_budget(void)
{
        _cleanup_(config_freep) MemtideConfig *c = NULL;
        _cleanup_free_ char *err = NULL, *dumped = NULL;

        check(config_new(&c) == 0);
        check(c->guest_budget.kind == GUEST_BUDGET_NONE);
        check(c->guest_memory_cgroup == NULL);
        check(config_parse_text(c, "[Daemon]\nGuestMemoryBudget=6G\n", "a.conf", &err) == 0);
        check(c->guest_budget.kind == GUEST_BUDGET_SIZE);
        check_u64_eq(c->guest_budget.bytes, 6 * GIB);
        check(config_parse_text(
                      c, "[Daemon]\nGuestMemoryBudget=auto\nGuestMemoryCgroup=/machine.slice\n",
                      "a.conf", &err) == 0);
        check(c->guest_budget.kind == GUEST_BUDGET_AUTO);
        check_str(c->guest_memory_cgroup, "/machine.slice");
        dumped = dump_text(c);
        check_str_contains(dumped, "GuestMemoryBudget=auto\nGuestMemoryCgroup=/machine.slice\n");
        /* Empty: back to no budget, no cgroup named. */
        check(config_parse_text(c, "[Daemon]\nGuestMemoryBudget=\nGuestMemoryCgroup=\n", "a.conf",
                                &err) == 0);
        check(c->guest_budget.kind == GUEST_BUDGET_NONE);
        check(c->guest_memory_cgroup == NULL);
        free(dumped);
        dumped = dump_text(c);
        check_str_contains(dumped, "GuestMemoryBudget=\nGuestMemoryCgroup=\n");

        check_error("[Daemon]\n\nGuestMemoryBudget=lots\n",
                    "bad.conf:3: GuestMemoryBudget=lots: expected a size such as 6G, auto");
        check_error("[Daemon]\nGuestMemoryBudget=0\n", "bad.conf:2: GuestMemoryBudget=0: expected");
        check_error("[Daemon]\nGuestMemoryBudget=-2G\n", "bad.conf:2: GuestMemoryBudget=-2G");
        check_error("[Daemon]\nGuestMemoryCgroup=machine.slice\n",
                    "bad.conf:2: GuestMemoryCgroup=machine.slice: expected a cgroup path");
        check_error("[Daemon]\nGuestMemoryCgroup=/machine.slice/../..\n",
                    "bad.conf:2: GuestMemoryCgroup=/machine.slice/../..: expected a cgroup path");
}

int main(void)
{
        RUN(test_guest_budget);
        RUN(test_defaults);
        RUN(test_example_config_is_complete);
        RUN(test_dump_round_trips);
        RUN(test_all_keys_parse);
        RUN(test_ksm_keys_parse);
        RUN(test_errors_name_file_line_and_reason);
        RUN(test_dropins_override_in_lexical_order);
        RUN(test_every_error_is_reported);
        RUN(test_errors_across_dropins);
        RUN(test_missing_file_is_an_error);
        RUN(test_units);
        return 0;
}
