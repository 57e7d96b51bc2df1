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

/* Guests that may have an override at once: every guest of a large host,
 * by name and by UUID. Each change rewrites the file, which must stay small. */
#define OVERRIDES_MAX 4096
/* The longest name or UUID an override may be for, in bytes. */
#define OVERRIDE_GUEST_MAX_BYTES 1024
/* Shares= as the config caps it (lib/config/config.c). */
#define OVERRIDE_SHARES_MAX 50000
/*
 * Sizes above this are refused: more than any machine can address (57-bit
 * physical addresses, 128 PiB), and json-c reads a number above UINT64_MAX
 * as UINT64_MAX, so an absurd size would otherwise pass as a huge one.
 */
#define OVERRIDE_MAX_BYTES (UINT64_C(1) << 57)

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

/* Merges the fields set in `patch` into the guest's override; -E2BIG when
 * the guest has none and OVERRIDES_MAX guests have one. */
int overrides_set(Overrides *o, const Override *patch);
/*
 * Whether patch may be merged into o: -E2BIG (the guest is new and there is
 * no room: *ret_field "name"), -EINVAL (min_bytes would end up above
 * max_bytes: *ret_field names the one patch sets), else 0.
 */
int overrides_check_patch(const Overrides *o, const Override *patch, const char **ret_field);

/* A name or UUID an override may be for: not empty, at most
 * OVERRIDE_GUEST_MAX_BYTES (UTF-8 and no NUL: varlink_get_string()). */
bool override_guest_valid(const char *guest);

/* The override set for exactly this name or UUID (a glob is matched as text). */
const Override *overrides_find(const Overrides *o, const char *name, const char *uuid);
/* An override's guest may be a glob (fnmatch(3): *, ?, [...]) matching
 * guest names, e.g. `memtidectl set 'web*' --manage no`. */
bool override_is_glob(const Override *ov);
/* The last glob override matching name, or NULL. */
const Override *overrides_find_glob(const Overrides *o, const char *name);
/* Glob overrides first, in the order set, then the guest's own. */
void overrides_apply(const Overrides *o, const char *name, const char *uuid, GuestSettings *s);

json_object *override_to_json(const Override *ov);
/*
 * Reads the fields present in a JSON object (min_bytes, max_bytes, manage,
 * shares): -EINVAL when one is wrong or out of its limits, *ret_field then
 * naming it. Used for SetOverride's parameters and the file's entries.
 */
int override_from_json(json_object *obj, Override *ret, const char **ret_field);
/* What a field's value must be, for an error message. */
const char *override_field_rule(const char *field);
