/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * memtided: parse arguments, load the config, pick the backend (Backend=auto
 * resolved here), wire the manager to its signals, control socket, metrics
 * and KSM step, and run the loop.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "cleanup.h"
#include "config.h"
#include "control.h"
#include "fileio.h"
#include "host-pause.h"
#include "instance-lock.h"
#include "ksm-control.h"
#include "log.h"
#include "manager.h"
#include "memtide-config.h"
#include "metrics.h"
#include "qmp-backend.h"
#include "reload.h"
#include "runtime-overrides.h"
#if HAVE_LIBVIRT
#include "libvirt-guests.h"
#endif

typedef struct Args {
        const char *config_path;
        bool check_only;
        bool dump_only;    /* --dump-config */
        bool config_given; /* --config: then the file must exist */
        bool debug;
} Args;

static void usage(FILE *f)
{
        fprintf(f,
                "Usage: memtided [--config FILE] [--check-config] [--dump-config] [--debug]\n"
                "Host memory-overcommit manager: sets guests' virtio-balloon targets.\n\n"
                "  -c, --config FILE   config file (default %s, plus FILE.d/*.conf)\n"
                "      --check-config  validate the config and exit\n"
                "      --dump-config   print the config in force (file and drop-ins, every\n"
                "                      key at its value) and exit\n"
                "  -d, --debug         log every decision\n"
                "  -h, --help          this help\n"
                "      --version       print the version\n",
                CONFIG_DEFAULT_PATH);
}

/* Returns 1 to run, 0 to exit successfully, -EINVAL on bad arguments. */
static int parse_args(int argc, char **argv, Args *args)
{
        enum { ARG_CHECK = 0x100, ARG_DUMP, ARG_VERSION };
        static const struct option options[] = {
                { "config", required_argument, NULL, 'c' },
                { "check-config", no_argument, NULL, ARG_CHECK },
                { "dump-config", no_argument, NULL, ARG_DUMP },
                { "debug", no_argument, NULL, 'd' },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                {},
        };
        int c;

        *args = (Args){ .config_path = CONFIG_DEFAULT_PATH };
        while ((c = getopt_long(argc, argv, "c:dh", options, NULL)) >= 0)
                switch (c) {
                case 'c':
                        args->config_path = optarg;
                        args->config_given = true;
                        break;
                case ARG_CHECK:
                        args->check_only = true;
                        break;
                case ARG_DUMP:
                        args->dump_only = true;
                        break;
                case 'd':
                        args->debug = true;
                        break;
                case 'h':
                        usage(stdout);
                        return 0;
                case ARG_VERSION:
                        printf("memtided %s\n", MEMTIDE_VERSION);
                        return 0;
                default:
                        usage(stderr);
                        return -EINVAL;
                }
        if (optind < argc) {
                fprintf(stderr, "memtided: unexpected argument '%s'\n", argv[optind]);
                return -EINVAL;
        }
        return 1;
}

/* Backend=auto: libvirt when its daemon's socket exists at start-up, else QMP sockets. */
static const BackendOps *pick_backend(BackendKind kind)
{
#if HAVE_LIBVIRT
        if (kind == BACKEND_LIBVIRT || (kind == BACKEND_AUTO && libvirt_socket_present()))
                return &libvirt_backend_ops;
#else
        if (kind == BACKEND_LIBVIRT) {
                log_error("Backend=libvirt: this memtided was built without libvirt (QMP only)");
                return NULL;
        }
#endif
        return &qmp_backend_ops;
}

/* What else runs at the end of every control cycle. */
static void after_cycle(Manager *m)
{
        uint64_t now = manager_now_usec(m);

        if (now >= m->ksm_next_usec) {
                ksm_control_run(m);
                m->ksm_next_usec = now + m->config->ksm.interval_usec;
        }
        metrics_write(m);
}

static int on_reload_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
        (void)reload_config(userdata, NULL); /* a failure is logged and changes nothing */
        return 0;
}

static int on_exit_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
        Manager *m = userdata;
        log_info("received signal %u, exiting", si->ssi_signo);
        (void)sd_notify(false, "STOPPING=1");
        return sd_event_exit(m->event, 0);
}

static int add_signals(Manager *m)
{
        static const int exit_signals[] = { SIGTERM, SIGINT };
        sigset_t mask;
        int r;

        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return -errno;
        for (size_t i = 0; i < ELEMENTSOF(exit_signals); i++) {
                r = sd_event_add_signal(m->event, NULL, exit_signals[i], on_exit_signal, m);
                if (r < 0)
                        return r;
        }
        return sd_event_add_signal(m->event, NULL, SIGHUP, on_reload_signal, m);
}

/* Creates path's directory if needed, then locks path (instance-lock.h). */
static int lock_file(const char *path, mode_t dir_mode, int *ret_fd)
{
        pid_t holder;
        int r = mkdir_parent(path, dir_mode);

        if (r >= 0)
                r = instance_lock_take(path, &holder);
        if (r == -EBUSY)
                return log_error_errno(r,
                                       "Another memtided (PID %d) holds %s: only one instance "
                                       "may manage the same guests",
                                       (int)holder, path);
        if (r < 0)
                return r;
        *ret_fd = r;
        return 0;
}

/*
 * One instance per control socket and per state directory: both are locked
 * before anything else, so a second memtided never removes the first one's
 * socket or steers its guests. A state directory memtided may not write
 * (read-only) is not locked, with a warning: its overrides cannot be saved
 * either.
 */
