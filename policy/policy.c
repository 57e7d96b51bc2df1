/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Entry point of the policy engine: strategy, then guard rails, per guest. */
#include <stdio.h>
#include <string.h>

#include "policy.h"

static void decide_one(const PolicyConfig *config, const GuestSample *g, PolicyGuestState *state,
                       Decision *d)
{
        *d = (Decision){ .target_bytes = g->actual_bytes };
        if (!g->manage) {
                snprintf(d->reason, sizeof(d->reason), "hold: not managed (Manage=no)");
                d->floor_bytes = guest_floor_bytes(config, g);
                return;
        }
        if (balloon_stats_reported(&g->stats)) {
                switch (config->strategy) {
                case POLICY_STRATEGY_ADAPTIVE:
                default:
                        adaptive_propose(config, g, state, d);
                        break;
                }
        } else
                snprintf(d->reason, sizeof(d->reason), "hold: no stats reported yet");
        guard_rails_apply(config, g, d);
}

void policy_decide(const PolicyConfig *config, const Snapshot *snapshot, PolicyGuestState *states,
                   Decision *decisions)
{
        for (size_t i = 0; i < snapshot->n_guests; i++)
                decide_one(config, &snapshot->guests[i], &states[i], &decisions[i]);
}

bool policy_wants_early_cycle(const PolicyConfig *config, const GuestSample *g,
                              const PolicyGuestState *state)
{
        uint64_t used, headroom_min;

        if (!g->manage || !guest_stats_usable(g))
                return false;
        used = guest_used_bytes(g);
        headroom_min = guest_headroom_min_bytes(config, g);
        if (g->actual_bytes < used + headroom_min)
                return true;
        return state->has_prev && used > state->prev_used_bytes + headroom_min / 4;
}
