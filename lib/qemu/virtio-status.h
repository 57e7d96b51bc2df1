/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Plain-data view of QEMU's unstable virtio introspection commands (QEMU 7.2
 * and later): `x-query-virtio` (which virtio devices exist, by QOM path),
 * `x-query-virtio-status` (features the device offered and the driver
 * accepted, device status, number of queues) and
 * `x-query-virtio-queue-status` (one queue: whether the driver set it up,
 * its size and ring indexes). Pure parsers: each takes the "return" member of
 * a reply (borrowed) and fills a struct; nothing here talks to QEMU.
 *
 * QEMU prints feature bits as strings ("VIRTIO_BALLOON_F_STATS_VQ: Guest
 * memory stats VQ available") and leaves bits it has no name for in the
 * number "unknown-dev-features". Only device-specific bits (0-23 and 50-63,
 * virtio spec 2.2) go into the masks here; QEMU 7.2 also puts transport bits
 * it cannot name there (VIRTIO_F_RING_RESET, bit 40), which are dropped.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>

/* Queue indexes recorded per device; virtio-balloon uses at most 7. */
#define VIRTIO_STATUS_MAX_QUEUES 16u

/* Device status bits (virtio spec 2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE 0x01u
#define VIRTIO_STATUS_DRIVER      0x02u
#define VIRTIO_STATUS_DRIVER_OK   0x04u
#define VIRTIO_STATUS_FEATURES_OK 0x08u
#define VIRTIO_STATUS_NEEDS_RESET 0x40u
#define VIRTIO_STATUS_FAILED      0x80u

/* Device-specific feature bits: 0-23 and 50-63 (64-127 are not visible). */
#define VIRTIO_STATUS_DEVICE_FEATURES (((UINT64_C(1) << 24) - 1) | ~((UINT64_C(1) << 50) - 1))

typedef struct VirtioQueueStatus {
        bool answered;           /* QEMU answered x-query-virtio-queue-status for this index */
        bool set_up;             /* "vring-desc" is non-zero: the driver gave the queue a ring */
        uint64_t desc_addr;      /* "vring-desc", guest-physical */
        uint16_t size;           /* "vring-num": the ring size now */
        uint16_t size_default;   /* "vring-num-default": the size the device created it with */
        uint16_t used_idx;       /* "used-idx": buffers the device has returned, mod 2^16 */
        uint16_t last_avail_idx; /* "last-avail-idx": buffers the device has taken, mod 2^16 */
        uint32_t in_use;         /* "inuse": buffers taken and not returned yet */
} VirtioQueueStatus;

typedef struct VirtioStatus {
        uint16_t device_id;  /* 5 = balloon */
        uint64_t offered;    /* "host-features": device-specific bits the device offers */
        uint64_t negotiated; /* "guest-features": device-specific bits the driver accepted */
        uint8_t status;      /* VIRTIO_STATUS_* bits decoded from "status" */
        bool driver_ok;      /* status has DRIVER_OK: the driver finished setting up */
        unsigned num_vqs;    /* "num-vqs": queues the device created */
        unsigned n_unknown_features; /* feature names this parser could not map to a bit */
        /* Filled by virtio_status_set_queue(), indexed by queue number. */
        VirtioQueueStatus queues[VIRTIO_STATUS_MAX_QUEUES];
} VirtioStatus;

/*
 * Finds the QOM path of the first device named `name` ("virtio-balloon") in
 * the return value of x-query-virtio: [{"name": ..., "path": ...}, ...].
 * *ret is borrowed from list. Returns 0, -ENOENT when there is none, -EINVAL
 * when list is not an array of such objects.
 */
int virtio_status_find_device(json_object *list, const char *name, const char **ret);

/*
 * Fills s (queues cleared) from the return value of x-query-virtio-status.
 * Required members: "device-id", "num-vqs", "host-features", "guest-features"
 * and "status"; -EINVAL when one is missing or has the wrong type. Feature
 * names other than virtio-balloon's are counted in n_unknown_features.
 */
int virtio_status_from_qmp(VirtioStatus *s, json_object *ret);

/*
 * Parses the return value of x-query-virtio-queue-status into q and the
 * queue's index ("queue-index"). Returns 0 or -EINVAL.
 */
int virtio_queue_status_from_qmp(VirtioQueueStatus *q, unsigned *ret_index, json_object *ret);

/*
 * Parses a x-query-virtio-queue-status return value and stores it in
 * s->queues[index]. -ERANGE when the index is VIRTIO_STATUS_MAX_QUEUES or
 * more, -EINVAL when the reply is malformed.
 */
int virtio_status_set_queue(VirtioStatus *s, json_object *queue_ret);
