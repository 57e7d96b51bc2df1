/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Tests for lib/qemu/virtio-status.c, and for the live inference of lib/compat*.c,
 * on replies recorded from QEMU 7.2 (tests/fixtures/virtio, written by
 * record.py there): a virtio-balloon-pci with free-page-hint on/off and
 * free-page-reporting on/off, once with QEMU stopped before the guest ran
 * (-S, no driver) and once with a Linux 6.1 guest whose driver had bound,
 * sampled again after the guest allocated and freed 256 MiB.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cleanup.h"
#include "compat-implementations.h"
#include "compat-live.h"
#include "compat.h"
#include "virtio-status.h"
#include "test-util.h"

static unsigned n_passed;

#define STATS  COMPAT_FEATURE(COMPAT_F_STATS_VQ)
#define HINT   COMPAT_FEATURE(COMPAT_F_FREE_PAGE_HINT)
#define POISON COMPAT_FEATURE(COMPAT_F_PAGE_POISON)
#define REPORT COMPAT_FEATURE(COMPAT_F_PAGE_REPORTING)

static json_object *load_transcript(const char *name)
{
        char path[4096];
        json_object *o;

        snprintf(path, sizeof(path), "%s/virtio/%s", FIXTURE_DIR, name);
        o = json_object_from_file(path);
        if (!o) {
                fprintf(stderr, "cannot load fixture %s: %s\n", path, json_util_get_last_err());
                abort();
        }
        return o;
}

static json_object *member(json_object *o, const char *key)
{
        json_object *v = NULL;

        if (!json_object_object_get_ex(o, key, &v)) {
                fprintf(stderr, "fixture has no member %s\n", key);
                abort();
        }
        return v;
}

static json_object *parse(const char *text)
{
        json_object *o = json_tokener_parse(text);

        check(o);
        return o;
}

/*
 * Fills s from a transcript: x-query-virtio-status, then every queue reply
 * up to the error that ends the list. `phase` is NULL for the first sample,
 * "after-free" for the second. Returns the number of queue replies parsed and
 * checks that the error names the first missing queue.
 */
/*
 * True when a QMP error description is QEMU's answer to a queue number past
 * the device's last ("Invalid virtqueue number N"): how the recorded
 * fixtures' queue lists end. The daemon asks only for queues below num_vqs.
 */
static bool virtio_status_error_is_past_last_queue(const char *desc)
{
        static const char prefix[] = "Invalid virtqueue number ";
        const char *p;

        if (!desc || strncmp(desc, prefix, sizeof(prefix) - 1) != 0)
                return false;
        p = desc + sizeof(prefix) - 1;
        if (*p < '0' || *p > '9')
                return false;
        while (*p >= '0' && *p <= '9')
                p++;
        return *p == '\0';
}

static unsigned status_from_transcript(json_object *t, const char *phase, VirtioStatus *s)
{
        json_object *base = phase ? member(t, phase) : t, *queues;
        unsigned n = 0;

        check_int(
                virtio_status_from_qmp(s, member(member(base, "x-query-virtio-status"), "return")),
                0);
        queues = member(base, "x-query-virtio-queue-status");
        for (size_t i = 0; i < json_object_array_length(queues); i++) {
                json_object *reply = json_object_array_get_idx(queues, i), *ret, *err;
                char expected[64];

                if (json_object_object_get_ex(reply, "return", &ret)) {
                        check_int(virtio_status_set_queue(s, ret), 0);
                        n++;
                        continue;
                }
                err = member(reply, "error");
                snprintf(expected, sizeof(expected), "Invalid virtqueue number %u", n);
                check(strcmp(json_object_get_string(member(err, "desc")), expected) == 0);
                check(virtio_status_error_is_past_last_queue(
                        json_object_get_string(member(err, "desc"))));
                check(i + 1 == json_object_array_length(queues));
        }
        return n;
}

/* The guest printed its driver's sysfs "features": one '0'/'1' per bit, bit 0 first. */
static uint64_t guest_sysfs_features(json_object *t)
{
        json_object *lines = member(t, "guest-console");
        static const char marker[] = "memtide-guest: balloon driver loaded features=";

        for (size_t i = 0; i < json_object_array_length(lines); i++) {
                const char *l = json_object_get_string(json_object_array_get_idx(lines, i));
                uint64_t mask = 0;

                if (strncmp(l, marker, sizeof(marker) - 1) != 0)
                        continue;
                l += sizeof(marker) - 1;
                for (unsigned bit = 0; l[bit] && bit < 64; bit++)
                        if (l[bit] == '1')
                                mask |= UINT64_C(1) << bit;
                return mask;
        }
        abort();
}

