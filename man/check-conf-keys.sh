#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# memtide.conf(5) documents every key of the parser's table (lib/config/config.c),
# each in its own section's part of the page, and no key the parser lacks.
# Usage: check-conf-keys.sh lib/config/config.c man/memtide.conf.5.scd
set -u
config_c=$1
page=$2

# "SECTION Key" pairs from the table rows, which start a line with the section
# and the key: {SECTION_DAEMON, "Backend", parse_enum, .offset = ...
code=$(sed -n 's/^[[:space:]]*{[[:space:]]*SECTION_\([A-Z]*\), "\([A-Za-z0-9]*\)",.*/\1 \2/p' "$config_c" | sort)
# "SECTION Key" pairs from the page: *Key=* entries under "# [Section] SECTION"
# (or "# [Guest:MATCH] SECTION").
doc=$(awk '
        /^# \[Guest:/ { sec = "GUEST"; next }
        /^# \[[A-Za-z]*\] SECTION/ { sec = toupper(substr($2, 2, length($2) - 2)); next }
        /^# / { sec = "" }
        sec != "" && /^\*[A-Za-z0-9]*=\*$/ { k = $0; gsub(/[*=]/, "", k); print sec, k }
' "$page" | sort)

if [ -z "$code" ]; then
        echo "check-conf-keys: no keys found in $config_c (table format changed?)" >&2
        exit 1
fi
missing=$(printf '%s\n' "$code" | grep -vxF "$doc")
extra=$(printf '%s\n' "$doc" | grep -vxF "$code")
status=0
if [ -n "$missing" ]; then
        echo "check-conf-keys: keys of $config_c not documented in $page:" >&2
        printf '  %s\n' "$missing" >&2
        status=1
fi
if [ -n "$extra" ]; then
        echo "check-conf-keys: keys documented in $page that the parser does not know:" >&2
        printf '  %s\n' "$extra" >&2
        status=1
fi
[ $status -eq 0 ] && echo "check-conf-keys: $(printf '%s\n' "$code" | wc -l) keys, all documented"
exit $status
