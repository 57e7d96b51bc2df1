/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "psi-trigger.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "cleanup.h"

/* Shorter spans say more about scheduling noise than about pressure. */
#define PSI_MIN_SPAN_USEC 100000ULL

static int open_with(const char *path, uint64_t stall_usec, uint64_t window_usec)
{
        char trigger[64];
        int fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
        int n;

        struct statfs fs;

        if (fd < 0)
                return -errno;
        /* A fixture tree's plain file would take the write and never wake poll(). */
        if (fstatfs(fd, &fs) < 0 || fs.f_type != PROC_SUPER_MAGIC) {
                close(fd);
                return -EOPNOTSUPP;
        }
        n = snprintf(trigger, sizeof(trigger), "some %" PRIu64 " %" PRIu64, stall_usec,
                     window_usec);
        /* The kernel takes the whole write, NUL included, as the trigger. */
        if (write(fd, trigger, (size_t)n + 1) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        return fd;
}

int psi_trigger_open(const char *proc_root, uint64_t *ret_window_usec)
{
        _cleanup_free_ char *path = NULL;
        int fd;

        if (asprintf(&path, "%s/pressure/memory", proc_root) < 0)
                return -ENOMEM;
        fd = open_with(path, PSI_TRIGGER_STALL_USEC, PSI_TRIGGER_WINDOW_USEC);
        if (fd == -EINVAL || fd == -EPERM || fd == -EACCES) {
                fd = open_with(path, PSI_TRIGGER_UNPRIV_STALL_USEC, PSI_TRIGGER_UNPRIV_WINDOW_USEC);
                if (fd >= 0)
                        *ret_window_usec = PSI_TRIGGER_UNPRIV_WINDOW_USEC;
                return fd;
        }
        if (fd >= 0)
                *ret_window_usec = PSI_TRIGGER_WINDOW_USEC;
        return fd;
}

bool psi_trigger_genuine(uint64_t total_usec, uint64_t earlier_total_usec, uint64_t stall_usec)
{
        return earlier_total_usec == 0 || total_usec < earlier_total_usec ||
               total_usec - earlier_total_usec >= stall_usec;
}

double psi_stall_percent(uint64_t total_usec, uint64_t prev_total_usec, uint64_t span_usec)
{
        double p;

        if (span_usec < PSI_MIN_SPAN_USEC || total_usec < prev_total_usec)
                return 0;
        p = 100.0 * (double)(total_usec - prev_total_usec) / (double)span_usec;
        return p > 100.0 ? 100.0 : p;
}
