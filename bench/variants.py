# SPDX-License-Identifier: GPL-2.0-or-later
"""Strategy variants for the benchmarks: "NAME" or "NAME/VARIANT".

The guard rails' floor narrows with host pressure by default; mom and
proxmox lean on that floor to follow growth, so the benchmarks also run them
with FloorNarrowing=no ("wide-floor") and compare adaptive against the better
of each baseline's two results.
"""
import os

VARIANT_POLICY = {"wide-floor": "FloorNarrowing=no"}
BASELINES = ["mom", "proxmox", "mom/wide-floor", "proxmox/wide-floor"]


def split(spec):
    """"mom/wide-floor" -> ("mom", "wide-floor"); "mom" -> ("mom", "")."""
    name, _, variant = spec.partition("/")
    if variant and variant not in VARIANT_POLICY:
        raise ValueError("unknown variant %r (known: %s)" % (variant, ", ".join(VARIANT_POLICY)))
    return name, variant


def config_args(variant, user_config, directory):
    """--config for a variant: the user's config (if any) plus the variant's keys,
    written once into directory."""
    if not variant:
        return ["--config", user_config] if user_config else []
    path = os.path.join(directory, variant + ".conf")
    if not os.path.exists(path):
        text = ""
        if user_config:
            with open(user_config) as f:
                text = f.read()
        with open(path, "w") as f:
            f.write(text + "\n[Policy]\n%s\n" % VARIANT_POLICY[variant])
    return ["--config", path]


def simulate_args(spec, user_config, directory):
    """memtidectl simulate arguments naming the strategy and its config."""
    name, variant = split(spec)
    return ["--strategy", name] + config_args(variant, user_config, directory)
