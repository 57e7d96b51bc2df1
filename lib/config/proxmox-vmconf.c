/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "proxmox-vmconf.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"

#define MIB UINT64_C(1048576)
/* Sizes above 2^57 bytes no machine addresses (as OVERRIDE_MAX_BYTES). */
#define MAX_MIB (UINT64_C(1) << 37)
/* Proxmox's own limits: memory at least 16 MiB, shares 0..50000. */
#define MIN_MEMORY_MIB 16
#define MAX_SHARES     50000

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

/* A plain decimal number in [min, max]: no sign, no space, no unit. */
static int parse_number(const char *v, uint64_t min, uint64_t max, uint64_t *ret)
{
        unsigned long long n;
        char *end;

        if (!isdigit((unsigned char)v[0]))
                return -EINVAL;
        errno = 0;
        n = strtoull(v, &end, 10);
        if (*end != '\0' || errno != 0 || n < min || n > max)
                return -EINVAL;
        *ret = n;
        return 0;
}

/* "4096" or, since Proxmox VE 8, a property string "current=4096[,...]". */
static int parse_memory(char *v, uint64_t *ret_mib)
{
        char *save = NULL;
        bool first = true;

        for (char *p = strtok_r(v, ",", &save); p; p = strtok_r(NULL, ",", &save), first = false) {
                if (strncmp(p, "current=", 8) == 0)
                        return parse_number(p + 8, MIN_MEMORY_MIB, MAX_MIB, ret_mib);
                if (first && !strchr(p, '='))
                        return parse_number(p, MIN_MEMORY_MIB, MAX_MIB, ret_mib);
        }
        return -EINVAL;
}

static char *strip(char *s)
{
        size_t n;

        while (isspace((unsigned char)*s))
                s++;
        n = strlen(s);
        while (n > 0 && isspace((unsigned char)s[n - 1]))
                s[--n] = '\0';
        return s;
}

/* One "key: value" line of the main section; other keys are not ours. */
static int parse_line(char *line, const char *file, unsigned n, ProxmoxVmConf *c, char **ret_error)
{
        char *colon = strchr(line, ':'), *key, *value;
        uint64_t v;

        if (!colon)
                return 0;
        *colon = '\0';
        key = strip(line);
        value = strip(colon + 1);
        if (strcmp(key, "memory") == 0) {
                if (parse_memory(value, &v) < 0)
                        return set_error(ret_error, file, n,
                                         "memory: expected MiB between %d and %llu, e.g. 4096",
                                         MIN_MEMORY_MIB, (unsigned long long)MAX_MIB);
                c->memory_bytes = v * MIB;
                c->memory_line = n;
        } else if (strcmp(key, "balloon") == 0) {
                if (parse_number(value, 0, MAX_MIB, &v) < 0)
                        return set_error(ret_error, file, n,
                                         "balloon: %s: expected MiB, e.g. 2048 (0: no balloon)",
                                         value);
                c->balloon_bytes = v * MIB;
                c->balloon_line = n;
        } else if (strcmp(key, "shares") == 0) {
                if (parse_number(value, 0, MAX_SHARES, &v) < 0)
                        return set_error(ret_error, file, n,
                                         "shares: %s: expected a whole number between 0 and %d",
                                         value, MAX_SHARES);
                c->shares = (uint32_t)v;
                c->shares_line = n;
        }
        return 0;
}

/* Proxmox refuses a balloon above the memory; a file that has one was not
 * written by Proxmox, and its minimum would be no minimum. */
static int check_balloon(const ProxmoxVmConf *c, const char *file, char **ret_error)
{
        if (!c->balloon_line || !c->memory_line || c->balloon_bytes <= c->memory_bytes)
                return 0;
        return set_error(ret_error, file, c->balloon_line,
                         "balloon: %llu MiB is above memory: %llu MiB",
                         (unsigned long long)(c->balloon_bytes / MIB),
                         (unsigned long long)(c->memory_bytes / MIB));
}

int proxmox_vmconf_parse(const char *text, const char *file, ProxmoxVmConf *ret, char **ret_error)
{
        _cleanup_free_ char *copy = strdup(text);
        ProxmoxVmConf c = { 0 };
        char *p = copy;
        unsigned n = 0;
        int r;

        if (ret_error)
                *ret_error = NULL;
        if (!copy)
                return -ENOMEM;
        for (char *raw; (raw = strsep(&p, "\n"));) {
                n++;
                if (strlen(raw) > PROXMOX_VMCONF_MAX_LINE_BYTES)
                        return set_error(ret_error, file, n, "line longer than %d bytes",
                                         PROXMOX_VMCONF_MAX_LINE_BYTES);
                char *line = strip(raw);
                if (line[0] == '[')
                        break; /* [snapshot], [PENDING], [special:cloudinit]: not the VM's own */
                if (line[0] == '\0' || line[0] == '#')
                        continue;
                r = parse_line(line, file, n, &c, ret_error);
                if (r < 0)
                        return r;
        }
        r = check_balloon(&c, file, ret_error);
        if (r < 0)
                return r;
        *ret = c;
        return 0;
}

