/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Normalises one domain's record of libvirt's bulk balloon statistics
 * (virConnectGetAllDomainStats with VIR_DOMAIN_STATS_BALLOON) into
 * BalloonStats. Pure code: the tests build virTypedParameter arrays by hand.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <libvirt/libvirt.h>

#include "balloon-stats.h"

typedef struct LibvirtBalloonSample {
        /* balloon.current: the balloon target libvirt last saw reached (its
         * copy of QEMU's "actual"), updated on BALLOON_CHANGE events. */
        uint64_t current_bytes;
        /* balloon.maximum: the domain's boot memory. */
        uint64_t maximum_bytes;
        /* balloon.rss: QEMU's resident set, read by libvirtd from /proc. */
        uint64_t rss_bytes;
        /* The guest's own figures; STAT_UNKNOWN where libvirt left them out. */
        BalloonStats stats;
        /*
         * No usable guest report in this record: the domain was busy (with
         * VIR_CONNECT_GET_ALL_DOMAINS_STATS_NOWAIT libvirt then returns only
         * current and maximum), the driver has no balloon statistics, or the
         * guest never reported MemTotal and MemFree/MemAvailable. Freshness
         * of a report that is there is the caller's to judge from
         * stats.last_update_sec.
         */
        bool stale;
} LibvirtBalloonSample;

/* Sets every figure to STAT_UNKNOWN and stale to true. */
void libvirt_balloon_sample_init(LibvirtBalloonSample *s);

/*
 * Fills s from the "balloon.*" members of params (other groups' members are
 * ignored, so a record with more groups may be passed whole). Sizes come in
 * KiB and are returned in bytes. Returns 0, or -EINVAL when params is NULL
 * with nparams > 0 or nparams is negative.
 */
int libvirt_balloon_sample_from_params(LibvirtBalloonSample *s, const virTypedParameter *params,
                                       int nparams);
