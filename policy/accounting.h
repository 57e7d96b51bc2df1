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
/* What is left of GuestMemoryBudget= (0 without one, or when overdrawn). */
uint64_t host_budget_left_bytes(const HostSample *host);
/* What the host can still give its guests: MemAvailable, or less of the
 * budget when one is set. */
uint64_t host_available_bytes(const HostSample *host);
uint64_t guest_headroom_bytes(const PolicyConfig *config, const GuestSample *g, double pressure);
/* The guest's maximum: its boot memory, or a lower MaxMemory= or override. */
uint64_t guest_ceiling_bytes(const GuestSample *g);
/* The memory it booted with: the balloon's physical top. */
uint64_t guest_boot_bytes(const GuestSample *g);
/* Its maximum is below its use plus HeadroomMin= (and its boot memory). */
bool guest_max_under_use(const PolicyConfig *config, const GuestSample *g);
/* The most the guard rails give: the maximum, or the floor above a maximum
 * under use unless MaxMemoryBelowFloor=yes. */
uint64_t guest_top_bytes(const PolicyConfig *config, const GuestSample *g);
uint64_t guest_floor_bytes(const PolicyConfig *config, const HostSample *host,
                           const GuestSample *g);
