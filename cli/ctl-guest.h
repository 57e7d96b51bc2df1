/* SPDX-License-Identifier: GPL-2.0-or-later */
/* memtidectl verbs about one guest and the daemon's config. */
#pragma once

#include "ctl.h"

#include <json-c/json.h>

/* One line per virtio-mem device of a guest's JSON ("virtio_mem"), each
 * starting with indent: "vmem0: plugged 512 MiB, requested 512 MiB, max
 * 1 GiB, block 2 MiB, node 0". Nothing without devices. */
void ctl_print_vmem(json_object *guest, const char *indent);

/* show, set, reset, reload, explain; ends with an empty entry. */
extern const CtlVerb guest_verbs[];
