/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "libvirt-vmem.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "manager.h"

/* guest_vmem_changed() with the guest's devices as they are now. */
static void vmem_refresh(Guest *g, uint64_t now_usec)
{
        VmemDevice devs[GUEST_MAX_VMEM];
        size_t n = g->vmem.n_devices;

        memcpy(devs, g->vmem.devices, n * sizeof(devs[0]));
        guest_vmem_changed(g, devs, n, g->vmem.n_total, now_usec);
}

bool libvirt_vmem_guest_added(Guest *g, const LibvirtDomainVmem *v, uint64_t now_usec)
{
        guest_vmem_changed(g, v->devices, v->n_devices, v->n_total, now_usec);
        if (v->n_total > 0 && !guest_vmem_driven(g))
                log_guest(LOG_WARNING, g,
                          "virtio-mem device(s) without an alias: shown, not driven");
        return guest_vmem_driven(g) != NULL;
}

static VmemDevice *device_by_alias(Guest *g, const char *alias)
{
        for (size_t i = 0; i < g->vmem.n_devices; i++)
                if (strcmp(g->vmem.devices[i].id, alias) == 0)
                        return &g->vmem.devices[i];
        return NULL;
}

void libvirt_vmem_size_changed(Guest *g, const char *alias, uint64_t plugged_bytes,
                               uint64_t now_usec)
{
        VmemDevice *d = device_by_alias(g, alias);

        if (!d)
                return;
        d->plugged_bytes = plugged_bytes;
        vmem_refresh(g, now_usec);
}

void libvirt_vmem_tick(Guest *g, uint64_t now_usec)
{
        if (guest_vmem_driven(g))
                vmem_refresh(g, now_usec);
}

int libvirt_vmem_request(LibvirtBackend *lb, Guest *g, uint64_t requested_bytes)
{
        const VmemDevice *d = guest_vmem_driven(g);
        uint64_t id;

        if (!d)
                return -ENODEV;
        return libvirt_backend_set_vmem(lb, g->uuid, d->id, requested_bytes, &id);
}

void libvirt_vmem_set_done(Guest *g, const LibvirtResult *r, uint64_t now_usec)
{
        VmemDevice *d = device_by_alias(g, r->vmem.alias);

        if (r->r == -ECANCELED)
                return;
        if (r->r >= 0) {
                if (d) {
                        d->requested_bytes = r->vmem.bytes;
                        vmem_refresh(g, now_usec);
                }
                return;
        }
        g->command_pending = false;
        g->manager->balloon_commands_failed++;
        log_guest(LOG_WARNING, g, "virtio-mem %s: requested size failed: %s", r->vmem.alias,
                  r->error ? r->error : strerror(-r->r));
}
