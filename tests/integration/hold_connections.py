#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""An unprivileged control-socket client, run under setpriv by
test-hostile-control and test-memtidectl (from a world-readable copy, see
harness.unprivileged_script(): the checkout may sit in a directory only root
can enter):

  hold_connections.py SOCKET N [FLOOD]

connects N times, reports how many connections the daemon kept open and how
many it closed, connects and disconnects FLOOD more times, and holds the
open ones until its stdin closes. Stdlib only."""

import json
import socket
import sys
import time


def connect(path, timeout=5):
    """Connects blocking (a full listen backlog makes a non-blocking connect
    fail), then sets the timeout for what follows."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    s.settimeout(timeout)
    return s


def closed_by_peer(s):
    """True when the daemon closed s (EOF), False while it keeps it open."""
    timeout = s.gettimeout()
    s.setblocking(False)
    try:
        return s.recv(1) == b""
    except BlockingIOError:
        return False
    finally:
        s.settimeout(timeout)


def hold(path, n, flood):
    held = [connect(path) for _ in range(n)]
    time.sleep(1.5)  # time for the daemon to accept or refuse each
    kept = [s for s in held if not closed_by_peer(s)]
    for _ in range(flood):
        connect(path).close()
    print(json.dumps({"kept": len(kept), "refused": n - len(kept)}), flush=True)
    sys.stdin.read()


if __name__ == "__main__":
    hold(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 0)
