#!/usr/bin/env bash
# A passphrase store: vaultd starts sealed; vaultctl unseals it from stdin or
# a no-echo terminal prompt; restore and offline audit verify take the
# passphrase too. Also: a socket the caller may not open exits 4.
set -u
. "${VT_SUPPORT:-$(dirname "$0")/../support}/vaultd.sh"
. "$(dirname "$0")/lib_cli.sh"
vt_setup

PASS="correct horse $(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')"
PSTORE=$VT_DIR/pass.db
printf '%s' "$PASS" | "$VAULTD_BIN" init --store "$PSTORE" --passphrase-stdin --kdf interactive \
	>"$VT_DIR/pinit.out" 2>&1 || vt_die "vaultd init --passphrase-stdin failed: $(cat "$VT_DIR/pinit.out")"
"$VAULTD_BIN" serve --store "$PSTORE" --socket "$VT_SOCK" >>"$VT_LOG" 2>&1 &
VT_PID=$!
for _ in $(seq 1 200); do
	curl -s --max-time 1 --unix-socket "$VT_SOCK" http://localhost/v1/sys/status >/dev/null 2>&1 && break
	sleep 0.05
done

vc_run status
expect "a passphrase store starts sealed" 5 'sealed: +yes'
vc_run get anything
expect "get while sealed" 5 '' 'vaultd is sealed: run `vaultctl unseal`'
vc_in "wrong passphrase" unseal --passphrase-stdin
expect "unseal with a wrong passphrase" 4 '' 'passphrase or key'
not_in "the wrong passphrase is not echoed" "wrong passphrase" "$ERR$OUT"
vc_in "" unseal --passphrase-stdin
expect "an empty passphrase is refused" 2 '' 'empty passphrase'
vc_in "$PASS"$'\n' unseal --passphrase-stdin
expect "unseal --passphrase-stdin (one newline dropped)" 0 'vaultd is unsealed'
not_in "unseal output has no passphrase" "$PASS" "$ERR$OUT"

# The terminal prompt, through a pseudo-terminal.
vc seal >/dev/null
SHOWN=$(tty_answer "Passphrase:" "$PASS" -- unseal)
vt_eq "unseal at the terminal prompt" "0" "$?"
matches "the prompt asked for the passphrase" "$SHOWN" 'Passphrase: .*vaultd is unsealed'
not_in "the typed passphrase is not echoed" "$PASS" "$SHOWN"
vc_run status
expect "unsealed after the prompt" 0 'sealed: +no'

# ---- restore and offline verify with a passphrase ----
printf 'pv' | vc set pass.value >/dev/null
vc backup "$VT_DIR/pass-backup.db" >/dev/null
vc_in "$PASS" restore --store "$VT_DIR/pass-restored.db" --passphrase-stdin "$VT_DIR/pass-backup.db"
expect "restore a passphrase store" 0 '1 secrets; the key unseals it'
vc_in "nope" restore --store "$VT_DIR/pass-r2.db" --passphrase-stdin "$VT_DIR/pass-backup.db"
expect "restore with a wrong passphrase" 4 '' 'passphrase does not unseal'
vt_check "nothing left after the wrong passphrase" bash -c "! ls '$VT_DIR'/pass-r2.db* 2>/dev/null"
vc_run restore --store "$VT_DIR/pass-r3.db" --key-file "$VT_KEY" "$VT_DIR/pass-backup.db"
expect "a key file for a passphrase store" 2 '' 'sealed with a passphrase'
vc_in "$PASS" audit verify --store "$VT_DIR/pass-restored.db" --passphrase-stdin
expect "offline audit verify with a passphrase" 0 'intact'
vc_run audit verify --store "$VT_DIR/pass-restored.db" </dev/null
expect "offline verify without a terminal or --passphrase-stdin" 2 '' 'no terminal'

# ---- the socket's permissions ----
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
	setpriv --reuid=65534 --regid=65534 --clear-groups "$VAULTCTL_BIN" status \
		>"$VT_DIR/out" 2>"$VT_DIR/err"
	RC=$?
	ERR=$(cat "$VT_DIR/err")
	expect "a caller who may not open the socket" 4 '' "permission denied on $VT_SOCK: run as root or as a member of the socket's group"
else
	echo "skip - socket permissions (needs root and setpriv)"
fi

vt_done
