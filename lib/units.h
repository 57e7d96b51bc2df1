/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Parsing and printing of sizes (binary K/M/G/T suffixes) and times (ms, s, min). */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* "512M", "1G", "4096" (bytes), "1.5G". Returns 0 or -EINVAL / -ERANGE. */
int parse_size(const char *s, uint64_t *ret_bytes);

/* "500ms", "2s", "1min", "2" (seconds). Returns 0 or -EINVAL / -ERANGE. */
int parse_time_usec(const char *s, uint64_t *ret_usec);

/* "511.9 MiB"-style human form into buf; returns buf. */
const char *format_bytes(char *buf, size_t size, uint64_t bytes);
