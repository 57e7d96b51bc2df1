/* SPDX-License-Identifier: GPL-2.0-or-later */
/* memtided: parse arguments, load the config, build the manager, run the loop. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "config.h"
#include "log.h"
#include "manager.h"
#include "memtide-config.h"

DEFINE_POINTER_CLEANUP(Manager, manager_free)

typedef struct Args {
        const char *config_path;
        bool check_only;
        bool config_given; /* --config: then the file must exist */
        bool debug;
} Args;

static void usage(FILE *f)
{
        fprintf(f, "Usage: memtided [--config FILE] [--check-config] [--debug]\n"
                   "Host memory-overcommit manager: sets guests' virtio-balloon targets.\n\n"
                   "  -c, --config FILE   config file (default %s, plus FILE.d/*.conf)\n"
                   "      --check-config  validate the config and exit\n"
                   "  -d, --debug         log every decision\n"
                   "  -h, --help          this help\n"
                   "      --version       print the version\n",
                CONFIG_DEFAULT_PATH);
}

/* Returns 1 to run, 0 to exit successfully, -EINVAL on bad arguments. */
static int parse_args(int argc, char **argv, Args *args)
{
        enum { ARG_CHECK = 0x100, ARG_VERSION };
        static const struct option options[] = {
                { "config", required_argument, NULL, 'c' },
                { "check-config", no_argument, NULL, ARG_CHECK },
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

int main(int argc, char **argv)
{
        _cleanup_(manager_freep) Manager *m = NULL;
        _cleanup_free_ char *error = NULL;
        MemtideConfig *config = NULL;
        Args args;
        int r;

        r = parse_args(argc, argv, &args);
        if (r <= 0)
                return r < 0 ? 2 : 0;
        log_set_max_level(args.debug ? LOG_DEBUG : LOG_INFO);
        r = args.config_given ? config_load(args.config_path, &config, &error)
                              : config_load_optional(args.config_path, &config, &error);
        if (r < 0) {
                log_error("Failed to load config: %s", error ? error : strerror(-r));
                return 1;
        }
        if (args.check_only) {
                config_free(config);
                printf("%s: OK\n", args.config_path);
                return 0;
        }
        /* A write to a closed control client must not kill the daemon. */
        signal(SIGPIPE, SIG_IGN);
        r = manager_new(&m, config, args.config_path);
        if (r < 0) {
                config_free(config);
                log_error("Failed to create the manager: %s", strerror(-r));
                return 1;
        }
        m->config_optional = !args.config_given;
        r = manager_start(m);
        if (r < 0)
                return 1;
        r = sd_event_loop(m->event);
        if (r < 0) {
                log_error("Event loop failed: %s", strerror(-r));
                return 1;
        }
        return 0;
}