static const struct {
        const char *name;
        uint64_t offered, negotiated;
        unsigned num_vqs;
        bool driver;
        uint16_t sizes[5];
        unsigned conventions; /* inferred for the driver fixtures */
        int reporting_queue;
        uint16_t reporting_used_before, reporting_used_after;
} fixtures[] = {
        {
                .name = "qemu72-hint-off-report-off-nodriver.json",
                .offered = STATS | POISON,
                .num_vqs = 3,
                .sizes = {128, 128, 128},
        },
        {
                .name = "qemu72-hint-off-report-on-nodriver.json",
                .offered = STATS | POISON | REPORT,
                .num_vqs = 4,
                .sizes = {128, 128, 128, 32},
        },
        {
                .name = "qemu72-hint-on-report-off-nodriver.json",
                .offered = STATS | POISON | HINT,
                .num_vqs = 4,
                .sizes = {128, 128, 128, 1024},
        },
        {
                .name = "qemu72-hint-on-report-on-nodriver.json",
                .offered = STATS | POISON | HINT | REPORT,
                .num_vqs = 5,
                .sizes = {128, 128, 128, 1024, 32},
        },
        {
                .name = "qemu72-hint-off-report-off-driver.json",
                .offered = STATS | POISON,
                .negotiated = STATS, /* no init_on_free in the guest: PAGE_POISON declined */
                .num_vqs = 3,
                .driver = true,
                .sizes = {128, 128, 128},
                .conventions = 0x7,
                .reporting_queue = -1,
        },
        {
                /* Hint off, reporting on: reporting is queue 3; a fixed driver would want 4. */
                .name = "qemu72-hint-off-report-on-driver.json",
                .offered = STATS | POISON | REPORT,
                .negotiated = STATS | REPORT,
                .num_vqs = 4,
                .driver = true,
                .sizes = {128, 128, 128, 32},
                .conventions = (1u << COMPAT_CONVENTION_DENSE_OFFERED) |
                               (1u << COMPAT_CONVENTION_DENSE_NEGOTIATED),
                .reporting_queue = 3,
                .reporting_used_before = 4,
                .reporting_used_after = 7,
        },
        {
                .name = "qemu72-hint-on-report-off-driver.json",
                .offered = STATS | POISON | HINT,
                .negotiated = STATS | HINT,
                .num_vqs = 4,
                .driver = true,
                .sizes = {128, 128, 128, 1024},
                .conventions = 0x7,
                .reporting_queue = -1,
        },
        {
                .name = "qemu72-hint-on-report-on-driver.json",
                .offered = STATS | POISON | HINT | REPORT,
                .negotiated = STATS | HINT | REPORT,
                .num_vqs = 5,
                .driver = true,
                .sizes = {128, 128, 128, 1024, 32},
                .conventions = 0x7,
                .reporting_queue = 4,
                .reporting_used_before = 4,
                .reporting_used_after = 6,
        },
};

static void test_find_balloon_path(void)
{
        _cleanup_json_ json_object *t = load_transcript("qemu72-hint-on-report-on-driver.json");
        _cleanup_json_ json_object *empty = parse("[]"), *bad = parse("[{\"name\": 1}]");
        _cleanup_json_ json_object *two =
                parse("[{\"name\": \"virtio-net\", \"path\": \"/a\"}, "
                      "{\"name\": \"virtio-balloon\", \"path\": \"/b\"}]");
        const char *path = NULL;

        check_int(virtio_status_find_device(member(member(t, "x-query-virtio"), "return"),
                                            "virtio-balloon", &path),
                  0);
        check(strcmp(path, "/machine/peripheral/balloon0/virtio-backend") == 0);
        check_int(virtio_status_find_device(two, "virtio-balloon", &path), 0);
        check(strcmp(path, "/b") == 0);
        check_int(virtio_status_find_device(empty, "virtio-balloon", &path), -ENOENT);
        check_int(virtio_status_find_device(bad, "virtio-balloon", &path), -EINVAL);
        check_int(virtio_status_find_device(member(t, "device"), "virtio-balloon", &path), -EINVAL);
}

