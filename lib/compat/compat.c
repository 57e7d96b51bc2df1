/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The queue-layout model: where each numbering convention puts each logical
 * virtio-balloon queue, the comparison of a device with a driver, the plain
 * words for what breaks, and the parsers of the CLI's SIDE and MASK.
 */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cleanup.h"
#include "compat-implementations.h"
#include "compat.h"

#define NO_FEATURE (-1)

/* In the order of the spec's list, which is also the dense conventions' order. */
static const struct {
        const char *name;      /* CLI and JSON */
        const char *spec_name; /* virtio spec 5.5.2, or the vendor's */
        int feature;           /* bit that makes the queue exist, NO_FEATURE: always there */
        int fixed_index;
        CompatVendor vendor;  /* COMPAT_VENDOR_NONE: the spec's */
        const char *sent;     /* what the driver puts on it */
        const char *function; /* what stops working */
} queue_info[_COMPAT_QUEUE_MAX] = {
        [COMPAT_QUEUE_INFLATE] = {"inflate", "inflateq", NO_FEATURE, 0, COMPAT_VENDOR_NONE,
                                  "pages to inflate the balloon", "ballooning"},
        [COMPAT_QUEUE_DEFLATE] = {"deflate", "deflateq", NO_FEATURE, 1, COMPAT_VENDOR_NONE,
                                  "pages to deflate the balloon", "ballooning"},
        [COMPAT_QUEUE_STATS] = {"stats", "statsq", COMPAT_F_STATS_VQ, 2, COMPAT_VENDOR_NONE,
                                "memory statistics", "statistics"},
        [COMPAT_QUEUE_FREE_PAGE] = {"free_page", "free_page_vq", COMPAT_F_FREE_PAGE_HINT, 3,
                                    COMPAT_VENDOR_NONE, "free page hints", "free page hinting"},
        [COMPAT_QUEUE_REPORTING] = {"reporting", "reporting_vq", COMPAT_F_PAGE_REPORTING, 4,
                                    COMPAT_VENDOR_NONE, "free page reports", "page reporting"},
        [COMPAT_QUEUE_WS_DATA] = {"ws_data", "ws_data_vq", COMPAT_F_CROSVM_WS_REPORTING, 5,
                                  COMPAT_VENDOR_CROSVM, "working-set reports",
                                  "working-set reporting"},
        [COMPAT_QUEUE_WS_OP] = {"ws_op", "ws_op_vq", COMPAT_F_CROSVM_WS_REPORTING, 6,
                                COMPAT_VENDOR_CROSVM, "buffers for working-set commands",
                                "working-set reporting"},
};

static const char *const convention_names[_COMPAT_CONVENTION_MAX] = {
        [COMPAT_CONVENTION_FIXED] = "fixed",
        [COMPAT_CONVENTION_DENSE_OFFERED] = "dense-offered",
        [COMPAT_CONVENTION_DENSE_NEGOTIATED] = "dense-negotiated",
};

const char *compat_queue_to_string(CompatQueue q)
{
        return q >= 0 && q < _COMPAT_QUEUE_MAX ? queue_info[q].name : NULL;
}

const char *compat_convention_to_string(CompatConvention c)
{
        return c >= 0 && c < _COMPAT_CONVENTION_MAX ? convention_names[c] : NULL;
}

const char *compat_role_to_string(CompatRole r)
{
        switch (r) {
        case COMPAT_ROLE_DEVICE:
                return "device";
        case COMPAT_ROLE_DRIVER:
                return "driver";
        default:
                return NULL;
        }
}

static bool queue_known_to(CompatQueue q, CompatVendor vendor)
{
        return queue_info[q].vendor == COMPAT_VENDOR_NONE || queue_info[q].vendor == vendor;
}

static bool queue_in(CompatQueue q, uint64_t features)
{
        return queue_info[q].feature == NO_FEATURE ||
               (features & COMPAT_FEATURE(queue_info[q].feature));
}

