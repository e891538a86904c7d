#!/usr/bin/env bash
# `vaultctl compose migrate --mode inject --import` on the docs' stack,
# rewriting the project in place: the output passes docker-compose config,
# no original value is left anywhere in the project, vaultd holds exactly the
# original values, and a second run changes nothing.
set -u
. "$(dirname "$0")/lib_compose.sh"
need_compose
vt_setup
vt_start

P=$VT_DIR/stack
enter_fixture stack "$P"

# --dry-run: the summary, and nothing written or imported.
before=$(snapshot "$P")
out=$("$V" compose migrate -f docker-compose.yml -o docker-compose.yml --import --dry-run \
	--entrypoint app=/usr/local/bin/shop 2>&1)
vt_eq "dry run exits 0" 0 "$?"
vt_check "dry run prints the summary" grep -q "db .*POSTGRES_PASSWORD .*db_postgres_password" <<<"$out"
vt_eq "dry run writes nothing" "$before" "$(snapshot "$P")"
vt_eq "dry run imports nothing" 0 "$("$V" list --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["secrets"]))')"

out=$("$V" compose migrate -f docker-compose.yml -o docker-compose.yml --import \
	--entrypoint app=/usr/local/bin/shop 2>&1)
rc=$?
vt_eq "migrate exits 0" 0 "$rc"
echo "$out"

compose_ok "$P/docker-compose.yml"
refs_ok "$P/docker-compose.yml"
no_plaintext "$P" "" "${STACK_VALUES[@]}"

# What the summary says and what the file does.
vt_check "summary names db's secret and how it travels" \
	grep -q "db .*POSTGRES_PASSWORD .*db_postgres_password .*inject: /run/secrets/db_postgres_password, POSTGRES_PASSWORD_FILE" <<<"$out"
vt_check "summary lists the skipped empty REDIS_PASSWORD" grep -q "redis .*REDIS_PASSWORD .*skipped: empty value" <<<"$out"
vt_check "summary says what was imported" grep -q "imported into vaultd: 5 new secret(s), 0 already there" <<<"$out"
cfg=$(docker-compose -f docker-compose.yml config 2>/dev/null)
vt_check "db reads POSTGRES_PASSWORD_FILE from inject's tmpfs" \
	grep -q "POSTGRES_PASSWORD_FILE: /run/secrets/db_postgres_password" <<<"$cfg"
vt_check "app gets its variables through inject at exec" \
	grep -q "INJECT_ENV: DATABASE_URL=app_database_url,STRIPE_API_KEY=app_stripe_api_key" <<<"$cfg"
vt_check "entrypoints are wrapped" grep -q -- "- /inject" <<<"$cfg"
vt_check "the socket is mounted read-only" grep -q "$VT_SOCK:/run/vaultd.sock:ro" <<<"$cfg"
vt_check "the tmpfs is on /run/secrets" grep -q "/run/secrets:mode=0755" <<<"$cfg"
vt_check "network_mode: host is kept" grep -q "network_mode: host" <<<"$cfg"
vt_check "the build section is kept" grep -q "context: $P/worker" <<<"$cfg"
vt_check "worker.env lost its secrets but kept the rest" grep -qx "CONCURRENCY=4" worker.env
# worker's Dockerfile says USER 1000: inject runs as 1000, so the tmpfs is
# its, and without a token vaultd would not let it in: the summary says so.
vt_check "worker's tmpfs belongs to its Dockerfile's USER" \
	grep -q "/run/secrets:mode=0755,uid=1000,gid=1000" <<<"$cfg"
vt_check "a note: worker runs as 1000 and needs a token or a container policy" \
	grep -q 'note: service worker runs as user "1000" (its Dockerfile.s USER): .*INJECT_TOKEN_FILE' <<<"$out"
vt_check "no such note for root services" test "$(grep -c 'runs as user' <<<"$out")" -eq 1

# vaultd holds exactly what the file held.
value_is db_postgres_password "root"
value_is app_database_url "postgres://app:root@db:5432/app"
value_is_curl app_stripe_api_key "sk_test_51HxQ2vKZ8fPq3wR7"
value_is worker_job_token "wk-7f3c9a1e5d"
value_is_curl worker_smtp_password "s3nd mail!"

# Twice is a no-op: same bytes, nothing imported again.
before=$(snapshot "$P")
out=$("$V" compose migrate -f docker-compose.yml -o docker-compose.yml --import \
	--entrypoint app=/usr/local/bin/shop 2>&1)
vt_eq "second migrate exits 0" 0 "$?"
vt_eq "second migrate changes no file" "$before" "$(snapshot "$P")"
vt_check "second migrate imports nothing" grep -q "no secret-looking\|imported into vaultd: 0 new" <<<"$out"
vt_eq "vaultd still has version 1 of db_postgres_password" 1 \
	"$("$V" history db_postgres_password --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["versions"]))')"

vt_done
