/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * memtided's logging. In a terminal: one line per event on stderr, with
 * "guest NAME:" on every line about a guest. Under systemd: the journal, with
 * structured fields GUEST=, GUEST_UUID=, TARGET_BYTES= and REASON=.
 */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <syslog.h>

typedef struct LogFields {
        const char *guest;
        const char *uuid;
        const char *target; /* bytes, as text */
        const char *reason;
} LogFields;

void log_set_max_level(int level);
int log_get_max_level(void);
void log_fields(int level, const LogFields *f, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

#define log_debug(...)   log_fields(LOG_DEBUG, NULL, __VA_ARGS__)
#define log_info(...)    log_fields(LOG_INFO, NULL, __VA_ARGS__)
#define log_notice(...)  log_fields(LOG_NOTICE, NULL, __VA_ARGS__)
#define log_warning(...) log_fields(LOG_WARNING, NULL, __VA_ARGS__)
#define log_error(...)   log_fields(LOG_ERR, NULL, __VA_ARGS__)

#define log_guest(level, g, ...)                                                                   \
        log_fields(level,                                                                          \
                   &(LogFields){ .guest = (g)->name ? (g)->name : (g)->key, .uuid = (g)->uuid },   \
                   __VA_ARGS__)

#define log_oom() log_error_errno(-ENOMEM, "Out of memory")

/*
 * The errno idiom (systemd's): log with errno set from r (a negative errno),
 * so that "%m" in the format names the error, and return r:
 *     return log_error_errno(r, "Failed to listen on %s: %m", path);
 */
#define log_full_errno(level, f, r, ...)                                                           \
        ({                                                                                         \
                int _r = (r);                                                                      \
                errno = _r < 0 ? -_r : _r;                                                         \
                log_fields(level, f, __VA_ARGS__);                                                 \
                _r;                                                                                \
        })
#define log_error_errno(r, ...)   log_full_errno(LOG_ERR, NULL, r, __VA_ARGS__)
#define log_warning_errno(r, ...) log_full_errno(LOG_WARNING, NULL, r, __VA_ARGS__)
#define log_guest_errno(level, g, r, ...)                                                          \
        log_full_errno(                                                                            \
                level,                                                                             \
                (&(LogFields){ .guest = (g)->name ? (g)->name : (g)->key, .uuid = (g)->uuid }), r, \
                __VA_ARGS__)
