/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The libvirt backend: guests, balloon statistics and balloon targets of a
 * libvirt host, for a single-threaded event loop that must never block.
 *
 * Threads. libvirt calls can block for seconds (a busy QEMU monitor, a
 * frozen libvirtd), and libvirt's keepalive can only cut a hung call off
 * while libvirt's event loop runs on another thread. So:
 *
 *   - libvirt's default event loop runs on its own thread (one per process,
 *     shared by all backends: virEventRegisterDefaultImpl is global);
 *   - every libvirt call runs on the backend's one worker thread;
 *   - the caller's thread (the "main thread") only queues requests and
 *     drains results. Neither ever waits for libvirt: both take a mutex that
 *     the other threads hold only to move list entries, never across a
 *     libvirt call.
 *
 * Results (replies to requests and events from libvirt) are queued as plain
 * structs; the backend's eventfd becomes readable when there are some, and
 * libvirt_backend_drain() hands them to a callback in order.
 *
 * Integration into an sd-event loop (daemon/libvirt-guests.c does exactly
 * this; its start(), on_eventfd(), poll_guests(), set_target(),
 * set_stats_period(), status_json() and stop() are the reference):
 *
 *     LibvirtBackend *lb;
 *     sd_event_source *source;
 *     LibvirtBackendConfig c = LIBVIRT_BACKEND_CONFIG_DEFAULT;
 *     c.uri = uri;
 *     c.stats_period_sec = period_sec;
 *     r = libvirt_backend_new(&c, &lb);
 *     r = sd_event_add_io(event, &source, libvirt_backend_get_fd(lb), EPOLLIN,
 *                         on_libvirt, ctx);
 *     r = libvirt_backend_start(lb);   // connects in the background
 *
 *     static int on_libvirt(sd_event_source *s, int fd, uint32_t revents, void *ctx) {
 *             libvirt_backend_drain(lb_of(ctx), on_result, ctx);
 *             return 0;
 *     }
 *
 *     each poll:   r = libvirt_backend_request_stats(lb, &id);
 *                  (-EBUSY: the previous request is still out: libvirt is slow
 *                   or frozen; treat every libvirt guest's stats as stale)
 *     a target:    r = libvirt_backend_set_memory(lb, uuid, target_bytes, &id);
 *     reload:      r = libvirt_backend_set_stats_period(lb, seconds, &id);
 *     status:      libvirt_backend_get_status(lb, &st);
 *     shutdown:    sd_event_source_disable_unref(source);
 *                  libvirt_backend_free(lb);
 *
 * Guests are keyed by UUID (numeric ids change at every start). After every
 * (re)connection the backend lists the active domains, sends
 * LIBVIRT_RESULT_GUEST_REMOVED for guests that went away while it was
 * disconnected, LIBVIRT_RESULT_GUEST_ADDED for every active guest (also for
 * those already known: "added" means "exists, add or update"), then
 * LIBVIRT_RESULT_CONNECTED. Between connections, libvirt's lifecycle and
 * BALLOON_CHANGE events keep the picture current.
 *
 * Signals: the threads block every signal (so sd-event's signalfd sees them
 * all). SIGPIPE must be ignored process-wide, because a write to a dead
 * libvirtd raises it on the worker; libvirt_backend_start() sets it to
 * SIG_IGN when it is still at SIG_DFL, but the daemon should do that itself
 * early in main(). The backend also installs a no-op global libvirt error
 * handler (virSetErrorFunc), because libvirt prints every error on stderr
 * otherwise; errors reach the caller as result/status strings instead.
 *
 * lib/ logs nothing: every failure comes back as r < 0 with libvirt's
 * message in .error, and the caller decides what to log.
 *
 * Authentication never prompts (virConnectOpenAuth with a callback that
 * refuses every credential). For qemu+ssh:// URIs add libvirt's own
 * "?no_tty=1" so that ssh does not ask on a terminal either.
 *
 * Limits, by design of "one worker": requests are served one after the
 * other. Stats use NOWAIT and never wait for a busy domain, but
 * virDomainSetMemoryFlags waits for the domain's job lock (libvirtd gives
 * up after 30 s, -ETIMEDOUT): meanwhile the other requests queue up (a
 * newer target for a guest replaces its queued one) and get_status()
 * shows the call and its age. libvirt's event loop is process-wide: keep
 * one backend per process (tests may make several, one after the other).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "libvirt-domain-xml.h"
#include "libvirt-stats.h"

/* A UUID in its 36-character text form plus NUL (VIR_UUID_STRING_BUFLEN). */
#define LIBVIRT_UUID_STRING_LEN 37

typedef struct LibvirtBackend LibvirtBackend;

