#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Balloon against virtio-mem on one guest: time to take back and to give
256 MiB and 1 GiB, and QEMU's RSS after each move. QEMU is driven directly
over QMP (no memtided), one test guest (tests/guest) per mode:

- balloon: 1536 MiB of boot memory and a virtio-balloon (free page
  reporting off, so that RSS moves only with the balloon); take back =
  balloon target actual - MOVE, timed until query-balloon's actual is
  within 1 MiB of it; give = target back to 1536 MiB.
- virtio-mem: 512 MiB of boot memory and a virtio-mem device vmem0 (block
  2 MiB, up to 1536 MiB) with 1024 MiB plugged, the same 1536 MiB in all,
  blocks onlined movable (memhp_default_state=online_movable), no balloon;
  take back = qom-set requested-size to plugged - MOVE, timed until
  query-memory-devices shows size == requested-size; give likewise.

Before each take the guest's workload touches all the memory it can
(alloc, then free), so that QEMU's RSS starts high: what a move returns to
the host shows as the drop in RSS. Each move is also timed until the
guest's MemTotal shows it ("guest sees it"), read after QEMU's side is done
(so never shorter than "seconds"). Prints a table (on stderr with --json,
which prints JSON on stdout).

    bench/vmem-bench.py [--image-dir DIR] [--workdir DIR] [--json]
                        [--modes balloon,virtio-mem] [--moves 256,1024]

Environment as tests/guest/guests.py (MEMTIDE_TEST_ACCEL, default tcg;
MEMTIDE_GUEST_IMAGE; MEMTIDE_QEMU). Under TCG it takes a few minutes.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "guest"))

import guests  # noqa: E402
from guests import Guest, GuestError, MIB  # noqa: E402

TOTAL_MIB = 1536
VMEM_BOOT_MIB = 512
VMEM_MAX_MIB = 1536
POLL_S = 0.02
MOVE_TIMEOUT_S = 600.0


def log(msg):
    print("# " + msg, file=sys.stderr, flush=True)


def rss_mib(g):
    return g.rss_bytes() / MIB


def touch(g):
    """Has the workload write all the memory the guest can spare (its
    MemAvailable less 64 MiB), then free it. Returns the MiB touched."""
    avail = g.meminfo()["available_kib"] // 1024
    mib = max(0, avail - 64)
    t0 = time.monotonic()
    reply = g.alloc(mib, 0, timeout=120 + mib / 5.0)
    if reply != "allocated %d" % mib:
        raise GuestError("%s: alloc %d: %r" % (g.name, mib, reply))
    r = g.command("free")
    if not r.startswith("freed"):
        raise GuestError("%s: free: %r" % (g.name, r))
    log("%s: touched %d MiB in %.1f s, QEMU RSS %.0f MiB" % (
        g.name, mib, time.monotonic() - t0, rss_mib(g)))
    return mib


def wait_until(pred, what, timeout=MOVE_TIMEOUT_S):
    t0 = time.monotonic()
    while True:
        if pred():
            return time.monotonic() - t0
        if time.monotonic() - t0 > timeout:
            raise GuestError("%s not done after %.0f s" % (what, timeout))
        time.sleep(POLL_S)


def guest_total_mib(g):
    return g.meminfo()["total_kib"] / 1024


def wait_guest_total(g, expected_mib, t_request, timeout=120.0):
    """Seconds from t_request until the guest's MemTotal is within 4 MiB of
    expected_mib (None if it never gets there within timeout): virtio-mem's
    size counts blocks (un)plugged, the guest onlines plugged ones after."""
    while abs(guest_total_mib(g) - expected_mib) > 4:
        if time.monotonic() - t_request > timeout:
            return None
        time.sleep(POLL_S)
    return round(time.monotonic() - t_request, 3)


# --- balloon ------------------------------------------------------------------

def balloon_move(g, target_mib):
    t0 = time.monotonic()
    g.set_balloon_mib(target_mib)
    wait_until(lambda: abs(g.balloon_actual_mib() - target_mib) <= 1,
               "balloon to %d MiB" % target_mib)
    return time.monotonic() - t0


def measure_moves(g, mode, moves, size_now, set_size):
    """For each move: touch memory, take it back from size_now() with
    set_size(), then give it back; one row per direction, timed until the
    device reports the size and until the guest's MemTotal follows."""
    rows = []
    for move in moves:
        start = size_now()
        touched = touch(g)
        before = rss_mib(g)
        total0 = guest_total_mib(g)
        for direction, target in (("take", start - move), ("give", start)):
            t_request = time.monotonic()
            sec = set_size(g, target)
            guest_sec = wait_guest_total(
                g, total0 - move if direction == "take" else total0, t_request)
            row = {"mode": mode, "move_mib": move, "direction": direction,
                   "seconds": round(sec, 3), "guest_seconds": guest_sec,
                   "rss_before_mib": round(before),
                   "rss_after_mib": round(rss_mib(g)),
                   "guest_memtotal_mib": round(guest_total_mib(g)),
                   "touched_mib": touched}
            log(json.dumps(row))
            rows.append(row)
            before = row["rss_after_mib"]
    return rows


