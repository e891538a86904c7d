#!/usr/bin/env bash
# inject as PID 1 of a container made by hand: `unshare --pid --mount --fork`,
# a minimal root filesystem holding only the static inject, a static busybox,
# /etc/passwd and /etc/group, a tmpfs on /run/secrets and the socket of a real
# vaultd bind-mounted in. Covers files/modes/owners, _FILE variables, the
# privilege drop (and its failure, 71), unsafe directories, fail-closed
# fetches, exit statuses, signal forwarding, zombie reaping, cleanup in
# --init, --watch rotation (reload signal, --group) and the descriptors the
# command gets.
# Root only: skips outside CI (exit 77), fails inside it.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)

. "$HERE/lib_e2e.sh"
e2e_private_mounts "$@"

. "$HERE/../support/vaultd.sh"
vt_need_root "container e2e: unshare, chroot, tmpfs mounts"
: "${INJECT_BIN:?set INJECT_BIN}"
BUSYBOX=${BUSYBOX:-/bin/busybox}
need() { # a tool the test cannot run without: skip outside CI, fail in CI
	if [ "${CI:-}" = "true" ]; then vt_die "$1"; fi
	echo "SKIP: $1"
	exit 77
}
[ -x "$BUSYBOX" ] || need "no static busybox at $BUSYBOX (apt-get install busybox-static)"
file -L "$INJECT_BIN" | grep -q 'statically linked' ||
	need "$INJECT_BIN is not statically linked (the sanitizer build cannot run in a bare rootfs)"

vt_setup
# The socket lives in its own directory, and the directory is what gets
# bind-mounted: a restarted vaultd's new socket then shows up inside too.
mkdir -p "$VT_DIR/sock"
VT_SOCK=$VT_DIR/sock/vaultd.sock
export VAULTD_SOCKET=$VT_SOCK
vt_start

# ---- the container's root filesystem ----
ROOT=$VT_DIR/rootfs
mkdir -p "$ROOT"/{bin,etc,run/secrets,proc,tmp,data,home/app}
chmod 1777 "$ROOT/tmp"
cp "$INJECT_BIN" "$ROOT/inject"
cp "$BUSYBOX" "$ROOT/bin/busybox"
for a in sh id cat ls stat echo sleep env seq grep wc kill true printf touch test readlink; do
	ln -s busybox "$ROOT/bin/$a"
done
cat >"$ROOT/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
app:x:1000:1000:App:/home/app:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
cat >"$ROOT/etc/group" <<'EOF'
root:x:0:
app:x:1000:
extra:x:2000:app
nogroup:x:65534:
EOF
printf 'not executable\n' >"$ROOT/bin/notexec"
chmod 0644 "$ROOT/bin/notexec"
mount -t tmpfs -o mode=0755,size=4m tmpfs "$ROOT/run/secrets" || vt_die "cannot mount a tmpfs"
mkdir -p "$ROOT/run/vaultd"
mount --bind "$VT_DIR/sock" "$ROOT/run/vaultd" || vt_die "cannot bind-mount the socket"
trap 'umount "$ROOT/run/secrets" "$ROOT/run/vaultd" 2>/dev/null; vt_cleanup' EXIT
SECRETS=$ROOT/run/secrets

put() { # name value
	local b64
	b64=$(printf '%s' "$2" | base64 -w0)
	vt_curl PUT "/v1/secrets/$1" -d "{\"value\":\"$b64\"}" | tail -1 | grep -q 'HTTP 200' ||
		vt_die "cannot set secret $1"
}

rotate() { # name value: vaultctl rotate when it exists, else the API
	if [ -n "${VAULTCTL_BIN:-}" ] && [ -x "$VAULTCTL_BIN" ]; then
		printf '%s' "$2" | "$VAULTCTL_BIN" --socket "$VT_SOCK" rotate "$1" >/dev/null ||
			vt_die "vaultctl rotate $1 failed"
	else
		local b64
		b64=$(printf '%s' "$2" | base64 -w0)
		vt_curl POST "/v1/secrets/$1/rotate" -d "{\"value\":\"$b64\"}" | tail -1 |
			grep -q 'HTTP 200' || vt_die "cannot rotate $1"
	fi
}

# inject ARGS... as PID 1 of a new PID namespace, chrooted into the rootfs.
in_container() {
	unshare --pid --fork --mount-proc="$ROOT/proc" \
		chroot "$ROOT" /inject --socket /run/vaultd/vaultd.sock --wait 2 "$@"
}

# The same in the background: BG_PID is unshare's pid, INJECT_PID (after
# wait_started) inject's pid on this side, CHILD_PID the command's.
bg_container() {
	unshare --pid --fork --mount-proc="$ROOT/proc" \
		chroot "$ROOT" /inject --socket /run/vaultd/vaultd.sock --wait 2 "$@" \
		>"$OUT" 2>"$ERR" &
	BG_PID=$!
}

children() { cat "/proc/$1/task/$1/children" 2>/dev/null; }

wait_started() { # until inject runs and has started the command
	local i
	INJECT_PID="" CHILD_PID=""
	for i in $(seq 1 200); do
		INJECT_PID=$(children "$BG_PID" | awk '{print $1}')
		[ -n "$INJECT_PID" ] && CHILD_PID=$(children "$INJECT_PID" | awk '{print $1}')
		[ -n "$CHILD_PID" ] && return 0
		sleep 0.025
	done
	vt_die "inject did not start its command"
}

