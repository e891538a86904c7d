#!/usr/bin/env bash
# ./run.sh as the README's quick start runs it: first run creates the store and
# key (0700 home, 0600 key, 0660 socket) and serves; the two commands it prints
# work; SIGTERM exits 0; a second run reuses the same store and key.
set -uo pipefail
. "$(dirname "$0")/../support/vaultd.sh"
: "${VAULT_SOURCE_DIR:?set VAULT_SOURCE_DIR}" "${VAULT_BUILD_DIR:?set VAULT_BUILD_DIR}"

vt_need_root "run.sh runs scripts/deps.sh, which installs what is missing as root"

VT_DIR=$(mktemp -d /tmp/vaultd-runsh.XXXXXX)
trap vt_cleanup EXIT
home=$VT_DIR/home # run.sh must create it
sock=$home/vaultd.sock
cd "$VAULT_SOURCE_DIR" || vt_die "cd $VAULT_SOURCE_DIR"
# The first run names the build directory relative, as run.sh's default
# ./build is; the second absolute: the vaultctl line it prints must work
# either way.
rel_build=$(realpath --relative-to=. "$VAULT_BUILD_DIR")
abs_build=$(realpath "$VAULT_BUILD_DIR")

# run.sh in the background; it execs vaultd, so VT_PID ends up the daemon's
# (and vt_cleanup stops it if a check dies first).
start_run_sh() { # output file, build directory
	VAULTD_BUILD_DIR=$2 VAULTD_HOME=$home ./run.sh >"$1" 2>&1 &
	VT_PID=$!
	for _ in $(seq 1 1200); do
		if curl -s --max-time 1 --unix-socket "$sock" http://localhost/v1/health >/dev/null 2>&1; then
			return 0
		fi
		kill -0 "$VT_PID" 2>/dev/null || vt_die "run.sh exited before serving: $(tail -5 "$1")"
		sleep 0.05
	done
	vt_die "run.sh: nothing answered on $sock within 60 s: $(tail -5 "$1")"
}

stop_run_sh() { # description
	kill -TERM "$VT_PID"
	wait "$VT_PID"
	local status=$?
	VT_PID=
	vt_eq "$1: SIGTERM to run.sh's pid exits 0" 0 "$status"
	vt_check "$1: the socket is removed" test ! -e "$sock"
}

# The example lines run.sh printed, run as printed, from the directory it names.
try_printed_commands() { # output file, description
	local out=$1 curl_line ctl_line got
	curl_line=$(grep -E '^  curl ' "$out")
	ctl_line=$(grep -E '^  VAULTD_SOCKET=.*vaultctl ' "$out")
	vt_check "$2: run.sh printed a curl line" test -n "$curl_line"
	vt_check "$2: run.sh printed a vaultctl line" test -n "$ctl_line"
	got=$(bash -c "$curl_line" 2>&1)
	vt_eq "$2: the printed curl line gets health (unsealed)" '{"status":"ok","sealed":false}' "$got"
	got=$(bash -c "$ctl_line" 2>&1)
	vt_eq "$2: the printed vaultctl line exits 0" 0 "$?"
	vt_eq "$2: and reports an unsealed vaultd" "no" "$(sed -n 's/^sealed: *//p' <<<"$got")"
}

start_run_sh "$VT_DIR/run1.out" "$rel_build"
vt_check "first run: init created the store" grep -q "^created store $home/store.db" "$VT_DIR/run1.out"
vt_check "first run: prints the socket path" grep -q "vaultd is starting on $sock" "$VT_DIR/run1.out"
try_printed_commands "$VT_DIR/run1.out" "first run"
vt_eq "the home directory is 0700" 700 "$(stat -c %a "$home")"
vt_eq "the key file is 0600" 600 "$(stat -c %a "$home/vaultd.key")"
vt_eq "the socket is 0660" 660 "$(stat -c %a "$sock")"
store_id=$(stat -c %d:%i "$home/store.db")
key_id=$(stat -c %d:%i "$home/vaultd.key")
key_sum=$(sha256sum <"$home/vaultd.key")
stop_run_sh "first run"

start_run_sh "$VT_DIR/run2.out" "$abs_build"
vt_check "second run: no second init" bash -c "! grep -q 'created store' '$VT_DIR/run2.out'"
vt_eq "second run: the same store file" "$store_id" "$(stat -c %d:%i "$home/store.db")"
vt_eq "second run: the same key file" "$key_id" "$(stat -c %d:%i "$home/vaultd.key")"
vt_check "second run: the key unchanged" test "$key_sum" = "$(sha256sum <"$home/vaultd.key")"
try_printed_commands "$VT_DIR/run2.out" "second run"
stop_run_sh "second run"

vt_done
