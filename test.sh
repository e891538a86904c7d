#!/usr/bin/env bash
# Installs what is missing, builds a normal and an ASan+UBSan tree, and runs
# every test in both (in the normal tree the unit and daemon suites run under
# valgrind too), then vaultd built with ThreadSanitizer under load, then the
# libFuzzer targets for a short run each.
# With CI=true a skipped test is a failure.
set -euo pipefail
cd "$(dirname "$0")"

./scripts/deps.sh --test

jobs=$(nproc)
run_tree() { # dir, extra cmake args...
	local dir=$1; shift
	cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
	cmake --build "$dir" -j "$jobs"
	local log="$dir/ctest.log"
	set +e
	ctest --test-dir "$dir" --output-on-failure -j "$jobs" --timeout 600 2>&1 | tee "$log"
	local rc=${PIPESTATUS[0]}
	set -e
	if [ "$rc" -ne 0 ]; then
		echo "test.sh: tests failed in $dir" >&2
		exit "$rc"
	fi
	if [ "${CI:-}" = "true" ] && grep -Eq '\*\*\*(Skipped|Not Run)' "$log"; then
		echo "test.sh: CI=true and some tests were skipped in $dir:" >&2
		grep -E '\*\*\*(Skipped|Not Run)' "$log" >&2
		exit 1
	fi
}

# The daemon's threads (HTTP threads, write workers, audit writer, group
# commit) under ThreadSanitizer: only vaultd and loadgen are built (static
# inject and TSan do not mix), and only the tests labelled tsan run.
run_tsan() {
	local dir=build-tsan
	cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVAULT_TSAN=ON >/dev/null
	cmake --build "$dir" -j "$jobs" --target vaultd loadgen
	ctest --test-dir "$dir" --output-on-failure -L tsan --timeout 600 ||
		{ echo "test.sh: the ThreadSanitizer test failed" >&2; exit 1; }
}

# The parsers that take hostile input under libFuzzer (clang, ASan+UBSan):
# only the fuzz targets are built, and each runs a fixed series of inputs
# from its seeds (tests/fuzz). A crash, a sanitizer report, a leak or a broken
# invariant fails the run; the input is kept as build-fuzz/tests/fuzz/crash-*.
run_fuzz() {
	local dir=build-fuzz
	cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang-14 \
		-DVAULT_FUZZ=ON >/dev/null
	cmake --build "$dir" -j "$jobs" --target fuzz_all
	ctest --test-dir "$dir" --output-on-failure -j "$jobs" -L fuzz ||
		{ echo "test.sh: a fuzz target failed (inputs: $dir/tests/fuzz/crash-*)" >&2; exit 1; }
}

run_tree build
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	run_tree build-asan -DVAULT_SANITIZE=ON
run_tsan
run_fuzz
echo "test.sh: all tests passed (normal, ASan+UBSan, ThreadSanitizer and fuzz builds)"
