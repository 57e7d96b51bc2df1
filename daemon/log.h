/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * memtided's logging. In a terminal: one line per event on stderr, with
 * "guest NAME:" on every line about a guest. Under systemd: the journal, with
 * structured fields GUEST=, GUEST_UUID=, TARGET_BYTES= and REASON=.
 */
#pragma once

#include <stdbool.h>
#include <syslog.h>

typedef struct LogFields {
        const char *guest;
        const char *uuid;
        const char *target; /* bytes, as text */
        const char *reason;
} LogFields;

void log_set_max_level(int level);
void log_fields(int level, const LogFields *f, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#define log_debug(...)   log_fields(LOG_DEBUG, NULL, __VA_ARGS__)
#define log_info(...)    log_fields(LOG_INFO, NULL, __VA_ARGS__)
#define log_notice(...)  log_fields(LOG_NOTICE, NULL, __VA_ARGS__)
#define log_warning(...) log_fields(LOG_WARNING, NULL, __VA_ARGS__)
#define log_error(...)   log_fields(LOG_ERR, NULL, __VA_ARGS__)

#define log_guest(level, g, ...)                                                                   \
        log_fields(level, &(LogFields){ .guest = (g)->name ? (g)->name : (g)->key,                 \
                                        .uuid = (g)->uuid },                                       \
                   __VA_ARGS__)

/* Logs and returns r (a negative errno), the systemd idiom. */
#define log_error_errno(r, ...) (log_error(__VA_ARGS__), (r))
