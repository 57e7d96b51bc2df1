/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "fake-backend.h"

#include "manager.h"

static int start(Backend *b)
{
        return 0;
}

static int set_target(Guest *g, uint64_t target_bytes)
{
        guest_balloon_changed(g, target_bytes); /* arrives at once */
        return 0;
}

static const ActuatorOps fake_balloon = {
        .kind = ACTUATOR_BALLOON,
        .set_target = set_target,
};

const BackendOps fake_backend_ops = {
        .name = "fake",
        .start = start,
};

int fake_backend_add_guest(Manager *m, const char *key, uint64_t size_bytes, Guest **ret)
{
        Guest *g;
        int r = manager_add_guest(m, key, &g);

        if (r < 0)
                return r;
        r = guest_add_actuator(g, &fake_balloon);
        if (r < 0)
                return r;
        g->max_bytes = g->actual_bytes = size_bytes;
        manager_guest_ready(m, g, "fake balloon");
        *ret = g;
        return 0;
}
