/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A PSI trigger on the host's memory pressure (as systemd-oomd uses them):
 * /proc/pressure/memory opened read-write with "some STALL WINDOW" written
 * to it; the kernel then wakes poll() with POLLPRI when tasks stalled on
 * memory for STALL within a WINDOW, at most once per window. A process
 * with CAP_SYS_RESOURCE may use a 1 s window, checked by the kernel as
 * stalls happen; without it (Linux >= 6.5) the window must be whole 2 s
 * periods and is checked at PSI's 2 s averaging; older kernels refuse it.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* The privileged trigger: 150 ms of stall within 1 s. */
#define PSI_TRIGGER_STALL_USEC  UINT64_C(150000)
#define PSI_TRIGGER_WINDOW_USEC UINT64_C(1000000)
/* The unprivileged one, the same share over PSI's 2 s period. */
#define PSI_TRIGGER_UNPRIV_STALL_USEC  UINT64_C(300000)
#define PSI_TRIGGER_UNPRIV_WINDOW_USEC UINT64_C(2000000)

/* Opens proc_root/pressure/memory with the privileged trigger, else the
 * unprivileged one. Returns the fd (poll it for POLLPRI; POLLERR when the
 * file goes away) and the window taken in *ret_window_usec, or -errno:
 * -ENOENT without PSI, -EOPNOTSUPP for a file not on procfs (a fixture
 * tree), the kernel's error when it refuses both. */
int psi_trigger_open(const char *proc_root, uint64_t *ret_window_usec);

/* Whether a wake-up is backed by the stall the trigger asks for: the some
 * total grew by stall_usec since an earlier reading (0: none, taken as
 * yes). The unprivileged trigger (seen on Linux 6.18) also wakes for far
 * smaller stalls: at the first stall after it is set and in the window
 * after that one. */
bool psi_trigger_genuine(uint64_t total_usec, uint64_t earlier_total_usec, uint64_t stall_usec);

/* The share of time (percent) tasks stalled on memory between two readings
 * of PSI's "some total=" (microseconds), span_usec apart; 0 when the span is
 * too short to tell or the counter went back. */
double psi_stall_percent(uint64_t total_usec, uint64_t prev_total_usec, uint64_t span_usec);
