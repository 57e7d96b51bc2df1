/* SPDX-License-Identifier: GPL-2.0-or-later */
/* memtidectl verbs about one guest and the daemon's config. */
#pragma once

#include "ctl.h"

#include <json-c/json.h>

/* show, set, reset, reload, explain; ends with an empty entry. */
extern const CtlVerb guest_verbs[];
