/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The policy engine: a pure function from a snapshot, the config and the
 * policy's own state to one decision per guest. No I/O, no clock: the
 * daemon, the tests and the simulator (sim/) run the same code.
 */
#pragma once

#include <stdbool.h>

#include "accounting.h"
#include "decision.h"
#include "model.h"
#include "policy-config.h"
#include "policy-state.h"

/* Runs the configured strategy and the guard rails for every guest. */
void policy_decide(const PolicyConfig *config, const Snapshot *snapshot, PolicyState *state,
                   PolicyGuestState *states, Decision *decisions);

/* True when fresh stats show a guest short of memory or its use jumping:
 * the daemon then runs the cycle at once instead of waiting for the timer.
 * Only strategies that react between periods (adaptive) ever say so, and
 * never for a guest at its maximum (or with a deflation to it on its way):
 * there is nothing more to give it. */
bool policy_wants_early_cycle(const PolicyConfig *config, const GuestSample *g,
                              const PolicyGuestState *state);