clean_secrets() { rm -rf "${SECRETS:?}"/* "${SECRETS:?}"/.[!.]* 2>/dev/null || true; }
OUT=$VT_DIR/out
ERR=$VT_DIR/err

put db hunter2
put api 'k3y with spaces'
put w v1

# ---- files, modes, owners, _FILE variables; inject is PID 1 ----
clean_secrets
in_container --secret db --secret api:api.txt:0440:0:2000 --file-env DB_PASSWORD=db -- \
	sh -c 'echo "pid=$$"; cat /run/secrets/db; echo; cat /run/secrets/api.txt; echo;
	       stat -c "%a %u %g %n" /run/secrets/db /run/secrets/api.txt; echo "file=$DB_PASSWORD_FILE";
	       echo "token=${INJECT_TOKEN-unset}"' >"$OUT" 2>"$ERR"
vt_eq "exec mode: the command runs as PID 1" "pid=1" "$(sed -n 1p "$OUT")"
vt_eq "secret file holds the value" "hunter2" "$(sed -n 2p "$OUT")"
vt_eq "value with spaces kept exactly" "k3y with spaces" "$(sed -n 3p "$OUT")"
vt_eq "default mode 0400, owner = inject's user" "400 0 0 /run/secrets/db" "$(sed -n 4p "$OUT")"
vt_eq "per-secret FILE:MODE:UID:GID" "440 0 2000 /run/secrets/api.txt" "$(sed -n 5p "$OUT")"
vt_eq "--file-env sets VAR_FILE" "file=/run/secrets/db" "$(sed -n 6p "$OUT")"
vt_eq "no token in the command's environment" "token=unset" "$(sed -n 7p "$OUT")"
vt_eq "only the requested files, no temp files" "api.txt db" "$(ls -A "$SECRETS" | tr '\n' ' ' | sed 's/ $//')"

clean_secrets
INJECT_SECRETS=db INJECT_FILE_ENV=PGPASS=db in_container --user app -- \
	sh -c 'stat -c "%a %u %g" /run/secrets/db; cat /run/secrets/db; echo; echo "$PGPASS_FILE"' \
	>"$OUT" 2>"$ERR"
vt_eq "INJECT_SECRETS: file owned by the --user" "400 1000 1000" "$(sed -n 1p "$OUT")"
vt_eq "the dropped user can read its secret" "hunter2" "$(sed -n 2p "$OUT")"
vt_eq "INJECT_FILE_ENV sets VAR_FILE" "/run/secrets/db" "$(sed -n 3p "$OUT")"

clean_secrets
in_container --env API_KEY=api -- sh -c 'echo "$API_KEY"; ls -A /run/secrets | wc -l' \
	>"$OUT" 2>"$ERR"
vt_eq "--env puts the value into the environment" "k3y with spaces" "$(sed -n 1p "$OUT")"
vt_eq "--env writes no file" 0 "$(sed -n 2p "$OUT")"
vt_check "--env warns that env vars leak" grep -q "warning: --env API_KEY=api" "$ERR"

# In --init and --watch mode inject stays PID 1: once the command runs, no
# value is left in its memory (the command's environment has the --env one).
mem_has() { # pid text: is text in any writable mapping of pid?
	local range perms rest start end
	while read -r range perms rest; do
		case $perms in rw*) ;; *) continue ;; esac
		start=$((16#${range%-*})) end=$((16#${range#*-}))
		if dd if="/proc/$1/mem" bs=65536 iflag=skip_bytes,count_bytes skip="$start" \
			count=$((end - start)) 2>/dev/null | grep -qaF "$2"; then
			return 0
		fi
	done <"/proc/$1/maps"
	return 1
}
for mode in --init --watch; do
	clean_secrets
	bg_container "$mode" --env API_KEY=api --secret db -- sleep 30
	wait_started
	vt_check "$mode: the command has the --env value" \
		grep -qaF "k3y with spaces" "/proc/$CHILD_PID/environ"
	mem_has "$INJECT_PID" "k3y with spaces" && leak=env || leak=""
	mem_has "$INJECT_PID" "hunter2" && leak="$leak db"
	vt_eq "$mode: no value in PID 1's memory" "" "$leak"
	kill -TERM "$INJECT_PID"
	wait "$BG_PID"
done
clean_secrets

# ---- privilege drop: ids, groups and HOME as id shows them ----
check_user() { # spec, expected id output, expected HOME
	clean_secrets
	in_container --user "$1" --secret db -- sh -c 'id; echo "HOME=$HOME"' >"$OUT" 2>"$ERR"
	local rc=$?
	vt_eq "--user $1: exit 0" 0 "$rc"
	vt_eq "--user $1: id" "$2" "$(sed -n 1p "$OUT")"
	vt_eq "--user $1: HOME" "HOME=$3" "$(sed -n 2p "$OUT")"
}
check_user 1000 "uid=1000(app) gid=1000(app) groups=1000(app),2000(extra)" /home/app
check_user app "uid=1000(app) gid=1000(app) groups=1000(app),2000(extra)" /home/app
check_user 1000:1000 "uid=1000(app) gid=1000(app) groups=1000(app)" /home/app
check_user nobody "uid=65534(nobody) gid=65534(nogroup) groups=65534(nogroup)" /nonexistent
check_user nobody:nogroup "uid=65534(nobody) gid=65534(nogroup) groups=65534(nogroup)" /nonexistent
check_user 4242 "uid=4242 gid=4242 groups=4242" /

clean_secrets
rm -f "$ROOT/tmp/ran"
in_container --user ghost --secret db -- touch /tmp/ran >"$OUT" 2>"$ERR"
vt_eq "unknown user: exit 67" 67 "$?"
vt_check "unknown user: the command never ran" test ! -e "$ROOT/tmp/ran"
vt_check "unknown user: the message names it" grep -q "ghost" "$ERR"
in_container --user app:ghosts --secret db -- touch /tmp/ran >"$OUT" 2>"$ERR"
vt_eq "unknown group: exit 67" 67 "$?"

# ---- unsafe directories ----
rm -f "$ROOT/tmp/ran"
in_container --dir /data --secret db -- touch /tmp/ran >"$OUT" 2>"$ERR"
vt_eq "non-tmpfs --dir: exit 78" 78 "$?"
vt_check "non-tmpfs --dir: the command never ran" test ! -e "$ROOT/tmp/ran"
vt_check "non-tmpfs --dir: nothing written" test ! -e "$ROOT/data/db"
vt_check "non-tmpfs --dir: the message says why" grep -q "not a tmpfs" "$ERR"
in_container --dir /data --allow-disk --secret db -- cat /data/db >"$OUT" 2>"$ERR"
vt_eq "--allow-disk accepts it" "hunter2" "$(cat "$OUT")"

clean_secrets
cp "$ROOT/etc/passwd" "$VT_DIR/passwd.before"
ln -s /etc/passwd "$SECRETS/db"
in_container --secret db -- touch /tmp/ran >"$OUT" 2>"$ERR"
vt_eq "planted symlink: exit 78" 78 "$?"
vt_check "planted symlink: the command never ran" test ! -e "$ROOT/tmp/ran"
vt_check "planted symlink: its target is untouched" cmp -s "$ROOT/etc/passwd" "$VT_DIR/passwd.before"
vt_check "planted symlink: left as it was" test -L "$SECRETS/db"
vt_check "planted symlink: no temp file left" test "$(ls -A "$SECRETS" | wc -l)" -eq 1

chmod 0777 "$SECRETS"
clean_secrets
in_container --secret db -- touch /tmp/ran >"$OUT" 2>"$ERR"
vt_eq "--dir writable by others: exit 78" 78 "$?"
chmod 0775 "$SECRETS"
chgrp 1000 "$SECRETS"
in_container --user 1000 --secret db -- touch /tmp/ran >"$OUT" 2>"$ERR"
vt_eq "--dir writable by the --user's group: exit 78" 78 "$?"
vt_check "group-writable --dir: the message says why" grep -q "writable by group 1000" "$ERR"
chgrp 0 "$SECRETS"
chmod 0755 "$SECRETS"

# ---- fail closed ----
clean_secrets
in_container --secret db --secret nosuch -- touch /tmp/ran >"$OUT" 2>"$ERR"
vt_eq "missing secret: exit 66" 66 "$?"
vt_check "missing secret: the command never ran" test ! -e "$ROOT/tmp/ran"
vt_check "missing secret: no file written" test ! -e "$SECRETS/db"
# inject makes its temp files while vaultd answers: a refusal removes them.
vt_eq "missing secret: no temp file left" "" "$(ls -A "$SECRETS")"
vt_check "missing secret: the message names it" grep -q "nosuch" "$ERR"
vt_eq "missing secret: one line on stderr" 1 "$(wc -l <"$ERR")"

unshare --pid --fork --mount-proc="$ROOT/proc" chroot "$ROOT" \
	/inject --socket /run/vaultd/nothing.sock --wait 0.3 --secret db -- touch /tmp/ran >"$OUT" 2>"$ERR"
vt_eq "daemon unreachable: exit 69" 69 "$?"
vt_check "daemon unreachable: the command never ran" test ! -e "$ROOT/tmp/ran"

# INJECT_PID (the child of BG_PID) once inject has blocked SIGTERM: from
# then on a stop signal is never dropped, PID 1 or not.
wait_stop_ready() {
	local blk
	INJECT_PID=""
	for _ in $(seq 1 400); do
		INJECT_PID=$(children "$BG_PID" | awk '{print $1}')
		[ -z "$INJECT_PID" ] && INJECT_PID=$BG_PID # not under unshare
		# unshare --fork blocks INT and TERM around its fork: until the
		# exec, its child shows SIGTERM blocked too, and a signal sent then
		# is dropped once it unblocks them (SIG_DFL in a namespace's PID 1).
		# Only inject's own block counts.
		[ "$(cat "/proc/$INJECT_PID/comm" 2>/dev/null)" = inject ] || { sleep 0.025; continue; }
		blk=$(awk '/^SigBlk:/ {print $2}' "/proc/$INJECT_PID/status" 2>/dev/null)
		[ -n "$blk" ] && [ $((0x$blk & 0x4000)) -ne 0 ] && return 0
		sleep 0.025
	done
	vt_die "inject never blocked SIGTERM"
}

# docker stop while inject (PID 1) still waits for vaultd: it ends at once
# with 128+15 and the command never starts, in exec and in --init mode.
for mode in exec init; do
	flags=""
	[ "$mode" = init ] && flags=--init
	unshare --pid --fork --mount-proc="$ROOT/proc" chroot "$ROOT" /inject $flags \
		--socket /run/vaultd/nothing.sock --wait 20 --secret db -- touch /tmp/ran >"$OUT" 2>"$ERR" &
	BG_PID=$!
	wait_stop_ready
	t0=$(date +%s%N)
	kill -TERM "$INJECT_PID"
	wait "$BG_PID"
	rc=$? took=$((($(date +%s%N) - t0) / 1000000))
	vt_eq "$mode mode: SIGTERM while waiting for vaultd: 128+15" 143 "$rc"
	vt_check "$mode mode: ... at once, not after --wait (${took} ms)" test "$took" -lt 2000
	vt_check "$mode mode: ... and the command never ran" test ! -e "$ROOT/tmp/ran"
	vt_check "$mode mode: ... and says so" grep -q "stopped by SIGTERM" "$ERR"
done

# ... also when the request itself hangs (a socket that listens but never
# answers): the stop signal cuts it short instead of its 10 s timeout.
python3 -c 'import socket,sys,time
s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(8); time.sleep(60)' \
	"$VT_DIR/sock/hang.sock" &
HANG_PID=$!
for _ in $(seq 1 100); do [ -S "$VT_DIR/sock/hang.sock" ] && break; sleep 0.02; done
unshare --pid --fork --mount-proc="$ROOT/proc" chroot "$ROOT" /inject \
	--socket /run/vaultd/hang.sock --wait 20 --secret db -- touch /tmp/ran >"$OUT" 2>"$ERR" &
BG_PID=$!
wait_stop_ready
sleep 0.3 # the request is sent and waits for its answer by now
t0=$(date +%s%N)
kill -TERM "$INJECT_PID"
wait "$BG_PID"
rc=$? took=$((($(date +%s%N) - t0) / 1000000))
kill "$HANG_PID" 2>/dev/null
wait "$HANG_PID" 2>/dev/null
rm -f "$VT_DIR/sock/hang.sock"
vt_eq "SIGTERM during a hanging request: 128+15" 143 "$rc"
vt_check "... at once, not after the request's timeout (${took} ms)" test "$took" -lt 2000
vt_check "... and the command never ran" test ! -e "$ROOT/tmp/ran"

# An ignored SIGINT (a background job of a script) stays ignored: inject
# goes on waiting and fails on --wait as before.
bash -c "trap '' INT; exec \"\$0\" --socket \"\$1\" --dir \"\$2\" --wait 1 --secret db -- true" \
	"$INJECT_BIN" "$VT_DIR/sock/nothing.sock" "$SECRETS" >"$OUT" 2>"$ERR" &
BG_PID=$!
wait_stop_ready
kill -INT "$BG_PID"
wait "$BG_PID"
vt_eq "an ignored SIGINT does not stop inject: --wait runs out, 69" 69 "$?"

in_container --secret 'bad/name' -- touch /tmp/ran >"$OUT" 2>"$ERR"
vt_eq "bad secret name: exit 64" 64 "$?"
printf 'x = {{ secret "db" \n' >"$ROOT/tmp/bad.tmpl"
in_container --template /tmp/bad.tmpl:out.conf -- touch /tmp/ran >"$OUT" 2>"$ERR"
vt_eq "malformed template: exit 65" 65 "$?"
printf 'static text\n' >"$ROOT/tmp/static.tmpl"
in_container --template /tmp/static.tmpl:static.conf -- touch /tmp/ran >"$OUT" 2>"$ERR"
vt_eq "only a template with no {{ secret }}: usage error 64 before any request" 64 "$?"
vt_check "no secret requested: explained" grep -q 'the templates name no secret' "$ERR"
vt_check "no secret requested: the command never ran" test ! -e "$ROOT/tmp/ran"
# A template is opened with the command's rights: a symlink its user planted
# towards a root-only file is not read for it, and a FIFO does not hang.
printf 'root only text\n' >"$ROOT/tmp/rootonly"
chmod 0600 "$ROOT/tmp/rootonly"
mkdir -p "$ROOT/app"
chown 1000:1000 "$ROOT/app"
ln -sfn /tmp/rootonly "$ROOT/app/conf.tmpl"
clean_secrets
in_container --user app --secret db --template /app/conf.tmpl:conf -- cat /run/secrets/conf >"$OUT" 2>"$ERR"
vt_eq "a template the --user cannot read: exit 65" 65 "$?"
vt_check "... and its text is in no file and no output" \
	sh -c '! grep -rqs "root only" "$1" "$2"' _ "$SECRETS" "$OUT"
printf 'pw={{ secret "db" }}\n' >"$ROOT/app/ok.tmpl"
chmod 0644 "$ROOT/app/ok.tmpl"
in_container --user app --template /app/ok.tmpl:ok.conf -- cat /run/secrets/ok.conf >"$OUT" 2>"$ERR"
vt_eq "one the --user can read renders" "pw=hunter2" "$(cat "$OUT")"
mkfifo "$ROOT/tmp/fifo.tmpl"
timeout 10 unshare --pid --fork --mount-proc="$ROOT/proc" chroot "$ROOT" /inject \
	--socket /run/vaultd/vaultd.sock --wait 2 --template /tmp/fifo.tmpl:f -- true >"$OUT" 2>"$ERR"
vt_eq "a FIFO as template: exit 65 at once" 65 "$?"
rm -rf "$ROOT/app" "$ROOT/tmp/rootonly" "$ROOT/tmp/fifo.tmpl"
clean_secrets
vt_check "nothing ran on any failure" test ! -e "$ROOT/tmp/ran"

# ---- tokens, denial, sealed, waiting for vaultd ----
vt_curl PUT /v1/policies/dbonly -d '{"rules":[{"names":"db","capabilities":["read"]}]}' |
	tail -1 | grep -q 'HTTP 200' || vt_die "cannot put the policy"
TOKEN=$(vt_curl POST /v1/tokens -d '{"policies":["dbonly"]}' | head -1 |
	sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
[ -n "$TOKEN" ] || vt_die "cannot create a token"
printf '%s\n' "$TOKEN" >"$ROOT/tmp/token"
chmod 0400 "$ROOT/tmp/token"
clean_secrets
in_container --token-file /tmp/token --secret db -- cat /run/secrets/db >"$OUT" 2>"$ERR"
vt_eq "--token-file: the token's policy allows db" "hunter2" "$(cat "$OUT")"
clean_secrets
INJECT_TOKEN=$TOKEN in_container --secret db -- sh -c 'echo "${INJECT_TOKEN-unset}"' >"$OUT" 2>"$ERR"
vt_eq "INJECT_TOKEN works and is removed before exec" "unset" "$(cat "$OUT")"
in_container --token-file /tmp/token --secret db --secret api -- touch /tmp/ran >"$OUT" 2>"$ERR"
vt_eq "a name the token may not read: exit 77" 77 "$?"
vt_check "denied: the command never ran" test ! -e "$ROOT/tmp/ran"
INJECT_TOKEN=vd_not_a_real_token in_container --secret db -- touch /tmp/ran >"$OUT" 2>"$ERR"
vt_eq "an unknown token: exit 77" 77 "$?"
: >"$ROOT/tmp/empty"
in_container --token-file /tmp/empty --secret db -- touch /tmp/ran >"$OUT" 2>"$ERR"
vt_eq "an empty token file: exit 68" 68 "$?"
# Set but empty (INJECT_TOKEN: ${UNSET} in a compose file): not a fall-back
# to peer credentials, which make this root container an admin.
INJECT_TOKEN= in_container --secret db -- touch /tmp/ran >"$OUT" 2>"$ERR"
vt_eq "an empty INJECT_TOKEN: exit 68" 68 "$?"
vt_check "empty INJECT_TOKEN: the command never ran" test ! -e "$ROOT/tmp/ran"
vt_check "empty INJECT_TOKEN: the error says so" grep -q 'INJECT_TOKEN: it is empty' "$ERR"
INJECT_TOKEN_FILE= in_container --secret db -- touch /tmp/ran >"$OUT" 2>"$ERR"
vt_eq "an empty INJECT_TOKEN_FILE: exit 68" 68 "$?"
vt_check "empty INJECT_TOKEN_FILE: the command never ran" test ! -e "$ROOT/tmp/ran"
in_container --token-file /tmp/missing --secret db -- touch /tmp/ran >"$OUT" 2>"$ERR"
vt_eq "a missing token file: exit 68" 68 "$?"
# A FIFO nobody writes to: refused at once (opening it used to hang the start).
mkfifo "$ROOT/tmp/fifo"
timeout 10 unshare --pid --fork --mount-proc="$ROOT/proc" chroot "$ROOT" /inject \
	--socket /run/vaultd/vaultd.sock --wait 2 --token-file /tmp/fifo --secret db -- touch /tmp/ran \
	>"$OUT" 2>"$ERR"
vt_eq "a FIFO as token file: exit 68, no hang" 68 "$?"
vt_check "... the message says it is not a regular file" grep -q "not a regular file" "$ERR"
rm -f "$ROOT/tmp/fifo"
printf 'abc def\n' >"$ROOT/tmp/blank"
t0=$(date +%s%N)
in_container --wait 10 --token-file /tmp/blank --secret db -- touch /tmp/ran >"$OUT" 2>"$ERR"
rc=$? took=$((($(date +%s%N) - t0) / 1000000))
vt_eq "a token with a blank inside: exit 68" 68 "$rc"
vt_check "... at once, not after --wait (${took} ms)" test "$took" -lt 2000
vt_check "... and the message says why" grep -q "blank or control character" "$ERR"
setpriv --reuid 65534 --regid 65534 --clear-groups "$INJECT_BIN" --socket "$VT_SOCK" \
	--dir "$SECRETS" --secret db -- true >"$OUT" 2>"$ERR"
vt_eq "no permission on the socket: exit 77" 77 "$?"

# A privilege drop that fails exits 71 with one line, and nothing runs. An
# unprivileged inject cannot drop to root: it fails when it opens a template
# as the --user (before any request), and, given all it needs to get that far
# (root's group for the socket, a token, a directory of its own and files it
# may own), at the drop before the exec.
rm -f "$ROOT/tmp/ran"
setpriv --reuid 65534 --regid 65534 --clear-groups "$INJECT_BIN" --socket "$VT_SOCK" \
	--dir "$SECRETS" --user root --template /nonexistent/t:o -- touch "$ROOT/tmp/ran" \
	>"$OUT" 2>"$ERR"
vt_eq "drop to the --user fails opening a template: exit 71" 71 "$?"
vt_eq "... with one line that says why" \
	"inject: template /nonexistent/t: cannot open it as the --user: Operation not permitted" \
	"$(cat "$ERR")"
vt_check "... and the command never ran" test ! -e "$ROOT/tmp/ran"
mkdir -p "$SECRETS/nobody"
chown 65534:0 "$SECRETS/nobody"
chmod 0700 "$SECRETS/nobody"
INJECT_TOKEN=$TOKEN setpriv --reuid 65534 --regid 0 --clear-groups "$INJECT_BIN" \
	--socket "$VT_SOCK" --dir "$SECRETS/nobody" --user root --secret db:db:0400:65534:0 -- \
	touch "$ROOT/tmp/ran" >"$OUT" 2>"$ERR"
vt_eq "drop to the --user fails before the exec: exit 71" 71 "$?"
vt_eq "... with one line that says why" \
	"inject: cannot drop privileges to root: Operation not permitted" "$(cat "$ERR")"
vt_check "... and the command never ran" test ! -e "$ROOT/tmp/ran"
rm -rf "${SECRETS:?}/nobody" "$ROOT/tmp/ran"

vt_curl POST /v1/sys/seal | tail -1 | grep -q 'HTTP 200' || vt_die "cannot seal"
in_container --wait 0.3 --secret db -- touch /tmp/ran >"$OUT" 2>"$ERR"
vt_eq "sealed for --wait: exit 75" 75 "$?"
vt_check "sealed: the command never ran" test ! -e "$ROOT/tmp/ran"
vt_stop # a restart with the key file unseals
clean_secrets
bg_container --wait 10 --secret db -- cat /run/secrets/db
sleep 0.7
vt_check "inject waits while vaultd is down" kill -0 "$BG_PID"
vt_start
wait "$BG_PID"
vt_eq "vaultd came up within --wait: exit 0" 0 "$?"
vt_eq "vaultd came up within --wait: the command ran" "hunter2" "$(cat "$OUT")"

# ---- exit statuses pass through, in exec and --init mode ----
for code in 0 1 2 127 255; do
	in_container --secret db -- sh -c "exit $code" >/dev/null 2>&1
	vt_eq "exec mode: exit $code passes through" "$code" "$?"
	in_container --init --secret db -- sh -c "exit $code" >/dev/null 2>&1
	vt_eq "--init: exit $code passes through" "$code" "$?"
done
clean_secrets
in_container --secret db -- /bin/no-such-command >/dev/null 2>"$ERR"
vt_eq "command not found: 127" 127 "$?"
vt_eq "... and the file it would have read is removed" "" "$(ls "$SECRETS")"
in_container --secret db -- /bin/notexec >/dev/null 2>"$ERR"
vt_eq "command not executable: 126" 126 "$?"
vt_eq "... and the file it would have read is removed" "" "$(ls "$SECRETS")"
in_container --secret db -- '' >/dev/null 2>"$ERR"
vt_eq "an empty command name: 127, as sh and tini" 127 "$?"
in_container --init --secret db -- no-such-command >/dev/null 2>"$ERR"
vt_eq "--init, command not found: 127" 127 "$?"

# ---- --init: PID 1, the command's parent, files removed at exit ----
clean_secrets
in_container --init --secret db --secret api:api.txt -- \
	sh -c 'echo "ppid=$PPID"; ls /run/secrets | tr "\n" " "' >"$OUT" 2>"$ERR"
vt_eq "--init: inject is the command's parent, PID 1" "ppid=1" "$(sed -n 1p "$OUT")"
vt_eq "--init: files exist while the command runs" "api.txt db " "$(sed -n 2p "$OUT")"
vt_eq "--init: files are gone after exit" "" "$(ls -A "$SECRETS")"
in_container --init --keep --secret db -- true
vt_check "--init --keep: files stay" test -f "$SECRETS/db"

# ---- signals: forwarded, and 128 + signal returned ----
set -m # own process groups for background jobs: SIGINT is not ignored in them
signal_case() { # signal name, number
	bg_container --init --secret db -- sleep 30
	wait_started
	kill -"$1" "$INJECT_PID"
	wait "$BG_PID"
	vt_eq "SIG$1 forwarded: exit 128+$2" "$((128 + $2))" "$?"
}
signal_case TERM 15
signal_case INT 2
signal_case USR1 10

# --group: the signal reaches the command's whole process group, so a
# background member's trap runs; without it only the command gets it.
# (sh gives background jobs /dev/null as stdin: these cases need one.)
mkdir -p "$ROOT/dev" && mknod -m 666 "$ROOT/dev/null" c 1 3 || vt_die "cannot make /dev/null"
group_case() { # inject flags...; sets GOT (the member's mark, or empty)
	rm -f "$ROOT/tmp/usr1"
	# The command itself waits (up to 2 s) for the member's mark before it
	# exits: once it is gone, inject (PID 1) ends and the kernel kills the
	# rest of the namespace, maybe before the member's trap has run.
	bg_container --init "$@" --secret db -- sh -c \
		'(trap "echo member >/tmp/usr1; exit 0" USR1; while :; do sleep 0.05; done) &
		 trap "i=0; while [ ! -f /tmp/usr1 ] && [ \$i -lt 40 ]; do sleep 0.05; i=\$((i + 1)); done; exit 7" USR1
		 sleep 0.3; echo ready >/tmp/ready
		 while :; do sleep 0.05; done'
	wait_started
	for _ in $(seq 1 100); do [ -f "$ROOT/tmp/ready" ] && break; sleep 0.05; done
	kill -USR1 "$INJECT_PID"
	wait "$BG_PID"
	GROUP_RC=$?
	GOT=$(cat "$ROOT/tmp/usr1" 2>/dev/null)
	rm -f "$ROOT/tmp/ready"
}
group_case --group
vt_eq "--group: a background member of the group gets the signal" "member" "$GOT"
vt_eq "--group: the command got it too (its trap's exit 7)" 7 "$GROUP_RC"
group_case
vt_eq "without --group only the command gets the signal" "" "$GOT"
vt_eq "without --group: the command got it (its trap's exit 7)" 7 "$GROUP_RC"

# --grace: a group that ignores SIGTERM is SIGKILLed when the grace runs out;
# a command that exits at once still has inject wait for the rest of its
# group, up to the same deadline.
ms() { echo $(($(date +%s%N) / 1000000)); }
bg_container --init --group --grace 1 --secret db -- sh -c 'trap "" TERM; sleep 30 & wait'
wait_started
t0=$(ms)
kill -TERM "$INJECT_PID"
wait "$BG_PID"
rc=$? took=$(($(ms) - t0))
vt_eq "--grace: SIGTERM ignored, SIGKILL after the grace: 128+9" 137 "$rc"
vt_check "--grace 1 ended it after ~1 s (took ${took} ms)" test "$took" -ge 900 -a "$took" -lt 5000
bg_container --init --group --grace 1 --secret db -- sh -c \
	'(trap "" TERM; exec sleep 30) & trap "exit 3" TERM; while :; do sleep 0.05; done'
wait_started
sleep 0.3
t0=$(ms)
kill -TERM "$INJECT_PID"
wait "$BG_PID"
rc=$? took=$(($(ms) - t0))
vt_eq "--grace: the command's own exit status is kept" 3 "$rc"
vt_check "--grace: inject waited for the rest of the group (${took} ms)" \
	test "$took" -ge 900 -a "$took" -lt 5000
rm -rf "${ROOT:?}/dev"
set +m

# ---- zombies: 50 orphaned grandchildren are reaped ----
in_container --init --secret db -- sh -c '
	for i in $(seq 1 50); do sh -c "sleep 0.2 &"; done
	sleep 1.5
	z=0; s=0
	for f in /proc/[0-9]*/stat; do
		read -r l <"$f" || continue
		case "$l" in *") Z "*) z=$((z + 1)) ;; *") S "*) s=$((s + 1)) ;; esac
	done
	echo "zombies=$z sleeping=$s"' >"$OUT" 2>"$ERR"
