/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The ZFS ARC (OpenZFS /proc/spl/kstat/zfs/arcstats). The kernel does not
 * count it in MemAvailable, yet the ARC shrinks to its minimum (c_min) when
 * the host needs memory: on a ZFS host what the ARC holds above c_min is
 * available to guests, and leaving it out makes the host look short of
 * memory and the guests get squeezed for nothing.
 */
#pragma once

#include <stdint.h>

typedef struct ZfsArc {
        uint64_t size_bytes;  /* "size": what the ARC holds now */
        uint64_t c_min_bytes; /* "c_min": the floor it never shrinks below */
} ZfsArc;

/* Parses arcstats text ("name type data" rows). -EINVAL when size or c_min
 * is missing or not a number. */
int zfs_arc_parse(const char *text, ZfsArc *ret);

/* What the ARC would give back under pressure: size above c_min. */
uint64_t zfs_arc_reclaimable_bytes(const ZfsArc *arc);
