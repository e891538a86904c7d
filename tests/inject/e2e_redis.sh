#!/usr/bin/env bash
# A real server through inject: redis-server started from a config rendered
# by --template (requirepass {{ secret "redis_password" }}), then the
# rotation of the server's own password with --watch --previous and an
# --on-change hook that authenticates with the previous password and runs
# CONFIG SET requirepass with the new one, without restarting redis.
# inject runs as an ordinary process here (redis needs a full system), the
# secrets on a tmpfs mounted in a private mount namespace. Root only.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib_e2e.sh"
e2e_private_mounts "$@"

. "$HERE/../support/vaultd.sh"
vt_need_root "redis e2e: tmpfs mount in a private mount namespace"
: "${INJECT_BIN:?set INJECT_BIN}"
for tool in redis-server redis-cli; do
	if ! command -v "$tool" >/dev/null; then
		[ "${CI:-}" = "true" ] && vt_die "$tool missing (scripts/deps.sh --test)"
		echo "SKIP: $tool missing (apt-get install redis-server redis-tools)"
		exit 77
	fi
done

vt_setup
vt_start
e2e_secrets_tmpfs
RSOCK=$VT_DIR/redis.sock
OUT=$VT_DIR/out
ERR=$VT_DIR/err

cat >"$VT_DIR/redis.conf.tmpl" <<EOF2
port 0
unixsocket $RSOCK
unixsocketperm 700
daemonize no
save ""
appendonly no
requirepass {{ secret "redis_password" }}
EOF2

b64() { printf '%s' "$1" | base64 -w0; }
vt_curl PUT /v1/secrets/redis_password -d "{\"value\":\"$(b64 firstpass1)\"}" | tail -1 |
	grep -q 'HTTP 200' || vt_die "cannot set redis_password"

auth() { # password -> redis-cli's answer to AUTH
	redis-cli -s "$RSOCK" AUTH "$1" 2>&1 | head -1
}

wait_redis() { # until redis answers on its socket
	local i
	for i in $(seq 1 200); do
		redis-cli -s "$RSOCK" PING 2>/dev/null | grep -q -e PONG -e NOAUTH && return 0
		sleep 0.05
	done
	vt_die "redis did not come up: $(tail -3 "$ERR")"
}

# ---- 1: requirepass from a rendered config ----
"$INJECT_BIN" --socket "$VT_SOCK" --dir "$S" --template "$VT_DIR/redis.conf.tmpl:redis.conf" \
	-- redis-server "$S/redis.conf" >"$OUT" 2>"$ERR" &
RPID=$!
wait_redis
vt_eq "exec mode: redis-server is inject's own process" "redis-server" \
	"$(cat "/proc/$RPID/comm")"
vt_eq "rendered config: mode 0400" "400" "$(stat -c %a "$S/redis.conf")"
vt_check "rendered config holds the password" grep -qx "requirepass firstpass1" "$S/redis.conf"
vt_check "no template directive left" test "$(grep -c '{{' "$S/redis.conf")" -eq 0
vt_eq "AUTH with the stored password succeeds" "OK" "$(auth firstpass1)"
vt_check "AUTH with another password fails" sh -c "redis-cli -s '$RSOCK' AUTH nope 2>&1 | grep -q -e WRONGPASS -e invalid"
vt_check "without AUTH, commands are refused" sh -c "redis-cli -s '$RSOCK' GET x 2>&1 | grep -q NOAUTH"
kill -TERM "$RPID"
wait "$RPID"

# ---- 2: rotation of the server's own password, no restart ----
HOOK=$VT_DIR/on-change.sh
cat >"$HOOK" <<EOF2
#!/bin/sh
# inject --on-change: authenticate with the previous password, set the new
# one. Passwords travel in the environment and stdin, never in argv.
set -e
echo "changed=\$INJECT_CHANGED" >>"$VT_DIR/hook.log"
REDISCLI_AUTH=\$(cat "$S/redis_password.previous") \\
	redis-cli -s "$RSOCK" --no-auth-warning -x CONFIG SET requirepass <"$S/redis_password" \\
	>>"$VT_DIR/hook.log" 2>&1
EOF2
chmod 0755 "$HOOK"
rm -f "$S"/*
"$INJECT_BIN" --socket "$VT_SOCK" --dir "$S" --watch --previous --secret redis_password \
	--template "$VT_DIR/redis.conf.tmpl:redis.conf" --on-change "$HOOK" \
	-- redis-server "$S/redis.conf" >"$OUT" 2>"$ERR" &
IPID=$!
wait_redis
REDIS=$(cat "/proc/$IPID/task/$IPID/children" | awk '{print $1}')
vt_eq "--watch: redis runs under inject" "redis-server" "$(cat "/proc/$REDIS/comm" 2>/dev/null)"
vt_eq "--previous: no previous version yet, no file" "absent" \
	"$(test -e "$S/redis_password.previous" && echo present || echo absent)"
vt_eq "before the rotation: the first password works" "OK" "$(auth firstpass1)"
RUNID=$(REDISCLI_AUTH=firstpass1 redis-cli -s "$RSOCK" --no-auth-warning INFO server | grep run_id | tr -d '\r')

vt_curl POST /v1/secrets/redis_password/rotate -d "{\"value\":\"$(b64 secondpass2)\"}" |
	tail -1 | grep -q 'HTTP 200' || vt_die "rotate failed"
for i in $(seq 1 100); do
	grep -q '^OK' "$VT_DIR/hook.log" 2>/dev/null && break
	sleep 0.05
done
vt_check "--on-change ran and redis accepted CONFIG SET" grep -q '^OK' "$VT_DIR/hook.log"
vt_check "--on-change was told what changed" grep -q 'changed=redis_password' "$VT_DIR/hook.log"
vt_eq "--previous: the old value kept as .previous" "firstpass1" "$(cat "$S/redis_password.previous")"
vt_eq "the new value in the file" "secondpass2" "$(cat "$S/redis_password")"
vt_check "the rendered config follows the rotation" grep -qx "requirepass secondpass2" "$S/redis.conf"
vt_eq "after the rotation: the new password works" "OK" "$(auth secondpass2)"
vt_check "after the rotation: the old one does not" sh -c "redis-cli -s '$RSOCK' AUTH firstpass1 2>&1 | grep -q -e WRONGPASS -e invalid"
vt_eq "redis-server was never restarted (same pid)" "redis-server" \
	"$(cat "/proc/$REDIS/comm" 2>/dev/null)"
vt_eq "redis-server was never restarted (same run_id)" "$RUNID" \
	"$(REDISCLI_AUTH=secondpass2 redis-cli -s "$RSOCK" --no-auth-warning INFO server | grep run_id | tr -d '\r')"
vt_eq "the hook ran once" 1 "$(grep -c '^changed=' "$VT_DIR/hook.log")"

kill -TERM "$IPID"
wait "$IPID"
vt_eq "SIGTERM forwarded: redis shut down cleanly, inject exits 0" 0 "$?"
vt_eq "--watch: files removed at exit" "" "$(ls -A "$S")"
vt_done
