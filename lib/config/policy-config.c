/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "policy-config.h"

#include <errno.h>
#include <string.h>

#include "model.h"

static const char *const strategy_names[_POLICY_STRATEGY_MAX] = {
        [POLICY_STRATEGY_ADAPTIVE] = "adaptive",
        [POLICY_STRATEGY_MOM] = "mom",
        [POLICY_STRATEGY_PROXMOX] = "proxmox",
};

void policy_config_init(PolicyConfig *c)
{
        *c = (PolicyConfig){
                .strategy = POLICY_STRATEGY_ADAPTIVE,
                /* About two seconds of a 50 MiB/s allocation at the target headroom
                 * (x1.25): a stats period plus a cycle to see it and act, with
                 * margin for a loaded host. */
                .headroom_min_bytes = 96 * MIB,
                /* A share of the maximum only matters for large guests: 2 % of
                 * 32 GiB covers a second of allocation at 600 MiB/s. */
                .headroom_share = 0.02,
                .floor_narrowing = true,
                .headroom_target_ratio = 1.25,
                .inflate_step = {.share = 0.10},
                .deflate_step = {.share = 0.25},
                .growth_horizon_usec = 5 * USEC_PER_SEC,
                .peak_half_life_usec = 10 * 60 * USEC_PER_SEC,
                .volatility_factor = 3.0,
                .host_reserve = 0.05,
                .host_pressure_full = 0.05,
                .idle_tax = 0.75,
                .mom =
                        {
                                .interval_usec = 10 * USEC_PER_SEC,
                                .sample_interval_usec = 5 * USEC_PER_SEC,
                                .pressure_threshold = 0.20,
                                .pressure_critical = 0.05,
                                .min_guest_free = 0.20,
                                .max_change = 0.05,
                                .min_change = 0.0025,
                        },
                .proxmox =
                        {
                                .interval_usec = 10 * USEC_PER_SEC,
                                .target = 0.80,
                                .max_change_bytes = 100 * MIB,
                                .dead_band_bytes = 10 * MIB,
                        },
        };
}

const char *policy_strategy_to_string(PolicyStrategy s)
{
        return s < _POLICY_STRATEGY_MAX ? strategy_names[s] : NULL;
}

int policy_strategy_from_string(const char *s)
{
        for (int i = 0; i < _POLICY_STRATEGY_MAX; i++)
                if (strcmp(s, strategy_names[i]) == 0)
                        return i;
        return -EINVAL;
}

uint64_t size_or_share_bytes(const SizeOrShare *s, uint64_t max_bytes)
{
        if (s->share > 0)
                return (uint64_t)(s->share * (double)max_bytes);
        return s->bytes;
}
