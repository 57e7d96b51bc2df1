/* SPDX-License-Identifier: GPL-2.0-or-later */
/* One dump of the daemon's state, serving memtidectl and debug logs alike. */
#pragma once

#include <json-c/json.h>

#include "manager.h"

json_object *status_json(Manager *m);
json_object *guests_json(Manager *m);
json_object *guest_json(Manager *m, const Guest *g);
json_object *compat_json(const Guest *g, bool with_comparison);
json_object *explain_json(const Guest *g);
