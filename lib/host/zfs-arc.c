/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "zfs-arc.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* One "name type data" row; true when it is the row of name and parses. */
static bool row_value(const char *line, const char *name, uint64_t *ret, bool *ok)
{
        size_t n = strlen(name);
        unsigned type;
        unsigned long long v;

        if (strncmp(line, name, n) != 0 || (line[n] != ' ' && line[n] != '\t'))
                return false;
        *ok = sscanf(line + n, " %u %llu", &type, &v) == 2;
        if (*ok)
                *ret = v;
        return true;
}

int zfs_arc_parse(const char *text, ZfsArc *ret)
{
        bool have_size = false, have_min = false, ok = true;
        ZfsArc a = { 0 };

        for (const char *line = text; line && *line && ok;
             line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
                if (row_value(line, "size", &a.size_bytes, &ok))
                        have_size = ok;
                else if (row_value(line, "c_min", &a.c_min_bytes, &ok))
                        have_min = ok;
        }
        if (!ok || !have_size || !have_min)
                return -EINVAL;
        *ret = a;
        return 0;
}

uint64_t zfs_arc_reclaimable_bytes(const ZfsArc *arc)
{
        return arc->size_bytes > arc->c_min_bytes ? arc->size_bytes - arc->c_min_bytes : 0;
}
