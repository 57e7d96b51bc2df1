/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Host memory pressure seen as it happens: a PSI trigger
 * (lib/host/psi-trigger.h) on the event loop brings the control cycle
 * forward when tasks stall on memory, instead of leaving it to the next
 * Interval=. Where the kernel refuses triggers (no PSI, an old kernel
 * without the right to them) the cycle keeps its timer; logged once.
 */
#pragma once

#include <stdint.h>

#include <systemd/sd-event.h>

#include <stdbool.h>

typedef struct PsiWatch {
        int fd; /* -1: no trigger */
        sd_event_source *source;
        uint64_t window_usec;    /* the trigger's window: 1 s, or 2 s unprivileged */
        uint64_t stall_usec;     /* the stall it asks for within the window */
        uint64_t set_total_usec; /* PSI's some total when it was set */
        uint64_t fires;          /* times the kernel woke us for a real stall */
        uint64_t false_fires;    /* woken without that much stall (a kernel bug) */
        /* PSI's some total at the cycle before the last (its owner's; 0 before
         * two cycles): the stall that counts is measured from there. */
        const uint64_t *prev2_total_usec;
        void (*on_stall)(void *userdata); /* a real stall: run the cycle soon */
        void *userdata;
} PsiWatch;

/* Sets the trigger on proc_root/pressure/memory up when enabled
 * (PressureTrigger=), calling on_stall from the loop when tasks stall;
 * never fails the daemon (refused: logged once, no trigger). */
void psi_watch_start(PsiWatch *w, sd_event *event, const char *proc_root, bool enabled,
                     const uint64_t *prev2_total_usec, void (*on_stall)(void *userdata),
                     void *userdata);
void psi_watch_stop(PsiWatch *w);
