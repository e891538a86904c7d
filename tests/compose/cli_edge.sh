#!/usr/bin/env bash
# The edge-case fixture through the real binary, in both modes: anchors and
# merge keys, one value shared by three services (one secret), list and map
# environments, an env_file shared by two services, a ${VAR:-default}, and a
# service already on _FILE. Each output passes docker-compose config, defines
# every secret it uses, holds no original value, and is a fixed point.
set -u
. "$(dirname "$0")/lib_compose.sh"
need_compose
vt_setup
vt_start

VALUES=("Sh4red-Pa55" "tok-c0mm0n-42" "d3fault-s3ss10n")

for mode in inject files; do
	P=$VT_DIR/edge-$mode
	enter_fixture edge "$P"
	out=$("$V" compose migrate -f docker-compose.yml -o docker-compose.yml --mode "$mode" --import 2>&1)
	vt_eq "$mode: migrate exits 0" 0 "$?"
	echo "$out"
	compose_ok "$P/docker-compose.yml"
	refs_ok "$P/docker-compose.yml"
	no_plaintext "$P" "^(secrets/|legacy_pg\.txt$)" "${VALUES[@]}"

	vt_eq "$mode: three distinct values, three secrets" 3 \
		"$(grep -oE '(db_postgres_password|api_session_secret|api_api_token) ' <<<"$out" | sort -u | wc -l)"
	vt_check "$mode: the shared value is one secret for db, db-replica and mysql" \
		grep -q "mysql .*MARIADB_ROOT_PASSWORD .*db_postgres_password" <<<"$out"
	vt_check "$mode: the service already on _FILE is skipped" \
		grep -q "legacy .*POSTGRES_PASSWORD_FILE .*skipped: already a _FILE variable" <<<"$out"
	vt_check "$mode: the x- block that held a value is gone" grep -q "removed the top-level x-db-env" <<<"$out"
	vt_check "$mode: the other x- block stays" grep -q "^x-common:" docker-compose.yml
	vt_check "$mode: the shared env_file keeps its other lines" grep -qx "LOG_LEVEL=debug" common.env
	cfg=$(docker-compose -f docker-compose.yml config 2>/dev/null)
	vt_check "$mode: the merged replica keeps its own POSTGRES_DB" grep -q "POSTGRES_DB: replica" <<<"$cfg"
	vt_check "$mode: the pre-existing secret is kept" grep -q "file: $P/legacy_pg.txt" <<<"$cfg"
	vt_check "$mode: jobs gets API_TOKEN from the env_file's secret" grep -q "INJECT_ENV: API_TOKEN=api_api_token" <<<"$cfg"
	if [ "$mode" = files ]; then
		vt_eq "files: one exported file for the shared value" "db_postgres_password" "$(ls secrets)"
		vt_check "files: the second import finds the values already there" \
			grep -q "imported into vaultd: 0 new secret(s), 3 already there" <<<"$out"
	fi

	before=$(snapshot "$P")
	"$V" compose migrate -f docker-compose.yml -o docker-compose.yml --mode "$mode" --import >/dev/null 2>&1
	vt_eq "$mode: second migrate exits 0" 0 "$?"
	vt_eq "$mode: second migrate changes no file" "$before" "$(snapshot "$P")"
done

value_is db_postgres_password "Sh4red-Pa55"
value_is api_session_secret "d3fault-s3ss10n"
value_is_curl api_api_token "tok-c0mm0n-42"

# One env_file spelt two ways ("shared.env" and "./shared.env") is one file:
# migrate decides for it once, as if it were spelt alike everywhere.
for d in alike twoways; do
	mkdir -p "$VT_DIR/$d"
	printf 'CUSTOM_DSN=dsn-value-9\nPOSTGRES_PASSWORD=p9pw\n' >"$VT_DIR/$d/shared.env"
done
printf 'services:\n  a: {image: postgres, env_file: shared.env}\n  b: {image: postgres, env_file: shared.env}\n' \
	>"$VT_DIR/alike/dc.yml"
printf 'services:\n  a: {image: postgres, env_file: shared.env}\n  b: {image: postgres, env_file: ./shared.env}\n' \
	>"$VT_DIR/twoways/dc.yml"
for d in alike twoways; do
	(cd "$VT_DIR/$d" && "$V" compose migrate -f dc.yml -o out.yml --var b.CUSTOM_DSN >"$VT_DIR/$d.log" 2>&1)
	vt_eq "env_file spelt $d: migrate exits 0" 0 "$?"
done
vt_eq "two spellings of one env_file: the same env_file written" \
	"$(cat "$VT_DIR/alike/shared.env.migrated")" "$(cat "$VT_DIR/twoways/shared.env.migrated")"
vt_eq "... and the same compose file" "$(cat "$VT_DIR/alike/out.yml")" \
	"$(sed 's#\./shared\.env#shared.env#g' "$VT_DIR/twoways/out.yml")"

# A symlink and a hard link to one env_file. In place, the file itself is
# rewritten, every name of it, and the symlink stays a symlink; as a copy,
# every name points at the one copy written.
links() { # DIR: shared.env, link.env -> shared.env, hard.env (a hard link)
	mkdir -p "$1"
	printf 'POSTGRES_PASSWORD=l1nk-pw-77\nOTHER=1\n' >"$1/shared.env"
	ln -sfn shared.env "$1/link.env"
	ln -f "$1/shared.env" "$1/hard.env"
	printf 'services:\n  a: {image: postgres, env_file: link.env}\n  b: {image: postgres, env_file: shared.env}\n  c: {image: postgres, env_file: hard.env}\n' \
		>"$1/dc.yml"
}
links "$VT_DIR/lk-in"
(cd "$VT_DIR/lk-in" && "$V" compose migrate -f dc.yml -o dc.yml --import \
	--name-template 'lk_{service}_{var}' >/dev/null 2>&1)
vt_eq "links, in place: exit 0" 0 "$?"
vt_check "... link.env is still a symlink" test -L "$VT_DIR/lk-in/link.env"
vt_eq "... no name of the file holds the value" "" \
	"$(grep -l l1nk-pw-77 "$VT_DIR/lk-in/shared.env" "$VT_DIR/lk-in/hard.env" 2>/dev/null)"
vt_check "... and the other lines stay" grep -qx OTHER=1 "$VT_DIR/lk-in/shared.env"
links "$VT_DIR/lk-copy"
(cd "$VT_DIR/lk-copy" && "$V" compose migrate -f dc.yml -o out.yml >/dev/null 2>&1)
vt_eq "links, as a copy: exit 0" 0 "$?"
vt_eq "... every service points at the one copy" "3" \
	"$(grep -o 'env_file: link.env.migrated' "$VT_DIR/lk-copy/out.yml" | wc -l)"
vt_check "... which was written" test -f "$VT_DIR/lk-copy/link.env.migrated"

# Copies first, then the compose file: a copy that cannot be written leaves
# no compose file pointing at it.
links "$VT_DIR/lk-fail"
mkdir "$VT_DIR/lk-fail/link.env.migrated"
(cd "$VT_DIR/lk-fail" && "$V" compose migrate -f dc.yml -o out.yml >/dev/null 2>&1)
vt_eq "a copy in the way: exit 1" 1 "$?"
vt_check "... and no compose file was written" test ! -e "$VT_DIR/lk-fail/out.yml"

vt_done
