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
 *   meminfo                   -> meminfo total_kib=N free_kib=N available_kib=N
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

static void meminfo(void)
{
        FILE *f = fopen("/proc/meminfo", "re");
        char line[256];
        long long total = -1, mfree = -1, avail = -1;

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
        }
        fclose(f);
        reply("meminfo total_kib=%lld free_kib=%lld available_kib=%lld", total, mfree, avail);
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
                if (alloc_active) {
                        reply("error busy");
                        return;
                }
                alloc_active = 1;
                alloc_base = n_chunks;
                alloc_target = n_chunks + (size_t)mib;
                alloc_rate = rate;
                alloc_start = now_s();
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
                int timeout = alloc_step();
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