typedef struct LibvirtBackendConfig {
        /* Connection URI; NULL means "qemu:///system". */
        const char *uri;
        /* Guest stats polling period set live on every guest when it
         * appears (virDomainSetMemoryStatsPeriod); 0 leaves it alone.
         * libvirt_backend_set_stats_period() changes it later. */
        unsigned stats_period_sec;
        /* virConnectSetKeepAlive: a ping after interval_sec of silence, the
         * connection closed after count unanswered pings. interval 0 turns
         * keepalive off (then only the kernel notices a dead libvirtd). */
        unsigned keepalive_interval_sec;
        unsigned keepalive_count;
        /* Reconnection backoff: first retry after min, doubling to max. */
        uint64_t reconnect_min_usec;
        uint64_t reconnect_max_usec;
        /* A libvirt call running longer than this makes the backend report
         * itself unreachable (libvirt_backend_get_status); it is not
         * cancelled: keepalive cuts a dead connection off. */
        uint64_t call_timeout_usec;
        /* How long libvirt_backend_free() waits for a worker stuck in a
         * libvirt call before leaving it to finish and clean up alone. */
        uint64_t shutdown_timeout_usec;
        /* Allow libvirt_backend_qmp_query(): libvirtd marks every domain it
         * is used on as tainted ("custom-monitor"), hence off by default. */
        bool qmp_passthrough;
} LibvirtBackendConfig;

#define LIBVIRT_BACKEND_CONFIG_DEFAULT                                                             \
        ((LibvirtBackendConfig){                                                                   \
                .uri = NULL,                                                                       \
                .stats_period_sec = 1,                                                             \
                .keepalive_interval_sec = 5,                                                       \
                .keepalive_count = 3,                                                              \
                .reconnect_min_usec = 1000000,                                                     \
                .reconnect_max_usec = 30000000,                                                    \
                .call_timeout_usec = 5000000,                                                      \
                .shutdown_timeout_usec = 2000000,                                                  \
                .qmp_passthrough = false,                                                          \
        })

typedef enum LibvirtGuestState {
        LIBVIRT_GUEST_RUNNING,
        LIBVIRT_GUEST_PAUSED,      /* suspended by an admin, I/O error, migration ... */
        LIBVIRT_GUEST_PMSUSPENDED, /* suspended by the guest (S3/S4) */
        LIBVIRT_GUEST_CRASHED,     /* crashed and preserved (on_crash=preserve) */
        LIBVIRT_GUEST_OTHER,
} LibvirtGuestState;

typedef enum LibvirtRemoveReason {
        LIBVIRT_REMOVED_SHUTDOWN,
        LIBVIRT_REMOVED_DESTROYED,
        LIBVIRT_REMOVED_CRASHED,
        LIBVIRT_REMOVED_MIGRATED, /* migrated to another host */
        LIBVIRT_REMOVED_SAVED,
        LIBVIRT_REMOVED_FAILED,
        LIBVIRT_REMOVED_GONE, /* not found when the backend reconnected */
        LIBVIRT_REMOVED_OTHER,
} LibvirtRemoveReason;

typedef enum LibvirtResultType {
        /* Connected and resynchronised (after the GUEST_ADDED results of
         * every active guest). n_guests says how many. */
        LIBVIRT_RESULT_CONNECTED,
        /* The connection failed or was lost; .error says why. Sent once per
         * loss and again only when a retry fails with a different error.
         * The guests stay known: their stats are stale until CONNECTED. */
        LIBVIRT_RESULT_DISCONNECTED,
        LIBVIRT_RESULT_GUEST_ADDED,   /* .guest */
        LIBVIRT_RESULT_GUEST_REMOVED, /* .uuid, .removed */
        LIBVIRT_RESULT_GUEST_STATE,   /* .uuid, .state (suspend, resume, crash) */
        /* BALLOON_CHANGE: the balloon reached .actual_bytes (the completion
         * of a libvirt_backend_set_memory(), or the guest's own doing). */
        LIBVIRT_RESULT_BALLOON_CHANGE,
        LIBVIRT_RESULT_STATS,      /* reply to libvirt_backend_request_stats() */
        LIBVIRT_RESULT_SET_MEMORY, /* reply to libvirt_backend_set_memory() */
        LIBVIRT_RESULT_QMP_REPLY,  /* reply to libvirt_backend_qmp_query() */
        /* Reply to libvirt_backend_set_stats_period(): .r and .error are
         * those of the first guest it failed on (.error names the domain). */
        LIBVIRT_RESULT_STATS_PERIOD,
        /* MEMORY_DEVICE_SIZE_CHANGE: a virtio-mem device (.vmem.alias) has
         * .vmem.bytes plugged now (the guest's doing, at its own pace). */
        LIBVIRT_RESULT_VMEM_SIZE,
        /* Reply to libvirt_backend_set_vmem(): .vmem.bytes the size asked for. */
        LIBVIRT_RESULT_SET_VMEM,
} LibvirtResultType;

