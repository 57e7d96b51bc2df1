/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What the compatibility layer learnt of one guest's balloon device, and the
 * verdicts read from it (filled by qmp-compat.c over QMP x-query-virtio*). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "compat-live.h"
#include "virtio-status.h"

typedef struct GuestCompat {
        bool probing;         /* a query chain is under way */
        bool supported;       /* QEMU has the x-query-virtio commands */
        bool probed;          /* the schema probe has answered */
        char *virtio_path;    /* QOM path of the virtio backend */
        char *unknown_reason; /* why the verdict is unknown, when it is */
        VirtioStatus status;
        unsigned queues_pending; /* queue queries still to answer */
        bool have_inference;
        CompatInference inference;
        uint64_t next_refresh_usec;
        /* Page reporting liveness: used-idx of the reporting queue over a window. */
        int reporting_queue; /* device index, COMPAT_INDEX_NONE when not in use */
        uint16_t window_used_idx;
        uint64_t window_start_usec;
        uint64_t window_freed_bytes;
        uint64_t last_free_bytes;
        CompatReporting reporting;
} GuestCompat;

/* Frees what it holds and starts over: nothing known. */
void guest_compat_clear(GuestCompat *c);
/* Free page reporting is negotiated, both sides agree on its queue, and it moves. */
bool guest_compat_reporting_functional(const GuestCompat *c);
const char *guest_compat_verdict(const GuestCompat *c);
