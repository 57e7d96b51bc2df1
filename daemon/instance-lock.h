/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * One memtided per set of guests: it holds an flock on a file beside its
 * control socket and one in its state directory for as long as it runs, so
 * that a second instance on the same socket or state refuses to start
 * instead of removing the first one's socket and steering the same guests.
 */
#pragma once

#include <sys/types.h>

/* Takes the lock on path (created 0600, holding our PID). Returns the fd,
 * to keep open; -EBUSY with the holder's PID in *ret_holder (0 unknown)
 * when another process has it; another -errno when it cannot be made. */
int instance_lock_take(const char *path, pid_t *ret_holder);