vt_eq "50 orphaned grandchildren leave no zombies" "zombies=0" "$(awk '{print $1}' "$OUT")"
vt_check "the zombie count could see processes" grep -q 'sleeping=[1-9]' "$OUT"

# ---- --watch: rewrite within 1 s of a rotation, one SIGHUP per burst ----
# (a 2 s debounce window so that a slow machine still fits the burst in it)
clean_secrets
rm -f "$ROOT/tmp/hups"
set -m
bg_container --watch --debounce 2 --secret w -- sh -c '
	n=0; trap "n=\$((n + 1)); echo \$n >/tmp/hups" HUP
	while :; do sleep 0.05; done'
set +m
wait_started
vt_eq "--watch: first value written" v1 "$(cat "$SECRETS/w" 2>/dev/null)"
sleep 0.3
t0=$(date +%s%N)
rotate w v2
seen=""
for i in $(seq 1 100); do
	if [ "$(cat "$SECRETS/w" 2>/dev/null)" = v2 ]; then seen=$(date +%s%N); break; fi
	sleep 0.01
done
[ -n "$seen" ] || seen=$(date +%s%N)
ms=$(((seen - t0) / 1000000))
vt_check "--watch: file rewritten within 1 s of the rotation (${ms} ms)" test "$ms" -le 1000
vt_eq "--watch: new value" v2 "$(cat "$SECRETS/w")"
sleep 2.6 # the 2 s debounce window, and some
vt_eq "--watch: one SIGHUP for one rotation" 1 "$(cat "$ROOT/tmp/hups" 2>/dev/null)"
rotate w v3
rotate w v4
rotate w v5
sleep 3.5
vt_eq "--watch: a burst of 3 rotations gives exactly one more SIGHUP" 2 "$(cat "$ROOT/tmp/hups" 2>/dev/null)"
vt_eq "--watch: the last value of the burst" v5 "$(cat "$SECRETS/w")"
vt_stop # vaultd goes away: the command must live on
sleep 1
vt_check "--watch: the command survives vaultd stopping" kill -0 "$CHILD_PID"
vt_eq "--watch: the files stay when vaultd is away" v5 "$(cat "$SECRETS/w")"
vt_start
rotate w v6
for i in $(seq 1 100); do [ "$(cat "$SECRETS/w")" = v6 ] && break; sleep 0.05; done
vt_eq "--watch: follows rotations again once vaultd is back" v6 "$(cat "$SECRETS/w")"
kill -TERM "$INJECT_PID"
wait "$BG_PID"
vt_eq "--watch: SIGTERM forwarded, 143" 143 "$?"
vt_eq "--watch: files removed at exit" "" "$(ls -A "$SECRETS")"

