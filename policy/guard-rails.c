/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Guard rails, applied after every strategy whatever it proposed: step caps
 * (inflate slower than deflate; distress deflation is not capped), ceiling
 * (approached by inflate steps from above), floor (which a maximum under use
 * + HeadroomMin= does not lower unless MaxMemoryBelowFloor=yes), no
 * inflation without fresh stats, no further inflation while a command is in
 * flight.
 */
#include <stdio.h>
#include <string.h>

#include "accounting.h"
#include "guard-rails.h"
#include "units.h"

/* Targets closer than this to the current size are not worth a command. */
#define MIN_CHANGE_BYTES (4 * MIB)

static void append(Decision *d, const char *what, uint64_t bytes)
{
        char b[32];
        size_t len;

        if (d->quiet)
                return;
        len = strlen(d->reason);
        format_bytes(b, sizeof(b), bytes);
        snprintf(d->reason + len, sizeof(d->reason) - len, "; %s %s", what, b);
}

/* A proposal the rails cut back to no change is a hold: say so first. */
static void say_hold(Decision *d, uint64_t size)
{
        char was[POLICY_REASON_MAX], b[32];
        memcpy(was, d->reason, sizeof(was));
        snprintf(d->reason, sizeof(d->reason), "hold at %s: %s", format_bytes(b, sizeof(b), size),
                 was);
}

/*
 * A share of the guest's maximum; while the guest is above a lowered
 * maximum, of its boot memory: a share of a small maximum would be a step
 * too small to send, and the guest would never come down.
 */
static uint64_t inflate_step_bytes(const PolicyConfig *config, const GuestSample *g)
{
        uint64_t ceiling = guest_ceiling_bytes(g);
        uint64_t base = g->actual_bytes > ceiling ? guest_boot_bytes(g) : ceiling;

        return size_or_share_bytes(&config->inflate_step, base);
}

static void apply_step_caps(const PolicyConfig *config, const GuestSample *g, Decision *d)
{
        uint64_t cur = g->actual_bytes;

        if (d->target_bytes < cur) {
                uint64_t step = inflate_step_bytes(config, g);
                if (cur - d->target_bytes > step) {
                        d->target_bytes = cur - step;
                        append(d, "inflate step capped at", step);
                }
        } else if (d->target_bytes > cur && !d->distress) {
                uint64_t step = size_or_share_bytes(&config->deflate_step, g->max_bytes);
                if (d->target_bytes - cur > step) {
                        d->target_bytes = cur + step;
                        append(d, "deflate step capped at", step);
                }
        }
}

/*
 * The maximum, reached from above one inflate step per cycle: a maximum
 * lowered below the guest's size (MaxMemory=, memtidectl set --max) is a
 * squeeze like any other. A size beyond the boot memory is not believed.
 */
static void apply_ceiling(const PolicyConfig *config, const GuestSample *g, Decision *d)
{
        uint64_t ceiling = guest_ceiling_bytes(g), boot = guest_boot_bytes(g);
        uint64_t from = g->actual_bytes < boot ? g->actual_bytes : boot;
        uint64_t step = inflate_step_bytes(config, g);

        if (d->target_bytes <= ceiling)
                return;
        d->target_bytes = from > ceiling && from - ceiling > step ? from - step : ceiling;
        if (!guest_max_under_use(config, g))
                append(d, "limited to maximum", ceiling);
}

/* A maximum under use + HeadroomMin=: say whether the floor or the maximum wins. */
static void explain_max_under_use(const PolicyConfig *config, const GuestSample *g, Decision *d)
{
        char b[32];
        size_t len;

        if (d->quiet || !guest_max_under_use(config, g))
                return;
        len = strlen(d->reason);
        format_bytes(b, sizeof(b), guest_ceiling_bytes(g));
        snprintf(d->reason + len, sizeof(d->reason) - len,
                 "; maximum %s under use + HeadroomMin=: %s", b,
                 g->max_below_floor ? "squeezed below the floor (MaxMemoryBelowFloor=yes)"
                                    : "floor kept (MaxMemoryBelowFloor=no)");
}

/*
 * A host whose tasks stall on memory (PSI "full") gets no inflation at all:
 * squeezing a guest makes it reclaim and fault too, and the balloon's pages
 * cost the host work right when it has none to spare. Deflating guests in
 * distress goes on. An inflation under way is stopped (the command resends
 * the current size).
 */
static void hold_under_host_pressure(const PolicyConfig *config, const HostSample *host,
                                     const GuestSample *g, Decision *d)
{
        double full = host->psi_full_avg10 / 100.0;

        if (!host->psi_available || full < config->host_pressure_full ||
            d->target_bytes >= g->actual_bytes)
                return;
        d->target_bytes = g->actual_bytes;
        decision_explain(d, "hold: host memory pressure (PSI full %.1f%% >= %.1f%%), no inflation",
                         host->psi_full_avg10, config->host_pressure_full * 100.0);
}

/*
 * Inflation needs fresh stats, and waits for the last command to land.
 * Returns true when it waits: then no command is sent at all, since
 * re-sending the current size would cancel the inflation under way.
 */
static bool hold_unsafe_inflation(const GuestSample *g, Decision *d)
{
        if (d->target_bytes >= g->actual_bytes)
                return false;
        if (!guest_stats_usable(g)) {
                d->target_bytes = g->actual_bytes;
                decision_explain(d, "hold: %s, no inflation",
                                 balloon_stats_reported(&g->stats) ? "stats stale"
                                                                   : "no stats yet");
        } else if (g->command_pending && d->target_bytes < g->pending_target_bytes) {
                d->target_bytes = g->actual_bytes;
                decision_explain(d, "hold: last balloon command still in progress");
                return true;
        }
        return false;
}

void guard_rails_apply(const PolicyConfig *config, const HostSample *host, const GuestSample *g,
                       Decision *d)
{
        d->floor_bytes = guest_floor_bytes(config, host, g);
        apply_step_caps(config, g, d);
        apply_ceiling(config, g, d);
        if (d->target_bytes < d->floor_bytes) {
                d->target_bytes = d->floor_bytes;
                append(d, "raised to floor", d->floor_bytes);
        }
        explain_max_under_use(config, g, d);
        /* Last, so that no rule above can turn a hold into an inflation. */
        hold_under_host_pressure(config, host, g, d);
        bool waiting = hold_unsafe_inflation(g, d);
        uint64_t reference = g->command_pending ? g->pending_target_bytes : g->actual_bytes;
        uint64_t delta = d->target_bytes > reference ? d->target_bytes - reference
                                                     : reference - d->target_bytes;
        d->change = g->manage && !waiting && delta >= MIN_CHANGE_BYTES;
        if (!d->change && g->manage && !d->quiet && strncmp(d->reason, "hold", 4) != 0)
                say_hold(d, reference);
}
