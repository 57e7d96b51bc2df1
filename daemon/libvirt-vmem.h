/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * virtio-mem of libvirt guests (<memory model='virtio-mem'>): the devices a
 * GUEST_ADDED result brings (from the live XML), their plugged size as
 * libvirt's MEMORY_DEVICE_SIZE_CHANGE events report it, and a new requested
 * size through the worker (virDomainUpdateDeviceFlags). The driven device is
 * the first with an alias (guest_vmem_changed()); the split of a target
 * between it and the balloon is guest_apply_target()'s, as over QMP.
 */
#pragma once

#include <stdint.h>

#include "guest.h"
#include "libvirt-backend.h"

/* The guest's devices as of GUEST_ADDED. True when one can be driven. */
bool libvirt_vmem_guest_added(Guest *g, const LibvirtDomainVmem *v, uint64_t now_usec);

/* VMEM_SIZE: the device with this alias has plugged_bytes now. */
void libvirt_vmem_size_changed(Guest *g, const char *alias, uint64_t plugged_bytes,
                               uint64_t now_usec);

/* Every stats report: the stall check of the driven device needs a clock
 * even while its plugged size does not move. */
void libvirt_vmem_tick(Guest *g, uint64_t now_usec);

/* The actuator: the driven device's requested size. -ENODEV without one. */
int libvirt_vmem_request(LibvirtBackend *lb, Guest *g, uint64_t requested_bytes);

/* SET_VMEM: taken (the device's requested size is now that), or failed. */
void libvirt_vmem_set_done(Guest *g, const LibvirtResult *r, uint64_t now_usec);
