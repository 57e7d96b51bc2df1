/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "units.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct UnitFactor {
        const char *suffix;
        double factor;
} UnitFactor;

static const UnitFactor size_units[] = {
        { "", 1.0 },
        { "B", 1.0 },
        { "K", 1024.0 },
        { "KiB", 1024.0 },
        { "M", 1024.0 * 1024.0 },
        { "MiB", 1024.0 * 1024.0 },
        { "G", 1024.0 * 1024.0 * 1024.0 },
        { "GiB", 1024.0 * 1024.0 * 1024.0 },
        { "T", 1024.0 * 1024.0 * 1024.0 * 1024.0 },
        { "TiB", 1024.0 * 1024.0 * 1024.0 * 1024.0 },
};

static const UnitFactor time_units[] = {
        { "", 1e6 },     { "s", 1e6 },      { "sec", 1e6 },   { "ms", 1e3 },
        { "msec", 1e3 }, { "us", 1.0 },     { "usec", 1.0 },  { "min", 60e6 },
        { "m", 60e6 },   { "h", 3600e6 },   { "hour", 3600e6 },
};

/* Number followed by an optional unit from the table, whitespace allowed between. */
static int parse_with_units(const char *s, const UnitFactor *units, size_t n_units, double *ret)
{
        char *end;
        double v;

        if (!s)
                return -EINVAL;
        while (isspace((unsigned char)*s))
                s++;
        if (!isdigit((unsigned char)*s) && *s != '.')
                return -EINVAL; /* no sign: sizes and times are never negative */
        errno = 0;
        v = strtod(s, &end);
        if (errno != 0 || end == s || !isfinite(v))
                return -EINVAL;
        while (isspace((unsigned char)*end))
                end++;
        size_t len = strlen(end);
        while (len > 0 && isspace((unsigned char)end[len - 1]))
                len--;
        for (size_t i = 0; i < n_units; i++) {
                if (strlen(units[i].suffix) == len && strncasecmp(end, units[i].suffix, len) == 0) {
                        *ret = v * units[i].factor;
                        return 0;
                }
        }
        return -EINVAL;
}

int parse_size(const char *s, uint64_t *ret_bytes)
{
        double v;
        int r = parse_with_units(s, size_units, sizeof(size_units) / sizeof(size_units[0]), &v);
        if (r < 0)
                return r;
        if (v >= 18446744073709551616.0)
                return -ERANGE;
        *ret_bytes = (uint64_t)v;
        return 0;
}

int parse_time_usec(const char *s, uint64_t *ret_usec)
{
        double v;
        int r = parse_with_units(s, time_units, sizeof(time_units) / sizeof(time_units[0]), &v);
        if (r < 0)
                return r;
        if (v >= 18446744073709551616.0)
                return -ERANGE;
        *ret_usec = (uint64_t)llround(v);
        return 0;
}

const char *format_bytes(char *buf, size_t size, uint64_t bytes)
{
        static const char *const names[] = { "B", "KiB", "MiB", "GiB", "TiB" };
        double v = (double)bytes;
        size_t i = 0;

        while (v >= 1024.0 && i + 1 < sizeof(names) / sizeof(names[0])) {
                v /= 1024.0;
                i++;
        }
        if (i == 0)
                snprintf(buf, size, "%llu B", (unsigned long long)bytes);
        else
                snprintf(buf, size, "%.1f %s", v, names[i]);
        return buf;
}
