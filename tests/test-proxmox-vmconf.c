/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Proxmox VE VM configs (tests/fixtures/proxmox/) as memtide reads them: keys, layering, errors. */
#include <errno.h>

#include "cleanup.h"
#include "config.h"
#include "proxmox-vmconf.h"
#include "test-util.h"

#define DIR FIXTURE_DIR "/proxmox"

static void load_ok(const char *name, ProxmoxVmConf *c)
{
        _cleanup_free_ char *err = NULL, *path = NULL;

        check(asprintf(&path, "%s/%s", DIR, name) > 0);
        if (proxmox_vmconf_load(path, c, &err) != 0) {
                fprintf(stderr, "%s: %s\n", name, err ? err : "?");
                check(!"load failed");
        }
}

static char *load_error(const char *name, int expected)
{
        _cleanup_free_ char *path = NULL;
        ProxmoxVmConf c;
        char *err = NULL;

        check(asprintf(&path, "%s/%s", DIR, name) > 0);
        check_int(proxmox_vmconf_load(path, &c, &err), expected);
        check(err);
        return err;
}

static void test_main_section_keys(void)
{
        ProxmoxVmConf c;

        load_ok("101.conf", &c);
        check_u64_eq(c.memory_bytes, 4096 * MIB);
        check_u64_eq(c.memory_line, 6);
        check_u64_eq(c.balloon_bytes, 1024 * MIB);
        check_u64_eq(c.balloon_line, 7);
        check_u64_eq(c.shares, 2000);
        check_u64_eq(c.shares_line, 15);
}

static void test_settings_with_sources(void)
{
        ProxmoxVmConf c;
        GuestSettings s;

        load_ok("101.conf", &c);
        guest_settings_init(&s);
        proxmox_vmconf_apply(&c, "/etc/pve/qemu-server/101.conf", &s);
        check_u64_eq(s.max_bytes, 4096 * MIB);
        check_u64_eq(s.min_bytes, 1024 * MIB);
        check_u64_eq(s.shares, 2000);
        check(s.manage);
        check_str(s.source[GUEST_SETTING_MAX], "proxmox /etc/pve/qemu-server/101.conf:6");
        check_str(s.source[GUEST_SETTING_MIN], "proxmox /etc/pve/qemu-server/101.conf:7");
        check_str(s.source[GUEST_SETTING_SHARES], "proxmox /etc/pve/qemu-server/101.conf:15");
        check_str(s.source[GUEST_SETTING_MANAGE], "default");
}

/* Defaults < VM manager < [Guest:] rules: a rule wins for the keys it sets. */
static void test_config_rules_win(void)
{
        _cleanup_(config_freep) MemtideConfig *c = NULL;
        _cleanup_free_ char *err = NULL;
        ProxmoxVmConf conf;
        GuestSettings s;

        load_ok("101.conf", &conf);
        check(config_new(&c) == 0);
        check(config_parse_text(c, "[Guest:web-*]\nShares=500\n", "/etc/memtide/memtide.conf",
                                &err) == 0);
        guest_settings_init(&s);
        proxmox_vmconf_apply(&conf, "101.conf", &s);
        config_guest_rules_apply(c, "web-1", NULL, &s);
        check_u64_eq(s.shares, 500);
        check_str(s.source[GUEST_SETTING_SHARES], "config /etc/memtide/memtide.conf [Guest:web-*]");
        check_u64_eq(s.min_bytes, 1024 * MIB);
        check_str(s.source[GUEST_SETTING_MIN], "proxmox 101.conf:7");
}

static void test_balloon_zero_unmanaged(void)
{
        ProxmoxVmConf c;
        GuestSettings s;

        load_ok("102.conf", &c);
        check_u64_eq(c.balloon_line, 1);
        check_u64_eq(c.balloon_bytes, 0);
        guest_settings_init(&s);
        proxmox_vmconf_apply(&c, "102.conf", &s);
        check(!s.manage);
        check_contains(s.source[GUEST_SETTING_MANAGE], "102.conf:1 (balloon: 0");
        check_u64_eq(s.min_bytes, 0);
        check_str(s.source[GUEST_SETTING_MIN], "default");
        check_u64_eq(s.max_bytes, 2048 * MIB);
}

/* Proxmox VE 8's "current=", keys and lines that are not ours, [PENDING] not read. */
static void test_property_string_and_sections(void)
{
        ProxmoxVmConf c;
        GuestSettings s;

        load_ok("103.conf", &c);
        check_u64_eq(c.memory_bytes, 8192 * MIB);
        check_u64_eq(c.balloon_line, 0);
        check_u64_eq(c.shares_line, 0);
        guest_settings_init(&s);
        proxmox_vmconf_apply(&c, "103.conf", &s);
        /* no balloon: line: Proxmox leaves it at its memory, so do we */
        check_u64_eq(s.min_bytes, 8192 * MIB);
        check_contains(s.source[GUEST_SETTING_MIN], "103.conf:3 (no balloon: line");
        check_u64_eq(s.shares, 1000);
        check_str(s.source[GUEST_SETTING_SHARES], "default");
}

