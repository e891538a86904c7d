#!/usr/bin/env bash
# Benchmark: vaultd authenticated+audited+decrypted reads and durable writes
# (tests/bench/loadgen) against redis-server GET on a unix socket, same run,
# same machine; prints one table with the ratio. Run as root, once, idle box.
# Usage: tests/bench/bench_vaultd.sh [BUILD_DIR]   (default: build)
# BENCH_SECONDS (3) per loadgen run; BENCH_ROUNDS (3) alternated rounds of
# vaultd reads and redis GETs behind each ratio (the table gives medians).
set -euo pipefail
cd "$(dirname "$0")/../.."

BUILD=${1:-build}
VAULTD_BIN=${VAULTD_BIN:-$BUILD/vaultd/vaultd}
LOADGEN_BIN=${LOADGEN_BIN:-$BUILD/tests/bench/loadgen}
HELLO_BIN=${HELLO_BIN:-$BUILD/tests/bench/mhd_hello}
UNCOMMITTED_BIN=${UNCOMMITTED_BIN:-$BUILD/tests/bench/vaultd_uncommitted}
SECS=${BENCH_SECONDS:-3}
ROUNDS=${BENCH_ROUNDS:-3}
READ_CONNS=(1 8 50 64)
WRITE_CONNS=(1 8 64)

for b in "$VAULTD_BIN" "$LOADGEN_BIN" "$HELLO_BIN" "$UNCOMMITTED_BIN"; do
	[ -x "$b" ] || { echo "bench: $b missing: cmake --build $BUILD --target vaultd loadgen mhd_hello vaultd_uncommitted" >&2; exit 1; }
done
command -v redis-server >/dev/null && command -v redis-benchmark >/dev/null ||
	{ echo "bench: needs redis-server and redis-benchmark (scripts/deps.sh --test)" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "bench: run as root (loadgen sets up as admin, then reads as nobody)" >&2; exit 1; }

D=$(mktemp -d /tmp/vaultd-bench.XXXXXX)
chmod 0711 "$D"
VPID= SPID= RPID= HPID= UPID=
cleanup() {
	[ -n "$VPID" ] && kill -TERM "$VPID" 2>/dev/null && wait "$VPID" 2>/dev/null
	[ -n "$UPID" ] && kill -TERM "$UPID" 2>/dev/null && wait "$UPID" 2>/dev/null
	[ -n "$HPID" ] && kill -TERM "$HPID" 2>/dev/null && wait "$HPID" 2>/dev/null
	[ -n "$SPID" ] && kill -TERM "$SPID" 2>/dev/null && wait "$SPID" 2>/dev/null
	[ -n "$RPID" ] && kill -TERM "$RPID" 2>/dev/null && wait "$RPID" 2>/dev/null
	rm -rf "$D"
}
trap cleanup EXIT

wait_sock() { # socket, pid, what
	for _ in $(seq 1 200); do
		[ -S "$1" ] && return 0
		kill -0 "$2" 2>/dev/null || { echo "bench: $3 exited; log in $D" >&2; exit 1; }
		sleep 0.05
	done
	echo "bench: $3 did not create $1" >&2
	exit 1
}

"$VAULTD_BIN" init --store "$D/store.db" --key-file "$D/vaultd.key" >"$D/init.log" 2>&1
"$VAULTD_BIN" serve --store "$D/store.db" --socket "$D/vaultd.sock" --key-file "$D/vaultd.key" \
	--socket-group nogroup --audit-log "$D/audit.jsonl" 2>"$D/vaultd.log" &
VPID=$!
wait_sock "$D/vaultd.sock" "$VPID" vaultd
curl -sf --unix-socket "$D/vaultd.sock" http://localhost/v1/health >/dev/null
# The same with every audit commit fsync'd before its answers (--audit-sync
# always), to show what the default's deferred fsync of read entries buys.
"$VAULTD_BIN" init --store "$D/strict.db" --key-file "$D/strict.key" >>"$D/init.log" 2>&1
"$VAULTD_BIN" serve --store "$D/strict.db" --socket "$D/strict.sock" --key-file "$D/strict.key" \
	--socket-group nogroup --audit-log "$D/strict.jsonl" --audit-sync always 2>"$D/strict.log" &
