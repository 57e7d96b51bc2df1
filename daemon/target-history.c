/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "target-history.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int direction(uint64_t from, uint64_t to)
{
        return (to > from) - (to < from);
}

/* The last entry, when this step continues it. */
static TargetChange *continued(TargetHistory *h, uint64_t wall_sec, uint64_t from,
                               const Decision *d, bool sent)
{
        TargetChange *last = h->n ? &h->items[h->n - 1] : NULL;

        if (!last || last->sent != sent || wall_sec > last->last_sec + TARGET_HISTORY_MERGE_SEC)
                return NULL;
        if (direction(last->from_bytes, last->target_bytes) != direction(from, d->target_bytes))
                return NULL;
        return last;
}

static TargetChange *append(TargetHistory *h)
{
        if (h->n == TARGET_HISTORY_MAX) {
                memmove(h->items, h->items + 1, (h->n - 1) * sizeof(*h->items));
                h->n--;
        }
        if (h->n == h->allocated) {
                size_t want = h->allocated ? 2 * h->allocated : 8;
                TargetChange *items;
                if (want > TARGET_HISTORY_MAX)
                        want = TARGET_HISTORY_MAX;
                items = realloc(h->items, want * sizeof(*items));
                if (!items)
                        return NULL;
                h->items = items;
                h->allocated = want;
        }
        return &h->items[h->n++];
}

int target_history_add(TargetHistory *h, uint64_t wall_sec, uint64_t from_bytes,
                       uint64_t available_bytes, const Decision *d, bool sent)
{
        TargetChange *c = continued(h, wall_sec, from_bytes, d, sent);

        if (!c) {
                c = append(h);
                if (!c)
                        return -ENOMEM;
                *c = (TargetChange){ .first_sec = wall_sec,
                                     .from_bytes = from_bytes,
                                     .sent = sent };
        }
        c->last_sec = wall_sec;
        c->target_bytes = d->target_bytes;
        c->used_bytes = d->used_bytes;
        c->floor_bytes = d->floor_bytes;
        c->available_bytes = available_bytes;
        c->steps++;
        size_t len = strnlen(d->reason, sizeof(c->reason) - 1); /* cut, not refused */
        memcpy(c->reason, d->reason, len);
        c->reason[len] = '\0';
        return 0;
}

void target_history_clear(TargetHistory *h)
{
        free(h->items);
        *h = (TargetHistory){ 0 };
}