static void test_every_fixture(void)
{
        for (size_t f = 0; f < sizeof(fixtures) / sizeof(fixtures[0]); f++) {
                _cleanup_json_ json_object *t = load_transcript(fixtures[f].name);
                VirtioStatus s;
                unsigned n;

                fprintf(stderr, "fixture %s\n", fixtures[f].name);
                n = status_from_transcript(t, NULL, &s);
                check_int(n, fixtures[f].num_vqs);
                check_int(s.device_id, 5);
                check_int(s.offered, fixtures[f].offered);
                check_int(s.negotiated, fixtures[f].negotiated);
                check_int(s.num_vqs, fixtures[f].num_vqs);
                check_int(s.driver_ok, fixtures[f].driver);
                check_int(s.n_unknown_features, 0);
                check_int(s.status, fixtures[f].driver ? 0x0f : 0);

                for (unsigned i = 0; i < VIRTIO_STATUS_MAX_QUEUES; i++) {
                        const VirtioQueueStatus *q = &s.queues[i];

                        if (i >= n) {
                                check(!q->answered);
                                continue;
                        }
                        check(q->answered);
                        check_int(q->set_up, fixtures[f].driver);
                        check_int(q->set_up, q->desc_addr != 0);
                        check_int(q->size, fixtures[f].sizes[i]);
                        check_int(q->size_default, fixtures[f].sizes[i]);
                }

                if (fixtures[f].driver) {
                        /* What QEMU says was negotiated is what the guest's sysfs says. */
                        check_int(guest_sysfs_features(t) & VIRTIO_STATUS_DEVICE_FEATURES,
                                  fixtures[f].negotiated);
                        /* Linux primes the stats queue with one buffer QEMU keeps. */
                        check_int(s.queues[2].last_avail_idx, 1);
                        check_int(s.queues[2].in_use, 1);
                        check_int(s.queues[2].used_idx, 0);
                }
        }
}

static void test_driver_fixture_exact_values(void)
{
        _cleanup_json_ json_object *t = load_transcript("qemu72-hint-on-report-on-driver.json");
        VirtioStatus s, after;

        status_from_transcript(t, NULL, &s);
        check_int(s.queues[0].desc_addr, 0x1fed3000);
        check_int(s.queues[1].desc_addr, 0x1fed4000);
        check_int(s.queues[2].desc_addr, 0x1ff29000);
        check_int(s.queues[3].desc_addr, 0x2878000);
        check_int(s.queues[4].desc_addr, 0x1ff28000);
        /* No migration ran: the free page queue was never used. */
        check_int(s.queues[3].used_idx, 0);
        check_int(s.queues[3].last_avail_idx, 0);
        check_int(s.queues[4].used_idx, 4);
        check_int(s.queues[4].last_avail_idx, 4);
        check_int(s.queues[4].in_use, 0);

        status_from_transcript(t, "after-free", &after);
        check_int(after.queues[4].desc_addr, 0x1ff28000);
        check_int(after.queues[4].used_idx, 6);
        check_int(after.queues[4].last_avail_idx, 6);
        check_int(after.negotiated, s.negotiated);
}

static void test_infer_on_fixtures(void)
{
        const CompatImplementation *qemu = compat_implementation_lookup("qemu");

        for (size_t f = 0; f < sizeof(fixtures) / sizeof(fixtures[0]); f++) {
                _cleanup_json_ json_object *t = load_transcript(fixtures[f].name);
                CompatInference inf;
                VirtioStatus s;

                status_from_transcript(t, NULL, &s);
                check_int(compat_infer(qemu, &s, &inf), 0);
                if (!fixtures[f].driver) {
                        check_int(inf.verdict, COMPAT_LIVE_UNKNOWN);
                        check(strcmp(inf.reason, "no driver has finished setting the device up "
                                                 "(status 0x00)") == 0);
                        continue;
                }
                if (inf.verdict != COMPAT_LIVE_AGREE)
                        fprintf(stderr, "%s: %s\n", fixtures[f].name, inf.reason);
                check_int(inf.verdict, COMPAT_LIVE_AGREE);
                check_int(inf.conventions, fixtures[f].conventions);
                check(inf.comparison.agree);
        }
}

