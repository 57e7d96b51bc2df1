/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Varlink framing: each message is one JSON object followed by a NUL byte.
 * A VarlinkBuffer collects bytes from a stream and hands out whole messages;
 * it refuses messages larger than its limit so a client cannot grow it.
 */
#pragma once

#include <stddef.h>

#include <json-c/json.h>

#define VARLINK_MAX_MESSAGE_BYTES (64u * 1024u)

typedef struct VarlinkBuffer {
        char *data;
        size_t len;
        size_t cap;
        size_t limit;
} VarlinkBuffer;

void varlink_buffer_init(VarlinkBuffer *b, size_t limit);
void varlink_buffer_clear(VarlinkBuffer *b);

/* Appends bytes; -EMSGSIZE when a message would exceed the limit. */
int varlink_buffer_append(VarlinkBuffer *b, const void *data, size_t n);

/*
 * Takes the next complete message out of the buffer: 1 and *ret set (caller
 * puts it), 0 when none is complete yet, -EBADMSG when it is not a JSON object.
 */
int varlink_buffer_next(VarlinkBuffer *b, json_object **ret);

/* Serialises o plus the NUL terminator into a new string; *ret_len includes the NUL. */
int varlink_serialize(json_object *o, char **ret, size_t *ret_len);

/* Builds {"method": method, "parameters": params (taken, may be NULL)}. */
json_object *varlink_call_new(const char *method, json_object *params);
/* Builds {"error": error, "parameters": params (taken, may be NULL)}. */
json_object *varlink_error_new(const char *error, json_object *params);
