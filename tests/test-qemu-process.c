/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A libvirt guest's QEMU found by the -uuid on its command line
 * (tests/fixtures/proc/qemu: init, a shell quoting the UUID in one
 * argument, two QEMUs, "self", and a process without a cmdline). */
#include <errno.h>

#include "qemu-process.h"
#include "test-util.h"

static const char *proc_root(void)
{
        return FIXTURE_DIR "/proc/qemu";
}

static void test_found_by_uuid_any_case(void)
{
        pid_t pid = 0;

        check_int(qemu_pid_by_uuid(proc_root(), "6f2c2d8e-0b6a-4a39-9c1e-3c6c8d6d0a11", &pid), 0);
        check_int(pid, 4242);
        check_int(qemu_pid_by_uuid(proc_root(), "11111111-2222-3333-4444-555555555555", &pid), 0);
        check_int(pid, 4300);
}

static void test_not_found_and_bad_input(void)
{
        pid_t pid = 7;

        check_int(qemu_pid_by_uuid(proc_root(), "99999999-2222-3333-4444-555555555555", &pid),
                  -ENOENT);
        check_int(qemu_pid_by_uuid(proc_root(), "not-a-uuid", &pid), -EINVAL);
        check_int(qemu_pid_by_uuid(proc_root(), NULL, &pid), -EINVAL);
        check_int(qemu_pid_by_uuid(FIXTURE_DIR "/no-such-dir",
                                   "11111111-2222-3333-4444-555555555555", &pid),
                  -ENOENT);
        check_int(pid, 7);
}

int main(void)
{
        RUN(test_found_by_uuid_any_case);
        RUN(test_not_found_and_bad_input);
        return 0;
}
