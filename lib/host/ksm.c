/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "ksm.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "units.h"

void ksm_config_init(KsmConfig *c)
{
        /* ksmtuned's defaults (ksmtuned.conf); MOM's ksm.rules has the same. */
        *c = (KsmConfig){
                .enabled = false,
                .threshold_share = 0.20,        /* KSM_THRES_COEF=20, MOM ksm_free_percent */
                .threshold_min_bytes = 2 * GIB, /* KSM_THRES_CONST=2048, read as MiB as vdsm does */
                /* ksmtuned runs ksmd when committed + threshold > MemTotal, i.e.
                 * committed above 100 % - KSM_THRES_COEF of the host. */
                .committed_share = 0.80,
                .pages_boost = 300,                 /* KSM_NPAGES_BOOST */
                .pages_decay = 50,                  /* KSM_NPAGES_DECAY=-50 */
                .pages_min = 64,                    /* KSM_NPAGES_MIN */
                .pages_max = 1250,                  /* KSM_NPAGES_MAX */
                .sleep_msec_per_16gib = 10,         /* KSM_SLEEP_MSEC */
                .interval_usec = 60 * USEC_PER_SEC, /* KSM_MONITOR_INTERVAL */
        };
}

const char *ksm_run_state_to_string(const KsmFigures *f)
{
        if (!f->available)
                return "unavailable";
        switch (f->run) {
        case 0:
                return "stopped";
        case 1:
                return "running";
        case 2:
                return "unmerging";
        default:
                return "unknown";
        }
}

uint64_t ksm_saved_bytes(const KsmFigures *f, uint64_t page_size)
{
        return f->available ? f->pages_sharing * page_size : 0;
}

uint32_t ksm_sleep_millisecs(const KsmConfig *config, uint64_t mem_total_bytes)
{
        uint32_t per_16gib = config->sleep_msec_per_16gib;
        /* The floor never overrides an administrator who asked for less. */
        uint32_t floor_ms = per_16gib < KSM_SLEEP_MSEC_FLOOR ? per_16gib : KSM_SLEEP_MSEC_FLOOR;
        uint64_t ms;

        if (mem_total_bytes == 0)
                return per_16gib;
        ms = (uint64_t)per_16gib * 16 * GIB / mem_total_bytes;
        if (ms < floor_ms)
                ms = floor_ms;
        return ms > UINT32_MAX ? UINT32_MAX : (uint32_t)ms;
}

/*
 * QEMU reports a guest's size as its memory minus a page count the guest
 * writes, unchecked: a guest can be reported at nearly 2^64. No guest holds
 * more than it booted with, so that is what it counts for; and the sum
 * saturates rather than wrap.
 */
uint64_t ksm_committed_add(uint64_t committed, uint64_t actual_bytes, uint64_t boot_bytes)
{
        uint64_t bytes = boot_bytes && actual_bytes > boot_bytes ? boot_bytes : actual_bytes;

        return committed > UINT64_MAX - bytes ? UINT64_MAX : committed + bytes;
}

/* share x total in bytes, saturating: a double at or past 2^64 does not
 * convert to uint64_t (undefined; 0 on x86-64). */
static uint64_t share_of_bytes(double share, uint64_t total)
{
        double bytes = share * (double)total;

        return bytes >= 0x1p64 ? UINT64_MAX : (uint64_t)bytes;
}

/* MemAvailable (Linux >= 3.14) is the kernel's own estimate; ksmtuned and MOM
 * predate it and count MemFree + Buffers + Cached. */
static uint64_t host_free_bytes(const HostSample *h)
{
        if (h->mem_available_bytes > 0)
                return h->mem_available_bytes;
        return h->mem_free_bytes + h->buffers_bytes + h->cached_bytes;
}

static uint32_t next_pages_to_scan(const KsmConfig *c, uint32_t current, bool pressure)
{
        uint32_t hi = c->pages_max > c->pages_min ? c->pages_max : c->pages_min;
        uint64_t n;

        if (pressure)
                n = (uint64_t)current + c->pages_boost;
        else
                n = current > c->pages_decay ? current - c->pages_decay : 0;
        if (n < c->pages_min)
                n = c->pages_min;
        if (n > hi)
                n = hi;
        return (uint32_t)n;
}

