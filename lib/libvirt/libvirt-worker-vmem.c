/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * virtio-mem through libvirt, on the worker thread: a running domain's
 * devices from its live XML, their plugged size from libvirt's
 * MEMORY_DEVICE_SIZE_CHANGE event, and a new requested size through
 * virDomainUpdateDeviceFlags (libvirt 7.9 and later; Debian 12 has 9.0).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "libvirt-backend-private.h"

/* Event loop thread: only a note for the worker, as the other callbacks. */
void libvirt_worker_on_vmem_size(virConnectPtr conn, virDomainPtr dom, const char *alias,
                                 unsigned long long size_kib, void *opaque)
{
        LibvirtNote *n = calloc(1, sizeof(*n));

        if (!n || !alias || strlen(alias) >= sizeof(n->alias) ||
            virDomainGetUUIDString(dom, n->uuid) < 0) {
                free(n);
                return;
        }
        n->type = LIBVIRT_NOTE_VMEM_SIZE;
        n->actual_kib = size_kib;
        snprintf(n->alias, sizeof(n->alias), "%s", alias);
        libvirt_worker_note(opaque, n);
}

/*
 * libvirt counts the devices into the domain's sizes (LibvirtDomainVmem):
 * the balloon's own size and boot memory are what is left, both from the
 * same XML so that they agree with the devices' sizes in it. Checked on
 * libvirt 9.0: with a balloon <currentMemory> is the balloon plus every
 * device's <current>; without one it is <memory>.
 */
void libvirt_worker_read_vmem(LibvirtBackend *b, virDomainPtr dom, LibvirtGuestInfo *info)
{
        _cleanup_free_ char *xml = libvirt_worker_xml(b, dom, 0, NULL);
        LibvirtDomainVmem *v = &info->vmem;
        uint64_t plugged = 0, max = 0;

        if (!xml || libvirt_domain_xml_vmem(xml, strlen(xml), v) < 0) {
                *v = (LibvirtDomainVmem){ 0 };
                return;
        }
        if (v->n_total == 0)
                return;
        for (size_t i = 0; i < v->n_devices; i++) {
                plugged += v->devices[i].plugged_bytes;
                max += v->devices[i].max_bytes;
        }
        if (v->memory_bytes <= max)
                return;
        info->max_bytes = v->memory_bytes - max;
        /* Without a balloon libvirt's <currentMemory> is <memory>, whatever
         * is plugged: the guest has its boot memory plus the devices'. */
        if (v->no_balloon)
                info->actual_bytes = info->max_bytes;
        else if (v->current_bytes > plugged)
                info->actual_bytes = v->current_bytes - plugged;
}

void libvirt_worker_do_set_vmem(LibvirtBackend *b, LibvirtResultEntry *e, const char *alias)
{
        LibvirtWorkerGuest *g = libvirt_worker_request_guest(b, e);
        _cleanup_free_ char *xml = NULL, *device = NULL;
        int r;

        if (!g)
                return;
        xml = libvirt_worker_xml(b, g->dom, 0, &e->result.error);
        if (!xml) {
                e->result.r = -EIO;
                return;
        }
        r = libvirt_domain_xml_vmem_request(xml, strlen(xml), alias, e->result.vmem.bytes, &device);
        if (r < 0) {
                e->result.r = r;
                e->result.error = strdup(r == -ENOENT ? "no virtio-mem device with that alias"
                                                      : "cannot build the device XML");
                return;
        }
        libvirt_worker_call_begin(b, "virDomainUpdateDeviceFlags");
        r = virDomainUpdateDeviceFlags(g->dom, device, VIR_DOMAIN_DEVICE_MODIFY_LIVE);
        libvirt_worker_call_end(b);
        if (r < 0)
                e->result.r = libvirt_worker_failed(b, &e->result.error);
}
