/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What moves a guest's memory: its balloon (over QMP, or through libvirt),
 * and later virtio-mem. A backend attaches a guest's actuators when it sets
 * the guest up; the manager hands the policy's target to
 * guest_apply_target() and never knows which device or backend carries it.
 *
 * Adding an actuator: one file that fills an ActuatorOps, attached by the
 * backends that can drive it; the split of a target between several is the
 * one place to teach (guest_apply_target()).
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

typedef struct Guest Guest;

typedef enum ActuatorKind {
        ACTUATOR_BALLOON,
} ActuatorKind;

typedef struct ActuatorOps {
        ActuatorKind kind;
        /* Asks the device to bring the guest to target_bytes. Returns once the
         * request is sent (its arrival is seen later, guest_balloon_changed());
         * a failure that comes back later clears g->command_pending. */
        int (*set_target)(Guest *g, uint64_t target_bytes);
} ActuatorOps;

#define GUEST_MAX_ACTUATORS 2

/* Attaches an actuator to the guest (idempotent). -E2BIG when full. */
int guest_add_actuator(Guest *g, const ActuatorOps *ops);

/* Sends the guest to target_bytes through its actuators: today the balloon
 * takes the whole target. -ENODEV when the guest has no actuator for it. */
int guest_apply_target(Guest *g, uint64_t target_bytes);
