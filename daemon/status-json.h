/* SPDX-License-Identifier: GPL-2.0-or-later */
/* One dump of the daemon's state, serving memtidectl and debug logs alike. */
#pragma once

#include <json-c/json.h>

#include "manager.h"

json_object *status_json(Manager *m);
/* The managed guests; all: also those known and not managed (disconnected,
 * no balloon), with why. */
json_object *guests_json(Manager *m, bool all);
json_object *guest_json(Manager *m, const Guest *g);
json_object *compat_json(const Guest *g, bool with_comparison);
/* The guest's virtio-mem devices as last seen; NULL (JSON null) without any. */
json_object *vmem_json(const Guest *g);
/* since: also the changes of target from then on (seconds since the epoch);
 * EXPLAIN_NO_CHANGES for the last decisions only. */
#define EXPLAIN_NO_CHANGES UINT64_MAX
json_object *explain_json(const Guest *g, uint64_t since);