SPID=$!
wait_sock "$D/strict.sock" "$SPID" "vaultd --audit-sync always"

# vaultd's own objects, but the audit entries of reads are never committed
# to the store (tests/bench/audit_uncommitted.c): the rest of a read's cost.
"$UNCOMMITTED_BIN" init --store "$D/uncommitted.db" --key-file "$D/uncommitted.key" >>"$D/init.log" 2>&1
"$UNCOMMITTED_BIN" serve --store "$D/uncommitted.db" --socket "$D/uncommitted.sock" \
	--key-file "$D/uncommitted.key" --socket-group nogroup --audit-log "$D/uncommitted.jsonl" \
	2>"$D/uncommitted.log" &
UPID=$!
wait_sock "$D/uncommitted.sock" "$UPID" vaultd_uncommitted

# libmicrohttpd alone, with vaultd's flags and its default thread count (2
# per CPU): the ceiling of the HTTP layer before any auth, audit or store.
"$HELLO_BIN" "$D/hello.sock" "$((2 * $(nproc)))" 2>"$D/hello.log" &
HPID=$!
wait_sock "$D/hello.sock" "$HPID" mhd_hello

redis-server --port 0 --unixsocket "$D/redis.sock" --unixsocketperm 700 --save '' \
	--appendonly no --daemonize no --logfile "$D/redis.log" &
RPID=$!
wait_sock "$D/redis.sock" "$RPID" redis-server

declare -A S_RPS S_P50 S_P99 V_RPS V_P50 V_P99 V_CPU V_CLI W_RPS W_P50 W_P99 R_RPS R_P50 R_P99 R_CPU R_CLI
declare -A R_SPREAD
field() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p" <<<"$2"; }

# CPU time a process has used, in clock ticks (utime + stime). The server's
# CPU per request is steadier than its rate on a shared machine: another
# tenant's load costs wall time, not the server's own CPU.
TCK=$(getconf CLK_TCK)
cpu_ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }
us_per() { # ticks requests -> microseconds of CPU per request
	awk -v t="$1" -v n="$2" -v hz="$TCK" 'BEGIN{printf "%.1f", (n > 0) ? t / hz * 1e6 / n : 0}'
}

# loadgen reads the server's CPU itself, over the window it counts requests
# in (after its warm-up and setup, which ticks around the whole run would
# add), and its own.
run_loadgen() { # mode conns socket server-pid [flags] -> sets LINE, CPU and CLI (us per request)
	LINE=$("$LOADGEN_BIN" --socket "$3" --mode "$1" --conns "$2" --seconds "$SECS" \
		--server-pid "$4" "${@:5}") || {
		echo "bench: loadgen $1 at $2 connections reported errors: $LINE" >&2
		exit 1
	}
	CPU=$(field server_cpu_us "$LINE")
	CLI=$(field client_cpu_us "$LINE")
	echo "  $LINE" >&2
}

# redis-benchmark's own CPU, from bash's time: sets CSV and CLI.
TIMEFORMAT='%U %S'
run_redis_benchmark() { # requests, then redis-benchmark's arguments
	local n=$1 u s
	shift
	{ time redis-benchmark -s "$D/redis.sock" "$@" --csv >"$D/rb.csv" 2>"$D/rb.err"; } 2>"$D/rb.time"
	CSV=$(grep '^"GET"' "$D/rb.csv")
	read -r u s <"$D/rb.time"
	CLI=$(awk -v u="$u" -v s="$s" -v n="$n" 'BEGIN{printf "%.1f", (u + s) * 1e6 / n}')
}

