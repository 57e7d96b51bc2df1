#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""memtided as installed, under a real systemd: a Debian 12 container
(mmdebstrap, cached in BUILD/tests/nspawn-rootfs) booted by systemd-nspawn
with systemd 252 as PID 1; memtide installed the README's way (its install
commands, `meson install` run from outside into the container's root since
the container has no compiler); two real TCG guests whose QEMU runs inside
the container's PID namespace, so that memtided can find their RSS through
the QMP socket's peer:

  qa  QEMU as its own user (qemu-guest), umask 177: a 0600 QMP socket of
      another user in a 0700 directory of that user, at /run/qemu-server,
      which the unit leaves read-only (connecting needs no writable mount);
  qb  QEMU as root at /run/memtide/qmp (memtide's own QMP directory), so a
      root QEMU whose group differs from memtided's (Group=memtide).
Both sockets match the default QMPSockets=: memtided first runs with no
config file at all.

Checks: without the memtide group (no systemd-sysusers) the unit does not
start; --check-config on the absent default file; `systemctl enable --now`
reaches active (Type=notify), the watchdog is armed and fed, the group and
directories exist, the control socket is 0660 root:memtide; both guests are
squeezed and their QEMU RSS is read; `systemctl reload` takes a good config
and keeps the old one on a bad one (file:line in the journal); the journal has
GUEST= fields; a member of memtide may reload, nobody may not; overrides
survive `systemctl restart`; `systemctl stop` is clean; `systemd-analyze
security` of the installed unit scores at most 2.0.

Runs as root where systemd-nspawn and mmdebstrap are installed (else exit
77); not in the sanitizer build (it tests the unit and the install, and the
container has no sanitizer runtime)."""

import json
import os
import re
import stat
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import run_test, MIB, guests, log, require_guests, wait_for, workdir  # noqa: E402
from nspawn import (BASE_PACKAGES, CONFIG, SOCKET, Container, check_security,  # noqa: E402
                    check_stop, ctl, ctl_json, ensure_rootfs, install, journal, journal_tail,
                    messages, require_container_tools, show, squeezed)

ROOTFS_FORMAT = 1  # bump to force a new rootfs
QEMU_USER, QEMU_UID = "qemu-guest", 4242
GUEST_MIB = 512


def interval(c):
    return ctl_json(c, "status")["daemon"]["interval_seconds"]


def check_before_sysusers(c):
    """Between meson install and systemd-sysusers: the default config file is
    absent, and the unit cannot start without its group."""
    r = c.run("memtided", "--check-config")
    log("check-config: %s" % r.stdout.strip())
    assert r.stdout.strip() == "%s: not present, defaults in force: OK" % CONFIG, r.stdout
    if c.run("getent", "group", "memtide", check=False).returncode == 0:
        return
    c.run("systemctl", "daemon-reload")
    r = c.run("systemctl", "start", "memtided", check=False)
    st = show(c, "ActiveState", "ExecMainStatus", "Result")
    log("without systemd-sysusers: systemctl start exits %d, %s" % (r.returncode, st))
    assert r.returncode != 0 and st["ExecMainStatus"] == "216", st  # 216/GROUP
    c.run("systemctl", "stop", "memtided")  # no more Restart=on-failure attempts
    c.run("systemctl", "reset-failed", "memtided", check=False)


def check_service(c):
    st = show(c, "ActiveState", "SubState", "Type", "WatchdogUSec", "StatusText", "MemoryMax",
              "NotifyAccess")
    log("service: %s" % st)
    assert st["ActiveState"] == "active" and st["SubState"] == "running", st
    assert st["Type"] == "notify" and st["StatusText"], st
    assert st["WatchdogUSec"] not in ("0", "infinity", ""), st
    assert st["MemoryMax"] != "infinity", "no MemoryMax= in the unit"
    # systemd's soft limit of 1024 files would stop it short of 1000 guests
    pid = show(c, "MainPID")["MainPID"]
    limits = c.run("cat", "/proc/%s/limits" % pid).stdout
    soft, hard = re.search(r"Max open files\s+(\d+)\s+(\d+)", limits).groups()
    default = c.run("systemctl", "show", "--value", "-p", "DefaultLimitNOFILESoft").stdout.strip()
    log("memtided's open files limit: soft %s, hard %s (services' default soft: %s)"
        % (soft, hard, default))
    assert soft == hard and int(soft) > 1024, limits
    gid = int(c.run("getent", "group", "memtide").stdout.split(":")[2])
    for path, mode, kind in (("/run/memtide", 0o750, stat.S_ISDIR),
                             ("/var/lib/memtide", 0o750, stat.S_ISDIR),
                             (SOCKET, 0o660, stat.S_ISSOCK)):
        s = os.stat(c.path(path))
        log("  %s %o %d:%d" % (path, stat.S_IMODE(s.st_mode), s.st_uid, s.st_gid))
        assert kind(s.st_mode) and stat.S_IMODE(s.st_mode) == mode, (path, oct(s.st_mode))
        assert s.st_uid == 0 and (path == "/var/lib/memtide" or s.st_gid == gid), (path, s)
    return int(show(c, "WatchdogTimestampMonotonic")["WatchdogTimestampMonotonic"])


def check_qemu_files_untouched(wd):
    """memtided's start leaves QEMU's own directory and socket as they were
    (the test needs them so: a 0600 socket of another user)."""
    for p in (wd, os.path.join(wd, "qa.qmp")):
        s = os.stat(p)
        assert s.st_uid == QEMU_UID and s.st_gid == QEMU_UID, \
            "%s is now %d:%d, QEMU runs as %d (chowned by systemd?)" % (p, s.st_uid, s.st_gid,
                                                                      QEMU_UID)
    s = os.stat(os.path.join(wd, "qa.qmp"))
    log("qa: QMP socket %o %d:%d in a %o directory of QEMU's user" % (
        stat.S_IMODE(s.st_mode), s.st_uid, s.st_gid, stat.S_IMODE(os.stat(wd).st_mode)))


def check_read_only_qmp_dir(c):
    """/run/qemu-server is read-only where memtided runs (ProtectSystem=strict,
    no ReadWritePaths= entry), and qa's socket there was connected all the same."""
    pid = show(c, "MainPID")["MainPID"]
    with open(c.path("/proc/%s/mountinfo" % pid)) as f:
        mounts = [ln.split() for ln in f]
    opts = [m[5] for m in mounts if m[4] == "/run/qemu-server"][-1]
    log("/run/qemu-server in memtided's mount namespace: %s" % opts)
    assert opts.split(",")[0] == "ro", opts


def host_rss(guest):
    """VmRSS of the guest's QEMU, seen from the host (the child of nsenter)."""
    for pid in Container.children(guest.proc.pid):
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    return None


def check_guests(c, gl):
    try:
        listed = wait_for(lambda: squeezed(c, [g.name for g in gl], GUEST_MIB), 180,
                          "both guests to be squeezed")
    except AssertionError:
        log("memtidectl list:\n" + ctl(c, "list", check=False).stdout)
        listed = {g["name"] for g in ctl_json(c, "list")["guests"]}
        missing = [g.name for g in gl if g.name not in listed]
        raise AssertionError("guests not squeezed under the unit (never connected: %s)" % (
            ", ".join(missing) or "none"))
    for g in gl:
        e = listed[g.name]
        log("  %s: actual %.0f MiB floor %.0f MiB qemu rss %s MiB (host: %.0f MiB)" % (
            g.name, e["actual_bytes"] / MIB, e["floor_bytes"] / MIB,
            "-" if e["qemu_rss_bytes"] is None else "%.0f" % (e["qemu_rss_bytes"] / MIB),
            host_rss(g) / MIB))
    for g in gl:
        rss = wait_for(lambda: ctl_json(c, "list")["guests"] and
                       {x["name"]: x for x in ctl_json(c, "list")["guests"]}[g.name]
                       ["qemu_rss_bytes"], 20, "the QEMU RSS of %s under the unit" % g.name)
        host = host_rss(g)
        assert 0.5 * host < rss < 1.5 * host, (g.name, rss, host)
    text = ctl(c, "list").stdout
    log("memtidectl list:\n" + text.rstrip())


def guest_fields(c):
    return {e["GUEST"] for e in journal(c) if isinstance(e.get("GUEST"), str) and e["GUEST"]}


def check_journal_fields(c, gl):
    names = {g.name for g in gl}
    fields = wait_for(lambda: names <= guest_fields(c) and guest_fields(c), 20,
                      "journal entries with GUEST= of each guest")
    log("journal GUEST= values: %s" % sorted(fields))


def write_config(c, text):
    os.makedirs(c.path("/etc/memtide"), exist_ok=True)
    with open(c.path(CONFIG), "w") as f:
        f.write(text)


def check_reload(c):
    good = "[Daemon]\nInterval=1s\n"
    write_config(c, good)
    c.run("systemctl", "reload", "memtided")
    wait_for(lambda: interval(c) == 1, 20, "the reload to set Interval=1s")
    wait_for(lambda: "Reloaded %s" % CONFIG in messages(c), 20, "the reload in the journal")
    log("systemctl reload: Interval=1s in force")
    write_config(c, good + "Bogus=1\n")
    r = c.run("systemctl", "reload", "memtided", check=False)
    log("bad config: systemctl reload exits %d: %s" % (r.returncode, r.stderr.strip()))
    assert r.returncode != 0, "systemctl reload succeeded on a bad config"
    want = "%s:3: unknown key Bogus=" % CONFIG
    line = wait_for(lambda: next((m for m in messages(c) if want in m), None), 20,
                    "the bad reload in the journal")
    log("bad config: journal: %s" % line)
    assert "keeping the current config" in line, line
    assert interval(c) == 1 and show(c, "ActiveState")["ActiveState"] == "active"
    write_config(c, good)


def check_access(c):
    c.run("systemd-sysusers", "-", stdin="u alice - \"memtide operator\"\nm alice memtide\n")
    reloads = sum(m == "Reloaded %s" % CONFIG for m in messages(c))
    r = ctl(c, "reload", user="alice:alice", check=False)
    log("memtidectl reload as alice (group memtide): exit %d" % r.returncode)
    assert r.returncode == 0, r.stderr
    wait_for(lambda: sum(m == "Reloaded %s" % CONFIG for m in messages(c)) > reloads, 10,
             "alice's reload in the journal")
    r = ctl(c, "reload", user="nobody:nogroup", check=False)
    log("memtidectl reload as nobody: exit %d: %s" % (r.returncode, r.stderr.strip()))
    assert r.returncode != 0, r.stdout
    assert sum(m == "Reloaded %s" % CONFIG for m in messages(c)) == reloads + 1


def check_restart_keeps_overrides(c):
    ctl(c, "set", "qa", "--min", "300M")
    wait_for(lambda: {g["name"]: g for g in ctl_json(c, "list")["guests"]}["qa"]["actual_bytes"]
             >= 299 * MIB, 60, "the override to raise qa")
    before = show(c, "MainPID")["MainPID"]
    c.run("systemctl", "restart", "memtided")
    st = show(c, "ActiveState", "MainPID")
    assert st["ActiveState"] == "active" and st["MainPID"] != before, st
    shown = wait_for(lambda: ctl(c, "--json", "show", "qa", check=False).returncode == 0 and
                     json.loads(ctl(c, "--json", "show", "qa").stdout), 60,
                     "qa after the restart")
    log("after systemctl restart (pid %s -> %s): qa override %s" % (
        before, st["MainPID"], shown["override"]))
    assert shown["override"]["min_bytes"] == 300 * MIB, shown


def check_watchdog_fed(c, first):
    now = wait_for(lambda: int(show(c, "WatchdogTimestampMonotonic")
                               ["WatchdogTimestampMonotonic"]) > first and
                   int(show(c, "WatchdogTimestampMonotonic")["WatchdogTimestampMonotonic"]),
                   60, "a WATCHDOG=1 after start")
    log("watchdog: last ping %.1f s after the first" % ((now - first) / 1e6))


# --- guests ---------------------------------------------------------------------

def qemu_wrapper(wd, c, user):
    """A QEMU binary for guests.py: QEMU inside the container's namespaces,
    umask 177 (0600 sockets), as `user` (None: root), killed with the nsenter guests.py starts."""
    path = os.path.join(wd, "qemu-%s" % (user or "root"))
    priv = "setpriv --pdeathsig KILL"
    if user:
        priv += " --reuid=%s --regid=%s --clear-groups" % (user, user)
    with open(path, "w") as f:
        f.write("#!/bin/sh\numask 177\nexec %s %s /usr/bin/qemu-system-x86_64 \"$@\"\n" % (
            " ".join(c.nsenter()), priv))
    os.chmod(path, 0o755)
    return path


def start_guest(name, wd, image, qemu):
    os.environ["MEMTIDE_QEMU"] = qemu
    g = guests.Guest(name, wd, mem_mib=GUEST_MIB, image_dir=image)
    g.start(timeout=60)
    return g


def dump(c, gl):
    if c.leader:
        print(journal_tail(c))
    print("---- systemd-nspawn (tail) ----\n" + c.log_tail())
    for g in gl:
        print("---- %s console (tail) ----\n%s\n%s" % (g.name, g.console_text()[-1500:],
                                                      g.qemu_log()[-1500:]))


def main():
    require_container_tools("the container test runs in the normal and the no-libvirt build, not "
                            "under ASan: it tests the unit and the install, the sanitizers are "
                            "tested by the other tests")
    image = require_guests()
    rootfs = ensure_rootfs("nspawn-rootfs", BASE_PACKAGES, ROOTFS_FORMAT)
    wd = workdir("memtide-systemd-")
    wda, wdb = os.path.join(wd, "qa"), os.path.join(wd, "qb")
    os.makedirs(wda, 0o700)
    os.makedirs(wdb, 0o700)
    os.chown(wda, QEMU_UID, QEMU_UID)
    binds = ["--bind-ro=" + os.path.abspath(image), "--bind=" + wda,
             "--bind=%s:/run/qemu-server" % wda, "--bind=" + wdb,
             "--bind=%s:/run/memtide/qmp" % wdb]
    c = Container(rootfs, binds, os.path.join(wd, "nspawn.log"))
    gl = []
    passed = False
    t0 = time.monotonic()
    try:
        c.start()
        c.run("systemd-sysusers", "-",
              stdin="u %s %d \"memtide test QEMU\" / /usr/sbin/nologin\n" % (QEMU_USER, QEMU_UID))
        gl.append(start_guest("qa", wda, image, qemu_wrapper(wd, c, QEMU_USER)))
        gl.append(start_guest("qb", wdb, image, qemu_wrapper(wd, c, None)))
        install(c, check_before_sysusers)
        first_ping = check_service(c)
        for g in gl:
            g.wait_ready(180)
        check_qemu_files_untouched(wda)
        check_guests(c, gl)
        check_read_only_qmp_dir(c)
        check_journal_fields(c, gl)
        check_reload(c)
        check_access(c)
        check_watchdog_fed(c, first_ping)
        check_security(c)
        check_restart_keeps_overrides(c)
        check_qemu_files_untouched(wda)
        check_stop(c)
        passed = True
        log("container test done in %.0f s" % (time.monotonic() - t0))
        print("PASS")
    finally:
        if not passed:
            try:
                dump(c, gl)
            except Exception as e:  # noqa: BLE001 - the cleanup below must run
                print("(dump failed: %s)" % e)
        for g in gl:
            g.kill()
        c.stop()


if __name__ == "__main__":
    run_test(main)