static void test_infer_names_hint_off_reporting_on(void)
{
        _cleanup_json_ json_object *t = load_transcript("qemu72-hint-off-report-on-driver.json");
        CompatInference inf;
        VirtioStatus s;

        status_from_transcript(t, NULL, &s);
        check_int(compat_infer(compat_implementation_lookup("qemu"), &s, &inf), 0);
        check(strcmp(inf.reason, "the driver set up queues 0, 1, 2 and 3, as dense-offered or "
                                 "dense-negotiated numbering gives: the layouts agree") == 0);

        /* The same device state against a fixed driver, by the model: reports on 4, past the
         * device's last queue. */
        {
                CompatSide qemu, fixed = {"fixed", COMPAT_CONVENTION_FIXED, COMPAT_VENDOR_NONE};
                CompatVerdict v;

                compat_implementation_side(compat_implementation_lookup("qemu"), &qemu);
                check_int(compat_compare(&qemu, &fixed, s.offered, s.negotiated, &v), 0);
                check(!v.agree);
                check_int(v.device_layout.n_queues, s.num_vqs);
        }
}

static void test_reporting_moves_in_recorded_guest(void)
{
        for (size_t f = 0; f < sizeof(fixtures) / sizeof(fixtures[0]); f++) {
                _cleanup_json_ json_object *t = NULL;
                VirtioStatus before, after;
                CompatReportingWindow w;
                int q = fixtures[f].reporting_queue;

                if (!fixtures[f].driver || q < 0)
                        continue;
                t = load_transcript(fixtures[f].name);
                status_from_transcript(t, NULL, &before);
                status_from_transcript(t, "after-free", &after);
                check_int(before.queues[q].size, 32);
                check_int(before.queues[q].used_idx, fixtures[f].reporting_used_before);
                check_int(after.queues[q].used_idx, fixtures[f].reporting_used_after);

                /* The guest freed 256 MiB between the samples (its workload said "freed 256"). */
                w = (CompatReportingWindow){
                        .used_idx_start = before.queues[q].used_idx,
                        .used_idx_end = after.queues[q].used_idx,
                        .window_usec = UINT64_C(10) * 1000000,
                        .freed_bytes = UINT64_C(256) << 20,
                };
                check_int(compat_reporting_check(&w), COMPAT_REPORTING_ACTIVE);

                /* Had used-idx stood still, that would have been a stall. */
                w.used_idx_end = w.used_idx_start;
                check_int(compat_reporting_check(&w), COMPAT_REPORTING_STALLED);
        }
}

static void test_status_malformed(void)
{
        static const char *const bad[] = {
                "[]",
                "{}",
                /* no num-vqs */
                "{\"device-id\": 5, \"host-features\": {}, \"guest-features\": {}, "
                "\"status\": {\"statuses\": []}}",
                /* host-features not an object */
                "{\"device-id\": 5, \"num-vqs\": 3, \"host-features\": [], \"guest-features\": {}, "
                "\"status\": {\"statuses\": []}}",
                /* a feature that is not a string */
                "{\"device-id\": 5, \"num-vqs\": 3, \"host-features\": {\"dev-features\": [1]}, "
                "\"guest-features\": {}, \"status\": {\"statuses\": []}}",
                /* negative unknown bits */
                "{\"device-id\": 5, \"num-vqs\": 3, \"host-features\": {\"unknown-dev-features\": "
                "-1}, \"guest-features\": {}, \"status\": {\"statuses\": []}}",
                /* status without statuses */
                "{\"device-id\": 5, \"num-vqs\": 3, \"host-features\": {}, \"guest-features\": {}, "
                "\"status\": {}}",
                /* device id out of range */
                "{\"device-id\": 70000, \"num-vqs\": 3, \"host-features\": {}, "
                "\"guest-features\": {}, \"status\": {\"statuses\": []}}",
                /* num-vqs a string */
                "{\"device-id\": 5, \"num-vqs\": \"3\", \"host-features\": {}, "
                "\"guest-features\": {}, \"status\": {\"statuses\": []}}",
        };
        VirtioStatus s;

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                _cleanup_json_ json_object *o = parse(bad[i]);

                if (virtio_status_from_qmp(&s, o) != -EINVAL) {
                        fprintf(stderr, "accepted: %s\n", bad[i]);
                        abort();
                }
        }
}

