/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * memtidectl pause / resume: the whole host observed at run time (the policy
 * runs and records what it would send; nothing is sent). Kept in the state
 * directory, saved before it takes effect, like the overrides, so that a
 * restart or a crash does not quietly resume managing.
 */
#pragma once

#include <stdbool.h>

#include "manager.h"

/* Reads STATE/paused at start; an unreadable file counts as paused (the
 * safe side) and is logged. */
void host_pause_load(Manager *m);
/* -errno when the change cannot be saved (then nothing changes). */
int host_pause_set(Manager *m, bool paused);
