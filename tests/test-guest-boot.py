#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Integration test: the test guest boots and its balloon really works.

Boots one 512 MiB guest (free-page-reporting=on) from the image in
$MEMTIDE_GUEST_IMAGE (default tests/guest/out, built when missing), then
checks over the test QMP monitor and the workload's serial line:

  - the workload answers ping;
  - query-balloon actual == 512 MiB;
  - guest-stats polling reports real MemTotal/MemAvailable (not 2^64-1);
  - allocating 100 MiB in the guest raises QEMU's RSS by ~100 MiB;
  - after free + balloon to 256 MiB, actual reaches 256 MiB, the guest's
    MemTotal shrinks and QEMU's RSS falls.

Exit status: 0 pass, 1 fail, 77 skipped (no QEMU, no kernel, cannot build
the image). Environment: MEMTIDE_GUEST_IMAGE, MEMTIDE_TEST_ACCEL (tcg).

--record-fixtures DIR writes the QMP replies seen (query-balloon at 512 MiB,
qom-get guest-stats) as DIR/query-balloon-512.json and
DIR/guest-stats-reported.json, pretty-printed, unless those files exist.
"""

import argparse
import json
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "guest"))
import guests  # noqa: E402
from guests import MIB, Guest, GuestError, ImageUnavailable  # noqa: E402

SKIP = 77
U64_MAX = (1 << 64) - 1


def log(msg):
    print("# " + msg, flush=True)


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)
    print("ok - " + msg, flush=True)


def record(fixture_dir, name, obj):
    if not fixture_dir:
        return
    path = os.path.join(fixture_dir, name)
    if os.path.exists(path):
        log("fixture %s exists, not overwritten" % path)
        return
    os.makedirs(fixture_dir, exist_ok=True)
    with open(path, "x") as f:
        json.dump(obj, f, indent=2, sort_keys=False)
        f.write("\n")
    log("recorded fixture %s" % path)


def wait_for(what, fn, timeout, interval=0.25):
    """Polls fn() until it returns a true value; returns it."""
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %.0f s waiting for %s" % (timeout, what))
        time.sleep(interval)


def run(g, fixture_dir):
    t = g.start().wait_ready(timeout=120)
    log("guest ready %.2f s after QEMU start (accel %s, kernel %s)"
        % (t, guests.accel(), os.path.basename(g.kernel_path())))
    check(g.command("ping") == "pong", "workload answers ping")
    check("memtide-guest: balloon driver loaded features=" in g.console_text(),
          "balloon driver bound to the device")

    raw = g.qmp("query-balloon", raw=True)
    check(raw["return"]["actual"] == 512 * MIB, "query-balloon actual == 512 MiB")
    record(fixture_dir, "query-balloon-512.json", raw)

    g.enable_stats(2)
    stats_path = {"path": "/machine/peripheral/balloon0", "property": "guest-stats"}

    def reported():
        r = g.qmp("qom-get", stats_path, raw=True)
        s = r["return"]["stats"]
        ok = r["return"].get("last-update", 0) > 0 and \
            s.get("stat-total-memory", U64_MAX) != U64_MAX and \
            s.get("stat-available-memory", U64_MAX) != U64_MAX
        return r if ok else None

    raw = wait_for("guest stats", reported, timeout=30, interval=0.5)
    s = raw["return"]["stats"]
    total, avail = s["stat-total-memory"], s["stat-available-memory"]
    log("guest-stats: total %.1f MiB available %.1f MiB free %.1f MiB"
        % (total / MIB, avail / MIB, s["stat-free-memory"] / MIB))
    check(256 * MIB < total <= 512 * MIB, "stat-total-memory is a real number")
    check(0 < avail <= total, "stat-available-memory is a real number")
    record(fixture_dir, "guest-stats-reported.json", raw)

    mi = g.meminfo()
    log("guest meminfo: total %d KiB available %d KiB (used %d MiB)"
        % (mi["total_kib"], mi["available_kib"], (mi["total_kib"] - mi["available_kib"]) // 1024))
    rss0 = g.rss_bytes()
    t0 = time.monotonic()
    reply = g.alloc(100, 50)
    dt = time.monotonic() - t0
    check(reply == "allocated 100", "alloc 100 MiB at 50 MiB/s (%.2f s): %s" % (dt, reply))
    check(g.command("held") == "held 100", "workload holds 100 MiB")
    rss1 = g.rss_bytes()
    log("QEMU RSS %d -> %d MiB (+%d)" % (rss0 // MIB, rss1 // MIB, (rss1 - rss0) // MIB))
    check(rss1 - rss0 >= 75 * MIB, "QEMU RSS rose by >= 75 MiB")

    check(g.command("free") == "freed 100", "workload frees 100 MiB")
    total_before = g.meminfo()["total_kib"]
    t0 = time.monotonic()
    g.set_balloon_mib(256)
    took = g.wait_balloon(256, timeout=120)
    check(g.balloon_actual_mib() == 256, "balloon inflated to 256 MiB in %.2f s" % took)
    total_after = g.meminfo()["total_kib"]
    log("guest MemTotal %d -> %d KiB" % (total_before, total_after))
    check(total_before - total_after >= 250 * 1024, "guest MemTotal shrank by >= 250 MiB")
    rss2 = wait_for("QEMU RSS to fall", lambda: (lambda r: r if r <= rss1 - 80 * MIB else None)
                    (g.rss_bytes()), timeout=30)
    log("QEMU RSS %d MiB after free + balloon (%.1f s)" % (rss2 // MIB, time.monotonic() - t0))
    check(rss2 <= rss1 - 80 * MIB, "QEMU RSS fell by >= 80 MiB")

    check(g.command("ping") == "pong", "workload still answers")
    check(not g.oom_killed(), "no OOM kill in the guest")
    status = g.stop()
    check(status == 0, "QEMU quit cleanly (status %s)" % status)


def main():
    ap = argparse.ArgumentParser(description="boot one test guest and exercise its balloon")
    ap.add_argument("--record-fixtures", metavar="DIR", default=os.environ.get(
        "MEMTIDE_RECORD_FIXTURES"))
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    a = ap.parse_args()

    if not guests.qemu_binary():
        log("SKIP: qemu-system-x86_64 not found")
        return SKIP
    image_dir = guests.image_dir_default()
    if not guests.image_present(image_dir):
        if not any(n.startswith("vmlinuz-") for n in os.listdir("/boot")):
            log("SKIP: no kernel in /boot and no image in %s" % image_dir)
            return SKIP
        try:
            guests.ensure_image(image_dir)
        except ImageUnavailable as e:
            log("SKIP: %s" % e)
            return SKIP

    workdir = tempfile.mkdtemp(prefix="memtide-boot-")
    g = Guest("boot", workdir, mem_mib=512, free_page_reporting=True, image_dir=image_dir,
              test_monitor=True)
    ok = False
    try:
        run(g, a.record_fixtures)
        ok = True
    except (AssertionError, GuestError) as e:
        print("not ok - %s" % e, flush=True)
        print("# --- guest console ---\n" + g.console_text()[-4000:], flush=True)
        print("# --- QEMU log ---\n" + g.qemu_log()[-2000:], flush=True)
    finally:
        g.kill()
        if a.keep or not ok:
            log("work directory kept: %s" % workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
