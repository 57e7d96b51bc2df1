/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "guest-settings.h"

#include <stdarg.h>
#include <stdio.h>

#include "policy-config.h"

static const char *const field_names[_GUEST_SETTING_FIELD_MAX] = {
        [GUEST_SETTING_MIN] = "min_bytes",
        [GUEST_SETTING_MAX] = "max_bytes",
        [GUEST_SETTING_MAX_BELOW_FLOOR] = "max_below_floor",
        [GUEST_SETTING_MANAGE] = "manage",
        [GUEST_SETTING_SHARES] = "shares",
};

const char *guest_setting_field_to_string(GuestSettingField f)
{
        return f < _GUEST_SETTING_FIELD_MAX ? field_names[f] : NULL;
}

void guest_settings_init(GuestSettings *s)
{
        *s = (GuestSettings){ .manage = true, .shares = POLICY_SHARES_DEFAULT };
        for (int f = 0; f < _GUEST_SETTING_FIELD_MAX; f++)
                guest_settings_set_source(s, f, "default");
}

void guest_settings_set_source(GuestSettings *s, GuestSettingField f, const char *fmt, ...)
{
        va_list ap;

        if (f >= _GUEST_SETTING_FIELD_MAX)
                return;
        va_start(ap, fmt);
        (void)vsnprintf(s->source[f], sizeof(s->source[f]), fmt, ap);
        va_end(ap);
}
