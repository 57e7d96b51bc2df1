/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fuzz target: the varlink request path of the control socket (lib/varlink.c
 * framing plus what daemon/control.c does with each request). The input is
 * what a client writes to the socket; it is appended in chunks as reads
 * would deliver it, and every complete message is taken out, its method
 * read and a reply serialized, until the buffer refuses the stream
 * (oversized or malformed), which the daemon answers by closing.
 *
 * Input: one control byte, then the stream.
 *   bits 0-2  chunk size (1, 2, 3, 7, 16, 64, 512, 4096: a read's buffer)
 *   bits 3-4  message size limit: 64 KiB (the daemon's), 4096, 256 or 16
 *             bytes, so the limit is reachable with small inputs
 *
 * Invariants: no crash, leak or sanitizer report; the buffer never holds
 * more than limit + 1 bytes (varlink.h: a client cannot grow it); a
 * message handed out is a JSON object; every reply ends in one NUL.
 */
#include <errno.h>
#include <string.h>

#include "cleanup.h"
#include "fuzz.h"
#include "json-util.h"
#include "varlink.h"

static const size_t chunk_sizes[8] = { 1, 2, 3, 7, 16, 64, 512, 4096 };
static const size_t limits[4] = { VARLINK_MAX_MESSAGE_BYTES, 4096, 256, 16 };

static void reply_to(json_object *call)
{
        _cleanup_free_ char *out = NULL;
        json_object *reply, *params = NULL;
        const char *method;
        size_t len;

        fuzz_check(json_object_is_type(call, json_type_object));
        /* As daemon/control.c dispatch(): a call without a string method is
         * an InvalidParameter error, any other unknown method echoes it. */
        if (json_get_string(call, "method", &method) < 0)
                reply = varlink_error_new("org.varlink.service.InvalidParameter", NULL);
        else {
                params = json_object_new_object();
                json_object_object_add(params, "method", json_object_new_string(method));
                reply = varlink_error_new("org.varlink.service.MethodNotFound", params);
        }
        fuzz_check(reply);
        fuzz_check(varlink_serialize(reply, &out, &len) == 0);
        fuzz_check(len >= 1 && out[len - 1] == '\0' && strlen(out) == len - 1);
        json_object_put(reply);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        VarlinkBuffer b;
        size_t chunk, limit, off = 0;
        int r = 0;

        if (size < 1)
                return 0;
        chunk = chunk_sizes[data[0] & 7];
        limit = limits[(data[0] >> 3) & 3];
        data++, size--;

        varlink_buffer_init(&b, limit);
        while (off < size && r >= 0) {
                size_t n = size - off < chunk ? size - off : chunk;
                json_object *call;

                r = varlink_buffer_append(&b, data + off, n);
                off += n;
                fuzz_check(b.len <= b.limit + 1);
                while (r >= 0 && (r = varlink_buffer_next(&b, &call)) > 0) {
                        reply_to(call);
                        json_object_put(call);
                }
                fuzz_check(r == 0 || r == -EMSGSIZE || r == -EBADMSG);
        }
        varlink_buffer_clear(&b);
        return 0;
}
