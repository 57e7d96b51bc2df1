#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# The shipped Prometheus rules are valid (promtool check rules) and their
# unit tests pass (promtool test rules: every alert firing and not firing).
# promtool comes with Debian's prometheus package; without it the test is
# skipped (77), never passed.
# Usage: check-prometheus-rules.sh RULES.yml... TESTS.yml (the last is the tests)
set -u

if ! command -v promtool >/dev/null 2>&1; then
        echo "check-prometheus-rules: promtool not installed (apt-get install prometheus), skipping"
        exit 77
fi
[ $# -ge 2 ] || { echo "usage: $0 RULES.yml... TESTS.yml" >&2; exit 2; }

rules=""
while [ $# -gt 1 ]; do
        rules="$rules $1"
        shift
done
tests=$1

# shellcheck disable=SC2086 # rules is a list of paths without spaces
promtool check rules $rules || exit 1
# The tests name their rule files relative to their own directory.
promtool test rules "$tests"
