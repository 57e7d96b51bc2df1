/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The KSM controller's place in memtided: every KSM interval, read the host
 * and /sys/kernel/mm/ksm, let lib/host/ksm.c decide, write only what changed.
 * Off unless [KSM] Enabled=yes; figures are read for status either way.
 */
#include <errno.h>
#include <string.h>

#include "ksm-control.h"
#include "log.h"

/* Shareable memory as MOM counts it: what the guests hold now (each at most
 * what its devices can give it: a guest can have QEMU report any size). */
static uint64_t committed_bytes(Manager *m)
{
        uint64_t sum = 0;
        for (size_t i = 0; i < m->n_guests; i++) {
                const Guest *g = m->guests[i];
                if (g->state == GUEST_READY)
                        sum = ksm_committed_add(sum, guest_total_bytes(g),
                                                guest_device_max_bytes(g));
        }
        return sum;
}

void ksm_control_run(Manager *m)
{
        const KsmConfig *c = &m->config->ksm;
        KsmSample sample = { .host = m->host, .committed_bytes = committed_bytes(m) };
        KsmDecision d;
        int r;

        r = ksm_read(c->sysfs_path, &sample.ksm);
        m->ksm = sample.ksm;
        if (!c->enabled || r < 0 || !m->host_ok)
                return;
        ksm_decide(c, &sample, &m->ksm_state, &d);
        if (d.action == KSM_ACTION_NONE)
                return;
        r = ksm_apply(c->sysfs_path, &sample.ksm, &d);
        if (r < 0) {
                if (r != m->ksm_last_error)
                        log_error_errno(r, "Failed to tune KSM in %s: %m", c->sysfs_path);
                m->ksm_last_error = r;
                return;
        }
        m->ksm_last_error = 0;
        if (r > 0)
                log_info("KSM: %s", d.reason);
        (void)ksm_read(c->sysfs_path, &m->ksm);
}
