/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "varlink.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void varlink_buffer_init(VarlinkBuffer *b, size_t limit)
{
        *b = (VarlinkBuffer){ .limit = limit };
}

void varlink_buffer_clear(VarlinkBuffer *b)
{
        free(b->data);
        *b = (VarlinkBuffer){ .limit = b->limit };
}

int varlink_buffer_append(VarlinkBuffer *b, const void *data, size_t n)
{
        /* Unread bytes never exceed one largest message plus its NUL. */
        if (b->len + n > b->limit + 1)
                return -EMSGSIZE;
        if (b->len + n + 1 > b->cap) {
                size_t cap = (b->len + n + 1) * 2;
                char *d = realloc(b->data, cap);
                if (!d)
                        return -ENOMEM;
                b->data = d;
                b->cap = cap;
        }
        memcpy(b->data + b->len, data, n);
        b->len += n;
        return 0;
}

int varlink_buffer_next(VarlinkBuffer *b, json_object **ret)
{
        char *nul = b->len ? memchr(b->data, '\0', b->len) : NULL;
        size_t msg_len;
        json_object *o;

        if (!nul)
                return b->len > b->limit ? -EMSGSIZE : 0;
        msg_len = (size_t)(nul - b->data);
        if (msg_len > b->limit)
                return -EMSGSIZE;
        o = json_tokener_parse(b->data);
        memmove(b->data, nul + 1, b->len - msg_len - 1);
        b->len -= msg_len + 1;
        if (!o || !json_object_is_type(o, json_type_object)) {
                json_object_put(o);
                return -EBADMSG;
        }
        *ret = o;
        return 1;
}

int varlink_serialize(json_object *o, char **ret, size_t *ret_len)
{
        const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
        size_t n = strlen(s);
        char *copy = malloc(n + 1);

        if (!copy)
                return -ENOMEM;
        memcpy(copy, s, n + 1); /* the terminating NUL is the varlink delimiter */
        *ret = copy;
        *ret_len = n + 1;
        return 0;
}

json_object *varlink_call_new(const char *method, json_object *params)
{
        json_object *o = json_object_new_object();
        json_object_object_add(o, "method", json_object_new_string(method));
        json_object_object_add(o, "parameters", params ? params : json_object_new_object());
        return o;
}

json_object *varlink_error_new(const char *error, json_object *params)
{
        json_object *o = json_object_new_object();
        json_object_object_add(o, "error", json_object_new_string(error));
        json_object_object_add(o, "parameters", params ? params : json_object_new_object());
        return o;
}
