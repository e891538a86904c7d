#!/usr/bin/env bash
# vaultctl import-env reads a .env file the way docker compose reads an
# env_file: the secrets it writes equal the environment that
# `docker-compose config` shows for a service using that file.
set -u
. "${VT_SUPPORT:-$(dirname "$0")/../support}/vaultd.sh"
. "$(dirname "$0")/lib_cli.sh"
vt_setup
vt_start

export VT_IMPORT_VAR="from the environment"
cat >"$VT_DIR/app.env" <<'EOF'
# a comment line, then a blank one

export DB_PASSWORD='p@ss word # not a comment'
API_KEY="line1\nline2 \"quoted\" \\ back\tslash"
MULTI="first line
second line"
EMPTY=
EMPTY_QUOTED=""
INLINE=value   # trailing comment
HASH=a#b
  INDENTED = spaced out
DUP=first
DUP=second
REF=${DUP}-x
FROM_ENV=${VT_IMPORT_VAR}
DEFAULTED=${NOT_SET_ANYWHERE:-fallback}
DOLLAR=a$b
SINGLE='lit \' \n'
Mixed_Case=yes
BARE
=broken line
EOF
printf 'CRLF=windows\r\nAFTER_CRLF="two\r\nlines"\r\n' >>"$VT_DIR/app.env"

vc_run import-env "$VT_DIR/app.env" --dry-run
expect "import-env --dry-run" 0 'DB_PASSWORD -> db_password: would be written'
vc_run list
vt_check "--dry-run writes nothing" bash -c "! grep -q db_password '$VT_DIR/out'"

vc_run import-env "$VT_DIR/app.env"
expect "import-env" 0 'DB_PASSWORD -> db_password: version 1'
matches "a key without a value is skipped with a warning" "$ERR" 'line 20 has no value.*skipped'
matches "an unparsable line is reported" "$ERR" 'line 21 cannot be parsed'
vt_check "names are lowercased" grep -q 'Mixed_Case -> mixed_case' "$VT_DIR/out"

# What docker compose makes of the same file.
if command -v docker-compose >/dev/null && python3 -c 'import yaml' 2>/dev/null; then
	mkdir -p "$VT_DIR/compose"
	cp "$VT_DIR/app.env" "$VT_DIR/compose/app.env"
	cat >"$VT_DIR/compose/docker-compose.yml" <<'EOF'
version: "3"
services:
  app:
    image: busybox
    env_file: app.env
EOF
	(cd "$VT_DIR/compose" && docker-compose config 2>/dev/null) >"$VT_DIR/compose/config.yml"
	# Values as compose holds them ("$$" is how config prints a literal "$"),
	# hex-encoded so that newlines and spaces survive the shell.
	python3 - "$VT_DIR/compose/config.yml" >"$VT_DIR/compose/expected" <<'PY'
import sys, yaml
env = yaml.safe_load(open(sys.argv[1]))["services"]["app"]["environment"]
for k, v in sorted(env.items()):
    if v is not None:
        print(k.lower(), str(v).replace("$$", "$").encode().hex())
PY
	vt_check "docker-compose config read the file" test -s "$VT_DIR/compose/expected"
	n=0
	same=0
	while read -r name hex; do
		n=$((n + 1))
		got=$("$VAULTCTL_BIN" get "$name" 2>/dev/null | od -An -tx1 | tr -d ' \n')
		if [ "$got" = "$hex" ]; then same=$((same + 1)); else
			echo "  $name: compose [$hex] vaultctl [$got]"
		fi
	done <"$VT_DIR/compose/expected"
	vt_eq "every value equals what docker compose reads" "$n" "$same"
	vt_check "compose saw at least 15 variables" test "$n" -ge 15
	vc_run list --json
	vt_eq "vaultctl imported exactly the variables compose has" "$n" "$(json_field "$OUT" "len(d['secrets'])")"
else
	echo "SKIP: docker-compose or python3-yaml missing: compared against fixed values only"
fi

