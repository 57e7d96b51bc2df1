/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "status-json.h"

#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "compat-format.h"
#include "log.h"
#include "json-util.h"
#include "memtide-config.h"

/* Stats and sizes are uint64; "unknown" is JSON null, never a sentinel number. */
static json_object *u64_or_null(uint64_t v)
{
        return v == STAT_UNKNOWN ? NULL : json_object_new_uint64(v);
}

static void add_u64(json_object *o, const char *key, uint64_t v)
{
        json_object_object_add(o, key, u64_or_null(v));
}

static json_object *stats_json(const BalloonStats *s)
{
        json_object *o = json_object_new_object();
        add_u64(o, "swap_in_bytes", s->swap_in_bytes);
        add_u64(o, "swap_out_bytes", s->swap_out_bytes);
        add_u64(o, "major_faults", s->major_faults);
        add_u64(o, "minor_faults", s->minor_faults);
        add_u64(o, "free_bytes", s->free_bytes);
        add_u64(o, "total_bytes", s->total_bytes);
        add_u64(o, "available_bytes", s->available_bytes);
        add_u64(o, "disk_caches_bytes", s->disk_caches_bytes);
        add_u64(o, "hugetlb_allocations", s->hugetlb_allocations);
        add_u64(o, "hugetlb_failures", s->hugetlb_failures);
        add_u64(o, "oom_kills", s->oom_kills);
        add_u64(o, "alloc_stalls", s->alloc_stalls);
        add_u64(o, "last_update_seconds", s->last_update_sec ? s->last_update_sec : STAT_UNKNOWN);
        return o;
}

static json_object *string_or_null(const char *s)
{
        return s ? json_object_new_string(s) : NULL;
}

static json_object *hex_mask(uint64_t mask)
{
        char b[24];
        snprintf(b, sizeof(b), "0x%llx", (unsigned long long)mask);
        return json_object_new_string(b);
}

static json_object *conventions_json(unsigned mask)
{
        json_object *list = json_object_new_array();
        for (int i = 0; i < _COMPAT_CONVENTION_MAX; i++)
                if (mask & (1u << i))
                        json_object_array_add(
                                list, json_object_new_string(compat_convention_to_string(i)));
        return list;
}

static json_object *queues_set_up_json(const VirtioStatus *s)
{
        json_object *list = json_object_new_array();
        for (unsigned i = 0; i < s->num_vqs && i < VIRTIO_STATUS_MAX_QUEUES; i++)
                if (s->queues[i].set_up)
                        json_object_array_add(list, json_object_new_int((int)i));
        return list;
}

static json_object *broken_queues_json(const CompatVerdict *v)
{
        json_object *list = json_object_new_array();
        for (unsigned i = 0; i < v->n_rows; i++)
                if (v->rows[i].broken)
                        json_object_array_add(list, json_object_new_string(compat_queue_to_string(
                                                            v->rows[i].queue)));
        return list;
}

/* The compatibility layer's view, in memtidectl list and compat. */
json_object *compat_json(const Guest *g, bool with_comparison)
{
        const GuestCompat *c = &g->compat;
        json_object *o = json_object_new_object();
        bool known = c->have_inference;

        json_object_object_add(o, "verdict", json_object_new_string(guest_compat_verdict(c)));
        json_object_object_add(o, "reason",
                               known ? json_object_new_string(c->inference.reason)
                                     : string_or_null(c->unknown_reason));
        json_object_object_add(o, "offered_features", known ? hex_mask(c->status.offered) : NULL);
        json_object_object_add(o, "negotiated_features",
                               known ? hex_mask(c->status.negotiated) : NULL);
        json_object_object_add(o, "num_vqs",
                               known ? json_object_new_int((int)c->status.num_vqs) : NULL);
        json_object_object_add(o, "driver_ok",
                               known ? json_object_new_boolean(c->status.driver_ok) : NULL);
        json_object_object_add(o, "driver_conventions",
                               known ? conventions_json(c->inference.conventions) : NULL);
        json_object_object_add(o, "queues_set_up", known ? queues_set_up_json(&c->status) : NULL);
        json_object_object_add(o, "broken_queues",
                               known ? broken_queues_json(&c->inference.comparison) : NULL);
        json_object_object_add(
                o, "page_reporting",
                json_object_new_string(c->reporting_queue == COMPAT_INDEX_NONE
                                               ? "not in use"
                                               : compat_reporting_to_string(c->reporting)));
        json_object_object_add(o, "page_reporting_functional",
                               json_object_new_boolean(guest_compat_reporting_functional(c)));
        json_object_object_add(o, "stats_usable",
                               json_object_new_boolean(balloon_stats_reported(&g->stats)));
        if (with_comparison && known && c->inference.verdict != COMPAT_LIVE_UNKNOWN) {
                json_object *cmp = NULL;
                if (compat_verdict_to_json(&c->inference.comparison, &cmp) >= 0)
                        json_object_object_add(o, "comparison", cmp);
        }
        return o;
}

