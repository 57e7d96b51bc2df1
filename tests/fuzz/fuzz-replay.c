/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Corpus replay: the main() a fuzz target gets when it is built without
 * libFuzzer (gcc, the default build). Feeds every file named on the command
 * line, or found directly in a directory named there, to
 * LLVMFuzzerTestOneInput once, so the suite checks each committed input
 * (seeds and crash regressions) on every build, sanitized or not.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cleanup.h"
#include "fuzz.h"

/* Exactly the file's bytes in a buffer of that size, so ASan sees a read past the input. */
static int read_all(const char *path, uint8_t **ret, size_t *ret_size)
{
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        _cleanup_free_ uint8_t *buf = NULL;
        struct stat st;

        if (!f || fstat(fileno(f), &st) < 0)
                return -errno;
        buf = malloc(st.st_size > 0 ? (size_t)st.st_size : 1);
        if (!buf)
                return -ENOMEM;
        if (fread(buf, 1, (size_t)st.st_size, f) != (size_t)st.st_size)
                return -EIO;
        *ret = TAKE_PTR(buf);
        *ret_size = (size_t)st.st_size;
        return 0;
}

static int replay_file(const char *path)
{
        _cleanup_free_ uint8_t *data = NULL;
        size_t size = 0;
        int r = read_all(path, &data, &size);

        if (r < 0) {
                fprintf(stderr, "%s: %s\n", path, strerror(-r));
                return r;
        }
        fprintf(stderr, "replay %s (%zu bytes)\n", path, size);
        LLVMFuzzerTestOneInput(data, size);
        return 0;
}

static int file_filter(const struct dirent *d)
{
        return d->d_name[0] != '.';
}

static int replay_dir(const char *dir, unsigned *n_files)
{
        struct dirent **names = NULL;
        int n, r = 0;

        n = scandir(dir, &names, file_filter, alphasort);
        if (n < 0) {
                fprintf(stderr, "%s: %s\n", dir, strerror(errno));
                return -errno;
        }
        for (int i = 0; i < n; i++) {
                _cleanup_free_ char *path = NULL;
                struct stat st;

                if (r >= 0 && asprintf(&path, "%s/%s", dir, names[i]->d_name) < 0)
                        r = -ENOMEM;
                if (r >= 0 && stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
                        r = replay_file(path);
                        (*n_files)++;
                }
                free(names[i]);
        }
        free(names);
        return r;
}

int main(int argc, char **argv)
{
        unsigned n_files = 0;

        if (argc < 2) {
                fprintf(stderr, "Usage: %s FILE|DIR...\nRuns each input once (corpus replay).\n",
                        argv[0]);
                return 2;
        }
        for (int i = 1; i < argc; i++) {
                struct stat st;
                int r;

                if (stat(argv[i], &st) < 0) {
                        fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
                        return 1;
                }
                if (S_ISDIR(st.st_mode))
                        r = replay_dir(argv[i], &n_files);
                else {
                        r = replay_file(argv[i]);
                        n_files++;
                }
                if (r < 0)
                        return 1;
        }
        /* An empty corpus would make the test pass without testing anything. */
        if (n_files == 0) {
                fprintf(stderr, "no inputs found\n");
                return 1;
        }
        fprintf(stderr, "%u inputs replayed\n", n_files);
        return 0;
}
