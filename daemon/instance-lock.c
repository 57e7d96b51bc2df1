/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "instance-lock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <unistd.h>

#include "cleanup.h"

static pid_t read_holder(int fd)
{
        char buf[32] = { 0 };
        ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

        return n > 0 ? (pid_t)strtol(buf, NULL, 10) : 0;
}

static int write_pid(int fd)
{
        char buf[32];
        int n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());

        if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, (size_t)n, 0) != n)
                return -errno;
        return 0;
}

int instance_lock_take(const char *path, pid_t *ret_holder)
{
        _cleanup_close_ int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        int r;

        *ret_holder = 0;
        if (fd < 0)
                return -errno;
        if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
                r = -errno;
                if (r == -EWOULDBLOCK)
                        *ret_holder = read_holder(fd);
                return r == -EWOULDBLOCK ? -EBUSY : r;
        }
        r = write_pid(fd);
        if (r < 0)
                return r;
        return TAKE_FD(fd);
}