/* Where each setting's value came from: "default", "proxmox FILE:LINE", "config
 * FILE [Guest:MATCH]", "override (memtidectl set)", "libvirt ...". */
static json_object *settings_sources_json(const GuestSettings *s)
{
        json_object *o = json_object_new_object();
        for (int f = 0; f < _GUEST_SETTING_FIELD_MAX; f++)
                json_object_object_add(o, guest_setting_field_to_string(f),
                                       json_object_new_string(s->source[f]));
        return o;
}

/* The last move of another controller, null when none was seen. */
static json_object *other_controller_json(Manager *m, const Guest *g)
{
        const OtherController *oc = &g->other_controller;
        uint64_t now = manager_now_usec(m);
        bool active = other_controller_active(oc, now);
        json_object *o;

        if (!oc->moved_bytes)
                return NULL;
        o = json_object_new_object();
        add_u64(o, "moved_from_bytes", oc->moved_from_bytes);
        add_u64(o, "moved_to_bytes", oc->moved_bytes);
        json_object_object_add(o, "seen_seconds", json_object_new_uint64(oc->seen_wall_sec));
        json_object_object_add(o, "moves", json_object_new_uint64(oc->moves));
        json_object_object_add(o, "standing_back", json_object_new_boolean(active));
        json_object_object_add(
                o, "standing_back_seconds",
                active ? json_object_new_uint64((oc->until_usec - now + 999999) / USEC_PER_SEC)
                       : NULL);
        return o;
}

json_object *vmem_json(const Guest *g)
{
        json_object *list;

        if (g->vmem.n_devices == 0)
                return NULL;
        list = json_object_new_array();
        for (size_t i = 0; i < g->vmem.n_devices; i++) {
                const VmemDevice *d = &g->vmem.devices[i];
                bool driven = (int)i == g->vmem.driven;
                json_object *o = json_object_new_object();

                json_object_object_add(o, "id", d->id[0] ? json_object_new_string(d->id) : NULL);
                add_u64(o, "plugged_bytes", d->plugged_bytes);
                add_u64(o, "requested_bytes", d->requested_bytes);
                add_u64(o, "max_bytes", d->max_bytes);
                add_u64(o, "block_bytes", d->block_bytes);
                json_object_object_add(o, "node",
                                       d->node >= 0 ? json_object_new_int64(d->node) : NULL);
                json_object_object_add(o, "driven", json_object_new_boolean(driven));
                json_object_object_add(o, "unplug_stalled",
                                       json_object_new_boolean(driven && g->vmem.stalled));
                json_object_array_add(list, o);
        }
        return list;
}