static int lock_instance(const MemtideConfig *c, int fds[2])
{
        _cleanup_free_ char *socket_lock = NULL, *state_lock = NULL;
        int r;

        if (asprintf(&socket_lock, "%s.lock", c->control_socket) < 0 ||
            asprintf(&state_lock, "%s/memtided.lock", c->state_directory) < 0)
                return log_oom();
        r = lock_file(socket_lock, 0755, &fds[0]);
        if (r < 0)
                return r == -EBUSY ? r : log_error_errno(r, "Failed to lock %s: %m", socket_lock);
        r = lock_file(state_lock, 0750, &fds[1]);
        if (r == -EACCES || r == -EROFS || r == -EPERM)
                log_warning_errno(r, "Not locking %s: %m", state_lock);
        else if (r < 0)
                return r == -EBUSY ? r : log_error_errno(r, "Failed to lock %s: %m", state_lock);
        return 0;
}

/* --check-config's verdict; the default file may be absent, and then says so. */
static void print_check_ok(const Args *args)
{
        if (!args->config_given && access(args->config_path, F_OK) < 0 && errno == ENOENT)
                printf("%s: not present, defaults in force: OK\n", args->config_path);
        else
                printf("%s: OK\n", args->config_path);
}

/* Takes config. */
static int run(MemtideConfig *config, const Args *args)
{
        _cleanup_(config_freep) MemtideConfig *owned = config;
        _cleanup_(manager_freep) Manager *m = NULL;
        _cleanup_(control_server_freep) ControlServer *control = NULL;
        _cleanup_close_ int socket_lock = -1, state_lock = -1;
        const BackendOps *backend = pick_backend(config->backend);
        int r, lock_fds[2] = { -1, -1 };

        if (!backend)
                return -EINVAL;
        r = lock_instance(owned, lock_fds);
        socket_lock = lock_fds[0];
        state_lock = lock_fds[1];
        if (r < 0)
                return r;
        r = manager_new(&m, owned, args->config_path, backend);
        if (r < 0)
                return log_error_errno(r, "Failed to create the manager: %m");
        owned = NULL; /* the manager owns it now */
        m->config_optional = !args->config_given;
        m->after_cycle = after_cycle;
        r = add_signals(m);
        if (r < 0)
                return log_error_errno(r, "Failed to set up signals: %m");
        /* Feeds WATCHDOG=1 from the loop itself when WatchdogSec= is set. */
        r = sd_event_set_watchdog(m->event, true);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the watchdog: %m");
        runtime_overrides_load(m);
        host_pause_load(m);
        m->debug_forced = args->debug;
        if (!args->debug)
                log_set_max_level(m->config->log_level);
        if (manager_observing(m))
                log_warning("Observing (%s): the policy runs, no balloon commands are sent",
                            m->operator_paused ? "memtidectl pause" : "Mode=observe");
        r = manager_start(m);
        if (r < 0)
                return r;
        r = control_server_new(&control, m, m->config->control_socket);
        if (r < 0)
                return log_error_errno(r, "Failed to listen on %s: %m", m->config->control_socket);
        (void)sd_notify(false, "READY=1\nSTATUS=Starting");
        r = sd_event_loop(m->event);
        if (r < 0)
                return log_error_errno(r, "Event loop failed: %m");
        return 0;
}

/* Each error of the config on a line of its own, then how many: one run shows them all. */
static void log_config_errors(const char *error, int r)
{
        unsigned n = 0;

        if (!error) {
                log_error("Failed to load config: %s", strerror(-r));
                return;
        }
        for (const char *p = error; *p;) {
                size_t len = strcspn(p, "\n");
                log_error("%.*s", (int)len, p);
                n++;
                p += len + (p[len] == '\n');
        }
        log_error("Failed to load config: %u error%s", n, n == 1 ? "" : "s");
}

/* One QMP socket per guest: systemd's soft limit of 1024 open files would
 * stop memtided short of a thousand guests. sd-event uses epoll, never
 * select(), so the soft limit may go up to the hard one (systemd's own
 * advice for such programs). */
static void raise_fd_limit(void)
{
        struct rlimit rl;

        if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= rl.rlim_max)
                return;
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
                log_warning("Failed to raise the open files limit to %llu: %m",
                            (unsigned long long)rl.rlim_max);
}

int main(int argc, char **argv)
{
        _cleanup_(config_freep) MemtideConfig *config = NULL;
        _cleanup_free_ char *error = NULL;
        Args args;
        int r;

        r = parse_args(argc, argv, &args);
        if (r <= 0)
                return r < 0 ? 2 : 0;
        log_set_max_level(args.debug ? LOG_DEBUG : LOG_INFO);
        r = args.config_given ? config_load(args.config_path, &config, &error)
                              : config_load_optional(args.config_path, &config, &error);
        if (r < 0) {
                log_config_errors(error, r);
                return 1;
        }
        if (args.dump_only)
                return config_dump(config, stdout) < 0 ? 1 : 0;
        if (args.check_only) {
                if (!pick_backend(config->backend))
                        return 1;
                print_check_ok(&args);
                return 0;
        }
        /* A write to a closed control client must not kill the daemon. */
        signal(SIGPIPE, SIG_IGN);
        raise_fd_limit();
        r = run(TAKE_PTR(config), &args);
        return r < 0 ? 1 : 0;
}
