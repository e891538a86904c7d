# Shared helpers of the vaultctl CLI tests (sourced after tests/support/vaultd.sh).
# vc_run CMD...: runs vaultctl, keeps stdout in $OUT (and $VT_DIR/out, exact
# bytes), stderr in $ERR, the exit status in $RC. Never fails the script.
: "${VAULTCTL_BIN:?set VAULTCTL_BIN}"

vc() { "$VAULTCTL_BIN" "$@"; }

vc_run() {
	"$VAULTCTL_BIN" "$@" >"$VT_DIR/out" 2>"$VT_DIR/err"
	RC=$?
	OUT=$(tr -d '\0' <"$VT_DIR/out")
	ERR=$(cat "$VT_DIR/err")
}

# vc_in INPUT CMD...: vc_run with INPUT (exact bytes, no newline added) on stdin.
vc_in() {
	local input=$1
	shift
	printf '%s' "$input" | "$VAULTCTL_BIN" "$@" >"$VT_DIR/out" 2>"$VT_DIR/err"
	RC=$?
	OUT=$(tr -d '\0' <"$VT_DIR/out")
	ERR=$(cat "$VT_DIR/err")
}

# expect DESC RC [stdout-regex [stderr-regex]]: checks the last vc_run.
expect() {
	local d=$1 want=$2 out_re=${3:-} err_re=${4:-}
	vt_eq "$d: exit code (stderr: $(head -1 <<<"$ERR" | cut -c1-160))" "$want" "$RC"
	if [ -n "$out_re" ]; then
		if [[ "$OUT" =~ $out_re ]]; then echo "ok - $d: stdout"; else
			echo "FAIL - $d: stdout [$OUT] does not match /$out_re/"
			VT_FAILS=$((VT_FAILS + 1))
		fi
	fi
	if [ -n "$err_re" ]; then
		if [[ "$ERR" =~ $err_re ]]; then echo "ok - $d: stderr"; else
			echo "FAIL - $d: stderr [$ERR] does not match /$err_re/"
			VT_FAILS=$((VT_FAILS + 1))
		fi
	fi
}

# matches DESC STRING REGEX
matches() {
	if [[ "$2" =~ $3 ]]; then echo "ok - $1"; else
		echo "FAIL - $1: [${2:0:300}] does not match /$3/"
		VT_FAILS=$((VT_FAILS + 1))
	fi
}

# not_in DESC NEEDLE HAYSTACK: the needle (a secret) must not appear.
not_in() {
	if [[ "$3" == *"$2"* ]]; then
		echo "FAIL - $1: the secret appears in [${3:0:200}]"
		VT_FAILS=$((VT_FAILS + 1))
	else
		echo "ok - $1"
	fi
}

# json_field JSON EXPR: a value from JSON via python3 (installed with docker-compose).
json_field() { python3 -c "import json,sys; d=json.loads(sys.argv[1]); print($2)" "$1"; }
