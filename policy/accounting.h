/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Accounting shared by the strategies and the guard rails (accounting.c). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "model.h"
#include "policy-config.h"

bool guest_stats_usable(const GuestSample *g);
uint64_t guest_used_bytes(const GuestSample *g);
double host_pressure(const PolicyConfig *config, const HostSample *host);
uint64_t guest_headroom_bytes(const PolicyConfig *config, const GuestSample *g, double pressure);
uint64_t guest_ceiling_bytes(const GuestSample *g);
uint64_t guest_floor_bytes(const PolicyConfig *config, const HostSample *host,
                           const GuestSample *g);
