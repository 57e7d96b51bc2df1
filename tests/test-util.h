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

#define check_u64(actual, expected) check_u64_eq(actual, expected)
#define check_contains(haystack, needle) check_str_contains(haystack, needle)

#define check_int(actual, expected)                                                                \
        do {                                                                                       \
                long long _a = (long long)(actual), _e = (long long)(expected);                    \
                if (_a != _e) {                                                                    \
                        fprintf(stderr, "%s:%d: %s: %s is %lld, expected %lld\n", __FILE__,        \
                                __LINE__, __func__, #actual, _a, _e);                              \
                        abort();                                                                   \
                }                                                                                  \
        } while (0)

#define check_str(actual, expected)                                                                \
        do {                                                                                       \
                const char *_a = (actual), *_e = (expected);                                       \
                if (!_a || strcmp(_a, _e) != 0) {                                                  \
                        fprintf(stderr, "%s:%d: %s: %s is \"%s\", expected \"%s\"\n", __FILE__,    \
                                __LINE__, __func__, #actual, _a ? _a : "(null)", _e);              \
                        abort();                                                                   \
                }                                                                                  \
        } while (0)

#define check_streq(actual, expected) check_str(actual, expected)
