/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Finding a guest's QEMU process when its backend does not say: libvirt
 * has no API for the pid, but starts every QEMU with "-uuid UUID" (QEMU's
 * own -uuid option), so the process whose command line carries the
 * domain's UUID is its QEMU. Reads proc_root (normally "/proc"; tests use
 * fixtures), nothing else.
 */
#pragma once

#include <sys/types.h>

/*
 * The pid of the process whose command line has "-uuid" followed by uuid
 * (compared without case). 0 and *ret set, -ENOENT when none (a remote
 * libvirt host, a QEMU we may not read), -EINVAL for a bad uuid, or -errno
 * when proc_root cannot be listed.
 */
int qemu_pid_by_uuid(const char *proc_root, const char *uuid, pid_t *ret);
