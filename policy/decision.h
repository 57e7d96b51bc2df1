/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What the policy decides for one guest, and why: written by the strategies
 * and the guard rails, read by the daemon and the simulator. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#define POLICY_REASON_MAX 384

typedef struct Decision {
        uint64_t target_bytes; /* memory the guest should have */
        uint64_t floor_bytes;  /* 0 when unknown (no stats) */
        uint64_t used_bytes;   /* 0 when unknown */
        bool change;           /* send target_bytes to the balloon */
        bool distress;         /* the guest is short of memory now */
        bool quiet;            /* leave reason empty */
        char reason[POLICY_REASON_MAX];
} Decision;

/* Sets d->reason unless the decision is quiet. */
void decision_explain(Decision *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
