/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Host memory figures from /proc/meminfo, /proc/pressure/memory and, on ZFS
 * hosts, /proc/spl/kstat/zfs/arcstats. */
#pragma once

#include "model.h"

/*
 * Reads proc_root/meminfo and proc_root/pressure/memory (proc_root is "/proc"
 * on a real host, a fixture directory in tests). PSI is optional: when its
 * file is missing psi_available is false. On a ZFS host the ARC above its
 * minimum is added to mem_available_bytes (zfs-arc.h). Returns 0 or -errno.
 */
int host_sample_read(const char *proc_root, HostSample *ret);

/* Parses meminfo text; exposed for tests. Returns -EINVAL if MemTotal is missing. */
int host_parse_meminfo(const char *text, HostSample *ret);

/* Parses /proc/pressure/memory text ("some avg10=.. ", "full avg10=.."). */
int host_parse_psi(const char *text, HostSample *ret);

/* Resident memory of a process from proc_root/PID/status (VmRSS), in bytes. */
int host_process_rss(const char *proc_root, int pid, uint64_t *ret_bytes);

/* Swap activity counters pswpin/pswpout (pages) from proc_root/vmstat. */
int host_read_swap_activity(const char *proc_root, uint64_t *ret_pswpin, uint64_t *ret_pswpout);
