/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Minimal checks for memtide's unit tests: a failed check names file, line and values, then aborts. */
#pragma once

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define check(expr)                                                                                \
        do {                                                                                       \
                if (!(expr)) {                                                                     \
                        fprintf(stderr, "%s:%d: %s: check failed: %s\n", __FILE__, __LINE__,      \
                                __func__, #expr);                                                  \
                        abort();                                                                   \
                }                                                                                  \
        } while (0)

#define check_u64_eq(actual, expected)                                                             \
        do {                                                                                       \
                uint64_t _a = (actual), _e = (expected);                                           \
                if (_a != _e) {                                                                    \
                        fprintf(stderr, "%s:%d: %s: %s is %" PRIu64 ", expected %" PRIu64 "\n",    \
                                __FILE__, __LINE__, __func__, #actual, _a, _e);                    \
                        abort();                                                                   \
                }                                                                                  \
        } while (0)

#define check_str_contains(haystack, needle)                                                       \
        do {                                                                                       \
                const char *_h = (haystack), *_n = (needle);                                       \
                if (!_h || !strstr(_h, _n)) {                                                      \
                        fprintf(stderr, "%s:%d: %s: \"%s\" does not contain \"%s\"\n", __FILE__,   \
                                __LINE__, __func__, _h ? _h : "(null)", _n);                       \
                        abort();                                                                   \
                }                                                                                  \
        } while (0)

#define RUN(test)                                                                                  \
        do {                                                                                       \
                test();                                                                            \
                printf("ok %s\n", #test);                                                          \
        } while (0)
