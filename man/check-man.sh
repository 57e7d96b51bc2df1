#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Renders each man page given with man-db, as a reader would see it, and
# fails on any warning from groff or man. man --warnings=w passes -ww to
# groff: every warning category, not only the default undefined macros.
# Also fails when a line at 80 columns ends inside an option: "--check-"
# with "config" on the next line cannot be copied or searched for.
# Exits 77 (skipped) when man is not installed.
set -u

if ! command -v man >/dev/null 2>&1; then
        echo "check-man: man not installed, skipping"
        exit 77
fi

status=0
for page in "$@"; do
        err=$(MANWIDTH=80 LC_ALL=C.UTF-8 MANPAGER=cat PAGER=cat \
              man --warnings=w -l "$page" 2>&1 >/dev/null)
        rc=$?
        # An option (-x, --long-name) cut after one of its hyphens at a line end.
        split=$(MANWIDTH=80 LC_ALL=C.UTF-8 MANPAGER=cat PAGER=cat man -l "$page" 2>/dev/null |
                grep -nE -- '(^|[[:space:][(])--?[A-Za-z0-9][A-Za-z0-9-]*-$')
        if [ "$rc" -ne 0 ] || [ -n "$err" ]; then
                echo "check-man: $page: man exited $rc with warnings:" >&2
                [ -n "$err" ] && printf '%s\n' "$err" >&2
                status=1
        elif [ -n "$split" ]; then
                echo "check-man: $page: options split across lines at 80 columns:" >&2
                printf '%s\n' "$split" >&2
                status=1
        else
                echo "check-man: $page: ok"
        fi
done
exit $status