def run_balloon(workdir, image_dir, moves):
    with Guest("bench-balloon", workdir, mem_mib=TOTAL_MIB, free_page_reporting=False,
               image_dir=image_dir, test_monitor=True) as g:
        g.start()
        log("balloon guest ready in %.1f s" % g.wait_ready(300))
        rows = measure_moves(g, "balloon", moves, g.balloon_actual_mib, balloon_move)
        g.stop()
    return rows


# --- virtio-mem ---------------------------------------------------------------

def vmem_move(g, requested_mib):
    t0 = time.monotonic()
    g.set_vmem_requested_mib(requested_mib)

    def done():
        d = g.vmem_device()
        return d["requested-size"] == requested_mib * MIB and d["size"] == d["requested-size"]
    wait_until(done, "virtio-mem to %d MiB" % requested_mib)
    return time.monotonic() - t0


def run_vmem(workdir, image_dir, moves):
    plugged = TOTAL_MIB - VMEM_BOOT_MIB
    too_big = [m for m in moves if m > plugged]
    if too_big:
        raise GuestError("cannot take %d MiB: %d MiB plugged" % (too_big[0], plugged))
    with Guest("bench-vmem", workdir, mem_mib=VMEM_BOOT_MIB, vmem_mib=VMEM_MAX_MIB,
               vmem_block_mib=2, vmem_requested_mib=plugged, balloon=False,
               append="memhp_default_state=online_movable", image_dir=image_dir,
               test_monitor=True) as g:
        g.start()
        log("virtio-mem guest ready in %.1f s" % g.wait_ready(300))
        # An image without virtio_mem.ko (older than the virtio-mem issue)
        # never plugs: rebuild it (tests/guest/build-image.sh).
        wait_until(lambda: g.vmem_plugged_mib() == plugged,
                   "initial plug (virtio_mem in the guest image?)", 120)
        # The device's size moves when the guest has (un)plugged the blocks;
        # the guest's MemTotal follows once they are onlined.
        rows = measure_moves(g, "virtio-mem", moves, lambda: plugged, vmem_move)
        g.stop()
    return rows


# --- output -------------------------------------------------------------------

def qemu_version():
    try:
        out = subprocess.run([guests.qemu_binary(), "--version"], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, text=True).stdout
        return out.splitlines()[0].strip()
    except (OSError, IndexError, TypeError):
        return "unknown"


def kernel_version(image_dir):
    try:
        with open(os.path.join(image_dir, "kernel-version")) as f:
            return f.read().strip()
    except OSError:
        return "unknown"


def print_table(rows, out=sys.stdout):
    hdr = ("mode", "move", "direction", "seconds", "guest sees it s", "QEMU RSS before MiB",
           "QEMU RSS after MiB", "guest MemTotal after MiB")
    lines = [hdr]
    for r in rows:
        move = "1 GiB" if r["move_mib"] == 1024 else "%d MiB" % r["move_mib"]
        gs = "-" if r["guest_seconds"] is None else "%.2f" % r["guest_seconds"]
        lines.append((r["mode"], move, r["direction"], "%.2f" % r["seconds"], gs,
                      str(r["rss_before_mib"]), str(r["rss_after_mib"]),
                      str(r["guest_memtotal_mib"])))
    widths = [max(len(l[i]) for l in lines) for i in range(len(hdr))]
    print("| " + " | ".join(h.ljust(w) for h, w in zip(hdr, widths)) + " |", file=out)
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|", file=out)
    for l in lines[1:]:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(l, widths)) + " |", file=out)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--image-dir", default=None, help="guest image (default as guests.py)")
    p.add_argument("--workdir", default=None, help="QEMU files (default a temporary dir)")
    p.add_argument("--modes", default="balloon,virtio-mem")
    p.add_argument("--moves", default="256,1024", help="MiB to take and give, in turn")
    p.add_argument("--json", action="store_true")
    a = p.parse_args()
    image_dir = os.path.abspath(a.image_dir or guests.image_dir_default())
    if not guests.image_present(image_dir):
        guests.ensure_image(image_dir)
    moves = [int(m) for m in a.moves.split(",")]
    workdir = a.workdir or tempfile.mkdtemp(prefix="vmem-bench-")
    runners = {"balloon": run_balloon, "virtio-mem": run_vmem}
    rows = []
    t0 = time.monotonic()
    for mode in a.modes.split(","):
        rows += runners[mode](workdir, image_dir, moves)
    info = {"qemu": qemu_version(), "guest_kernel": kernel_version(image_dir),
            "accel": guests.accel(), "total_mib": TOTAL_MIB,
            "vmem_boot_mib": VMEM_BOOT_MIB, "vmem_max_mib": VMEM_MAX_MIB,
            "wall_seconds": round(time.monotonic() - t0, 1), "rows": rows}
    out = sys.stderr if a.json else sys.stdout
    print("# %s; guest kernel %s; accel %s; %.0f s in all" % (
        info["qemu"], info["guest_kernel"], info["accel"], info["wall_seconds"]), file=out)
    print_table(rows, out)
    if a.json:
        print(json.dumps(info, indent=2))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except GuestError as e:
        print("error: %s" % e, file=sys.stderr)
        sys.exit(1)
