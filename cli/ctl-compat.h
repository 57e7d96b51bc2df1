/* SPDX-License-Identifier: GPL-2.0-or-later */
/* memtidectl compat: a live guest's queue layout, or the offline calculator. */
#pragma once

#include "ctl.h"

int verb_compat(const CtlArgs *a, int argc, char **argv);
