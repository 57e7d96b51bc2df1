/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Judging a live QEMU device (compat-live.c): which numbering the guest's
 * driver used, inferred from the queues it set up (virtio-status.h), and
 * whether free page reporting still moves.
 */
#pragma once

#include <stdint.h>

#include "compat-implementations.h"
#include "compat.h"
#include "virtio-status.h"

typedef enum CompatLiveVerdict {
        COMPAT_LIVE_UNKNOWN,
        COMPAT_LIVE_AGREE,
        COMPAT_LIVE_DISAGREE,
} CompatLiveVerdict;

typedef struct CompatInference {
        CompatLiveVerdict verdict;
        /* Bit c set: driver convention c explains exactly the queues the driver set up. */
        unsigned conventions;
        /* Valid unless UNKNOWN: the comparison under the first such convention. */
        CompatVerdict comparison;
        char reason[COMPAT_TEXT_MAX]; /* one line, always set */
} CompatInference;

/*
 * Infers how the driver numbered the queues of a live device from what the
 * device offered, what was negotiated, num_vqs and which queues the driver
 * set up (status->queues[i].set_up, for every i below num_vqs), and says
 * whether that agrees with the device. The device's own layout is checked
 * first against num_vqs and, where `device` knows them, the queue sizes
 * ("vring-num-default", else "vring-num"); any mismatch, a driver that is not
 * DRIVER_OK, missing queue states, or a set of queues no convention explains
 * gives COMPAT_LIVE_UNKNOWN, as does a device that is not a balloon (id 5).
 * -EINVAL when `device` is not a device.
 */
int compat_infer(const CompatImplementation *device, const VirtioStatus *status,
                 CompatInference *ret);

const char *compat_live_verdict_to_string(CompatLiveVerdict v);

/*
 * Is free page reporting moving? Inputs: the reporting queue's used-idx at the
 * start and end of a window, the window's length, and how much memory the
 * guest freed during it that it has not reported yet (the caller's estimate,
 * e.g. the sum of the increases of the guest's MemFree between stats samples).
 *
 * Linux reports only free blocks of pageblock order (2 MiB on x86-64) and
 * waits 2 s after they appear (mm/page_reporting.c), so a short window or
 * little freed memory says nothing.
 */
#define COMPAT_REPORTING_MIN_WINDOW_USEC (UINT64_C(10) * 1000000)
#define COMPAT_REPORTING_MIN_FREED_BYTES (UINT64_C(64) << 20)

typedef struct CompatReportingWindow {
        uint16_t used_idx_start;
        uint16_t used_idx_end;
        uint64_t window_usec;
        uint64_t freed_bytes;
} CompatReportingWindow;

typedef enum CompatReporting {
        COMPAT_REPORTING_UNKNOWN, /* window shorter than COMPAT_REPORTING_MIN_WINDOW_USEC */
        COMPAT_REPORTING_ACTIVE,  /* used-idx moved, in any window: reports get acknowledged */
        COMPAT_REPORTING_IDLE,    /* no movement, but too little was freed to expect any */
        COMPAT_REPORTING_STALLED, /* no movement over a long window in which enough was freed */
} CompatReporting;

CompatReporting compat_reporting_check(const CompatReportingWindow *w);
const char *compat_reporting_to_string(CompatReporting r);
