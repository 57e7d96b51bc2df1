/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What memtidectl's verbs are written against: the global options, the verb
 * table's row, the exit codes, and the helpers that memtidectl.c (main)
 * provides to the verbs. Each verb is declared in the header of the file that
 * defines it (ctl-compat.h, ctl-guest.h, ctl-simulate.h).
 */
#pragma once

#include <stdbool.h>

#include <json-c/json.h>

#define EXIT_DAEMON 1 /* the daemon failed the request or could not be reached */
#define EXIT_USAGE  2

typedef struct CtlArgs {
        const char *socket;
        bool json;
} CtlArgs;

/* A verb: argv[0] is the verb; run returns the process exit code. */
typedef struct CtlVerb {
        const char *name;
        int (*run)(const CtlArgs *a, int argc, char **argv);
} CtlVerb;

/* ---- Defined in memtidectl.c ---- */

/* Calls method on the daemon; prints the error and returns an exit code on failure. */
int ctl_request(const CtlArgs *a, const char *method, json_object *params, json_object **ret);

void ctl_print_json(json_object *o);

/* A whole-string number within [lo, hi]; -EINVAL otherwise. */
int ctl_parse_double(const char *s, double lo, double hi, double *ret);