json_object *guest_json(Manager *m, const Guest *g)
{
        json_object *o = json_object_new_object();
        GuestSample sample;
        const Decision *d = g->has_decision ? &g->last_decision : NULL;

        manager_guest_sample(m, g, &sample);
        json_object_object_add(o, "name", string_or_null(g->name));
        json_object_object_add(o, "uuid", string_or_null(g->uuid));
        json_object_object_add(o, "backend", json_object_new_string(g->backend->ops->name));
        json_object_object_add(o, "socket", NULL); /* the QMP backend's describe_guest fills it */
        if (g->backend->ops->describe_guest)
                g->backend->ops->describe_guest(g, o);
        json_object_object_add(o, "paused", json_object_new_boolean(g->paused));
        json_object_object_add(o, "state", json_object_new_string(guest_state_to_string(g->state)));
        json_object_object_add(o, "managed", json_object_new_boolean(sample.manage));
        add_u64(o, "actual_bytes", sample.actual_bytes);
        add_u64(o, "boot_bytes", g->max_bytes ? g->max_bytes : STAT_UNKNOWN);
        add_u64(o, "balloon_actual_bytes",
                guest_has_actuator(g, ACTUATOR_BALLOON) ? g->actual_bytes : STAT_UNKNOWN);
        add_u64(o, "target_bytes", d ? d->target_bytes : STAT_UNKNOWN);
        add_u64(o, "max_bytes", sample.max_bytes);
        add_u64(o, "min_bytes", sample.min_bytes ? sample.min_bytes : STAT_UNKNOWN);
        json_object_object_add(o, "shares", json_object_new_int((int)sample.shares));
        json_object_object_add(o, "settings_sources", settings_sources_json(&g->settings));
        add_u64(o, "floor_bytes", d && d->floor_bytes ? d->floor_bytes : STAT_UNKNOWN);
        add_u64(o, "used_bytes", d && d->used_bytes ? d->used_bytes : STAT_UNKNOWN);
        add_u64(o, "qemu_rss_bytes", g->qemu_rss_bytes ? g->qemu_rss_bytes : STAT_UNKNOWN);
        json_object_object_add(o, "stats",
                               balloon_stats_reported(&g->stats) ? stats_json(&g->stats) : NULL);
        json_object_object_add(o, "stats_age_seconds",
                               sample.stats_age_usec == UINT64_MAX
                                       ? NULL
                                       : json_new_seconds(sample.stats_age_usec));
        json_object_object_add(o, "stats_fresh", json_object_new_boolean(sample.stats_fresh));
        json_object_object_add(o, "command_pending", json_object_new_boolean(g->command_pending));
        json_object_object_add(o, "distress", json_object_new_boolean(d && d->distress));
        json_object_object_add(o, "other_controller", other_controller_json(m, g));
        json_object_object_add(o, "virtio_mem", vmem_json(g));
        json_object_object_add(o, "compat", compat_json(g, false));
        json_object_object_add(o, "reason", string_or_null(d ? d->reason : NULL));
        return o;
}

/* A guest known and not managed: every field of a guest, and why. */
static json_object *unmanaged_guest_json(Manager *m, const Guest *g)
{
        json_object *o = guest_json(m, g);

        json_object_object_add(o, "managed", json_object_new_boolean(false));
        json_object_object_add(o, "reason", string_or_null(g->last_error ? g->last_error
                                                                          : "connecting"));
        return o;
}

json_object *guests_json(Manager *m, bool all)
{
        json_object *o = json_object_new_object(), *list = json_object_new_array();
        for (size_t i = 0; i < m->n_guests; i++) {
                Guest *g = m->guests[i];
                if (g->state == GUEST_READY)
                        json_object_array_add(list, guest_json(m, g));
                else if (all)
                        json_object_array_add(list, unmanaged_guest_json(m, g));
        }
        json_object_object_add(o, "guests", list);
        json_object_object_add(o, "observing", json_object_new_boolean(manager_observing(m)));
        return o;
}

