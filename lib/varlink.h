/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Varlink framing: each message is one JSON object followed by a NUL byte.
 * A VarlinkBuffer takes bytes from a stream and hands out whole messages,
 * parsed as soon as their NUL arrives; only the message being received is
 * kept as bytes, and it may not grow past the limit, so a client cannot
 * grow the buffer beyond one message (plus the messages of the bytes handed
 * to one append, which the caller bounds by how much it reads at once).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#define VARLINK_MAX_MESSAGE_BYTES (64u * 1024u)

typedef struct VarlinkBuffer {
        char *data; /* the message being received: the bytes since the last NUL */
        size_t len;
        size_t cap;
        size_t limit;        /* bytes of one message, its NUL not counted */
        json_object **ready; /* complete messages not yet taken, from ready_first */
        size_t ready_first, n_ready, ready_cap;
        int error; /* what ended the stream, after the ready ones: -EMSGSIZE, -EBADMSG */
} VarlinkBuffer;

void varlink_buffer_init(VarlinkBuffer *b, size_t limit);
void varlink_buffer_clear(VarlinkBuffer *b);

/*
 * Takes bytes of the stream: each message completed is parsed. A message
 * over the limit, or not exactly one JSON object (whitespace aside), ends
 * the stream: next() reports it once the messages before it are taken, and
 * later bytes are ignored. Returns 0, or -ENOMEM.
 */
int varlink_buffer_append(VarlinkBuffer *b, const void *data, size_t n);

/*
 * Takes the next complete message out of the buffer: 1 and *ret set (caller
 * puts it), 0 when none is complete yet, -EMSGSIZE or -EBADMSG where the
 * stream went wrong.
 */
int varlink_buffer_next(VarlinkBuffer *b, json_object **ret);

/*
 * A string member (of a call's parameters) as C code can use it: -ENOENT
 * when absent or null, -EINVAL when not a string, not valid UTF-8 or holding
 * a NUL, at which C would cut it short ("a\u0000b" would read as "a").
 */
int varlink_get_string(json_object *obj, const char *key, const char **ret);

/* Valid UTF-8 and no NUL: text a JSON string can carry and C can use. */
bool varlink_text_valid(const char *s, size_t len);

/* Serialises o plus the NUL terminator into a new string; *ret_len includes the NUL. */
int varlink_serialize(json_object *o, char **ret, size_t *ret_len);

/* Builds {"method": method, "parameters": params (taken, may be NULL)}. */
json_object *varlink_call_new(const char *method, json_object *params);
/* Builds {"error": error, "parameters": params (taken, may be NULL)}. */
json_object *varlink_error_new(const char *error, json_object *params);
