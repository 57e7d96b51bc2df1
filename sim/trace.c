/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Loading demand traces (see trace.h). gzip is read by a child `gzip -dc`
 * rather than by linking zlib: one process per load, no new dependency. */
#include "trace.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"

/* Raw rows, before sorting; provisioned 0 means "no data" and is dropped early. */
typedef struct Row {
        int64_t t_sec;
        size_t seq; /* input order: of rows with the same time the last wins */
        uint64_t prov_bytes, demand_bytes;
} Row;

typedef struct TraceBuilder {
        Row *rows;
        size_t n, cap;
} Builder;

Trace *trace_new(void)
{
        return calloc(1, sizeof(Trace));
}

static void builder_free(Builder *b)
{
        if (b)
                free(b->rows);
        free(b);
}

static void vm_clear(TraceVm *vm)
{
        free(vm->name);
        free(vm->t_sec);
        free(vm->demand_bytes);
        builder_free(vm->builder);
}

Trace *trace_free(Trace *t)
{
        if (!t)
                return NULL;
        for (size_t i = 0; i < t->n_vms; i++)
                vm_clear(&t->vms[i]);
        free(t->vms);
        free(t);
        return NULL;
}

TraceVm *trace_find(Trace *t, const char *vm)
{
        /* Rows come sorted by VM: the last VM is the usual hit. */
        if (t->n_vms > 0 && strcmp(t->vms[t->n_vms - 1].name, vm) == 0)
                return &t->vms[t->n_vms - 1];
        for (size_t i = 0; i < t->n_vms; i++)
                if (strcmp(t->vms[i].name, vm) == 0)
                        return &t->vms[i];
        return NULL;
}

static TraceVm *vm_add(Trace *t, const char *name)
{
        TraceVm *vms = realloc(t->vms, (t->n_vms + 1) * sizeof(*vms));
        if (!vms)
                return NULL;
        t->vms = vms;
        TraceVm *vm = &vms[t->n_vms];
        *vm = (TraceVm){.name = strdup(name), .builder = calloc(1, sizeof(Builder))};
        if (!vm->name || !vm->builder) {
                free(vm->name);
                free(vm->builder);
                return NULL;
        }
        t->n_vms++;
        return vm;
}

int trace_add(Trace *t, const char *name, int64_t t_sec, uint64_t prov_bytes, uint64_t demand_bytes)
{
        TraceVm *vm = trace_find(t, name);
        Builder *b;

        if (!vm && !(vm = vm_add(t, name)))
                return -ENOMEM;
        b = vm->builder;
        if (!b)
                return -EBUSY; /* already finished */
        if (b->n == b->cap) {
                size_t cap = b->cap ? 2 * b->cap : 1024;
                Row *rows = realloc(b->rows, cap * sizeof(Row));
                if (!rows)
                        return -ENOMEM;
                b->rows = rows;
                b->cap = cap;
        }
        b->rows[b->n] = (Row){t_sec, b->n, prov_bytes, demand_bytes};
        b->n++;
        return 0;
}