# --watch follows what backs files: an --env-only secret's rotation reaches
# no file and sends no SIGHUP.
put envonly e1
clean_secrets
rm -f "$ROOT/tmp/hups"
set -m
bg_container --watch --debounce 0.5 --secret w --env ENVONLY=envonly -- sh -c '
	n=0; trap "n=\$((n + 1)); echo \$n >/tmp/hups" HUP
	while :; do sleep 0.05; done'
set +m
wait_started
sleep 0.3
rotate envonly e2
sleep 1.5
vt_eq "--watch: an --env-only rotation sends no SIGHUP" "" "$(cat "$ROOT/tmp/hups" 2>/dev/null)"
rotate w v7
for i in $(seq 1 60); do [ -f "$ROOT/tmp/hups" ] && break; sleep 0.05; done
vt_eq "--watch: a file's rotation still does" 1 "$(cat "$ROOT/tmp/hups" 2>/dev/null)"
kill -TERM "$INJECT_PID"
wait "$BG_PID"

# ---- --watch: another reload signal, and --group ----
# Background members of the command's group need /dev/null (see --group).
mkdir -p "$ROOT/dev" && mknod -m 666 "$ROOT/dev/null" c 1 3 || vt_die "cannot make /dev/null"
wait_ready() { # until the command has set its traps and started its member
	for _ in $(seq 1 100); do [ -f "$ROOT/tmp/ready" ] && return 0; sleep 0.02; done
	vt_die "the command never got ready"
}
# --reload-signal USR1: the command's USR1 trap runs once for a burst, no
# SIGHUP comes, and without --group a member of its group hears nothing. The
# rotations are spread over the window: back to back, one fetch may see them
# all, and a reload per change would pass unnoticed.
clean_secrets
rm -f "$ROOT"/tmp/{ready,usr1s,hups,member}
set -m
bg_container --watch --debounce 1.5 --reload-signal USR1 --secret w -- sh -c '
	(trap "echo member >/tmp/member" USR1 HUP; while :; do sleep 0.05; done) &
	n=0; trap "n=\$((n + 1)); echo \$n >/tmp/usr1s" USR1
	trap "echo hup >>/tmp/hups" HUP
	echo ready >/tmp/ready
	while :; do sleep 0.05; done'
