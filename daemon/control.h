/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The control socket: a varlink service (io.memtide.Manager) on a Unix socket. */
#pragma once

#include "cleanup.h"
#include "manager.h"

typedef struct ControlServer ControlServer;

#define CONTROL_MAX_CLIENTS 32
/* What a client that sent a bad request may still send before it is cut off. */
#define CONTROL_DRAIN_MAX_BYTES (1024 * 1024)
/* Members may change guests and reload; anyone who can open the socket may read. */
#define CONTROL_WRITE_GROUP "memtide"

int control_server_new(ControlServer **ret, Manager *m, const char *path);
ControlServer *control_server_free(ControlServer *s);
DEFINE_POINTER_CLEANUP(ControlServer, control_server_free)
