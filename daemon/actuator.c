/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "actuator.h"

#include <errno.h>

#include "arrival.h"
#include "guest.h"
#include "vmem-plan.h"

int guest_add_actuator(Guest *g, const ActuatorOps *ops)
{
        for (size_t i = 0; i < g->n_actuators; i++)
                if (g->actuators[i] == ops)
                        return 0;
        if (g->n_actuators >= GUEST_MAX_ACTUATORS)
                return -E2BIG;
        g->actuators[g->n_actuators++] = ops;
        return 0;
}

static const ActuatorOps *find_actuator(const Guest *g, ActuatorKind kind)
{
        for (size_t i = 0; i < g->n_actuators; i++)
                if (g->actuators[i]->kind == kind)
                        return g->actuators[i];
        return NULL;
}

/* The split applies when the guest has a virtio-mem actuator and a device
 * it can drive; the plan's input is the guest as last seen. */
static bool plan_input(const Guest *g, uint64_t target_bytes, VmemPlanInput *ret)
{
        const VmemDevice *d = guest_vmem_driven(g);

        if (!d || !find_actuator(g, ACTUATOR_VIRTIO_MEM))
                return false;
        *ret = (VmemPlanInput){
                .target_bytes = target_bytes,
                .boot_bytes = g->max_bytes,
                .vmem_max_bytes = d->max_bytes,
                .block_bytes = d->block_bytes,
                .plugged_bytes = d->plugged_bytes,
                .requested_bytes = d->requested_bytes,
                .unplug_stalled = g->vmem.stalled,
                .has_balloon = find_actuator(g, ACTUATOR_BALLOON) != NULL,
        };
        return true;
}

static int send_balloon(Guest *g, const ActuatorOps *balloon, uint64_t balloon_bytes)
{
        other_controller_command_sent(&g->other_controller, g->actual_bytes, balloon_bytes);
        g->balloon_target_bytes = balloon_bytes;
        return balloon->set_target(g, balloon_bytes);
}

bool guest_has_actuator(const Guest *g, ActuatorKind kind)
{
        return find_actuator(g, kind) != NULL;
}

int guest_apply_target(Guest *g, uint64_t target_bytes)
{
        const ActuatorOps *balloon = find_actuator(g, ACTUATOR_BALLOON);
        const ActuatorOps *vmem = find_actuator(g, ACTUATOR_VIRTIO_MEM);
        VmemPlanInput in;
        VmemPlan plan;
        int r;

        if (!plan_input(g, target_bytes, &in)) {
                if (!balloon)
                        return -ENODEV;
                g->planned_total_bytes = target_bytes;
                return send_balloon(g, balloon, target_bytes);
        }
        vmem_plan(&in, &plan);
        g->vmem.balloon_covers_stall = plan.covers_stall;
        g->planned_total_bytes = plan.balloon_target_bytes +
                                 (plan.covers_stall ? in.plugged_bytes : plan.requested_bytes);
        if (plan.request_changed) {
                r = vmem->set_target(g, plan.requested_bytes);
                if (r < 0)
                        return r;
        }
        /* An unchanged balloon is left alone: a command would make its own
         * moves look like another controller's to nobody's benefit. */
        if (balloon && (plan.balloon_target_bytes != g->balloon_target_bytes ||
                        !balloon_arrived(g->actual_bytes, plan.balloon_target_bytes)))
                return send_balloon(g, balloon, plan.balloon_target_bytes);
        if (balloon) /* a balloon move other than to our last target is not ours */
                other_controller_command_sent(&g->other_controller, g->actual_bytes,
                                              g->balloon_target_bytes ? g->balloon_target_bytes
                                                                      : g->actual_bytes);
        return 0;
}

bool guest_follow_plan(Guest *g)
{
        const ActuatorOps *balloon = find_actuator(g, ACTUATOR_BALLOON);
        VmemPlanInput in;
        VmemPlan plan;

        if (!balloon || !g->pending_target_bytes || !plan_input(g, g->pending_target_bytes, &in) ||
            (!in.unplug_stalled && !g->vmem.balloon_covers_stall))
                return false;
        vmem_plan(&in, &plan);
        if (balloon_arrived(plan.balloon_target_bytes, g->balloon_target_bytes))
                return false;
        return guest_apply_target(g, g->pending_target_bytes) >= 0;
}

void guest_describe_target(const Guest *g, uint64_t target_bytes, char *buf, size_t size)
{
        VmemPlanInput in;
        VmemPlan plan;

        if (size == 0)
                return;
        buf[0] = '\0';
        if (!plan_input(g, target_bytes, &in))
                return;
        vmem_plan(&in, &plan);
        vmem_plan_describe(&in, &plan, buf, size);
}