# The ratio's two sides run alternately, ROUNDS times each, and the table
# gives each column's median: on a shared machine a neighbour's burst then
# lands on both sides, or on one round of the three, instead of all of one.
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
redis_get() { # conns -> one redis-benchmark GET run into R_* of round lists
	local n=$(($1 == 1 ? 80000 : 200000)) t0 rps p50 p99
	t0=$(cpu_ticks "$RPID")
	run_redis_benchmark "$n" -t get -d 32 -c "$1" -n "$n"
	rcpu+=("$(us_per "$(($(cpu_ticks "$RPID") - t0))" "$n")") rcli+=("$CLI")
	echo "  redis c=$1 $CSV server_cpu_us=${rcpu[-1]} client_cpu_us=$CLI" >&2
	IFS=, read -r _ rps _ _ p50 _ p99 _ <<<"$(tr -d '"' <<<"$CSV")"
	rr+=("${rps%.*}")
	rp50+=("$(awk -v m="$p50" 'BEGIN{printf "%d", m*1000}')")
	rp99+=("$(awk -v m="$p99" 'BEGIN{printf "%d", m*1000}')")
}
redis-benchmark -s "$D/redis.sock" -t set -d 32 -c 1 -n 1000 --csv >/dev/null # the key GET reads
echo "vaultd reads (token auth as nobody, audited, decrypted, ${SECS}s each) and redis-benchmark" \
	"GET (32-byte values), alternated, $ROUNDS rounds:" >&2
for c in "${READ_CONNS[@]}"; do
	vr=() vp50=() vp99=() vcpu=() vcli=() rr=() rp50=() rp99=() rcpu=() rcli=()
	ur=() up50=() up99=() ucpu=()
	for _ in $(seq 1 "$ROUNDS"); do
		run_loadgen read "$c" "$D/vaultd.sock" "$VPID"
		vr+=("$(field rps "$LINE")") vp50+=("$(field p50_us "$LINE")")
		vp99+=("$(field p99_us "$LINE")") vcpu+=("$CPU") vcli+=("$CLI")
		if [ "$c" -le 50 ]; then redis_get "$c"; fi
		if [ "$c" -eq 50 ]; then
			run_loadgen read 50 "$D/uncommitted.sock" "$UPID"
			ur+=("$(field rps "$LINE")") up50+=("$(field p50_us "$LINE")")
			up99+=("$(field p99_us "$LINE")") ucpu+=("$CPU")
		fi
	done
	V_RPS[$c]=$(median "${vr[@]}") V_P50[$c]=$(median "${vp50[@]}") V_P99[$c]=$(median "${vp99[@]}")
	V_CPU[$c]=$(median "${vcpu[@]}") V_CLI[$c]=$(median "${vcli[@]}")
	if [ "${#ur[@]}" -gt 0 ]; then
		U_RPS=$(median "${ur[@]}") U_P50=$(median "${up50[@]}") U_P99=$(median "${up99[@]}")
		U_CPU=$(median "${ucpu[@]}")
	fi
	if [ "${#rr[@]}" -gt 0 ]; then
		R_RPS[$c]=$(median "${rr[@]}") R_P50[$c]=$(median "${rp50[@]}") R_P99[$c]=$(median "${rp99[@]}")
		R_CPU[$c]=$(median "${rcpu[@]}") R_CLI[$c]=$(median "${rcli[@]}")
		for i in "${!vr[@]}"; do
			R_SPREAD[$c]+="$(awk -v a="${vr[$i]}" -v b="${rr[$i]}" 'BEGIN{printf "%.2f ", a/b}')"
		done
	fi
done
echo "vaultd audited no-op (GET /v1/health: HTTP + audit, no token, no store read):" >&2
run_loadgen health 50 "$D/vaultd.sock" "$VPID"
H_RPS=$(field rps "$LINE"); H_P50=$(field p50_us "$LINE"); H_P99=$(field p99_us "$LINE"); H_CPU=$CPU
echo "libmicrohttpd alone (mhd_hello: vaultd's flags, a fixed answer, no auth/audit/store):" >&2
run_loadgen health 50 "$D/hello.sock" "$HPID"
M_RPS=$(field rps "$LINE"); M_P50=$(field p50_us "$LINE"); M_P99=$(field p99_us "$LINE"); M_CPU=$CPU
echo "vaultd reads with --audit-sync always:" >&2
for c in 1 50; do
	run_loadgen read "$c" "$D/strict.sock" "$SPID"
	S_RPS[$c]=$(field rps "$LINE"); S_P50[$c]=$(field p50_us "$LINE"); S_P99[$c]=$(field p99_us "$LINE")
done
echo "vaultd durable writes (token auth, audited, fsync'd before the answer):" >&2
for c in "${WRITE_CONNS[@]}"; do
	run_loadgen write "$c" "$D/vaultd.sock" "$VPID"
	W_RPS[$c]=$(field rps "$LINE"); W_P50[$c]=$(field p50_us "$LINE"); W_P99[$c]=$(field p99_us "$LINE")