/* ISO 8601 in UTC, for JSON beside the seconds since the epoch. */
static json_object *iso_time_json(uint64_t wall_sec)
{
        time_t t = (time_t)wall_sec;
        struct tm tm;
        char buf[32];

        if (!gmtime_r(&t, &tm) || strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
                return NULL;
        return json_object_new_string(buf);
}

static json_object *change_json(const TargetChange *c)
{
        json_object *o = json_object_new_object();

        json_object_object_add(o, "first_seconds", json_object_new_uint64(c->first_sec));
        json_object_object_add(o, "first", iso_time_json(c->first_sec));
        json_object_object_add(o, "last_seconds", json_object_new_uint64(c->last_sec));
        json_object_object_add(o, "last", iso_time_json(c->last_sec));
        add_u64(o, "from_bytes", c->from_bytes);
        add_u64(o, "target_bytes", c->target_bytes);
        add_u64(o, "used_bytes", c->used_bytes ? c->used_bytes : STAT_UNKNOWN);
        add_u64(o, "floor_bytes", c->floor_bytes ? c->floor_bytes : STAT_UNKNOWN);
        add_u64(o, "available_bytes", c->available_bytes ? c->available_bytes : STAT_UNKNOWN);
        json_object_object_add(o, "steps", json_object_new_uint64(c->steps));
        json_object_object_add(o, "sent", json_object_new_boolean(c->sent));
        json_object_object_add(o, "reason", json_object_new_string(c->reason));
        return o;
}

static json_object *changes_json(const TargetHistory *h, uint64_t since)
{
        json_object *list = json_object_new_array();

        for (size_t i = 0; i < h->n; i++)
                if (h->items[i].last_sec >= since)
                        json_object_array_add(list, change_json(&h->items[i]));
        return list;
}

static json_object *host_json(Manager *m)
{
        json_object *o = json_object_new_object();
        const HostSample *h = &m->host;

        if (!m->host_ok) {
                json_object_put(o);
                return NULL;
        }
        add_u64(o, "mem_total_bytes", h->mem_total_bytes);
        add_u64(o, "mem_available_bytes", h->mem_available_bytes);
        add_u64(o, "zfs_arc_reclaimable_bytes",
                h->zfs_arc_known ? h->zfs_arc_reclaimable_bytes : STAT_UNKNOWN);
        add_u64(o, "mem_free_bytes", h->mem_free_bytes);
        add_u64(o, "swap_in_pages", h->swap_known ? h->swap_in_pages : STAT_UNKNOWN);
        add_u64(o, "swap_out_pages", h->swap_known ? h->swap_out_pages : STAT_UNKNOWN);
        json_object_object_add(o, "psi_available", json_object_new_boolean(h->psi_available));
        json_object_object_add(o, "psi_some_avg10_percent",
                               h->psi_available ? json_new_double_rounded(h->psi_some_avg10, 2)
                                                : NULL);
        json_object_object_add(o, "psi_full_avg10_percent",
                               h->psi_available ? json_new_double_rounded(h->psi_full_avg10, 2)
                                                : NULL);
        return o;
}

/* GuestMemoryBudget=: the budget, where it comes from, and what is left of it. */
static json_object *budget_json(Manager *m)
{
        json_object *o = json_object_new_object();
        const GuestBudget *b = &m->budget;
        bool on = b->bytes > 0;

        json_object_object_add(o, "source", json_object_new_string(b->source ? b->source : "none"));
        json_object_object_add(o, "budget_bytes", on ? json_object_new_uint64(b->bytes) : NULL);
        json_object_object_add(o, "held_bytes", on ? json_object_new_uint64(b->held_bytes) : NULL);
        json_object_object_add(o, "held_source", string_or_null(on ? b->held_source : NULL));
        json_object_object_add(
                o, "available_bytes",
                on && m->host_ok ? json_object_new_uint64(host_available_bytes(&m->host)) : NULL);
        json_object_object_add(o, "problem", string_or_null(b->problem));
        return o;
}

static json_object *ksm_json(Manager *m)
{
        json_object *o = json_object_new_object();
        const KsmFigures *k = &m->ksm;

        json_object_object_add(o, "enabled", json_object_new_boolean(m->config->ksm.enabled));
        json_object_object_add(o, "state", json_object_new_string(ksm_run_state_to_string(k)));
        if (k->available) {
                add_u64(o, "pages_to_scan", k->pages_to_scan);
                add_u64(o, "sleep_millisecs", k->sleep_millisecs);
                add_u64(o, "pages_shared", k->pages_shared);
                add_u64(o, "pages_sharing", k->pages_sharing);
                add_u64(o, "saved_bytes", ksm_saved_bytes(k, (uint64_t)sysconf(_SC_PAGESIZE)));
        }
        return o;
}

/* How many runtime overrides are in force, and what went wrong with their file. */
static json_object *overrides_status_json(Manager *m)
{
        json_object *o = json_object_new_object();

        json_object_object_add(o, "count", json_object_new_uint64(m->overrides.n));
        json_object_object_add(o, "problem", string_or_null(m->overrides_problem));
        return o;
}

json_object *status_json(Manager *m)
{
        json_object *o = json_object_new_object(), *d = json_object_new_object();
        size_t ready = 0, known = m->n_guests, standing_back = 0;
        uint64_t now = manager_now_usec(m);

        for (size_t i = 0; i < m->n_guests; i++) {
                ready += m->guests[i]->state == GUEST_READY;
                standing_back += other_controller_active(&m->guests[i]->other_controller, now);
        }
        json_object_object_add(d, "version", json_object_new_string(MEMTIDE_VERSION));
        json_object_object_add(d, "backend", json_object_new_string(m->backend.ops->name));
        json_object_object_add(d, "mode",
                               json_object_new_string(manager_observing(m) ? "observe" : "manage"));
        json_object_object_add(d, "observe_reason",
                               !manager_observing(m) ? NULL
                               : m->operator_paused
                                       ? json_object_new_string("memtidectl pause")
                                       : json_object_new_string("Mode=observe in the config"));
        json_object_object_add(d, "paused_since_seconds",
                               m->operator_paused ? json_object_new_uint64(m->paused_since_sec)
                                                  : NULL);
        json_object_object_add(d, "log_level",
                               json_object_new_string(log_level_to_string(log_get_max_level())));
        json_object_object_add(
                d, "strategy",
                json_object_new_string(policy_strategy_to_string(m->config->policy.strategy)));
        json_object_object_add(d, "interval_seconds", json_new_seconds(m->config->interval_usec));
        json_object_object_add(d, "stats_period_seconds",
                               json_new_seconds(m->config->stats_period_usec));
        json_object_object_add(d, "uptime_seconds", json_new_seconds(now - m->start_usec));
        json_object_object_add(d, "cycles", json_object_new_uint64(m->cycles));
        json_object_object_add(d, "last_cycle_seconds",
                               json_new_seconds(m->last_cycle_duration_usec));
        json_object_object_add(d, "balloon_commands", json_object_new_uint64(m->balloon_commands));
        json_object_object_add(d, "guests_managed", json_object_new_uint64(ready));
        json_object_object_add(d, "guests_known", json_object_new_uint64(known));
        /* Guests whose balloon another controller moved: memtided stands back. */
        json_object_object_add(d, "guests_other_controller", json_object_new_uint64(standing_back));
        json_object_object_add(d, "overrides", overrides_status_json(m));
        json_object_object_add(o, "daemon", d);
        json_object_object_add(o, "host", host_json(m));
        json_object_object_add(o, "budget", budget_json(m));
        json_object_object_add(o, "ksm", ksm_json(m));
        if (m->backend.ops->status_json)
                json_object_object_add(o, m->backend.ops->name,
                                       m->backend.ops->status_json(&m->backend));
        return o;
}

static json_object *record_json(const DecisionRecord *rec)
{
        json_object *o = json_object_new_object(), *in = json_object_new_object();
        const GuestSample *s = &rec->input;
        const Decision *d = &rec->decision;

        json_object_object_add(o, "time_seconds", json_object_new_uint64(rec->wall_sec));
        json_object_object_add(o, "time", iso_time_json(rec->wall_sec));
        json_object_object_add(o, "sent", json_object_new_boolean(rec->sent));
        add_u64(o, "target_bytes", d->target_bytes);
        json_object_object_add(o, "change", json_object_new_boolean(d->change));
        json_object_object_add(o, "distress", json_object_new_boolean(d->distress));
        json_object_object_add(o, "reason", json_object_new_string(d->reason));
        add_u64(in, "actual_bytes", s->actual_bytes);
        add_u64(in, "max_bytes", s->max_bytes);
        add_u64(in, "min_bytes", s->min_bytes);
        add_u64(in, "used_bytes", d->used_bytes ? d->used_bytes : STAT_UNKNOWN);
        add_u64(in, "floor_bytes", d->floor_bytes ? d->floor_bytes : STAT_UNKNOWN);
        add_u64(in, "available_bytes", s->stats.available_bytes);
        add_u64(in, "free_bytes", s->stats.free_bytes);
        json_object_object_add(
                in, "stats_age_seconds",
                s->stats_age_usec == UINT64_MAX ? NULL : json_new_seconds(s->stats_age_usec));
        json_object_object_add(in, "stats_fresh", json_object_new_boolean(s->stats_fresh));
        json_object_object_add(in, "command_pending", json_object_new_boolean(s->command_pending));
        json_object_object_add(in, "page_reporting_functional",
                               json_object_new_boolean(s->page_reporting_functional));
        json_object_object_add(o, "inputs", in);
        return o;
}

/* Oldest first: the story of the last decisions reads top to bottom. */
json_object *explain_json(const Guest *g, uint64_t since)
{
        json_object *o = json_object_new_object(), *list = json_object_new_array();

        for (unsigned k = 0; k < g->history_len; k++) {
                unsigned i = (g->history_next + GUEST_HISTORY - g->history_len + k) % GUEST_HISTORY;
                json_object_array_add(list, record_json(&g->history[i]));
        }
        json_object_object_add(o, "name", json_object_new_string(g->name));
        json_object_object_add(o, "decisions", list);
        if (since != EXPLAIN_NO_CHANGES)
                json_object_object_add(o, "changes", changes_json(&g->changes, since));
        return o;
}
