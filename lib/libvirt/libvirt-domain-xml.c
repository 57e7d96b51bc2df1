/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "libvirt-domain-xml.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "cleanup.h"

/* Sizes above 2^57 bytes no machine addresses (as OVERRIDE_MAX_BYTES). */
#define MAX_BYTES (UINT64_C(1) << 57)

static inline void xml_free_docp(xmlDocPtr *d)
{
        if (*d)
                xmlFreeDoc(*d);
}

static inline void xml_freep(xmlChar **s)
{
        if (*s)
                xmlFree(*s);
}

const char *libvirt_min_source_to_string(LibvirtMinSource s)
{
        switch (s) {
        case LIBVIRT_MIN_MEMTUNE:
                return "libvirt memtune/min_guarantee";
        case LIBVIRT_MIN_OVIRT:
                return "libvirt metadata ovirt-vm:minGuaranteedMemoryMb";
        default:
                return NULL;
        }
}

/* libvirt's scaled integers (docs: formatdomain "Memory Allocation"); KiB by default. */
static int unit_factor(const char *unit, uint64_t *ret)
{
        static const struct {
                const char *name;
                uint64_t factor;
        } units[] = {
                { "b", 1 },
                { "bytes", 1 },
                { "KB", 1000 },
                { "k", 1024 },
                { "KiB", 1024 },
                { "MB", 1000 * 1000 },
                { "M", 1024 * 1024 },
                { "MiB", 1024 * 1024 },
                { "GB", 1000 * 1000 * 1000 },
                { "G", UINT64_C(1) << 30 },
                { "GiB", UINT64_C(1) << 30 },
                { "TB", UINT64_C(1000) * 1000 * 1000 * 1000 },
                { "T", UINT64_C(1) << 40 },
                { "TiB", UINT64_C(1) << 40 },
        };

        if (!unit) {
                *ret = 1024;
                return 0;
        }
        for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
                /* libvirt compares case-insensitively, except that "b" is bytes */
                if (strcasecmp(unit, units[i].name) == 0) {
                        *ret = units[i].factor;
                        return 0;
                }
        return -EINVAL;
}

/* The element's text times factor, in bytes; 0 when it is no size. */
static uint64_t node_number(xmlNodePtr n, uint64_t factor)
{
        _cleanup_(xml_freep) xmlChar *text = xmlNodeGetContent(n);
        unsigned long long v;
        char *end;

        if (!text || !(text[0] >= '0' && text[0] <= '9'))
                return 0;
        errno = 0;
        v = strtoull((const char *)text, &end, 10);
        if (errno != 0 || *end != '\0' || v > MAX_BYTES / factor)
                return 0;
        return v * factor;
}

/* A libvirt scaled size: text and unit='...'. */
static uint64_t node_size(xmlNodePtr n)
{
        _cleanup_(xml_freep) xmlChar *unit = xmlGetProp(n, (const xmlChar *)"unit");
        uint64_t factor;

        if (unit_factor((const char *)unit, &factor) < 0)
                return 0;
        return node_number(n, factor);
}

/* The first element child called name, in namespace ns (NULL: any, or none). */
static xmlNodePtr child(xmlNodePtr parent, const char *name, const char *ns)
{
        for (xmlNodePtr n = parent ? parent->children : NULL; n; n = n->next) {
                if (n->type != XML_ELEMENT_NODE || strcmp((const char *)n->name, name) != 0)
                        continue;
                if (!ns || (n->ns && n->ns->href && strcmp((const char *)n->ns->href, ns) == 0))
                        return n;
        }
        return NULL;
}

/* oVirt's engine has written the inner element with and without the prefix. */
static uint64_t ovirt_min_bytes(xmlNodePtr domain)
{
        xmlNodePtr vm = child(child(domain, "metadata", NULL), "vm", LIBVIRT_OVIRT_VM_NAMESPACE);
        xmlNodePtr min = child(vm, "minGuaranteedMemoryMb", NULL);

        return min ? node_number(min, 1024 * 1024) : 0;
}

