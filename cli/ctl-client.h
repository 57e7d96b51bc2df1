/* SPDX-License-Identifier: GPL-2.0-or-later */
/* memtidectl's side of the control socket: one varlink call, one reply. */
#pragma once

#include <json-c/json.h>

/*
 * Calls method with params (taken, may be NULL) on the socket at path and
 * waits up to timeout_ms for the reply. On success *ret is the reply's
 * "parameters". A varlink error reply returns -EBADE with *ret_error set to
 * the error name (caller frees) and *ret to the error's parameters (or NULL). Returns -errno on
 * connection trouble.
 */
int ctl_call(const char *path, const char *method, json_object *params, int timeout_ms,
             json_object **ret, char **ret_error);
