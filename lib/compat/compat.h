/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * virtio-balloon queue layouts: which virtqueue index each side of a
 * device/driver pair gives each logical queue, whether the two sides agree,
 * what breaks where they do not, the known implementations and their
 * numbering, and an inference from a live QEMU device (virtio-status.h) of
 * how its driver numbered the queues. Pure functions on plain structs; see
 * docs/compat.md for the problem and the sources.
 *
 * The spec lists the queues at fixed indexes (0 inflateq, 1 deflateq,
 * 2 statsq, 3 free_page_vq, 4 reporting_vq), each existing only if its
 * feature "is set". Implementations read that three ways:
 *
 *   fixed             the spec's index, whatever else exists
 *   dense-offered     optional queues numbered consecutively over the
 *                     features the device offered (QEMU)
 *   dense-negotiated  consecutively over the features both sides
 *                     negotiated (Linux since 5.0)
 *
 * Feature masks here are device-specific virtio feature bits (bit n =
 * 1 << n). Bits 0-5 are the spec's. Bits 6-23 are not standardised and
 * collide between vendors (crosvm's WS_REPORTING is 8, spec proposals used 6
 * and 7), so they only mean queues when the side's vendor says so; transport
 * bits (24 and up) are ignored.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "virtio-status.h"

#define COMPAT_F_MUST_TELL_HOST      0
#define COMPAT_F_STATS_VQ            1
#define COMPAT_F_DEFLATE_ON_OOM      2
#define COMPAT_F_FREE_PAGE_HINT      3
#define COMPAT_F_PAGE_POISON         4
#define COMPAT_F_PAGE_REPORTING      5
#define COMPAT_F_CROSVM_WS_REPORTING 8 /* vendor bit: crosvm working-set reporting */

#define COMPAT_FEATURE(bit) (UINT64_C(1) << (bit))

/* Index of a queue a side does not have or does not use. */
#define COMPAT_INDEX_NONE (-1)

/* Longest consequence or reason text, terminator included. */
#define COMPAT_TEXT_MAX 512

typedef enum CompatQueue {
        COMPAT_QUEUE_INFLATE,
        COMPAT_QUEUE_DEFLATE,
        COMPAT_QUEUE_STATS,
        COMPAT_QUEUE_FREE_PAGE,
        COMPAT_QUEUE_REPORTING,
        COMPAT_QUEUE_WS_DATA, /* crosvm, vendor bit 8 */
        COMPAT_QUEUE_WS_OP,   /* crosvm, vendor bit 8 */
        _COMPAT_QUEUE_MAX,
} CompatQueue;

typedef enum CompatConvention {
        COMPAT_CONVENTION_FIXED,
        COMPAT_CONVENTION_DENSE_OFFERED,
        COMPAT_CONVENTION_DENSE_NEGOTIATED,
        _COMPAT_CONVENTION_MAX,
} CompatConvention;

/* Whose meaning bits 6-23 have. */
typedef enum CompatVendor {
        COMPAT_VENDOR_NONE,   /* no queues beyond the spec's */
        COMPAT_VENDOR_CROSVM, /* bit 8: ws_data and ws_op after reporting_vq */
        _COMPAT_VENDOR_MAX,
} CompatVendor;

typedef enum CompatRole {
        COMPAT_ROLE_DEVICE,
        COMPAT_ROLE_DRIVER,
        _COMPAT_ROLE_MAX,
} CompatRole;

/* "inflate", "deflate", "stats", "free_page", "reporting", "ws_data", "ws_op". */
const char *compat_queue_to_string(CompatQueue q);
/* "fixed", "dense-offered", "dense-negotiated". */
const char *compat_convention_to_string(CompatConvention c);
/* "device", "driver". */
const char *compat_role_to_string(CompatRole r);

/*
 * Where one side puts each logical queue. A queue has an index when its
 * feature is offered (fixed, dense-offered) or negotiated (dense-negotiated),
 * and its vendor matches; inflate and deflate always have 0 and 1.
 */
typedef struct CompatLayout {
        int index[_COMPAT_QUEUE_MAX]; /* COMPAT_INDEX_NONE when the queue has none */
        unsigned n_queues;            /* highest index + 1 */
} CompatLayout;

/* -EINVAL for an unknown convention or vendor, or negotiated bits that were not offered. */
int compat_layout(CompatConvention convention, CompatVendor vendor, uint64_t offered,
                  uint64_t negotiated, CompatLayout *ret);

