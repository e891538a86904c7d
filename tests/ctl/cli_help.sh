#!/usr/bin/env bash
# --help of every command and subcommand prints its help, and nothing else,
# and exits 0 without a word to vaultd; global options may also sit between
# a command family and its subcommand.
set -u
. "${VT_SUPPORT:-$(dirname "$0")/../support}/vaultd.sh"
. "$(dirname "$0")/lib_cli.sh"
vt_setup
vt_start

# The newest audit entry: every request vaultd answers adds one, so an
# unchanged head means no command below reached it.
audit_head() { sqlite3 "file:$VT_STORE?mode=ro" 'SELECT COALESCE(MAX(seq), 0) FROM audit'; }

commands() { # the command list of a --help text
	awk '/Commands:/ { f = 1; next } /^Run / { f = 0 } f && /^  [a-z]/ { print $1 }'
}

HEAD0=$(audit_head)
N=0
for c in $(vc --help | commands); do
	for s in "" $(vc "$c" --help | commands); do
		# shellcheck disable=SC2086 # $s is one word or none
		vc_run $c $s --help
		expect "vaultctl $c${s:+ $s} --help" 0 "^Usage: vaultctl $c${s:+ $s}" '^$'
		matches "vaultctl $c${s:+ $s} --help lists the exit codes" "$OUT" \
			'Exit codes:.*6  conflict \(check-and-set; a store another vaultd or vaultctl holds\)'
		# Nothing after the help (a help once went on to print "vaultd is sealed").
		vt_eq "vaultctl $c${s:+ $s} --help prints only the help" \
			"  6  conflict (check-and-set; a store another vaultd or vaultctl holds)" \
			"$(tail -n 1 "$VT_DIR/out")"
		N=$((N + 1))
	done
done
vt_check "help texts checked: $N (19 commands and their subcommands)" test "$N" -gt 25
vt_eq "no --help reached vaultd (audit head unchanged)" "$HEAD0" "$(audit_head)"
vc_run status
expect "still unsealed after every --help" 0 'sealed: +no'

# ---- global options between a family and its subcommand ----
unset VAULTD_SOCKET
vc_run token --socket "$VT_SOCK" list
expect "token --socket S list" 0 'ACCESSOR'
vc_run key --json --socket="$VT_SOCK" rotate
expect "key --json --socket=S rotate" 0 '"key_id"'
vc_run audit --socket "$VT_SOCK" tail -n 1 --json
expect "audit --socket S tail" 0 '"seq"'
vc_run token --socket "$VT_SOCK" --help
expect "token --socket S --help" 0 '^Usage: vaultctl token COMMAND'
vc_run token --socket "$VT_SOCK" nope
expect "an unknown subcommand after globals" 2 '' 'unknown command "nope"'
vc_run token --socket
expect "a global option without its value" 2 '' 'option --socket needs a value'
vt_done