void ksm_decide(const KsmConfig *config, const KsmSample *sample, KsmState *state, KsmDecision *ret)
{
        const KsmFigures *k = &sample->ksm;
        const HostSample *h = &sample->host;
        char free_s[32], thres_s[32], comm_s[32], limit_s[32], total_s[32];
        uint64_t free_bytes, threshold, committed_limit;
        bool pressure, overcommitted;

        /* By default the current values: nothing to write. */
        *ret = (KsmDecision){
                .action = KSM_ACTION_NONE,
                .run = k->run,
                .pages_to_scan = k->pages_to_scan,
                .sleep_millisecs = k->sleep_millisecs,
        };

        if (!config->enabled) {
                snprintf(ret->reason, sizeof(ret->reason), "KSM control is off (Enabled=no)");
                return;
        }
        if (!k->available) {
                state->started_by_us = false;
                snprintf(ret->reason, sizeof(ret->reason),
                         "KSM unavailable: no sysfs directory (kernel without CONFIG_KSM?)");
                return;
        }
        if (h->mem_total_bytes == 0) {
                snprintf(ret->reason, sizeof(ret->reason),
                         "no host memory figures: ksmd left as it is");
                return;
        }
        if (k->run != 0 && k->run != 1) {
                /* run=2 unmerges every page: someone asked for that, let it finish. */
                state->started_by_us = false;
                snprintf(ret->reason, sizeof(ret->reason),
                         "ksmd run=%" PRIu32 " (unmerging): left alone", k->run);
                return;
        }

        free_bytes = host_free_bytes(h);
        threshold = share_of_bytes(config->threshold_share, h->mem_total_bytes);
        if (threshold < config->threshold_min_bytes)
                threshold = config->threshold_min_bytes;
        committed_limit = share_of_bytes(config->committed_share, h->mem_total_bytes);
        pressure = free_bytes < threshold;
        overcommitted = sample->committed_bytes > committed_limit;
        ret->pressure = pressure;
        ret->threshold_bytes = threshold;

        format_bytes(free_s, sizeof(free_s), free_bytes);
        format_bytes(thres_s, sizeof(thres_s), threshold);
        format_bytes(comm_s, sizeof(comm_s), sample->committed_bytes);
        format_bytes(limit_s, sizeof(limit_s), committed_limit);
        format_bytes(total_s, sizeof(total_s), h->mem_total_bytes);

        if (!pressure && !overcommitted) {
                if (k->run == 1 && state->started_by_us) {
                        ret->action = KSM_ACTION_STOP;
                        ret->run = 0;
                        state->started_by_us = false;
                        snprintf(ret->reason, sizeof(ret->reason),
                                 "not needed (free %s >= %s, committed %s <= %s): stopping ksmd",
                                 free_s, thres_s, comm_s, limit_s);
                } else if (k->run == 1)
                        snprintf(ret->reason, sizeof(ret->reason),
                                 "not needed (free %s >= %s, committed %s <= %s), but ksmd was "
                                 "started by someone else: left running",
                                 free_s, thres_s, comm_s, limit_s);
                else {
                        state->started_by_us = false;
                        snprintf(ret->reason, sizeof(ret->reason),
                                 "not needed (free %s >= %s, committed %s <= %s): ksmd stays "
                                 "stopped",
                                 free_s, thres_s, comm_s, limit_s);
                }
                return;
        }

        if (k->run == 0)
                state->started_by_us = true;
        ret->action = KSM_ACTION_RUN;
        ret->run = 1;
        ret->pages_to_scan = next_pages_to_scan(config, k->pages_to_scan, pressure);
        ret->sleep_millisecs = ksm_sleep_millisecs(config, h->mem_total_bytes);
        if (pressure)
                snprintf(ret->reason, sizeof(ret->reason),
                         "free %s < %s: boost pages_to_scan %" PRIu32 " -> %" PRIu32
                         ", sleep %" PRIu32 " ms",
                         free_s, thres_s, k->pages_to_scan, ret->pages_to_scan,
                         ret->sleep_millisecs);
        else
                snprintf(ret->reason, sizeof(ret->reason),
                         "committed %s > %.0f%% of %s, free %s >= %s: decay pages_to_scan %" PRIu32
                         " -> %" PRIu32 ", sleep %" PRIu32 " ms",
                         comm_s, config->committed_share * 100, total_s, free_s, thres_s,
                         k->pages_to_scan, ret->pages_to_scan, ret->sleep_millisecs);
}

