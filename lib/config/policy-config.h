/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Policy knobs: plain data filled by the config parser, read by policy/. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

typedef enum PolicyStrategy {
        POLICY_STRATEGY_ADAPTIVE,
        POLICY_STRATEGY_MOM,
        POLICY_STRATEGY_PROXMOX,
        _POLICY_STRATEGY_MAX,
} PolicyStrategy;

/* A size given either in bytes or as a share of the guest's maximum memory. */
typedef struct SizeOrShare {
        uint64_t bytes; /* used when share == 0 */
        double share;   /* 0 < share <= 1: fraction of the guest's maximum */
} SizeOrShare;

/* oVirt MOM's default balloon.rules constants (doc/balloon.rules). */
typedef struct MomConfig {
        uint64_t interval_usec;        /* MomInterval=, how often the rules run */
        uint64_t sample_interval_usec; /* MomSampleInterval=, spacing of the averaged samples */
        double pressure_threshold;     /* MomPressureThreshold=, host free share */
        double pressure_critical;      /* MomPressureCritical= */
        double min_guest_free;         /* MomMinGuestFree=, free share a growing guest keeps */
        double max_change;             /* MomMaxChange=, 0.05: shrink 5 %, grow 5 % a run */
        double min_change;             /* MomMinChange=, smaller changes are not applied */
} MomConfig;

/* Proxmox VE's auto-ballooning (PVE::AutoBalloon, run by pvestatd). */
typedef struct ProxmoxConfig {
        uint64_t interval_usec;    /* ProxmoxInterval=, pvestatd's period */
        double target;             /* ProxmoxTarget=, host memory share to fill, 80 % */
        uint64_t max_change_bytes; /* ProxmoxMaxChange=, step per guest and run */
        uint64_t dead_band_bytes;  /* ProxmoxDeadBand=, |goal| at or below: nothing */
} ProxmoxConfig;

typedef struct PolicyConfig {
        PolicyStrategy strategy;
        /* Free memory the guard rails' floor keeps above a guest's use: the
         * larger of the two while the host has room; under host pressure the
         * share part narrows to nothing (unless floor_narrowing is off). */
        uint64_t headroom_min_bytes;
        double headroom_share;
        bool floor_narrowing;
        /* The adaptive target headroom is this multiple of the floor headroom; a
         * guest is inflated only when it has more than twice that free (hysteresis). */
        double headroom_target_ratio;
        SizeOrShare inflate_step; /* largest shrink per cycle */
        SizeOrShare deflate_step; /* largest growth per cycle outside distress */
        /* On growth, give the guest its recent growth rate times this. */
        uint64_t growth_horizon_usec;
        /* adaptive: how long a usage peak is remembered (half-life of its decay),
         * and how many recent upward swings the volatility headroom covers. */
        uint64_t peak_half_life_usec;
        double volatility_factor;
        /* Host memory share kept free: host pressure rises from 4 x this share
         * of MemAvailable down to it (at most 25 %). */
        double host_reserve;
        /* Host PSI memory "full" avg10 (a share) at which no guest is inflated:
         * the host is stalling, so only distress deflation may move balloons. */
        double host_pressure_full;
        /* adaptive: ESX idle memory tax rate: an idle page costs 1/(1-rate). */
        double idle_tax;
        MomConfig mom;
        ProxmoxConfig proxmox;
} PolicyConfig;

#define POLICY_SHARES_DEFAULT 1000

void policy_config_init(PolicyConfig *c);
const char *policy_strategy_to_string(PolicyStrategy s);
int policy_strategy_from_string(const char *s);
uint64_t size_or_share_bytes(const SizeOrShare *s, uint64_t max_bytes);