set +m
wait_started
wait_ready
rotate w v8
sleep 0.3
rotate w v9
sleep 0.3
rotate w v10
for _ in $(seq 1 100); do [ -f "$ROOT/tmp/usr1s" ] && break; sleep 0.05; done
sleep 1 # a reload per rotation, however delayed, would come by now
vt_eq "--reload-signal USR1: one USR1 for a burst of 3 rotations" 1 \
	"$(cat "$ROOT/tmp/usr1s" 2>/dev/null)"
vt_eq "--reload-signal USR1: no SIGHUP" "" "$(cat "$ROOT/tmp/hups" 2>/dev/null)"
vt_eq "--reload-signal USR1: the burst's last value" v10 "$(cat "$SECRETS/w")"
vt_eq "--watch without --group: a member of the group gets no reload" "" \
	"$(cat "$ROOT/tmp/member" 2>/dev/null)"
kill -TERM "$INJECT_PID"
wait "$BG_PID"

# --watch --group: the reload goes to the command's whole process group.
clean_secrets
rm -f "$ROOT"/tmp/{ready,hups,member}
set -m
bg_container --watch --group --debounce 0.2 --secret w -- sh -c '
	(trap "echo member >/tmp/member" HUP; while :; do sleep 0.05; done) &
	trap "echo command >/tmp/hups" HUP
	echo ready >/tmp/ready
	while :; do sleep 0.05; done'
