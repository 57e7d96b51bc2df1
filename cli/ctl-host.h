/* SPDX-License-Identifier: GPL-2.0-or-later */
/* memtidectl verbs about the whole host's management: pause, resume, log-level. */
#pragma once

#include "ctl.h"

extern const CtlVerb host_verbs[]; /* ends with an empty row */
