/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Plain-data view of QMP `query-memory-devices` for virtio-mem devices: a
 * pure parser of the reply's "return" member (borrowed); nothing here talks
 * to QEMU. Other memory devices (DIMMs, virtio-pmem, SGX EPC) are skipped.
 *
 * QEMU 7.2 reports per virtio-mem device (all sizes in bytes): "id" (absent
 * for a device without one), "memaddr", "node", "size" (what the guest has
 * plugged), "requested-size" (what the host asks for), "max-size" (the
 * memory backend's size) and "block-size".
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

/* QEMU's device ids are not bounded; longer ones are refused (-ENAMETOOLONG). */
#define VMEM_DEVICE_ID_MAX 64

typedef struct VmemDevice {
        char id[VMEM_DEVICE_ID_MAX]; /* "" when the device has none (not drivable by id) */
        uint64_t plugged_bytes;      /* "size" */
        uint64_t requested_bytes;    /* "requested-size" */
        uint64_t max_bytes;          /* "max-size" */
        uint64_t block_bytes;        /* "block-size" */
        int64_t node;                /* NUMA node, -1 when not reported */
} VmemDevice;

/*
 * Fills devs (at most max) with the virtio-mem devices of a query-memory-devices
 * reply, in QEMU's order; *n_total counts all of them, also those beyond max.
 * -EBADMSG when the reply is not an array or a virtio-mem entry lacks a size.
 */
int qmp_parse_virtio_mem(json_object *ret, VmemDevice *devs, size_t max, size_t *n_found,
                         size_t *n_total);
