/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A guest's virtio-mem devices as memtidectl prints them. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

/* Whole GiB or MiB as such ("512 MiB"), else one decimal ("511.9 MiB"). */
const char *ctl_format_size(char *buf, size_t size, uint64_t bytes);

/* One line per virtio-mem device of a guest's JSON ("virtio_mem"), each
 * starting with indent: "vmem0: plugged 512 MiB, requested 512 MiB, max
 * 1 GiB, block 2 MiB, node 0". Nothing without devices. */
void ctl_print_vmem(json_object *guest, const char *indent);