static void test_status_feature_decoding(void)
{
        /* Unknown names are counted, names without a description still count, transport bits
         * among the unknown ones (QEMU 7.2 cannot name RING_RESET, bit 40) are dropped, and
         * device bits among them (a vendor's bit 8) are kept. */
        _cleanup_json_ json_object *o =
                parse("{\"device-id\": 5, \"num-vqs\": 7,"
                      " \"host-features\": {\"dev-features\": [\"VIRTIO_BALLOON_F_STATS_VQ\","
                      " \"VIRTIO_BALLOON_F_DEFLATE_ON_OOM: Deflate balloon on guest OOM\","
                      " \"VIRTIO_BALLOON_F_MUST_TELL_HOST: Tell host before reclaiming pages\","
                      " \"VIRTIO_BALLOON_F_FUTURE: something new\"],"
                      " \"unknown-dev-features\": 1100585369856},"
                      " \"guest-features\": {\"dev-features\": [], \"unknown-dev-features\": "
                      "18446744073709551615},"
                      " \"status\": {\"statuses\": [\"VIRTIO_CONFIG_S_ACKNOWLEDGE: x\","
                      " \"VIRTIO_CONFIG_S_DRIVER\", \"VIRTIO_CONFIG_S_FAILED: y\"], "
                      "\"unknown-statuses\": 16}}");
        VirtioStatus s;

        check_int(virtio_status_from_qmp(&s, o), 0);
        check_int(s.offered,
                  COMPAT_FEATURE(0) | COMPAT_FEATURE(1) | COMPAT_FEATURE(2) | COMPAT_FEATURE(8));
        check_int(s.negotiated, VIRTIO_STATUS_DEVICE_FEATURES);
        check_int(s.n_unknown_features, 1);
        check_int(s.status,
                  VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FAILED | 0x10);
        check(!s.driver_ok);
        check_int(s.num_vqs, 7);
}

static void test_queue_malformed_and_range(void)
{
        _cleanup_json_ json_object *no_desc = parse(
                "{\"queue-index\": 0, \"vring-num\": 128, \"used-idx\": 0, \"last-avail-idx\": 0}");
        _cleanup_json_ json_object *big = parse(
                "{\"queue-index\": 0, \"vring-desc\": 1, \"vring-num\": 65536, \"used-idx\": 0,"
                " \"last-avail-idx\": 0}");
        _cleanup_json_ json_object *far = parse(
                "{\"queue-index\": 16, \"vring-desc\": 0, \"vring-num\": 128, \"used-idx\": 0,"
                " \"last-avail-idx\": 0}");
        _cleanup_json_ json_object *minimal = parse(
                "{\"queue-index\": 2, \"vring-desc\": 4096, \"vring-num\": 64, \"used-idx\": 65535,"
                " \"last-avail-idx\": 3}");
        VirtioQueueStatus q;
        VirtioStatus s = {};
        unsigned index;

        check_int(virtio_queue_status_from_qmp(&q, &index, no_desc), -EINVAL);
        check_int(virtio_queue_status_from_qmp(&q, &index, big), -EINVAL);
        check_int(virtio_status_set_queue(&s, far), -ERANGE);
        check_int(virtio_status_set_queue(&s, minimal), 0);
        check(s.queues[2].answered && s.queues[2].set_up);
        check_int(s.queues[2].size, 64);
        check_int(s.queues[2].size_default, 0); /* not in the reply */
        check_int(s.queues[2].used_idx, 65535);
        check_int(s.queues[2].in_use, 0);
        check(!s.queues[1].answered);
}

static void test_past_last_queue_error(void)
{
        check(virtio_status_error_is_past_last_queue("Invalid virtqueue number 5"));
        check(virtio_status_error_is_past_last_queue("Invalid virtqueue number 12"));
        check(!virtio_status_error_is_past_last_queue("Invalid virtqueue number "));
        check(!virtio_status_error_is_past_last_queue("Invalid virtqueue number 5x"));
        check(!virtio_status_error_is_past_last_queue("Path /foo is not a VirtIODevice"));
        check(!virtio_status_error_is_past_last_queue(NULL));
}

int main(void)
{
        char dir[4096];
        struct stat st;

        snprintf(dir, sizeof(dir), "%s/virtio", FIXTURE_DIR);
        if (stat(dir, &st) < 0) {
                printf("fixtures not found at %s, skipping\n", dir);
                return 77;
        }

        RUN(test_find_balloon_path);
        RUN(test_every_fixture);
        RUN(test_driver_fixture_exact_values);
        RUN(test_infer_on_fixtures);
        RUN(test_infer_names_hint_off_reporting_on);
        RUN(test_reporting_moves_in_recorded_guest);
        RUN(test_status_malformed);
        RUN(test_status_feature_decoding);
        RUN(test_queue_malformed_and_range);
        RUN(test_past_last_queue_error);

        printf("%u passed, 0 failed\n", n_passed);
        return 0;
}
