/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Guest objects: allocation, naming, what arrives from the backends, teardown. */
#include "guest.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "arrival.h"

static const char *const state_names[] = {
        [GUEST_CONNECTING] = "connecting",
        [GUEST_READY] = "ready",
        [GUEST_DISCONNECTED] = "disconnected",
};

const char *guest_state_to_string(GuestState s)
{
        return s < ELEMENTSOF(state_names) ? state_names[s] : "invalid";
}

int guest_new(Guest **ret, Manager *m, Backend *b, const char *key)
{
        _cleanup_(guest_freep) Guest *g = calloc(1, sizeof(*g));

        if (!g)
                return -ENOMEM;
        g->manager = m;
        g->backend = b;
        g->key = strdup(key);
        g->name = strdup(key);
        balloon_stats_init(&g->stats);
        guest_compat_clear(&g->compat);
        g->state = GUEST_DISCONNECTED;
        if (!g->key || !g->name)
                return -ENOMEM;
        *ret = TAKE_PTR(g);
        return 0;
}

static int replace_string(char **field, const char *value)
{
        char *copy = strdup(value);

        if (!copy)
                return -ENOMEM;
        free(*field);
        *field = copy;
        return 0;
}

int guest_set_name(Guest *g, const char *name)
{
        return replace_string(&g->name, name);
}

int guest_set_uuid(Guest *g, const char *uuid)
{
        return replace_string(&g->uuid, uuid);
}

int guest_qmp_command(Guest *g, const char *command, json_object *args, qmp_reply_fn cb)
{
        if (!g->backend->ops->qmp_command) {
                json_object_put(args);
                return -EPERM;
        }
        return g->backend->ops->qmp_command(g, command, args, cb);
}

bool guest_stats_arrived(Guest *g, const BalloonStats *s)
{
        bool updated = s->last_update_sec != g->stats.last_update_sec;

        g->stats = *s;
        if (!updated)
                return false;
        g->stats_actual_bytes = g->actual_bytes;
        /* At full size with nothing in flight, what MemTotal lacks is the kernel's. */
        if (g->actual_bytes == g->max_bytes && !g->command_pending &&
            s->total_bytes != STAT_UNKNOWN && s->total_bytes < g->max_bytes)
                g->kernel_reserve_bytes = g->max_bytes - s->total_bytes;
        return true;
}

void guest_balloon_changed(Guest *g, uint64_t actual)
{
        g->actual_bytes = actual;
        if (g->command_pending && balloon_arrived(actual, g->pending_target_bytes))
                g->command_pending = false;
}

void guest_reset(Guest *g, const char *reason)
{
        free(g->last_error);
        g->last_error = strdup(reason);
        g->state = GUEST_DISCONNECTED;
        g->command_pending = false;
        g->pending_target_bytes = 0; /* a new connection has had no target of ours */
        balloon_stats_init(&g->stats);
        g->stats_actual_bytes = 0;
        guest_compat_clear(&g->compat);
        g->policy_state = (PolicyGuestState){ 0 };
        g->other_controller = (OtherController){ 0 };
        g->has_decision = false;
        g->history_len = g->history_next = 0;
}

/* The override's fields name it as their source. */
/* "override (memtidectl set)", or "override 'web*' (memtidectl set)" for a glob. */
static void override_sources(const Override *ov, GuestSettings *s)
{
        char source[OVERRIDE_GUEST_MAX_BYTES + 64];

        if (override_is_glob(ov))
                snprintf(source, sizeof(source), "override '%s' (memtidectl set)", ov->guest);
        else
                snprintf(source, sizeof(source), "override (memtidectl set)");
        if (ov->min_set)
                guest_settings_set_source(s, GUEST_SETTING_MIN, "%s", source);
        if (ov->max_set)
                guest_settings_set_source(s, GUEST_SETTING_MAX, "%s", source);
        if (ov->manage_set)
                guest_settings_set_source(s, GUEST_SETTING_MANAGE, "%s", source);
        if (ov->shares_set)
                guest_settings_set_source(s, GUEST_SETTING_SHARES, "%s", source);
}

void guest_apply_settings(Guest *g, const MemtideConfig *config, const Overrides *overrides)
{
        GuestSettings *s = &g->settings;
        const Override *ov = overrides_find(overrides, g->name, g->uuid);
        const Override *glob = overrides_find_glob(overrides, g->name);

        guest_settings_init(s);
        if (g->backend->ops->vm_settings)
                g->backend->ops->vm_settings(g, s);
        config_guest_rules_apply(config, g->name, g->uuid, s);
        overrides_apply(overrides, g->name, g->uuid, s);
        if (glob)
                override_sources(glob, s);
        if (ov)
                override_sources(ov, s);
}

void guest_record_decision(Guest *g, uint64_t wall_sec, const GuestSample *in, const Decision *d,
                           bool sent)
{
        DecisionRecord *rec = &g->history[g->history_next];

        if (d->change)
                (void)target_history_add(
                        &g->changes, wall_sec, in->actual_bytes,
                        in->stats.available_bytes == STAT_UNKNOWN ? 0 : in->stats.available_bytes,
                        d, sent); /* out of memory: one step unrecorded */
        *rec = (DecisionRecord){
                .wall_sec = wall_sec, .sent = sent && d->change, .input = *in, .decision = *d
        };
        rec->input.name = NULL;
        g->history_next = (g->history_next + 1) % GUEST_HISTORY;
        if (g->history_len < GUEST_HISTORY)
                g->history_len++;
        g->last_decision = *d;
        g->has_decision = true;
}

Guest *guest_free(Guest *g)
{
        if (!g)
                return NULL;
        if (g->backend && g->backend->ops->forget)
                g->backend->ops->forget(g);
        guest_compat_clear(&g->compat);
        free(g->key);
        free(g->name);
        free(g->uuid);
        free(g->last_error);
        target_history_clear(&g->changes);
        free(g);
        return NULL;
}
