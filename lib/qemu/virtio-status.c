/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Parsers for QEMU's x-query-virtio, x-query-virtio-status and
 * x-query-virtio-queue-status replies (shapes from QEMU 7.2's
 * qapi/virtio.json; fixtures recorded in tests/fixtures/virtio).
 */
#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "cleanup.h"
#include "virtio-status.h"

/* Names QEMU 7.2 prints for virtio-balloon's bits (hw/virtio/virtio.c,
 * virtio_balloon_feature_map), by bit. */
static const struct {
        const char *name;
        unsigned bit;
} balloon_feature_names[] = {
        {"VIRTIO_BALLOON_F_MUST_TELL_HOST", 0},
        {"VIRTIO_BALLOON_F_STATS_VQ", 1},
        {"VIRTIO_BALLOON_F_DEFLATE_ON_OOM", 2},
        {"VIRTIO_BALLOON_F_FREE_PAGE_HINT", 3},
        {"VIRTIO_BALLOON_F_PAGE_POISON", 4},
        {"VIRTIO_BALLOON_F_REPORTING", 5},
        /* The spec's name for bit 5; QEMU prints the one above. */
        {"VIRTIO_BALLOON_F_PAGE_REPORTING", 5},
};

static const struct {
        const char *name;
        uint8_t bit;
} status_names[] = {
        {"VIRTIO_CONFIG_S_ACKNOWLEDGE", VIRTIO_STATUS_ACKNOWLEDGE},
        {"VIRTIO_CONFIG_S_DRIVER", VIRTIO_STATUS_DRIVER},
        {"VIRTIO_CONFIG_S_DRIVER_OK", VIRTIO_STATUS_DRIVER_OK},
        {"VIRTIO_CONFIG_S_FEATURES_OK", VIRTIO_STATUS_FEATURES_OK},
        {"VIRTIO_CONFIG_S_NEEDS_RESET", VIRTIO_STATUS_NEEDS_RESET},
        {"VIRTIO_CONFIG_S_FAILED", VIRTIO_STATUS_FAILED},
};

/* Length of the name part of "NAME: description" (the whole string without ':'). */
static size_t name_length(const char *s)
{
        const char *colon = strchr(s, ':');

        return colon ? (size_t)(colon - s) : strlen(s);
}

static bool name_is(const char *s, size_t len, const char *name)
{
        return strlen(name) == len && strncmp(s, name, len) == 0;
}

/* A JSON integer that fits in uint64; json-c keeps values above INT64_MAX as uint64. */
static int get_u64(json_object *obj, const char *key, uint64_t *ret)
{
        json_object *v;
        int64_t i;

        if (!json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_int))
                return -EINVAL;
        i = json_object_get_int64(v);
        if (i == INT64_MAX) {
                *ret = json_object_get_uint64(v);
                return 0;
        }
        if (i < 0)
                return -EINVAL;
        *ret = (uint64_t)i;
        return 0;
}

static int get_u16(json_object *obj, const char *key, uint16_t *ret)
{
        uint64_t v;
        int r;

        r = get_u64(obj, key, &v);
        if (r < 0)
                return r;
        if (v > UINT16_MAX)
                return -EINVAL;
        *ret = (uint16_t)v;
        return 0;
}

/*
 * Parses a VirtioDeviceFeatures object ({"transports": [...], "dev-features":
 * [...], "unknown-dev-features": N}) into the device-specific bit mask.
 */
static int parse_features(json_object *obj, uint64_t *ret, unsigned *n_unknown)
{
        json_object *list, *unknown;
        uint64_t mask = 0;

        if (!json_object_is_type(obj, json_type_object))
                return -EINVAL;

        /* "dev-features" is left out for devices without a feature map. */
        if (json_object_object_get_ex(obj, "dev-features", &list)) {
                if (!json_object_is_type(list, json_type_array))
                        return -EINVAL;
                for (size_t i = 0; i < json_object_array_length(list); i++) {
                        json_object *item = json_object_array_get_idx(list, i);
                        const char *s;
                        size_t len;
                        bool found = false;

                        if (!json_object_is_type(item, json_type_string))
                                return -EINVAL;
                        s = json_object_get_string(item);
                        len = name_length(s);
                        for (size_t j = 0; j < ELEMENTSOF(balloon_feature_names); j++)
                                if (name_is(s, len, balloon_feature_names[j].name)) {
                                        mask |= UINT64_C(1) << balloon_feature_names[j].bit;
                                        found = true;
                                        break;
                                }
                        if (!found)
                                (*n_unknown)++;
                }
        }

        if (json_object_object_get_ex(obj, "unknown-dev-features", &unknown)) {
                uint64_t bits;
                int r;

                r = get_u64(obj, "unknown-dev-features", &bits);
                if (r < 0)
                        return r;
                mask |= bits & VIRTIO_STATUS_DEVICE_FEATURES;
        }

        *ret = mask;
        return 0;
}