done
# One request per connection, as inject makes: connect, one read, close.
echo "a new connection for every request (what inject does), 1 client:" >&2
run_loadgen read 1 "$D/vaultd.sock" "$VPID" --fresh
F_RPS=$(field rps "$LINE"); F_P50=$(field p50_us "$LINE"); F_CPU=$CPU
run_loadgen health 1 "$D/hello.sock" "$HPID" --fresh
FM_RPS=$(field rps "$LINE"); FM_P50=$(field p50_us "$LINE")
echo "inject's own request: a new connection for one POST /v1/bundle of 5 secrets, 1 client:" >&2
run_loadgen bundle 1 "$D/vaultd.sock" "$VPID" --fresh
FB_RPS=$(field rps "$LINE"); FB_P50=$(field p50_us "$LINE"); FB_P99=$(field p99_us "$LINE"); FB_CPU=$CPU
t0=$(cpu_ticks "$RPID")
run_redis_benchmark 20000 -t get -d 32 -c 1 -n 20000 -k 0
FR_CPU=$(us_per "$(($(cpu_ticks "$RPID") - t0))" 20000)
echo "  redis -k 0: $CSV server_cpu_us=$FR_CPU client_cpu_us=$CLI" >&2
IFS=, read -r _ rps _ _ p50 _ <<<"$(tr -d '"' <<<"$CSV")"
FR_RPS=${rps%.*}
FR_P50=$(awk -v m="$p50" 'BEGIN{printf "%d", m*1000}')

echo
row='%-6s | %11s %7s %7s %7s %7s | %11s %7s %7s %7s %7s | %6s\n'
printf "$row" conns "vaultd rd/s" "p50 us" "p99 us" "cpu us" "cli us" "redis GET/s" "p50 us" \
	"p99 us" "cpu us" "cli us" ratio
printf -- '-------+----------------------------------------------+----------------------------------------------+-------\n'
for c in "${READ_CONNS[@]}"; do
	if [ -n "${R_RPS[$c]:-}" ]; then
		ratio=$(awk -v a="${V_RPS[$c]}" -v b="${R_RPS[$c]}" 'BEGIN{printf "%.2f", a/b}')
		printf "$row" "$c" "${V_RPS[$c]}" "${V_P50[$c]}" "${V_P99[$c]}" "${V_CPU[$c]}" "${V_CLI[$c]}" \
			"${R_RPS[$c]}" "${R_P50[$c]}" "${R_P99[$c]}" "${R_CPU[$c]}" "${R_CLI[$c]}" "$ratio"
	else
		printf "$row" "$c" "${V_RPS[$c]}" "${V_P50[$c]}" "${V_P99[$c]}" "${V_CPU[$c]}" "${V_CLI[$c]}" \
			- - - - - -
	fi
done
echo "(medians of $ROUNDS alternated rounds; ratio per round at 1/8/50: ${R_SPREAD[1]:-}/ ${R_SPREAD[8]:-}/ ${R_SPREAD[50]:-})"
echo "(cpu us: the server's own CPU time per request, user + system, all its threads; cli us:"
echo " the client's, loadgen or redis-benchmark. Both share the two cores, so a server's rate"
echo " here is bounded by 2 s / (cpu + cli) of CPU per second.)"
echo
printf '%-6s | %14s %8s %8s %7s | %6s   (audited no-op: GET /v1/health)\n' conns "req/s" "p50 us" \
	"p99 us" "cpu us" ratio
printf -- '-------+-----------------------------------------+-------\n'
printf '%-6s | %14s %8s %8s %7s | %6s\n' 50 "$H_RPS" "$H_P50" "$H_P99" "$H_CPU" \
	"$(awk -v a="$H_RPS" -v b="${R_RPS[50]}" 'BEGIN{printf "%.2f", a/b}')"
echo
printf '%-6s | %14s %8s %8s %7s | %6s   (reads whose audit entries are not committed: vaultd_uncommitted)\n' \
	conns "rd/s" "p50 us" "p99 us" "cpu us" ratio
