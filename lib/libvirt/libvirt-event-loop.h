/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libvirt's default event loop on a thread of its own, shared by every user
 * in the process. libvirt keeps the event implementation in globals
 * (virEventRegisterDefaultImpl can be called once and never undone), so this
 * is the one place with process-wide state: a reference count, the thread,
 * and the once-only library initialisation.
 *
 * Without a running event loop libvirt delivers no domain events, sends no
 * keepalive pings and cannot cut off a call to a dead libvirtd.
 */
#pragma once

#include <pthread.h>

/*
 * Initialises libvirt (virInitialize, the default event implementation, a
 * quiet global error handler) once per process and starts the loop thread
 * if this is the first reference. Returns 0 or -errno.
 */
int libvirt_event_loop_ref(void);

/* Drops a reference; the last one stops and joins the thread. Must not be
 * called from the loop thread itself (an event callback). */
void libvirt_event_loop_unref(void);

/* pthread_create() with every signal blocked in the new thread, so that
 * the caller's signalfd (sd-event) receives them all. Returns 0 or -errno. */
int libvirt_thread_create(pthread_t *t, void *(*fn)(void *), void *userdata);
