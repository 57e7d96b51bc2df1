/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A backend for benchmarks: guests in-process, whose balloon reaches any
 * target at once. Guests are added by the benchmark (fake_backend_add_guest). */
#pragma once

#include <stdint.h>

#include "backend.h"
#include "guest.h"

extern const BackendOps fake_backend_ops;

/* A ready guest of size_bytes, its balloon at its maximum. */
int fake_backend_add_guest(Manager *m, const char *key, uint64_t size_bytes, Guest **ret);
