/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Domain definitions (tests/fixtures/libvirt/) as memtide reads them: minimum and
 * currentMemory, virtio-mem devices, and the device XML that resizes one. */
#include <errno.h>

#include "cleanup.h"
#include "libvirt-domain-xml.h"
#include "test-util.h"

#define MiB (UINT64_C(1) << 20)

static char *read_fixture(const char *name)
{
        _cleanup_free_ char *path = NULL;
        _cleanup_fclose_ FILE *f = NULL;
        char *text;

        check(asprintf(&path, "%s/libvirt/%s", FIXTURE_DIR, name) > 0);
        f = fopen(path, "re");
        check(f);
        text = calloc(1, 65536);
        check(text);
        (void)fread(text, 1, 65535, f);
        return text;
}

static LibvirtDomainMemory parse_fixture(const char *name)
{
        _cleanup_free_ char *text = read_fixture(name);
        LibvirtDomainMemory m;

        check_int(libvirt_domain_xml_memory(text, strlen(text), &m), 0);
        return m;
}

static void test_ovirt_metadata_where_qemu_refuses_min_guarantee(void)
{
        LibvirtDomainMemory m = parse_fixture("ovirt-metadata.xml");

        check_int(m.min_source, LIBVIRT_MIN_OVIRT);
        check_u64_eq(m.min_bytes, 200 * MiB);
        check_u64_eq(m.current_bytes, 256 * MiB);
        check_str(libvirt_min_source_to_string(m.min_source),
                  "libvirt metadata ovirt-vm:minGuaranteedMemoryMb");
}

static void test_ovirt_metadata_unprefixed(void)
{
        LibvirtDomainMemory m = parse_fixture("ovirt-metadata-unprefixed.xml");

        check_int(m.min_source, LIBVIRT_MIN_OVIRT);
        check_u64_eq(m.min_bytes, 2048 * MiB);
        check_u64_eq(m.current_bytes, 0);
}

static void test_memtune_wins_over_metadata(void)
{
        LibvirtDomainMemory m = parse_fixture("memtune.xml");

        check_int(m.min_source, LIBVIRT_MIN_MEMTUNE);
        check_u64_eq(m.min_bytes, 512 * MiB);
        check_u64_eq(m.current_bytes, 1536 * MiB);
        check_str(libvirt_min_source_to_string(m.min_source), "libvirt memtune/min_guarantee");
}

static void test_nothing_to_use(void)
{
        LibvirtDomainMemory m = parse_fixture("plain.xml");

        check_int(m.min_source, LIBVIRT_MIN_NONE);
        check_u64_eq(m.min_bytes, 0);
        check_u64_eq(m.current_bytes, 0);
}

static void test_units_and_bad_sizes(void)
{
        static const struct {
                const char *xml;
                uint64_t bytes;
        } cases[] = {
                { "<domain><currentMemory>1024</currentMemory></domain>", 1024 * 1024 },
                { "<domain><currentMemory unit='b'>4096</currentMemory></domain>", 4096 },
                { "<domain><currentMemory unit='MB'>3</currentMemory></domain>", 3000000 },
                { "<domain><currentMemory unit='G'>1</currentMemory></domain>", 1024 * MiB },
                { "<domain><currentMemory unit='parsec'>1</currentMemory></domain>", 0 },
                { "<domain><currentMemory>-1</currentMemory></domain>", 0 },
                { "<domain><currentMemory unit='TiB'>99999999</currentMemory></domain>", 0 },
                { "<domain><currentMemory>12 MiB</currentMemory></domain>", 0 },
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                LibvirtDomainMemory m;
                check_int(libvirt_domain_xml_memory(cases[i].xml, strlen(cases[i].xml), &m), 0);
                check_u64_eq(m.current_bytes, cases[i].bytes);
        }
}

/* Not a definition as libvirt writes them: refused, a DTD with entities too. */
static void test_not_a_domain(void)
{
        static const char *const bad[] = {
                "",
                "<domain>",
                "<network><currentMemory>1</currentMemory></network>",
                "not xml at all",
        };
        static const char entity[] = "<!DOCTYPE domain [<!ENTITY big \"1048576\">]>"
                                     "<domain><currentMemory>&big;</currentMemory></domain>";
        LibvirtDomainMemory m;

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                check_int(libvirt_domain_xml_memory(bad[i], strlen(bad[i]), &m), -EINVAL);
        check_int(libvirt_domain_xml_memory(entity, strlen(entity), &m), -EINVAL);
}

/* libvirt 9.0's live XML of a TCG guest: 256 MiB boot memory, a 1 GiB
 * virtio-mem device with 512 MiB plugged. */