# Fixed expectations (also checked without docker-compose).
vt_eq "single quotes keep # and spaces" "p@ss word # not a comment" "$(vc get db_password)"
vt_eq "double quotes decode escapes" $'line1\nline2 "quoted" \\ back\tslash' "$(vc get api_key)"
vt_eq "quoted values span lines" $'first line\nsecond line' "$(vc get multi)"
vt_eq "inline comment dropped" "value" "$(vc get inline)"
vt_eq "# inside a value stays" "a#b" "$(vc get hash)"
vt_eq "indented key with spaces around =" "spaced out" "$(vc get indented)"
vt_eq "duplicate keys: the last wins" "second" "$(vc get dup)"
vt_eq "interpolation from the file" "second-x" "$(vc get ref)"
vt_eq "interpolation from the environment" "from the environment" "$(vc get from_env)"
vt_eq "interpolation default" "fallback" "$(vc get defaulted)"
vt_eq "a bare \$ stays" 'a$b' "$(vc get dollar)"
vt_eq "CRLF line endings" "windows" "$(vc get crlf)"
vt_eq "CRLF inside quotes becomes LF" $'two\nlines' "$(vc get after_crlf)"
vc_run get empty
expect "an empty value is imported" 0
vt_check "the empty value is empty" test ! -s "$VT_DIR/out"
vc_run history dup
vt_check "a duplicate key is written once" test "$(grep -c '^[0-9]' "$VT_DIR/out")" -eq 1

# ---- prefix, no-overwrite, failures ----
vc_run import-env "$VT_DIR/app.env" --prefix app.
expect "import-env --prefix" 0 'DB_PASSWORD -> app\.db_password'
vt_eq "prefixed value" "second" "$(vc get app.dup)"
printf 'DUP=changed\nNEWKEY=new\n' >"$VT_DIR/more.env"
vc_run import-env "$VT_DIR/more.env" --no-overwrite
expect "--no-overwrite" 0 'DUP -> dup: exists, skipped'
vt_eq "--no-overwrite is quiet about existing secrets" "" "$ERR"
vt_eq "--no-overwrite kept the old value" "second" "$(vc get dup)"
vt_eq "--no-overwrite wrote the new key" "new" "$(vc get newkey)"
printf 'A=1\nbad/key=2\n' >"$VT_DIR/bad.env"
vc_run import-env "$VT_DIR/bad.env"
expect "a key that cannot be a name stops the import" 2 '' 'key on line 2 does not make a valid secret name'
vc_run get a
expect "nothing was imported from the bad file" 3
printf 'KEY=1\nkey=2\n' >"$VT_DIR/clash.env"
vc_run import-env "$VT_DIR/clash.env"
expect "two keys that lowercase to one name" 2 '' 'keys on lines 1 and 2 both become the same secret name'
# A malformed file (an unquoted multi-line PEM key) makes "keys" of the
# value's lines: the messages name lines, never that text.
printf 'TLS_KEY=-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nq9ZxR2lKs8fH3jPzQwLt/Y7uVbN0aE4c\n-----END PRIVATE KEY-----\n' >"$VT_DIR/pem.env"
vc_run import-env --dry-run "$VT_DIR/pem.env"
vt_check "a value's lines never reach stderr" sh -c '! printf "%s" "$1" | grep -qE "MIIEvQ|q9ZxR2"' _ "$ERR"
matches "... but their line numbers do" "$ERR" 'line 2 has no value|key on line 3'
printf 'A=\xff\n' >"$VT_DIR/latin1.env"
vc_run import-env "$VT_DIR/latin1.env"
expect "a file that is not UTF-8" 1 '' 'not UTF-8'
vc_run import-env "$VT_DIR/nothing.env"
expect "a missing file" 3
printf 'FROM_STDIN=yes\n' | vc import-env - >/dev/null
vt_eq "import-env - reads stdin" "yes" "$(vc get from_stdin)"
vc_run import-env "$VT_DIR/app.env" --socket "$VT_DIR/none.sock"
expect "import-env with vaultd unreachable" 5

vt_done
