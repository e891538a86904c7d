# Shared by the compose CLI tests: a real vaultd (tests/support/vaultd.sh),
# the fixture project copied to a temp dir, and the checks every migration
# must pass. Source it from a test; ctest passes VAULTD_BIN, VAULTCTL_BIN,
# FIXTURES and SUPPORT.
: "${VAULTCTL_BIN:?set VAULTCTL_BIN}"
: "${FIXTURES:?set FIXTURES}"
: "${SUPPORT:?set SUPPORT}"
# shellcheck source=../support/vaultd.sh
. "$SUPPORT/vaultd.sh"

V=$VAULTCTL_BIN

# The values the stack fixture holds in plaintext (docker-compose.yml, worker.env).
STACK_VALUES=("root" "postgres://app:root@db:5432/app" "sk_test_51HxQ2vKZ8fPq3wR7" "wk-7f3c9a1e5d" "s3nd mail!")

need_compose() {
	if ! command -v docker-compose >/dev/null; then
		if [ "${CI:-}" = "true" ]; then vt_die "docker-compose is missing under CI"; fi
		echo "SKIP: docker-compose is not installed (scripts/deps.sh --test installs it)"
		exit 77
	fi
}

# enter_fixture NAME DEST: a fresh copy of tests/compose/fixtures/NAME at
# DEST, made the working directory.
enter_fixture() {
	rm -rf "$2"
	cp -r "$FIXTURES/$1" "$2"
	cd "$2" || vt_die "cannot enter the project copy $2"
}

# compose_ok FILE: docker-compose validates the file offline.
compose_ok() {
	local out
	if out=$(cd "$(dirname "$1")" && docker-compose -f "$(basename "$1")" config -q 2>&1); then
		echo "ok - docker-compose config accepts $(basename "$1")"
	else
		echo "FAIL - docker-compose config rejects $(basename "$1"): $out"
		VT_FAILS=$((VT_FAILS + 1))
	fi
}

# refs_ok FILE: every secret a service names is defined at the top level
# (docker-compose 1.29's config does not check this itself).
refs_ok() {
	local out
	if out=$(python3 - "$1" <<'PY'
import sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
top = doc.get("secrets") or {}
bad = []
for name, svc in (doc.get("services") or {}).items():
    for s in svc.get("secrets") or []:
        src = s if isinstance(s, str) else s.get("source")
        if src not in top:
            bad.append(f"{name}:{src}")
        elif "file" not in top[src] and not top[src].get("external"):
            bad.append(f"{name}:{src} (no file)")
print(" ".join(bad))
sys.exit(1 if bad else 0)
PY
	); then
		echo "ok - every service secret in $(basename "$1") is defined at the top level"
	else
		echo "FAIL - undefined secrets in $(basename "$1"): $out"
		VT_FAILS=$((VT_FAILS + 1))
	fi
}

# no_plaintext DIR EXCLUDE_REGEX VALUE...: no file under DIR (paths relative
# to DIR matching EXCLUDE_REGEX aside) holds any VALUE.
no_plaintext() {
	local dir=$1 exclude=$2 v f hits=""
	shift 2
	while IFS= read -r -d '' f; do
		local rel=${f#"$dir"/}
		if [ -n "$exclude" ] && [[ $rel =~ $exclude ]]; then continue; fi
		for v in "$@"; do
			if grep -qF -- "$v" "$f"; then hits+=" $rel"; break; fi
		done
	done < <(find "$dir" -type f -print0)
	if [ -z "$hits" ]; then echo "ok - no original value in $dir (outside ${exclude:-nothing})"; else
		echo "FAIL - original values found in:$hits"
		VT_FAILS=$((VT_FAILS + 1))
	fi
}

# snapshot DIR: names, sizes, modes and contents of every file (for "nothing written").
snapshot() {
	(cd "$1" && find . -printf '%p %s %m\n' | sort && find . -type f -exec md5sum {} + | sort)
}

# value_is NAME VALUE: vaultd holds exactly VALUE for NAME (through vaultctl get).
value_is() {
	local got
	got=$("$V" get "$1" | od -An -c)
	vt_eq "vaultctl get $1 is the original value" "$(printf '%s' "$2" | od -An -c)" "$got"
}

# value_is_curl NAME VALUE: the same through the API with plain curl.
value_is_curl() {
	local b64
	b64=$(curl -s --unix-socket "$VT_SOCK" "http://localhost/v1/secrets/$1" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["value"])')
	vt_eq "curl GET /v1/secrets/$1 is the original value" "$(printf '%s' "$2" | base64 -w0)" "$b64"
}
