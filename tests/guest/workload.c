/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * memtide test-guest workload: runs inside the test guest (static binary in
 * the initramfs) and is driven over a serial line, one command per line, one
 * reply line per command:
 *
 *   ping [TOKEN]              -> pong [TOKEN]
 *   alloc MIB RATE_MIB_PER_S  -> allocated MIB      (when done; RATE 0 = flat out)
 *   free                      -> freed MIB          (munmap of everything held)
 *   held                      -> held MIB
 *   hold MIB RATE_MIB_PER_S   -> hold MIB held N    (at once; RATE 0 = flat out)
 *   cache RATE_MIB_PER_S [DEV] -> cache RATE        (at once; RATE 0 = stop)
 *   dropcache                 -> dropped            (clean page cache dropped)
 *   meminfo                   -> meminfo total_kib=N free_kib=N available_kib=N
 *                                buffers_kib=N cached_kib=N allocstall=N
 *   anything wrong            -> error <text>
 *
 * Memory is taken in 1 MiB anonymous mappings, every 4 KiB page written with
 * non-zero data that differs per page, so it is resident, not the shared zero
 * page and not mergeable by KSM. Transparent huge pages are turned off on
 * these mappings so that the balloon and free page reporting see 4 KiB pages.
 *
 * An alloc runs in the background of the command loop: other commands are
 * still answered while it runs (their replies come first), and "allocated N"
 * follows when the last chunk is written. A second alloc while one runs gets
 * "error busy"; free cancels a running alloc, whose reply is then
 * "error alloc cancelled at N" before "freed N". A chunk that cannot be
 * mapped ends the alloc with "error mmap: <reason> at N" (N = MiB held).
 *
 * A hold grows or shrinks what is held to MIB at RATE in the background and
 * answers at once with what is held now, so that a driver can send a new
 * target every second without waiting (a trace replay); a newer hold
 * replaces an older one. While an alloc runs, hold gets "error busy" (and
 * alloc while a hold moves); free cancels a hold. A chunk that cannot be
 * mapped stops the hold where it is (the next hold tries again).
 *
 * cache reads the block device DEV (default /dev/vda) at RATE in 1 MiB
 * reads, from where the last read stopped, wrapping at its end: the guest's
 * page cache grows by RATE until the whole device is cached, and the kernel
 * reclaims it as for any cache (it is clean). meminfo's buffers_kib is
 * where a block device's cache shows; allocstall sums /proc/vmstat's
 * allocstall_* counters (direct reclaim: allocations that stalled).
 *
 * Lines starting with '#' are unsolicited notices (the startup banner);
 * clients skip them. On start the input queue is flushed so that a command
 * half-sent to a previous, OOM-killed instance is not misread; a client that
 * connects early should ping with a token until the matching pong comes.
 * Once listening, the workload also writes "memtide-guest: workload
 * listening pid=N start=K" to stderr (the guest console under /init).
 *
 * Usage: workload [TTY]   (default /dev/ttyS1; "-" = stdin/stdout)
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define CHUNK_BYTES (1024u * 1024u)
#define PAGE_BYTES 4096u
#define LINE_MAX_BYTES 256
#define MAX_CHUNKS (1u << 20) /* 1 TiB: plenty */

static int in_fd = -1, out_fd = -1;

static void **chunks;
static size_t n_chunks, cap_chunks;
static uint64_t stamp; /* makes every page's contents unique */

/* Allocation in progress */
static int alloc_active;
static size_t alloc_target;  /* chunks held when done */
static double alloc_rate;    /* MiB/s, 0 = no limit */
static double alloc_start;   /* monotonic seconds */
static size_t alloc_base;    /* chunks held when it started */

/* Hold in progress: move toward hold_target at hold_rate from hold_base */
static int hold_active;
static size_t hold_target, hold_base;
static double hold_rate, hold_start;

/* Cache reading in progress */
static int cache_fd = -1;
static double cache_rate, cache_start;
static uint64_t cache_done; /* MiB read since cache_start */
static off_t cache_pos;
static char *cache_buf;

