/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Entry point of the policy engine: cadence, strategy, then guard rails per guest. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "policy.h"
#include "units.h"

void decision_explain(Decision *d, const char *fmt, ...)
{
        va_list ap;

        if (d->quiet)
                return;
        va_start(ap, fmt);
        vsnprintf(d->reason, sizeof(d->reason), fmt, ap);
        va_end(ap);
}

/* MOM and Proxmox run on their own period (10 s); adaptive every cycle. */
static uint64_t strategy_period_usec(const PolicyConfig *config)
{
        switch (config->strategy) {
        case POLICY_STRATEGY_MOM:
                return config->mom.interval_usec;
        case POLICY_STRATEGY_PROXMOX:
                return config->proxmox.interval_usec;
        default:
                return 0;
        }
}

static bool strategy_due(const PolicyConfig *config, const Snapshot *snap, const PolicyState *state)
{
        uint64_t period = strategy_period_usec(config);

        if (period == 0 || !state->has_run || snap->now_usec < state->last_run_usec)
                return true;
        return snap->now_usec - state->last_run_usec >= period;
}

static void decision_init(const PolicyConfig *config, const GuestSample *g, bool quiet, Decision *d)
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
        decision_explain(d, "hold: %s proposes no change",
                         policy_strategy_to_string(config->strategy));
}

/* Between runs of a periodic strategy nothing is sent, not even by the guard rails. */
static void hold_until_due(const PolicyConfig *config, const Snapshot *snap, Decision *decisions)
{
        char period_s[32];

        snprintf(period_s, sizeof(period_s), "%.0fs", strategy_period_usec(config) / 1e6);
        for (size_t i = 0; i < snap->n_guests; i++) {
                Decision *d = &decisions[i];
                d->floor_bytes = guest_floor_bytes(config, &snap->host, &snap->guests[i]);
                decision_explain(d, "hold: %s runs every %s",
                                 policy_strategy_to_string(config->strategy), period_s);
        }
}

static void run_strategy(const PolicyConfig *config, const Snapshot *snap, PolicyState *state,
                         PolicyGuestState *states, Decision *decisions)
{
        switch (config->strategy) {
        case POLICY_STRATEGY_MOM:
                mom_propose(config, snap, state, states, decisions);
                break;
        case POLICY_STRATEGY_PROXMOX:
                proxmox_propose(config, snap, decisions);
                break;
        case POLICY_STRATEGY_ADAPTIVE:
        default:
                adaptive_propose(config, snap, states, decisions);
                break;
        }
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
}

void policy_decide(const PolicyConfig *config, const Snapshot *snapshot, PolicyState *state,
                   PolicyGuestState *states, Decision *decisions)
{
        for (size_t i = 0; i < snapshot->n_guests; i++)
                decision_init(config, &snapshot->guests[i], state->quiet, &decisions[i]);
        if (config->strategy == POLICY_STRATEGY_MOM)
                mom_collect(config, snapshot, state, states);
        if (!strategy_due(config, snapshot, state)) {
                hold_until_due(config, snapshot, decisions);
                return;
        }
        state->has_run = true;
        state->last_run_usec = snapshot->now_usec;
        run_strategy(config, snapshot, state, states, decisions);
        for (size_t i = 0; i < snapshot->n_guests; i++)
                finish_one(config, &snapshot->host, &snapshot->guests[i], &decisions[i]);
}

bool policy_wants_early_cycle(const PolicyConfig *config, const GuestSample *g,
                              const PolicyGuestState *state)
{
        uint64_t used, headroom_min;

        /* MOM and Proxmox keep their own period: only adaptive reacts early. */
        if (config->strategy != POLICY_STRATEGY_ADAPTIVE)
                return false;
        if (!g->manage || !guest_stats_usable(g))
                return false;
        used = guest_used_bytes(g);
        headroom_min = config->headroom_min_bytes;
        if (g->actual_bytes < used + headroom_min)
                return true;
        return state->has_prev && used > state->prev_used_bytes + headroom_min / 4;
}