typedef struct LibvirtGuestInfo {
        char uuid[LIBVIRT_UUID_STRING_LEN];
        char *name;
        int id; /* libvirt's numeric id of this run */
        LibvirtGuestState state;
        /* The balloon's size (virDomainGetInfo memory) and boot memory
         * (maxMem); for a domain with virtio-mem, what the live XML says less
         * what libvirt counts in for the devices (LibvirtDomainVmem). */
        uint64_t actual_bytes;
        uint64_t max_bytes;
        /* Its virtio-mem devices (the live XML); n_total 0 when none or unread. */
        LibvirtDomainVmem vmem;
        /* From the persistent definition (virDomainGetXMLDesc INACTIVE): the
         * guaranteed minimum and <currentMemory>; zeros when it could not be read. */
        LibvirtDomainMemory memory;
        /* Setting the stats period failed (e.g. no balloon device): the
         * guest will not report stats. NULL when it worked or was not asked. */
        char *stats_period_error;
} LibvirtGuestInfo;

typedef struct LibvirtGuestSample {
        char uuid[LIBVIRT_UUID_STRING_LEN];
        LibvirtBalloonSample balloon;
} LibvirtGuestSample;

typedef struct LibvirtResult {
        LibvirtResultType type;
        /* The id a request returned; 0 for events. */
        uint64_t request_id;
        /* 0, or -errno: -ENOTCONN (not connected), -ENOENT (no such
         * domain), -EINVAL (e.g. above the maximum), -EOPNOTSUPP (no
         * balloon, driver cannot), -ETIMEDOUT (domain busy), -EIO. */
        int r;
        /* libvirt's message when r < 0, or the DISCONNECTED reason. */
        char *error;
        /* SET_MEMORY: this guest's previous set-memory failed with the same
         * message; log only failures where this is false. */
        bool error_repeated;
        /* The guest concerned (GUEST_*, BALLOON_CHANGE, SET_MEMORY, QMP_REPLY;
         * STATS_PERIOD: the first guest it failed on). */
        char uuid[LIBVIRT_UUID_STRING_LEN];
        union {
                LibvirtGuestInfo guest;      /* GUEST_ADDED */
                LibvirtRemoveReason removed; /* GUEST_REMOVED */
                LibvirtGuestState state;     /* GUEST_STATE */
                uint64_t actual_bytes;       /* BALLOON_CHANGE */
                size_t n_guests;             /* CONNECTED */
                struct {
                        LibvirtGuestSample *guests; /* one per active domain */
                        size_t n_guests;
                        uint64_t duration_usec; /* of virConnectGetAllDomainStats */
                } stats;
                uint64_t target_bytes; /* SET_MEMORY: the target sent */
                char *qmp_reply;       /* QMP_REPLY: QEMU's JSON answer */
                struct {
                        char alias[VMEM_DEVICE_ID_MAX];
                        uint64_t bytes;
                } vmem; /* VMEM_SIZE: plugged now; SET_VMEM: requested */
                struct {
                        unsigned seconds; /* the period asked for */
                        size_t n_guests;  /* active guests it was set on */
                        size_t n_failed;  /* active guests it could not be set on */
                } stats_period;           /* STATS_PERIOD */
        };
} LibvirtResult;

/* Called by libvirt_backend_drain() for each result; r is only valid during
 * the call (copy what you keep). */
typedef void (*LibvirtResultHandler)(const LibvirtResult *r, void *userdata);

typedef enum LibvirtConnState {
        LIBVIRT_CONN_CONNECTING, /* first attempt, or a reconnection, under way */
        LIBVIRT_CONN_CONNECTED,
        LIBVIRT_CONN_DISCONNECTED, /* waiting for the next attempt */
} LibvirtConnState;

typedef struct LibvirtBackendStatus {
        LibvirtConnState state;
        /* Connected and no libvirt call running longer than call_timeout. */
        bool reachable;
        /* The libvirt call the worker is in ("" when idle) and for how long. */
        char call[48];
        uint64_t call_usec;
        /* Successful connections so far (reconnections = connects - 1). */
        unsigned connects;
        /* Requests not yet answered (queued or in progress). */
        size_t pending_requests;
        /* The last libvirt error message, "" if none yet. */
        char last_error[256];
} LibvirtBackendStatus;

/* Copies config. Does not touch libvirt yet. Returns 0 or -ENOMEM/-errno. */
int libvirt_backend_new(const LibvirtBackendConfig *config, LibvirtBackend **ret);

