#!/usr/bin/env bash
# vaultd built with ThreadSanitizer (test.sh's build-tsan) under mixed load:
# audited reads, durable writes (group commit), no-op requests, a SIGHUP
# reopening the audit log, then SIGTERM. Any data race TSan sees fails it.
set -uo pipefail
. "$(dirname "$0")/../support/vaultd.sh"

vt_loadgen_setup
export TSAN_OPTIONS="halt_on_error=1 exitcode=66 log_path=$VT_DIR/tsan"
vt_start --socket-group nogroup --audit-log "$VT_DIR/audit.jsonl"

lg() { "$LOADGEN_BIN" --socket "$VT_SOCK" --mode "$1" --conns "$2" --seconds 3 >"$VT_DIR/lg-$1.out" 2>&1; }
# Every loadgen sets bench.read to its own value first and the reader
# checks for its own: the reader starts last, once the others are going.
lg write 8 & w=$!
lg health 8 & h=$!
sleep 0.5
lg read 16 & r=$!
sleep 1.5
kill -HUP "$VT_PID"
wait "$r"; vt_eq "reads under load: no errors" 0 "$?"
wait "$w"; vt_eq "writes under load: no errors" 0 "$?"
wait "$h"; vt_eq "no-op requests under load: no errors" 0 "$?"
cat "$VT_DIR"/lg-*.out

kill -TERM "$VT_PID"
wait "$VT_PID"
status=$?
VT_PID=
vt_eq "vaultd exits 0 (66 would be a ThreadSanitizer report)" 0 "$status"
reports=$(cat "$VT_DIR"/tsan.* 2>/dev/null)
vt_check "no ThreadSanitizer report" test -z "$reports"
[ -z "$reports" ] || printf '%s\n' "$reports" | head -60
vt_done
