/* SPDX-License-Identifier: GPL-2.0-or-later */
/* lib/fileio.c: atomic writes that a hostile writer of the directory cannot redirect. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "fileio.h"
#include "test-util.h"

static char *read_text(const char *path)
{
        static char buf[256];
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;

        if (fd >= 0)
                close(fd);
        buf[n > 0 ? n : 0] = '\0';
        return buf;
}

static void write_text(const char *path, const char *text, mode_t mode)
{
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
        check(fd >= 0);
        check(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
        check(fchmod(fd, mode) == 0);
        close(fd);
}

static size_t count_entries(const char *dir)
{
        DIR *d = opendir(dir);
        size_t n = 0;

        check(d);
        for (struct dirent *e; (e = readdir(d));)
                n += e->d_name[0] != '.';
        closedir(d);
        return n;
}

/* Another user of a shared directory plants a symlink where the temporary
 * file would go: the write must neither follow it nor chmod its target. */
static void test_planted_symlink_is_not_followed(void)
{
        char dir[] = "/tmp/memtide-fileio-XXXXXX";
        _cleanup_free_ char *victim = NULL, *path = NULL, *trap = NULL;
        struct stat st;

        check(mkdtemp(dir));
        check(asprintf(&victim, "%s/victim", dir) > 0);
        check(asprintf(&path, "%s/memtide.prom", dir) > 0);
        /* The name the old code used: PATH.tmp.PID. */
        check(asprintf(&trap, "%s.tmp.%d", path, (int)getpid()) > 0);
        write_text(victim, "secret\n", 0600);
        check(symlink(victim, trap) == 0);

        check(write_file_atomic(path, "new\n", 4, 0644) == 0);

        check(strcmp(read_text(victim), "secret\n") == 0);
        check(stat(victim, &st) == 0 && (st.st_mode & 07777) == 0600);
        check(strcmp(read_text(path), "new\n") == 0);
        check(lstat(path, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 07777) == 0644);
        check(lstat(trap, &st) == 0 && S_ISLNK(st.st_mode)); /* left as it was */
        unlink(trap);
        unlink(victim);
        unlink(path);
        check(rmdir(dir) == 0);
}

/* The destination itself may be a planted symlink: it is replaced, not followed. */
static void test_symlink_at_destination_is_replaced(void)
{
        char dir[] = "/tmp/memtide-fileio-XXXXXX";
        _cleanup_free_ char *victim = NULL, *path = NULL;
        struct stat st;

        check(mkdtemp(dir));
        check(asprintf(&victim, "%s/victim", dir) > 0);
        check(asprintf(&path, "%s/overrides.json", dir) > 0);
        write_text(victim, "secret\n", 0600);
        check(symlink(victim, path) == 0);

        check(write_file_atomic(path, "{}\n", 3, 0640) == 0);

        check(strcmp(read_text(victim), "secret\n") == 0);
        check(lstat(path, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 07777) == 0640);
        check(strcmp(read_text(path), "{}\n") == 0);
        unlink(victim);
        unlink(path);
        check(rmdir(dir) == 0);
}

/* Success and failure both leave no temporary file behind. */
static void test_no_temporary_file_left(void)
{
        char dir[] = "/tmp/memtide-fileio-XXXXXX";
        _cleanup_free_ char *path = NULL, *missing = NULL;

        check(mkdtemp(dir));
        check(asprintf(&path, "%s/state", dir) > 0);
        check(asprintf(&missing, "%s/no-such-dir/state", dir) > 0);
        for (int i = 0; i < 3; i++)
                check(write_file_atomic(path, "x", 1, 0600) == 0);
        check(count_entries(dir) == 1);
        check(write_file_atomic(missing, "x", 1, 0600) == -ENOENT);
        check(count_entries(dir) == 1);
        unlink(path);
        check(rmdir(dir) == 0);
}

int main(void)
{
        RUN(test_planted_symlink_is_not_followed);
        RUN(test_symlink_at_destination_is_replaced);
        RUN(test_no_temporary_file_left);
        return 0;
}
