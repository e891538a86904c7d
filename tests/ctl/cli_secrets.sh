#!/usr/bin/env bash
# vaultctl set/get/list/history/rotate/rollback/rm/undelete against a real
# vaultd: happy and failure paths, exit codes, exact bytes, rotation stages.
set -u
. "${VT_SUPPORT:-$(dirname "$0")/../support}/vaultd.sh"
. "$(dirname "$0")/lib_cli.sh"
vt_setup
vt_start

# ---- set / get ----
vc_in 'hunter2' set db.password --description "main db" --label team=core --label env=prod
expect "set creates version 1" 0 '^db\.password: version 1$'
vc_run get db.password
expect "get prints the value" 0
vt_check "get writes the exact bytes, no newline on a pipe" test "$(stat -c %s "$VT_DIR/out")" -eq 7
vt_eq "get value" "hunter2" "$OUT"

printf 'line1\nline2\n\0tail' >"$VT_DIR/bin.val"
vc_run set blob --file "$VT_DIR/bin.val"
expect "set --file reads a file" 0 '^blob: version 1$'
vc_run get blob
vt_check "binary value with NUL and newlines round-trips exactly" cmp -s "$VT_DIR/bin.val" "$VT_DIR/out"

vc_in '' set empty.value
expect "an empty value from stdin is stored" 0 '^empty\.value: version 1$'
vc_run get empty.value
vt_check "empty value reads back empty" test ! -s "$VT_DIR/out"

vc_run get --json db.password
expect "get --json" 0 '"value": ?"aHVudGVyMg=="'
vt_eq "get --json names the version" "1" "$(json_field "$OUT" "d['version']")"

if command -v script >/dev/null; then
	script -qec "$VAULTCTL_BIN get db.password" /dev/null >"$VT_DIR/tty.out" </dev/null
	vt_eq "get adds a newline on a terminal" "hunter2" "$(tr -d '\r' <"$VT_DIR/tty.out")"
	vt_check "the newline is there on a terminal" grep -q $'hunter2\r$' "$VT_DIR/tty.out"
fi

vc_run get no.such.secret
expect "get of an unknown secret" 3 '' 'no.such.secret|not found|no such'
vc_run get '../etc/passwd'
expect "get of a bad name is a usage error" 2 '' 'invalid secret name'
vc_run get db.password --version 9
expect "get of an unknown version" 3
vc_run get db.password --version x
expect "get --version needs a number" 2 '' 'version number'
vc_run get db.password --version 1 --previous
expect "--version and --previous together" 2
vc_run get
expect "get without a name" 2 '' 'missing argument'
vc_run get a b
expect "get with two names" 2 '' 'too many arguments'
vc_run get db.password --bogus
expect "unknown option" 2 '' 'unknown option --bogus'

# ---- check-and-set ----
vc_in 'other' set db.password --cas 5
expect "set --cas with a stale version" 6 '' 'check-and-set|cas'
not_in "a CAS error does not print the value" "other" "$ERR"
vc_in 'new' set db.password --cas 0
expect "set --cas 0 on an existing secret" 6
vc_in 'v2' set db.password --cas 1
expect "set --cas with the current version" 0 '^db\.password: version 2$'
vc_in 'x' set fresh --cas 0
expect "set --cas 0 creates" 0 'version 1'
vc_in 'x' set db.password --cas abc
expect "--cas needs a number" 2
vc_in 'x' set db.password --label novalue
expect "--label needs KEY=VALUE" 2 '' 'KEY=VALUE'

# ---- value size ----
head -c $((512 * 1024 + 1)) /dev/zero | tr '\0' 'a' >"$VT_DIR/big"
vc_run set big --file "$VT_DIR/big"
expect "a value over 512 KiB is refused before sending" 2 '' '512 KiB'
head -c $((512 * 1024)) /dev/zero | tr '\0' 'b' >"$VT_DIR/max"
vc_run set max --file "$VT_DIR/max"
expect "a value of exactly 512 KiB is stored" 0
vc_run get max
vt_check "512 KiB value round-trips" cmp -s "$VT_DIR/max" "$VT_DIR/out"
vc_run set x --file /nonexistent/file
expect "set --file of a missing file" 1 '' 'nonexistent'

# ---- list / history ----
vc_run list
expect "list shows a table" 0 'NAME +CURRENT +PREVIOUS'
vt_check "list has db.password with versions 2 and 1" grep -Eq '^db\.password +2 +1 .*main db' "$VT_DIR/out"
not_in "list never shows a value" "hunter2" "$OUT"
vc_run list --prefix db.
expect "list --prefix" 0 'db\.password'
vt_check "list --prefix filters" test "$(grep -c blob "$VT_DIR/out")" -eq 0
vc_run list --json
expect "list --json" 0
vt_eq "list --json labels" "core" "$(json_field "$OUT" "[s for s in d['secrets'] if s['name']=='db.password'][0]['labels']['team']")"

