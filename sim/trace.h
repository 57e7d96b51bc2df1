/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Guest demand traces: the CSV format of shared/traces (vm, timestamp_s,
 * mem_provisioned_kb, mem_used_kb), plain or gzip-compressed. A VM's demand
 * is mem_used_kb, linear between samples; it exists from its first to its
 * last sample. Rows with mem_provisioned_kb = 0 carry no data and are
 * skipped; of rows with the same time the last one wins; demand above the
 * provisioned size is cut to it (a VM cannot use more than it has).
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

typedef struct TraceVm {
        char *name;
        uint64_t max_bytes; /* largest provisioned size seen: the balloon's ceiling */
        size_t n;
        int64_t *t_sec;         /* sorted, unique */
        uint64_t *demand_bytes; /* mem_used */
        /* Optional page cache burst (scenarios): extra cache growth in [start, end). */
        int64_t cache_burst_start_sec, cache_burst_end_sec;
        double cache_burst_bytes_per_sec;
        struct TraceBuilder *builder; /* rows while loading; NULL after trace_finish */
} TraceVm;

typedef struct Trace {
        size_t n_vms;
        TraceVm *vms;
        int64_t start_sec, end_sec;
        uint64_t total_max_bytes; /* sum of max_bytes: the host-fraction reference */
} Trace;

/* Reads path; ".gz" files (or gzip magic) are read through `gzip -dc`.
 * Returns 0 or -errno; on a malformed line, -EINVAL and *ret_line. */
int trace_load(const char *path, Trace **ret, unsigned *ret_line);

/* Builds a trace from rows in memory (tests and scenarios). */
Trace *trace_new(void);
/* Appends one sample for vm (creating it); call trace_finish when done. */
int trace_add(Trace *t, const char *vm, int64_t t_sec, uint64_t provisioned_bytes,
              uint64_t demand_bytes);
int trace_finish(Trace *t);
TraceVm *trace_find(Trace *t, const char *vm);

Trace *trace_free(Trace *t);