static int read_error(char **ret_error, const char *path, int r, const char *why)
{
        if (ret_error && asprintf(ret_error, "%s: %s", path, why ? why : strerror(-r)) < 0)
                *ret_error = NULL;
        return r;
}

int proxmox_vmconf_load(const char *path, ProxmoxVmConf *ret, char **ret_error)
{
        _cleanup_fclose_ FILE *f = NULL;
        _cleanup_free_ char *buf = NULL;
        size_t n;

        if (ret_error)
                *ret_error = NULL;
        f = fopen(path, "re");
        if (!f)
                return read_error(ret_error, path, -errno, NULL);
        buf = malloc(PROXMOX_VMCONF_MAX_BYTES + 1);
        if (!buf)
                return -ENOMEM;
        errno = 0;
        n = fread(buf, 1, PROXMOX_VMCONF_MAX_BYTES + 1, f);
        if (ferror(f))
                return read_error(ret_error, path, errno ? -errno : -EIO, NULL);
        if (n > PROXMOX_VMCONF_MAX_BYTES)
                return read_error(ret_error, path, -EFBIG, "file larger than 1 MiB");
        if (memchr(buf, '\0', n))
                return read_error(ret_error, path, -EINVAL, "file contains a NUL byte");
        buf[n] = '\0';
        return proxmox_vmconf_parse(buf, path, ret, ret_error);
}

int proxmox_vmconf_path(const char *dir, const char *socket_path, char **ret)
{
        const char *base = strrchr(socket_path, '/');
        size_t digits;

        base = base ? base + 1 : socket_path;
        digits = strspn(base, "0123456789");
        /* Proxmox's VMIDs are 100..999999999; "0.qmp" is no VM of its. */
        if (digits == 0 || digits > 9 || base[0] == '0' || strcmp(base + digits, ".qmp") != 0)
                return -ENOENT;
        if (asprintf(ret, "%s/%.*s.conf", dir, (int)digits, base) < 0)
                return -ENOMEM;
        return 0;
}

void proxmox_vmconf_apply(const ProxmoxVmConf *c, const char *path, GuestSettings *s)
{
        if (c->memory_line) {
                s->max_bytes = c->memory_bytes;
                guest_settings_set_source(s, GUEST_SETTING_MAX, "proxmox %s:%u", path,
                                          c->memory_line);
        }
        if (c->balloon_line && c->balloon_bytes > 0) {
                s->min_bytes = c->balloon_bytes;
                guest_settings_set_source(s, GUEST_SETTING_MIN, "proxmox %s:%u", path,
                                          c->balloon_line);
        } else if (c->balloon_line) {
                s->manage = false;
                guest_settings_set_source(s, GUEST_SETTING_MANAGE,
                                          "proxmox %s:%u (balloon: 0, no balloon device)", path,
                                          c->balloon_line);
        } else if (c->memory_line) {
                /* Proxmox's auto-ballooning skips a VM without balloon: (no minimum set):
                 * it keeps all its memory. */
                s->min_bytes = c->memory_bytes;
                guest_settings_set_source(s, GUEST_SETTING_MIN,
                                          "proxmox %s:%u (no balloon: line, minimum = memory)",
                                          path, c->memory_line);
        }
        if (c->shares_line) {
                s->shares = c->shares;
                guest_settings_set_source(s, GUEST_SETTING_SHARES, "proxmox %s:%u", path,
                                          c->shares_line);
        }
}

/* Under Proxmox's run directory: the VM config must exist. */
static bool proxmox_socket(const char *socket_path)
{
        return strncmp(socket_path, "/run/qemu-server/", 17) == 0 ||
               strncmp(socket_path, "/var/run/qemu-server/", 21) == 0;
}

int proxmox_vmconf_guest_settings(const char *dir, const char *socket_path, GuestSettings *s,
                                  char **ret_error)
{
        _cleanup_free_ char *path = NULL;
        ProxmoxVmConf conf;
        int r;

        if (ret_error)
                *ret_error = NULL;
        r = proxmox_vmconf_path(dir, socket_path, &path);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        r = proxmox_vmconf_load(path, &conf, ret_error);
        if (r == -ENOENT) {
                if (ret_error) {
                        free(*ret_error);
                        *ret_error = NULL;
                }
                /* Proxmox's own socket without its config: pmxcfs is down or
                 * restarting, and memtide's defaults could squeeze a VM that
                 * Proxmox never balloons. Elsewhere: a socket merely named
                 * like Proxmox's, on a host that is not. */
                if (!proxmox_socket(socket_path))
                        return 0;
                s->manage = false;
                s->vm_settings_missing = true;
                guest_settings_set_source(s, GUEST_SETTING_MANAGE,
                                          "proxmox %s missing (pmxcfs not mounted?): not managed "
                                          "until it is back",
                                          path);
                return 0;
        }
        if (r < 0) {
                s->manage = false;
                guest_settings_set_source(s, GUEST_SETTING_MANAGE, "proxmox %s",
                                          ret_error && *ret_error ? *ret_error : path);
                return r;
        }
        proxmox_vmconf_apply(&conf, path, s);
        return 1;
}
