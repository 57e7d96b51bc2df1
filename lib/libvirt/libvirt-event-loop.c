/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The process-wide libvirt event loop thread (see libvirt-event-loop.h for
 * why it is global).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>

#include <libxml/parser.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "libvirt-event-loop.h"

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_result;

static pthread_mutex_t loop_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned loop_refs;
static pthread_t loop_thread;
static atomic_bool loop_stop;

/* libvirt prints every error on stderr unless a handler is set. */
static void libvirt_quiet_error(void *userdata, virErrorPtr error)
{
}

static void libvirt_init_once(void)
{
        /* virInitialize first: it sets up libvirt's thread-local error
         * storage and drivers before any thread of ours calls in. */
        if (virInitialize() < 0 || virEventRegisterDefaultImpl() < 0) {
                init_result = -EIO;
                return;
        }
        virSetErrorFunc(NULL, libvirt_quiet_error);
        /* libxml2's global set-up is not safe to race: done here, once, before
         * the worker parses domain definitions (libvirt-domain-xml.c). */
        xmlInitParser();
}

static void *libvirt_event_loop_run(void *userdata)
{
        while (!loop_stop)
                if (virEventRunDefaultImpl() < 0)
                        break;
        return NULL;
}

static void libvirt_event_loop_wakeup(int timer, void *userdata)
{
}

int libvirt_thread_create(pthread_t *t, void *(*fn)(void *), void *userdata)
{
        sigset_t all, old;
        int r;

        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        r = pthread_create(t, NULL, fn, userdata);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        return -r;
}

int libvirt_event_loop_ref(void)
{
        int r = 0;

        pthread_once(&init_once, libvirt_init_once);
        if (init_result < 0)
                return init_result;

        pthread_mutex_lock(&loop_lock);
        if (loop_refs == 0) {
                loop_stop = false;
                r = libvirt_thread_create(&loop_thread, libvirt_event_loop_run, NULL);
        }
        if (r == 0)
                loop_refs++;
        pthread_mutex_unlock(&loop_lock);
        return r;
}

void libvirt_event_loop_unref(void)
{
        int timer;

        pthread_mutex_lock(&loop_lock);
        if (loop_refs == 0 || --loop_refs > 0) {
                pthread_mutex_unlock(&loop_lock);
                return;
        }
        /* virEventRunDefaultImpl() sleeps until something happens: a timer
         * due at once wakes it up to see the flag. */
        loop_stop = true;
        timer = virEventAddTimeout(0, libvirt_event_loop_wakeup, NULL, NULL);
        pthread_join(loop_thread, NULL);
        if (timer >= 0)
                virEventRemoveTimeout(timer);
        pthread_mutex_unlock(&loop_lock);
}
