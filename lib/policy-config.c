/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "policy-config.h"

#include <errno.h>
#include <string.h>

#include "model.h"

static const char *const strategy_names[_POLICY_STRATEGY_MAX] = {
        [POLICY_STRATEGY_ADAPTIVE] = "adaptive",
};

void policy_config_init(PolicyConfig *c)
{
        *c = (PolicyConfig){
                .strategy = POLICY_STRATEGY_ADAPTIVE,
                .headroom_min_bytes = 48 * MIB,
                .headroom_share = 0.10,
                .headroom_target_ratio = 1.25,
                .inflate_step = { .share = 0.10 },
                .deflate_step = { .share = 0.25 },
                .growth_horizon_usec = 5 * USEC_PER_SEC,
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
