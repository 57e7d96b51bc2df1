/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fuzz target: stats normalization, from QEMU's JSON to the numbers the
 * policy decides on. The input is one JSON document as QEMU (or a recorded
 * transcript) has it:
 *   - a guest-stats reply, {"return": {"stats": {...}, "last-update": N}},
 *     or its "return" value: lib/balloon-stats.c, then the accounting the
 *     policy does with it (policy/accounting.c);
 *   - a virtio transcript as in tests/fixtures/virtio (x-query-virtio,
 *     x-query-virtio-status, x-query-virtio-queue-status replies): the
 *     parsers in lib/qemu/virtio-status.c and the live inference in
 *     lib/compat/compat-live.c.
 * Every parser sees the whole document too, so a reply of one kind fed to
 * the parser of another must be refused cleanly.
 *
 * Invariants: no crash, leak or sanitizer report; a parsed stat is either
 * STAT_UNKNOWN or what the JSON said; a guest's floor never exceeds its
 * ceiling and its use never exceeds its size; the inference always gives a
 * reason.
 */
#include <string.h>

#include "balloon-stats.h"
#include "compat-implementations.h"
#include "compat-live.h"
#include "fuzz.h"
#include "model.h"
#include "policy.h"
#include "virtio-status.h"

static json_object *member(json_object *o, const char *key)
{
        json_object *v = NULL;

        if (!json_object_is_type(o, json_type_object))
                return NULL;
        (void)json_object_object_get_ex(o, key, &v);
        return v;
}

/* A reply's "return" member, or the value itself when it is not a reply. */
static json_object *reply_value(json_object *o)
{
        json_object *ret = member(o, "return");
        return ret ? ret : o;
}

static void check_accounting(const BalloonStats *stats, uint64_t max_bytes, uint64_t actual_bytes)
{
        PolicyConfig config;
        GuestSample g = {
                .name = "fuzz",
                .actual_bytes = actual_bytes,
                .max_bytes = max_bytes,
                .min_bytes = 256 * MIB,
                .stats = *stats,
                .stats_fresh = true,
                .manage = true,
                .shares = POLICY_SHARES_DEFAULT,
        };

        policy_config_init(&config);
        (void)guest_stats_usable(&g);
        uint64_t size = g.stats_actual_bytes ? g.stats_actual_bytes : g.actual_bytes;
        fuzz_check(guest_used_bytes(&g) <= size);
        HostSample host = {0};
        fuzz_check(guest_floor_bytes(&config, &host, &g) <= guest_ceiling_bytes(&g));
}

static void fuzz_guest_stats(json_object *doc)
{
        json_object *value = reply_value(doc);
        BalloonStats s;

        if (balloon_stats_from_qmp(&s, value) < 0)
                return;
        if (s.total_bytes != STAT_UNKNOWN) {
                json_object *total = member(member(value, "stats"), "stat-total-memory");
                fuzz_check(json_object_is_type(total, json_type_int));
                fuzz_check(json_object_get_uint64(total) == s.total_bytes);
        }
        /* Sizes from this machine's fixtures, and the extremes. */
        check_accounting(&s, 512 * MIB, 192 * MIB);
        check_accounting(&s, 512 * MIB, 0);
        check_accounting(&s, UINT64_MAX, UINT64_MAX);
        check_accounting(&s, s.total_bytes, s.available_bytes);
}

static void fuzz_virtio(json_object *doc)
{
        const CompatImplementation *qemu = compat_implementation_lookup("qemu");
        json_object *queues = member(doc, "x-query-virtio-queue-status");
        CompatInference inf;
        const char *path;
        VirtioStatus s;

        if (virtio_status_find_device(reply_value(member(doc, "x-query-virtio")), "virtio-balloon",
                                      &path) == 0)
                fuzz_check(path);
        (void)virtio_status_find_device(doc, "virtio-balloon", &path);

        if (virtio_status_from_qmp(&s, reply_value(member(doc, "x-query-virtio-status"))) < 0 &&
            virtio_status_from_qmp(&s, reply_value(doc)) < 0)
                return;
        fuzz_check((s.negotiated & ~VIRTIO_STATUS_DEVICE_FEATURES) == 0);
        fuzz_check((s.offered & ~VIRTIO_STATUS_DEVICE_FEATURES) == 0);
        /* json-c asserts on array calls with anything but an array. */
        if (!json_object_is_type(queues, json_type_array))
                queues = NULL;
        for (size_t i = 0; queues && i < json_object_array_length(queues); i++) {
                json_object *reply = json_object_array_get_idx(queues, i), *error;

                /* A recorded error ends the queue list; only answers are read. */
                error = member(reply, "error");
                if (!json_object_get_string(member(error, "desc")))
                        (void)virtio_status_set_queue(&s, reply_value(reply));
        }
        fuzz_check(qemu);
        fuzz_check(compat_infer(qemu, &s, &inf) == 0);
        fuzz_check(inf.reason[0] != '\0');
        fuzz_check(memchr(inf.reason, '\0', sizeof(inf.reason)));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        json_tokener *tok;
        json_object *doc;

        if (size > 256 * 1024)
                return 0;
        /* As the QMP client reads: strict JSON, QEMU's nesting is shallow. */
        tok = json_tokener_new_ex(64);
        fuzz_check(tok);
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
        doc = json_tokener_parse_ex(tok, (const char *)data, (int)size);
        if (doc && json_tokener_get_error(tok) == json_tokener_success) {
                fuzz_guest_stats(doc);
                fuzz_virtio(doc);
        }
        json_object_put(doc);
        json_tokener_free(tok);
        return 0;
}