int compat_layout(CompatConvention convention, CompatVendor vendor, uint64_t offered,
                  uint64_t negotiated, CompatLayout *ret)
{
        CompatLayout layout = {};
        uint64_t present;
        int next = 0;

        assert(ret);

        if (convention < 0 || convention >= _COMPAT_CONVENTION_MAX || vendor < 0 ||
            vendor >= _COMPAT_VENDOR_MAX || (negotiated & ~offered))
                return -EINVAL;

        /* Which queues this numbering gives an index to at all. */
        present = convention == COMPAT_CONVENTION_DENSE_NEGOTIATED ? negotiated : offered;

        for (CompatQueue q = 0; q < _COMPAT_QUEUE_MAX; q++) {
                int index;

                if (!queue_known_to(q, vendor) || !queue_in(q, present)) {
                        layout.index[q] = COMPAT_INDEX_NONE;
                        continue;
                }
                index = convention == COMPAT_CONVENTION_FIXED ? queue_info[q].fixed_index : next++;
                layout.index[q] = index;
                if ((unsigned)index + 1 > layout.n_queues)
                        layout.n_queues = (unsigned)index + 1;
        }

        *ret = layout;
        return 0;
}

static bool side_valid(const CompatSide *s)
{
        return s && s->convention >= 0 && s->convention < _COMPAT_CONVENTION_MAX &&
               s->vendor >= 0 && s->vendor < _COMPAT_VENDOR_MAX;
}

/* What the device has at `index`. */
static CompatTarget device_target(const CompatLayout *device, int index, CompatQueue *ret_queue)
{
        for (CompatQueue q = 0; q < _COMPAT_QUEUE_MAX; q++)
                if (device->index[q] == index) {
                        *ret_queue = q;
                        return COMPAT_TARGET_QUEUE;
                }
        return (unsigned)index < device->n_queues ? COMPAT_TARGET_HOLE : COMPAT_TARGET_BEYOND;
}

/* The effect, in plain words, of queue q landing on what the device has there. */
static const char *effect(CompatQueue q, CompatTarget target, CompatQueue target_queue)
{
        if (target == COMPAT_TARGET_BEYOND)
                return NULL; /* worded by the caller: it names the feature */

        switch (q) {
        case COMPAT_QUEUE_REPORTING:
                if (target == COMPAT_TARGET_HOLE)
                        return "reports are never acknowledged and the guest's reporting worker "
                               "blocks";
                switch (target_queue) {
                case COMPAT_QUEUE_FREE_PAGE:
                        return "the device takes them for free page hints, so the host never "
                               "releases that memory, and where the device leaves that queue "
                               "unanswered the reports are never acknowledged and the guest's "
                               "reporting worker blocks";
                case COMPAT_QUEUE_STATS:
                        return "the device reads them as memory statistics: the statistics are "
                               "wrong, the host never releases that memory, and reports come "
                               "back only when the device next asks for statistics";
                default:
                        return "the device misreads them: the host never releases that memory "
                               "and the guest's reporting worker may block";
                }
        case COMPAT_QUEUE_FREE_PAGE:
                if (target == COMPAT_TARGET_HOLE)
                        return "hints are never acknowledged: free page hinting does not work";
                switch (target_queue) {
                case COMPAT_QUEUE_REPORTING:
                        return "the device takes them for free page reports and discards the "
                               "hinted pages at once: hinting does nothing for migration";
                case COMPAT_QUEUE_STATS:
                        return "the device reads them as memory statistics: the statistics are "
                               "wrong and free page hinting does not work";
                default:
                        return "the device misreads them: free page hinting does not work";
                }
        case COMPAT_QUEUE_STATS:
                if (target == COMPAT_TARGET_HOLE)
                        return "the device never reads them: no guest statistics";
                return "the device does not read them as statistics: no guest statistics, and a "
                       "device that hands the buffer straight back makes the guest resend them "
                       "in a loop";
        case COMPAT_QUEUE_WS_DATA:
        case COMPAT_QUEUE_WS_OP:
                return "working-set reporting does not work";
        default:
                return "the balloon does not move";
        }
}

static void describe(const CompatLayout *device, CompatQueueVerdict *row)
{
        const char *what = queue_info[row->queue].sent;
        char where[128];

        switch (row->target) {
        case COMPAT_TARGET_QUEUE:
                snprintf(where, sizeof(where), ", which the device serves as %s",
                         queue_info[row->target_queue].spec_name);
                break;
        case COMPAT_TARGET_HOLE:
                snprintf(where, sizeof(where), ", where the device has no queue in use");
                break;
        case COMPAT_TARGET_BEYOND:
                snprintf(where, sizeof(where), ", which the device does not have (it has %u %s)",
                         device->n_queues, device->n_queues == 1 ? "queue" : "queues");
                break;
        }

        if (row->target == COMPAT_TARGET_BEYOND)
                snprintf(row->consequence, sizeof(row->consequence),
                         "driver sends %s to queue %d%s: setting the queue up fails, so the "
                         "driver does not start (no ballooning at all) unless it carries on "
                         "without %s",
                         what, row->driver_index, where, queue_info[row->queue].function);
        else
                snprintf(row->consequence, sizeof(row->consequence),
                         "driver sends %s to queue %d%s: %s", what, row->driver_index, where,
                         effect(row->queue, row->target, row->target_queue));
}

