/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A guest's virtio-mem devices as memtidectl prints them (list, show, compat). */
#include "ctl-vmem.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>

#include "json-util.h"
#include "units.h"

#define MIB (UINT64_C(1) << 20)
#define GIB (UINT64_C(1) << 30)

/* Whole GiB or MiB as such, else units.h's one decimal. */
const char *ctl_format_size(char *buf, size_t size, uint64_t bytes)
{
        if (bytes >= GIB && bytes % GIB == 0)
                snprintf(buf, size, "%" PRIu64 " GiB", bytes / GIB);
        else if (bytes >= MIB && bytes % MIB == 0)
                snprintf(buf, size, "%" PRIu64 " MiB", bytes / MIB);
        else
                format_bytes(buf, size, bytes);
        return buf;
}

void ctl_print_vmem(json_object *guest, const char *indent)
{
        json_object *list = NULL;
        char p[32], r[32], m[32], b[32];

        if (!json_object_object_get_ex(guest, "virtio_mem", &list) ||
            !json_object_is_type(list, json_type_array))
                return;
        for (size_t i = 0; i < json_object_array_length(list); i++) {
                json_object *d = json_object_array_get_idx(list, i);
                uint64_t plugged = 0, requested = 0, max = 0, block = 0, node;
                bool driven = false, stalled = false;
                const char *id = "(no id)";

                (void)json_get_u64(d, "plugged_bytes", &plugged);
                (void)json_get_u64(d, "requested_bytes", &requested);
                (void)json_get_u64(d, "max_bytes", &max);
                (void)json_get_u64(d, "block_bytes", &block);
                (void)json_get_bool(d, "driven", &driven);
                (void)json_get_bool(d, "unplug_stalled", &stalled);
                (void)json_get_string(d, "id", &id);
                printf("%s%s: plugged %s, requested %s, max %s, block %s", indent,
                       id, ctl_format_size(p, sizeof(p), plugged),
                       ctl_format_size(r, sizeof(r), requested), ctl_format_size(m, sizeof(m), max),
                       ctl_format_size(b, sizeof(b), block));
                if (json_get_u64(d, "node", &node) == 0)
                        printf(", node %" PRIu64, node);
                printf("%s%s\n", driven ? "" : ", not driven (no id)",
                       stalled ? ", unplug stalled: the balloon takes the rest" : "");
        }
}

