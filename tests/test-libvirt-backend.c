/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The libvirt backend against libvirt's in-process test driver: discovery
 * (test:///default, and 500 domains from a generated test:///FILE.xml),
 * requests and results through the eventfd, set-memory and its error
 * reporting, changing the stats period, lifecycle events, a connection that
 * cannot be made.
 *
 * The test driver has no balloon statistics (its bulk stats record is
 * empty) and never emits BALLOON_CHANGE, so policy behaviour and stats
 * contents are tested on real guests (tests/integration/test-libvirt-*.py).
 * test:///default is one shared state per process: a test that changes it
 * puts it back.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "cleanup.h"
#include "libvirt-backend.h"
#include "test-util.h"

#define DEFAULT_URI  "test:///default"
#define DEFAULT_UUID "6695eb01-f6a4-8304-79aa-97f2502e193f"
#define MIB          (1ULL << 20)

/* What the tests look at, copied out of the results during a drain. */
typedef struct Seen {
        unsigned count[LIBVIRT_RESULT_STATS_PERIOD + 1];
        size_t connected_guests;
        char last_error[256];
        /* last of each kind */
        LibvirtGuestInfo added; /* name copied into added_name */
        char added_name[64];
        char removed_uuid[LIBVIRT_UUID_STRING_LEN];
        LibvirtRemoveReason removed;
        LibvirtGuestState state;
        size_t stats_guests, stats_stale;
        uint64_t stats_id, stats_usec;
        int set_memory_r;
        bool set_memory_repeated;
        uint64_t set_memory_id;
        int qmp_r;
        int period_r;
        uint64_t period_id;
        unsigned period_sec;
        size_t period_guests, period_failed;
        char period_uuid[LIBVIRT_UUID_STRING_LEN];
} Seen;

static void seen_handle(const LibvirtResult *r, void *userdata)
{
        Seen *s = userdata;

        s->count[r->type]++;
        if (r->error)
                snprintf(s->last_error, sizeof(s->last_error), "%s", r->error);
        switch (r->type) {
        case LIBVIRT_RESULT_CONNECTED:
                s->connected_guests = r->n_guests;
                break;
        case LIBVIRT_RESULT_GUEST_ADDED:
                s->added = r->guest;
                snprintf(s->added_name, sizeof(s->added_name), "%s", r->guest.name);
                s->added.name = s->added_name;
                s->added.stats_period_error = NULL;
                break;
        case LIBVIRT_RESULT_GUEST_REMOVED:
                memcpy(s->removed_uuid, r->uuid, sizeof(s->removed_uuid));
                s->removed = r->removed;
                break;
        case LIBVIRT_RESULT_GUEST_STATE:
                s->state = r->state;
                break;
        case LIBVIRT_RESULT_STATS:
                s->stats_guests = r->stats.n_guests;
                s->stats_stale = 0;
                for (size_t i = 0; i < r->stats.n_guests; i++)
                        s->stats_stale += r->stats.guests[i].balloon.stale;
                s->stats_id = r->request_id;
                s->stats_usec = r->stats.duration_usec;
                break;
        case LIBVIRT_RESULT_SET_MEMORY:
                s->set_memory_r = r->r;
                s->set_memory_repeated = r->error_repeated;
                s->set_memory_id = r->request_id;
                break;
        case LIBVIRT_RESULT_QMP_REPLY:
                s->qmp_r = r->r;
                break;
        case LIBVIRT_RESULT_STATS_PERIOD:
                s->period_r = r->r;
                s->period_id = r->request_id;
                s->period_sec = r->stats_period.seconds;
                s->period_guests = r->stats_period.n_guests;
                s->period_failed = r->stats_period.n_failed;
                memcpy(s->period_uuid, r->uuid, sizeof(s->period_uuid));
                break;
        default:
                break;
        }
}

static uint64_t now_usec(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* Drains results as the eventfd announces them until `type` has been seen
 * `count` times in total, as a daemon's event loop would. */
static void wait_for(LibvirtBackend *b, Seen *s, LibvirtResultType type, unsigned count)
{
        uint64_t deadline = now_usec() + 20 * 1000000ULL;

        while (s->count[type] < count) {
                struct pollfd p = {.fd = libvirt_backend_get_fd(b), .events = POLLIN};
                if (now_usec() > deadline) {
                        fprintf(stderr, "timed out waiting for %u x %s (seen %u); last error: %s\n",
                                count, libvirt_result_type_to_string(type), s->count[type],
                                s->last_error);
                        abort();
                }
                if (poll(&p, 1, 200) > 0)
                        libvirt_backend_drain(b, seen_handle, s);
        }
}

static LibvirtBackend *start_backend(const char *uri, bool qmp)
{
        LibvirtBackendConfig c = LIBVIRT_BACKEND_CONFIG_DEFAULT;
        LibvirtBackend *b = NULL;

        c.uri = uri;
        c.qmp_passthrough = qmp;
        c.reconnect_min_usec = 50000;
        check(libvirt_backend_new(&c, &b) == 0);
        check(libvirt_backend_start(b) == 0);
        return b;
}

static void test_connects_and_lists_the_default_domain(void)
{
        _cleanup_(libvirt_backend_freep) LibvirtBackend *b = start_backend(DEFAULT_URI, false);
        LibvirtBackendStatus st;
        Seen s = {0};

        wait_for(b, &s, LIBVIRT_RESULT_CONNECTED, 1);
        check_u64_eq(s.count[LIBVIRT_RESULT_GUEST_ADDED], 1);
        check_u64_eq(s.connected_guests, 1);
        check(strcmp(s.added.uuid, DEFAULT_UUID) == 0);
        check(strcmp(s.added_name, "test") == 0);
        check(s.added.state == LIBVIRT_GUEST_RUNNING);
        check_u64_eq(s.added.max_bytes, 8192 * MIB);
        check(s.added.actual_bytes > 0 && s.added.actual_bytes <= s.added.max_bytes);

        libvirt_backend_get_status(b, &st);
        check(st.state == LIBVIRT_CONN_CONNECTED);
        check(st.reachable);
        check_u64_eq(st.connects, 1);
        check_u64_eq(st.pending_requests, 0);
}

/* Writes dir/node.xml (dir: a mkdtemp template) for the test driver; the
 * last n_balloonless domains have no balloon device. */
static char *write_node_file(char *dir, unsigned n_domains, unsigned n_balloonless)
{
        _cleanup_fclose_ FILE *f = NULL;
        char *path;

        check(mkdtemp(dir));
        check(asprintf(&path, "%s/node.xml", dir) > 0);
        f = fopen(path, "we");
        check(f);
        fprintf(f, "<node>\n");
        for (unsigned i = 1; i <= n_domains; i++)
                fprintf(f,
                        "<domain type='test'><name>guest%u</name>"
                        "<uuid>6d656d74-6964-6500-0000-%012x</uuid>"
                        "<memory unit='MiB'>512</memory>"
                        "<currentMemory unit='MiB'>384</currentMemory><vcpu>1</vcpu>"
                        "<os><type arch='x86_64'>hvm</type></os>"
                        "<devices><memballoon model='%s'/></devices></domain>\n",
                        i, i, i + n_balloonless > n_domains ? "none" : "virtio");
        fprintf(f, "</node>\n");
        return path;
}

static void remove_node_file(const char *dir, char *path)
{
        unlink(path);
        rmdir(dir);
        free(path);
}

static void test_discovers_500_domains_from_a_node_file(void)
{
        char dir[] = "/tmp/memtide-test-libvirt-XXXXXX";
        char *path = write_node_file(dir, 500, 0);
        _cleanup_free_ char *uri = NULL;
        LibvirtBackend *b;
        uint64_t t0;
        Seen s = {0};

        check(asprintf(&uri, "test://%s", path) > 0);
        t0 = now_usec();
        b = start_backend(uri, false);
        wait_for(b, &s, LIBVIRT_RESULT_CONNECTED, 1);
        printf("# 500 domains: connected and discovered in %.1f ms\n", (now_usec() - t0) / 1e3);
        check_u64_eq(s.count[LIBVIRT_RESULT_GUEST_ADDED], 500);
        check_u64_eq(s.connected_guests, 500);
        check_u64_eq(s.added.max_bytes, 512 * MIB);
        check_u64_eq(s.added.actual_bytes, 384 * MIB);

        /* One bulk call for all of them; the test driver has no balloon
         * statistics, so every sample is stale. */
        check(libvirt_backend_request_stats(b, NULL) == 0);
        wait_for(b, &s, LIBVIRT_RESULT_STATS, 1);
        printf("# 500 domains: virConnectGetAllDomainStats %.1f ms\n", s.stats_usec / 1e3);
        check_u64_eq(s.stats_guests, 500);
        check_u64_eq(s.stats_stale, 500);

        b = libvirt_backend_free(b);
        remove_node_file(dir, path);
}

static void test_stats_request_round_trip_through_the_eventfd(void)
{
        _cleanup_(libvirt_backend_freep) LibvirtBackend *b = start_backend(DEFAULT_URI, false);
        uint64_t id = 0, id2 = 0;
        Seen s = {0};

        wait_for(b, &s, LIBVIRT_RESULT_CONNECTED, 1);
        check(libvirt_backend_request_stats(b, &id) == 0);
        check(id > 0);
        /* one stats request at a time: the caller learns libvirt is behind */
        check(libvirt_backend_request_stats(b, NULL) == -EBUSY);
        wait_for(b, &s, LIBVIRT_RESULT_STATS, 1);
        check_u64_eq(s.stats_id, id);
        check_u64_eq(s.stats_guests, 1);
        check_u64_eq(s.stats_stale, 1);

        check(libvirt_backend_request_stats(b, &id2) == 0);
        check(id2 > id);
        wait_for(b, &s, LIBVIRT_RESULT_STATS, 2);
        check_u64_eq(s.stats_id, id2);
}

static uint64_t default_domain_memory_bytes(void)
{
        virConnectPtr c = virConnectOpen(DEFAULT_URI);
        virDomainPtr d;
        virDomainInfo info;

        check(c);
        d = virDomainLookupByUUIDString(c, DEFAULT_UUID);
        check(d);
        check(virDomainGetInfo(d, &info) == 0);
        virDomainFree(d);
        virConnectClose(c);
        return (uint64_t)info.memory * 1024;
}

static void test_set_memory_changes_the_live_balloon_target(void)
{
        _cleanup_(libvirt_backend_freep) LibvirtBackend *b = start_backend(DEFAULT_URI, false);
        uint64_t before = default_domain_memory_bytes(), id = 0;
        Seen s = {0};

        wait_for(b, &s, LIBVIRT_RESULT_CONNECTED, 1);
        check(libvirt_backend_set_memory(b, DEFAULT_UUID, 1024 * MIB, &id) == 0);
        wait_for(b, &s, LIBVIRT_RESULT_SET_MEMORY, 1);
        check(s.set_memory_r == 0);
        check_u64_eq(s.set_memory_id, id);
        check_u64_eq(default_domain_memory_bytes(), 1024 * MIB);

        /* upper case is accepted, and the target is put back */
        check(libvirt_backend_set_memory(b, "6695EB01-F6A4-8304-79AA-97F2502E193F", before, NULL) ==
              0);
        wait_for(b, &s, LIBVIRT_RESULT_SET_MEMORY, 2);
        check(s.set_memory_r == 0);
        check_u64_eq(default_domain_memory_bytes(), before);
}

static void test_set_memory_failure_is_reported_once_per_distinct_error(void)
{
        _cleanup_(libvirt_backend_freep) LibvirtBackend *b = start_backend(DEFAULT_URI, false);
        Seen s = {0};

        wait_for(b, &s, LIBVIRT_RESULT_CONNECTED, 1);
        /* above the domain's maximum (8 GiB) */
        check(libvirt_backend_set_memory(b, DEFAULT_UUID, 64ULL << 30, NULL) == 0);
        wait_for(b, &s, LIBVIRT_RESULT_SET_MEMORY, 1);
        check(s.set_memory_r == -EINVAL);
        check(!s.set_memory_repeated);
        check(s.last_error[0] != '\0');

        check(libvirt_backend_set_memory(b, DEFAULT_UUID, 64ULL << 30, NULL) == 0);
        wait_for(b, &s, LIBVIRT_RESULT_SET_MEMORY, 2);
        check(s.set_memory_r == -EINVAL);
        check(s.set_memory_repeated);

        /* a success in between: the next failure is news again */
        check(libvirt_backend_set_memory(b, DEFAULT_UUID, default_domain_memory_bytes(), NULL) ==
              0);
        wait_for(b, &s, LIBVIRT_RESULT_SET_MEMORY, 3);
        check(s.set_memory_r == 0);
        check(libvirt_backend_set_memory(b, DEFAULT_UUID, 64ULL << 30, NULL) == 0);
        wait_for(b, &s, LIBVIRT_RESULT_SET_MEMORY, 4);
        check(s.set_memory_r == -EINVAL);
        check(!s.set_memory_repeated);
}

static void test_set_memory_checks_its_arguments(void)
{
        _cleanup_(libvirt_backend_freep) LibvirtBackend *b = start_backend(DEFAULT_URI, false);
        Seen s = {0};

        check(libvirt_backend_set_memory(b, "not-a-uuid", MIB, NULL) == -EINVAL);
        check(libvirt_backend_set_memory(b, DEFAULT_UUID, 0, NULL) == -EINVAL);

        wait_for(b, &s, LIBVIRT_RESULT_CONNECTED, 1);
        check(libvirt_backend_set_memory(b, "00000000-0000-0000-0000-000000000001", MIB, NULL) ==
              0);
        wait_for(b, &s, LIBVIRT_RESULT_SET_MEMORY, 1);
        check(s.set_memory_r == -ENOENT);
}

/* The default domain's live <stats period='N'/>, 0 when there is none. */
static unsigned default_domain_stats_period(void)
{
        virConnectPtr c = virConnectOpen(DEFAULT_URI);
        _cleanup_free_ char *xml = NULL;
        unsigned period = 0;
        virDomainPtr d;
        const char *p;

        check(c);
        d = virDomainLookupByUUIDString(c, DEFAULT_UUID);
        check(d);
        xml = virDomainGetXMLDesc(d, 0);
        check(xml);
        p = strstr(xml, "<stats period='");
        if (p)
                period = (unsigned)strtoul(p + strlen("<stats period='"), NULL, 10);
        virDomainFree(d);
        virConnectClose(c);
        return period;
}

static void test_stats_period_is_set_on_active_and_later_guests(void)
{
        _cleanup_(libvirt_backend_freep) LibvirtBackend *b = start_backend(DEFAULT_URI, false);
        virConnectPtr c;
        virDomainPtr d;
        uint64_t id = 0;
        Seen s = {0};

        check(libvirt_backend_set_stats_period(b, 1U << 31, NULL) == -EINVAL);
        wait_for(b, &s, LIBVIRT_RESULT_CONNECTED, 1);
        check_u64_eq(default_domain_stats_period(), 1); /* the config's, when it appeared */

        check(libvirt_backend_set_stats_period(b, 7, &id) == 0);
        wait_for(b, &s, LIBVIRT_RESULT_STATS_PERIOD, 1);
        check(s.period_r == 0);
        check_u64_eq(s.period_id, id);
        check_u64_eq(s.period_sec, 7);
        check_u64_eq(s.period_guests, 1);
        check_u64_eq(s.period_failed, 0);
        check_u64_eq(default_domain_stats_period(), 7);

        /* a new run of the domain gets the new period too */
        c = virConnectOpen(DEFAULT_URI);
        check(c);
        d = virDomainLookupByUUIDString(c, DEFAULT_UUID);
        check(d);
        check(virDomainDestroy(d) == 0);
        wait_for(b, &s, LIBVIRT_RESULT_GUEST_REMOVED, 1);
        check(virDomainCreate(d) == 0);
        wait_for(b, &s, LIBVIRT_RESULT_GUEST_ADDED, 2);
        check(!s.added.stats_period_error);
        check_u64_eq(default_domain_stats_period(), 7);
        virDomainFree(d);
        virConnectClose(c);

        /* put back */
        check(libvirt_backend_set_stats_period(b, 1, NULL) == 0);
        wait_for(b, &s, LIBVIRT_RESULT_STATS_PERIOD, 2);
        check(s.period_r == 0);
        check_u64_eq(default_domain_stats_period(), 1);
}

static void test_stats_period_failure_names_the_domain(void)
{
        char dir[] = "/tmp/memtide-test-libvirt-XXXXXX";
        char *path = write_node_file(dir, 3, 1);
        _cleanup_free_ char *uri = NULL;
        LibvirtBackend *b;
        Seen s = {0};

        check(asprintf(&uri, "test://%s", path) > 0);
        b = start_backend(uri, false);
        wait_for(b, &s, LIBVIRT_RESULT_CONNECTED, 1);

        /* guest3 has no balloon: the others still get the period */
        check(libvirt_backend_set_stats_period(b, 4, NULL) == 0);
        wait_for(b, &s, LIBVIRT_RESULT_STATS_PERIOD, 1);
        check(s.period_r < 0);
        check_u64_eq(s.period_guests, 2);
        check_u64_eq(s.period_failed, 1);
        check(strcmp(s.period_uuid, "6d656d74-6964-6500-0000-000000000003") == 0);
        check_str_contains(s.last_error, "domain guest3: ");
        check_str_contains(s.last_error, "balloon");

        b = libvirt_backend_free(b);
        remove_node_file(dir, path);
}

static void test_lifecycle_events_update_the_guests(void)
{
        _cleanup_(libvirt_backend_freep) LibvirtBackend *b = start_backend(DEFAULT_URI, false);
        virConnectPtr c;
        virDomainPtr d;
        Seen s = {0};

        wait_for(b, &s, LIBVIRT_RESULT_CONNECTED, 1);
        c = virConnectOpen(DEFAULT_URI);
        check(c);
        d = virDomainLookupByUUIDString(c, DEFAULT_UUID);
        check(d);

        check(virDomainSuspend(d) == 0);
        wait_for(b, &s, LIBVIRT_RESULT_GUEST_STATE, 1);
        check(s.state == LIBVIRT_GUEST_PAUSED);
        check(virDomainResume(d) == 0);
        wait_for(b, &s, LIBVIRT_RESULT_GUEST_STATE, 2);
        check(s.state == LIBVIRT_GUEST_RUNNING);

        check(virDomainDestroy(d) == 0);
        wait_for(b, &s, LIBVIRT_RESULT_GUEST_REMOVED, 1);
        check(strcmp(s.removed_uuid, DEFAULT_UUID) == 0);
        check(s.removed == LIBVIRT_REMOVED_DESTROYED);

        check(virDomainCreate(d) == 0);
        wait_for(b, &s, LIBVIRT_RESULT_GUEST_ADDED, 2);
        check(strcmp(s.added.uuid, DEFAULT_UUID) == 0);
        check(s.added.state == LIBVIRT_GUEST_RUNNING);

        virDomainFree(d);
        virConnectClose(c);
}

/* Runs fn with stderr sent to a file; returns what was written there. */
static size_t stderr_bytes_during(void (*fn)(void))
{
        char path[] = "/tmp/memtide-test-stderr-XXXXXX";
        int fd = mkstemp(path), saved = dup(STDERR_FILENO);
        struct stat st;

        check(fd >= 0 && saved >= 0);
        fflush(stderr);
        dup2(fd, STDERR_FILENO);
        fn();
        fflush(stderr);
        dup2(saved, STDERR_FILENO);
        close(saved);
        check(fstat(fd, &st) == 0);
        close(fd);
        unlink(path);
        return (size_t)st.st_size;
}

static void unreachable_uri(void)
{
        _cleanup_(libvirt_backend_freep) LibvirtBackend *b =
                start_backend("qemu:///session?socket=/nonexistent/memtide/libvirt-sock", false);
        LibvirtBackendStatus st;
        Seen s = {0};

        wait_for(b, &s, LIBVIRT_RESULT_DISCONNECTED, 1);
        check(s.last_error[0] != '\0');
        libvirt_backend_get_status(b, &st);
        check(!st.reachable);
        check(st.state != LIBVIRT_CONN_CONNECTED);
        check(st.last_error[0] != '\0');

        /* requests are answered, not left hanging */
        check(libvirt_backend_request_stats(b, NULL) == 0);
        wait_for(b, &s, LIBVIRT_RESULT_STATS, 1);
        check_u64_eq(s.stats_guests, 0);

        /* retries with the same error are not announced again */
        usleep(300000);
        libvirt_backend_drain(b, seen_handle, &s);
        check_u64_eq(s.count[LIBVIRT_RESULT_DISCONNECTED], 1);
        check_u64_eq(s.count[LIBVIRT_RESULT_CONNECTED], 0);

        /* a new stats period is kept for later, and said to be */
        check(libvirt_backend_set_stats_period(b, 3, NULL) == 0);
        wait_for(b, &s, LIBVIRT_RESULT_STATS_PERIOD, 1);
        check(s.period_r == -ENOTCONN);
        check_u64_eq(s.period_sec, 3);
        check_u64_eq(s.period_guests, 0);
}

static void test_unreachable_uri_is_reported_quietly(void)
{
        /* libvirt's default error handler would print every retry's error */
        check_u64_eq(stderr_bytes_during(unreachable_uri), 0);
}

static void test_qmp_passthrough_is_off_by_default(void)
{
        _cleanup_(libvirt_backend_freep) LibvirtBackend *b = start_backend(DEFAULT_URI, false);
        _cleanup_(libvirt_backend_freep) LibvirtBackend *q = start_backend(DEFAULT_URI, true);
        Seen s = {0};

        check(libvirt_backend_qmp_query(b, DEFAULT_UUID, "{\"execute\":\"x-query-virtio\"}",
                                        NULL) == -EPERM);
        /* only queries get through */
        check(libvirt_backend_qmp_query(q, DEFAULT_UUID, "{\"execute\":\"quit\"}", NULL) ==
              -EINVAL);
        check(libvirt_backend_qmp_query(q, DEFAULT_UUID, "not json", NULL) == -EINVAL);

        wait_for(q, &s, LIBVIRT_RESULT_CONNECTED, 1);
        check(libvirt_backend_qmp_query(q, DEFAULT_UUID, "{\"execute\":\"x-query-virtio\"}",
                                        NULL) == 0);
        wait_for(q, &s, LIBVIRT_RESULT_QMP_REPLY, 1);
        check(s.qmp_r == -EOPNOTSUPP); /* the test driver has no QEMU monitor */
}

static void test_free_drops_undrained_results_and_pending_requests(void)
{
        LibvirtBackend *b = start_backend(DEFAULT_URI, false);

        check(libvirt_backend_request_stats(b, NULL) == 0);
        check(libvirt_backend_set_memory(b, DEFAULT_UUID, 2048 * MIB, NULL) == 0);
        b = libvirt_backend_free(b);
        check(!b);

        /* never started */
        LibvirtBackendConfig c = LIBVIRT_BACKEND_CONFIG_DEFAULT;
        check(libvirt_backend_new(&c, &b) == 0);
        b = libvirt_backend_free(b);
}

int main(void)
{
        RUN(test_connects_and_lists_the_default_domain);
        RUN(test_discovers_500_domains_from_a_node_file);
        RUN(test_stats_request_round_trip_through_the_eventfd);
        RUN(test_set_memory_changes_the_live_balloon_target);
        RUN(test_set_memory_failure_is_reported_once_per_distinct_error);
        RUN(test_set_memory_checks_its_arguments);
        RUN(test_stats_period_is_set_on_active_and_later_guests);
        RUN(test_stats_period_failure_names_the_domain);
        RUN(test_lifecycle_events_update_the_guests);
        RUN(test_unreachable_uri_is_reported_quietly);
        RUN(test_qmp_passthrough_is_off_by_default);
        RUN(test_free_drops_undrained_results_and_pending_requests);
        return 0;
}
