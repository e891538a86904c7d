#!/usr/bin/env bash
# Installs the Debian packages the build, the tests and the benchmarks need,
# only when some are missing (apt-get update once, then install). Root only.
set -euo pipefail

BUILD_PKGS=(gcc make cmake pkg-config libc6-dev file
	libsodium-dev libsqlite3-dev libjansson-dev libmicrohttpd-dev
	libcurl4-openssl-dev libyaml-dev check)
RUN_PKGS=(curl sqlite3)
TEST_PKGS=(valgrind util-linux procps redis-server redis-tools busybox-static
	tini hyperfine docker-compose systemd python3 python3-cryptography
	clang-14 libclang-rt-14-dev)

want=("${BUILD_PKGS[@]}" "${RUN_PKGS[@]}")
[ "${1:-}" = "--test" ] && want+=("${TEST_PKGS[@]}")

missing=()
for p in "${want[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "missing Debian packages: ${missing[*]} (run as root, or install them)" >&2
	exit 1
fi
echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# --no-install-recommends: docker-compose would otherwise pull docker.io.
apt-get install -y -qq --no-install-recommends "${missing[@]}"
# Debian starts redis-server as a service on install; our tests run their own.
if command -v systemctl >/dev/null && systemctl is-active -q redis-server 2>/dev/null; then
	systemctl stop redis-server || true
fi