static int row_cmp(const void *a, const void *b)
{
        const Row *x = a, *y = b;
        if (x->t_sec != y->t_sec)
                return x->t_sec < y->t_sec ? -1 : 1;
        return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Sorts by time (input order among equal times), drops no-data rows. */
static int vm_finish(TraceVm *vm)
{
        Builder *b = vm->builder;
        size_t n = 0;

        if (!b)
                return 0;
        vm->builder = NULL;
        for (size_t i = 0; i < b->n; i++)
                if (b->rows[i].prov_bytes > 0)
                        b->rows[n++] = b->rows[i];
        for (size_t i = 1; i < n; i++)
                if (b->rows[i].t_sec < b->rows[i - 1].t_sec) {
                        qsort(b->rows, n, sizeof(Row), row_cmp);
                        break;
                }
        vm->t_sec = malloc((n + 1) * sizeof(int64_t));
        vm->demand_bytes = malloc((n + 1) * sizeof(uint64_t));
        if (!vm->t_sec || !vm->demand_bytes) {
                builder_free(b);
                return -ENOMEM;
        }
        vm->n = 0;
        vm->max_bytes = 0;
        for (size_t i = 0; i < n; i++)
                if (b->rows[i].prov_bytes > vm->max_bytes)
                        vm->max_bytes = b->rows[i].prov_bytes;
        for (size_t i = 0; i < n; i++) {
                uint64_t d = b->rows[i].demand_bytes;
                if (d > vm->max_bytes)
                        d = vm->max_bytes;
                if (vm->n > 0 && vm->t_sec[vm->n - 1] == b->rows[i].t_sec)
                        vm->n--;
                vm->t_sec[vm->n] = b->rows[i].t_sec;
                vm->demand_bytes[vm->n] = d;
                vm->n++;
        }
        builder_free(b);
        return 0;
}

int trace_finish(Trace *t)
{
        size_t keep = 0;

        t->total_max_bytes = 0;
        t->start_sec = INT64_MAX;
        t->end_sec = INT64_MIN;
        for (size_t i = 0; i < t->n_vms; i++) {
                TraceVm *vm = &t->vms[i];
                int r = vm_finish(vm);
                if (r < 0)
                        return r;
                if (vm->n < 2) { /* a single sample spans no time */
                        free(vm->name);
                        free(vm->t_sec);
                        free(vm->demand_bytes);
                        continue;
                }
                t->vms[keep++] = *vm;
                t->total_max_bytes += vm->max_bytes;
                if (vm->t_sec[0] < t->start_sec)
                        t->start_sec = vm->t_sec[0];
                if (vm->t_sec[vm->n - 1] > t->end_sec)
                        t->end_sec = vm->t_sec[vm->n - 1];
        }
        t->n_vms = keep;
        return keep > 0 ? 0 : -ENODATA;
}

/* "2013-7-1,1372629804,8218624,1034592" */
static int parse_row(char *line, Trace *t)
{
        char *vm = line, *p = strchr(line, ','), *end;
        long long ts;
        unsigned long long prov, used;

        if (!p)
                return -EINVAL;
        *p++ = '\0';
        errno = 0;
        ts = strtoll(p, &end, 10);
        if (*end != ',' || errno)
                return -EINVAL;
        prov = strtoull(end + 1, &end, 10);
        if (*end != ',' || errno)
                return -EINVAL;
        used = strtoull(end + 1, &end, 10);
        if ((*end != '\0' && *end != '\n' && *end != '\r') || errno || !*vm)
                return -EINVAL;
        return trace_add(t, vm, ts, prov * 1024, used * 1024);
}

static int read_rows(FILE *f, Trace *t, unsigned *ret_line)
{
        _cleanup_free_ char *line = NULL;
        size_t cap = 0;
        unsigned n = 0;

        while (getline(&line, &cap, f) > 0) {
                n++;
                if (n == 1 && strncmp(line, "vm,", 3) == 0)
                        continue; /* header */
                if (line[0] == '\n' || line[0] == '#')
                        continue;
                int r = parse_row(line, t);
                if (r < 0) {
                        if (ret_line)
                                *ret_line = n;
                        return r;
                }
        }
        return ferror(f) ? -EIO : 0;
}

static bool is_gzip(const char *path)
{
        unsigned char magic[2];
        _cleanup_fclose_ FILE *f = fopen(path, "re");

        return f && fread(magic, 1, 2, f) == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
}

/* Runs `gzip -dc path` and reads its output. */
static int read_gzip(const char *path, Trace *t, unsigned *ret_line)
{
        char *argv[] = {(char *)"gzip", (char *)"-dc", (char *)"--", (char *)path, NULL};
        posix_spawn_file_actions_t fa;
        int fds[2], status, r;
        pid_t pid;
        FILE *f;

        if (pipe2(fds, O_CLOEXEC) < 0)
                return -errno;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
        r = -posix_spawnp(&pid, "gzip", &fa, NULL, argv, NULL);
        posix_spawn_file_actions_destroy(&fa);
        close(fds[1]);
        if (r < 0) {
                close(fds[0]);
                return r;
        }
        f = fdopen(fds[0], "r");
        if (!f) {
                r = -errno;
                close(fds[0]);
        } else {
                r = read_rows(f, t, ret_line);
                fclose(f);
        }
        if (waitpid(pid, &status, 0) < 0)
                return r < 0 ? r : -errno;
        if (r == 0 && (!WIFEXITED(status) || WEXITSTATUS(status) != 0))
                r = -EIO;
        return r;
}

int trace_load(const char *path, Trace **ret, unsigned *ret_line)
{
        Trace *t = trace_new();
        int r;

        if (!t)
                return -ENOMEM;
        if (ret_line)
                *ret_line = 0;
        if (access(path, R_OK) < 0)
                r = -errno;
        else if (is_gzip(path))
                r = read_gzip(path, t, ret_line);
        else {
                _cleanup_fclose_ FILE *f = fopen(path, "re");
                r = f ? read_rows(f, t, ret_line) : -errno;
        }
        if (r == 0)
                r = trace_finish(t);
        if (r < 0) {
                trace_free(t);
                return r;
        }
        *ret = t;
        return 0;
}
