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

#include <stddef.h>
#include <stdint.h>

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
