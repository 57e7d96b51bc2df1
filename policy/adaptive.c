/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The adaptive strategy (memtide's own). Each guest is sized to its need:
 * what it uses now, plus
 *   - a headroom that narrows with host pressure from HeadroomShare= of its
 *     maximum to the floor's HeadroomMin=, and the growth it shows
 *     times GrowthHorizon= (or two stats periods, whichever is longer);
 *   - while the host has room, the recent peak of its use (fast attack,
 *     PeakHalfLife= decay) and VolatilityFactor= times its recent upward
 *     swings. Host pressure (MemAvailable under 4 x HostReserve=, PSI) takes
 *     this extra back, first from guests whose memory is idle and whose
 *     shares are low (ESX's idle memory tax, IdleTax=).
 * A guest in distress gets memory at once: a whole DeflateStep=, doubling
 * while the distress lasts (its real need is hidden behind a full balloon). An idle
 * guest is squeezed only when it holds clearly more than its target
 * (hysteresis), and then all the way to the target.
 */
#include <math.h>

#include "accounting.h"
#include "strategy.h"
#include "units.h"

/* How quickly the growth estimate forgets a burst, per second of stats. */
#define GROWTH_DECAY_PER_SEC 0.85
/* Distress grants double per cycle up to this many times. */
#define DISTRESS_MAX_DOUBLINGS 6

static bool counter_rose(uint64_t now, uint64_t before)
{
        return now != STAT_UNKNOWN && before != STAT_UNKNOWN && now > before;
}

static double stats_interval_sec(const PolicyGuestState *st, const GuestSample *g)
{
        if (!st->has_prev || g->stats.last_update_sec <= st->prev_stats_sec)
                return 0;
        return (double)(g->stats.last_update_sec - st->prev_stats_sec);
}

/* Fast attack, slow decay: a rise is taken at once, a fall only slowly. */
static void update_growth(PolicyGuestState *st, double dt, uint64_t used)
{
        if (dt <= 0)
                return;
        double rate = ((double)used - (double)st->prev_used_bytes) / dt;
        double decayed = st->growth_bytes_per_sec * pow(GROWTH_DECAY_PER_SEC, ceil(dt));
        st->growth_bytes_per_sec = rate > decayed ? rate : decayed;
}

/* The peak decays toward use with PeakHalfLife=; upward swings are averaged
 * over the same time, so a guest that moved a lot recently keeps room. */
static void update_need(const PolicyConfig *config, PolicyGuestState *st, double dt, uint64_t used)
{
        double half_life = (double)config->peak_half_life_usec / 1e6;
        double keep = half_life > 0 && dt > 0 ? exp2(-dt / half_life) : 1.0;

        if (!st->has_prev) {
                st->peak_used_bytes = (double)used;
                return;
        }
        st->peak_used_bytes = (double)used + fmax(st->peak_used_bytes - (double)used, 0) * keep;
        if (dt > 0) {
                double up = fmax((double)used - (double)st->prev_used_bytes, 0);
                st->swing_bytes = st->swing_bytes * keep + up * (1.0 - keep);
        }
}

/* Distress: the guest is short of memory now; explain which signal fired. */
static const char *distress_signal(const PolicyGuestState *st, const GuestSample *g,
                                   uint64_t available, uint64_t headroom_min)
{
        const BalloonStats *s = &g->stats;

        if (available < headroom_min)
                return "available below the minimum headroom";
        if (!st->has_prev)
                return NULL;
        if (counter_rose(s->oom_kills, st->prev_oom_kills))
                return "OOM kills rising";
        if (counter_rose(s->swap_in_bytes, st->prev_swap_in_bytes))
                return "swap-in rising";
        if (counter_rose(s->alloc_stalls, st->prev_alloc_stalls))
                return "allocation stalls rising";
        return NULL;
}

static void remember(PolicyGuestState *st, const GuestSample *g, uint64_t used)
{
        const BalloonStats *s = &g->stats;

        st->has_prev = true;
        st->prev_used_bytes = used;
        st->prev_stats_sec = s->last_update_sec;
        st->prev_swap_in_bytes = s->swap_in_bytes;
        st->prev_oom_kills = s->oom_kills;
        st->prev_alloc_stalls = s->alloc_stalls;
}

/* ESX's shares-per-page ratio with the idle memory tax: an idle page costs
 * 1/(1 - IdleTax) active ones. Higher means the guest keeps its memory. */
static double share_ratio(const PolicyConfig *config, const GuestSample *g, uint64_t used)
{
        double size = (double)(g->actual_bytes > 0 ? g->actual_bytes : 1);
        double active = fmin((double)used / size, 1.0);
        double k = 1.0 / (1.0 - config->idle_tax);
        uint32_t shares = g->shares > 0 ? g->shares : 1;

        return shares / (size * (active + k * (1.0 - active)));
}

typedef struct Need {
        uint64_t used, available, headroom_min, anticipation, extra;
        double room; /* headroom kept at this host pressure, before the ratio */
        double pressure;
        const char *signal;
} Need;

/* Under host pressure the target headroom narrows to the floor's. */
static uint64_t need_target(const PolicyConfig *config, const Need *n)
{
        double ratio = 1.0 + (config->headroom_target_ratio - 1.0) * (1.0 - n->pressure);
        return n->used + (uint64_t)(ratio * n->room) + n->anticipation + n->extra;
}

static void measure(const PolicyConfig *config, const GuestSample *g, PolicyGuestState *st, Need *n)
{
        double dt = stats_interval_sec(st, g);

        n->used = guest_used_bytes(g);
        n->available = g->actual_bytes > n->used ? g->actual_bytes - n->used : 0;
        n->headroom_min = config->headroom_min_bytes;
        n->room = (double)guest_headroom_bytes(config, g, n->pressure);
        update_growth(st, dt, n->used);
        update_need(config, st, dt, n->used);
        n->signal = distress_signal(st, g, n->available, n->headroom_min);
        remember(st, g, n->used);
        /* Cover the growth until a later decision can land: the horizon, or
         * two stats periods when they are longer. */
        double horizon = fmax((double)config->growth_horizon_usec / 1e6, 2 * dt);
        n->anticipation = (uint64_t)(fmax(st->growth_bytes_per_sec, 0) * horizon);
}

static void decide_distress(const PolicyConfig *config, const GuestSample *g, PolicyGuestState *st,
                            const Need *n, Decision *d)
{
        unsigned k = st->distress_streak < DISTRESS_MAX_DOUBLINGS ? st->distress_streak
                                                                  : DISTRESS_MAX_DOUBLINGS;
        uint64_t want = need_target(config, n);
        /* A full balloon hides how much the guest is missing: start from a whole
         * deflate step and double. Overshoot costs only balloon size (untouched
         * pages are not resident) and is squeezed back once calm. */
        uint64_t base = size_or_share_bytes(&config->deflate_step, g->max_bytes);
        uint64_t probe = g->actual_bytes + ((base > n->headroom_min ? base : n->headroom_min) << k);

        st->distress_streak++;
        st->inflating = false;
        d->distress = true;
        d->target_bytes = want > probe ? want : probe;
        decision_explain(d,
                         "deflate: %s (used %.0f MiB, available %.0f MiB, growing %.1f MiB/s, "
                         "streak %u) -> %.0f MiB",
                         n->signal, (double)n->used / MIB, (double)n->available / MIB,
                         st->growth_bytes_per_sec / MIB, st->distress_streak,
                         (double)d->target_bytes / MIB);
}

/*
 * With working free page reporting the guest's free pages are back on the
 * host already: squeezing them gains the host nothing now, only page cache
 * would come back. So such a guest is squeezed only when its excess over the
 * target is far beyond the band (to cap what it could take back at once);
 * without reporting, free memory comes back only through the balloon.
 */
#define REPORTING_SQUEEZE_FACTOR 4

static uint64_t squeeze_threshold(const GuestSample *g, uint64_t band)
{
        return g->page_reporting_functional ? REPORTING_SQUEEZE_FACTOR * band : band;
}

static const char *reporting_note(const GuestSample *g)
{
        return g->page_reporting_functional ? "; free memory already returned by page reporting"
                                            : "";
}

static void decide_calm(const PolicyConfig *config, const GuestSample *g, PolicyGuestState *st,
                        const Need *n, Decision *d)
{
        uint64_t desired = need_target(config, n);
        /* Hysteresis saves churn while the host has room; under pressure
         * every MiB above the target is wanted back. */
        uint64_t band =
                (uint64_t)((2.0 - config->headroom_target_ratio) * n->room * (1.0 - n->pressure));
        uint64_t cur = g->actual_bytes;
        bool was_inflating = st->inflating;

        st->distress_streak = 0;
        st->inflating = false;
        if (desired < cur &&
            (cur - desired > squeeze_threshold(g, band) || (was_inflating && cur - desired > 0))) {
                /* Schmitt trigger: start above the band, then go all the way to the
                 * target even though step caps split it over several cycles. */
                st->inflating = true;
                d->target_bytes = desired;
                decision_explain(d,
                                 "inflate: available %.0f MiB exceeds need (used %.0f MiB + "
                                 "headroom %.0f MiB) -> %.0f MiB%s",
                                 (double)n->available / MIB, (double)n->used / MIB,
                                 (double)(desired - n->used) / MIB, (double)desired / MIB,
                                 reporting_note(g));
        } else if (desired > cur + band / 2 ||
                   (desired > cur && n->anticipation > 0 && n->available < desired - n->used)) {
                d->target_bytes = desired;
                decision_explain(d,
                                 "deflate: use %.0f MiB growing %.1f MiB/s, peak %.0f MiB, "
                                 "available %.0f MiB -> %.0f MiB",
                                 (double)n->used / MIB, st->growth_bytes_per_sec / MIB,
                                 st->peak_used_bytes / MIB, (double)n->available / MIB,
                                 (double)desired / MIB);
        } else
                decision_explain(d,
                                 "hold: available %.0f MiB within band (used %.0f MiB, "
                                 "target %.0f MiB)%s",
                                 (double)n->available / MIB, (double)n->used / MIB,
                                 (double)desired / MIB, reporting_note(g));
}

/* Mean share ratio of the managed guests with stats, to rank each against. */
static double mean_share_ratio(const PolicyConfig *config, const Snapshot *snap)
{
        double sum = 0;
        size_t n = 0;

        for (size_t i = 0; i < snap->n_guests; i++) {
                const GuestSample *g = &snap->guests[i];
                if (!g->manage || !balloon_stats_reported(&g->stats))
                        continue;
                sum += share_ratio(config, g, guest_used_bytes(g));
                n++;
        }
        return n ? sum / n : 1.0;
}

static void adaptive_propose(const PolicyConfig *config, const Snapshot *snap, PolicyState *state,
                             PolicyGuestState *states, Decision *decisions)
{
        double pressure = host_pressure(config, &snap->host);
        double mean_ratio = pressure > 0 ? mean_share_ratio(config, snap) : 1.0;

        for (size_t i = 0; i < snap->n_guests; i++) {
                const GuestSample *g = &snap->guests[i];
                PolicyGuestState *st = &states[i];
                Decision *d = &decisions[i];
                Need n = {.pressure = pressure};
                if (!g->manage || !balloon_stats_reported(&g->stats))
                        continue;
                measure(config, g, st, &n);
                d->used_bytes = n.used;
                /* Under pressure the extra headroom goes, first from guests whose
                 * share ratio is below the others' (idle memory, low shares);
                 * at full pressure from all. */
                double keep = 1.0;
                if (pressure > 0) {
                        double r = share_ratio(config, g, n.used) / mean_ratio;
                        keep = fmin(fmax((1.0 - pressure) * r, 0), 1);
                }
                /* The headroom already absorbs wobbles of its own size: only
                 * peaks and swings beyond it earn extra room. */
                double extra = fmax(st->peak_used_bytes - (double)n.used, 0) +
                               config->volatility_factor * st->swing_bytes - n.room;
                n.extra = (uint64_t)(keep * fmax(extra, 0));
                if (n.signal)
                        decide_distress(config, g, st, &n, d);
                else
                        decide_calm(config, g, st, &n, d);
        }
}

/* Fresh stats showing a guest under its minimum headroom, or its use jumping
 * by a quarter of it, are worth a cycle now: waiting for the timer is what
 * lets a growing guest run short. */
static bool adaptive_wants_early_cycle(const PolicyConfig *config, const GuestSample *g,
                                       const PolicyGuestState *state)
{
        uint64_t used, headroom_min;

        if (!g->manage || !guest_stats_usable(g))
                return false;
        used = guest_used_bytes(g);
        headroom_min = config->headroom_min_bytes;
        if (g->actual_bytes < used + headroom_min)
                return true;
        return state->has_prev && used > state->prev_used_bytes + headroom_min / 4;
}

/* Every cycle, and early when the stats call for it; it samples nothing of its own. */
const Strategy adaptive_strategy = {
        .name = "adaptive",
        .period_usec = NULL,
        .collect = NULL,
        .propose = adaptive_propose,
        .wants_early_cycle = adaptive_wants_early_cycle,
};
