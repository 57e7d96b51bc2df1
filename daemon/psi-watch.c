/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "psi-watch.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "host.h"
#include "log.h"
#include "psi-trigger.h"

/* PSI's some total now, or 0 when it cannot be read. */
static uint64_t read_total(PsiWatch *w)
{
        char buf[256];
        HostSample h = { 0 };
        ssize_t n = pread(w->fd, buf, sizeof(buf) - 1, 0);

        if (n <= 0)
                return 0;
        buf[n] = '\0';
        return host_parse_psi(buf, &h) < 0 ? 0 : h.psi_some_total_usec;
}

/* The kernel's unprivileged trigger also wakes for stalls far smaller than
 * it asks for (at the first stall after it is set, and again in the window
 * after). A wake-up counts when the stall since the cycle before the last
 * (at least a cycle ago, so that a cycle just before the wake-up does not
 * hide the stall) or, before two cycles, since the trigger was set, is what
 * the trigger asks for (psi_trigger_genuine()); one that cannot be checked
 * counts. */
static bool woken_for_a_stall(PsiWatch *w)
{
        uint64_t since = *w->prev2_total_usec ? *w->prev2_total_usec : w->set_total_usec;

        return psi_trigger_genuine(read_total(w), since, w->stall_usec);
}

static int on_psi_event(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        PsiWatch *w = userdata;

        if (revents & (EPOLLERR | EPOLLHUP)) {
                log_warning("the PSI trigger on pressure/memory failed; host pressure is read "
                            "at each cycle only");
                psi_watch_stop(w);
                return 0;
        }
        if (!woken_for_a_stall(w)) {
                w->false_fires++;
                log_debug("PSI trigger woke memtided without the stall it asks for: ignored");
                return 0;
        }
        w->fires++;
        log_debug("PSI trigger: tasks stalled on memory, running the cycle early");
        w->on_stall(w->userdata);
        return 0;
}

void psi_watch_start(PsiWatch *w, sd_event *event, const char *proc_root, bool enabled,
                     const uint64_t *prev2_total_usec, void (*on_stall)(void *userdata),
                     void *userdata)
{
        int r;

        w->fd = -1;
        w->prev2_total_usec = prev2_total_usec;
        w->on_stall = on_stall;
        w->userdata = userdata;
        if (!enabled)
                return;
        r = psi_trigger_open(proc_root, &w->window_usec);
        if (r < 0) {
                log_info("no PSI trigger on %s/pressure/memory (%s): host pressure is read at "
                         "each cycle",
                         proc_root, strerror(-r));
                return;
        }
        w->fd = r;
        w->stall_usec = w->window_usec == PSI_TRIGGER_WINDOW_USEC ? PSI_TRIGGER_STALL_USEC
                                                                  : PSI_TRIGGER_UNPRIV_STALL_USEC;
        w->set_total_usec = read_total(w);
        r = sd_event_add_io(event, &w->source, w->fd, EPOLLPRI, on_psi_event, w);
        if (r < 0) {
                log_warning_errno(r, "Failed to watch the PSI trigger: %m");
                return psi_watch_stop(w);
        }
        log_info("PSI trigger: a cycle as soon as tasks stall on memory for %" PRIu64
                 " ms within %" PRIu64 " s",
                 w->stall_usec / 1000, w->window_usec / 1000000);
}

void psi_watch_stop(PsiWatch *w)
{
        w->source = sd_event_source_disable_unref(w->source);
        if (w->fd >= 0)
                close(w->fd);
        w->fd = -1;
}
