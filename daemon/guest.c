/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Guest objects: allocation, naming, what arrives from the backends, teardown. */
#include "guest.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrival.h"
#include "units.h"

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
        g->vmem.driven = -1;
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
        /* While virtio-mem plugs or unplugs, MemTotal lags behind the
         * device: total - MemTotal is more than the kernel's reserve. */
        bool vmem_moving = guest_vmem_driven(g) && !g->vmem.settled;

        /* Without a reserve, use would be read against the device's size,
         * counting memory not yet online as used: wait for the device. */
        if (updated && vmem_moving && !g->kernel_reserve_bytes)
                return false;
        g->stats = *s;
        if (!updated)
                return false;
        uint64_t total = guest_total_bytes(g);
        g->stats_actual_bytes = total;
        /* At full size with nothing in flight, what MemTotal lacks is the
         * kernel's; plugged virtio-mem memory is in MemTotal too. */
        if (g->actual_bytes == g->max_bytes && !g->command_pending && !vmem_moving &&
            s->total_bytes != STAT_UNKNOWN && s->total_bytes < total)
                g->kernel_reserve_bytes = total - s->total_bytes;
        return true;
}

const VmemDevice *guest_vmem_driven(const Guest *g)
{
        return g->vmem.driven >= 0 ? &g->vmem.devices[g->vmem.driven] : NULL;
}

char *guest_vmem_describe(const Guest *g)
{
        const VmemDevice *d = guest_vmem_driven(g);
        char block_s[32], max_s[32], plugged_s[32];
        char *s = NULL;

        if (!d || asprintf(&s, "virtio-mem %s (block %s, max %s, plugged %s)", d->id,
                           format_bytes(block_s, sizeof(block_s), d->block_bytes),
                           format_bytes(max_s, sizeof(max_s), d->max_bytes),
                           format_bytes(plugged_s, sizeof(plugged_s), d->plugged_bytes)) < 0)
                return NULL;
        return s;
}

uint64_t guest_total_bytes(const Guest *g)
{
        uint64_t total = g->actual_bytes;

        for (size_t i = 0; i < g->vmem.n_devices; i++)
                total += g->vmem.devices[i].plugged_bytes;
        return total;
}

uint64_t guest_device_max_bytes(const Guest *g)
{
        uint64_t max = g->max_bytes;

        for (size_t i = 0; i < g->vmem.n_devices; i++)
                max += (int)i == g->vmem.driven ? g->vmem.devices[i].max_bytes
                                                : g->vmem.devices[i].plugged_bytes;
        return max;
}

/* The policy's target is a total; with virtio-mem only what the plan can
 * reach of it, within a block, since the device moves whole blocks. */
static void check_arrival(Guest *g)
{
        const VmemDevice *d = guest_vmem_driven(g);

        if (!g->command_pending)
                return;
        if (!d) {
                if (balloon_arrived(g->actual_bytes, g->pending_target_bytes))
                        g->command_pending = false;
                return;
        }
        if (vmem_total_arrived(guest_total_bytes(g), g->planned_total_bytes, d->block_bytes))
                g->command_pending = false;
}

void guest_balloon_changed(Guest *g, uint64_t actual)
{
        g->actual_bytes = actual;
        check_arrival(g);
}

void guest_vmem_changed(Guest *g, const VmemDevice *devs, size_t n, size_t n_total,
                        uint64_t now_usec)
{
        GuestVmem *v = &g->vmem;
        const VmemDevice *d = guest_vmem_driven(g);
        uint64_t plugged_before = d ? d->plugged_bytes : UINT64_MAX;

        if (n > GUEST_MAX_VMEM)
                n = GUEST_MAX_VMEM;
        for (size_t i = 0; i < n; i++)
                v->devices[i] = devs[i];
        v->n_devices = n;
        v->n_total = n_total;
        v->driven = -1;
        for (size_t i = 0; i < n && v->driven < 0; i++)
                if (devs[i].id[0] != '\0')
                        v->driven = (int)i;
        d = guest_vmem_driven(g);
        if (d && (d->plugged_bytes != plugged_before || v->plugged_since_usec == 0))
                v->plugged_since_usec = now_usec ? now_usec : 1;
        v->settled = d && now_usec - v->plugged_since_usec >= GUEST_VMEM_SETTLE_USEC;
        v->stalled =
                d && vmem_stall_update(&v->stall, d->plugged_bytes, d->requested_bytes, now_usec);
        check_arrival(g);
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
        g->vmem = (GuestVmem){ .driven = -1 };
        g->planned_total_bytes = g->balloon_target_bytes = 0;
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
