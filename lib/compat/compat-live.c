/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Judging a live device: which numbering the guest's driver used, read from
 * the queues it set up on a QEMU device (x-query-virtio-queue-status), and
 * whether free page reporting still moves.
 *
 * Why the set-up queues tell the convention: each convention is monotonic in
 * the spec's queue order, and the driver sets up exactly the queues it uses
 * (inflate, deflate and one per negotiated queue feature). So the set of
 * indexes with a ring pins down where each used queue went, and two
 * conventions that produce the same set map every queue the same way.
 */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cleanup.h"
#include "compat-implementations.h"
#include "compat-live.h"
#include "compat.h"
#include "virtio-status.h"

static void set_reason(CompatInference *inf, const char *format, ...)
        __attribute__((format(printf, 2, 3)));

static void set_reason(CompatInference *inf, const char *format, ...)
{
        va_list ap;

        va_start(ap, format);
        vsnprintf(inf->reason, sizeof(inf->reason), format, ap);
        va_end(ap);
}

/* "0, 1, 2 and 4" into buf. */
static void format_indexes(char *buf, size_t size, uint32_t mask)
{
        size_t used = 0;
        unsigned n = 0, total = (unsigned)__builtin_popcount(mask);

        buf[0] = '\0';
        for (unsigned i = 0; i < 32 && used < size; i++) {
                if (!(mask & (UINT32_C(1) << i)))
                        continue;
                n++;
                used += (size_t)snprintf(buf + used, size - used, "%s%u",
                                         n == 1       ? ""
                                         : n == total ? " and "
                                                      : ", ",
                                         i);
        }
        if (total == 0)
                snprintf(buf, size, "none");
}

/* "fixed", "fixed or dense-offered", "fixed, dense-offered or dense-negotiated". */
static void format_conventions(char *buf, size_t size, unsigned mask)
{
        size_t used = 0;
        unsigned n = 0, total = (unsigned)__builtin_popcount(mask);

        buf[0] = '\0';
        for (CompatConvention c = 0; c < _COMPAT_CONVENTION_MAX && used < size; c++) {
                if (!(mask & (1u << c)))
                        continue;
                n++;
                used += (size_t)snprintf(buf + used, size - used, "%s%s",
                                         n == 1       ? ""
                                         : n == total ? " or "
                                                      : ", ",
                                         compat_convention_to_string(c));
        }
}

/* The indexes a driver of this convention would set up; UINT32_MAX if one is out of reach. */
static uint32_t expected_set_up(CompatConvention c, CompatVendor vendor, uint64_t offered,
                                uint64_t negotiated)
{
        CompatSide side = {.convention = c, .vendor = vendor};
        uint32_t mask = 0;
        CompatVerdict v;

        /* The rows of a comparison with itself list exactly the queues the driver uses. */
        if (compat_compare(&side, &side, offered, negotiated, &v) < 0)
                return UINT32_MAX;
        for (unsigned i = 0; i < v.n_rows; i++) {
                int index = v.rows[i].driver_index;

                if (index == COMPAT_INDEX_NONE)
                        continue;
                if (index >= 32)
                        return UINT32_MAX;
                mask |= UINT32_C(1) << index;
        }
        return mask;
}

