/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What memtidectl's verbs are written against: the global options, the verb
 * table's row, the exit codes, and the helpers that memtidectl.c (main)
 * provides to the verbs. Each verb is declared in the header of the file that
 * defines it (ctl-compat.h, ctl-guest.h, ctl-simulate.h).
 */
#pragma once

#include <stdbool.h>
#include <stdio.h>

#include <json-c/json.h>

#define EXIT_DAEMON 1 /* the daemon failed the request, could not be reached, no such guest */
#define EXIT_USAGE  2 /* bad usage, or a value the daemon refused (InvalidParameter) */

typedef struct CtlArgs {
        const char *socket;
        bool socket_given; /* --socket, not $MEMTIDE_SOCKET or the default */
        bool json;
} CtlArgs;

/*
 * A verb: argv[0] is the verb; run returns the process exit code. main()
 * answers VERB --help (and help VERB) from the row itself, so run never
 * sees --help.
 */
typedef struct CtlVerb {
        const char *name;
        int (*run)(const CtlArgs *a, int argc, char **argv);
        const char *synopsis;  /* its arguments, for the usage lines */
        const char *summary;   /* what it does, in a line or a few */
        void (*help)(FILE *f); /* a help of its own; NULL: synopsis, summary, details */
        const char *details;   /* more for VERB --help, or NULL */
} CtlVerb;

/* ---- Defined in memtidectl.c ---- */

/* Calls method on the daemon; prints the error and returns an exit code on failure. */
int ctl_request(const CtlArgs *a, const char *method, json_object *params, json_object **ret);

void ctl_print_json(json_object *o);

/* "memtidectl: VERB: unexpected argument 'ARG'" with where to look; returns EXIT_USAGE. */
int ctl_unexpected_argument(const char *verb, const char *arg);

/* A whole-string number within [lo, hi]; -EINVAL otherwise. */
int ctl_parse_double(const char *s, double lo, double hi, double *ret);
