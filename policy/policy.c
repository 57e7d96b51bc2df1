/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Entry point of the policy engine: cadence, strategy, then guard rails per guest. */
#include "policy.h"

#include <stdio.h>

#include "guard-rails.h"
#include "units.h"
#include "strategy.h"

static const Strategy *const strategies[_POLICY_STRATEGY_MAX] = {
        [POLICY_STRATEGY_ADAPTIVE] = &adaptive_strategy,
        [POLICY_STRATEGY_MOM] = &mom_strategy,
        [POLICY_STRATEGY_PROXMOX] = &proxmox_strategy,
};

/* The config parser gives only known strategies; anything else runs the default. */
static const Strategy *strategy_of(const PolicyConfig *config)
{
        unsigned s = (unsigned)config->strategy;

        return s < _POLICY_STRATEGY_MAX && strategies[s] ? strategies[s] : &adaptive_strategy;
}

static uint64_t period_usec(const Strategy *s, const PolicyConfig *config)
{
        return s->period_usec ? s->period_usec(config) : 0;
}

static bool strategy_due(const Strategy *s, const PolicyConfig *config, const Snapshot *snap,
                         const PolicyState *state)
{
        uint64_t period = period_usec(s, config);

        if (period == 0 || !state->has_run || snap->now_usec < state->last_run_usec)
                return true;
        return snap->now_usec - state->last_run_usec >= period;
}

static void decision_init(const Strategy *s, const GuestSample *g, bool quiet, Decision *d)
{
        /* Field by field: zeroing the reason buffer of every guest every
         * cycle is most of the simulator's time. */
        d->target_bytes = g->actual_bytes;
        d->floor_bytes = 0;
        d->used_bytes = balloon_stats_reported(&g->stats) ? guest_used_bytes(g) : 0;
        d->change = false;
        d->distress = false;
        d->quiet = quiet;
        d->reason[0] = '\0';
        decision_explain(d, "hold: %s proposes no change", s->name);
}

/* Between runs of a periodic strategy nothing is sent, not even by the guard rails. */
static void hold_until_due(const Strategy *s, const PolicyConfig *config, const Snapshot *snap,
                           Decision *decisions)
{
        char period_s[32];

        snprintf(period_s, sizeof(period_s), "%.0fs", period_usec(s, config) / 1e6);
        for (size_t i = 0; i < snap->n_guests; i++) {
                Decision *d = &decisions[i];
                d->floor_bytes = guest_floor_bytes(config, &snap->host, &snap->guests[i]);
                decision_explain(d, "hold: %s runs every %s", s->name, period_s);
        }
}

/* Another controller set the balloon: memtided stands back, except to rescue
 * a guest it left short of memory (the guard rails' distress deflation). */
static void stand_back(const PolicyConfig *config, const HostSample *host, const GuestSample *g,
                       Decision *d)
{
        char moved_s[32];

        if (d->distress && d->change && d->target_bytes > g->actual_bytes)
                return;
        d->target_bytes = g->actual_bytes;
        d->change = false;
        decision_explain(d,
                         "hold: another controller set the balloon to %s; memtided stands back "
                         "(OtherControllerHold=)",
                         format_bytes(moved_s, sizeof(moved_s), g->other_controller_bytes));
}

static void finish_one(const PolicyConfig *config, const HostSample *host, const GuestSample *g,
                       Decision *d)
{
        if (!g->manage) {
                d->target_bytes = g->actual_bytes;
                d->floor_bytes = guest_floor_bytes(config, host, g);
                decision_explain(d, "hold: not managed (Manage=no)");
                return;
        }
        if (!balloon_stats_reported(&g->stats)) {
                d->target_bytes = g->actual_bytes;
                decision_explain(d, "hold: no stats reported yet");
        }
        guard_rails_apply(config, host, g, d);
        if (g->other_controller_bytes)
                stand_back(config, host, g, d);
}

void policy_decide(const PolicyConfig *config, const Snapshot *snapshot, PolicyState *state,
                   PolicyGuestState *states, Decision *decisions)
{
        const Strategy *s = strategy_of(config);

        for (size_t i = 0; i < snapshot->n_guests; i++)
                decision_init(s, &snapshot->guests[i], state->quiet, &decisions[i]);
        if (s->collect)
                s->collect(config, snapshot, state, states);
        if (!strategy_due(s, config, snapshot, state)) {
                hold_until_due(s, config, snapshot, decisions);
                return;
        }
        state->has_run = true;
        state->last_run_usec = snapshot->now_usec;
        s->propose(config, snapshot, state, states, decisions);
        for (size_t i = 0; i < snapshot->n_guests; i++)
                finish_one(config, &snapshot->host, &snapshot->guests[i], &decisions[i]);
}

/* At the most the guard rails give, or with a deflation to it on its way: a
 * cycle now could give the guest nothing, however short it reports itself. */
static bool nothing_more_to_give(const PolicyConfig *config, const GuestSample *g)
{
        uint64_t heading = g->command_pending ? g->pending_target_bytes : g->actual_bytes;

        return heading >= guest_top_bytes(config, g);
}

bool policy_wants_early_cycle(const PolicyConfig *config, const GuestSample *g,
                              const PolicyGuestState *state)
{
        const Strategy *s = strategy_of(config);

        return s->wants_early_cycle && !nothing_more_to_give(config, g) &&
               s->wants_early_cycle(config, g, state);
}