/* One unsigned decimal and an optional newline, as sysfs prints them. */
static int read_u64_at(int dir_fd, const char *name, uint64_t *ret)
{
        _cleanup_close_ int fd = -1;
        char buf[32], *end;
        ssize_t n;
        unsigned long long v;

        fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        n = read(fd, buf, sizeof(buf) - 1);
        if (n < 0)
                return -errno;
        buf[n] = '\0';
        if (n == 0 || buf[0] < '0' || buf[0] > '9')
                return -EINVAL;
        errno = 0;
        v = strtoull(buf, &end, 10);
        if (errno != 0 || (*end != '\0' && strcmp(end, "\n") != 0))
                return -EINVAL;
        *ret = v;
        return 0;
}

static int read_u32_at(int dir_fd, const char *name, uint32_t *ret)
{
        uint64_t v;
        int r = read_u64_at(dir_fd, name, &v);
        if (r < 0)
                return r;
        if (v > UINT32_MAX)
                return -ERANGE;
        *ret = (uint32_t)v;
        return 0;
}

int ksm_read(const char *sysfs_dir, KsmFigures *ret)
{
        _cleanup_close_ int dir_fd = -1;
        KsmFigures f = { .available = true };
        int r;

        *ret = (KsmFigures){ 0 };
        dir_fd = open(sysfs_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir_fd < 0)
                return -errno;
        if ((r = read_u32_at(dir_fd, "run", &f.run)) < 0 ||
            (r = read_u32_at(dir_fd, "pages_to_scan", &f.pages_to_scan)) < 0 ||
            (r = read_u32_at(dir_fd, "sleep_millisecs", &f.sleep_millisecs)) < 0 ||
            (r = read_u64_at(dir_fd, "pages_shared", &f.pages_shared)) < 0 ||
            (r = read_u64_at(dir_fd, "pages_sharing", &f.pages_sharing)) < 0 ||
            (r = read_u64_at(dir_fd, "pages_unshared", &f.pages_unshared)) < 0 ||
            (r = read_u64_at(dir_fd, "pages_volatile", &f.pages_volatile)) < 0 ||
            (r = read_u64_at(dir_fd, "full_scans", &f.full_scans)) < 0)
                return r;
        *ret = f;
        return 0;
}

static int write_u32_at(int dir_fd, const char *name, uint32_t value)
{
        _cleanup_close_ int fd = -1;
        char buf[16];
        int len = snprintf(buf, sizeof(buf), "%" PRIu32 "\n", value);
        ssize_t n;

        /* O_TRUNC is a no-op on sysfs and keeps a fake tree in tests honest. */
        fd = openat(dir_fd, name, O_WRONLY | O_TRUNC | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        n = write(fd, buf, len);
        if (n < 0)
                return -errno;
        if (n != len)
                return -EIO;
        return 0;
}

int ksm_apply(const char *sysfs_dir, const KsmFigures *current, const KsmDecision *decision)
{
        _cleanup_close_ int dir_fd = -1;
        int r, written = 0;

        if (!current->available)
                return -ENOENT;
        if (decision->pages_to_scan == current->pages_to_scan &&
            decision->sleep_millisecs == current->sleep_millisecs && decision->run == current->run)
                return 0;
        dir_fd = open(sysfs_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir_fd < 0)
                return -errno;
        if (decision->pages_to_scan != current->pages_to_scan) {
                r = write_u32_at(dir_fd, "pages_to_scan", decision->pages_to_scan);
                if (r < 0)
                        return r;
                written++;
        }
        if (decision->sleep_millisecs != current->sleep_millisecs) {
                r = write_u32_at(dir_fd, "sleep_millisecs", decision->sleep_millisecs);
                if (r < 0)
                        return r;
                written++;
        }
        if (decision->run != current->run) {
                r = write_u32_at(dir_fd, "run", decision->run);
                if (r < 0)
                        return r;
                written++;
        }
        return written;
}
