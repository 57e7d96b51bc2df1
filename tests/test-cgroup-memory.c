/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The memory cgroup reader on fixture trees: a v1 host (hybrid, as Debian 10
 * and this CI machine), a v2 host, and a v2 host without mountinfo. */
#include <errno.h>
#include <string.h>

#include "cgroup-memory.h"
#include "cleanup.h"
#include "model.h"
#include "test-util.h"

#define check_str_eq(actual, expected) check_str_contains_exactly(actual, expected)
#define check_str_contains_exactly(a, e)                                                           \
        do {                                                                                       \
                check_str_contains(a, e);                                                          \
                check(strlen(a) == strlen(e));                                                     \
        } while (0)

#define V1     FIXTURE_DIR "/cgroup/v1"
#define V2     FIXTURE_DIR "/cgroup/v2"
#define LAYOUT FIXTURE_DIR "/cgroup/layout"

static void test_v1_mount_beats_the_hybrid_cgroup2(void)
{
        CgroupMount mnt = { 0 };

        check(cgroup_memory_mount(V1 "/proc", V1, &mnt) == 0);
        check_int(mnt.version, CGROUP_V1);
        check_str_eq(mnt.dir, V1 "/sys/fs/cgroup/memory");
        cgroup_mount_done(&mnt);
}

static void test_v1_pid_cgroup_and_limited_ancestor(void)
{
        CgroupMount mnt = { 0 };
        _cleanup_free_ char *path = NULL, *limited = NULL;
        CgroupMemory m;
        const char *file;

        check(cgroup_memory_mount(V1 "/proc", V1, &mnt) == 0);
        check(cgroup_memory_of_pid(V1 "/proc", 4242, CGROUP_V1, &path) == 0);
        check_str_eq(path, "/machine.slice/machine-qemu\\x2d1\\x2dvm1.scope");
        /* The scope has v1's "no limit" value: the slice above it has the limit. */
        check(cgroup_memory_read(&mnt, path, &m, &file) == 0);
        check_u64_eq(m.limit_bytes, CGROUP_NO_LIMIT);
        check_u64_eq(m.usage_bytes, 768 * MIB);
        check(cgroup_memory_find_limited(&mnt, path, &limited, &m, &file) == 0);
        check_str_eq(limited, "/machine.slice");
        check_u64_eq(m.limit_bytes, 6 * GIB);
        check_u64_eq(m.usage_bytes, 1536 * MIB);
        cgroup_mount_done(&mnt);
}

static void test_v1_no_limit_up_to_the_root(void)
{
        CgroupMount mnt = { 0 };
        _cleanup_free_ char *path = NULL, *limited = NULL;
        CgroupMemory m;
        const char *file;

        check(cgroup_memory_mount(V1 "/proc", V1, &mnt) == 0);
        check(cgroup_memory_of_pid(V1 "/proc", 4244, CGROUP_V1, &path) == 0);
        check(cgroup_memory_find_limited(&mnt, path, &limited, &m, &file) == 0);
        check_u64_eq(m.limit_bytes, CGROUP_NO_LIMIT);
        check_str_eq(limited, "/unlimited/vm3");
        cgroup_mount_done(&mnt);
}

static void test_common_cgroup_of_two_guests(void)
{
        _cleanup_free_ char *a = NULL, *b = NULL;
        char root[] = "/", same[] = "/a/b", prefix_only[] = "/a/b/c", sibling[] = "/ab";

        check(cgroup_memory_of_pid(V1 "/proc", 4242, CGROUP_V1, &a) == 0);
        check(cgroup_memory_of_pid(V1 "/proc", 4243, CGROUP_V1, &b) == 0);
        cgroup_path_common(a, b);
        check_str_eq(a, "/machine.slice");
        cgroup_path_common(same, "/a/b");
        check_str_eq(same, "/a/b");
        /* "/a/b2" shares "/a/b" as text, not as a cgroup. */
        cgroup_path_common(prefix_only, "/a/b2");
        check_str_eq(prefix_only, "/a");
        cgroup_path_common(sibling, "/a");
        check_str_eq(sibling, "/");
        cgroup_path_common(root, "/a");
        check_str_eq(root, "/");
}

