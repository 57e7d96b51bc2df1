/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "varlink.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json-util.h"

void varlink_buffer_init(VarlinkBuffer *b, size_t limit)
{
        *b = (VarlinkBuffer){ .limit = limit };
}

void varlink_buffer_clear(VarlinkBuffer *b)
{
        for (size_t i = b->ready_first; i < b->n_ready; i++)
                json_object_put(b->ready[i]);
        free(b->ready);
        free(b->data);
        *b = (VarlinkBuffer){ .limit = b->limit };
}

/* Whitespace as JSON has it, which may follow the object. */
static bool only_whitespace(const char *p, const char *end)
{
        for (; p < end; p++)
                if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
                        return false;
        return true;
}

/* One JSON object and nothing after it but whitespace; else NULL. */
static json_object *parse_message(const char *text, size_t len)
{
        json_tokener *tok;
        json_object *o;

        if (len > INT_MAX)
                return NULL;
        tok = json_tokener_new();
        if (!tok)
                return NULL;
        o = json_tokener_parse_ex(tok, text, (int)len);
        if (o && (json_tokener_get_error(tok) != json_tokener_success ||
                  !json_object_is_type(o, json_type_object) ||
                  !only_whitespace(text + json_tokener_get_parse_end(tok), text + len))) {
                json_object_put(o);
                o = NULL;
        }
        json_tokener_free(tok);
        return o;
}

/* The stream ends here: what follows is not kept. */
static void end_stream(VarlinkBuffer *b, int error)
{
        b->error = error;
        free(b->data);
        b->data = NULL;
        b->len = b->cap = 0;
}

static int push_ready(VarlinkBuffer *b, json_object *o)
{
        if (b->n_ready == b->ready_cap) {
                size_t cap = b->ready_cap ? 2 * b->ready_cap : 8;
                json_object **r = reallocarray(b->ready, cap, sizeof(*r));
                if (!r) {
                        json_object_put(o);
                        return -ENOMEM;
                }
                b->ready = r;
                b->ready_cap = cap;
        }
        b->ready[b->n_ready++] = o;
        return 0;
}

/* The message in data is complete (its NUL arrived): parsed, or the stream ends. */
static int take_message(VarlinkBuffer *b)
{
        json_object *o = parse_message(b->data ? b->data : "", b->len);

        b->len = 0;
        if (!o) {
                end_stream(b, -EBADMSG);
                return 0;
        }
        return push_ready(b, o);
}

static int append_bytes(VarlinkBuffer *b, const char *data, size_t n)
{
        if (n == 0)
                return 0; /* nothing to copy, and b->data may not exist yet */
        if (b->len + n > b->cap) {
                size_t cap = (b->len + n) * 2;
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

int varlink_buffer_append(VarlinkBuffer *b, const void *data, size_t n)
{
        const char *p = data, *end = p + n;
        int r;

        while (p < end && b->error == 0) {
                const char *nul = memchr(p, '\0', (size_t)(end - p));
                size_t part = (size_t)((nul ? nul : end) - p);

                /* The limit is the message's: bytes of earlier ones do not count. */
                if (b->len + part > b->limit) {
                        end_stream(b, -EMSGSIZE);
                        break;
                }
                r = append_bytes(b, p, part);
                if (r >= 0 && nul)
                        r = take_message(b);
                if (r < 0)
                        return r;
                if (!nul)
                        break;
                p = nul + 1;
        }
        return 0;
}

int varlink_buffer_next(VarlinkBuffer *b, json_object **ret)
{
        if (b->ready_first == b->n_ready)
                return b->error;
        *ret = b->ready[b->ready_first++];
        if (b->ready_first == b->n_ready)
                b->ready_first = b->n_ready = 0;
        return 1;
}

/* Well-formed UTF-8: no stray continuation bytes, overlong forms, surrogates or code points past
 * U+10FFFF. */
static bool utf8_valid(const char *s, size_t len)
{
        const unsigned char *p = (const unsigned char *)s, *end = p + len;

        while (p < end) {
                uint32_t cp, min;
                size_t more;

                if (*p < 0x80) {
                        p++;
                        continue;
                }
                if ((*p & 0xe0) == 0xc0)
                        more = 1, cp = *p & 0x1f, min = 0x80;
                else if ((*p & 0xf0) == 0xe0)
                        more = 2, cp = *p & 0x0f, min = 0x800;
                else if ((*p & 0xf8) == 0xf0)
                        more = 3, cp = *p & 0x07, min = 0x10000;
                else
                        return false;
                if ((size_t)(end - p) <= more)
                        return false;
                for (size_t i = 1; i <= more; i++) {
                        if ((p[i] & 0xc0) != 0x80)
                                return false;
                        cp = cp << 6 | (p[i] & 0x3f);
                }
                if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
                        return false;
                p += more + 1;
        }
        return true;
}

bool varlink_text_valid(const char *s, size_t len)
{
        return strlen(s) == len && utf8_valid(s, len);
}

int varlink_get_string(json_object *obj, const char *key, const char **ret)
{
        json_object *v = NULL;
        const char *s;
        int r = json_get_string(obj, key, &s);

        if (r < 0)
                return r;
        (void)json_object_object_get_ex(obj, key, &v);
        size_t len = (size_t)json_object_get_string_len(v);
        if (!varlink_text_valid(s, len))
                return -EINVAL;
        *ret = s;
        return 0;
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
