/* SPDX-License-Identifier: GPL-2.0-or-later */
/* When a balloon command has done its work: one rule for the daemon and the
 * simulator, so that the simulator's commands stop pending as the daemon's do. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* Reported sizes this close to the target count as there (why: arrival.c). */
#define BALLOON_ARRIVAL_SLACK_BYTES (UINT64_C(1) << 20)

/* True when the balloon's reported size is within the slack of the target. */
bool balloon_arrived(uint64_t actual_bytes, uint64_t target_bytes);
