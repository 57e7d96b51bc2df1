/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "cgroup-memory.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cleanup.h"

/* v1 reports "no limit" as PAGE_COUNTER_MAX pages (9223372036854771712 with
 * 4 KiB pages): anything this large is no limit on any real host. */
#define V1_NO_LIMIT_FROM (UINT64_C(1) << 62)

void cgroup_mount_done(CgroupMount *m)
{
        free(m->dir);
        m->dir = NULL;
        m->version = CGROUP_UNKNOWN;
}

static bool option_listed(const char *list, const char *option)
{
        size_t n = strlen(option);

        for (const char *p = list; p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
                if (strncmp(p, option, n) == 0 && (p[n] == ',' || p[n] == '\0'))
                        return true;
        return false;
}

/*
 * One mountinfo line: "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [TAGS] - FSTYPE
 * SOURCE SUPEROPTS". The version of a memory cgroup mount, or 0.
 */
static CgroupVersion mountinfo_line_version(const char *line, char *mountpoint, size_t size)
{
        char point[4096], fstype[64], superopts[1024];
        const char *dash = strstr(line, " - ");

        if (!dash || sscanf(line, "%*s %*s %*s %*s %4095s", point) != 1 ||
            sscanf(dash + 3, "%63s %*s %1023s", fstype, superopts) != 2)
                return CGROUP_UNKNOWN;
        if (strlen(point) >= size)
                return CGROUP_UNKNOWN;
        strcpy(mountpoint, point);
        if (strcmp(fstype, "cgroup2") == 0)
                return CGROUP_V2;
        if (strcmp(fstype, "cgroup") == 0 && option_listed(superopts, "memory"))
                return CGROUP_V1;
        return CGROUP_UNKNOWN;
}

static int mount_from_mountinfo(const char *proc_root, char *v1, char *v2, size_t size)
{
        _cleanup_free_ char *path = NULL, *line = NULL;
        _cleanup_fclose_ FILE *f = NULL;
        size_t cap = 0;
        char point[4096];

        if (asprintf(&path, "%s/self/mountinfo", proc_root) < 0)
                return -ENOMEM;
        f = fopen(path, "re");
        if (!f)
                return -errno;
        while (getline(&line, &cap, f) > 0) {
                CgroupVersion v = mountinfo_line_version(line, point, sizeof(point));
                char *dst = v == CGROUP_V1 ? v1 : v == CGROUP_V2 ? v2 : NULL;
                if (dst && !dst[0] && strlen(point) < size)
                        strcpy(dst, point);
        }
        return 0;
}

static bool file_exists(const char *dir, const char *name)
{
        _cleanup_free_ char *path = NULL;
        struct stat st;

        return asprintf(&path, "%s/%s", dir, name) >= 0 && stat(path, &st) == 0;
}

int cgroup_memory_mount(const char *proc_root, const char *fs_root, CgroupMount *ret)
{
        char v1[4096] = "", v2[4096] = "";
        CgroupVersion version;
        const char *point;

        if (mount_from_mountinfo(proc_root, v1, v2, sizeof(v1)) < 0) {
                _cleanup_free_ char *base = NULL;
                if (asprintf(&base, "%s/sys/fs/cgroup", fs_root) < 0)
                        return -ENOMEM;
                if (file_exists(base, "memory/memory.limit_in_bytes"))
                        strcpy(v1, "/sys/fs/cgroup/memory");
                else if (file_exists(base, "cgroup.controllers"))
                        strcpy(v2, "/sys/fs/cgroup");
        }
        version = v1[0] ? CGROUP_V1 : v2[0] ? CGROUP_V2 : CGROUP_UNKNOWN;
        if (version == CGROUP_UNKNOWN)
                return -ENOENT;
        point = version == CGROUP_V1 ? v1 : v2;
        if (asprintf(&ret->dir, "%s%s", fs_root, point) < 0)
                return -ENOMEM;
        ret->version = version;
        return 0;
}

/* "N:memory,other:/path" (v1) or "0::/path" (v2): the path, or NULL. */
static const char *cgroup_line_path(char *line, CgroupVersion version)
{
        char *controllers = strchr(line, ':'), *path;

        if (!controllers)
                return NULL;
        controllers++;
        path = strchr(controllers, ':');
        if (!path)
                return NULL;
        *path++ = '\0';
        path[strcspn(path, "\n")] = '\0';
        if (path[0] != '/')
                return NULL;
        if (version == CGROUP_V2)
                return strncmp(line, "0:", 2) == 0 && controllers[0] == '\0' ? path : NULL;
        return option_listed(controllers, "memory") ? path : NULL;
}

int cgroup_memory_of_pid(const char *proc_root, int pid, CgroupVersion version, char **ret_path)
{
        _cleanup_free_ char *path = NULL, *line = NULL;
        _cleanup_fclose_ FILE *f = NULL;
        size_t cap = 0;

        if (asprintf(&path, "%s/%d/cgroup", proc_root, pid) < 0)
                return -ENOMEM;
        f = fopen(path, "re");
        if (!f)
                return -errno;
        while (getline(&line, &cap, f) > 0) {
                const char *p = cgroup_line_path(line, version);
                if (!p)
                        continue;
                *ret_path = strdup(p);
                return *ret_path ? 0 : -ENOMEM;
        }
        return -ENOENT;
}

/* One number, or "max" (v2) for no limit. */
static int read_value(const char *dir, const char *name, uint64_t *ret)
{
        _cleanup_free_ char *path = NULL;
        _cleanup_fclose_ FILE *f = NULL;
        char buf[64], *end;
        unsigned long long v;

        if (asprintf(&path, "%s/%s", dir, name) < 0)
                return -ENOMEM;
        f = fopen(path, "re");
        if (!f)
                return -errno;
        if (!fgets(buf, sizeof(buf), f))
                return ferror(f) ? -EIO : -EINVAL;
        buf[strcspn(buf, "\n")] = '\0';
        if (strcmp(buf, "max") == 0) {
                *ret = CGROUP_NO_LIMIT;
                return 0;
        }
        errno = 0;
        v = strtoull(buf, &end, 10);
        if (errno || end == buf || *end || buf[0] == '-')
                return -EINVAL;
        *ret = v;
        return 0;
}

static int cgroup_dir(const CgroupMount *mnt, const char *path, char **ret)
{
        /* The root is "/": the mount itself. */
        return asprintf(ret, "%s%s", mnt->dir, strcmp(path, "/") == 0 ? "" : path) < 0 ? -ENOMEM
                                                                                       : 0;
}

int cgroup_memory_read(const CgroupMount *mnt, const char *path, CgroupMemory *ret,
                       const char **ret_file)
{
        bool v1 = mnt->version == CGROUP_V1;
        const char *limit_file = v1 ? "memory.limit_in_bytes" : "memory.max";
        const char *usage_file = v1 ? "memory.usage_in_bytes" : "memory.current";
        _cleanup_free_ char *dir = NULL;
        struct stat st;
        CgroupMemory m;
        int r;

        *ret_file = NULL;
        r = cgroup_dir(mnt, path, &dir);
        if (r < 0)
                return r;
        if (stat(dir, &st) < 0)
                return -errno;
        *ret_file = limit_file;
        r = read_value(dir, limit_file, &m.limit_bytes);
        if (r < 0)
                return r;
        if (v1 && m.limit_bytes >= V1_NO_LIMIT_FROM)
                m.limit_bytes = CGROUP_NO_LIMIT;
        *ret_file = usage_file;
        r = read_value(dir, usage_file, &m.usage_bytes);
        if (r < 0)
                return r;
        *ret_file = NULL;
        *ret = m;
        return 0;
}

/* "/a/b" -> "/a", "/a" -> "/"; false at the root. */
static bool path_up(char *path)
{
        char *slash = strrchr(path, '/');

        if (!slash || strcmp(path, "/") == 0)
                return false;
        if (slash == path)
                slash[1] = '\0';
        else
                *slash = '\0';
        return true;
}

/* v2's root has neither file, nor a cgroup whose parent does not enable the
 * memory controller: no limit there, look further up. */
static bool v2_without_memory(const CgroupMount *mnt, int r, const char *file)
{
        return mnt->version == CGROUP_V2 && r == -ENOENT && file && strcmp(file, "memory.max") == 0;
}

int cgroup_memory_find_limited(const CgroupMount *mnt, const char *path, char **ret_path,
                               CgroupMemory *ret, const char **ret_file)
{
        _cleanup_free_ char *p = strdup(path);

        if (!p)
                return -ENOMEM;
        for (;;) {
                CgroupMemory m = { .limit_bytes = CGROUP_NO_LIMIT };
                int r = cgroup_memory_read(mnt, p, &m, ret_file);
                if (r < 0 && !v2_without_memory(mnt, r, *ret_file)) {
                        *ret_path = TAKE_PTR(p);
                        return r;
                }
                if (r >= 0 && m.limit_bytes != CGROUP_NO_LIMIT) {
                        *ret = m;
                        *ret_path = TAKE_PTR(p);
                        return 0;
                }
                if (!path_up(p))
                        break;
        }
        *ret_file = NULL;
        *ret = (CgroupMemory){ .limit_bytes = CGROUP_NO_LIMIT };
        *ret_path = strdup(path);
        return *ret_path ? 0 : -ENOMEM;
}

void cgroup_path_common(char *path, const char *other)
{
        size_t n = 0, last = 0;

        /* The common prefix, cut at the last '/' where both paths end a component. */
        while (path[n] && path[n] == other[n]) {
                if (path[n] == '/')
                        last = n;
                n++;
        }
        if ((path[n] == '\0' || path[n] == '/') && (other[n] == '\0' || other[n] == '/'))
                last = n;
        path[last == 0 ? 1 : last] = '\0'; /* both start with '/': "/" at least */
}
