# SPDX-License-Identifier: GPL-2.0-or-later
"""What the virtio-mem tests check alike, over QMP (test-virtio-mem) and
through libvirt (test-libvirt-virtio-mem): a guest's devices as memtided
shows them, the reasons of its decisions, and the 300 MiB ramp at 50 MiB/s
that must be met by plugging, the balloon staying at boot memory."""

import json
import time

from harness import log, show


def vmem_of(daemon, name):
    """(guest, its first virtio-mem device) as memtidectl shows them, or (None, None)."""
    g = daemon.guests().get(name)
    return (g, g["virtio_mem"][0]) if g and g.get("virtio_mem") else (None, None)


def reasons(daemon, name):
    out = json.loads(daemon.ctl("--json", "explain", name).stdout)
    if "decisions" not in out:  # a list of guests
        out = out["guests"][0]
    return [d["reason"] for d in out["decisions"]]


def check_ramp_met_by_plugging(daemon, guest):
    """300 MiB at 50 MiB/s: allocated, no OOM kill, at least 200 MiB plugged
    for it, the balloon (MinMemory= = boot memory 256 MiB) not moved."""
    t1 = time.monotonic()
    reply = guest.alloc(300, 50, timeout=120)
    log("%s: workload %r after %.1f s, plugged %d MiB" % (
        guest.name, reply, time.monotonic() - t1, guest.vmem_plugged_mib()))
    show(daemon)
    assert reply == "allocated 300", "allocation failed: %r\n%s" % (
        reply, guest.console_text()[-3000:])
    assert not guest.oom_killed(), "OOM kill in the guest:\n" + guest.console_text()[-3000:]
    assert guest.vmem_plugged_mib() >= 200, "plugged only %d MiB" % guest.vmem_plugged_mib()
    assert guest.balloon_actual_mib() >= 254
