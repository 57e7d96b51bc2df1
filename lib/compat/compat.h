/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * virtio-balloon queue layouts (compat.c): which virtqueue index each side of
 * a device/driver pair gives each logical queue, whether the two sides agree,
 * what breaks where they do not, and the parsers of the CLI's SIDE and MASK.
 * Pure functions on plain structs; see docs/compat.md for the problem and the
 * sources. The rest of the compat layer builds on these types:
 *
 *   compat-implementations.h  the known devices and drivers and their numbering
 *   compat-format.h           a verdict as JSON or text, the implementations table
 *   compat-live.h             inference from a live QEMU device (virtio-status.h)
 *                             of how its driver numbered the queues, and whether
 *                             free page reporting moves
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
#include <stdint.h>

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
