#!/usr/bin/env bash
# Values the migration must leave where they are, through the real binary:
# env_file lines that something still reads as ${VAR} (another line, or the
# compose file through the project's .env), unquoted values YAML reads as
# numbers, and variables whose VAR_FILE the service already sets. Each stays
# as written, the summary says why, docker-compose config gives every
# container the same values before and after, and a second run changes
# nothing.
set -u
. "$(dirname "$0")/lib_compose.sh"
need_compose
vt_setup
# shellcheck disable=SC2119 # no flags for vaultd
vt_start

# config_env SERVICE VAR: the value docker-compose config gives SERVICE's VAR
# in the project of the working directory ("<unset>" when it has none).
config_env() {
	docker-compose -f docker-compose.yml config 2>/dev/null | python3 -c '
import sys, yaml
env = (yaml.safe_load(sys.stdin)["services"][sys.argv[1]].get("environment") or {})
print(env.get(sys.argv[2], "<unset>"))' "$1" "$2"
}

# new_project NAME: an empty project directory $VT_DIR/NAME, made the
# working directory and $P.
new_project() {
	P=$VT_DIR/$1
	mkdir -p "$P" || vt_die "cannot make $P"
	cd "$P" || vt_die "cannot enter $P"
}

# not_in TEXT WORD: WORD is nowhere in TEXT.
not_in() {
	! grep -qF -- "$2" <<<"$1"
}

# row_says OUTPUT SERVICE VAR TEXT: the summary row for SERVICE's VAR holds TEXT.
row_says() {
	grep -E "^$2 +$3( \([^)]*\))? " <<<"$1" | grep -qF -- "$4"
}

# migrate_twice NAME: migrates the project in place (into $out; secrets are
# named NAME_{service}_{var}, apart from the other projects' in the one
# vaultd), checks it exits 0, then that a second run writes nothing.
migrate_twice() {
	local m=(compose migrate -f docker-compose.yml -o docker-compose.yml --import
		--name-template "${1}_{service}_{var}")
	out=$("$V" "${m[@]}" 2>&1)
	vt_eq "$1: migrate exits 0" 0 "$?"
	echo "$out"
	compose_ok "$PWD/docker-compose.yml"
	local before
	before=$(snapshot "$PWD")
	"$V" "${m[@]}" >/dev/null 2>&1
	vt_eq "$1: second migrate exits 0" 0 "$?"
	vt_eq "$1: second migrate changes no file" "$before" "$(snapshot "$PWD")"
}

# shellcheck disable=SC2016 # the summary's words, ${...} included
REFERENCED='skipped: referenced as ${...} elsewhere: migrate by hand'
NOT_TEXT='skipped: unquoted value YAML reads as a number or boolean: quote it and run again'
ALREADY_FILE='skipped: already a _FILE variable'

# ---- 1. env_file lines that something still reads ----
new_project referenced
cat >docker-compose.yml <<'EOF'
services:
  db:
    image: postgres:16
    env_file: .env
  app:
    image: python:3.12
    env_file: app.env
    environment:
      DB_PASS: ${POSTGRES_PASSWORD}
EOF
printf 'POSTGRES_PASSWORD=pgpw-777\n' >.env
# shellcheck disable=SC2016 # ${DB_PASSWORD} is for compose to read
printf 'DB_PASSWORD=s3cr3tpw\nMYSQL_PWD=${DB_PASSWORD}\nAPI_TOKEN=tok-free-123\n' >app.env
vt_eq "referenced: compose reads MYSQL_PWD from DB_PASSWORD before" "s3cr3tpw" "$(config_env app MYSQL_PWD)"
vt_eq "referenced: compose reads DB_PASS from .env before" "pgpw-777" "$(config_env app DB_PASS)"
migrate_twice referenced
vt_check "referenced: DB_PASSWORD, read by MYSQL_PWD, is skipped" \
	row_says "$out" app DB_PASSWORD "$REFERENCED"
vt_check "referenced: POSTGRES_PASSWORD, read by the compose file through .env, is skipped" \
	row_says "$out" db POSTGRES_PASSWORD "$REFERENCED"
vt_check "referenced: a note names MYSQL_PWD as the reader" \
	grep -q "^note: DB_PASSWORD (app.env) is not migrated: MYSQL_PWD in app.env refers to it" <<<"$out"
vt_check "referenced: a note names the compose file as the reader" \
	grep -q "^note: POSTGRES_PASSWORD (.env) is not migrated: the compose file" <<<"$out"
vt_check "referenced: the unreferenced API_TOKEN still moves" row_says "$out" app API_TOKEN referenced_app_api_token
# shellcheck disable=SC2016
vt_eq "referenced: app.env keeps the referenced line and its reader" \
	"$(printf 'DB_PASSWORD=s3cr3tpw\nMYSQL_PWD=${DB_PASSWORD}')" "$(cat app.env)"