static void test_virtio_mem_live_xml(void)
{
        _cleanup_free_ char *text = read_fixture("virtio-mem-live.xml");
        LibvirtDomainVmem v;
        const VmemDevice *d = &v.devices[0];

        check_int(libvirt_domain_xml_vmem(text, strlen(text), &v), 0);
        check_int(v.n_devices, 1);
        check_int(v.n_total, 1);
        check_str(d->id, "virtiomem0");
        check_int(d->max_bytes, 1024 * MiB);
        check_int(d->block_bytes, 2 * MiB);
        check_int(d->requested_bytes, 512 * MiB);
        check_int(d->plugged_bytes, 512 * MiB);
        check_int(d->node, 0);
        /* libvirt counts the devices in: boot + size, balloon + current */
        check_int(v.memory_bytes, (256 + 1024) * MiB);
        check_int(v.current_bytes, (256 + 512) * MiB);
}

static void test_virtio_mem_none_and_many(void)
{
        _cleanup_free_ char *text = read_fixture("memtune.xml");
        char many[4096] = "<domain><devices>";
        LibvirtDomainVmem v;

        check_int(libvirt_domain_xml_vmem(text, strlen(text), &v), 0);
        check_int(v.n_total, 0);
        check_int(v.n_devices, 0);
        for (int i = 0; i < LIBVIRT_MAX_VMEM + 2; i++)
                snprintf(many + strlen(many), sizeof(many) - strlen(many),
                         "<memory model='virtio-mem'><target><size unit='MiB'>%d</size>"
                         "</target><alias name='vm%d'/></memory><memory model='dimm'/>",
                         128 * (i + 1), i);
        strcat(many, "</devices></domain>");
        check_int(libvirt_domain_xml_vmem(many, strlen(many), &v), 0);
        check_int(v.n_total, LIBVIRT_MAX_VMEM + 2);
        check_int(v.n_devices, LIBVIRT_MAX_VMEM);
        check_str(v.devices[3].id, "vm3");
        check_int(v.devices[3].max_bytes, 512 * MiB);
        check_int(v.devices[3].node, -1);
        check_int(v.devices[3].plugged_bytes, 0);
}

/* The element comes back whole (libvirt matches the address, <current>
 * ...), only <requested> changed: read back as a device, it says so. */
static void test_virtio_mem_request_xml(void)
{
        _cleanup_free_ char *text = read_fixture("virtio-mem-live.xml");
        _cleanup_free_ char *dev = NULL, *wrapped = NULL;
        LibvirtDomainVmem v;

        check_int(
                libvirt_domain_xml_vmem_request(text, strlen(text), "virtiomem0", 256 * MiB, &dev),
                0);
        check(strstr(dev, "<address type=\"pci\""));
        check(strstr(dev, "<current unit=\"KiB\">524288</current>"));
        check(!strstr(dev, "524288</requested>"));
        check(asprintf(&wrapped, "<domain><devices>%s</devices></domain>", dev) > 0);
        check_int(libvirt_domain_xml_vmem(wrapped, strlen(wrapped), &v), 0);
        check_int(v.n_devices, 1);
        check_str(v.devices[0].id, "virtiomem0");
        check_int(v.devices[0].requested_bytes, 256 * MiB);
        check_int(v.devices[0].plugged_bytes, 512 * MiB);
        check_int(v.devices[0].max_bytes, 1024 * MiB);
}

static void test_virtio_mem_request_refused(void)
{
        _cleanup_free_ char *text = read_fixture("virtio-mem-live.xml");
        char *dev = NULL;

        check_int(libvirt_domain_xml_vmem_request(text, strlen(text), "virtiomem9", MiB, &dev),
                  -ENOENT);
        check_int(libvirt_domain_xml_vmem_request(text, strlen(text), "", MiB, &dev), -ENOENT);
        check_int(libvirt_domain_xml_vmem_request(text, strlen(text), "virtiomem0", 1000, &dev),
                  -EINVAL);
        check_int(libvirt_domain_xml_vmem_request("<dom/>", 6, "virtiomem0", MiB, &dev), -EINVAL);
        check(dev == NULL);
}

int main(void)
{
        RUN(test_ovirt_metadata_where_qemu_refuses_min_guarantee);
        RUN(test_ovirt_metadata_unprefixed);
        RUN(test_memtune_wins_over_metadata);
        RUN(test_nothing_to_use);
        RUN(test_units_and_bad_sizes);
        RUN(test_not_a_domain);
        RUN(test_virtio_mem_live_xml);
        RUN(test_virtio_mem_none_and_many);
        RUN(test_virtio_mem_request_xml);
        RUN(test_virtio_mem_request_refused);
        return 0;
}
