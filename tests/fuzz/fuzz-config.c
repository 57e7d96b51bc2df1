/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fuzz target: the config parser (lib/config/config.c, with lib/units.c and the
 * policy knobs it fills). The input is a memtide.conf, optionally followed
 * by a NUL byte and a drop-in that is parsed on top of it, as config_load()
 * does with FILE.d/\*.conf (later files win).
 *
 * Invariants: no crash, leak or sanitizer report; a rejected file names
 * "file:line: reason" (config.h); an accepted one leaves values the rest of
 * memtide relies on: known backend and strategy names, absolute socket
 * globs, step shares in (0, 1] (policy-config.h), and guest settings that
 * can be looked up by name and UUID.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "config.h"
#include "fuzz.h"
#include "model.h"

#define MAIN_FILE   "memtide.conf"
#define DROPIN_FILE "memtide.conf.d/50-fuzz.conf"


static void check_error(int r, const char *error, const char *file)
{
        fuzz_check(r == -EINVAL || r == -ENOMEM);
        if (r == -EINVAL) {
                fuzz_check(error);
                fuzz_check(strncmp(error, file, strlen(file)) == 0 && error[strlen(file)] == ':');
        }
}

static void check_step(const SizeOrShare *step)
{
        const uint64_t max_bytes = UINT64_C(4) << 40; /* a 4 TiB guest */

        fuzz_check(step->share >= 0 && step->share <= 1);
        fuzz_check(step->share > 0 || step->bytes > 0);
        if (step->share > 0)
                fuzz_check(size_or_share_bytes(step, max_bytes) <= max_bytes);
}

static void check_config(const MemtideConfig *c)
{
        static const char *const names[] = { "db-1", "web", "", "[x]*" };
        GuestSettings gs;

        fuzz_check(backend_kind_to_string(c->backend));
        fuzz_check(policy_strategy_to_string(c->policy.strategy));
        fuzz_check(c->qmp_sockets);
        for (char **p = c->qmp_sockets; *p; p++)
                fuzz_check((*p)[0] == '/');
        fuzz_check(c->interval_usec > 0 && c->stats_period_usec > 0);
        fuzz_check(c->control_socket && c->libvirt_uri);
        fuzz_check(c->policy.headroom_share > 0 && c->policy.headroom_share <= 1);
        check_step(&c->policy.inflate_step);
        check_step(&c->policy.deflate_step);
        for (size_t i = 0; i < c->n_guest_rules; i++)
                fuzz_check(c->guest_rules[i].match && c->guest_rules[i].match[0]);
        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                config_guest_settings(c, names[i], "6c9a2b5e-61e4-4a4f-9d3e-2f1d0f0b7c11", &gs);
                config_guest_settings(c, names[i], NULL, &gs);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        _cleanup_(config_freep) MemtideConfig *c = NULL;
        _cleanup_free_ char *text = NULL, *error = NULL;
        const char *dropin;
        size_t main_len;
        int r;

        /* config_load() refuses files over 1 MiB; stay far below. */
        if (size > 64 * 1024)
                return 0;
        text = malloc(size + 1);
        fuzz_check(text);
        memcpy(text, data, size);
        text[size] = '\0';
        main_len = strlen(text);
        dropin = main_len < size ? text + main_len + 1 : NULL;

        fuzz_check(config_new(&c) == 0);
        check_config(c);

        r = config_parse_text(c, text, MAIN_FILE, &error);
        if (r < 0) {
                check_error(r, error, MAIN_FILE);
                return 0;
        }
        check_config(c);
        if (!dropin)
                return 0;

        r = config_parse_text(c, dropin, DROPIN_FILE, &error);
        if (r < 0) {
                check_error(r, error, DROPIN_FILE);
                return 0;
        }
        check_config(c);
        return 0;
}
