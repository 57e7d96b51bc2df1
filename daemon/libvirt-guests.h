/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * memtided's libvirt backend: guests found and followed through libvirt
 * (lib/libvirt/ runs libvirt on its own threads; results arrive on an
 * eventfd in the main loop, which therefore never blocks on libvirtd).
 */
#pragma once

#include <stdbool.h>

#include "backend.h"

extern const BackendOps libvirt_backend_ops;

/* Whether a system libvirt daemon socket exists (what Backend=auto looks for). */
bool libvirt_socket_present(void);
