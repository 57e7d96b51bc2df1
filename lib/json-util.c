/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Typed member reads on json-c objects; see json-util.h. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json-util.h"

/* The member's value, or -ENOENT when it is missing or null. */
static int json_member(json_object *obj, const char *key, json_object **ret)
{
        json_object *v = NULL;

        if (!obj || !json_object_is_type(obj, json_type_object))
                return -EINVAL;
        if (!json_object_object_get_ex(obj, key, &v) || !v)
                return -ENOENT;
        *ret = v;
        return 0;
}

int json_to_u64(json_object *value, uint64_t *ret)
{
        /* Doubles are refused even when integral: QEMU never sends them for
         * sizes or counters, and 1e30 would otherwise clamp silently. */
        if (!json_object_is_type(value, json_type_int))
                return -EINVAL;
        /* json-c keeps numbers above INT64_MAX as uint64 internally; get_int64
         * then saturates to INT64_MAX, so a negative result is truly negative. */
        if (json_object_get_int64(value) < 0)
                return -EINVAL;
        *ret = json_object_get_uint64(value);
        return 0;
}

int json_get_u64(json_object *obj, const char *key, uint64_t *ret)
{
        json_object *v;
        int r;

        r = json_member(obj, key, &v);
        if (r < 0)
                return r;
        return json_to_u64(v, ret);
}

int json_get_string(json_object *obj, const char *key, const char **ret)
{
        json_object *v;
        int r;

        r = json_member(obj, key, &v);
        if (r < 0)
                return r;
        if (!json_object_is_type(v, json_type_string))
                return -EINVAL;
        *ret = json_object_get_string(v);
        return 0;
}

int json_get_bool(json_object *obj, const char *key, bool *ret)
{
        json_object *v;
        int r;

        r = json_member(obj, key, &v);
        if (r < 0)
                return r;
        if (!json_object_is_type(v, json_type_boolean))
                return -EINVAL;
        *ret = json_object_get_boolean(v);
        return 0;
}

json_object *json_new_double_rounded(double value, unsigned decimals)
{
        char buf[64];
        int n;

        if (!isfinite(value))
                return NULL;
        n = snprintf(buf, sizeof(buf), "%.*f", (int)decimals, value);
        if (n <= 0 || (size_t)n >= sizeof(buf))
                return json_object_new_double(value);
        if (strchr(buf, '.')) {
                while (buf[n - 1] == '0' && buf[n - 2] != '.')
                        buf[--n] = '\0';
        }
        if (strcmp(buf, "-0.0") == 0)
                strcpy(buf, "0.0");
        /* The value kept is the one written, so readers of the object agree with its text. */
        return json_object_new_double_s(strtod(buf, NULL), buf);
}

json_object *json_new_seconds(uint64_t usec)
{
        return json_new_double_rounded((double)usec / 1e6, 6);
}
