/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "actuator.h"

#include <errno.h>

#include "guest.h"

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

int guest_apply_target(Guest *g, uint64_t target_bytes)
{
        const ActuatorOps *balloon = find_actuator(g, ACTUATOR_BALLOON);

        if (!balloon)
                return -ENODEV;
        return balloon->set_target(g, target_bytes);
}
