/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <systemd/sd-journal.h>

static int max_level = LOG_INFO;

void log_set_max_level(int level)
{
        max_level = level;
}

int log_get_max_level(void)
{
        return max_level;
}

/* Under systemd, stderr is the journal when $JOURNAL_STREAM names its device:inode. */
static bool stderr_is_journal(void)
{
        static int cached = -1;
        const char *e = getenv("JOURNAL_STREAM");
        unsigned long long dev, ino;
        struct stat st;

        if (cached < 0)
                cached = e && sscanf(e, "%llu:%llu", &dev, &ino) == 2 &&
                         fstat(STDERR_FILENO, &st) == 0 && (unsigned long long)st.st_dev == dev &&
                         (unsigned long long)st.st_ino == ino;
        return cached;
}

static void emit(int level, const LogFields *f, const char *msg)
{
        if (stderr_is_journal()) {
                int r = sd_journal_send("MESSAGE=%s%s%s", f && f->guest ? "guest " : "",
                                        f && f->guest ? f->guest : "", msg, "PRIORITY=%d", level,
                                        "SYSLOG_IDENTIFIER=memtided", "GUEST=%s",
                                        f && f->guest ? f->guest : "", "GUEST_UUID=%s",
                                        f && f->uuid ? f->uuid : "", "TARGET_BYTES=%s",
                                        f && f->target ? f->target : "", "REASON=%s",
                                        f && f->reason ? f->reason : "", NULL);
                if (r >= 0)
                        return;
        }
        if (f && f->guest)
                fprintf(stderr, "guest %s%s\n", f->guest, msg);
        else
                fprintf(stderr, "%s\n", msg + (msg[0] == ':' ? 2 : 0));
}

void log_fields(int level, const LogFields *f, const char *fmt, ...)
{
        char msg[1024];
        va_list ap;

        if (level > max_level)
                return;
        msg[0] = ':';
        msg[1] = ' ';
        va_start(ap, fmt);
        vsnprintf(msg + 2, sizeof(msg) - 2, fmt, ap);
        va_end(ap);
        emit(level, f, f && f->guest ? msg : msg + 2);
}
