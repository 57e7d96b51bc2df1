/* SPDX-License-Identifier: GPL-2.0-or-later */
/* query-memory-devices -> VmemDevice (see memory-devices.h). */
#include "memory-devices.h"

#include <errno.h>
#include <string.h>

#include "json-util.h"

static int parse_one(json_object *data, VmemDevice *d)
{
        const char *id = NULL;
        uint64_t node;

        *d = (VmemDevice){ .node = -1 };
        if (json_get_u64(data, "size", &d->plugged_bytes) < 0 ||
            json_get_u64(data, "requested-size", &d->requested_bytes) < 0 ||
            json_get_u64(data, "max-size", &d->max_bytes) < 0 ||
            json_get_u64(data, "block-size", &d->block_bytes) < 0 || d->block_bytes == 0)
                return -EBADMSG;
        if (json_get_string(data, "id", &id) == 0) {
                if (strlen(id) >= sizeof(d->id))
                        return -ENAMETOOLONG;
                strcpy(d->id, id);
        }
        if (json_get_u64(data, "node", &node) == 0 && node < INT32_MAX)
                d->node = (int64_t)node;
        return 0;
}

int qmp_parse_virtio_mem(json_object *ret, VmemDevice *devs, size_t max, size_t *n_found,
                         size_t *n_total)
{
        size_t n, found = 0, total = 0;

        if (!json_object_is_type(ret, json_type_array))
                return -EBADMSG;
        n = json_object_array_length(ret);
        for (size_t i = 0; i < n; i++) {
                json_object *e = json_object_array_get_idx(ret, i), *data;
                const char *type = NULL;
                VmemDevice d;
                int r;

                if (json_get_string(e, "type", &type) < 0 || strcmp(type, "virtio-mem") != 0)
                        continue;
                if (!json_object_object_get_ex(e, "data", &data))
                        return -EBADMSG;
                r = parse_one(data, &d);
                if (r < 0)
                        return r;
                total++;
                if (found < max)
                        devs[found++] = d;
        }
        *n_found = found;
        *n_total = total;
        return 0;
}