set +m
wait_started
wait_ready
rotate w v11
for _ in $(seq 1 100); do
	[ -f "$ROOT/tmp/member" ] && [ -f "$ROOT/tmp/hups" ] && break
	sleep 0.05
done
vt_eq "--watch --group: a member of the command's group gets the reload signal" member \
	"$(cat "$ROOT/tmp/member" 2>/dev/null)"
vt_eq "--watch --group: the command gets it too" command "$(cat "$ROOT/tmp/hups" 2>/dev/null)"
kill -TERM "$INJECT_PID"
wait "$BG_PID"
rm -rf "${ROOT:?}/dev" "$ROOT"/tmp/{ready,usr1s,hups,member}

# ---- descriptors: the command gets 0, 1 and 2, nothing inject opened ----
# Whatever the test itself inherited (a CI runner's pipe) and would pass on
# is closed first: a descriptor beyond 2 can then only come from inject.
for fd in $(ls "/proc/$$/fd"); do
	[ "$fd" -gt 2 ] || continue
	flags=$(awk '/^flags:/ {print $2}' "/proc/$$/fdinfo/$fd" 2>/dev/null)
	[ -n "$flags" ] && [ $((8#$flags & 8#2000000)) -eq 0 ] && eval "exec $fd>&-"
done
child_named() { # pid comm: a child of pid running comm (waits up to 5 s)
	local c
	for _ in $(seq 1 200); do
		for c in $(children "$1"); do
			[ "$(cat "/proc/$c/comm" 2>/dev/null)" = "$2" ] && echo "$c" && return 0
		done
		sleep 0.025
	done
	return 1
}
fds() { ls "/proc/$1/fd" 2>/dev/null | sort -n | tr '\n' ' ' | sed 's/ $//'; }
# Each mode runs with what makes inject open the most: a token file, a
# --user (passwd, group, and a template opened as that user and handed back).
printf 'x={{ secret "db" }}\n' >"$ROOT/tmp/fd.tmpl"
FD_FLAGS=(--user app --template /tmp/fd.tmpl:fd.conf)
clean_secrets
bg_container --token-file /tmp/token "${FD_FLAGS[@]}" --secret db -- sleep 30
cmd=$(child_named "$BG_PID" sleep) || vt_die "exec mode: the command did not start"
vt_eq "exec mode: the command holds only descriptors 0 1 2" "0 1 2" "$(fds "$cmd")"
kill -KILL "$cmd"
wait "$BG_PID"

clean_secrets
bg_container --init --token-file /tmp/token "${FD_FLAGS[@]}" --secret db -- sleep 30
inj=$(child_named "$BG_PID" inject) && cmd=$(child_named "$inj" sleep) ||
	vt_die "--init: the command did not start"
vt_eq "--init: the command holds only descriptors 0 1 2" "0 1 2" "$(fds "$cmd")"
kill -TERM "$inj"
wait "$BG_PID"

# --watch: the command, and an --on-change command, which the watcher starts
# with descriptors of its own open (its copy of the directory).
clean_secrets
bg_container --watch --debounce 0.2 --on-change "/bin/sleep 1" "${FD_FLAGS[@]}" --secret w -- \
	sleep 30
inj=$(child_named "$BG_PID" inject) && cmd=$(child_named "$inj" sleep) &&
	watcher=$(child_named "$inj" inject) ||
	vt_die "--watch: the command or the watcher did not start"
vt_eq "--watch: the command holds only descriptors 0 1 2" "0 1 2" "$(fds "$cmd")"
rotate w v12
hook=$(child_named "$watcher" sleep) || vt_die "--watch: the --on-change command did not run"
vt_eq "--watch: the --on-change command holds only descriptors 0 1 2" "0 1 2" "$(fds "$hook")"
kill -TERM "$inj"
wait "$BG_PID"
rm -f "$ROOT/tmp/fd.tmpl"

# One watch holds at most 64 names; long ones (64 of 120 bytes: an 8 KB
# query) are followed too, and a 65th is refused before anything starts.
LONG=""
for i in $(seq -w 1 65); do
	n="long$i$(printf 'x%.0s' $(seq 1 114))"
	put "$n" "l$i"
	LONG="$LONG${LONG:+,}$n"
done
L64=${LONG%,*}
L64_LAST=${L64##*,}
clean_secrets
INJECT_SECRETS=$LONG,w in_container --watch -- touch /tmp/ran >"$OUT" 2>"$ERR"
vt_eq "--watch with 66 files: exit 64" 64 "$?"
vt_check "... which says why" grep -q "at most 64" "$ERR"
vt_check "... and nothing ran" test ! -e "$ROOT/tmp/ran"
clean_secrets
set -m
# The command ignores the reload's HUP: it must outlive the check, which
# reads the rewritten file (inject removes its files when the command ends).
INJECT_SECRETS=$L64 bg_container --watch --debounce 0.2 -- sh -c 'trap "" HUP; while :; do sleep 0.05; done'
set +m
wait_started
vt_eq "--watch, 64 long names: first value" l64 "$(cat "$SECRETS/$L64_LAST" 2>/dev/null)"
rotate "$L64_LAST" rotated
for i in $(seq 1 60); do [ "$(cat "$SECRETS/$L64_LAST")" = rotated ] && break; sleep 0.05; done
vt_eq "--watch, 64 long names: the last one's rotation is followed" rotated \
	"$(cat "$SECRETS/$L64_LAST" 2>/dev/null)"
vt_check "--watch, 64 long names: no watch error" test ! -s "$ERR"
kill -TERM "$INJECT_PID"
wait "$BG_PID"

vt_done
