#!/usr/bin/env bash
# Reads from many keep-alive connections share audit commits, even when one
# libmicrohttpd thread serves them all: none is committed on that thread
# while other connections wait behind it (which made a commit per read).
set -uo pipefail
. "$(dirname "$0")/../support/vaultd.sh"

vt_loadgen_setup
vt_start --socket-group nogroup --threads 1

metric() { curl -s --unix-socket "$VT_SOCK" http://localhost/metrics | awk -v m="$1" '$1 == m {print $2}'; }
e0=$(metric vaultd_audit_entries_total)
b0=$(metric vaultd_audit_batches_total)
"$LOADGEN_BIN" --socket "$VT_SOCK" --mode read --conns 16 --seconds 2 >"$VT_DIR/lg.out" 2>&1
vt_eq "16 connections of reads: no errors" 0 "$?"
cat "$VT_DIR/lg.out"
e1=$(metric vaultd_audit_entries_total)
b1=$(metric vaultd_audit_batches_total)
entries=$((e1 - e0)) batches=$((b1 - b0))
echo "audit: $entries entries in $batches commits"
vt_check "reads were audited (at least 1,000 entries)" test "$entries" -ge 1000
# With a commit per read this is 1.0; shared, it nears the 16 connections.
vt_check "commits are shared: at least 4 entries per commit" test "$entries" -ge $((4 * batches))
vt_done
