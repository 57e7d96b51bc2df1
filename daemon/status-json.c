/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "status-json.h"

#include "cleanup.h"
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

static json_object *compat_json(const Guest *g)
{
        json_object *o = json_object_new_object();
        /* Filled in by the compatibility layer; until then nothing is claimed. */
        json_object_object_add(o, "verdict", json_object_new_string("unknown"));
        json_object_object_add(o, "page_reporting_functional", NULL);
        return o;
}

static json_object *string_or_null(const char *s)
{
        return s ? json_object_new_string(s) : NULL;
}

json_object *guest_json(Manager *m, const Guest *g)
{
        json_object *o = json_object_new_object();
        GuestSample sample;
        const Decision *d = g->has_decision ? &g->last_decision : NULL;

        manager_guest_sample(m, g, &sample);
        json_object_object_add(o, "name", string_or_null(g->name));
        json_object_object_add(o, "uuid", string_or_null(g->uuid));
        json_object_object_add(o, "backend", json_object_new_string("qmp"));
        json_object_object_add(o, "socket", json_object_new_string(g->socket_path));
        json_object_object_add(o, "state", json_object_new_string(guest_state_to_string(g->state)));
        json_object_object_add(o, "managed", json_object_new_boolean(sample.manage));
        add_u64(o, "actual_bytes", g->actual_bytes);
        add_u64(o, "target_bytes", d ? d->target_bytes : STAT_UNKNOWN);
        add_u64(o, "max_bytes", sample.max_bytes);
        add_u64(o, "min_bytes", sample.min_bytes ? sample.min_bytes : STAT_UNKNOWN);
        add_u64(o, "floor_bytes", d && d->floor_bytes ? d->floor_bytes : STAT_UNKNOWN);
        add_u64(o, "used_bytes", d && d->used_bytes ? d->used_bytes : STAT_UNKNOWN);
        json_object_object_add(o, "stats",
                               balloon_stats_reported(&g->stats) ? stats_json(&g->stats) : NULL);
        json_object_object_add(o, "stats_age_seconds",
                               sample.stats_age_usec == UINT64_MAX
                                       ? NULL
                                       : json_object_new_double((double)sample.stats_age_usec / 1e6));
        json_object_object_add(o, "stats_fresh", json_object_new_boolean(sample.stats_fresh));
        json_object_object_add(o, "command_pending", json_object_new_boolean(g->command_pending));
        json_object_object_add(o, "distress", json_object_new_boolean(d && d->distress));
        json_object_object_add(o, "compat", compat_json(g));
        json_object_object_add(o, "reason", string_or_null(d ? d->reason : NULL));
        return o;
}

json_object *guests_json(Manager *m)
{
        json_object *o = json_object_new_object(), *list = json_object_new_array();
        for (size_t i = 0; i < m->n_guests; i++)
                if (m->guests[i]->state == GUEST_READY)
                        json_object_array_add(list, guest_json(m, m->guests[i]));
        json_object_object_add(o, "guests", list);
        return o;
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
        add_u64(o, "mem_free_bytes", h->mem_free_bytes);
        json_object_object_add(o, "psi_available", json_object_new_boolean(h->psi_available));
        json_object_object_add(o, "psi_some_avg10_percent",
                               h->psi_available ? json_object_new_double(h->psi_some_avg10) : NULL);
        json_object_object_add(o, "psi_full_avg10_percent",
                               h->psi_available ? json_object_new_double(h->psi_full_avg10) : NULL);
        return o;
}

json_object *status_json(Manager *m)
{
        json_object *o = json_object_new_object(), *d = json_object_new_object();
        size_t ready = 0, known = m->n_guests;
        uint64_t now = manager_now_usec(m);

        for (size_t i = 0; i < m->n_guests; i++)
                ready += m->guests[i]->state == GUEST_READY;
        json_object_object_add(d, "version", json_object_new_string(MEMTIDE_VERSION));
        json_object_object_add(d, "backend",
                               json_object_new_string(backend_kind_to_string(m->config->backend)));
        json_object_object_add(d, "strategy", json_object_new_string(policy_strategy_to_string(
                                                      m->config->policy.strategy)));
        json_object_object_add(d, "interval_seconds",
                               json_object_new_double((double)m->config->interval_usec / 1e6));
        json_object_object_add(d, "stats_period_seconds",
                               json_object_new_double((double)m->config->stats_period_usec / 1e6));
        json_object_object_add(d, "uptime_seconds",
                               json_object_new_double((double)(now - m->start_usec) / 1e6));
        json_object_object_add(d, "cycles", json_object_new_uint64(m->cycles));
        json_object_object_add(d, "last_cycle_seconds",
                               json_object_new_double((double)m->last_cycle_duration_usec / 1e6));
        json_object_object_add(d, "balloon_commands", json_object_new_uint64(m->balloon_commands));
        json_object_object_add(d, "guests_managed", json_object_new_uint64(ready));
        json_object_object_add(d, "guests_known", json_object_new_uint64(known));
        json_object_object_add(o, "daemon", d);
        json_object_object_add(o, "host", host_json(m));
        return o;
}
