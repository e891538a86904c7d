#!/usr/bin/env bash
# vaultctl status, seal/unseal, tokens and policies: happy and failure paths,
# and tokens used through VAULTD_TOKEN / --token-file.
set -u
. "${VT_SUPPORT:-$(dirname "$0")/../support}/vaultd.sh"
. "$(dirname "$0")/lib_cli.sh"
vt_setup
vt_start

# ---- status / seal / unseal ----
vc_run status
expect "status when unsealed" 0 'sealed: +no'
vt_check "status names the backend" grep -Eq '^backend: +sqlite' "$VT_DIR/out"
vc_run status --json
vt_eq "status --json" "False" "$(json_field "$OUT" "d['sealed']")"
vc_run seal
expect "seal" 0 'vaultd is sealed'
vc_run status
expect "status when sealed exits 5" 5 'sealed: +yes'
vc_run list
expect "list when sealed" 5 '' 'vaultd is sealed: run `vaultctl unseal`'
head -c 32 /dev/urandom >"$VT_DIR/wrong.key"
chmod 600 "$VT_DIR/wrong.key"
vc_run unseal --key-file "$VT_DIR/wrong.key"
expect "unseal with a wrong key file" 4 '' 'passphrase or key'
chmod 644 "$VT_DIR/wrong.key"
vc_run unseal --key-file "$VT_DIR/wrong.key"
expect "unseal refuses a readable key file" 1 '' 'chmod 600'
vc_run unseal --key-file "$VT_DIR/missing.key"
expect "unseal with a missing key file" 1 '' 'missing\.key'
vc_run unseal --key-file "$VT_KEY" --passphrase-stdin
expect "--key-file with --passphrase-stdin" 2
vc_run unseal </dev/null
expect "unseal without a terminal asks for a way in" 2 '' 'no terminal'
vc_run unseal --key-file "$VT_KEY"
expect "unseal with the right key file" 0 'vaultd is unsealed'
vc_run status
expect "status after unseal" 0 'sealed: +no'

# ---- policies ----
cat >"$VT_DIR/app.json" <<'EOF'
{"rules": [{"names": "app.*", "capabilities": ["read", "list"]},
           {"names": "app.root", "capabilities": ["read"], "deny": true}]}
EOF
vc_run policy put app "$VT_DIR/app.json"
expect "policy put" 0 'policy app saved'
vc_run policy get app
expect "policy get" 0 '"app\.\*"'
vt_eq "policy get returns the rules" "2" "$(json_field "$OUT" "len(d['rules'])")"
printf '{"rules":[{"names":"x","capabilities":["read"]}]}' | "$VAULTCTL_BIN" policy put fromstdin - >/dev/null 2>&1
vt_eq "policy put from stdin" "0" "$?"
vc_run policy list
expect "policy list" 0 'app'
vt_check "policy list shows both" grep -qx fromstdin "$VT_DIR/out"
vc_run policy list --json
vt_eq "policy list --json" "True" "$(json_field "$OUT" "'app' in d['policies']")"
printf '{"rules": [' >"$VT_DIR/broken.json"
vc_run policy put broken "$VT_DIR/broken.json"
expect "policy put with broken JSON" 2 '' 'not a JSON object'
printf '{"names": []}' >"$VT_DIR/norules.json"
vc_run policy put norules "$VT_DIR/norules.json"
expect "policy put without rules" 2 '' 'rules'
vc_run policy get nope
expect "policy get of an unknown policy" 3
vc_run policy rm fromstdin
expect "policy rm" 0 'removed'
vc_run policy rm fromstdin
expect "policy rm again" 3
vc_run policy frobnicate
expect "unknown policy subcommand" 2 '' 'unknown command'

# ---- tokens ----
printf 'app-secret' | vc set app.db >/dev/null
printf 'root-secret' | vc set app.root >/dev/null
printf 'other-secret' | vc set other >/dev/null

vc_run token create --policy app --ttl 1h
expect "token create prints the token" 0 '^vd_'
TOKEN=$OUT
matches "token details go to stderr" "$ERR" 'accessor: .*expires: '
VAULTD_TOKEN=$TOKEN vc_run get app.db
expect "a token's policy allows read" 0
vt_eq "read through a token" "app-secret" "$OUT"
VAULTD_TOKEN=$TOKEN vc_run get other
expect "a token's policy denies other names" 4 '' 'policies do not allow'
VAULTD_TOKEN=$TOKEN vc_run get app.root
expect "a deny rule wins" 4
VAULTD_TOKEN=$TOKEN vc_run list
expect "list through a token shows only allowed names" 0 'app\.db'
not_in "list through a token hides other names" "other" "$OUT"
VAULTD_TOKEN=$TOKEN vc_run token list
expect "a non-admin token cannot list tokens" 4
VAULTD_TOKEN=$TOKEN vc_run policy list
expect "a non-admin token cannot list policies" 4 '' 'policies do not allow'
VAULTD_TOKEN=$TOKEN vc_run audit tail
expect "a non-admin token cannot read the audit log" 4
VAULTD_TOKEN=$TOKEN vc_run seal
expect "a non-admin token cannot seal" 4
vc_run status
expect "still unsealed after the refused seal" 0 'sealed: +no'
VAULTD_TOKEN=$TOKEN vc_in x set app.new
expect "a read-only token cannot write" 4

vc_run token create --policy app --uses 1 --output-file "$VT_DIR/one.token"
expect "token create --output-file" 0 'accessor: '
not_in "the token is not on stdout with --output-file" "vd_" "$OUT"
vt_eq "token file is 0600" "600" "$(stat -c %a "$VT_DIR/one.token")"
vt_check "token file holds a token" grep -q '^vd_' "$VT_DIR/one.token"
vt_check "no temporary file is left" bash -c "! ls '$VT_DIR'/one.token.tmp-* 2>/dev/null"
vc_run --token-file "$VT_DIR/one.token" get app.db
expect "--token-file before the command" 0
vc_run get app.db --token-file "$VT_DIR/one.token"
expect "a one-use token is used up" 4 '' 'VAULTD_TOKEN|token'
VAULTD_TOKEN=vd_not_a_real_token vc_run get app.db
expect "a malformed token" 4
vc_run get app.db --token-file "$VT_DIR/nothing"
expect "a missing token file is a usage error" 2 '' 'nothing'

vc_run token list
expect "token list" 0 'ACCESSOR +POLICIES'
vt_check "token list shows the one-use token" grep -Eq ' app .* 0 ' "$VT_DIR/out"
not_in "token list never shows tokens" "$TOKEN" "$OUT"
vc_run token list --json
ACC=$(json_field "$OUT" "[t['accessor'] for t in d['tokens'] if t.get('uses_left', -1) != 0][0]")
vc_run token revoke "$ACC"
expect "token revoke" 0 'revoked'
VAULTD_TOKEN=$TOKEN vc_run get app.db
expect "a revoked token is refused" 4
vc_run token revoke no-such-accessor
expect "revoke of an unknown accessor" 3
vc_run token create
expect "token create needs a policy" 2 '' '--policy'
vc_run token create --policy app --ttl 5x
expect "token create with a bad ttl" 2 '' 'duration'
vc_run token create --policy app --uses 0
expect "token create --uses 0" 2
vc_run token create --policy a,b --json
expect "token create --json" 0
vt_eq "comma-separated policies" "['a', 'b']" "$(json_field "$OUT" "d['policies']")"

vt_done
