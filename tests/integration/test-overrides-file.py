#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""A corrupt overrides file (issue 12, defect 6): memtided must not ignore it
and then overwrite it at the next `memtidectl set`, losing the operator's
overrides. It moves the bad file aside (kept byte for byte), says so in the
log and in `memtidectl status`, and keeps working: new overrides are saved.
No guests needed."""

import glob
import json
import os

import harness
from harness import Daemon, log, wait_for

CORRUPT = '{"overrides": [{"guest": "db1", "manage": false}, {"guest": "db2", "min_bytes":'


def status(daemon):
    return json.loads(daemon.ctl("--json", "status").stdout)


def main():
    wd = harness.workdir("memtide-overrides-")
    state = os.path.join(wd, "state")
    os.makedirs(state)
    path = os.path.join(state, "overrides.json")
    with open(path, "w") as f:
        f.write(CORRUPT)
    daemon = Daemon(wd, {"Backend": "qmp", "QMPSockets": os.path.join(wd, "none", "*.qmp"),
                         "StateDirectory": state, "Interval": "1s"})
    daemon.start()
    try:
        aside = wait_for(lambda: glob.glob(path + ".corrupt-*"), 10,
                         "the corrupt overrides file to be moved aside")
        assert len(aside) == 1, aside
        with open(aside[0]) as f:
            assert f.read() == CORRUPT, "the moved-aside copy differs from the original"
        log("moved aside to %s" % aside[0])
        text = daemon.log_text()
        assert "not a valid overrides file" in text and aside[0] in text, text[-2000:]

        st = status(daemon)["daemon"]["overrides"]
        assert st["count"] == 0 and aside[0] in st["problem"], st
        human = daemon.ctl("status").stdout
        assert aside[0] in human, human

        # Still working: a new override is saved; the bad file stays aside.
        daemon.ctl("set", "web1", "--min", "300M", "--create")  # no guest runs
        saved = json.load(open(path))["overrides"]
        assert [o["guest"] for o in saved] == ["web1"], saved
        assert open(aside[0]).read() == CORRUPT
        assert status(daemon)["daemon"]["overrides"]["count"] == 1
        log("new override saved; the corrupt copy is intact")
    finally:
        daemon.stop()


if __name__ == "__main__":
    harness.run_test(main)
