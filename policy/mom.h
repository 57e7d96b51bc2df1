/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The `mom` strategy's two steps (mom.c), declared apart for the tests. */
#pragma once

#include "decision.h"
#include "model.h"
#include "policy-config.h"
#include "policy-state.h"

/* MOM's collectors: sample host and guests every MomSampleInterval=, also
 * between runs of its rules. */
void mom_collect(const PolicyConfig *config, const Snapshot *snapshot, PolicyState *state,
                 PolicyGuestState *states);
/* MOM's balloon rules on the averaged samples. */
void mom_propose(const PolicyConfig *config, const Snapshot *snapshot, PolicyState *state,
                 PolicyGuestState *states, Decision *decisions);
