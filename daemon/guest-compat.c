/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "guest-compat.h"

#include <stdlib.h>

void guest_compat_clear(GuestCompat *c)
{
        free(c->virtio_path);
        free(c->unknown_reason);
        *c = (GuestCompat){ .reporting_queue = COMPAT_INDEX_NONE };
}

const char *guest_compat_verdict(const GuestCompat *c)
{
        return c->have_inference ? compat_live_verdict_to_string(c->inference.verdict) : "unknown";
}

bool guest_compat_reporting_functional(const GuestCompat *c)
{
        return c->have_inference && c->inference.verdict == COMPAT_LIVE_AGREE &&
               c->status.negotiated & COMPAT_FEATURE(COMPAT_F_PAGE_REPORTING) &&
               c->reporting != COMPAT_REPORTING_STALLED;
}
