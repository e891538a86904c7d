#!/usr/bin/env bash
# inject as an ordinary process, not PID 1 of a container: what the end of a
# PID namespace would clean up for it there, it must clean up itself. Here:
# an --on-change command still running when the command exits, or when the
# watcher dies, does not outlive it. Secrets on a tmpfs in a private mount
# namespace. Root only.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib_e2e.sh"
e2e_private_mounts "$@"

. "$HERE/../support/vaultd.sh"
vt_need_root "host e2e: tmpfs mount in a private mount namespace"
: "${INJECT_BIN:?set INJECT_BIN}"

vt_setup
vt_start
e2e_secrets_tmpfs

b64() { printf '%s' "$1" | base64 -w0; }
put() { # name value
	vt_curl PUT "/v1/secrets/$1" -d "{\"value\":\"$(b64 "$2")\"}" | tail -1 |
		grep -q 'HTTP 200' || vt_die "cannot set $1"
}
# What the user typed is echoed on one line, control characters as '?'.
err=$("$INJECT_BIN" --socket "$VT_SOCK" --secret $'al\e[31mpha\nX' -- true 2>&1)
vt_eq "a name with an escape and a newline: usage error" 64 "$?"
vt_eq "... one line on stderr" 1 "$(printf '%s\n' "$err" | wc -l)"
vt_check "... with '?' for each control character" grep -q 'al?\[31mpha?X' <<<"$err"

wait_for() { # description, command...: polls up to 5 s
	local d=$1 i
	shift
	for i in $(seq 1 100); do
		"$@" && return 0
		sleep 0.05
	done
	vt_die "$d did not happen within 5 s"
}

# ---- an --on-change command does not outlive inject ----
put hook.secret first
HOOK=$VT_DIR/slow-hook.sh
printf '#!/bin/sh\necho $$ >"%s/hook.pid"\nexec sleep 60\n' "$VT_DIR" >"$HOOK"
chmod 0755 "$HOOK"
"$INJECT_BIN" --socket "$VT_SOCK" --dir "$S" --watch --debounce 0.1 --secret hook.secret \
	--on-change "$HOOK" -- sleep 1000 >"$VT_DIR/out" 2>"$VT_DIR/err" &
IPID=$!
wait_for "the command's start" pgrep -P "$IPID" -x sleep
CHILD=$(pgrep -P "$IPID" -x sleep)
put hook.secret second
wait_for "the --on-change command's start" test -s "$VT_DIR/hook.pid"
HPID=$(cat "$VT_DIR/hook.pid")
vt_check "the --on-change command runs (sleep 60)" kill -0 "$HPID"
kill -TERM "$CHILD"
wait "$IPID"
vt_eq "the command ended by SIGTERM: inject exits 143" 143 "$?"
gone() { ! kill -0 "$HPID" 2>/dev/null || [ "$(cut -d' ' -f3 "/proc/$HPID/stat" 2>/dev/null)" = Z ]; }
for _ in $(seq 1 40); do gone && break; sleep 0.05; done
vt_check "the --on-change command did not outlive inject" gone
gone || kill -KILL "$HPID" 2>/dev/null

# ---- ... nor a watcher that died while it ran ----
rm -f "$VT_DIR/hook.pid"
"$INJECT_BIN" --socket "$VT_SOCK" --dir "$S" --watch --debounce 0.1 --secret hook.secret \
	--on-change "$HOOK" -- sleep 1000 >"$VT_DIR/out" 2>"$VT_DIR/err" &
IPID=$!
wait_for "the command's start" pgrep -P "$IPID" -x sleep
CHILD=$(pgrep -P "$IPID" -x sleep)
WATCHER=$(pgrep -P "$IPID" -x "$(basename "$INJECT_BIN" | cut -c1-15)")
vt_check "the watcher runs beside the command" test -n "$WATCHER"
put hook.secret third
wait_for "the --on-change command's start" test -s "$VT_DIR/hook.pid"
HPID=$(cat "$VT_DIR/hook.pid")
kill -KILL "$WATCHER"
for _ in $(seq 1 40); do gone && break; sleep 0.05; done
vt_check "a watcher killed mid-hook takes the --on-change command with it" gone
gone || kill -KILL "$HPID" 2>/dev/null
vt_check "the command runs on" kill -0 "$CHILD"
kill -TERM "$CHILD"
wait "$IPID"
vt_eq "inject still exits with the command's status" 143 "$?"

# ---- no core dump of inject; the command keeps its own limit ----
core_line() { grep '^Max core file size' "$1" | tr -s ' '; }
hard=$(ulimit -H -c)
[ "$hard" = unlimited ] || [ "$hard" -ge 12345 ] ||
	vt_die "the core file hard limit ($hard KiB) is under the 12345 KiB this check sets"
(
	ulimit -S -c 12345 # KiB
	# An ASan build of inject would otherwise set its own limit to 0 first.
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}disable_coredump=0" exec "$INJECT_BIN" --socket "$VT_SOCK" --dir "$S" --init --secret hook.secret -- \
		sh -c 'grep "^Max core file size" /proc/self/limits >"$0/core"; exec sleep 1000' \
		"$VT_DIR"
) >"$VT_DIR/out" 2>"$VT_DIR/err" &
IPID=$!
wait_for "the command's start" pgrep -P "$IPID" -x sleep
CHILD=$(pgrep -P "$IPID" -x sleep)
vt_eq "PID 1 (inject) may dump no core: soft limit 0" "Max core file size 0" \
	"$(core_line "/proc/$IPID/limits" | cut -d' ' -f1-5)"
vt_eq "the command has the limit inject was started with" "Max core file size $((12345 * 1024))" \
	"$(tr -s ' ' <"$VT_DIR/core" | cut -d' ' -f1-5)"
kill -TERM "$CHILD"
wait "$IPID"
vt_done