vc_run history db.password
expect "history" 0 'VERSION +STAGE'
vt_check "history marks current and previous" grep -Eq '^2 +current' "$VT_DIR/out"
vt_check "history marks previous" grep -Eq '^1 +previous' "$VT_DIR/out"
vc_run history db.password --json
vt_eq "history --json has two versions" "2" "$(json_field "$OUT" "len(d['versions'])")"
vc_run history nope
expect "history of an unknown secret" 3

# ---- rotation: 1 -> 2 -> 3, previous, rollback -> 4 ----
vc_in 'value-one' set rot
expect "rot v1" 0 'version 1'
vc_run rotate rot --generate 24
expect "rotate --generate prints the new version" 0 '^rot: version 2 \(previous 1\)$'
vc_run get rot
V2=$OUT
vt_eq "generated value has the asked length" "24" "${#V2}"
matches "generated alnum value" "$V2" '^[A-Za-z0-9]{24}$'
vc_in 'value-three' rotate rot
expect "rotate with a value from stdin" 0 '^rot: version 3 \(previous 2\)$'
not_in "rotate does not print the value" "value-three" "$OUT"
vc_run get rot --previous
vt_eq "get --previous is version 2's value" "$V2" "$OUT"
vc_run get rot
vt_eq "current is version 3" "value-three" "$OUT"
vc_run rollback rot 1
expect "rollback to 1" 0 '^rot: version 4 \(the value of version 1\)$'
vc_run get rot
vt_eq "version 4 carries version 1's value" "value-one" "$OUT"
vc_run get rot --version 4
vt_eq "get --version 4" "value-one" "$OUT"
vc_run get rot --previous
vt_eq "after rollback, previous is version 3" "value-three" "$OUT"
vc_run rotate rot --generate 16 --charset hex --show
expect "rotate --show prints the value" 0 '^rot: version 5 \(previous 4\)'
SHOWN=$(sed -n 2p "$VT_DIR/out")
matches "shown value is 16 hex characters" "$SHOWN" '^[0-9a-f]{16}$'
vc_run get rot
vt_eq "--show printed the stored value" "$SHOWN" "$OUT"
vc_run rotate rot --generate 10 --json
vt_eq "rotate --json" "6" "$(json_field "$OUT" "d['version']")"
vc_run rotate rot --generate 0
expect "rotate --generate 0" 2
vc_run rotate rot --generate 8 --charset emoji
expect "rotate with an unknown charset" 2 '' 'alnum, hex'
vc_run rotate nope --generate 8
expect "rotate of an unknown secret" 3
vc_run rollback rot 99
expect "rollback to an unknown version" 3
vc_run rollback rot x
expect "rollback VERSION must be a number" 2

# ---- rm / undelete / destroy ----
vc_run rm fresh
expect "rm" 0 'deleted'
vc_run get fresh
expect "a deleted secret is not found" 3
vc_run list --deleted
vt_check "list --deleted shows it" grep -q 'fresh (deleted)' "$VT_DIR/out"
vc_run undelete fresh
expect "undelete" 0 'restored'
vc_run get fresh
vt_eq "undeleted value" "x" "$OUT"
vc_run rm fresh --version 1
expect "--version without --destroy" 2
vc_run rm fresh --destroy
expect "rm --destroy" 0 'every version destroyed'
vc_run get fresh
expect "a destroyed secret is gone" 3
vc_run rm nope
expect "rm of an unknown secret" 3
vc_run undelete nope
expect "undelete of an unknown secret" 3

# ---- unreachable and sealed ----
vc_run get db.password --socket "$VT_DIR/none.sock"
expect "unreachable socket" 5 '' "cannot reach vaultd at $VT_DIR/none.sock: is it running\\? \\(set VAULTD_SOCKET"
VAULTD_SOCKET=$VT_DIR/none2.sock vc_run list
expect "VAULTD_SOCKET is used" 5 '' 'none2\.sock'
# What the user typed is echoed on one line, control characters as '?'.
vc_run --token-file "$VT_DIR/no"$'\n\e[31m'"such" list
expect "a token file name with a newline and an escape" 2 '' "cannot read token file .*/no\?\?\[31msuch"
vt_eq "... on one line" 1 "$(printf '%s\n' "$ERR" | wc -l)"

vt_done