/*
 * Starts the event-loop thread (first backend of the process) and the
 * worker, which connects in the background. Returns at once: 0, or -errno
 * when a thread cannot be created. Call once.
 */
int libvirt_backend_start(LibvirtBackend *b);

/*
 * Stops the worker, waiting at most shutdown_timeout_usec; a worker stuck in
 * libvirt is left to finish and free the rest itself. Unanswered requests
 * and undrained results are dropped. Remove the fd from your event loop
 * first. Accepts NULL; returns NULL.
 */
LibvirtBackend *libvirt_backend_free(LibvirtBackend *b);

static inline void libvirt_backend_freep(LibvirtBackend **b)
{
        *b = libvirt_backend_free(*b);
}

/* The eventfd (EFD_NONBLOCK): readable while results wait to be drained. */
int libvirt_backend_get_fd(const LibvirtBackend *b);

/* Hands every queued result to handler, oldest first, and frees them.
 * Never blocks. Returns the number of results handled. */
size_t libvirt_backend_drain(LibvirtBackend *b, LibvirtResultHandler handler, void *userdata);

/*
 * Queues one virConnectGetAllDomainStats(BALLOON, ACTIVE|NOWAIT). At most
 * one stats request is out at a time: -EBUSY until the previous one's STATS
 * result has been drained (so: libvirt slow or frozen). *ret_id (may be NULL) gets the id
 * the STATS result will carry. Never blocks.
 */
int libvirt_backend_request_stats(LibvirtBackend *b, uint64_t *ret_id);

/*
 * Queues virDomainSetMemoryFlags(target, VIR_DOMAIN_AFFECT_LIVE) for the
 * guest with this UUID. Returns before the balloon moves: the SET_MEMORY
 * result says whether libvirt accepted it, a BALLOON_CHANGE result says
 * when the balloon got there. A newer target for a guest whose previous
 * one is still queued replaces it (the old request is answered with
 * -ECANCELED). Returns 0, -EINVAL (bad UUID). Never blocks.
 */
int libvirt_backend_set_memory(LibvirtBackend *b, const char *uuid, uint64_t target_bytes,
                               uint64_t *ret_id);

/*
 * Queues a new requested size for the running guest's virtio-mem device
 * with this alias: virDomainUpdateDeviceFlags(AFFECT_LIVE) with the
 * device's element from the live XML, <requested> replaced (what `virsh
 * update-memory-device` does). The SET_VMEM result says whether libvirt
 * took it; VMEM_SIZE results follow as the guest plugs or unplugs. A newer
 * size for the same device still queued replaces the old (-ECANCELED).
 * Returns 0, -EINVAL (bad UUID or alias), -ENOMEM. Never blocks.
 */
int libvirt_backend_set_vmem(LibvirtBackend *b, const char *uuid, const char *alias,
                             uint64_t requested_bytes, uint64_t *ret_id);

/*
 * Queues a read-only QEMU monitor command (virDomainQemuMonitorCommand) for
 * the compat layer: only commands whose "execute" starts with
 * "x-query-virtio" or "query-" are let through. -EPERM unless the config
 * enabled qmp_passthrough; -EINVAL for anything else. The reply comes as
 * QMP_REPLY with QEMU's whole answer ({"return": ...}). Never blocks.
 */
int libvirt_backend_qmp_query(LibvirtBackend *b, const char *uuid, const char *command_json,
                              uint64_t *ret_id);

/*
 * Changes the stats period: the backend keeps it for guests that appear from
 * now on (as LibvirtBackendConfig.stats_period_sec) and queues
 * virDomainSetMemoryStatsPeriod(seconds, VIR_DOMAIN_AFFECT_LIVE) for every
 * active guest. The STATS_PERIOD result says on how many guests it was set
 * and, when some failed, why (the first failure; the others go on). While
 * disconnected the result is -ENOTCONN, but the period is kept and set on
 * every guest after reconnecting, like for new guests. 0: guests appearing
 * from now on are left alone, active ones keep theirs. Returns 0, -EINVAL
 * (above INT_MAX), -ENOMEM. Never blocks.
 */
int libvirt_backend_set_stats_period(LibvirtBackend *b, unsigned seconds, uint64_t *ret_id);

/* A snapshot of the connection's state. Never blocks. */
void libvirt_backend_get_status(LibvirtBackend *b, LibvirtBackendStatus *ret);

const char *libvirt_conn_state_to_string(LibvirtConnState s);
const char *libvirt_guest_state_to_string(LibvirtGuestState s);
const char *libvirt_remove_reason_to_string(LibvirtRemoveReason r);
const char *libvirt_result_type_to_string(LibvirtResultType t);
