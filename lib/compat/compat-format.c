/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Renderers of the compat layer: a verdict as JSON (`memtidectl compat
 * --json`) or as a text table, and the table of known implementations.
 */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "compat-format.h"
#include "compat-implementations.h"
#include "compat.h"

/* Adds value under key, taking ownership of value even on failure. */
static int add(json_object *o, const char *key, json_object *value)
{
        if (!value)
                return -ENOMEM;
        if (json_object_object_add(o, key, value) < 0) {
                json_object_put(value);
                return -ENOMEM;
        }
        return 0;
}

static json_object *index_to_json(int index)
{
        return index == COMPAT_INDEX_NONE ? NULL : json_object_new_int(index);
}

/* json_object_object_add() of a NULL value stores JSON null: fine for optional members. */
static int add_nullable(json_object *o, const char *key, json_object *value, bool want)
{
        if (want)
                return add(o, key, value);
        return json_object_object_add(o, key, NULL) < 0 ? -ENOMEM : 0;
}

static int side_to_json(const CompatSide *s, json_object **ret)
{
        _cleanup_json_ json_object *o = json_object_new_object();
        int r;

        if (!o)
                return -ENOMEM;
        r = add(o, "name", json_object_new_string(s->name ? s->name : ""));
        if (r < 0)
                return r;
        r = add(o, "convention",
                json_object_new_string(compat_convention_to_string(s->convention)));
        if (r < 0)
                return r;
        *ret = TAKE_PTR(o);
        return 0;
}

int compat_verdict_to_json(const CompatVerdict *v, json_object **ret)
{
        _cleanup_json_ json_object *o = json_object_new_object();
        _cleanup_json_ json_object *queues = json_object_new_array();
        json_object *side;
        int r;

        assert(v);
        assert(ret);

        if (!o || !queues)
                return -ENOMEM;

        r = add(o, "agree", json_object_new_boolean(v->agree));
        if (r < 0)
                return r;
        r = side_to_json(&v->device, &side);
        if (r < 0)
                return r;
        r = add(o, "device", side);
        if (r < 0)
                return r;
        r = side_to_json(&v->driver, &side);
        if (r < 0)
                return r;
        r = add(o, "driver", side);
        if (r < 0)
                return r;
        r = add(o, "offered_features", json_object_new_uint64(v->offered));
        if (r < 0)
                return r;
        r = add(o, "negotiated_features", json_object_new_uint64(v->negotiated));
        if (r < 0)
                return r;

        for (unsigned i = 0; i < v->n_rows; i++) {
                const CompatQueueVerdict *row = &v->rows[i];
                _cleanup_json_ json_object *q = json_object_new_object();

                if (!q)
                        return -ENOMEM;
                r = add(q, "name", json_object_new_string(compat_queue_to_string(row->queue)));
                if (r < 0)
                        return r;
                r = add_nullable(q, "device_index", index_to_json(row->device_index),
                                 row->device_index != COMPAT_INDEX_NONE);
                if (r < 0)
                        return r;
                r = add_nullable(q, "driver_index", index_to_json(row->driver_index),
                                 row->driver_index != COMPAT_INDEX_NONE);
                if (r < 0)
                        return r;
                r = add_nullable(q, "consequence",
                                 row->broken ? json_object_new_string(row->consequence) : NULL,
                                 row->broken);
                if (r < 0)
                        return r;
                if (json_object_array_add(queues, q) < 0)
                        return -ENOMEM;
                TAKE_PTR(q);
        }

        r = add(o, "queues", TAKE_PTR(queues));
        if (r < 0)
                return r;

        *ret = TAKE_PTR(o);
        return 0;
}

static void format_index(char *buf, size_t size, int index)
{
        if (index == COMPAT_INDEX_NONE)
                snprintf(buf, size, "-");
        else
                snprintf(buf, size, "%d", index);
}

