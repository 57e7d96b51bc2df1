/* SPDX-License-Identifier: GPL-2.0-or-later */
/* memtidectl's verbs share these options and helpers. */
#pragma once

#include <stdbool.h>

#include <json-c/json.h>

#define EXIT_DAEMON 1 /* the daemon failed the request or could not be reached */
#define EXIT_USAGE  2

typedef struct CtlArgs {
        const char *socket;
        bool json;
} CtlArgs;

/* Calls method on the daemon; prints the error and returns an exit code on failure. */
int ctl_request(const CtlArgs *a, const char *method, json_object *params, json_object **ret);

void ctl_print_json(json_object *o);

/* A whole-string number within [lo, hi]; -EINVAL otherwise. */
int ctl_parse_double(const char *s, double lo, double hi, double *ret);

typedef struct CtlVerb {
        const char *name;
        int (*run)(const CtlArgs *a, int argc, char **argv);
} CtlVerb;

/* show, set, reset, reload, explain (ctl-guest.c); ends with an empty entry. */
extern const CtlVerb guest_verbs[];

/* Verbs: argv[0] is the verb; return the process exit code. */
int verb_status(const CtlArgs *a, int argc, char **argv);
int verb_list(const CtlArgs *a, int argc, char **argv);
int verb_compat(const CtlArgs *a, int argc, char **argv);
