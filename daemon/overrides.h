/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Runtime overrides set with `memtidectl set`: per guest, on top of the
 * config's [Guest:] rules, kept in the state directory so that they survive
 * a restart or a crash.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "config.h"

typedef struct Override {
        char *guest; /* name or UUID, as given */
        bool min_set, max_set, manage_set, shares_set;
        uint64_t min_bytes;
        uint64_t max_bytes;
        bool manage;
        uint32_t shares;
} Override;

typedef struct Overrides {
        Override *items;
        size_t n;
} Overrides;

void overrides_clear(Overrides *o);

/* Parses the file; a missing file is an empty set. -EINVAL on a corrupt one. */
int overrides_load(Overrides *o, const char *path);
int overrides_save(const Overrides *o, const char *path);

/* Merges the fields set in `patch` into the guest's override. */
int overrides_set(Overrides *o, const Override *patch);

const Override *overrides_find(const Overrides *o, const char *name, const char *uuid);
void overrides_apply(const Overrides *o, const char *name, const char *uuid, GuestSettings *s);

json_object *override_to_json(const Override *ov);
/* Reads the fields present in a JSON object (min_bytes, max_bytes, manage, shares). */
int override_from_json(json_object *obj, Override *ret);
