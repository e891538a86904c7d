# Shell test harness: start a real vaultd on a temp socket, stop it, assert.
# Source it from a bash test; ctest passes VAULTD_BIN, VAULTCTL_BIN, INJECT_BIN.
# Usage:  . tests/support/vaultd.sh; vt_setup; vt_start; ...; (cleanup is automatic)

: "${VAULTD_BIN:?set VAULTD_BIN}"
VT_FAILS=0

vt_setup() { # creates $VT_DIR and a key-file store in it
	VT_DIR=$(mktemp -d /tmp/vaultd-test.XXXXXX)
	chmod 0755 "$VT_DIR"
	VT_STORE=$VT_DIR/store.db
	VT_KEY=$VT_DIR/vaultd.key
	VT_SOCK=$VT_DIR/vaultd.sock
	VT_LOG=$VT_DIR/vaultd.log
	export VAULTD_SOCKET=$VT_SOCK
	trap vt_cleanup EXIT
	"$VAULTD_BIN" init --store "$VT_STORE" --key-file "$VT_KEY" >"$VT_DIR/init.out" 2>&1 ||
		vt_die "vaultd init failed: $(cat "$VT_DIR/init.out")"
}

vt_start() { # extra serve flags...; sets VT_PID, waits until /v1/health answers
	# VT_WRAPPER (e.g. "valgrind --error-exitcode=99") runs the daemon under a tool.
	${VT_WRAPPER:-} "$VAULTD_BIN" serve --store "$VT_STORE" --socket "$VT_SOCK" --key-file "$VT_KEY" "$@" \
		>>"$VT_LOG" 2>&1 &
	VT_PID=$!
	local i
	for i in $(seq 1 600); do
		if curl -s --max-time 1 --unix-socket "$VT_SOCK" http://localhost/v1/health >/dev/null 2>&1; then
			return 0
		fi
		kill -0 "$VT_PID" 2>/dev/null || vt_die "vaultd exited during start: $(tail -5 "$VT_LOG")"
		sleep 0.05
	done
	vt_die "vaultd did not answer on $VT_SOCK within 30 s"
}

vt_stop() { # SIGTERM and wait
	[ -n "${VT_PID:-}" ] || return 0
	kill -TERM "$VT_PID" 2>/dev/null || true
	wait "$VT_PID" 2>/dev/null || true
	VT_PID=
}

vt_kill9() {
	[ -n "${VT_PID:-}" ] || return 0
	kill -KILL "$VT_PID" 2>/dev/null || true
	wait "$VT_PID" 2>/dev/null || true
	VT_PID=
}

vt_cleanup() {
	vt_stop
	if [ "$VT_FAILS" -eq 0 ] && [ -z "${VT_KEEP:-}" ]; then
		rm -rf "$VT_DIR"
	else
		echo "kept $VT_DIR for inspection" >&2
	fi
}

vt_die() { echo "FATAL: $*" >&2; VT_FAILS=$((VT_FAILS + 1)); exit 1; }

# vt_curl METHOD PATH [curl args...]: prints body, then "\nHTTP <status>" on the last line.
vt_curl() {
	local m=$1 p=$2; shift 2
	curl -s -X "$m" --unix-socket "$VT_SOCK" -w '\nHTTP %{http_code}' "$@" "http://localhost$p"
}

vt_check() { # description, command...: the command must succeed
	local d=$1; shift
	if "$@"; then echo "ok - $d"; else echo "FAIL - $d"; VT_FAILS=$((VT_FAILS + 1)); fi
}

vt_eq() { # description, expected, got
	if [ "$2" = "$3" ]; then echo "ok - $1"; else
		echo "FAIL - $1: expected [$2], got [$3]"; VT_FAILS=$((VT_FAILS + 1)); fi
}

vt_done() { # exit status for the test
	if [ "$VT_FAILS" -ne 0 ]; then echo "$VT_FAILS check(s) failed"; exit 1; fi
	echo "all checks passed"
}

# Root-only tests skip outside CI with a reason, and fail inside CI.
vt_need_root() {
	if [ "$(id -u)" -ne 0 ]; then
		if [ "${CI:-}" = "true" ]; then vt_die "needs root and CI=true"; fi
		echo "SKIP: needs root ($1)"; exit 77
	fi
}

# For tests that drive vaultd with tests/bench/loadgen: it sets up as root,
# then reads as nobody, who must reach the socket: the directory gets 0711
# and vt_start needs --socket-group nogroup. Sets up as vt_setup does.
vt_loadgen_setup() {
	: "${LOADGEN_BIN:?set LOADGEN_BIN}"
	vt_need_root "loadgen sets up as root, then reads as nobody"
	vt_setup
	chmod 0711 "$VT_DIR"
}
