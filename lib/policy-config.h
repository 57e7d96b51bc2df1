/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Policy knobs: plain data filled by the config parser, read by policy/. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

typedef enum PolicyStrategy {
        POLICY_STRATEGY_ADAPTIVE,
        _POLICY_STRATEGY_MAX,
} PolicyStrategy;

/* A size given either in bytes or as a share of the guest's maximum memory. */
typedef struct SizeOrShare {
        uint64_t bytes;  /* used when share == 0 */
        double share;    /* 0 < share <= 1: fraction of the guest's maximum */
} SizeOrShare;

typedef struct PolicyConfig {
        PolicyStrategy strategy;
        /* Free memory a guest always keeps above its use: the floor's headroom
         * is the larger of the two. */
        uint64_t headroom_min_bytes;
        double headroom_share;
        /* The target headroom is this multiple of the floor headroom; a guest is
         * inflated only when it has more than twice that free (hysteresis). */
        double headroom_target_ratio;
        SizeOrShare inflate_step; /* largest shrink per cycle */
        SizeOrShare deflate_step; /* largest growth per cycle outside distress */
        /* On distress, give the guest its recent growth rate times this. */
        uint64_t growth_horizon_usec;
} PolicyConfig;

void policy_config_init(PolicyConfig *c);
const char *policy_strategy_to_string(PolicyStrategy s);
int policy_strategy_from_string(const char *s);
uint64_t size_or_share_bytes(const SizeOrShare *s, uint64_t max_bytes);
