#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Metrics and KSM on a real guest: memtided writes its Prometheus textfile
each cycle; a real prometheus-node-exporter (textfile collector, loopback)
serves memtide's series back (among them the guest's own counters, from its
balloon stats, and the write's timestamp); memtidectl metrics prints the
same series; the textfile is replaced every cycle without fsync (it is
rewritten a cycle later anyway, and fsync would stall the event loop on a
busy disk); the KSM
controller tunes a fake sysfs directory; a full metrics disk is logged once
and the guest keeps being managed; space back, writing resumes."""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (run_test, MIB, Daemon, guests, log, require_guests, skip,  # noqa: E402
                     teardown, wait_for, workdir)

KSM_FILES = {"run": "0", "pages_to_scan": "100", "sleep_millisecs": "20", "pages_shared": "7",
             "pages_sharing": "42", "pages_unshared": "0", "pages_volatile": "0",
             "full_scans": "3"}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def scrape(port):
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=5) as r:
        return r.read().decode()


def start_node_exporter(textdir):
    exe = shutil.which("prometheus-node-exporter") or shutil.which("node_exporter")
    if not exe:
        skip("prometheus-node-exporter not installed")
    port = free_port()
    proc = subprocess.Popen([exe, "--web.listen-address=127.0.0.1:%d" % port,
                             "--collector.disable-defaults", "--collector.textfile",
                             "--collector.textfile.directory=" + textdir],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            preexec_fn=guests._child_setup)
    wait_for(lambda: scrape_ok(port), 20, "node_exporter to answer")
    return proc, port


def scrape_ok(port):
    try:
        return scrape(port)
    except OSError:
        return None


def check_no_fsync(daemon, wd, prom):
    """strace memtided over a few cycles: the metrics file is renamed into
    place each cycle, and nothing is fsynced (no override changes meanwhile)."""
    if not shutil.which("strace"):
        skip("strace not installed (scripts/install-deps.sh installs it)")
    out = os.path.join(wd, "strace.txt")
    tracer = subprocess.Popen(["strace", "-f", "-qq", "-o", out, "-e",
                               "trace=fsync,fdatasync,syncfs,sync_file_range,rename,renameat,"
                               "renameat2", "-p", str(daemon.proc.pid)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def calls():
        try:
            with open(out) as f:
                text = f.read()
        except FileNotFoundError:
            return [], []
        renames = [ln for ln in text.splitlines() if "rename" in ln and prom in ln]
        syncs = [ln for ln in text.splitlines()
                 if re.search(r"\b(fsync|fdatasync|syncfs|sync_file_range)\(", ln)]
        return renames, syncs

    try:
        wait_for(lambda: len(calls()[0]) >= 3, 30, "three metrics writes under strace")
    finally:
        tracer.send_signal(signal.SIGINT)
        tracer.wait(10)
    renames, syncs = calls()
    log("metrics: %d writes traced, %d fsync-like calls" % (len(renames), len(syncs)))
    assert not syncs, "memtided syncs on every metrics write:\n" + "\n".join(syncs[:6])


def main():
    image = require_guests()
    wd = workdir("memtide-metrics-")
    textdir = os.path.join(wd, "textfile")
    ksmdir = os.path.join(wd, "ksm")
    os.makedirs(textdir)
    os.makedirs(ksmdir)
    for name, value in KSM_FILES.items():
        with open(os.path.join(ksmdir, name), "w") as f:
            f.write(value + "\n")
    g = guests.Guest("met", wd, mem_mib=384, image_dir=image)
    daemon = Daemon(wd, {"Backend": "qmp", "QMPSockets": g.qmp_path, "Interval": "1s",
                         "StatsPeriod": "1s", "MetricsFile": os.path.join(textdir, "memtide.prom")},
                    extra="[KSM]\nEnabled=yes\nSysfsPath=%s\nThresholdShare=100%%\n" % ksmdir)
    exporter = None
    mounted = False
    passed = False
    try:
        g.start()
        g.wait_ready()
        daemon.start()
        exporter, port = start_node_exporter(textdir)
        # the guest's counters come with its first stats report, after set-up
        body = wait_for(lambda: 'memtide_guest_major_faults_total{guest="met"' in scrape(port)
                        and scrape(port), 30, "memtide series in node_exporter")
        for series in ("memtide_cycles_total", "memtide_host_memory_available_bytes",
                       'memtide_guest_floor_bytes{guest="met"', 'memtide_guest_max_bytes{guest="met"',
                       'memtide_guest_compat_verdict{guest="met"', "memtide_ksm_pages_sharing 42",
                       "memtide_metrics_timestamp_seconds", "memtide_balloon_commands_failed_total 0",
                       'memtide_guest_balloon_held_below_max{guest="met"',
                       'memtide_guest_major_faults_total{guest="met"'):
            assert series in body, "%s missing from node_exporter:\n%s" % (series, body[-3000:])
        # node_exporter re-renders values as floats (4.02653184e+08)
        value = [float(ln.split()[-1]) for ln in body.splitlines()
                 if ln.startswith('memtide_guest_max_bytes{guest="met"')]
        assert value == [384 * MIB], value
        log("node_exporter serves %d memtide lines" % sum(
            1 for line in body.splitlines() if line.startswith("memtide_")))
        text = daemon.ctl("metrics").stdout
        assert 'memtide_guest_actual_bytes{guest="met"' in text and "# TYPE" in text, text
        check_no_fsync(daemon, wd, os.path.join(textdir, "memtide.prom"))
        with open(os.path.join(ksmdir, "run")) as f:
            assert f.read().strip() == "1", "KSM was not started"
        with open(os.path.join(ksmdir, "pages_to_scan")) as f:
            assert int(f.read()) > 100, "pages_to_scan was not boosted"
        assert "KSM:" in daemon.log_text(), "no KSM log line"

        # a full disk under the metrics file: logged once, managing goes on
        if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", textdir]).returncode:
            skip("cannot mount a small tmpfs here")
        mounted = True
        subprocess.run(["dd", "if=/dev/zero", "of=" + os.path.join(textdir, "fill"), "bs=4k"],
                       capture_output=True)
        cycles = int(daemon.ctl("--json", "status").stdout.split('"cycles":')[1].split(",")[0])
        wait_for(lambda: "Failed to write metrics" in daemon.log_text(), 10, "the error log")
        time.sleep(4)
        assert daemon.log_text().count("Failed to write metrics") == 1, "logged more than once"
        now = int(daemon.ctl("--json", "status").stdout.split('"cycles":')[1].split(",")[0])
        assert now >= cycles + 3 and daemon.guests()["met"]["reason"], "cycles stopped"
        os.unlink(os.path.join(textdir, "fill"))
        wait_for(lambda: "works again" in daemon.log_text(), 10, "metrics writing to resume")
        # a read-only metrics directory: a new error, logged once too
        subprocess.run(["mount", "-o", "remount,ro", textdir], check=True)
        wait_for(lambda: "Read-only file system" in daemon.log_text(), 10, "the read-only error")
        time.sleep(3)
        assert daemon.log_text().count("Read-only file system") == 1, "logged more than once"
        assert daemon.guests()["met"]["stats_fresh"], "the guest is no longer managed"
        subprocess.run(["mount", "-o", "remount,rw", textdir], check=True)
        wait_for(lambda: daemon.log_text().count("works again") >= 2, 10, "metrics to resume again")
        assert os.path.exists(os.path.join(textdir, "memtide.prom"))
        passed = True
        print("PASS")
    finally:
        if mounted:
            subprocess.run(["umount", textdir])
        if exporter:
            exporter.kill()
            exporter.wait()
        teardown(daemon, [g], passed)


if __name__ == "__main__":
    run_test(main)
