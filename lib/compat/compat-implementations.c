/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The table of known virtio-balloon devices and drivers and how each numbers
 * its queues. Every row names the source it was read from; docs/compat.md
 * has the longer story. Add rows, do not rename them: names are CLI input.
 */
#include <assert.h>
#include <strings.h>

#include "cleanup.h"
#include "compat-implementations.h"
#include "compat.h"

#define F(name) COMPAT_FEATURE(COMPAT_F_##name)

static const CompatImplementation implementations[] = {
        {
                .name = "qemu",
                .role = COMPAT_ROLE_DEVICE,
                .convention = COMPAT_CONVENTION_DENSE_OFFERED,
                .features = F(STATS_VQ) | F(PAGE_POISON),
                .features_optional = F(DEFLATE_ON_OOM) | F(FREE_PAGE_HINT) | F(PAGE_REPORTING),
                .queue_sizes = {128, 128, 128, 1024, 32},
                .notes = "Queues are added at realize for the configured features, so optional "
                         "queues are numbered over the offered features. The stats queue always "
                         "exists and STATS_VQ is always offered (get_features adds it); "
                         "free_page_vq only with free-page-hint=on, which refuses to start "
                         "without iothread=; reporting_vq only with free-page-reporting=on; "
                         "page-poison=on by default. Recorded on 7.2: hint and reporting on "
                         "give num-vqs 5, hint off and reporting on give 4 with reporting at 3.",
                .source_url = "https://github.com/qemu/qemu/blob/master/hw/virtio/virtio-balloon.c",
        },
        {
                .name = "linux",
                .role = COMPAT_ROLE_DRIVER,
                .convention = COMPAT_CONVENTION_DENSE_NEGOTIATED,
                .features = F(MUST_TELL_HOST) | F(STATS_VQ) | F(DEFLATE_ON_OOM) | F(FREE_PAGE_HINT),
                .features_optional = F(PAGE_POISON) | F(PAGE_REPORTING),
                .since = "5.0",
                .notes = "init_vqs() passes a NULL name for each queue whose feature was not "
                         "negotiated and the transports number the named ones consecutively "
                         "(a229989d975e \"virtio: don't allocate vqs when names[i] = NULL\", "
                         "5.0-rc3). Page reporting since 5.7. PAGE_POISON is accepted only with "
                         "init_on_free or page poisoning, and then REPORTING only if PAGE_POISON "
                         "was offered. 6.11 to a fix posted 2026-03: unbinding the driver "
                         "dereferences NULL when a skipped queue precedes a used one "
                         "(89a1c435aec2). s390 virtio-ccw until 2025-04 (2ccd42b959aa): adapter "
                         "interrupt bits counted the skipped queues, so with free-page-hint=off "
                         "and free-page-reporting=on the reporting worker hung although both "
                         "sides agreed on queue 3.",
                .source_url = "https://github.com/torvalds/linux/blob/master/drivers/virtio/"
                              "virtio_balloon.c",
        },
        {
                .name = "linux-4",
                .role = COMPAT_ROLE_DRIVER,
                .convention = COMPAT_CONVENTION_FIXED,
                .features = F(MUST_TELL_HOST) | F(STATS_VQ) | F(DEFLATE_ON_OOM),
                .features_optional = F(FREE_PAGE_HINT) | F(PAGE_POISON),
                .until = "5.0",
                .notes = "The PCI, MMIO and CCW transports set queue i of the request up at index "
                         "i and skipped NULL names without renumbering (\"virtio: support "
                         "reserved vqs\"). Up to 4.19 the driver asked for two or three queues, "
                         "stats last, where every convention gives the same indexes; 4.20 added "
                         "free page hinting with a NULL name for an unnegotiated stats queue.",
                .source_url = "https://github.com/torvalds/linux/commit/a229989d975e",
        },
        {
                .name = "crosvm",
                .role = COMPAT_ROLE_DEVICE,
                .convention = COMPAT_CONVENTION_DENSE_OFFERED,
                .vendor = COMPAT_VENDOR_CROSVM,
                .features = F(STATS_VQ) | F(DEFLATE_ON_OOM),
                .features_optional = F(PAGE_REPORTING) | F(CROSVM_WS_REPORTING),
                .since = "2025-04",
                .notes = "\"devices: virtio-balloon: change vq indexes based on features\" "
                         "(review 6454902, Daniel Verkamp): a queue exists when its feature is "
                         "offered and its index is reused otherwise, as in QEMU. No free page "
                         "hinting. Working-set reporting (vendor bit 8) adds ws_data and ws_op "
                         "after reporting_vq.",
                .source_url = "https://chromium.googlesource.com/crosvm/crosvm/+/"
                              "28a224e3fb19ce9fe1ce2a32b952af4c96e10bea",
        },
        {
                .name = "crosvm-2024",
                .role = COMPAT_ROLE_DEVICE,
                .convention = COMPAT_CONVENTION_FIXED,
                .vendor = COMPAT_VENDOR_CROSVM,
                .features = F(STATS_VQ) | F(DEFLATE_ON_OOM),
                .features_optional = F(PAGE_REPORTING) | F(CROSVM_WS_REPORTING),
                .until = "2025-04",
                .notes = "Hard-coded indexes: statsq 2, free_page_vq 3 (never offered), "
                         "reporting_vq 4, ws_data 5, ws_op 6. The upstream Linux driver puts "
                         "reports on queue 3, so free page reporting (--balloon-page-reporting) "
                         "never worked with it. Older crosvm (2022-2023) also offered the spec "
                         "proposal's bits 6 (RESPONSIVE_DEVICE) and 7 (EVENTS_VQ, an events "
                         "queue); not modelled.",
                .source_url = "https://lore.kernel.org/all/"
                              "39a67ca9-966b-40c1-b080-95d8e2cde376@redhat.com/",
        },
        {
                .name = "firecracker",
                .role = COMPAT_ROLE_DEVICE,
                .convention = COMPAT_CONVENTION_DENSE_OFFERED,
                .features = 0,
                .features_optional =
                        F(STATS_VQ) | F(DEFLATE_ON_OOM) | F(FREE_PAGE_HINT) | F(PAGE_REPORTING),
                .queue_sizes = {256, 256, 256, 256, 256},
                .notes = "STATS_VQ is offered only with stats_polling_interval_s > 0 and the "
                         "stats queue is removed otherwise; newer releases compute the hinting "
                         "and reporting queue indexes from the offered features "
                         "(free_page_hinting_idx(), free_page_reporting_idx()).",
                .source_url = "https://github.com/firecracker-microvm/firecracker/blob/main/src/"
                              "vmm/src/devices/virtio/balloon/device.rs",
        },
        {
                .name = "cloud-hypervisor",
                .role = COMPAT_ROLE_DEVICE,
                .convention = COMPAT_CONVENTION_DENSE_OFFERED,
                .features = 0,
                .features_optional = F(STATS_VQ) | F(DEFLATE_ON_OOM) | F(PAGE_REPORTING),
                .queue_sizes = {128, 128, 0, 0, 32},
                .notes = "Creates inflate and deflate, then a stats queue (newer releases) and a "
                         "reporting queue only when their features are offered; no free page "
                         "hinting, so reporting is queue 2 or 3.",
                .source_url = "https://github.com/cloud-hypervisor/cloud-hypervisor/blob/main/"
                              "virtio-devices/src/balloon.rs",
        },
        {
                .name = "libkrun",
                .role = COMPAT_ROLE_DEVICE,
                .convention = COMPAT_CONVENTION_FIXED,
                .features = F(STATS_VQ) | F(FREE_PAGE_HINT) | F(PAGE_REPORTING),
                .queue_sizes = {256, 256, 256, 256, 256},
                .notes = "Five queues at fixed indexes (IFQ 0, DFQ 1, STQ 2, PHQ 3, FRQ 4). "
                         "Offers STATS_VQ and FREE_PAGE_HINT without serving those queues and "
                         "serves only free page reporting, on queue 4: a driver that declines "
                         "FREE_PAGE_HINT and numbers over negotiated features reports to 3.",
                .source_url = "https://github.com/containers/libkrun/blob/main/src/devices/src/"
                              "virtio/balloon/device.rs",
        },
        {
                .name = "alioth",
                .role = COMPAT_ROLE_DEVICE,
                .convention = COMPAT_CONVENTION_DENSE_NEGOTIATED,
                .features = F(MUST_TELL_HOST) | F(STATS_VQ) | F(DEFLATE_ON_OOM) |
                            F(FREE_PAGE_HINT) | F(PAGE_POISON),
                .features_optional = F(PAGE_REPORTING),
                .notes = "Always exposes five queues; on activation assigns inflate, deflate, "
                         "then stats, free page and reporting in the order of the negotiated "
                         "features. The stats and free page queues are logged, not served.",
                .source_url = "https://github.com/google/alioth/blob/main/alioth/src/virtio/dev/"
                              "balloon.rs",
        },
        {
                .name = "rcore",
                .role = COMPAT_ROLE_DRIVER,
                .convention = COMPAT_CONVENTION_FIXED,
                .features = F(STATS_VQ) | F(FREE_PAGE_HINT) | F(PAGE_REPORTING),
                .since = "2026-06 (pull request)",
                .notes = "rcore-os/virtio-drivers pull request #251, open: constants INFLATEQ 0 "
                         "to REPORTINGQ 4, the spec's indexes whatever was offered. Against QEMU "
                         "with free-page-hint=off and free-page-reporting=on it asks for queue "
                         "4, which does not exist.",
                .source_url = "https://github.com/rcore-os/virtio-drivers/pull/251",
        },
};

const CompatImplementation *compat_implementation_get(size_t i)
{
        return i < ELEMENTSOF(implementations) ? &implementations[i] : NULL;
}

const CompatImplementation *compat_implementation_lookup(const char *name)
{
        assert(name);

        for (size_t i = 0; i < ELEMENTSOF(implementations); i++)
                if (strcasecmp(implementations[i].name, name) == 0)
                        return &implementations[i];
        return NULL;
}

void compat_implementation_side(const CompatImplementation *impl, CompatSide *ret)
{
        assert(impl);
        assert(ret);

        *ret = (CompatSide){
                .name = impl->name,
                .convention = impl->convention,
                .vendor = impl->vendor,
        };
}
