/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What a libvirt domain definition says about a guest's memory that no
 * libvirt API hands out: the guaranteed minimum and the configured balloon
 * size. Pure: XML text in, plain struct out (the worker fetches the XML).
 *
 * The minimum, as MOM reads it: <memtune><min_guarantee>. libvirt's QEMU
 * driver refuses that element ("Parameter 'min_guarantee' not supported by
 * QEMU"), so on QEMU hosts oVirt keeps the guarantee in the domain's
 * metadata instead, <ovirt-vm:vm><ovirt-vm:minGuaranteedMemoryMb> in
 * namespace http://ovirt.org/vm/1.0, and vdsm hands it to MOM from there:
 * read as the fallback.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "memory-devices.h" /* VmemDevice */

#define LIBVIRT_OVIRT_VM_NAMESPACE "http://ovirt.org/vm/1.0"

typedef enum LibvirtMinSource {
        LIBVIRT_MIN_NONE,
        LIBVIRT_MIN_MEMTUNE, /* <memtune><min_guarantee> */
        LIBVIRT_MIN_OVIRT,   /* <metadata><ovirt-vm:vm><ovirt-vm:minGuaranteedMemoryMb> */
} LibvirtMinSource;

typedef struct LibvirtDomainMemory {
        LibvirtMinSource min_source;
        uint64_t min_bytes;
        uint64_t current_bytes; /* <currentMemory>; 0 when absent */
} LibvirtDomainMemory;

/*
 * Reads xml (a <domain>): 0, or -EINVAL when it is no domain definition
 * as libvirt writes them (one with a DTD is not).
 * A value that is no size is left out (0 / LIBVIRT_MIN_NONE), not an error:
 * libvirtd validated the definition, and the rest is still worth having.
 */
int libvirt_domain_xml_memory(const char *xml, size_t len, LibvirtDomainMemory *ret);

/* "libvirt memtune/min_guarantee", "libvirt metadata ovirt-vm:minGuaranteedMemoryMb". */
const char *libvirt_min_source_to_string(LibvirtMinSource s);

/* virtio-mem devices kept per domain; the rest are only counted. */
#define LIBVIRT_MAX_VMEM 4

/*
 * A running domain's virtio-mem devices (<devices><memory model='virtio-mem'>
 * of its live XML) and the two totals libvirt counts them into. libvirt 9.0
 * checked here: <memory> is boot memory plus every device's <size>, and
 * <currentMemory> (like virDomainGetInfo's memory and the bulk stats'
 * balloon.current) is the balloon's size plus every device's <current>
 * (without a balloon, <memballoon model='none'/>, it is <memory>);
 * the BALLOON_CHANGE event and virDomainSetMemoryFlags are the balloon's
 * own size, at most boot memory.
 */
typedef struct LibvirtDomainVmem {
        VmemDevice devices[LIBVIRT_MAX_VMEM]; /* id: the device's <alias>; plugged: <current> */
        size_t n_devices;                     /* in devices[] */
        size_t n_total;                       /* the domain has */
        uint64_t memory_bytes;                /* <memory> */
        uint64_t current_bytes;               /* <currentMemory> */
        bool no_balloon;                      /* <memballoon model='none'/> */
} LibvirtDomainVmem;

/* Reads xml (a live <domain>): 0, or -EINVAL as libvirt_domain_xml_memory(). */
int libvirt_domain_xml_vmem(const char *xml, size_t len, LibvirtDomainVmem *ret);

/*
 * The device XML for virDomainUpdateDeviceFlags() that asks the virtio-mem
 * device with this alias for requested_bytes: libvirt finds the device to
 * update only by the whole element as the live XML has it (address,
 * <current> and all), so it is that element with <requested> replaced.
 * *ret is malloc'd. -ENOENT: no such device; -EINVAL: no domain XML, or not
 * whole KiB.
 */
int libvirt_domain_xml_vmem_request(const char *xml, size_t len, const char *alias,
                                    uint64_t requested_bytes, char **ret);