/* One side of a pair: a convention, with the name it was given by. */
typedef struct CompatSide {
        const char *name; /* implementation or convention name; static or caller-owned */
        CompatConvention convention;
        CompatVendor vendor;
} CompatSide;

/* What the device has at the index where the driver put a queue. */
typedef enum CompatTarget {
        COMPAT_TARGET_QUEUE,  /* another of the device's queues: see target_queue */
        COMPAT_TARGET_HOLE,   /* an index inside the device's range that it does not serve */
        COMPAT_TARGET_BEYOND, /* an index past the device's last queue */
} CompatTarget;

/* One logical queue that at least one side has. */
typedef struct CompatQueueVerdict {
        CompatQueue queue;
        int device_index; /* where the device serves it; COMPAT_INDEX_NONE: nowhere */
        int driver_index; /* where the driver puts it; COMPAT_INDEX_NONE: not used */
        bool broken;      /* the driver uses it and device_index != driver_index */
        /* Only when broken: */
        CompatTarget target;
        CompatQueue target_queue;
        char consequence[COMPAT_TEXT_MAX]; /* one sentence; empty when not broken */
} CompatQueueVerdict;

typedef struct CompatVerdict {
        CompatSide device, driver;
        uint64_t offered, negotiated;
        CompatLayout device_layout, driver_layout;
        bool agree; /* no row is broken */
        unsigned n_broken;
        unsigned n_rows;
        CompatQueueVerdict rows[_COMPAT_QUEUE_MAX]; /* in queue order */
} CompatVerdict;

/*
 * Compares where the driver puts each queue it uses (inflate, deflate, and
 * those whose feature was negotiated) with where the device serves it, and
 * says in plain words what happens to each one that lands elsewhere.
 * -EINVAL for an invalid side or negotiated bits that were not offered.
 */
int compat_compare(const CompatSide *device, const CompatSide *driver, uint64_t offered,
                   uint64_t negotiated, CompatVerdict *ret);

/* ---- Known implementations ---------------------------------------------- */

typedef struct CompatImplementation {
        const char *name; /* CLI name: "qemu", "linux", "crosvm-2024", ... */
        CompatRole role;
        CompatConvention convention;
        CompatVendor vendor;
        /* Device: offered by default. Driver: accepted whenever offered. */
        uint64_t features;
        /* Device: offered when configured. Driver: accepted by some versions or setups. */
        uint64_t features_optional;
        /* Device: each queue's ring size at creation ("vring-num-default"); 0: unknown. */
        uint16_t queue_sizes[_COMPAT_QUEUE_MAX];
        const char *since; /* version or date this numbering started; NULL: from the start */
        const char *until; /* version or date it ended; NULL: current */
        const char *notes;
        const char *source_url;
} CompatImplementation;

/* The i-th row of the table, NULL past the end. */
const CompatImplementation *compat_implementation_get(size_t i);
/* By name (case-insensitive), NULL when unknown. */
const CompatImplementation *compat_implementation_lookup(const char *name);
void compat_implementation_side(const CompatImplementation *impl, CompatSide *ret);

/*
 * Parses a SIDE argument: a convention name ("fixed", "dense-offered",
 * "dense-negotiated") or the name of an implementation of that role. Returns
 * 0; -ENOENT when the name is neither; -EINVAL when it names an
 * implementation of the other role. On error *ret_reason (if not NULL) is a
 * static one-line explanation. ret->name points into s or the table.
 */
int compat_side_parse(const char *s, CompatRole role, CompatSide *ret, const char **ret_reason);

/*
 * Parses a feature MASK: "0x" hex or decimal, 64 bits at most, nothing
 * around it. Returns 0, -EINVAL (not a number), -ERANGE (more than 64 bits);
 * *ret_reason as above.
 */
int compat_mask_parse(const char *s, uint64_t *ret, const char **ret_reason);

/* ---- Renderers ------------------------------------------------------------ */

/*
 * {"agree": bool, "device": {"name", "convention"}, "driver": {...},
 *  "offered_features": N, "negotiated_features": N,
 *  "queues": [{"name", "device_index", "driver_index", "consequence"}]}
 * with null for a missing index or consequence. Returns 0 or -ENOMEM.
 */
int compat_verdict_to_json(const CompatVerdict *v, json_object **ret);

/* The verdict as a text table followed by the consequences. Returns 0 or -ENOMEM. */
int compat_verdict_format(const CompatVerdict *v, char **ret);

/* The implementations table as text; with_notes adds notes and source under each row. */
int compat_implementations_format(bool with_notes, char **ret);

/* ---- Live detection (QEMU) ------------------------------------------------ */

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
