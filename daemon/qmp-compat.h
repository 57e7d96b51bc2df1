/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Live compatibility probing of a guest's balloon device over QMP
 * (x-query-virtio*), through whatever QMP route its backend offers. */
#pragma once

#include <stdint.h>

#include "guest.h"

/* Starts or continues the probe when it is due (every few seconds). */
void qmp_compat_refresh(Guest *g, uint64_t now_usec);
/* New stats: memory the guest freed feeds the page reporting window. */
void qmp_compat_note_stats(Guest *g);
