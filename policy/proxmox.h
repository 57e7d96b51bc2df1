/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The `proxmox` strategy's steps (proxmox.c), declared apart for the tests. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "decision.h"
#include "model.h"
#include "policy-config.h"

void proxmox_propose(const PolicyConfig *config, const Snapshot *snapshot, Decision *decisions);

/* Proxmox's distribute step. ids index snapshot guests; targets holds this
 * run's choices (start: actual). Returns what is left of bytes. */
int64_t proxmox_distribute(const PolicyConfig *config, const Snapshot *snapshot, const size_t *ids,
                           size_t n_ids, int64_t bytes, uint64_t *targets);
