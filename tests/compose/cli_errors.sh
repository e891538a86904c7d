#!/usr/bin/env bash
# What goes wrong gets a clear message, its own exit code, and nothing
# written: malformed YAML, a non-mapping root, an unknown image without an
# entrypoint, bad usage, a value missing from vaultd, a conflicting value
# already in vaultd, vaultd unreachable, `compose secrets` of a missing name;
# and without --import, a rewrite in place that would lose the only copy of
# a value, or would hand the containers another value than the file had.
set -u
. "$(dirname "$0")/lib_compose.sh"
vt_setup
vt_start

P=$VT_DIR/proj
enter_fixture stack "$P"

# expect CODE "PATTERN" DESCRIPTION ARGS...: exit CODE, stderr matches, nothing changed in $P.
expect() {
	local code=$1 pattern=$2 what=$3
	shift 3
	local before err rc
	before=$(snapshot "$P")
	err=$("$V" "$@" 2>&1 >/dev/null)
	rc=$?
	vt_eq "$what: exit $code" "$code" "$rc"
	if grep -qE -- "$pattern" <<<"$err"; then echo "ok - $what: says \"$pattern\""; else
		echo "FAIL - $what: message [$err] lacks [$pattern]"; VT_FAILS=$((VT_FAILS + 1)); fi
	vt_eq "$what: nothing written" "$before" "$(snapshot "$P")"
}

printf 'services:\n  db:\n    image: postgres\n    environment: [POSTGRES_PASSWORD=x\n' >bad.yml
expect 1 "bad.yml: line [0-9]+: column [0-9]+: malformed YAML.*nothing written" "malformed YAML" \
	compose migrate -f bad.yml -o bad.yml
printf -- '- services\n- db\n' >list.yml
expect 1 "list.yml: the top level is a list, not a mapping" "non-mapping root" \
	compose migrate -f list.yml -o list.yml
printf 'services:\n  shop:\n    image: example/shop:2\n    environment: [API_KEY=k-123]\n' >shop.yml
expect 1 "service shop: cannot wrap its entrypoint.*--entrypoint shop=CMD" "unknown image without entrypoint" \
	compose migrate -f shop.yml -o shop.yml
printf 'services:\n  db: {image: postgres, environment: [POSTGRES_PASSWORD=a]}\n  db2: {image: postgres, environment: [POSTGRES_PASSWORD=b]}\n' >two.yml
expect 1 "both be secret postgres_password" "names that collide" \
	compose migrate -f two.yml -o two.yml --name-template '{var}'
printf 'services: {}\nservices: {}\n' >dup.yml
expect 1 "line 2: duplicate key \"services\"" "duplicate keys" compose migrate -f dup.yml -o dup.yml

# Usage errors: exit 2.
expect 2 "-f FILE is required" "missing -f" compose migrate -o x.yml
expect 2 "--mode is inject or files" "unknown mode" compose migrate -f docker-compose.yml --mode swarm
expect 2 "same directory as -f" "-o elsewhere" compose migrate -f docker-compose.yml -o "$VT_DIR/elsewhere.yml"
expect 2 "--var takes SERVICE.VAR" "malformed --var" compose migrate -f docker-compose.yml --var nodot
expect 2 "unknown command" "unknown subcommand" compose frobnicate
# -o must not be a file the migration reads (its YAML would replace the only
# copy of an env_file's values), nor a symlink (the rename would replace the
# link and leave the original, plaintext and all).
expect 2 "-o worker.env is a file this migration reads" "-o names an env_file" \
	compose migrate -f docker-compose.yml -o worker.env --entrypoint app=/bin/app
ln -s docker-compose.yml link.yml
expect 2 "-o link.yml is a symlink" "-o is a symlink" \
	compose migrate -f docker-compose.yml -o link.yml --entrypoint app=/bin/app
rm -f link.yml
# A FIFO where a file is read (an env_file here; Dockerfiles and -f go the
# same way): refused at once, where opening it used to wait for a writer.
mkfifo fifo.env
printf 'services:\n  db:\n    image: postgres\n    env_file: fifo.env\n' >fifo.yml
err=$(timeout 10 "$V" compose migrate -f fifo.yml --dry-run 2>&1 >/dev/null)
vt_eq "an env_file that is a FIFO: exit 1, no hang" 1 "$?"
vt_check "... named in the message" grep -q "fifo.env" <<<"$err"
rm -f fifo.env fifo.yml

# files mode exports from vaultd: a value it does not hold stops everything.
expect 3 "secret db_postgres_password is not in vaultd.*--import" "files mode, value not in vaultd" \
	compose migrate -f docker-compose.yml -o docker-compose.yml --mode files --entrypoint app=/bin/app

# Without --import a rewrite in place removes the values from the files:
# every secret must be in vaultd first, or nothing is written.
expect 3 "would remove the only copy of its value.*--import" "in place, a value not in vaultd" \
	compose migrate -f docker-compose.yml -o docker-compose.yml --entrypoint app=/bin/app
expect 5 "cannot reach vaultd.*|nothing written" "in place, vaultd unreachable" \
	--socket "$VT_DIR/nothing.sock" compose migrate -f docker-compose.yml -o docker-compose.yml --entrypoint app=/bin/app
