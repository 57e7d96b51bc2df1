/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "qemu-process.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cleanup.h"

/* A QEMU command line is a few KiB; -uuid comes early among its options. */
#define CMDLINE_MAX 65536

static bool all_digits(const char *s)
{
        if (!*s)
                return false;
        for (; *s; s++)
                if (!isdigit((unsigned char)*s))
                        return false;
        return true;
}

/* True when the NUL-separated arguments have "-uuid" then uuid. */
static bool cmdline_has_uuid(const char *args, size_t len, const char *uuid)
{
        const char *end = args + len, *prev = NULL;

        for (const char *a = args; a < end; a += strlen(a) + 1) {
                if (prev && strcmp(prev, "-uuid") == 0 && strcasecmp(a, uuid) == 0)
                        return true;
                prev = a;
        }
        return false;
}

static bool process_has_uuid(int dir_fd, const char *pid, const char *uuid)
{
        _cleanup_free_ char *buf = malloc(CMDLINE_MAX + 1);
        char path[sizeof(((struct dirent *)0)->d_name) + sizeof("/cmdline")];
        ssize_t n;
        int fd;

        if (!buf)
                return false;
        snprintf(path, sizeof(path), "%s/cmdline", pid);
        fd = openat(dir_fd, path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return false;
        n = read(fd, buf, CMDLINE_MAX);
        close(fd);
        if (n <= 0)
                return false;
        buf[n] = '\0';
        return cmdline_has_uuid(buf, (size_t)n, uuid);
}

int qemu_pid_by_uuid(const char *proc_root, const char *uuid, pid_t *ret)
{
        DIR *d;
        struct dirent *e;
        int r = -ENOENT;

        /* libvirt's text form: 36 characters, hex and dashes */
        if (!uuid || strlen(uuid) != 36 || strspn(uuid, "0123456789abcdefABCDEF-") != 36)
                return -EINVAL;
        d = opendir(proc_root);
        if (!d)
                return -errno;
        while ((e = readdir(d))) {
                if (!all_digits(e->d_name) || !process_has_uuid(dirfd(d), e->d_name, uuid))
                        continue;
                *ret = (pid_t)strtol(e->d_name, NULL, 10);
                r = 0;
                break;
        }
        closedir(d);
        return r;
}
