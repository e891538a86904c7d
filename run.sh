#!/usr/bin/env bash
# Quick start: installs missing Debian packages, builds into ./build, creates
# (first run only) a store and key file under ./.vaultd/ (0700), and runs
# vaultd in the foreground on ./.vaultd/vaultd.sock. Ctrl-C stops it.
#   VAULTD_BUILD_DIR, VAULTD_HOME  override ./build and ./.vaultd
#   extra arguments are passed to `vaultd serve` (e.g. --log-level warn)
set -euo pipefail
cd "$(dirname "$0")"

build=${VAULTD_BUILD_DIR:-build}
home=${VAULTD_HOME:-.vaultd}

./scripts/deps.sh
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j "$(nproc)"

vaultd=$build/vaultd/vaultd
umask 077
if [ ! -e "$home/store.db" ]; then
	mkdir -p "$home"
	chmod 0700 "$home"
	"$vaultd" init --store "$home/store.db" --key-file "$home/vaultd.key"
fi
chmod 0700 "$home"

# Not root: this user is the admin of its own vaultd.
admin=()
[ "$(id -u)" -ne 0 ] && admin=(--admin-uid "$(id -u)")

sock=./$home/vaultd.sock
[ "${home#/}" != "$home" ] && sock=$home/vaultd.sock
ctl=./$build/ctl/vaultctl
[ "${build#/}" != "$build" ] && ctl=$build/ctl/vaultctl
cat <<EOF

vaultd is starting on $sock  (store $home/store.db, key $home/vaultd.key)
Try, from $(pwd):
  curl -s --unix-socket $sock http://localhost/v1/health
  VAULTD_SOCKET=$sock $ctl status

EOF
exec "$vaultd" serve --store "$home/store.db" --socket "$sock" --key-file "$home/vaultd.key" \
	--audit-log "$home/audit.jsonl" ${admin[@]+"${admin[@]}"} "$@"