printf -- '-------+-----------------------------------------+-------\n'
printf '%-6s | %14s %8s %8s %7s | %6s\n' 50 "$U_RPS" "$U_P50" "$U_P99" "$U_CPU" \
	"$(awk -v a="$U_RPS" -v b="${R_RPS[50]}" 'BEGIN{printf "%.2f", a/b}')"
echo "(a bench baseline, not a product configuration: the same reads, with everything but the"
echo " SQLite commit of their audit entries; medians of the same alternated rounds)"
echo
printf '%-6s | %14s %8s %8s %7s | %6s   (libmicrohttpd alone: mhd_hello, fixed answer)\n' conns \
	"req/s" "p50 us" "p99 us" "cpu us" ratio
printf -- '-------+-----------------------------------------+-------\n'
printf '%-6s | %14s %8s %8s %7s | %6s\n' 50 "$M_RPS" "$M_P50" "$M_P99" "$M_CPU" \
	"$(awk -v a="$M_RPS" -v b="${R_RPS[50]}" 'BEGIN{printf "%.2f", a/b}')"
echo
printf '%-6s | %9s %7s %7s | %9s %7s | %9s %7s %7s | %6s   (a new connection per request)\n' conns \
	"vaultd/s" "p50 us" "cpu us" "mhd/s" "p50 us" "redis/s" "p50 us" "cpu us" ratio
printf -- '-------+---------------------------+-------------------+---------------------------+-------\n'
printf '%-6s | %9s %7s %7s | %9s %7s | %9s %7s %7s | %6s\n' 1 "$F_RPS" "$F_P50" "$F_CPU" "$FM_RPS" \
	"$FM_P50" "$FR_RPS" "$FR_P50" "$FR_CPU" \
	"$(awk -v a="$F_RPS" -v b="$FR_RPS" 'BEGIN{printf "%.2f", a/b}')"
echo
printf '%-6s | %14s %8s %8s %7s   (a new connection per bundle of 5 secrets: inject'"'"'s request)\n' \
	conns "bundles/s" "p50 us" "p99 us" "cpu us"
printf -- '-------+-----------------------------------------\n'
printf '%-6s | %14s %8s %8s %7s\n' 1 "$FB_RPS" "$FB_P50" "$FB_P99" "$FB_CPU"
echo
printf '%-6s | %14s %8s %8s | %6s   (reads, --audit-sync always)\n' conns "rd/s" "p50 us" "p99 us" ratio
printf -- '-------+---------------------------------+-------\n'
for c in 1 50; do
	ratio=$(awk -v a="${S_RPS[$c]}" -v b="${R_RPS[$c]}" 'BEGIN{printf "%.2f", a/b}')
	printf '%-6s | %14s %8s %8s | %6s\n' "$c" "${S_RPS[$c]}" "${S_P50[$c]}" "${S_P99[$c]}" "$ratio"
done
echo
printf '%-6s | %14s %8s %8s\n' conns "durable wr/s" "p50 us" "p99 us"
printf -- '-------+---------------------------------\n'
for c in "${WRITE_CONNS[@]}"; do
	printf '%-6s | %14s %8s %8s\n' "$c" "${W_RPS[$c]}" "${W_P50[$c]}" "${W_P99[$c]}"
done
echo
r50=$(awk -v a="${V_RPS[50]}" -v b="${R_RPS[50]}" 'BEGIN{printf "%.2f", a/b}')
best_w=0
for c in "${WRITE_CONNS[@]}"; do best_w=$(awk -v a="$best_w" -v b="${W_RPS[$c]}" 'BEGIN{print (b>a)?b:a}'); done
echo "targets: reads at 50 conns >= 0.8x redis GET: ${r50}x $(awk -v r="$r50" 'BEGIN{print (r>=0.8)?"MET":"NOT MET"}');" \
	"durable writes >= 2000/s: ${best_w}/s $(awk -v w="$best_w" 'BEGIN{print (w>=2000)?"MET":"NOT MET"}')"
echo "(the same reads without the SQLite commit of their audit entries, vaultd_uncommitted:" \
	"$(awk -v a="$U_RPS" -v b="${R_RPS[50]}" 'BEGIN{printf "%.2f", a/b}')x)"
