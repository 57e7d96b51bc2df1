#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Tests data/memtidectl.bash-completion: a syntax check, then scripted
# completions as bash would ask for them (COMP_WORDS/COMP_CWORD set, the
# completion function called, COMPREPLY checked). Guest names come from a
# stub memtidectl that prints a `--json list` reply, and from nothing when
# the daemon does not answer.
# Usage: check-bash-completion.sh COMPLETION_FILE MEMTIDECTL
set -u

completion=$1
memtidectl=$2
failures=0

fail()
{
        echo "FAIL: $*" >&2
        failures=$((failures + 1))
}

bash -n "$completion" || {
        echo "FAIL: bash -n $completion" >&2
        exit 1
}

# Without bash-completion's _init_completion: the script must stand alone.
# shellcheck source=/dev/null
source "$completion"
declare -F _memtidectl >/dev/null || {
        echo "FAIL: $completion does not define _memtidectl" >&2
        exit 1
}

# complete WORD... : completes the last word; sets COMPREPLY.
complete_words()
{
        COMP_WORDS=("$@")
        COMP_CWORD=$(($# - 1))
        COMP_LINE="$*"
        COMP_POINT=${#COMP_LINE}
        COMPREPLY=()
        _memtidectl memtidectl "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
}

has()
{
        local want=$1 w
        for w in "${COMPREPLY[@]}"; do
                [[ $w == "$want" ]] && return 0
        done
        return 1
}

expect()
{
        local what=$1
        shift
        has "$what" || fail "'${COMP_WORDS[*]}' offers '${COMPREPLY[*]}', not '$what'"
}

expect_not()
{
        local what=$1
        has "$what" && fail "'${COMP_WORDS[*]}' offers '$what' (${COMPREPLY[*]})"
}

complete_words memtidectl l
expect list
expect_not status

# Every verb memtidectl --help lists, and nothing else.
complete_words memtidectl ""
help_verbs=$("$memtidectl" --help | awk '/^Commands:/ { on = 1; next } on && /^  [a-z]/ { print $1 }')
[ -n "$help_verbs" ] || fail "memtidectl --help lists no verbs"
for v in $help_verbs; do
        expect "$v"
done
for v in "${COMPREPLY[@]}"; do
        grep -qx -- "$v" <<<"$help_verbs" || fail "completion offers '$v', which --help does not list"
done

complete_words memtidectl log-level w
expect warning

complete_words memtidectl list --
expect --all

complete_words memtidectl explain db1 --s
expect --since

complete_words memtidectl --json s
expect status
expect show
expect set
expect simulate

complete_words memtidectl --socket /tmp/x.socket re
expect reset
expect reload

complete_words memtidectl --
expect --json
expect --socket

complete_words memtidectl set db1 --m
expect --min
expect --max
expect --manage

complete_words memtidectl set db1 --manage ""
expect yes
expect no

complete_words memtidectl simulate --strategy m
expect mom

# Implementations come from the real binary's `compat --list`.
complete_words "$memtidectl" compat --device q
expect qemu
complete_words "$memtidectl" compat --driver l
expect linux
expect_not libkrun

# Guest names from a stub daemon client.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat >"$tmp/memtidectl" <<'EOF'
#!/bin/sh
case " $* " in
*" list "*) ;;
*) exit 2 ;;
esac
cat <<'JSON'
{
  "guests":[
    {
      "name":"web1",
      "uuid":"9a0c3e4e-3f1d-4c43-9a39-6f3f4e0d2b11",
      "backend":"qmp"
    },
    {
      "name":"db1",
      "uuid":null,
      "backend":"qmp"
    }
  ]
}
JSON
EOF
chmod +x "$tmp/memtidectl"

complete_words "$tmp/memtidectl" show ""
expect web1
expect db1
expect 9a0c3e4e-3f1d-4c43-9a39-6f3f4e0d2b11

complete_words "$tmp/memtidectl" set w
expect web1
expect_not db1

complete_words "$tmp/memtidectl" show web1 ""
[[ ${#COMPREPLY[@]} -eq 0 ]] || fail "a second guest offered after 'show web1': ${COMPREPLY[*]}"

# No daemon: nothing, quietly.
printf '#!/bin/sh\necho "memtidectl: cannot talk to memtided" >&2\nexit 1\n' >"$tmp/memtidectl"
err=$(complete_words "$tmp/memtidectl" show "" 2>&1)
complete_words "$tmp/memtidectl" show ""
[[ ${#COMPREPLY[@]} -eq 0 && -z $err ]] || fail "no daemon: offered '${COMPREPLY[*]}', printed '$err'"

if ((failures > 0)); then
        echo "$failures failure(s)" >&2
        exit 1
fi
echo "bash completion: ok"