int compat_infer(const CompatImplementation *device, const VirtioStatus *status,
                 CompatInference *ret)
{
        CompatInference inf = {.verdict = COMPAT_LIVE_UNKNOWN};
        CompatSide device_side, driver_side;
        CompatLayout layout;
        uint32_t observed = 0;
        CompatConvention first = _COMPAT_CONVENTION_MAX;
        char indexes[96], conventions[64];
        int r;

        assert(status);
        assert(ret);

        if (!device || device->role != COMPAT_ROLE_DEVICE)
                return -EINVAL;
        compat_implementation_side(device, &device_side);

        if (status->device_id != 5) {
                set_reason(&inf, "device id %u is not a balloon (5)", (unsigned)status->device_id);
                goto done;
        }
        if (!status->driver_ok) {
                set_reason(&inf, "no driver has finished setting the device up (status 0x%02x)",
                           status->status);
                goto done;
        }
        if (status->negotiated & ~status->offered) {
                set_reason(&inf,
                           "the driver accepted features 0x%" PRIx64 " the device did not offer",
                           status->negotiated & ~status->offered);
                goto done;
        }

        r = compat_layout(device->convention, device->vendor, status->offered, status->negotiated,
                          &layout);
        if (r < 0)
                return r;
        if (layout.n_queues != status->num_vqs) {
                set_reason(&inf,
                           "the device has %u queues where %s would have %u for features "
                           "0x%" PRIx64,
                           status->num_vqs, device->name, layout.n_queues, status->offered);
                goto done;
        }
        if (status->num_vqs > VIRTIO_STATUS_MAX_QUEUES || status->num_vqs > 32) {
                set_reason(&inf, "the device has %u queues, more than this model follows",
                           status->num_vqs);
                goto done;
        }
        for (unsigned i = 0; i < status->num_vqs; i++)
                if (!status->queues[i].answered) {
                        set_reason(&inf, "the state of queue %u is missing", i);
                        goto done;
                }

        /* QEMU sizes its queues by kind (128, 128, 128, 1024, 32 on 7.2): a cross-check
         * that the device laid them out as modelled. */
        for (CompatQueue q = 0; q < _COMPAT_QUEUE_MAX; q++) {
                const VirtioQueueStatus *qs;
                unsigned size;

                if (layout.index[q] == COMPAT_INDEX_NONE || device->queue_sizes[q] == 0)
                        continue;
                qs = &status->queues[layout.index[q]];
                size = qs->size_default ? qs->size_default : qs->size;
                if (size != device->queue_sizes[q]) {
                        set_reason(&inf,
                                   "queue %d has %u descriptors where %s's %s has %u: the device "
                                   "is not laid out as modelled",
                                   layout.index[q], size, device->name, compat_queue_to_string(q),
                                   (unsigned)device->queue_sizes[q]);
                        goto done;
                }
        }

        for (unsigned i = 0; i < status->num_vqs; i++)
                if (status->queues[i].set_up)
                        observed |= UINT32_C(1) << i;
        format_indexes(indexes, sizeof(indexes), observed);

        for (CompatConvention c = 0; c < _COMPAT_CONVENTION_MAX; c++)
                if (expected_set_up(c, device->vendor, status->offered, status->negotiated) ==
                    observed) {
                        inf.conventions |= 1u << c;
                        if (first == _COMPAT_CONVENTION_MAX)
                                first = c;
                }
        if (first == _COMPAT_CONVENTION_MAX) {
                set_reason(&inf,
                           "the driver set up queues %s, which no convention gives for offered "
                           "0x%" PRIx64 " and negotiated 0x%" PRIx64,
                           indexes, status->offered, status->negotiated);
                goto done;
        }

        format_conventions(conventions, sizeof(conventions), inf.conventions);
        driver_side = (CompatSide){
                .name = compat_convention_to_string(first),
                .convention = first,
                .vendor = device->vendor,
        };
        r = compat_compare(&device_side, &driver_side, status->offered, status->negotiated,
                           &inf.comparison);
        if (r < 0)
                return r;

        if (inf.comparison.agree) {
                inf.verdict = COMPAT_LIVE_AGREE;
                set_reason(&inf,
                           "the driver set up queues %s, as %s numbering gives: the layouts agree",
                           indexes, conventions);
        } else {
                const char *consequence = "";

                for (unsigned i = 0; i < inf.comparison.n_rows; i++)
                        if (inf.comparison.rows[i].broken) {
                                consequence = inf.comparison.rows[i].consequence;
                                break;
                        }
                inf.verdict = COMPAT_LIVE_DISAGREE;
                set_reason(&inf, "the driver set up queues %s, as %s numbering gives: %s", indexes,
                           conventions, consequence);
        }

done:
        *ret = inf;
        return 0;
}

const char *compat_live_verdict_to_string(CompatLiveVerdict v)
{
        switch (v) {
        case COMPAT_LIVE_UNKNOWN:
                return "unknown";
        case COMPAT_LIVE_AGREE:
                return "agree";
        case COMPAT_LIVE_DISAGREE:
                return "disagree";
        default:
                return NULL;
        }
}

CompatReporting compat_reporting_check(const CompatReportingWindow *w)
{
        assert(w);

        /* Any movement is evidence, however short the window. A wrap by exactly
         * 65536 reports inside one window is not a real possibility. */
        if (w->used_idx_end != w->used_idx_start)
                return COMPAT_REPORTING_ACTIVE;
        if (w->window_usec < COMPAT_REPORTING_MIN_WINDOW_USEC)
                return COMPAT_REPORTING_UNKNOWN;
        if (w->freed_bytes < COMPAT_REPORTING_MIN_FREED_BYTES)
                return COMPAT_REPORTING_IDLE;
        return COMPAT_REPORTING_STALLED;
}

const char *compat_reporting_to_string(CompatReporting r)
{
        switch (r) {
        case COMPAT_REPORTING_UNKNOWN:
                return "unknown";
        case COMPAT_REPORTING_ACTIVE:
                return "active";
        case COMPAT_REPORTING_IDLE:
                return "idle";
        case COMPAT_REPORTING_STALLED:
                return "stalled";
        default:
                return NULL;
        }
}
