/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A simulated run step by step: collected, bucketed, printed; see ctl-timeline.h. */
#include "ctl-timeline.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json-util.h"
#include "model.h"

#define BAR_WIDTH 40

void timeline_on_step(const SimStep *step, void *userdata)
{
        Timeline *t = userdata;

        if (t->n == t->cap) {
                size_t cap = t->cap ? 2 * t->cap : 1024;
                SimStep *steps = realloc(t->steps, cap * sizeof(*steps));
                if (!steps) {
                        t->out_of_memory = true;
                        return;
                }
                t->steps = steps;
                t->cap = cap;
        }
        t->steps[t->n++] = *step;
}

void timeline_clear(Timeline *t)
{
        free(t->steps);
        *t = (Timeline){ 0 };
}

/*
 * Steps [first, end) of bucket b of n: peaks of resident memory and demand
 * (what a plot must not hide), the balloons where they ended.
 */
static SimStep bucket(const Timeline *t, size_t b, size_t n)
{
        size_t first = b * t->n / n, end = (b + 1) * t->n / n;
        SimStep s = t->steps[first];

        for (size_t i = first + 1; i < end; i++) {
                s.resident_bytes = fmax(s.resident_bytes, t->steps[i].resident_bytes);
                s.demand_bytes = fmax(s.demand_bytes, t->steps[i].demand_bytes);
                s.actual_bytes = t->steps[i].actual_bytes;
        }
        return s;
}

/* '#' resident within the host's RAM, '!' beyond it, '|' where the RAM ends. */
static void bar(char *buf, double resident, double host, double scale)
{
        int used = (int)lround(resident / scale), edge = (int)lround(host / scale);

        for (int i = 0; i < BAR_WIDTH; i++)
                buf[i] = i < used ? (i < edge ? '#' : '!') : i == edge ? '|' : ' ';
        buf[BAR_WIDTH] = '\0';
}

void timeline_print(const Timeline *t, size_t rows)
{
        double peak = 0, start;
        size_t n = t->n < rows ? t->n : rows;
        char b[BAR_WIDTH + 1];

        if (t->n == 0)
                return;
        start = t->steps[0].time_sec;
        for (size_t i = 0; i < t->n; i++)
                peak = fmax(peak, fmax(t->steps[i].resident_bytes, t->steps[i].demand_bytes));
        double scale = fmax(peak, (double)t->steps[0].host_bytes) / (BAR_WIDTH - 1);
        printf("%9s %9s %9s %9s %9s  %s\n", "TIME", "RESIDENT", "DEMAND", "GUESTS", "HOST",
               "resident on the host: # within RAM, ! beyond, | RAM");
        for (size_t k = 0; k < n; k++) {
                SimStep s = bucket(t, k, n);
                uint64_t sec = (uint64_t)(s.time_sec - start);
                char when[32];
                snprintf(when, sizeof(when), "%" PRIu64 ":%02" PRIu64 ":%02" PRIu64, sec / 3600,
                         sec / 60 % 60, sec % 60);
                bar(b, s.resident_bytes, (double)s.host_bytes, scale);
                printf("%9s %9.2f %9.2f %9.2f %9.2f  %s\n", when, s.resident_bytes / GIB,
                       s.demand_bytes / GIB, s.actual_bytes / GIB, (double)s.host_bytes / GIB, b);
        }
        printf("GiB; TIME h:mm:ss from the start; each row the peak of %.0f s of steps; GUESTS: "
               "the guests' memory with their balloons\n",
               t->n > 1 ? (t->steps[t->n - 1].time_sec - start) / (double)n : 0.0);
}

json_object *timeline_json(const Timeline *t, size_t points)
{
        json_object *list = json_object_new_array();
        size_t n = t->n < points ? t->n : points;

        for (size_t k = 0; k < n; k++) {
                SimStep s = bucket(t, k, n);
                json_object *o = json_object_new_object();
                json_object_object_add(
                        o, "time_seconds",
                        json_new_double_rounded(s.time_sec - t->steps[0].time_sec, 3));
                json_object_object_add(o, "resident_bytes",
                                       json_object_new_uint64((uint64_t)s.resident_bytes));
                json_object_object_add(o, "demand_bytes",
                                       json_object_new_uint64((uint64_t)s.demand_bytes));
                json_object_object_add(o, "guests_bytes",
                                       json_object_new_uint64((uint64_t)s.actual_bytes));
                json_object_object_add(o, "host_bytes", json_object_new_uint64(s.host_bytes));
                json_object_array_add(list, o);
        }
        return list;
}
