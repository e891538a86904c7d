#!/usr/bin/env bash
# `vaultctl compose migrate --mode files --import` on the docs' stack: values
# exported to ./secrets (0700/0600, .gitignore'd), compose secrets with
# VAR_FILE for images that read it, inject for the others; docker-compose
# config passes, every service secret is defined, no value outside
# ./secrets, a second run is a no-op. Then the same with -o next to the
# input, where the env_file is copied to .migrated, and `compose secrets`.
set -u
. "$(dirname "$0")/lib_compose.sh"
need_compose
vt_setup
vt_start

P=$VT_DIR/stack
enter_fixture stack "$P"

out=$("$V" compose migrate -f docker-compose.yml -o docker-compose.yml --mode files --import \
	--entrypoint app=/usr/local/bin/shop 2>&1)
vt_eq "migrate --mode files exits 0" 0 "$?"
echo "$out"
compose_ok "$P/docker-compose.yml"
refs_ok "$P/docker-compose.yml"
no_plaintext "$P" "^secrets/" "${STACK_VALUES[@]}"

vt_eq "secrets/ is 0700" 700 "$(stat -c %a secrets)"
vt_eq "secrets/db_postgres_password is 0600" 600 "$(stat -c %a secrets/db_postgres_password)"
vt_eq "the exported file holds exactly the value" "root" "$(cat secrets/db_postgres_password)"
vt_eq "only the docker secret is exported" "db_postgres_password" "$(ls secrets)"
vt_check "secrets/ is added to the project's .gitignore" grep -qx "/secrets/" .gitignore
vt_check ".gitignore keeps its lines" grep -qx ".env" .gitignore
cfg=$(docker-compose -f docker-compose.yml config 2>/dev/null)
vt_check "db gets a compose secret" grep -q "source: db_postgres_password" <<<"$cfg"
vt_check "POSTGRES_PASSWORD_FILE points at it" grep -q "POSTGRES_PASSWORD_FILE: /run/secrets/db_postgres_password" <<<"$cfg"
vt_check "the top-level secret is the exported file" grep -q "file: $P/secrets/db_postgres_password" <<<"$cfg"
vt_check "app (no _FILE support) still goes through inject" grep -q "INJECT_ENV: DATABASE_URL=app_database_url" <<<"$cfg"
value_is db_postgres_password "root"
value_is_curl app_database_url "postgres://app:root@db:5432/app"

before=$(snapshot "$P")
"$V" compose migrate -f docker-compose.yml -o docker-compose.yml --mode files --import \
	--entrypoint app=/usr/local/bin/shop >/dev/null 2>&1
vt_eq "second migrate exits 0" 0 "$?"
vt_eq "second migrate changes no file (secrets and .gitignore included)" "$before" "$(snapshot "$P")"

# -o next to the input: the original stays, worker.env is copied without its secrets.
Q=$VT_DIR/stack2
enter_fixture stack "$Q"
"$V" compose migrate -f docker-compose.yml -o compose.vault.yml --mode files \
	--entrypoint app=/usr/local/bin/shop >/dev/null 2>&1
vt_eq "migrate without --import exports what vaultd already holds" 0 "$?"
compose_ok "$Q/compose.vault.yml"
refs_ok "$Q/compose.vault.yml"
no_plaintext "$Q" "^(secrets/|docker-compose\.yml$|worker\.env$)" "${STACK_VALUES[@]}"
vt_check "the output uses worker.env.migrated" grep -q "env_file: worker.env.migrated" compose.vault.yml
vt_check "worker.env is untouched" cmp -s worker.env "$FIXTURES/stack/worker.env"
vt_check "docker-compose.yml is untouched" cmp -s docker-compose.yml "$FIXTURES/stack/docker-compose.yml"

# compose secrets: files and the block for chosen names only.
R=$VT_DIR/only
mkdir -p "$R" && cd "$R" || vt_die "no dir"
printf 'node_modules/\n' >.gitignore
block=$("$V" compose secrets db_postgres_password app_stripe_api_key --dir ./secrets 2>/dev/null)
vt_eq "compose secrets exits 0" 0 "$?"
vt_eq "it prints the secrets: block" "secrets:
  db_postgres_password:
    file: ./secrets/db_postgres_password
  app_stripe_api_key:
    file: ./secrets/app_stripe_api_key" "$block"
vt_eq "it writes the value" "sk_test_51HxQ2vKZ8fPq3wR7" "$(cat secrets/app_stripe_api_key)"
vt_eq "files are 0600" 600 "$(stat -c %a secrets/app_stripe_api_key)"
vt_check "and ignores the directory in git" grep -qx "/secrets/" .gitignore

vt_done
