/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The control socket: a varlink service (io.memtide.Manager) on a Unix socket. */
#pragma once

#include "cleanup.h"
#include "manager.h"

typedef struct ControlServer ControlServer;

#define CONTROL_MAX_CLIENTS 32
/*
 * Replies queued for one client beyond which its requests wait, and its
 * socket is not read, until it reads them (backpressure: nothing is dropped).
 * One reply may take the queue past it, so a client holds at most this plus
 * its largest reply: 256 KiB is some 60 GetMetrics replies of a small host.
 */
#define CONTROL_MAX_QUEUED_BYTES (256u * 1024u)
/* What a client that sent a bad request may still send before it is cut off. */
#define CONTROL_DRAIN_MAX_BYTES (1024 * 1024)
/* Members may change guests and reload; anyone who can open the socket may read. */
#define CONTROL_WRITE_GROUP "memtide"

int control_server_new(ControlServer **ret, Manager *m, const char *path);
ControlServer *control_server_free(ControlServer *s);
DEFINE_POINTER_CLEANUP(ControlServer, control_server_free)
