/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "overrides.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cleanup.h"
#include "fileio.h"
#include "json-util.h"

void overrides_clear(Overrides *o)
{
        for (size_t i = 0; i < o->n; i++)
                free(o->items[i].guest);
        free(o->items);
        *o = (Overrides){ 0 };
}

const Override *overrides_find(const Overrides *o, const char *name, const char *uuid)
{
        for (size_t i = 0; i < o->n; i++) {
                const char *g = o->items[i].guest;
                if ((name && strcmp(g, name) == 0) || (uuid && strcasecmp(g, uuid) == 0))
                        return &o->items[i];
        }
        return NULL;
}

void overrides_apply(const Overrides *o, const char *name, const char *uuid, GuestSettings *s)
{
        const Override *ov = overrides_find(o, name, uuid);
        if (!ov)
                return;
        if (ov->min_set)
                s->min_bytes = ov->min_bytes;
        if (ov->max_set)
                s->max_bytes = ov->max_bytes;
        if (ov->manage_set)
                s->manage = ov->manage;
        if (ov->shares_set)
                s->shares = ov->shares;
}

int overrides_set(Overrides *o, const Override *patch)
{
        Override *ov = (Override *)overrides_find(o, patch->guest, NULL);

        if (!ov) {
                Override *items = realloc(o->items, (o->n + 1) * sizeof(*items));
                if (!items)
                        return -ENOMEM;
                o->items = items;
                ov = &items[o->n];
                *ov = (Override){ .guest = strdup(patch->guest) };
                if (!ov->guest)
                        return -ENOMEM;
                o->n++;
        }
        if (patch->min_set)
                ov->min_set = true, ov->min_bytes = patch->min_bytes;
        if (patch->max_set)
                ov->max_set = true, ov->max_bytes = patch->max_bytes;
        if (patch->manage_set)
                ov->manage_set = true, ov->manage = patch->manage;
        if (patch->shares_set)
                ov->shares_set = true, ov->shares = patch->shares;
        return 0;
}

json_object *override_to_json(const Override *ov)
{
        json_object *o = json_object_new_object();
        json_object_object_add(o, "guest", json_object_new_string(ov->guest));
        if (ov->min_set)
                json_object_object_add(o, "min_bytes", json_object_new_uint64(ov->min_bytes));
        if (ov->max_set)
                json_object_object_add(o, "max_bytes", json_object_new_uint64(ov->max_bytes));
        if (ov->manage_set)
                json_object_object_add(o, "manage", json_object_new_boolean(ov->manage));
        if (ov->shares_set)
                json_object_object_add(o, "shares", json_object_new_uint64(ov->shares));
        return o;
}

/* Each field: absent is fine, present but wrong is -EINVAL. */
int override_from_json(json_object *obj, Override *ret)
{
        uint64_t shares = 0;
        int r;

        *ret = (Override){ 0 };
        if ((r = json_get_u64(obj, "min_bytes", &ret->min_bytes)) != -ENOENT) {
                if (r < 0)
                        return r;
                ret->min_set = true;
        }
        if ((r = json_get_u64(obj, "max_bytes", &ret->max_bytes)) != -ENOENT) {
                if (r < 0)
                        return r;
                ret->max_set = true;
        }
        if ((r = json_get_bool(obj, "manage", &ret->manage)) != -ENOENT) {
                if (r < 0)
                        return r;
                ret->manage_set = true;
        }
        if ((r = json_get_u64(obj, "shares", &shares)) != -ENOENT) {
                if (r < 0 || shares > UINT32_MAX)
                        return -EINVAL;
                ret->shares = (uint32_t)shares;
                ret->shares_set = true;
        }
        if (ret->min_set && ret->max_set && ret->min_bytes > ret->max_bytes)
                return -EINVAL;
        return 0;
}

int overrides_load(Overrides *o, const char *path)
{
        _cleanup_json_ json_object *root = json_object_from_file(path);
        json_object *list = NULL;

        overrides_clear(o);
        if (!root)
                return access(path, F_OK) < 0 && errno == ENOENT ? 0 : -EINVAL;
        if (!json_object_object_get_ex(root, "overrides", &list) ||
            !json_object_is_type(list, json_type_array))
                return -EINVAL;
        for (size_t i = 0; i < json_object_array_length(list); i++) {
                json_object *e = json_object_array_get_idx(list, i);
                const char *guest = NULL;
                Override ov;
                int r = json_get_string(e, "guest", &guest);
                if (r >= 0)
                        r = override_from_json(e, &ov);
                if (r < 0) {
                        overrides_clear(o);
                        return -EINVAL;
                }
                ov.guest = (char *)guest;
                r = overrides_set(o, &ov);
                if (r < 0)
                        return r;
        }
        return 0;
}

int overrides_save(const Overrides *o, const char *path)
{
        _cleanup_json_ json_object *root = json_object_new_object();
        json_object *list = json_object_new_array();
        const char *text;

        for (size_t i = 0; i < o->n; i++)
                json_object_array_add(list, override_to_json(&o->items[i]));
        json_object_object_add(root, "overrides", list);
        text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY);
        return write_file_atomic(path, text, strlen(text), 0640);
}
