/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "overrides.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cleanup.h"
#include "fileio.h"
#include "json-util.h"
#include "varlink.h"

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

bool override_is_glob(const Override *ov)
{
        return strpbrk(ov->guest, "*?[") != NULL;
}

static void apply_one(const Override *ov, GuestSettings *s)
{
        if (ov->min_set)
                s->min_bytes = ov->min_bytes;
        if (ov->max_set)
                s->max_bytes = ov->max_bytes;
        if (ov->manage_set)
                s->manage = ov->manage;
        if (ov->shares_set)
                s->shares = ov->shares;
}

const Override *overrides_find_glob(const Overrides *o, const char *name)
{
        for (size_t i = o->n; name && i-- > 0;)
                if (override_is_glob(&o->items[i]) && fnmatch(o->items[i].guest, name, 0) == 0)
                        return &o->items[i];
        return NULL;
}

/* Glob overrides in the order they were set, then the guest's own: the most
 * specific wins. */
void overrides_apply(const Overrides *o, const char *name, const char *uuid, GuestSettings *s)
{
        const Override *own = overrides_find(o, name, uuid);

        for (size_t i = 0; name && i < o->n; i++)
                if (override_is_glob(&o->items[i]) && fnmatch(o->items[i].guest, name, 0) == 0)
                        apply_one(&o->items[i], s);
        if (own)
                apply_one(own, s);
}

int overrides_set(Overrides *o, const Override *patch)
{
        Override *ov = (Override *)overrides_find(o, patch->guest, NULL);

        if (!ov) {
                if (o->n >= OVERRIDES_MAX)
                        return -E2BIG;
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

int overrides_check_patch(const Overrides *o, const Override *patch, const char **ret_field)
{
        const Override *cur = overrides_find(o, patch->guest, NULL);
        bool min_set = patch->min_set || (cur && cur->min_set);
        bool max_set = patch->max_set || (cur && cur->max_set);
        uint64_t min = patch->min_set ? patch->min_bytes : cur ? cur->min_bytes : 0;
        uint64_t max = patch->max_set ? patch->max_bytes : cur ? cur->max_bytes : 0;

        if (!cur && o->n >= OVERRIDES_MAX) {
                *ret_field = "name";
                return -E2BIG;
        }
        if (min_set && max_set && min > max) {
                *ret_field = patch->min_set ? "min_bytes" : "max_bytes";
                return -EINVAL;
        }
        return 0;
}

bool override_guest_valid(const char *guest)
{
        size_t len = strlen(guest);
        return len > 0 && len <= OVERRIDE_GUEST_MAX_BYTES;
}

const char *override_field_rule(const char *field)
{
        if (strcmp(field, "min_bytes") == 0 || strcmp(field, "max_bytes") == 0)
                return "a size in bytes, at most 2^57, min_bytes not above max_bytes";
        if (strcmp(field, "shares") == 0)
                return "a whole number from 0 to 50000, as Shares=";
        if (strcmp(field, "manage") == 0)
                return "true or false";
        return "invalid";
}

/* A size: absent is fine (0, *set false), present must be at most OVERRIDE_MAX_BYTES. */
static int read_size(json_object *obj, const char *field, uint64_t *ret, bool *set)
{
        int r = json_get_u64(obj, field, ret);
        if (r == -ENOENT)
                return 0;
        if (r < 0 || *ret > OVERRIDE_MAX_BYTES)
                return -EINVAL;
        *set = true;
        return 0;
}

static int read_shares(json_object *obj, uint32_t *ret, bool *set)
{
        uint64_t shares;
        int r = json_get_u64(obj, "shares", &shares);
        if (r == -ENOENT)
                return 0;
        if (r < 0 || shares > OVERRIDE_SHARES_MAX)
                return -EINVAL;
        *ret = (uint32_t)shares;
        *set = true;
        return 0;
}

/* Each field: absent is fine, present but wrong is -EINVAL, naming it. */
int override_from_json(json_object *obj, Override *ret, const char **ret_field)
{
        int r;

        *ret = (Override){ 0 };
        if (read_size(obj, "min_bytes", &ret->min_bytes, &ret->min_set) < 0) {
                *ret_field = "min_bytes";
                return -EINVAL;
        }
        if (read_size(obj, "max_bytes", &ret->max_bytes, &ret->max_set) < 0) {
                *ret_field = "max_bytes";
                return -EINVAL;
        }
        if ((r = json_get_bool(obj, "manage", &ret->manage)) != -ENOENT) {
                if (r < 0) {
                        *ret_field = "manage";
                        return -EINVAL;
                }
                ret->manage_set = true;
        }
        if (read_shares(obj, &ret->shares, &ret->shares_set) < 0) {
                *ret_field = "shares";
                return -EINVAL;
        }
        if (ret->min_set && ret->max_set && ret->min_bytes > ret->max_bytes) {
                *ret_field = "min_bytes";
                return -EINVAL;
        }
        return 0;
}

/* One entry of the file, checked as SetOverride's parameters are. */
static int load_entry(Overrides *o, json_object *e)
{
        const char *guest = NULL, *field;
        Override ov;
        int r = varlink_get_string(e, "guest", &guest);

        if (r < 0 || !override_guest_valid(guest))
                return -EINVAL;
        r = override_from_json(e, &ov, &field);
        if (r < 0)
                return r;
        ov.guest = (char *)guest;
        r = overrides_set(o, &ov);
        return r == -E2BIG ? -EINVAL : r;
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
                int r = load_entry(o, json_object_array_get_idx(list, i));
                if (r < 0) {
                        overrides_clear(o);
                        return r;
                }
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