vt_eq "referenced: .env is untouched" "POSTGRES_PASSWORD=pgpw-777" "$(cat .env)"
vt_eq "referenced: compose still reads MYSQL_PWD" "s3cr3tpw" "$(config_env app MYSQL_PWD)"
vt_eq "referenced: compose still reads DB_PASS" "pgpw-777" "$(config_env app DB_PASS)"
vt_eq "referenced: compose still gives db its password" "pgpw-777" "$(config_env db POSTGRES_PASSWORD)"
vt_eq "referenced: API_TOKEN goes through inject" "API_TOKEN=referenced_app_api_token" "$(config_env app INJECT_ENV)"
no_plaintext "$P" "" "tok-free-123"
value_is referenced_app_api_token "tok-free-123"

# ---- 2. unquoted values YAML reads as numbers ----
new_project numbers
cat >docker-compose.yml <<'EOF'
services:
  db:
    image: postgres:16
    environment:
      POSTGRES_PASSWORD: 012345
  app:
    image: python:3.12
    environment:
      API_TOKEN: 0x1F
      QUOTED_TOKEN: '007007'
      PIN_PASSWORD: 12345
  mysql:
    image: mysql:8
    environment:
      - MYSQL_ROOT_PASSWORD=0x2A
EOF
declare -A was
for sv in db:POSTGRES_PASSWORD app:API_TOKEN app:QUOTED_TOKEN app:PIN_PASSWORD mysql:MYSQL_ROOT_PASSWORD; do
	was[$sv]=$(config_env "${sv%%:*}" "${sv#*:}")
done
migrate_twice numbers
vt_check "numbers: unquoted 012345 is skipped" row_says "$out" db POSTGRES_PASSWORD "$NOT_TEXT"
vt_check "numbers: unquoted 0x1F is skipped" row_says "$out" app API_TOKEN "$NOT_TEXT"
vt_check "numbers: both stay in the file as written" \
	grep -qx "      POSTGRES_PASSWORD: 012345" docker-compose.yml
vt_check "numbers: 0x1F stays in the file as written" grep -qx "      API_TOKEN: 0x1F" docker-compose.yml
vt_eq "numbers: compose gives db the same POSTGRES_PASSWORD" "${was[db:POSTGRES_PASSWORD]}" \
	"$(config_env db POSTGRES_PASSWORD)"
vt_eq "numbers: compose gives app the same API_TOKEN" "${was[app:API_TOKEN]}" "$(config_env app API_TOKEN)"
vt_check "numbers: a quoted value moves" row_says "$out" app QUOTED_TOKEN numbers_app_quoted_token
vt_check "numbers: a plain decimal moves" row_says "$out" app PIN_PASSWORD numbers_app_pin_password
vt_check "numbers: a list entry is a string and moves" \
	row_says "$out" mysql MYSQL_ROOT_PASSWORD numbers_mysql_mysql_root_password
# vaultd holds exactly what compose used to pass.
value_is numbers_app_quoted_token "${was[app:QUOTED_TOKEN]}"
value_is numbers_app_pin_password "${was[app:PIN_PASSWORD]}"
value_is numbers_mysql_mysql_root_password "${was[mysql:MYSQL_ROOT_PASSWORD]}"

# ---- 3. a variable whose VAR_FILE the service already sets ----
new_project filevar
cat >docker-compose.yml <<'EOF'
services:
  db:
    image: postgres:16
    environment:
      POSTGRES_PASSWORD: hunter22
      POSTGRES_PASSWORD_FILE: /run/secrets/mine
  mysql:
    image: mysql:8
    env_file: mysql.env
    environment:
      - MYSQL_ROOT_PASSWORD_FILE=/run/secrets/root
  fresh:
    image: postgres:16
    environment:
      POSTGRES_PASSWORD: fresh-pw-42
EOF
printf 'MYSQL_ROOT_PASSWORD=r00t-pw\nMYSQL_DATABASE=shop\n' >mysql.env
migrate_twice filevar
vt_check "filevar: POSTGRES_PASSWORD beside its _FILE is skipped" \
	row_says "$out" db POSTGRES_PASSWORD "$ALREADY_FILE"
vt_check "filevar: an env_file variable beside a _FILE in environment: is skipped" \
	row_says "$out" mysql MYSQL_ROOT_PASSWORD "$ALREADY_FILE"
vt_check "filevar: db's POSTGRES_PASSWORD is not also migrated" \
	not_in "$out" filevar_db_postgres_password
vt_eq "filevar: the user's _FILE path is kept" "/run/secrets/mine" "$(config_env db POSTGRES_PASSWORD_FILE)"
vt_eq "filevar: and so is the variable" "hunter22" "$(config_env db POSTGRES_PASSWORD)"
vt_eq "filevar: mysql.env is untouched" "$(printf 'MYSQL_ROOT_PASSWORD=r00t-pw\nMYSQL_DATABASE=shop')" \
	"$(cat mysql.env)"
vt_eq "filevar: mysql keeps its _FILE path" "/run/secrets/root" "$(config_env mysql MYSQL_ROOT_PASSWORD_FILE)"
vt_eq "filevar: a service without _FILE still moves" "/run/secrets/filevar_fresh_postgres_password" \
	"$(config_env fresh POSTGRES_PASSWORD_FILE)"
value_is filevar_fresh_postgres_password "fresh-pw-42"

vt_done