/* Finishes a memstream: the text on success, freed on a write error. */
static int memstream_finish(FILE *f, char **buf, char **ret)
{
        bool failed = ferror(f);

        if (fclose(f) != 0 || failed) {
                free(*buf);
                *buf = NULL;
                return -ENOMEM;
        }
        *ret = *buf;
        *buf = NULL;
        return 0;
}

int compat_verdict_format(const CompatVerdict *v, char **ret)
{
        _cleanup_free_ char *buf = NULL;
        size_t size = 0;
        FILE *f;

        assert(v);
        assert(ret);

        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;

        fprintf(f, "device:   %s (%s)\n", v->device.name ? v->device.name : "?",
                compat_convention_to_string(v->device.convention));
        fprintf(f, "driver:   %s (%s)\n", v->driver.name ? v->driver.name : "?",
                compat_convention_to_string(v->driver.convention));
        fprintf(f, "features: offered 0x%" PRIx64 ", negotiated 0x%" PRIx64 "\n\n", v->offered,
                v->negotiated);
        fprintf(f, "%-10s %-6s %-6s %s\n", "QUEUE", "DEVICE", "DRIVER", "STATE");
        for (unsigned i = 0; i < v->n_rows; i++) {
                const CompatQueueVerdict *row = &v->rows[i];
                char dev[16], drv[16];

                format_index(dev, sizeof(dev), row->device_index);
                format_index(drv, sizeof(drv), row->driver_index);
                fprintf(f, "%-10s %-6s %-6s %s\n", compat_queue_to_string(row->queue), dev, drv,
                        row->broken                              ? "BROKEN"
                        : row->driver_index == COMPAT_INDEX_NONE ? "unused"
                                                                 : "ok");
        }
        fputc('\n', f);
        for (unsigned i = 0; i < v->n_rows; i++)
                if (v->rows[i].broken)
                        fprintf(f, "%s: %s.\n", compat_queue_to_string(v->rows[i].queue),
                                v->rows[i].consequence);
        if (v->agree)
                fprintf(f, "The layouts agree.\n");
        else
                fprintf(f, "The layouts disagree: %u %s broken.\n", v->n_broken,
                        v->n_broken == 1 ? "queue" : "queues");

        return memstream_finish(f, &buf, ret);
}

/* Prints text wrapped at `width` columns, each line indented by `indent` spaces. */
static void print_wrapped(FILE *f, const char *text, unsigned indent, unsigned width)
{
        const char *p = text;

        while (*p) {
                size_t avail = width - indent, len = strlen(p), cut;

                if (len <= avail)
                        cut = len;
                else {
                        cut = avail;
                        while (cut > 0 && p[cut] != ' ')
                                cut--;
                        if (cut == 0) /* one long word (a URL): do not break it */
                                for (cut = avail; p[cut] && p[cut] != ' '; cut++)
                                        ;
                }
                fprintf(f, "%*s%.*s\n", (int)indent, "", (int)cut, p);
                p += cut;
                while (*p == ' ')
                        p++;
        }
}

int compat_implementations_format(bool with_notes, char **ret)
{
        _cleanup_free_ char *buf = NULL;
        const CompatImplementation *impl;
        size_t size = 0;
        FILE *f;

        assert(ret);

        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;

        fprintf(f, "%-17s %-6s %-16s %-22s %s\n", "NAME", "SIDE", "CONVENTION", "SINCE", "UNTIL");
        for (size_t i = 0; (impl = compat_implementation_get(i)); i++) {
                fprintf(f, "%-17s %-6s %-16s %-22s %s\n", impl->name,
                        compat_role_to_string(impl->role),
                        compat_convention_to_string(impl->convention),
                        impl->since ? impl->since : "-", impl->until ? impl->until : "-");
                if (with_notes) {
                        print_wrapped(f, impl->notes, 4, 96);
                        fprintf(f, "    source: %s\n\n", impl->source_url);
                }
        }

        return memstream_finish(f, &buf, ret);
}
