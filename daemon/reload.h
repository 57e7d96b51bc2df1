/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Reloading the config (SIGHUP, memtidectl reload). */
#pragma once

#include "manager.h"

/* Loads the config anew; only a config that loads without error replaces the
 * old one. On failure *ret_error (if given) gets the file:line message. */
int reload_config(Manager *m, char **ret_error);