static double now_s(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void reply(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void reply(const char *fmt, ...)
{
        char buf[LINE_MAX_BYTES + 64];
        va_list ap;
        int n;

        va_start(ap, fmt);
        n = vsnprintf(buf, sizeof(buf) - 2, fmt, ap);
        va_end(ap);
        if (n < 0)
                return;
        if ((size_t)n > sizeof(buf) - 2)
                n = (int)sizeof(buf) - 2;
        buf[n++] = '\n';
        for (int off = 0; off < n;) {
                ssize_t w = write(out_fd, buf + off, (size_t)(n - off));
                if (w < 0) {
                        if (errno == EINTR || errno == EAGAIN)
                                continue;
                        return;
                }
                off += (int)w;
        }
}

static int add_chunk(void)
{
        void *p;

        if (n_chunks == cap_chunks) {
                size_t ncap = cap_chunks ? cap_chunks * 2 : 256;
                void **n;

                if (ncap > MAX_CHUNKS) {
                        errno = ENOMEM;
                        return -1;
                }
                n = realloc(chunks, ncap * sizeof(*chunks));
                if (!n)
                        return -1;
                chunks = n;
                cap_chunks = ncap;
        }
        p = mmap(NULL, CHUNK_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
                return -1;
        (void)madvise(p, CHUNK_BYTES, MADV_NOHUGEPAGE);
        /* Write the whole page with a non-zero pattern, then stamp it so that
         * no two pages are equal (no zero page, no KSM merging on the host). */
        for (size_t off = 0; off < CHUNK_BYTES; off += PAGE_BYTES) {
                uint64_t *w = (uint64_t *)((char *)p + off);
                memset(w, 0x5a, PAGE_BYTES);
                w[0] = ++stamp;
                w[1] = (uint64_t)getpid() ^ 0x6d656d74696465ull;
        }
        chunks[n_chunks++] = p;
        return 0;
}

static void drop_chunk(void)
{
        munmap(chunks[--n_chunks], CHUNK_BYTES);
}

static void free_all(void)
{
        for (size_t i = 0; i < n_chunks; i++)
                munmap(chunks[i], CHUNK_BYTES);
        n_chunks = 0;
}

/* Does the chunks due by now; returns the poll timeout in ms (-1 = none). */
static int alloc_step(void)
{
        double t0 = now_s();

        while (alloc_active) {
                size_t done = n_chunks - alloc_base;
                double due;

                if (n_chunks >= alloc_target) {
                        alloc_active = 0;
                        reply("allocated %zu", alloc_target - alloc_base);
                        return -1;
                }
                due = alloc_rate > 0 ? alloc_start + (double)done / alloc_rate : 0;
                if (due > now_s()) {
                        double ms = (due - now_s()) * 1000.0;
                        return ms < 1 ? 1 : (int)ms;
                }
                if (add_chunk() < 0) {
                        alloc_active = 0;
                        reply("error mmap: %s at %zu", strerror(errno), n_chunks);
                        return -1;
                }
                /* Flat out: come back to the command loop every 50 ms. */
                if (now_s() - t0 > 0.05)
                        return 0;
        }
        return -1;
}

/* When the next unit of work at `rate` per second, `done` units after
 * `start`, is due; returns ms to wait, 0 when due now. */
static int due_in_ms(double start, double rate, double done)
{
        double wait = rate > 0 ? start + done / rate - now_s() : 0;

        if (wait <= 0)
                return 0;
        return wait * 1000.0 < 1 ? 1 : (int)(wait * 1000.0);
}

static int min_timeout(int a, int b)
{
        if (a < 0)
                return b;
        if (b < 0)
                return a;
        return a < b ? a : b;
}

/* Moves the chunks held toward hold_target as far as due; returns the poll
 * timeout in ms (-1 = nothing to do). */
static int hold_step(void)
{
        double t0 = now_s();

        while (hold_active && n_chunks != hold_target) {
                size_t done = n_chunks > hold_base ? n_chunks - hold_base : hold_base - n_chunks;
                int wait = due_in_ms(hold_start, hold_rate, (double)done);

                if (wait > 0)
                        return wait;
                if (n_chunks > hold_target)
                        drop_chunk();
                else if (add_chunk() < 0)
                        hold_active = 0; /* out of memory: stay where we are */
                if (now_s() - t0 > 0.05)
                        return 0; /* flat out: answer commands meanwhile */
        }
        hold_active = 0;
        return -1;
}

static void cache_stop(void)
{
        if (cache_fd >= 0)
                close(cache_fd);
        cache_fd = -1;
}

/* Reads the 1 MiB blocks due by now; returns the poll timeout in ms. */
static int cache_step(void)
{
        double t0 = now_s();

        while (cache_fd >= 0) {
                int wait = due_in_ms(cache_start, cache_rate, (double)cache_done);
                ssize_t n;

                if (wait > 0)
                        return wait;
                n = pread(cache_fd, cache_buf, CHUNK_BYTES, cache_pos);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 || (n == 0 && cache_pos == 0)) {
                        cache_stop(); /* unreadable or empty */
                        return -1;
                }
                if (n == 0) {
                        cache_pos = 0; /* wrap at the end */
                        continue;
                }
                cache_pos += n;
                cache_done++;
                if (now_s() - t0 > 0.05)
                        return 0;
        }
        return -1;
}

/* Sum of the allocstall_* lines of /proc/vmstat, -1 when unreadable. */
static long long allocstalls(void)
{
        FILE *f = fopen("/proc/vmstat", "re");
        char line[256];
        long long sum = 0, v;

        if (!f)
                return -1;
        while (fgets(line, sizeof(line), f))
                if (!strncmp(line, "allocstall", 10) && sscanf(line, "%*s %lld", &v) == 1)
                        sum += v;
        fclose(f);
        return sum;
}

static void meminfo(void)
{
        FILE *f = fopen("/proc/meminfo", "re");
        char line[256];
        long long total = -1, mfree = -1, avail = -1, buffers = -1, cached = -1;

        if (!f) {
                reply("error /proc/meminfo: %s", strerror(errno));
                return;
        }
        while (fgets(line, sizeof(line), f)) {
                long long v;
                if (sscanf(line, "MemTotal: %lld", &v) == 1)
                        total = v;
                else if (sscanf(line, "MemFree: %lld", &v) == 1)
                        mfree = v;
                else if (sscanf(line, "MemAvailable: %lld", &v) == 1)
                        avail = v;
                else if (sscanf(line, "Buffers: %lld", &v) == 1)
                        buffers = v;
                else if (sscanf(line, "Cached: %lld", &v) == 1)
                        cached = v;
        }
        fclose(f);
        reply("meminfo total_kib=%lld free_kib=%lld available_kib=%lld buffers_kib=%lld "
              "cached_kib=%lld allocstall=%lld",
              total, mfree, avail, buffers, cached, allocstalls());
}

static int parse_num(const char *s, double *out)
{
        char *end;
        double v;

        if (!s)
                return -1;
        errno = 0;
        v = strtod(s, &end);
        if (errno || end == s || *end || v < 0 || v != v)
                return -1;
        *out = v;
        return 0;
}

static void cmd_hold(int argc, char **argv)
{
        double mib, rate;

        if (argc != 3 || parse_num(argv[1], &mib) || parse_num(argv[2], &rate) ||
            mib != (double)(size_t)mib || mib > MAX_CHUNKS) {
                reply("error usage: hold MIB RATE_MIB_PER_S");
                return;
        }
        if (alloc_active) {
                reply("error busy");
                return;
        }
        hold_active = 1;
        hold_target = (size_t)mib;
        hold_base = n_chunks;
        hold_rate = rate;
        hold_start = now_s();
        reply("hold %zu held %zu", hold_target, n_chunks);
}

static void cmd_cache(int argc, char **argv)
{
        const char *dev = argc > 2 ? argv[2] : "/dev/vda";
        double rate;

        if (argc < 2 || argc > 3 || parse_num(argv[1], &rate)) {
                reply("error usage: cache RATE_MIB_PER_S [DEVICE]");
                return;
        }
        cache_stop();
        if (rate == 0) {
                reply("cache 0");
                return;
        }
        if (!cache_buf && !(cache_buf = malloc(CHUNK_BYTES))) {
                reply("error cache: %s", strerror(errno));
                return;
        }
        cache_fd = open(dev, O_RDONLY | O_CLOEXEC);
        if (cache_fd < 0) {
                reply("error %.64s: %s", dev, strerror(errno));
                return;
        }
        cache_rate = rate;
        cache_start = now_s();
        cache_done = 0;
        reply("cache %g", rate);
}

static void cmd_dropcache(void)
{
        int fd = open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC);

        if (fd < 0 || write(fd, "3\n", 2) != 2)
                reply("error drop_caches: %s", strerror(errno));
        else
                reply("dropped");
        if (fd >= 0)
                close(fd);
}

static void handle(char *line)
{
        char *argv[8];
        int argc = 0;
        char *save = NULL;

        for (char *tok = strtok_r(line, " \t\r", &save); tok && argc < 8;
             tok = strtok_r(NULL, " \t\r", &save))
                argv[argc++] = tok;
        if (argc == 0)
                return; /* empty line: no reply */

        if (!strcmp(argv[0], "ping")) {
                if (argc > 1)
                        reply("pong %.64s", argv[1]);
                else
                        reply("pong");
        } else if (!strcmp(argv[0], "held")) {
                reply("held %zu", n_chunks);
        } else if (!strcmp(argv[0], "meminfo")) {
                meminfo();
        } else if (!strcmp(argv[0], "free")) {
                size_t n = n_chunks;
                hold_active = 0;
                if (alloc_active) {
                        alloc_active = 0;
                        reply("error alloc cancelled at %zu", n_chunks);
                }
                free_all();
                reply("freed %zu", n);
        } else if (!strcmp(argv[0], "alloc")) {
                double mib, rate;
                if (argc != 3 || parse_num(argv[1], &mib) || parse_num(argv[2], &rate) ||
                    mib != (double)(size_t)mib || mib > MAX_CHUNKS) {
                        reply("error usage: alloc MIB RATE_MIB_PER_S");
                        return;
                }
                if (alloc_active || hold_active) {
                        reply("error busy");
                        return;
                }
                alloc_active = 1;
                alloc_base = n_chunks;
                alloc_target = n_chunks + (size_t)mib;
                alloc_rate = rate;
                alloc_start = now_s();
        } else if (!strcmp(argv[0], "hold")) {
                cmd_hold(argc, argv);
        } else if (!strcmp(argv[0], "cache")) {
                cmd_cache(argc, argv);
        } else if (!strcmp(argv[0], "dropcache")) {
                cmd_dropcache();
        } else {
                reply("error unknown command: %.64s", argv[0]);
        }
}

static void set_raw(int fd)
{
        struct termios t;

        if (tcgetattr(fd, &t) < 0)
                return; /* not a tty (stdin pipe in tests): fine */
        cfmakeraw(&t);
        t.c_cflag |= CLOCAL | CREAD;
        t.c_cflag &= ~(unsigned)CRTSCTS;
        t.c_cc[VMIN] = 1;
        t.c_cc[VTIME] = 0;
        cfsetispeed(&t, B115200);
        cfsetospeed(&t, B115200);
        tcsetattr(fd, TCSANOW, &t);
        tcflush(fd, TCIFLUSH);
}

int main(int argc, char **argv)
{
        const char *tty = argc > 1 ? argv[1] : "/dev/ttyS1";
        char buf[LINE_MAX_BYTES];
        size_t len = 0;
        int overflow = 0;

        signal(SIGPIPE, SIG_IGN);
        signal(SIGHUP, SIG_IGN);
        if (!strcmp(tty, "-")) {
                in_fd = 0;
                out_fd = 1;
        } else {
                in_fd = open(tty, O_RDWR | O_NOCTTY | O_CLOEXEC);
                if (in_fd < 0) {
                        fprintf(stderr, "workload: %s: %s\n", tty, strerror(errno));
                        return 1;
                }
                out_fd = in_fd;
                set_raw(in_fd);
        }
        reply("# workload started pid=%d", (int)getpid());
        /* Console marker (stderr is the guest console under /init). */
        fprintf(stderr, "memtide-guest: workload listening pid=%d start=%s\n", (int)getpid(),
                getenv("MEMTIDE_WORKLOAD_START") ? getenv("MEMTIDE_WORKLOAD_START") : "?");

        for (;;) {
                struct pollfd pfd = { .fd = in_fd, .events = POLLIN };
                int timeout = min_timeout(alloc_step(), min_timeout(hold_step(), cache_step()));
                int r = poll(&pfd, 1, timeout);
                char rb[LINE_MAX_BYTES];
                ssize_t n;

                if (r < 0 && errno != EINTR)
                        return 1;
                if (r <= 0)
                        continue;
                n = read(in_fd, rb, sizeof(rb));
                if (n == 0) {
                        if (in_fd == 0)
                                return 0; /* stdin closed */
                        usleep(100000); /* tty hangup: keep serving */
                        continue;
                }
                if (n < 0) {
                        if (errno == EINTR || errno == EAGAIN)
                                continue;
                        return 1;
                }
                for (ssize_t i = 0; i < n; i++) {
                        char c = rb[i];
                        if (c == '\n' || c == '\r') {
                                if (overflow) {
                                        reply("error line too long");
                                } else {
                                        buf[len] = '\0';
                                        handle(buf);
                                }
                                len = 0;
                                overflow = 0;
                        } else if (len < sizeof(buf) - 1) {
                                buf[len++] = c;
                        } else {
                                overflow = 1;
                        }
                }
        }
}
