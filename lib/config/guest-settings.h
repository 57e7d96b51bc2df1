/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A guest's effective settings and, per field, where its value came from.
 * Layers, lowest first: memtide's defaults, the VM manager's own settings
 * (a Proxmox VM config, a libvirt domain definition: supplied by the
 * guest's backend), the config's [Guest:] rules, the runtime overrides.
 * Each layer overwrites the fields it sets and names itself as their source,
 * so that `memtidectl show` can say why a guest has the minimum it has.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* Fits "proxmox <path>:<line> (...)" for any sane path; longer ones are cut. */
#define GUEST_SETTING_SOURCE_MAX 256

typedef enum GuestSettingField {
        GUEST_SETTING_MIN,
        GUEST_SETTING_MAX,
        GUEST_SETTING_MAX_BELOW_FLOOR,
        GUEST_SETTING_MANAGE,
        GUEST_SETTING_SHARES,
        _GUEST_SETTING_FIELD_MAX,
} GuestSettingField;

typedef struct GuestSettings {
        uint64_t min_bytes; /* 0 when unset */
        uint64_t max_bytes; /* 0 when unset */
        /* MaxMemory= wins over the floor (use + HeadroomMin=): an explicit squeeze. */
        bool max_below_floor;
        bool manage;
        uint32_t shares; /* Shares=, POLICY_SHARES_DEFAULT when unset */
        /* The VM manager's settings should exist and could not be read yet
         * (pmxcfs not mounted): not managed, read again every cycle. */
        bool vm_settings_missing;
        /* "default", "proxmox FILE:LINE", "config FILE [Guest:MATCH]", "override" */
        char source[_GUEST_SETTING_FIELD_MAX][GUEST_SETTING_SOURCE_MAX];
} GuestSettings;

/* memtide's defaults, every field's source "default". */
void guest_settings_init(GuestSettings *s);

/* Names the layer that set field f (printf-style; cut to fit). */
void guest_settings_set_source(GuestSettings *s, GuestSettingField f, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* "min_bytes", "max_bytes", "max_below_floor", "manage", "shares": the JSON keys. */
const char *guest_setting_field_to_string(GuestSettingField f);
