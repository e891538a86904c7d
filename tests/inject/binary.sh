#!/usr/bin/env bash
# The shipped inject binary itself: statically linked (it must run in a root
# filesystem holding nothing but itself) and at most 1 MiB stripped.
# Normal build only: the sanitizer build's inject is dynamic by necessity.
set -u
: "${INJECT_BIN:?set INJECT_BIN}"
LIMIT=1048576
FAILS=0

check() { # description, command...
	local d=$1
	shift
	if "$@"; then echo "ok - $d"; else echo "FAIL - $d"; FAILS=$((FAILS + 1)); fi
}

# `file` (scripts/deps.sh installs it) reads the program headers: a
# PT_INTERP or a dynamic section makes it say "dynamically linked".
desc=$(file -L "$INJECT_BIN") || { echo "FAIL - cannot run file on $INJECT_BIN"; exit 1; }
echo "$desc"
check "inject is statically linked" grep -q 'statically linked' <<<"$desc"

# The build strips inject; measure a stripped copy if it ever is not, since
# the limit is on what ships.
bin=$INJECT_BIN
if grep -q 'not stripped' <<<"$desc"; then
	bin=$(mktemp)
	trap 'rm -f "$bin"' EXIT
	strip -o "$bin" "$INJECT_BIN" || { echo "FAIL - cannot strip a copy of $INJECT_BIN"; exit 1; }
fi
size=$(stat -c %s "$bin")
check "inject is at most $LIMIT bytes stripped ($size bytes)" test "$size" -le "$LIMIT"

[ "$FAILS" -eq 0 ] || { echo "$FAILS check(s) failed"; exit 1; }
echo "all checks passed"
