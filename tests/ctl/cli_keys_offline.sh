#!/usr/bin/env bash
# vaultctl key rotate / rekey --store: the key changes made on a store file
# with no vaultd serving it. Refused while vaultd holds the store, or with a
# wrong current key (nothing made, nothing changed); a rotation re-seals
# every version before it returns; a rekey to a key file or a passphrase
# leaves the store openable only with the new key, by vaultd as well; each
# change is on the audit chain; no key or passphrase in any output.
set -u
. "${VT_SUPPORT:-$(dirname "$0")/../support}/vaultd.sh"
. "$(dirname "$0")/lib_cli.sh"
vt_setup
OLD_KEY=$VT_KEY
ALL=$VT_DIR/all-output # everything vaultctl printed, for the leak checks

run() { vc_run "$@"; cat "$VT_DIR/out" "$VT_DIR/err" >>"$ALL"; }
run_in() { vc_in "$@"; cat "$VT_DIR/out" "$VT_DIR/err" >>"$ALL"; }
store_sql() { sqlite3 "$VT_STORE" "$1"; }
random_key() { head -c 32 /dev/urandom >"$1" && chmod "$2" "$1"; } # PATH MODE
last_action() { store_sql 'select action from audit order by seq desc limit 1'; }
values_read_back() { # DESC: with vaultd running on the store
	vt_eq "$1: app.a" "alpha-2" "$(vc get app.a 2>&1)"
	vt_eq "$1: app.a version 1" "alpha-1" "$(vc get app.a --version 1 2>&1)"
	vt_eq "$1: app.b" "beta" "$(vc get app.b 2>&1)"
}
# What a refused command must leave as it was: the keys and the audit chain.
state() { store_sql 'select kek_kind, kdf_opslimit, hex(kdf_salt) from store;
	select key_id, hex(wrapped) from keys order by key_id; select max(seq) from audit'; }

vt_start
printf 'alpha-1' | vc set app.a >/dev/null
printf 'alpha-2' | vc set app.a >/dev/null
printf 'beta' | vc set app.b >/dev/null

# ---- refused while vaultd serves the store ----
GEN=$VT_DIR/gen.key
before=$(state)
run key rekey --store "$VT_STORE" --key-file "$OLD_KEY" --new-key-file "$GEN"
expect "rekey --store while vaultd serves it" 6 '' 'is in use .*without --store'
run key rotate --store "$VT_STORE" --key-file "$OLD_KEY"
expect "rotate --store while vaultd serves it" 6 '' 'is in use'
vt_check "no key file is made while the store is in use" test ! -e "$GEN"
vt_stop
vt_eq "a store in use is left as it was" "$before" "$(state)"

# ---- usage, a missing store, a wrong current key ----
run key rotate --key-file "$OLD_KEY"
expect "--key-file without --store" 2 '' '--key-file and --passphrase-stdin go with --store'
run_in "x" key rotate --store "$VT_STORE" --key-file "$OLD_KEY" --passphrase-stdin
expect "both current keys" 2 '' 'either --key-file or --passphrase-stdin'
run_in "x" key rekey --store "$VT_STORE" --passphrase-stdin --new-passphrase-stdin
expect "two passphrases from stdin" 2 '' 'stdin holds one passphrase'
run key rekey --store "$VT_DIR/none.db" --key-file "$OLD_KEY" --new-key-file "$GEN"
expect "a store that is not there" 3 '' "no store at $VT_DIR/none.db"
vt_check "no store file is made for a missing store" test ! -e "$VT_DIR/none.db"
ln -s "$VT_STORE" "$VT_DIR/link.db"
run key rotate --store "$VT_DIR/link.db" --key-file "$OLD_KEY"
expect "a symbolic link to the store (vaultd would not follow it)" 1 '' "cannot lock store $VT_DIR/link.db"
WRONG=$VT_DIR/wrong.key
random_key "$WRONG" 600
run key rekey --store "$VT_STORE" --key-file "$WRONG" --new-key-file "$GEN"
expect "rekey --store with a wrong current key" 4 '' 'does not unseal store'
run key rotate --store "$VT_STORE" --key-file "$WRONG"
expect "rotate --store with a wrong current key" 4 '' 'does not unseal store'
run_in "a passphrase" key rotate --store "$VT_STORE" --passphrase-stdin
expect "a passphrase for a key-file store" 2 '' 'sealed with a key file'
vt_check "no key file is made for a wrong current key" test ! -e "$GEN"
LOOSE=$VT_DIR/loose.key
random_key "$LOOSE" 644
run key rekey --store "$VT_STORE" --key-file "$OLD_KEY" --new-key-file "$LOOSE"
expect "a new key file readable by others" 1 '' "chmod 600 $LOOSE"
vt_eq "refused offline commands change nothing" "$before" "$(state)"

# ---- key rotate --store: a new data key, every version re-sealed at once ----
run key rotate --store "$VT_STORE" --key-file "$OLD_KEY"
expect "rotate --store" 0 "^data key 2 is active in $VT_STORE; 3 versions re-sealed under it$"
vt_eq "every stored value is sealed under data key 2" "0" \
	"$(store_sql 'select count(*) from versions where value is not null and key_id <> 2')"
vt_eq "the rotation and its completed re-seal are on the audit chain" "offline.rotate offline.reseal" \
	"$(store_sql 'select action from audit order by seq desc limit 2' | tac | paste -sd' ')"
run key rotate --store "$VT_STORE" --key-file "$OLD_KEY" --json
expect "rotate --store --json" 0
vt_eq "rotate --store --json: key_id" "3" "$(json_field "$OUT" "d['key_id']")"
vt_eq "rotate --store --json: resealed" "3" "$(json_field "$OUT" "d['resealed']")"
vt_eq "rotate --store --json: reseal_pending" "0" "$(json_field "$OUT" "d['reseal_pending']")"

# ---- key rekey --store to a new key file ----
run key rekey --store "$VT_STORE" --key-file "$OLD_KEY" --new-key-file "$GEN"
expect "rekey --store to a new key file" 0 "^store rekeyed: it unseals only with $GEN now"
vt_eq "the new key file is mode 0600" "600" "$(stat -c %a "$GEN" 2>&1)"
vt_eq "the rekey is on the audit chain" "offline.rekey" "$(last_action)"
GEN_B64=$(base64 -w0 <"$GEN")
run key rotate --store "$VT_STORE" --key-file "$OLD_KEY"
expect "the old key file no longer opens the store" 4 '' 'does not unseal store'
timeout 30 "$VAULTD_BIN" serve --store "$VT_STORE" --socket "$VT_SOCK" --key-file "$OLD_KEY" \
	>"$VT_DIR/old-start.log" 2>&1
vt_eq "vaultd does not start with the old key file" "1" "$?"
VT_KEY=$GEN
vt_start
values_read_back "vaultd with the new key file"
run audit verify
expect "the chain holds the offline changes" 0 '^audit log intact'
run --json audit tail -n 50
matches "the offline entries name vaultctl's uid and no HTTP status" "$OUT" \
	'"uid":0,[^}]*"action":"offline.rekey",[^}]*"status":0,'
vt_stop

# ---- to a passphrase, and back to a key file ----
PASS="offline pass $(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
run_in "$PASS"$'\n' key rekey --store "$VT_STORE" --key-file "$GEN" --new-passphrase-stdin \
	--kdf interactive
expect "rekey --store to a passphrase" 0 '^store rekeyed: it unseals only with the new passphrase now$'
vt_eq "a passphrase store with interactive Argon2id cost" "2|2" \
	"$(store_sql 'select kek_kind, kdf_opslimit from store')"
run key rotate --store "$VT_STORE" --key-file "$GEN"
expect "the key file no longer opens the passphrase store" 2 '' 'sealed with a passphrase'
run_in "$PASS" key rotate --store "$VT_STORE" --passphrase-stdin
expect "the new passphrase opens it offline" 0 '^data key 4 is active'
run_in "wrong $PASS" key rotate --store "$VT_STORE" --passphrase-stdin
expect "another passphrase does not" 4
# vaultd without a key starts sealed; the passphrase unseals it.
"$VAULTD_BIN" serve --store "$VT_STORE" --socket "$VT_SOCK" >>"$VT_LOG" 2>&1 &
VT_PID=$!
for _ in $(seq 1 200); do
	curl -s --max-time 1 --unix-socket "$VT_SOCK" http://localhost/v1/health >/dev/null 2>&1 && break
	sleep 0.05
done
run_in "$PASS" unseal --passphrase-stdin
expect "vaultd unseals with the passphrase set offline" 0 'vaultd is unsealed'
values_read_back "vaultd unsealed with the new passphrase"
vt_stop
LAST=$VT_DIR/last.key
run_in "$PASS" key rekey --store "$VT_STORE" --passphrase-stdin --new-key-file "$LAST"
expect "rekey --store from a passphrase to a key file" 0 "^store rekeyed: it unseals only with $LAST now"
run audit verify --store "$VT_STORE" --key-file "$LAST"
expect "the chain verifies offline with the last key" 0 '^audit log intact'
vt_eq "six offline changes on the chain" "3|3" \
	"$(store_sql "select count(*) from audit where action = 'offline.rekey'; select count(*) from audit where action = 'offline.rotate'" | paste -sd'|')"
LAST_B64=$(base64 -w0 <"$LAST")

# ---- no key material in any output ----
for secret in "$PASS" "$GEN_B64" "$LAST_B64" "$(base64 -w0 <"$OLD_KEY")"; do
	vt_check "vaultctl printed no key or passphrase (${secret:0:5}...)" \
		bash -c '! grep -qF -- "$1" "$2"' _ "$secret" "$ALL"
	vt_check "vaultd's log holds no key or passphrase (${secret:0:5}...)" \
		bash -c '! grep -qF -- "$1" "$2"' _ "$secret" "$VT_LOG"
done
vt_check "vaultctl's outputs were collected" test -s "$ALL"

vt_done
