/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "decision.h"
#include "model.h"
#include "policy-config.h"

/* Clamps d->target_bytes after any strategy, appends why to d->reason and
 * sets d->change. */
void guard_rails_apply(const PolicyConfig *config, const HostSample *host, const GuestSample *g,
                       Decision *d);
