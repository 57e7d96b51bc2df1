/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The operator's runtime overrides in force (memtidectl set/reset): saved to
 * the state directory before they take effect, loaded at start. */
#pragma once

#include "manager.h"
#include "overrides.h"

void runtime_overrides_load(Manager *m);
/* Merges patch into the guest's override; -errno when it cannot be saved. */
int runtime_override_set(Manager *m, const Override *patch);
/* -ENOENT when the guest has none. */
int runtime_override_reset(Manager *m, const char *guest);
