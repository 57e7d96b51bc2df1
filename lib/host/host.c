/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "host.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "zfs-arc.h"

typedef struct MeminfoField {
        const char *name;
        size_t offset;
} MeminfoField;

static const MeminfoField meminfo_fields[] = {
        { "MemTotal:", offsetof(HostSample, mem_total_bytes) },
        { "MemFree:", offsetof(HostSample, mem_free_bytes) },
        { "MemAvailable:", offsetof(HostSample, mem_available_bytes) },
        { "Buffers:", offsetof(HostSample, buffers_bytes) },
        { "Cached:", offsetof(HostSample, cached_bytes) },
};

int host_parse_meminfo(const char *text, HostSample *ret)
{
        bool have_total = false;

        for (const char *line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
                for (size_t i = 0; i < ELEMENTSOF(meminfo_fields); i++) {
                        size_t n = strlen(meminfo_fields[i].name);
                        unsigned long long kib;
                        if (strncmp(line, meminfo_fields[i].name, n) != 0)
                                continue;
                        if (sscanf(line + n, " %llu kB", &kib) != 1)
                                return -EINVAL;
                        *(uint64_t *)((char *)ret + meminfo_fields[i].offset) = kib * 1024;
                        have_total |= i == 0;
                }
        }
        return have_total ? 0 : -EINVAL;
}

int host_parse_psi(const char *text, HostSample *ret)
{
        const char *some = strstr(text, "some avg10="), *full = strstr(text, "full avg10=");

        const char *total = some ? strstr(some, "total=") : NULL;
        unsigned long long total_usec = 0;

        if (!some || sscanf(some, "some avg10=%lf", &ret->psi_some_avg10) != 1)
                return -EINVAL;
        if (total && sscanf(total, "total=%llu", &total_usec) != 1)
                return -EINVAL;
        ret->psi_some_total_usec = total_usec;
        ret->psi_full_avg10 = 0;
        if (full && sscanf(full, "full avg10=%lf", &ret->psi_full_avg10) != 1)
                return -EINVAL;
        ret->psi_available = true;
        return 0;
}

static int read_small_file(const char *dir, const char *name, char *buf, size_t size)
{
        _cleanup_free_ char *path = NULL;
        _cleanup_fclose_ FILE *f = NULL;
        size_t n;

        if (asprintf(&path, "%s/%s", dir, name) < 0)
                return -ENOMEM;
        f = fopen(path, "re");
        if (!f)
                return -errno;
        n = fread(buf, 1, size - 1, f);
        if (ferror(f))
                return -EIO;
        buf[n] = '\0';
        return 0;
}

/* The ARC above its minimum counts as available (zfs-arc.h); no ZFS, no change. */
static void add_zfs_arc(const char *proc_root, HostSample *s)
{
        char buf[32768];
        ZfsArc arc;
        uint64_t room;

        if (read_small_file(proc_root, "spl/kstat/zfs/arcstats", buf, sizeof(buf)) < 0 ||
            zfs_arc_parse(buf, &arc) < 0)
                return;
        s->zfs_arc_known = true;
        s->zfs_arc_reclaimable_bytes = zfs_arc_reclaimable_bytes(&arc);
        room = s->mem_total_bytes > s->mem_available_bytes
                       ? s->mem_total_bytes - s->mem_available_bytes
                       : 0;
        s->mem_available_bytes += s->zfs_arc_reclaimable_bytes < room ? s->zfs_arc_reclaimable_bytes
                                                                      : room;
}

int host_sample_read(const char *proc_root, HostSample *ret)
{
        char buf[8192];
        HostSample s = { 0 };
        int r;

        r = read_small_file(proc_root, "meminfo", buf, sizeof(buf));
        if (r < 0)
                return r;
        r = host_parse_meminfo(buf, &s);
        if (r < 0)
                return r;
        s.swap_known = host_read_swap_activity(proc_root, &s.swap_in_pages, &s.swap_out_pages) == 0;
        /* PSI is absent on kernels without CONFIG_PSI or booted with psi=0. */
        if (read_small_file(proc_root, "pressure/memory", buf, sizeof(buf)) == 0)
                (void)host_parse_psi(buf, &s);
        add_zfs_arc(proc_root, &s);
        *ret = s;
        return 0;
}

/* "Key:   value ..." lines: the first number after the key on the line that starts with it. */
static int find_number(const char *text, const char *key, unsigned long long *ret)
{
        size_t n = strlen(key);
        for (const char *line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
                if (strncmp(line, key, n) == 0)
                        return sscanf(line + n, " %llu", ret) == 1 ? 0 : -EINVAL;
        return -ENOENT;
}

int host_process_rss(const char *proc_root, int pid, uint64_t *ret_bytes)
{
        char name[64], buf[8192];
        unsigned long long kib;
        int r;

        snprintf(name, sizeof(name), "%d/status", pid);
        r = read_small_file(proc_root, name, buf, sizeof(buf));
        if (r < 0)
                return r;
        r = find_number(buf, "VmRSS:", &kib);
        if (r < 0)
                return r;
        *ret_bytes = kib * 1024;
        return 0;
}

int host_read_swap_activity(const char *proc_root, uint64_t *ret_pswpin, uint64_t *ret_pswpout)
{
        char buf[16384];
        unsigned long long in, out;
        int r = read_small_file(proc_root, "vmstat", buf, sizeof(buf));

        if (r < 0)
                return r;
        if (find_number(buf, "pswpin", &in) < 0 || find_number(buf, "pswpout", &out) < 0)
                return -EINVAL;
        *ret_pswpin = in;
        *ret_pswpout = out;
        return 0;
}
