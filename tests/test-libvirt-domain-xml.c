/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Domain definitions (tests/fixtures/libvirt/) as memtide reads them: minimum and currentMemory. */
#include <errno.h>

#include "cleanup.h"
#include "libvirt-domain-xml.h"
#include "test-util.h"

#define MiB (UINT64_C(1) << 20)

static LibvirtDomainMemory parse_fixture(const char *name)
{
        _cleanup_free_ char *path = NULL, *text = NULL;
        _cleanup_fclose_ FILE *f = NULL;
        LibvirtDomainMemory m;
        size_t n;

        check(asprintf(&path, "%s/libvirt/%s", FIXTURE_DIR, name) > 0);
        f = fopen(path, "re");
        check(f);
        text = calloc(1, 65536);
        check(text);
        n = fread(text, 1, 65535, f);
        check_int(libvirt_domain_xml_memory(text, n, &m), 0);
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

int main(void)
{
        RUN(test_ovirt_metadata_where_qemu_refuses_min_guarantee);
        RUN(test_ovirt_metadata_unprefixed);
        RUN(test_memtune_wins_over_metadata);
        RUN(test_nothing_to_use);
        RUN(test_units_and_bad_sizes);
        RUN(test_not_a_domain);
        return 0;
}
