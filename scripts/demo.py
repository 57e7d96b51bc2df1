#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""memtide demo: boots three tiny 512 MiB guests under QEMU, runs memtided on
them over QMP with an embedded default config, and prints `memtidectl list`
every few seconds while one guest allocates 300 MiB and later frees it.

Usage: demo.py BUILD_DIR [--duration SECONDS]
"""

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "guest"))
import guests  # noqa: E402

CONFIG = """\
# memtide demo config: QMP backend, fast cycle for a short demo.
[Daemon]
Backend=qmp
QMPSockets={workdir}/*.qmp
Interval=1s
StatsPeriod=1s
ControlSocket={workdir}/memtide.sock

[Policy]
Strategy=adaptive

[Guest:steady]
MinMemory=256M
"""


def ctl(build, sock, *args):
    r = subprocess.run([os.path.join(build, "cli", "memtidectl"), "--socket", sock] + list(args),
                       capture_output=True, text=True, timeout=10)
    return r.stdout if r.returncode == 0 else r.stderr


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--duration", type=float, default=100)
    a = ap.parse_args()
    build = os.path.abspath(a.build)
    image = guests.ensure_image(os.environ.get("MEMTIDE_GUEST_IMAGE")
                                or os.path.join(build, "tests", "guest", "image"), quiet=True)
    wd = tempfile.mkdtemp(prefix="memtide-demo-")
    with open(os.path.join(wd, "memtide.conf"), "w") as f:
        f.write(CONFIG.format(workdir=wd))
    names = ["idle", "worker", "steady"]
    print("booting %d guests of 512 MiB (QEMU %s) in %s ..." % (len(names), guests.accel(), wd))
    gl = [guests.Guest(n, wd, mem_mib=512, image_dir=image) for n in names]
    daemon = None
    try:
        for g in gl:
            g.start()
        for g in gl:
            g.wait_ready()
        log = open(os.path.join(wd, "memtided.log"), "w")
        daemon = subprocess.Popen([os.path.join(build, "daemon", "memtided"), "--config",
                                   os.path.join(wd, "memtide.conf")],
                                  stdout=log, stderr=subprocess.STDOUT)
        sock = os.path.join(wd, "memtide.sock")
        worker = gl[1]
        events = {30: "worker: allocate 300 MiB at 50 MiB/s", 60: "worker: free it"}

        def workload():
            time.sleep(30)
            print(">>> %s -> %s" % (events[30], worker.alloc(300, 50, timeout=120)), flush=True)
            time.sleep(max(0, 60 - (time.monotonic() - t0)))
            print(">>> %s -> %s" % (events[60], worker.command("free")), flush=True)

        t0 = time.monotonic()
        threading.Thread(target=workload, daemon=True).start()
        while time.monotonic() - t0 < a.duration:
            time.sleep(4)
            print("\n--- t=%3.0fs  memtidectl list" % (time.monotonic() - t0))
            print(ctl(build, sock, "list"), end="", flush=True)
        print("\n--- memtidectl status")
        print(ctl(build, sock, "status"), end="")
        print("\n--- memtidectl explain worker (the last decisions and their inputs)")
        print(ctl(build, sock, "explain", "worker"), end="")
        print("\n--- memtidectl compat worker")
        print(ctl(build, sock, "compat", "worker"), end="")
        oom = [g.name for g in gl if g.oom_killed()]
        print("\nOOM kills in guests: %s" % (", ".join(oom) if oom else "none"))
        print("memtided log: %s/memtided.log" % wd)
    finally:
        if daemon:
            daemon.terminate()
            daemon.wait(10)
        for g in gl:
            g.kill()


if __name__ == "__main__":
    main()
