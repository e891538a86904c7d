#!/usr/bin/env bash
# vaultctl key rotate / rekey against a real vaultd: data key rotation and
# the background re-seal, rekey to a new key file and to a passphrase (the
# old key stops working across a restart), the failure paths (sealed, a
# readable key file, usage, no admin rights), and that no key or passphrase
# reaches an output, a log, the audit log or argv.
set -u
. "${VT_SUPPORT:-$(dirname "$0")/../support}/vaultd.sh"
. "$(dirname "$0")/lib_cli.sh"
vt_setup
AUDIT=$VT_DIR/audit.jsonl
OLD_KEY=$VT_KEY
ALL=$VT_DIR/all-output # everything vaultctl printed, for the leak checks

# vaultd with the current $VT_KEY, or (start_nokey) with none: it starts sealed.
# The socket's group is nogroup so that `nobody` may connect (and be refused).
start() { vt_start --audit-log "$AUDIT" --socket-group nogroup; }
start_nokey() {
	"$VAULTD_BIN" serve --store "$VT_STORE" --socket "$VT_SOCK" --audit-log "$AUDIT" \
		--socket-group nogroup >>"$VT_LOG" 2>&1 &
	VT_PID=$!
	for _ in $(seq 1 200); do
		curl -s --max-time 1 --unix-socket "$VT_SOCK" http://localhost/v1/health >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	vt_die "vaultd without a key file did not answer: $(tail -3 "$VT_LOG")"
}
run() { vc_run "$@"; cat "$VT_DIR/out" "$VT_DIR/err" >>"$ALL"; }
run_in() { vc_in "$@"; cat "$VT_DIR/out" "$VT_DIR/err" >>"$ALL"; }
health() { curl -s -o /dev/null -w '%{http_code}' --unix-socket "$VT_SOCK" http://localhost/v1/health; }
# Successful rekeys in the audit log (refused ones are audited too).
rekeys_done() { grep -c '"action":"sys.rekey".*"result":"ok"' "$AUDIT"; }
store_sql() { sqlite3 "$VT_STORE" "$1"; }
# The three values every stage reads back.
values_read_back() { # DESC
	vt_eq "$1: app.a" "alpha-2" "$(vc get app.a 2>&1)"
	vt_eq "$1: app.a version 1" "alpha-1" "$(vc get app.a --version 1 2>&1)"
	vt_eq "$1: app.b" "beta" "$(vc get app.b 2>&1)"
}

start
printf 'alpha-1' | vc set app.a >/dev/null
printf 'alpha-2' | vc set app.a >/dev/null
printf 'beta' | vc set app.b >/dev/null

# ---- key rotate: a new data key, older versions re-sealed in the background ----
run key rotate
expect "key rotate" 0 '^data key 2 is active; 3 versions are being re-sealed in the background$'
run key rotate
expect "a second key rotate" 0 '^data key 3 is active; '
run status
expect "status names the active data key" 0 $'\ndata key: +3\n'
pending=
for _ in $(seq 1 50); do
	pending=$(json_field "$(vc status --json)" "d['reseal_pending']")
	[ "$pending" = 0 ] && break
	sleep 0.1
done
vt_eq "the re-seal finishes within 5 s" "0" "$pending"
run status
expect "status shows nothing pending" 0 $'\nre-seal: +0 versions pending\n'
vt_eq "every stored value is sealed under data key 3" "0" \
	"$(store_sql 'select count(*) from versions where value is not null and key_id <> 3')"
values_read_back "after two rotations"
run key rotate --json
expect "key rotate --json" 0
vt_eq "key rotate --json: key_id" "4" "$(json_field "$OUT" "d['key_id']")"
vt_eq "key rotate --json: reseal_pending" "True" "$(json_field "$OUT" "d['reseal_pending'] >= 0")"
vt_eq "each rotation is audited" "3" "$(grep -c '"action":"sys.rotate".*"result":"ok"' "$AUDIT")"
vc seal >/dev/null
run status
expect "sealed, status exits 5" 5 'sealed: +yes'
vt_check "sealed, status shows no data key line" bash -c "! grep -q '^data key' '$VT_DIR/out'"
vt_check "sealed, status shows no re-seal line" bash -c "! grep -q '^re-seal' '$VT_DIR/out'"
vc unseal --key-file "$OLD_KEY" >/dev/null

# ---- key rekey --new-key-file: the file is made, only it unseals afterwards ----
NEW=$VT_DIR/new.key
run key rekey --new-key-file "$NEW"
expect "rekey to a new key file" 0 "^store rekeyed: it unseals only with $NEW now; point vaultd --key-file"
vt_eq "the new key file is mode 0600" "600" "$(stat -c %a "$NEW" 2>&1)"
vt_eq "the new key file holds 32 bytes" "32" "$(stat -c %s "$NEW" 2>&1)"
NEW_B64=$(base64 -w0 <"$NEW")
vt_stop
VT_KEY=$NEW
start
vt_eq "vaultd started with the new key file is unsealed" "200" "$(health)"
values_read_back "with the new key file"
vt_stop
# vaultd refuses to serve with a key file that does not unseal the store;
# started without one it waits sealed, and the old key is refused there too.
timeout 30 "$VAULTD_BIN" serve --store "$VT_STORE" --socket "$VT_SOCK" --key-file "$OLD_KEY" \
	>"$VT_DIR/old-start.log" 2>&1
vt_eq "vaultd does not start with the old key file" "1" "$?"
vt_check "vaultd says the old key file is wrong" grep -q 'wrong key file' "$VT_DIR/old-start.log"
start_nokey
vt_eq "vaultd started without a key file is sealed" "503" "$(health)"
run unseal --key-file "$OLD_KEY"
expect "the old key file no longer unseals" 4 '' 'passphrase or key'
run unseal --key-file "$NEW"
expect "the new key file unseals" 0 'vaultd is unsealed'

# ---- key rekey --new-passphrase-stdin ----
PASS="rekey pass $(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
run_in "$PASS"$'\n' key rekey --new-passphrase-stdin --kdf interactive
expect "rekey to a passphrase" 0 '^store rekeyed: it unseals only with the new passphrase now$'
vt_eq "the store is a passphrase store with interactive Argon2id cost" "2|2" \
	"$(store_sql 'select kek_kind, kdf_opslimit from store')"
vt_stop
start_nokey
run status
expect "vaultd without a key file starts sealed" 5 'sealed: +yes'
run unseal --key-file "$NEW"
expect "the last key file no longer unseals" 4 '' 'passphrase or key'
run unseal --key-file "$OLD_KEY"
expect "the first key file no longer unseals" 4 '' 'passphrase or key'
run_in "$PASS"$'\n' unseal --passphrase-stdin
expect "the new passphrase unseals" 0 'vaultd is unsealed'
values_read_back "with the new passphrase"

# ---- the prompt on a terminal: asked twice, a mismatch changes nothing ----
done_before=$(rekeys_done)
SHOWN=$(tty_answer "New passphrase:" "typed one" "Repeat it:" "typed two" -- key rekey)
vt_eq "different answers at the prompt: usage exit" "2" "$?"
matches "the mismatch is explained" "$SHOWN" 'passphrases differ'
vt_eq "a mismatch rekeys nothing" "$done_before" "$(rekeys_done)"
TTY_PASS="typed $(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
SHOWN=$(tty_answer "New passphrase:" "$TTY_PASS" "Repeat it:" "$TTY_PASS" -- key rekey)
vt_eq "rekey at the terminal prompt" "0" "$?"
matches "the prompt asked twice" "$SHOWN" 'New passphrase: .*Repeat it: .*store rekeyed'
not_in "the typed passphrase is not echoed" "$TTY_PASS" "$SHOWN"
vt_eq "without --kdf vaultd uses the moderate cost" "2|3" \
	"$(store_sql 'select kek_kind, kdf_opslimit from store')"
vc seal >/dev/null
run_in "$PASS" unseal --passphrase-stdin
expect "the previous passphrase no longer unseals" 4
run_in "$TTY_PASS" unseal --passphrase-stdin
expect "the passphrase typed at the prompt unseals" 0 'vaultd is unsealed'
STDIN_PASS=$PASS
PASS=$TTY_PASS

# ---- failure paths ----
vc seal >/dev/null
GEN=$VT_DIR/gen.key
run key rekey --new-key-file "$GEN"
expect "rekey while sealed" 5 '' "vaultd is sealed"
matches "the removal of the made file is reported" "$ERR" "removed $GEN, which vaultctl created"
vt_check "the key file made for a refused rekey is removed" test ! -e "$GEN"
run_in "other passphrase" key rekey --new-passphrase-stdin
expect "rekey to a passphrase while sealed" 5 '' "vaultd is sealed"
run_in "$PASS" unseal --passphrase-stdin
expect "still the same passphrase after refused rekeys" 0

done_before=$(rekeys_done)
LOOSE=$VT_DIR/loose.key
head -c 32 /dev/urandom >"$LOOSE"
chmod 644 "$LOOSE"
run key rekey --new-key-file "$LOOSE"
expect "a key file readable by others is refused" 1 '' "chmod 600 $LOOSE"
vt_check "vaultctl leaves a file it did not make" test -e "$LOOSE"
vt_eq "nothing was sent for the readable key file" "$done_before" "$(rekeys_done)"
head -c 31 /dev/urandom >"$VT_DIR/short.key"
chmod 600 "$VT_DIR/short.key"
run key rekey --new-key-file "$VT_DIR/short.key"
expect "a key file of 31 bytes is refused" 1 '' 'exactly 32 bytes'

run_in "x" key rekey --new-key-file "$GEN" --new-passphrase-stdin
expect "both sources" 2 '' 'either --new-key-file or --new-passphrase-stdin'
run key rekey </dev/null
expect "no source and stdin not a terminal" 2 '' 'pass --new-key-file FILE or --new-passphrase-stdin'
run key rekey --new-key-file "$GEN" --kdf interactive
expect "--kdf with a key file" 2 '' 'does not go with --new-key-file'
run_in "x" key rekey --new-passphrase-stdin --kdf fast
expect "an unknown --kdf" 2 '' 'moderate or interactive'
vt_check "no key file is made when the options are wrong" test ! -e "$GEN"
run key rekey --new-passphrase "$PASS"
expect "a passphrase in argv is not an option" 2
not_in "a passphrase given in argv is not repeated" "$PASS" "$OUT$ERR"
vt_eq "usage errors rekey nothing" "$done_before" "$(rekeys_done)"

# Without admin rights: a token whose policy lacks admin, and nobody.
cat >"$VT_DIR/reader.json" <<'EOF'
{"rules": [{"names": "*", "capabilities": ["read", "list"]}]}
EOF
vc policy put reader "$VT_DIR/reader.json" >/dev/null
READER=$(vc token create --policy reader 2>/dev/null)
VAULTD_TOKEN=$READER run key rotate
expect "key rotate with a token without admin" 4 '' 'policies do not allow'
VAULTD_TOKEN=$READER run key rekey --new-key-file "$GEN"
expect "key rekey with a token without admin" 4
vt_check "the key file made for a denied rekey is removed" test ! -e "$GEN"
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
	NOBODY_DIR=$VT_DIR/nobody
	mkdir "$NOBODY_DIR" && chown 65534:65534 "$NOBODY_DIR"
	as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$VAULTCTL_BIN" "$@"; }
	as_nobody key rotate >"$VT_DIR/out" 2>"$VT_DIR/err"
	RC=$? ERR=$(cat "$VT_DIR/err")
	expect "key rotate as nobody without a token" 4 '' 'VAULTD_TOKEN'
	as_nobody key rekey --new-key-file "$NOBODY_DIR/n.key" >"$VT_DIR/out" 2>"$VT_DIR/err"
	RC=$? ERR=$(cat "$VT_DIR/err")
	expect "key rekey as nobody without a token" 4 '' "removed $NOBODY_DIR/n.key"
	vt_check "nobody's key file is removed after the refusal" test ! -e "$NOBODY_DIR/n.key"
	printf '%s' "$PASS" | as_nobody key rekey --new-passphrase-stdin >"$VT_DIR/out" 2>"$VT_DIR/err"
	RC=$? ERR=$(cat "$VT_DIR/err")
	expect "key rekey to a passphrase as nobody" 4
else
	echo "skip - key commands as nobody (needs root and setpriv)"
fi
vt_eq "no refused attempt rekeyed the store" "$done_before" "$(rekeys_done)"
vc seal >/dev/null
run_in "$PASS" unseal --passphrase-stdin
expect "the store still unseals with its passphrase" 0

# ---- argv: the passphrase comes from stdin only ----
FIFO_PASS="fifo $(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
mkfifo "$VT_DIR/pass.fifo"
exec 7<>"$VT_DIR/pass.fifo"
"$VAULTCTL_BIN" key rekey --new-passphrase-stdin --kdf interactive <"$VT_DIR/pass.fifo" 7>&- \
	>"$VT_DIR/fifo.out" 2>&1 &
CPID=$!
ARGS=
for _ in $(seq 1 100); do
	ARGS=$(tr '\0' ' ' <"/proc/$CPID/cmdline" 2>/dev/null)
	[[ $ARGS == *"key rekey"* ]] && break
	sleep 0.05
done
matches "vaultctl is waiting for its passphrase" "$ARGS" 'vaultctl key rekey --new-passphrase-stdin'
printf '%s\n' "$FIFO_PASS" >&7
ARGS_LATER=$(ps -o args= -p "$CPID" 2>/dev/null)
exec 7>&-
wait "$CPID"
vt_eq "rekey with the passphrase from a pipe" "0" "$?"
not_in "argv does not carry the passphrase" "$FIFO_PASS" "$ARGS $ARGS_LATER"
cat "$VT_DIR/fifo.out" >>"$ALL"
vc seal >/dev/null
run_in "$FIFO_PASS" unseal --passphrase-stdin
expect "the piped passphrase unseals" 0

# ---- no answer: the made key file goes only if the request never arrived ----
run --socket "$VT_DIR/nothing.sock" key rekey --new-key-file "$GEN"
expect "rekey with nothing listening" 5 '' "cannot reach vaultd"
vt_check "the key file made for an unreachable vaultd is removed" test ! -e "$GEN"
# A server that reads the whole request and hangs up: vaultd might have
# rekeyed to the file, which must therefore stay.
python3 - "$VT_DIR/mute.sock" >"$VT_DIR/mute.log" 2>&1 <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
s.listen(1)
print("listening", flush=True)
c, _ = s.accept()
data = b""
while b"\r\n\r\n" not in data:
    data += c.recv(65536)
head, body = data.split(b"\r\n\r\n", 1)
length = [int(l.split(b":")[1]) for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")][0]
while len(body) < length:
    body += c.recv(65536)
print("got", len(body), flush=True)
c.close()
PY
MUTE=$!
for _ in $(seq 1 100); do [ -S "$VT_DIR/mute.sock" ] && break; sleep 0.05; done
run --socket "$VT_DIR/mute.sock" key rekey --new-key-file "$GEN"
expect "rekey that gets no answer" 1 '' "kept $GEN: vaultd may have rekeyed"
vt_check "the key file stays when the rekey may have happened" test -s "$GEN"
wait "$MUTE"
vt_check "the mute server got the whole request" grep -q '^got [1-9]' "$VT_DIR/mute.log"
GEN_B64=$(base64 -w0 <"$GEN" 2>/dev/null)
rm -f "$GEN"

# ---- key rotate's count, on a second, empty store ----
"$VAULTD_BIN" init --store "$VT_DIR/empty.db" --key-file "$VT_DIR/empty.key" >/dev/null 2>&1 ||
	vt_die "vaultd init of the empty store failed"
"$VAULTD_BIN" serve --store "$VT_DIR/empty.db" --socket "$VT_DIR/empty.sock" \
	--key-file "$VT_DIR/empty.key" >>"$VT_LOG" 2>&1 &
PID2=$!
for _ in $(seq 1 200); do
	curl -s --max-time 1 --unix-socket "$VT_DIR/empty.sock" http://localhost/v1/health >/dev/null 2>&1 && break
	sleep 0.05
done
run --socket "$VT_DIR/empty.sock" key rotate
expect "key rotate with no values" 0 '^data key 2 is active; nothing to re-seal$'
printf 'one' | vc --socket "$VT_DIR/empty.sock" set only >/dev/null
run --socket "$VT_DIR/empty.sock" key rotate
expect "key rotate with one value" 0 '^data key 3 is active; 1 version is being re-sealed in the background$'
kill -TERM "$PID2"
wait "$PID2" 2>/dev/null

# ---- no key material anywhere it could be read back ----
vt_stop
for f in "$ALL" "$VT_LOG" "$AUDIT"; do
	what=$(basename "$f")
	for secret in "$STDIN_PASS" "$TTY_PASS" "$FIFO_PASS" "$NEW_B64" "$GEN_B64" "$(base64 -w0 <"$OLD_KEY")"; do
		[ -n "$secret" ] || continue # a failure above already counted
		vt_check "$what holds no key or passphrase (${secret:0:5}...)" \
			bash -c '! grep -qF -- "$1" "$2"' _ "$secret" "$f"
	done
done
vt_check "vaultctl's outputs were collected" test -s "$ALL"
vt_check "the audit log recorded the rekeys" grep -q '"action":"sys.rekey"' "$AUDIT"

vt_done
