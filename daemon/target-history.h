/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Every change of a guest's target (not each hold), with wall-clock times,
 * so that "why did this guest shrink at 03:00?" has an answer the next day
 * (memtidectl explain --since). Steps in one direction less than a minute
 * apart are one entry: a squeeze in six capped steps is one story, told by
 * its first size, its last target and its last reason.
 *
 * Bounded: at most TARGET_HISTORY_MAX entries per guest (about 62 KiB),
 * allocated as they come; when full the oldest goes. With merged steps that
 * is days of an ordinary guest's changes; a guest whose target turns round
 * more often than every 4 minutes keeps less than 24 hours.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "decision.h"

#define TARGET_HISTORY_MAX    384
#define TARGET_HISTORY_REASON 96
/* Steps this close, in the same direction, are one change. */
#define TARGET_HISTORY_MERGE_SEC 60

typedef struct TargetChange {
        uint64_t first_sec, last_sec; /* wall clock of the first and the last step */
        uint64_t from_bytes;          /* the guest's memory before the first step */
        uint64_t target_bytes;        /* the last step's target */
        uint64_t used_bytes, floor_bytes, available_bytes; /* the last step's inputs; 0 unknown */
        uint32_t steps;
        bool sent; /* false: decided while observing (Mode=observe, memtidectl pause) */
        char reason[TARGET_HISTORY_REASON];
} TargetChange;

typedef struct TargetHistory {
        TargetChange *items; /* oldest first */
        size_t n, allocated;
} TargetHistory;

/* Adds one step (a decision that changes the target); -ENOMEM leaves the
 * history as it was. available_bytes may be 0 (unknown). */
int target_history_add(TargetHistory *h, uint64_t wall_sec, uint64_t from_bytes,
                       uint64_t available_bytes, const Decision *d, bool sent);
void target_history_clear(TargetHistory *h);