int compat_compare(const CompatSide *device, const CompatSide *driver, uint64_t offered,
                   uint64_t negotiated, CompatVerdict *ret)
{
        CompatVerdict v = {};
        int r;

        assert(ret);

        if (!side_valid(device) || !side_valid(driver))
                return -EINVAL;

        r = compat_layout(device->convention, device->vendor, offered, negotiated,
                          &v.device_layout);
        if (r < 0)
                return r;
        r = compat_layout(driver->convention, driver->vendor, offered, negotiated,
                          &v.driver_layout);
        if (r < 0)
                return r;

        v.device = *device;
        v.driver = *driver;
        v.offered = offered;
        v.negotiated = negotiated;

        for (CompatQueue q = 0; q < _COMPAT_QUEUE_MAX; q++) {
                CompatQueueVerdict *row;
                bool used = queue_known_to(q, driver->vendor) && queue_in(q, negotiated);

                if (v.device_layout.index[q] == COMPAT_INDEX_NONE &&
                    (!used || v.driver_layout.index[q] == COMPAT_INDEX_NONE))
                        continue;

                row = &v.rows[v.n_rows++];
                row->queue = q;
                row->device_index = v.device_layout.index[q];
                row->driver_index = used ? v.driver_layout.index[q] : COMPAT_INDEX_NONE;
                row->broken = row->driver_index != COMPAT_INDEX_NONE &&
                              row->driver_index != row->device_index;
                if (!row->broken)
                        continue;

                row->target =
                        device_target(&v.device_layout, row->driver_index, &row->target_queue);
                describe(&v.device_layout, row);
                v.n_broken++;
        }
        v.agree = v.n_broken == 0;

        *ret = v;
        return 0;
}

int compat_side_parse(const char *s, CompatRole role, CompatSide *ret, const char **ret_reason)
{
        const CompatImplementation *impl;
        const char *reason;

        assert(s);
        assert(ret);

        for (CompatConvention c = 0; c < _COMPAT_CONVENTION_MAX; c++)
                if (strcasecmp(s, convention_names[c]) == 0) {
                        *ret = (CompatSide){
                                .name = convention_names[c],
                                .convention = c,
                                .vendor = COMPAT_VENDOR_NONE,
                        };
                        return 0;
                }

        impl = compat_implementation_lookup(s);
        if (!impl) {
                reason = "neither a convention (fixed, dense-offered, dense-negotiated) nor a "
                         "known implementation";
                if (ret_reason)
                        *ret_reason = reason;
                return -ENOENT;
        }
        if (impl->role != role) {
                reason = impl->role == COMPAT_ROLE_DRIVER ? "names a driver, not a device"
                                                          : "names a device, not a driver";
                if (ret_reason)
                        *ret_reason = reason;
                return -EINVAL;
        }

        compat_implementation_side(impl, ret);
        return 0;
}

static int digit_value(char c, unsigned base)
{
        int v;

        if (c >= '0' && c <= '9')
                v = c - '0';
        else if (c >= 'a' && c <= 'f')
                v = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
                v = c - 'A' + 10;
        else
                return -1;
        return (unsigned)v < base ? v : -1;
}

int compat_mask_parse(const char *s, uint64_t *ret, const char **ret_reason)
{
        const char *p = s;
        unsigned base = 10;
        uint64_t v = 0;
        int r = -EINVAL;
        const char *reason = "expected a feature mask: 0x followed by hex digits, or decimal";

        assert(s);
        assert(ret);

        if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
                base = 16;
                p += 2;
        }
        if (*p == '\0')
                goto fail;

        for (; *p; p++) {
                int d = digit_value(*p, base);

                if (d < 0)
                        goto fail;
                if (v > (UINT64_MAX - (uint64_t)d) / base) {
                        r = -ERANGE;
                        reason = "feature mask wider than 64 bits";
                        goto fail;
                }
                v = v * base + (uint64_t)d;
        }

        *ret = v;
        return 0;

fail:
        if (ret_reason)
                *ret_reason = reason;
        return r;
}
