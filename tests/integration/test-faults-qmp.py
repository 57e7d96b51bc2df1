#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Fault injection, QMP side: eight fake QMP servers (tests/integration/
fake_qmp.py) listed in QMPSockets= beside one real guest. One sends garbage
after the greeting, one half a message and then stalls, one a 100 MiB
message (streamed), two an unterminated 8 MiB message of small elements
([{},{},... and [0,0,...: json-c builds what it parses, so bytes alone do
not bound what a message costs), one never greets, one negotiates and then
never answers, one plays QEMU through the set-up and then answers only stats
polls. Each fake must be dropped (never listed as a managed guest, but for
the last) with a log line that names it and the reason, the last without
piling up commands it leaves unanswered; memtided's memory stays
bounded (its peak RSS under all of them at once); memtidectl status answers
within 1 s throughout; and the real guest beside them is squeezed as
usual."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fake_qmp import FakeQmp, StatusProbe, rss_kib  # noqa: E402
from harness import (run_test, MIB, Daemon, dump_logs, guests, log, require_guests,  # noqa: E402
                     sanitized_build, show, squeezed, wait_for, workdir)

# memtided drops a monitor that does not answer for 20 s (daemon/manager.c).
ANSWER_TIMEOUT = 20
# The reason each fake must be dropped with ("guest NAME: connection dropped: REASON").
EXPECTED = {
    "garbage": "protocol error: invalid JSON",
    "half": "QEMU monitor did not answer for 20 s",
    "huge": "protocol error: message larger than 65536 bytes",
    "objects": "protocol error: message has more than 4096 elements",
    "numbers": "protocol error: message has more than 4096 elements",
    "nogreeting": "QEMU monitor did not answer for 20 s",
    "mute": "QEMU monitor did not answer for 20 s",
    "statsonly": "QEMU monitor did not answer for 20 s",
}
# Fakes that are silent from the start: dropped 20 s after connecting.
SILENT = ("half", "nogreeting", "mute")
# Peak RSS of memtided, normal build. A sanitizer build has its own overhead
# (shadow memory; freed blocks kept in ASan's quarantine, 256 MiB by default,
# here cut to 16 MiB), so there the growth over the start is bounded instead.
RSS_LIMIT_KIB = 64 * 1024
SANITIZED_GROWTH_LIMIT_KIB = 64 * 1024


def main():
    image = require_guests()
    wd = workdir("memtide-fqmp-")
    g = guests.Guest("real", wd, mem_mib=512, image_dir=image, test_monitor=True)
    fakes = {}
    daemon = None
    probe = None
    passed = False
    try:
        g.start()
        for b in EXPECTED:
            fakes[b] = FakeQmp(os.path.join(wd, "fake-%s.qmp" % b), b)
        g.wait_ready()
        sockets = " ".join([g.qmp_path] + [f.path for f in fakes.values()])
        daemon = Daemon(wd, {"Backend": "qmp", "QMPSockets": sockets, "Interval": "1s",
                             "StatsPeriod": "1s"})
        if sanitized_build():
            os.environ["ASAN_OPTIONS"] = ":".join(
                filter(None, [os.environ.get("ASAN_OPTIONS"), "quarantine_size_mb=16"]))
        daemon.start()
        t0 = time.monotonic()
        rss0, _ = rss_kib(daemon.proc.pid)
        probe = StatusProbe(daemon).start()

        listed_fakes = set()

        def check_list():
            names = set(daemon.guests())
            listed_fakes.update(n for n in names if n.startswith("fake-"))
            return names

        # The real guest is squeezed while the fakes misbehave.
        wait_for(lambda: "real" in check_list(), 30, "the real guest to be managed")
        got = wait_for(lambda: check_list() and squeezed(daemon, "real"), 60,
                       "the real guest to be squeezed")
        log("real guest squeezed to %.0f MiB (floor %.0f MiB) after %.1f s" % (
            got["actual_bytes"] / MIB, got["floor_bytes"] / MIB, time.monotonic() - t0))

        # Every fake dropped with its reason (the silent ones after 20 s).
        def all_dropped():
            check_list()
            text = daemon.log_text()
            return all("guest fake-%s: connection dropped: %s" % (b, why) in text
                       for b, why in EXPECTED.items())
        try:
            wait_for(all_dropped, ANSWER_TIMEOUT + 15, "every fake to be dropped with its reason")
        except AssertionError:
            text = daemon.log_text()
            missing = [b for b, why in EXPECTED.items()
                       if "guest fake-%s: connection dropped: %s" % (b, why) not in text]
            raise AssertionError(
                "no drop line with the expected reason for %s (memtided RSS now %d KiB, peak "
                "%d KiB; statsonly left unanswered %s); drop lines:\n%s" % (
                    (missing,) + rss_kib(daemon.proc.pid) + (fakes["statsonly"].unanswered,
                    "\n".join(ln for ln in text.splitlines() if "dropped" in ln))))
        log("all fakes dropped after %.1f s" % (time.monotonic() - t0))
        for line in daemon.log_text().splitlines():
            if "fake-" in line and ("dropped" in line or "found QMP socket" in line):
                log("  log: " + line)
        # Each found with its socket path named.
        for b, f in fakes.items():
            assert "found QMP socket %s" % f.path in daemon.log_text(), b

        # Reconnections meet the fault again and keep failing.
        time.sleep(3)
        for b, f in fakes.items():
            log("  %-10s %d connection(s), sent %s, peer hung up after %s, errors %s" % (
                b, f.connections, [s for s in f.sent],
                ["%.1f" % c if c is not None else "-" for c in f.closed_after], f.errors))
            assert f.connections >= 2, "%s: memtided did not reconnect" % b
            assert not f.errors, "%s: fake server error %s" % (b, f.errors)
            assert f.closed_after[0] is not None, "%s: first connection never closed" % b
        for b in SILENT:
            c = fakes[b].closed_after[0]
            assert ANSWER_TIMEOUT - 1 <= c <= ANSWER_TIMEOUT + 5, \
                "%s: dropped after %.1f s, expected ~%d s" % (b, c, ANSWER_TIMEOUT)
        # statsonly is a managed guest until a command of its first cycle
        # (the compat probe's x-query-virtio: no query-balloon is sent
        # while the balloon stands still) has gone unanswered for 20 s;
        # until then memtided sends none of them again, not one per cycle.
        c = fakes["statsonly"].closed_after[0]
        assert ANSWER_TIMEOUT - 1 <= c <= ANSWER_TIMEOUT + 8, \
            "statsonly: dropped after %.1f s, expected ~%d s" % (c, ANSWER_TIMEOUT)
        unanswered = fakes["statsonly"].unanswered[0]
        assert unanswered and all(n == 1 for n in unanswered.values()), unanswered
        assert listed_fakes == {"fake-statsonly"}, \
            "fakes listed as managed guests: %s" % sorted(listed_fakes)
        assert fakes["garbage"].closed_after[0] < 5, fakes["garbage"].closed_after
        # memtided stopped reading each oversized message soon after its
        # limit (64 KiB, 4096 elements): what the fake got out is bounded by
        # that plus the socket buffers, far below what it had to send.
        for b in ("huge", "objects", "numbers"):
            assert fakes[b].sent[0] < 2 * MIB, "memtided read %d bytes of the %s message" % (
                fakes[b].sent[0], b)
        assert "mute" in [f.behaviour for f in fakes.values()] and \
            "query-name" in fakes["mute"].commands, fakes["mute"].commands

        rss, hwm = rss_kib(daemon.proc.pid)
        log("memtided RSS %d KiB at start, now %d KiB, peak %d KiB%s" % (
            rss0, rss, hwm, " (sanitizer build)" if sanitized_build() else ""))
        if sanitized_build():
            assert hwm - rss0 < SANITIZED_GROWTH_LIMIT_KIB, (rss0, hwm)
        else:
            assert hwm < RSS_LIMIT_KIB, "memtided peak RSS %d KiB" % hwm

        # The real guest is still managed: it gets memory when it allocates.
        before = daemon.guests()["real"]["actual_bytes"]
        reply = g.alloc(150, 25, timeout=90)  # 25 MiB/s: the e2e test holds the 50 MiB/s bar
        assert reply == "allocated 150", reply
        assert not g.oom_killed(), g.console_text()[-2000:]
        wait_for(lambda: daemon.guests()["real"]["actual_bytes"] > before + 100 * MIB, 20,
                 "the real guest to get memory")
        show(daemon)
        probe.finish(1.0)
        passed = True
        print("PASS")
    finally:
        if probe:
            probe.stop()
        if daemon:
            daemon.stop()
        for f in fakes.values():
            f.close()
        g.kill()
        if not passed and daemon:
            dump_logs(daemon, [g])


if __name__ == "__main__":
    run_test(main)
