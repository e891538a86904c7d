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

# tty_answer PROMPT ANSWER [PROMPT ANSWER...] -- ARGS...: runs vaultctl ARGS on a
# pseudo-terminal (python3's pty, like a person at a terminal), typing each
# ANSWER and a newline once its PROMPT has appeared. Prints everything the
# terminal showed; exits with vaultctl's status.
tty_answer() {
	python3 - "$VAULTCTL_BIN" "$@" <<'PY'
import os, pty, sys, time
binary, rest = sys.argv[1], sys.argv[2:]
split = rest.index("--")
pairs, args = rest[:split], rest[split + 1:]
pid, fd = pty.fork()
if pid == 0:
    os.execv(binary, [binary] + args)
seen = b""
def read_until(marker, limit=10.0):
    global seen
    end = time.time() + limit
    while marker not in seen and time.time() < end:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
for prompt, answer in zip(pairs[0::2], pairs[1::2]):
    read_until(prompt.encode())
    time.sleep(0.1)
    os.write(fd, answer.encode() + b"\n")
read_until(b"\x00never", 5.0)
_, status = os.waitpid(pid, 0)
sys.stdout.write(seen.decode(errors="replace"))
sys.exit(os.waitstatus_to_exitcode(status))
PY
}
