/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libvirt's bulk balloon statistics -> BalloonStats.
 *
 * libvirt 9.0 (qemuDomainGetStatsBalloon) writes the field names as string
 * literals, there are no VIR_DOMAIN_STATS_BALLOON_* macros for them. It reads
 * QEMU's guest-stats (qemuMonitorJSONGetMemoryStats) and renames them:
 *
 *   QEMU stat-free-memory       -> balloon.unused      (MemFree)
 *   QEMU stat-total-memory      -> balloon.available   (MemTotal!)
 *   QEMU stat-available-memory  -> balloon.usable      (MemAvailable)
 *
 * and divides the byte figures (swap in/out, free, total, available, disk
 * caches) by 1024: everything with a size is KiB. Faults and hugetlb are
 * counts, last-update (with a hyphen, unlike the others) is QEMU's
 * time(2) of the last report. Stats QEMU reports as unset (UINT64_MAX) are
 * left out, as is everything but current and maximum when the domain had a
 * job running under NOWAIT. Values are VIR_TYPED_PARAM_ULLONG; other types
 * are ignored rather than trusted.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "cleanup.h"
#include "libvirt-stats.h"

#define KIB 1024ULL

enum { FIELD_SAMPLE, FIELD_STATS };

static const struct {
        const char *name;
        int where; /* FIELD_SAMPLE: offset into LibvirtBalloonSample; else BalloonStats */
        size_t offset;
        uint64_t scale;
} libvirt_balloon_fields[] = {
        {"balloon.current", FIELD_SAMPLE, offsetof(LibvirtBalloonSample, current_bytes), KIB},
        {"balloon.maximum", FIELD_SAMPLE, offsetof(LibvirtBalloonSample, maximum_bytes), KIB},
        {"balloon.rss", FIELD_SAMPLE, offsetof(LibvirtBalloonSample, rss_bytes), KIB},
        {"balloon.swap_in", FIELD_STATS, offsetof(BalloonStats, swap_in_bytes), KIB},
        {"balloon.swap_out", FIELD_STATS, offsetof(BalloonStats, swap_out_bytes), KIB},
        {"balloon.major_fault", FIELD_STATS, offsetof(BalloonStats, major_faults), 1},
        {"balloon.minor_fault", FIELD_STATS, offsetof(BalloonStats, minor_faults), 1},
        {"balloon.unused", FIELD_STATS, offsetof(BalloonStats, free_bytes), KIB},
        {"balloon.available", FIELD_STATS, offsetof(BalloonStats, total_bytes), KIB},
        {"balloon.usable", FIELD_STATS, offsetof(BalloonStats, available_bytes), KIB},
        {"balloon.disk_caches", FIELD_STATS, offsetof(BalloonStats, disk_caches_bytes), KIB},
        {"balloon.hugetlb_pgalloc", FIELD_STATS, offsetof(BalloonStats, hugetlb_allocations), 1},
        {"balloon.hugetlb_pgfail", FIELD_STATS, offsetof(BalloonStats, hugetlb_failures), 1},
        {"balloon.last-update", FIELD_STATS, offsetof(BalloonStats, last_update_sec), 1},
};

void libvirt_balloon_sample_init(LibvirtBalloonSample *s)
{
        s->current_bytes = STAT_UNKNOWN;
        s->maximum_bytes = STAT_UNKNOWN;
        s->rss_bytes = STAT_UNKNOWN;
        balloon_stats_init(&s->stats);
        s->stale = true;
}

static uint64_t *libvirt_balloon_field(LibvirtBalloonSample *s, size_t i)
{
        char *base =
                libvirt_balloon_fields[i].where == FIELD_SAMPLE ? (char *)s : (char *)&s->stats;
        return (uint64_t *)(base + libvirt_balloon_fields[i].offset);
}

/* A KiB figure that would overflow in bytes is garbage, not a size. */
static uint64_t libvirt_scale(uint64_t v, uint64_t scale)
{
        if (v > STAT_UNKNOWN / scale)
                return STAT_UNKNOWN;
        return v * scale;
}

static void libvirt_balloon_store(LibvirtBalloonSample *s, const virTypedParameter *p)
{
        if (p->type != VIR_TYPED_PARAM_ULLONG || strncmp(p->field, "balloon.", 8) != 0)
                return;

        for (size_t i = 0; i < ELEMENTSOF(libvirt_balloon_fields); i++)
                if (strcmp(p->field, libvirt_balloon_fields[i].name) == 0) {
                        *libvirt_balloon_field(s, i) =
                                libvirt_scale(p->value.ul, libvirt_balloon_fields[i].scale);
                        return;
                }
}

int libvirt_balloon_sample_from_params(LibvirtBalloonSample *s, const virTypedParameter *params,
                                       int nparams)
{
        libvirt_balloon_sample_init(s);

        if (nparams < 0 || (nparams > 0 && !params))
                return -EINVAL;

        for (int i = 0; i < nparams; i++)
                libvirt_balloon_store(s, &params[i]);

        s->stale = !balloon_stats_reported(&s->stats);
        return 0;
}
