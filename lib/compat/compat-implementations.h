/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The table of known virtio-balloon devices and drivers and how each numbers
 * its queues (compat-implementations.c). Names are CLI input: rows get added,
 * never renamed.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "compat.h"

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
