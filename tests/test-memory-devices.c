/* SPDX-License-Identifier: GPL-2.0-or-later */
/* query-memory-devices replies (lib/qemu/memory-devices.c); the first is
 * QEMU 7.2's answer for the test guest with a DIMM added beside. */
#include <errno.h>
#include <string.h>

#include <json-c/json.h>

#include "memory-devices.h"
#include "model.h"
#include "test-util.h"

static const char qemu_7_2[] =
        "[{\"type\": \"dimm\", \"data\": {\"slot\": 0, \"node\": 0, \"addr\": 4294967296,"
        " \"memdev\": \"/objects/m1\", \"id\": \"dimm0\", \"hotpluggable\": true,"
        " \"hotplugged\": false, \"size\": 134217728}},"
        " {\"type\": \"virtio-mem\", \"data\": {\"memaddr\": 4429185024, \"node\": 0,"
        " \"requested-size\": 536870912, \"size\": 534773760, \"max-size\": 2147483648,"
        " \"block-size\": 2097152, \"memdev\": \"/objects/mem0\", \"id\": \"vmem0\"}},"
        " {\"type\": \"virtio-mem\", \"data\": {\"memaddr\": 6576668672, \"node\": 1,"
        " \"requested-size\": 0, \"size\": 0, \"max-size\": 1073741824,"
        " \"block-size\": 134217728, \"memdev\": \"/objects/mem1\"}}]";

static int parse(const char *text, VmemDevice *devs, size_t max, size_t *found, size_t *total)
{
        json_object *o = json_tokener_parse(text);
        int r = qmp_parse_virtio_mem(o, devs, max, found, total);
        json_object_put(o);
        return r;
}

static void test_virtio_mem_devices_are_read_and_others_skipped(void)
{
        VmemDevice d[4];
        size_t found, total;

        check_int(parse(qemu_7_2, d, 4, &found, &total), 0);
        check_u64(found, 2);
        check_u64(total, 2);
        check(strcmp(d[0].id, "vmem0") == 0);
        check_u64(d[0].plugged_bytes, 510 * MIB);
        check_u64(d[0].requested_bytes, 512 * MIB);
        check_u64(d[0].max_bytes, 2 * GIB);
        check_u64(d[0].block_bytes, 2 * MIB);
        check_int(d[0].node, 0);
        check(d[1].id[0] == '\0'); /* no id: shown, not driven */
        check_u64(d[1].block_bytes, 128 * MIB);
        check_int(d[1].node, 1);
}

static void test_more_devices_than_room_are_counted(void)
{
        VmemDevice d[1];
        size_t found, total;

        check_int(parse(qemu_7_2, d, 1, &found, &total), 0);
        check_u64(found, 1);
        check_u64(total, 2);
}

static void test_bad_replies_are_refused(void)
{
        VmemDevice d[2];
        size_t found, total;

        check_int(parse("{}", d, 2, &found, &total), -EBADMSG);
        check_int(parse("[{\"type\": \"virtio-mem\"}]", d, 2, &found, &total), -EBADMSG);
        check_int(parse("[{\"type\": \"virtio-mem\", \"data\": {\"size\": 0,"
                        " \"requested-size\": 0, \"max-size\": 0, \"block-size\": 0}}]",
                        d, 2, &found, &total),
                  -EBADMSG); /* a block size of 0 would divide by zero later */
        check_int(parse("[{\"type\": \"virtio-mem\", \"data\": {\"size\": -1,"
                        " \"requested-size\": 0, \"max-size\": 0, \"block-size\": 2}}]",
                        d, 2, &found, &total),
                  -EBADMSG);
        check_int(
                parse("[{\"type\": \"virtio-mem\", \"data\": {\"size\": 0, \"requested-size\":"
                      " 0, \"max-size\": 0, \"block-size\": 2, \"id\": "
                      "\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}}]",
                      d, 2, &found, &total),
                -ENAMETOOLONG);
        check_int(parse("[]", d, 2, &found, &total), 0);
        check_u64(total, 0);
}

int main(void)
{
        RUN(test_virtio_mem_devices_are_read_and_others_skipped);
        RUN(test_more_devices_than_room_are_counted);
        RUN(test_bad_replies_are_refused);
        return 0;
}
