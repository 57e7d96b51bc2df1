/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Scope-bound ownership: small cleanup-attribute helpers used across memtide. */
#pragma once

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <json-c/json.h>

#define _cleanup_(f) __attribute__((cleanup(f)))

/* Hand ownership out of a cleanup-scoped variable. */
#define TAKE_PTR(p)                                                                                \
        ({                                                                                         \
                typeof(p) _taken_ = (p);                                                           \
                (p) = NULL;                                                                        \
                _taken_;                                                                           \
        })

#define TAKE_FD(fd)                                                                                \
        ({                                                                                         \
                int _taken_fd_ = (fd);                                                             \
                (fd) = -1;                                                                         \
                _taken_fd_;                                                                        \
        })

/* Defines name##p(type **) that calls func(*p) when *p is set. */
#define DEFINE_POINTER_CLEANUP(type, func)                                                         \
        static inline void func##p(type **p)                                                       \
        {                                                                                          \
                if (*p)                                                                            \
                        func(*p);                                                                  \
        }

static inline void freep(void *p)
{
        free(*(void **)p);
}

static inline void closep(int *fd)
{
        if (*fd >= 0) {
                int saved = errno;
                close(*fd);
                errno = saved;
        }
}

static inline void fclosep(FILE **f)
{
        if (*f)
                fclose(*f);
}

static inline void json_object_putp(json_object **o)
{
        if (*o)
                json_object_put(*o);
}

#define _cleanup_free_  _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)
#define _cleanup_fclose_ _cleanup_(fclosep)
#define _cleanup_json_  _cleanup_(json_object_putp)

#define ELEMENTSOF(a) (sizeof(a) / sizeof((a)[0]))
