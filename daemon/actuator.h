/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What moves a guest's memory: its balloon (over QMP, or through libvirt)
 * and its virtio-mem device (over QMP). A backend attaches a guest's
 * actuators when it sets the guest up; the manager hands the policy's target
 * (the guest's total) to guest_apply_target(), which splits it between them
 * (vmem_plan()), and never knows which device or backend carries it.
 *
 * Adding an actuator: one file that fills an ActuatorOps, attached by the
 * backends that can drive it; the split of a target between several is the
 * one place to teach (guest_apply_target()).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct Guest Guest;

typedef enum ActuatorKind {
        ACTUATOR_BALLOON,
        ACTUATOR_VIRTIO_MEM,
} ActuatorKind;

typedef struct ActuatorOps {
        ActuatorKind kind;
        /* Asks the device for its share of the guest's memory: the balloon's
         * size, or the driven virtio-mem device's requested size. Returns once
         * the request is sent (its arrival is seen later,
         * guest_balloon_changed(), guest_vmem_changed()); a failure that comes
         * back later clears g->command_pending. */
        int (*set_target)(Guest *g, uint64_t target_bytes);
} ActuatorOps;

#define GUEST_MAX_ACTUATORS 2

/* True when the guest has an actuator of that kind (a balloon, virtio-mem). */
bool guest_has_actuator(const Guest *g, ActuatorKind kind);

/* Attaches an actuator to the guest (idempotent). -E2BIG when full. */
int guest_add_actuator(Guest *g, const ActuatorOps *ops);

/* Sends the guest to target_bytes (its total) through its actuators: with a
 * driven virtio-mem device split by vmem_plan() (virtio-mem above boot
 * memory, the balloon below it and for what a stalled unplug keeps), else
 * the balloon takes it all. -ENODEV when the guest has no actuator for it. */
int guest_apply_target(Guest *g, uint64_t target_bytes);

/* Between the policy's changes: an unplug found stalled after the target
 * was sent has the balloon take what the device keeps, and when it ends the
 * balloon gives it back; the same target, split anew. True when sent. */
bool guest_follow_plan(Guest *g);

/* How guest_apply_target() would split target_bytes, for the decision's
 * reason ("split: balloon 480.0 MiB + virtio-mem 512.0 MiB"); "" for a
 * guest without virtio-mem. */
void guest_describe_target(const Guest *g, uint64_t target_bytes, char *buf, size_t size);
