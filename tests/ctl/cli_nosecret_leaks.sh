#!/usr/bin/env bash
# A value never reaches vaultctl's argv or environment, the terminal's echo,
# or any error message.
set -u
. "${VT_SUPPORT:-$(dirname "$0")/../support}/vaultd.sh"
. "$(dirname "$0")/lib_cli.sh"
vt_setup
vt_start

SECRET="s3cr3t-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"

# ---- /proc/<pid>/cmdline and environ while `set` is reading stdin ----
mkfifo "$VT_DIR/fifo"
"$VAULTCTL_BIN" set argv.test <"$VT_DIR/fifo" >"$VT_DIR/set.out" 2>&1 &
PID=$!
exec 3>"$VT_DIR/fifo" # unblocks the child's open; it then execs vaultctl
printf '%s' "$SECRET" >&3
for _ in $(seq 1 100); do
	[ "$(readlink "/proc/$PID/exe" 2>/dev/null)" = "$(readlink -f "$VAULTCTL_BIN")" ] && break
	sleep 0.05
done
sleep 0.2 # let it read what was written; stdin stays open, so it is still running
vt_check "vaultctl set is still running (stdin held open)" kill -0 "$PID"
CMDLINE=$(tr '\0' ' ' <"/proc/$PID/cmdline")
ENVIRON=$(tr '\0' '\n' <"/proc/$PID/environ")
matches "the cmdline read is vaultctl's" "$CMDLINE" 'vaultctl set argv\.test'
not_in "the value is not in /proc/<pid>/cmdline during set" "$SECRET" "$CMDLINE"
not_in "the value is not in /proc/<pid>/environ during set" "$SECRET" "$ENVIRON"
exec 3>&-
wait "$PID"
vt_eq "set finished after EOF" "0" "$?"
vc_run get argv.test
vt_eq "the value arrived through stdin" "$SECRET" "$OUT"

# ---- a value on the command line is refused without being echoed ----
vc_run set argv.test "$SECRET"
expect "a value as an argument is a usage error" 2 '' 'too many arguments'
not_in "the refused argument is not echoed" "$SECRET" "$ERR$OUT"

# ---- error messages never carry the value ----
vc_in "$SECRET" set argv.test --cas 99
expect "CAS conflict" 6
not_in "CAS conflict message" "$SECRET" "$ERR$OUT"
vc_in "$SECRET" set 'bad..name'
expect "bad name" 2
not_in "bad name message" "$SECRET" "$ERR$OUT"
vc_in "$SECRET" set argv.test --socket "$VT_DIR/nothing.sock"
expect "unreachable" 5
not_in "unreachable message" "$SECRET" "$ERR$OUT"
vc_in "$SECRET" rotate nope.missing
expect "rotate of a missing secret" 3
not_in "rotate error message" "$SECRET" "$ERR$OUT"
vc_run seal
expect "seal" 0 'sealed'
# (Sealed: on an unsealed vaultd an unseal succeeds whatever it sends.)
vc_in "$SECRET" unseal --passphrase-stdin
expect "unseal of a key-file store with a passphrase fails" 4
not_in "unseal error message" "$SECRET" "$ERR$OUT"
vc_in "$SECRET" set argv.sealed
expect "set while sealed" 5 '' 'vaultd is sealed: run `vaultctl unseal`'
not_in "sealed message" "$SECRET" "$ERR$OUT"
vc_run unseal --key-file "$VT_KEY"
expect "unseal with the key file" 0 'unsealed'

# ---- the terminal prompt: no echo, asked twice ----
tty_set() { # name first second -> prints everything the terminal showed
	tty_answer "Value for" "$2" "Repeat" "$3" -- set "$1"
}
SHOWN=$(tty_set tty.secret "$SECRET" "$SECRET")
vt_eq "prompted set succeeds" "0" "$?"
matches "the prompt was shown, twice" "$SHOWN" 'Value for tty\.secret: .*Repeat the value: '
not_in "the typed value is not echoed" "$SECRET" "$SHOWN"
vc_run get tty.secret
vt_eq "the typed value was stored without its newline" "$SECRET" "$OUT"
SHOWN=$(tty_set tty.other "$SECRET" "different")
vt_eq "mismatched answers are a usage error" "2" "$?"
matches "mismatch is explained" "$SHOWN" 'the two values differ'
not_in "the mismatch message does not show the value" "$SECRET" "$SHOWN"
vc_run get tty.other
expect "nothing was written after a mismatch" 3

vt_done
