/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The control socket: a varlink service (io.memtide.Manager) on a Unix socket. */
#pragma once

#include "cleanup.h"
#include "manager.h"

typedef struct ControlServer ControlServer;

/* Connections served at once; the last CONTROL_RESERVED_CLIENTS only to root
 * and the memtide group, so that other users cannot lock them out. */
#define CONTROL_MAX_CLIENTS      32
#define CONTROL_RESERVED_CLIENTS 8
/* Connections one user may hold at once (root excepted: the reserve is for
 * it). memtidectl uses one per command. */
#define CONTROL_MAX_CLIENTS_PER_UID 8
/* A client that sends and reads nothing for this long is closed. */
#define CONTROL_IDLE_TIMEOUT_SEC 30
/* Refused connections and closed clients: the first is logged, then a count
 * at most this often. */
#define CONTROL_REFUSAL_LOG_INTERVAL_SEC 10
/*
 * Replies queued for one client beyond which its requests wait, and its
 * socket is not read, until it reads them (backpressure: nothing is dropped).
 * One reply may take the queue past it, so a client holds at most this plus
 * its largest reply: 256 KiB is some 60 GetMetrics replies of a small host.
 */
#define CONTROL_MAX_QUEUED_BYTES (256u * 1024u)
/* What a client that sent a bad request may still send before it is cut off. */
#define CONTROL_DRAIN_MAX_BYTES (1024 * 1024)
/* Members may change guests and reload; anyone who can open the socket may
 * read. Its gid is looked up when the server starts (a group made later
 * counts from the next restart); membership is the peer's, from the kernel. */
#define CONTROL_WRITE_GROUP "memtide"

int control_server_new(ControlServer **ret, Manager *m, const char *path);
/* Serves fd (taken), a connected socket, unless a limit refuses its peer
 * (-EUSERS, logged). on_accept's path, also for tests. */
int control_server_add_client(ControlServer *s, int fd);
ControlServer *control_server_free(ControlServer *s);

/* The description GetInterfaceDescription serves for an interface, or NULL
 * when memtided has no such interface (InterfaceNotFound). */
const char *control_interface_description(const char *interface);
/* The i-th method served ("io.memtide.Manager.GetStatus") and the parameters
 * it takes (NULL-terminated), or NULL past the last: for the test that holds
 * the methods to their interface descriptions. */
const char *control_method(size_t i, const char *const **ret_parameters);
DEFINE_POINTER_CLEANUP(ControlServer, control_server_free)