# A copy keeps the original: that is allowed, with a reminder (and a note
# when vaultd cannot be asked).
out=$("$V" --socket "$VT_DIR/nothing.sock" compose migrate -f docker-compose.yml -o copy.yml \
	--entrypoint app=/bin/app 2>&1)
vt_eq "a copy without vaultd: written" 0 "$?"
vt_check "a copy without vaultd: the note says so" grep -q "could not check that the secrets are in vaultd" <<<"$out"
vt_check "a copy without vaultd: the original is untouched" grep -q "POSTGRES_PASSWORD" docker-compose.yml
rm -f copy.yml
# --inject-bin gives VAULTD_INJECT another default; a path that would break
# the volume spec is refused.
"$V" compose migrate -f docker-compose.yml -o copy.yml --entrypoint app=/bin/app \
	--inject-bin /opt/inject >/dev/null 2>&1
vt_check "--inject-bin: \${VAULTD_INJECT:-/opt/inject} in the volume" \
	grep -qF '${VAULTD_INJECT:-/opt/inject}:/inject:ro' copy.yml
rm -f copy.yml
expect 2 "--inject-bin path /opt/a:b cannot be used" "--inject-bin with a colon" \
	compose migrate -f docker-compose.yml -o copy.yml --entrypoint app=/bin/app --inject-bin /opt/a:b

# --import refuses to overwrite another value, before writing anything anywhere.
printf 'not-root' | "$V" set db_postgres_password >/dev/null || vt_die "cannot set up the conflict"
expect 6 "secret db_postgres_password already exists in vaultd with another value" "import conflict" \
	compose migrate -f docker-compose.yml -o docker-compose.yml --import --entrypoint app=/bin/app
vt_eq "the conflicting import stored nothing else" "" \
	"$("$V" list --json | python3 -c 'import json,sys; print(" ".join(s["name"] for s in json.load(sys.stdin)["secrets"] if s["name"] != "db_postgres_password"))')"
value_is db_postgres_password "not-root"
# Without --import the containers would get vaultd's other value: refused too.
expect 6 "already exists in vaultd with another value: the containers would get it" \
	"another value, no --import" compose migrate -f docker-compose.yml -o copy.yml --entrypoint app=/bin/app
expect 6 "already exists in vaultd with another value" "another value, files mode" \
	compose migrate -f docker-compose.yml -o copy.yml --mode files --entrypoint app=/bin/app

# vaultd unreachable: exit 5.
expect 5 "cannot reach vaultd" "vaultd unreachable" \
	--socket "$VT_DIR/nothing.sock" compose migrate -f docker-compose.yml -o docker-compose.yml --import --entrypoint app=/bin/app

# compose secrets of a name vaultd does not have: exit 3, no directory made.
expect 3 "not_found|not found|no such" "compose secrets of a missing name" \
	compose secrets db_postgres_password no_such_secret --dir ./exported
vt_check "compose secrets made no directory" test ! -e exported
expect 2 "invalid secret name" "compose secrets of an invalid name" compose secrets ../x
# The values' directory is their own: not the project directory, not /, and
# not an existing directory others may open (its mode is left alone).
for d in . ./ '' /; do
	expect 2 "must name a directory of its own" "--secrets-dir '$d'" \
		compose migrate -f docker-compose.yml -o copy.yml --mode files --secrets-dir "$d" \
		--entrypoint app=/bin/app
done
expect 2 "must name a directory of its own" "compose secrets --dir ." \
	compose secrets db_postgres_password --dir .
mkdir -m 0755 shared
expect 1 "cannot use .*/shared as the secrets directory: group or others can open it" \
	"compose secrets into an existing 0755 directory" compose secrets db_postgres_password --dir shared
vt_eq "... whose mode stays 755" 755 "$(stat -c %a shared)"
rmdir shared
# Other spellings of the project directory are the directory itself.
mode=$(stat -c %a .)
chmod 0700 .
mkdir sub
expect 1 "it is the project directory or /" "compose secrets --dir sub/.. (a 0700 project)" \
	compose secrets db_postgres_password --dir sub/..
rmdir sub
chmod "$mode" .

# The compose file is written before the env_files: when it cannot be (here
# a file size limit of 512 bytes: the YAML is larger, worker.env smaller),
# worker.env, rewritten in place otherwise, is untouched.
enter_fixture stack "$VT_DIR/proj-fsize"
P=$VT_DIR/proj-fsize
before=$(snapshot "$P")
err=$(bash -c 'trap "" XFSZ; ulimit -f 1; exec "$@"' _ "$V" compose migrate -f docker-compose.yml \
	-o docker-compose.yml --import --name-template 'fsize_{service}_{var}' \
	--entrypoint app=/bin/app 2>&1 >/dev/null)
vt_eq "compose file over the size limit: exit 1" 1 "$?"
vt_check "... says so, and that the env_files are unchanged" \
	grep -q "cannot write docker-compose.yml: File too large; the env_files are unchanged" <<<"$err"
vt_eq "... and nothing in the project changed" "$before" "$(snapshot "$P")"

vt_done
