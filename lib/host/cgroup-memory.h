/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The memory cgroup that holds a process, and its limit and usage: cgroup v2
 * (memory.max, memory.current) or v1's memory hierarchy (memory.limit_in_bytes,
 * memory.usage_in_bytes), whichever the host has. Every path is read under
 * proc_root and fs_root ("/proc" and "" on a host, fixture trees in tests).
 */
#pragma once

#include <stdint.h>

#define CGROUP_NO_LIMIT UINT64_MAX

typedef enum CgroupVersion {
        CGROUP_UNKNOWN = 0,
        CGROUP_V1 = 1,
        CGROUP_V2 = 2,
} CgroupVersion;

typedef struct CgroupMount {
        CgroupVersion version;
        char *dir; /* fs_root + the mount point, e.g. "/sys/fs/cgroup/memory" */
} CgroupMount;

typedef struct CgroupMemory {
        uint64_t limit_bytes; /* CGROUP_NO_LIMIT: none ("max", or v1's huge value) */
        uint64_t usage_bytes;
} CgroupMemory;

void cgroup_mount_done(CgroupMount *m);

/*
 * Where memory is accounted: v1's memory hierarchy when one is mounted (a
 * hybrid host's cgroup2 then has no memory controller), else cgroup2. From
 * proc_root/self/mountinfo, or the standard layout under fs_root/sys/fs/cgroup
 * when that cannot be read. -ENOENT: no memory cgroup at all.
 */
int cgroup_memory_mount(const char *proc_root, const char *fs_root, CgroupMount *ret);

/* The memory cgroup of pid from proc_root/PID/cgroup, relative to the mount
 * ("/machine.slice/machine-qemu.scope"): v2's "0::" line, v1's "memory" one. */
int cgroup_memory_of_pid(const char *proc_root, int pid, CgroupVersion version, char **ret_path);

/*
 * Limit and usage of the cgroup at mnt->dir + path. On error *ret_file names
 * the file that could not be read or parsed (a static name such as
 * "memory.max"). -ENOENT also when the cgroup's directory is missing
 * (*ret_file NULL then).
 */
int cgroup_memory_read(const CgroupMount *mnt, const char *path, CgroupMemory *ret,
                       const char **ret_file);

/*
 * From path up to the root, the nearest cgroup with a limit: its path and
 * figures, or limit_bytes CGROUP_NO_LIMIT (and *ret_path path) when none has
 * one. v2 cgroups without the memory controller enabled are passed through.
 * Errors as cgroup_memory_read's, for the cgroup that failed (*ret_path).
 */
int cgroup_memory_find_limited(const CgroupMount *mnt, const char *path, char **ret_path,
                               CgroupMemory *ret, const char **ret_file);

/* Cuts path down to the deepest cgroup that holds other too: "/a/b/c" and
 * "/a/b2" give "/a". Both start with '/'. */
void cgroup_path_common(char *path, const char *other);