static int parse_status(json_object *obj, uint8_t *ret)
{
        json_object *list, *unknown;
        uint8_t status = 0;

        if (!json_object_is_type(obj, json_type_object) ||
            !json_object_object_get_ex(obj, "statuses", &list) ||
            !json_object_is_type(list, json_type_array))
                return -EINVAL;

        for (size_t i = 0; i < json_object_array_length(list); i++) {
                json_object *item = json_object_array_get_idx(list, i);
                const char *s;
                size_t len;

                if (!json_object_is_type(item, json_type_string))
                        return -EINVAL;
                s = json_object_get_string(item);
                len = name_length(s);
                for (size_t j = 0; j < ELEMENTSOF(status_names); j++)
                        if (name_is(s, len, status_names[j].name))
                                status |= status_names[j].bit;
        }

        if (json_object_object_get_ex(obj, "unknown-statuses", &unknown)) {
                uint64_t bits;
                int r;

                r = get_u64(obj, "unknown-statuses", &bits);
                if (r < 0)
                        return r;
                status |= (uint8_t)bits;
        }

        *ret = status;
        return 0;
}

int virtio_status_find_device(json_object *list, const char *name, const char **ret)
{
        assert(name);
        assert(ret);

        if (!json_object_is_type(list, json_type_array))
                return -EINVAL;

        for (size_t i = 0; i < json_object_array_length(list); i++) {
                json_object *item = json_object_array_get_idx(list, i), *n, *p;

                if (!json_object_is_type(item, json_type_object) ||
                    !json_object_object_get_ex(item, "name", &n) ||
                    !json_object_object_get_ex(item, "path", &p) ||
                    !json_object_is_type(n, json_type_string) ||
                    !json_object_is_type(p, json_type_string))
                        return -EINVAL;
                if (strcmp(json_object_get_string(n), name) == 0) {
                        *ret = json_object_get_string(p);
                        return 0;
                }
        }
        return -ENOENT;
}

int virtio_status_from_qmp(VirtioStatus *s, json_object *ret)
{
        VirtioStatus new = {};
        json_object *host, *guest, *status;
        uint64_t v;
        int r;

        assert(s);

        if (!json_object_is_type(ret, json_type_object))
                return -EINVAL;

        r = get_u16(ret, "device-id", &new.device_id);
        if (r < 0)
                return r;

        r = get_u64(ret, "num-vqs", &v);
        if (r < 0)
                return r;
        if (v > UINT_MAX)
                return -EINVAL;
        new.num_vqs = (unsigned)v;

        if (!json_object_object_get_ex(ret, "host-features", &host) ||
            !json_object_object_get_ex(ret, "guest-features", &guest) ||
            !json_object_object_get_ex(ret, "status", &status))
                return -EINVAL;

        r = parse_features(host, &new.offered, &new.n_unknown_features);
        if (r < 0)
                return r;
        r = parse_features(guest, &new.negotiated, &new.n_unknown_features);
        if (r < 0)
                return r;
        r = parse_status(status, &new.status);
        if (r < 0)
                return r;
        new.driver_ok = new.status &VIRTIO_STATUS_DRIVER_OK;

        *s = new;
        return 0;
}

int virtio_queue_status_from_qmp(VirtioQueueStatus *q, unsigned *ret_index, json_object *ret)
{
        VirtioQueueStatus new = {.answered = true};
        uint64_t index, in_use;
        int r;

        assert(q);
        assert(ret_index);

        if (!json_object_is_type(ret, json_type_object))
                return -EINVAL;

        r = get_u64(ret, "queue-index", &index);
        if (r < 0)
                return r;
        if (index > UINT_MAX)
                return -EINVAL;
        r = get_u64(ret, "vring-desc", &new.desc_addr);
        if (r < 0)
                return r;
        new.set_up = new.desc_addr != 0;
        r = get_u16(ret, "vring-num", &new.size);
        if (r < 0)
                return r;
        /* Added with the command, but not needed: a zero means "not said". */
        (void)get_u16(ret, "vring-num-default", &new.size_default);
        r = get_u16(ret, "used-idx", &new.used_idx);
        if (r < 0)
                return r;
        r = get_u16(ret, "last-avail-idx", &new.last_avail_idx);
        if (r < 0)
                return r;
        if (get_u64(ret, "inuse", &in_use) == 0)
                new.in_use = in_use > UINT32_MAX ? UINT32_MAX : (uint32_t)in_use;

        *q = new;
        *ret_index = (unsigned)index;
        return 0;
}

int virtio_status_set_queue(VirtioStatus *s, json_object *queue_ret)
{
        VirtioQueueStatus q;
        unsigned index;
        int r;

        assert(s);

        r = virtio_queue_status_from_qmp(&q, &index, queue_ret);
        if (r < 0)
                return r;
        if (index >= VIRTIO_STATUS_MAX_QUEUES)
                return -ERANGE;
        s->queues[index] = q;
        return 0;
}
