#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# memtided(8) METRICS lists every series memtided emits, and no other.
# The emitted ones come from test-metrics --series: the daemon's own
# renderer over a manager that knows everything (a guest reporting every
# stat, PSI, swap, ZFS, KSM), so no series hides behind a missing figure.
# Usage: check-metrics-man.sh path/to/test-metrics man/memtided.8.scd
set -u
renderer=$1
page=$2

code=$("$renderer" --series | sort -u)
# Entry lines of the METRICS section: "*memtide_x*, *memtide_y{label}*".
doc=$(awk '
        /^# / { in_metrics = ($0 == "# METRICS"); next }
        in_metrics && /^\*memtide_/ { print }
' "$page" | grep -o 'memtide_[a-z0-9_]*' | sort -u)

if [ -z "$code" ]; then
        echo "check-metrics-man: $renderer printed no series" >&2
        exit 1
fi
missing=$(printf '%s\n' "$code" | grep -vxF "$doc")
extra=$(printf '%s\n' "$doc" | grep -vxF "$code")
status=0
if [ -n "$missing" ]; then
        echo "check-metrics-man: series memtided emits, not documented in $page:" >&2
        printf '%s\n' "$missing" | sed 's/^/  /' >&2
        status=1
fi
if [ -n "$extra" ]; then
        echo "check-metrics-man: series documented in $page that memtided does not emit:" >&2
        printf '%s\n' "$extra" | sed 's/^/  /' >&2
        status=1
fi
[ $status -eq 0 ] && echo "check-metrics-man: $(printf '%s\n' "$code" | wc -l) series, all documented"
exit $status
