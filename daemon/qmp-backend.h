/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Guests found as QMP sockets (QMPSockets= globs) and driven over our own
 * QMP connections. */
#pragma once

#include "backend.h"

extern const BackendOps qmp_backend_ops;
