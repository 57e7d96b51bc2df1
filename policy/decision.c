/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "decision.h"

#include <stdarg.h>
#include <stdio.h>

void decision_explain(Decision *d, const char *fmt, ...)
{
        va_list ap;

        /* The simulator's hot loop formats no reasons. */
        if (d->quiet)
                return;
        va_start(ap, fmt);
        vsnprintf(d->reason, sizeof(d->reason), fmt, ap);
        va_end(ap);
}