static void test_v2_passes_cgroups_without_the_controller(void)
{
        CgroupMount mnt = { 0 };
        _cleanup_free_ char *path = NULL, *limited = NULL;
        CgroupMemory m;
        const char *file;

        check(cgroup_memory_mount(V2 "/proc", V2, &mnt) == 0);
        check_int(mnt.version, CGROUP_V2);
        check_str_eq(mnt.dir, V2 "/sys/fs/cgroup");
        check(cgroup_memory_of_pid(V2 "/proc", 5151, CGROUP_V2, &path) == 0);
        check_str_eq(path, "/machine.slice/vm1.scope/payload");
        /* payload has no memory.max, vm1.scope says "max", the slice 6 GiB. */
        check(cgroup_memory_read(&mnt, path, &m, &file) == -ENOENT);
        check_str_eq(file, "memory.max");
        check(cgroup_memory_find_limited(&mnt, path, &limited, &m, &file) == 0);
        check_str_eq(limited, "/machine.slice");
        check_u64_eq(m.limit_bytes, 6 * GIB);
        check_u64_eq(m.usage_bytes, 2 * GIB);
        cgroup_mount_done(&mnt);
}

static void test_v2_root_has_no_limit(void)
{
        CgroupMount mnt = { 0 };
        _cleanup_free_ char *limited = NULL;
        CgroupMemory m;
        const char *file;

        check(cgroup_memory_mount(V2 "/proc", V2, &mnt) == 0);
        check(cgroup_memory_find_limited(&mnt, "/", &limited, &m, &file) == 0);
        check_u64_eq(m.limit_bytes, CGROUP_NO_LIMIT);
        cgroup_mount_done(&mnt);
}

/* A missing or unreadable file is an error that names it. */
static void test_missing_and_bad_files_are_named(void)
{
        CgroupMount mnt = { 0 };
        _cleanup_free_ char *limited = NULL, *other = NULL, *gone = NULL;
        CgroupMemory m;
        const char *file;

        check(cgroup_memory_mount(V2 "/proc", V2, &mnt) == 0);
        check(cgroup_memory_find_limited(&mnt, "/broken", &limited, &m, &file) == -ENOENT);
        check_str_eq(file, "memory.current");
        check_str_eq(limited, "/broken");
        check(cgroup_memory_find_limited(&mnt, "/garbage", &other, &m, &file) == -EINVAL);
        check_str_eq(file, "memory.current");
        /* A cgroup that does not exist: no file to blame, the directory is missing. */
        check(cgroup_memory_find_limited(&mnt, "/no-such.slice", &gone, &m, &file) == -ENOENT);
        check(file == NULL);
        check(cgroup_memory_of_pid(V2 "/proc", 999999, CGROUP_V2, &gone) == -ENOENT);
        cgroup_mount_done(&mnt);
}

static void test_standard_layout_without_mountinfo(void)
{
        CgroupMount mnt = { 0 };
        CgroupMemory m;
        const char *file;

        check(cgroup_memory_mount(LAYOUT "/proc", LAYOUT, &mnt) == 0);
        check_int(mnt.version, CGROUP_V2);
        check(cgroup_memory_read(&mnt, "/machine.slice", &m, &file) == 0);
        check_u64_eq(m.limit_bytes, GIB);
        check_u64_eq(m.usage_bytes, 512 * MIB);
        cgroup_mount_done(&mnt);
        check(cgroup_memory_mount(FIXTURE_DIR "/proc/psi", FIXTURE_DIR "/proc/psi", &mnt) ==
              -ENOENT);
}

int main(void)
{
        RUN(test_v1_mount_beats_the_hybrid_cgroup2);
        RUN(test_v1_pid_cgroup_and_limited_ancestor);
        RUN(test_v1_no_limit_up_to_the_root);
        RUN(test_common_cgroup_of_two_guests);
        RUN(test_v2_passes_cgroups_without_the_controller);
        RUN(test_v2_root_has_no_limit);
        RUN(test_missing_and_bad_files_are_named);
        RUN(test_standard_layout_without_mountinfo);
        return 0;
}
