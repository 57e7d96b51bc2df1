/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static int max_level = LOG_INFO;

void log_set_max_level(int level)
{
        max_level = level;
}

/*
 * Under systemd (JOURNAL_STREAM set) stderr goes to the journal, which reads
 * the "<N>" prefix as the priority; in a terminal the plain line is kinder.
 */
void log_msg(int level, const char *guest, const char *fmt, ...)
{
        static int journal = -1;
        char msg[1024];
        va_list ap;

        if (level > max_level)
                return;
        if (journal < 0)
                journal = getenv("JOURNAL_STREAM") != NULL;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        if (journal)
                fprintf(stderr, "<%d>", level);
        if (guest)
                fprintf(stderr, "guest %s: %s\n", guest, msg);
        else
                fprintf(stderr, "%s\n", msg);
}
