/* SPDX-License-Identifier: GPL-2.0-or-later */
/* memtided's KSM tuning step, run on its own interval. */
#pragma once

#include "manager.h"

void ksm_control_run(Manager *m);