static void test_bad_value_names_file_line(void)
{
        _cleanup_free_ char *err = load_error("bad-balloon.conf", -EINVAL);

        check_contains(err, "bad-balloon.conf:3: balloon: 1G");
}

static void test_balloon_above_memory_refused(void)
{
        _cleanup_free_ char *err = load_error("balloon-above-memory.conf", -EINVAL);

        check_contains(err, "balloon-above-memory.conf:2: balloon: 2048 MiB is above memory");
}

static void test_values_refused(void)
{
        static const char *const bad[] = {
                "memory: 0\n",
                "memory: 8\n",
                "memory: -4096\n",
                "memory: 4096M\n",
                "memory: current=\n",
                "memory: hotplug=1\n",
                "memory: 99999999999999999999\n",
                "balloon: -1\n",
                "balloon: 12 34\n",
                "shares: 50001\n",
                "shares: +5\n",
                "shares:\n",
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                _cleanup_free_ char *err = NULL;
                ProxmoxVmConf c;
                check_int(proxmox_vmconf_parse(bad[i], "t.conf", &c, &err), -EINVAL);
                check_contains(err, "t.conf:1: ");
        }
}

static void test_hostile_sizes(void)
{
        _cleanup_free_ char *text = malloc(PROXMOX_VMCONF_MAX_LINE_BYTES + 64), *err = NULL;
        ProxmoxVmConf c;

        check(text);
        strcpy(text, "memory: 1024\n#");
        memset(text + 14, 'x', PROXMOX_VMCONF_MAX_LINE_BYTES);
        text[14 + PROXMOX_VMCONF_MAX_LINE_BYTES] = '\0';
        check_int(proxmox_vmconf_parse(text, "long.conf", &c, &err), -EINVAL);
        check_contains(err, "long.conf:2: line longer than");
}

static void test_socket_names(void)
{
        _cleanup_free_ char *p = NULL;

        check_int(proxmox_vmconf_path("/etc/pve/qemu-server", "/var/run/qemu-server/101.qmp", &p),
                  0);
        check_str(p, "/etc/pve/qemu-server/101.conf");
        free(p);
        p = NULL;
        check_int(proxmox_vmconf_path("/d", "/run/memtide/qmp/web-1.qmp", &p), -ENOENT);
        check_int(proxmox_vmconf_path("/d", "/x/101.qmp.old", &p), -ENOENT);
        check_int(proxmox_vmconf_path("/d", "/x/101-backup.qmp", &p), -ENOENT);
        check_int(proxmox_vmconf_path("/d", "/x/.qmp", &p), -ENOENT);
        check_int(proxmox_vmconf_path("/d", "/x/0101.qmp", &p), -ENOENT);
        check_int(proxmox_vmconf_path("/d", "/x/1234567890.qmp", &p), -ENOENT);
        check(!p);
}

static void test_missing_file(void)
{
        ProxmoxVmConf c;
        _cleanup_free_ char *err = NULL;

        check_int(proxmox_vmconf_load(DIR "/999.conf", &c, &err), -ENOENT);
        check_contains(err, "999.conf");
}

/* Review finding: pmxcfs down, Proxmox's own socket: not managed (and read
 * again), never memtide's defaults; a socket elsewhere keeps the defaults. */
static void test_missing_config_of_a_proxmox_socket(void)
{
        GuestSettings s;

        guest_settings_init(&s);
        check_int(proxmox_vmconf_guest_settings(DIR, "/var/run/qemu-server/999.qmp", &s, NULL), 0);
        check(!s.manage);
        check(s.vm_settings_missing);
        check_contains(s.source[GUEST_SETTING_MANAGE], "pmxcfs");

        guest_settings_init(&s);
        check_int(proxmox_vmconf_guest_settings(DIR, "/tmp/vms/999.qmp", &s, NULL), 0);
        check(s.manage);
        check(!s.vm_settings_missing);
}

int main(void)
{
        RUN(test_main_section_keys);
        RUN(test_settings_with_sources);
        RUN(test_config_rules_win);
        RUN(test_balloon_zero_unmanaged);
        RUN(test_property_string_and_sections);
        RUN(test_bad_value_names_file_line);
        RUN(test_balloon_above_memory_refused);
        RUN(test_values_refused);
        RUN(test_hostile_sizes);
        RUN(test_socket_names);
        RUN(test_missing_file);
        RUN(test_missing_config_of_a_proxmox_socket);
        return 0;
}