/* The <domain> root of a domain XML as libvirt writes it, or NULL. */
static xmlNodePtr read_domain(const char *xml, size_t len, xmlDocPtr *ret_doc)
{
        xmlDocPtr doc;
        xmlNodePtr domain;

        if (len > INT_MAX)
                return NULL;
        /* No network, no entity expansion, no DTD: only the elements themselves. */
        doc = xmlReadMemory(xml, (int)len, "domain.xml", NULL,
                            XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
        *ret_doc = doc;
        domain = doc ? xmlDocGetRootElement(doc) : NULL;
        /* libvirt writes no DTD; one brings entities, which xmlNodeGetContent expands */
        if (!domain || doc->intSubset || strcmp((const char *)domain->name, "domain") != 0)
                return NULL;
        return domain;
}

int libvirt_domain_xml_memory(const char *xml, size_t len, LibvirtDomainMemory *ret)
{
        _cleanup_(xml_free_docp) xmlDocPtr doc = NULL;
        xmlNodePtr domain = read_domain(xml, len, &doc), n;
        LibvirtDomainMemory m = { 0 };

        if (!domain)
                return -EINVAL;
        n = child(child(domain, "memtune", NULL), "min_guarantee", NULL);
        if (n && (m.min_bytes = node_size(n)) > 0)
                m.min_source = LIBVIRT_MIN_MEMTUNE;
        else if ((m.min_bytes = ovirt_min_bytes(domain)) > 0)
                m.min_source = LIBVIRT_MIN_OVIRT;
        n = child(domain, "currentMemory", NULL);
        if (n)
                m.current_bytes = node_size(n);
        *ret = m;
        return 0;
}

static bool is_virtio_mem(xmlNodePtr n)
{
        _cleanup_(xml_freep) xmlChar *model = NULL;

        if (n->type != XML_ELEMENT_NODE || strcmp((const char *)n->name, "memory") != 0)
                return false;
        model = xmlGetProp(n, (const xmlChar *)"model");
        return model && strcmp((const char *)model, "virtio-mem") == 0;
}

/* The <devices><memory model='virtio-mem'> after prev (NULL: the first). */
static xmlNodePtr next_vmem_device(xmlNodePtr domain, xmlNodePtr prev)
{
        xmlNodePtr devices = child(domain, "devices", NULL);
        xmlNodePtr n = prev ? prev->next : devices ? devices->children : NULL;

        while (n && !is_virtio_mem(n))
                n = n->next;
        return n;
}

/* The device's <alias name=...>, "" when it has none (not running, or too long). */
static void device_alias(xmlNodePtr dev, char *buf, size_t size)
{
        xmlNodePtr a = child(dev, "alias", NULL);
        _cleanup_(xml_freep) xmlChar *name = a ? xmlGetProp(a, (const xmlChar *)"name") : NULL;

        buf[0] = '\0';
        if (name && strlen((const char *)name) < size)
                snprintf(buf, size, "%s", (const char *)name);
}

static uint64_t target_size(xmlNodePtr target, const char *name)
{
        xmlNodePtr n = child(target, name, NULL);
        return n ? node_size(n) : 0;
}

/* <node>N</node>: the NUMA node, -1 when absent or no number. */
static int64_t node_index(xmlNodePtr n)
{
        _cleanup_(xml_freep) xmlChar *text = n ? xmlNodeGetContent(n) : NULL;
        uint64_t v = n ? node_number(n, 1) : 0;

        return text && text[0] >= '0' && text[0] <= '9' && v <= INT_MAX ? (int64_t)v : -1;
}

static void read_vmem_device(xmlNodePtr dev, VmemDevice *d)
{
        xmlNodePtr target = child(dev, "target", NULL);

        *d = (VmemDevice){ 0 };
        device_alias(dev, d->id, sizeof(d->id));
        d->max_bytes = target_size(target, "size");
        d->block_bytes = target_size(target, "block");
        d->requested_bytes = target_size(target, "requested");
        d->plugged_bytes = target_size(target, "current");
        d->node = node_index(child(target, "node", NULL));
}

int libvirt_domain_xml_vmem(const char *xml, size_t len, LibvirtDomainVmem *ret)
{
        _cleanup_(xml_free_docp) xmlDocPtr doc = NULL;
        xmlNodePtr domain = read_domain(xml, len, &doc), n;
        LibvirtDomainVmem v = { 0 };

        if (!domain)
                return -EINVAL;
        for (n = next_vmem_device(domain, NULL); n; n = next_vmem_device(domain, n)) {
                if (v.n_devices < LIBVIRT_MAX_VMEM)
                        read_vmem_device(n, &v.devices[v.n_devices++]);
                v.n_total++;
        }
        n = child(child(domain, "devices", NULL), "memballoon", NULL);
        if (n) {
                _cleanup_(xml_freep) xmlChar *model = xmlGetProp(n, (const xmlChar *)"model");
                v.no_balloon = model && strcmp((const char *)model, "none") == 0;
        }
        n = child(domain, "memory", NULL);
        v.memory_bytes = n ? node_size(n) : 0;
        n = child(domain, "currentMemory", NULL);
        v.current_bytes = n ? node_size(n) : 0;
        *ret = v;
        return 0;
}

static xmlNodePtr find_vmem_device(xmlNodePtr domain, const char *alias)
{
        char id[VMEM_DEVICE_ID_MAX];

        for (xmlNodePtr n = next_vmem_device(domain, NULL); n; n = next_vmem_device(domain, n)) {
                device_alias(n, id, sizeof(id));
                if (strcmp(id, alias) == 0)
                        return n;
        }
        return NULL;
}

/* <requested unit='KiB'>N</requested> in the device's <target>, replacing the old one. */
static int set_requested(xmlNodePtr dev, uint64_t requested_bytes)
{
        xmlNodePtr target = child(dev, "target", NULL), old, n;
        char kib[32];

        if (!target)
                return -EINVAL;
        snprintf(kib, sizeof(kib), "%" PRIu64, requested_bytes / 1024);
        n = xmlNewNode(NULL, (const xmlChar *)"requested");
        if (!n || !xmlNewProp(n, (const xmlChar *)"unit", (const xmlChar *)"KiB")) {
                xmlFreeNode(n);
                return -ENOMEM;
        }
        xmlNodeSetContent(n, (const xmlChar *)kib);
        old = child(target, "requested", NULL);
        if (old) {
                xmlReplaceNode(old, n);
                xmlFreeNode(old);
        } else if (!xmlAddChild(target, n)) {
                xmlFreeNode(n);
                return -ENOMEM;
        }
        return 0;
}

int libvirt_domain_xml_vmem_request(const char *xml, size_t len, const char *alias,
                                    uint64_t requested_bytes, char **ret)
{
        _cleanup_(xml_free_docp) xmlDocPtr doc = NULL;
        xmlNodePtr domain = read_domain(xml, len, &doc), dev;
        xmlBufferPtr buf;
        int r;

        if (!domain)
                return -EINVAL;
        if (!alias[0] || !(dev = find_vmem_device(domain, alias)))
                return -ENOENT;
        if (requested_bytes % 1024 != 0)
                return -EINVAL;
        r = set_requested(dev, requested_bytes);
        if (r < 0)
                return r;
        buf = xmlBufferCreate();
        if (!buf)
                return -ENOMEM;
        r = xmlNodeDump(buf, doc, dev, 0, 0) < 0 ? -ENOMEM : 0;
        if (r == 0 && !(*ret = strdup((const char *)xmlBufferContent(buf))))
                r = -ENOMEM;
        xmlBufferFree(buf);
        return r;
}
