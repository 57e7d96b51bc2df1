/* SPDX-License-Identifier: GPL-2.0-or-later */
/* memtided's logging: one line per event on stderr, with the guest named on every guest line. */
#pragma once

#include <syslog.h>

void log_set_max_level(int level);
void log_msg(int level, const char *guest, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#define log_debug(...)  log_msg(LOG_DEBUG, NULL, __VA_ARGS__)
#define log_info(...)   log_msg(LOG_INFO, NULL, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_NOTICE, NULL, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_WARNING, NULL, __VA_ARGS__)
#define log_error(...)  log_msg(LOG_ERR, NULL, __VA_ARGS__)

#define log_guest(level, g, ...) log_msg(level, (g)->name ? (g)->name : (g)->socket_path, __VA_ARGS__)

/* Logs and returns r (a negative errno), the systemd idiom. */
#define log_error_errno(r, ...) (log_msg(LOG_ERR, NULL, __VA_ARGS__), (r))
