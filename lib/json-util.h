/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Typed reads of one member of a json-c object, with errno-style results so
 * that callers can tell "absent" (-ENOENT) from "present but wrong" (-EINVAL).
 * A member whose value is JSON null counts as absent.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>

/*
 * Reads a non-negative JSON integer as uint64. QEMU sends 18446744073709551615
 * (UINT64_MAX) for statistics the guest never reported, which does not fit an
 * int64. Negative numbers, fractions and non-numbers give -EINVAL. Note that
 * json-c 0.16 clamps integers above UINT64_MAX to UINT64_MAX while parsing.
 */
int json_to_u64(json_object *value, uint64_t *ret);
int json_get_u64(json_object *obj, const char *key, uint64_t *ret);

/* The string is borrowed from obj: valid as long as obj is. */
int json_get_string(json_object *obj, const char *key, const char **ret);

int json_get_bool(json_object *obj, const char *key, bool *ret);

/*
 * A JSON double rounded to `decimals` places and written that way:
 * json-c prints doubles with %.17g, so 100.053249 s would read
 * 100.05324899999999. Trailing zeros go, one decimal stays ("1.0").
 * Non-finite values, which JSON cannot carry, give null (NULL).
 */
json_object *json_new_double_rounded(double value, unsigned decimals);
/* Seconds from microseconds: the precision they have, and no float noise. */
json_object *json_new_seconds(uint64_t usec);
