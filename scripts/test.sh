#!/usr/bin/env bash
# test.sh - build parley and run the whole test suite.
#
#   scripts/test.sh           warnings-as-errors build (build/) and its tests,
#                             then an ASan+UBSan build (build-asan/) and its tests
#   scripts/test.sh --quick   skip the sanitizer build
#
# Exits non-zero if a build or a test fails. The last line is the summary:
# "N passed, M failed", counted over all test runs (a failed build or a
# test run that ends without a summary counts as one failure).
set -euo pipefail
export LC_ALL=C

quick=0
for arg in "$@"; do
	case $arg in
	--quick) quick=1 ;;
	-h | --help) sed -n '2,11s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; exit 0 ;;
	*) echo "test.sh: unknown argument: $arg (try --help)" >&2; exit 2 ;;
	esac
done

top=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
cd -- "$top"

jobs=$(nproc 2>/dev/null || echo 2)
passed=0
failed=0
declare -a notes=()
start=$SECONDS

step() { printf '\n==> %s\n' "$*"; }

# build NAME DIR CMAKE-ARGS... : configures and builds; returns non-zero on failure.
build() {
	local name=$1 dir=$2 t=$SECONDS
	shift 2
	step "$name: configure ($dir)"
	if ! cmake -S "$top" -B "$top/$dir" "$@"; then
		notes+=("$name: cmake configure FAILED")
		failed=$((failed + 1))
		return 1
	fi
	step "$name: build"
	if ! cmake --build "$top/$dir" -j "$jobs"; then
		notes+=("$name: build FAILED")
		failed=$((failed + 1))
		return 1
	fi
	printf '%s: built in %ds\n' "$name" "$((SECONDS - t))"
}

# run_tests NAME DIR [ENV=VALUE...] : runs ctest and adds up its results.
run_tests() {
	local name=$1 dir=$2 t=$SECONDS log rc line total nfail
	shift 2
	log=$(mktemp "${TMPDIR:-/tmp}/parley-ctest.XXXXXX")
	step "$name: tests"
	set +e
	env "$@" ctest --test-dir "$top/$dir" --output-on-failure -j2 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	set -e
	# "100% tests passed, 0 tests failed out of 12"
	line=$(grep -E 'tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -n 1 || true)
	if [[ $line =~ ([0-9]+)\ tests?\ failed\ out\ of\ ([0-9]+) ]]; then
		nfail=${BASH_REMATCH[1]}
		total=${BASH_REMATCH[2]}
		passed=$((passed + total - nfail))
		failed=$((failed + nfail))
		notes+=("$name: $((total - nfail)) passed, $nfail failed ($((SECONDS - t))s)")
		if ((rc != 0 && nfail == 0)); then
			failed=$((failed + 1))
			notes+=("$name: ctest exited with status $rc")
		fi
	elif grep -q 'No tests were found' "$log"; then
		notes+=("$name: no tests found")
		if ((rc != 0)); then
			failed=$((failed + 1))
			notes+=("$name: ctest exited with status $rc")
		fi
	else
		failed=$((failed + 1))
		notes+=("$name: ctest ended without a summary (status $rc)")
	fi
	rm -f -- "$log"
}

step "checking build dependencies"
if ! bash "$top/scripts/deps.sh"; then
	echo "0 passed, 1 failed"
	exit 1
fi

if build release build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPARLEY_WERROR=ON; then
	run_tests release build
fi

if ((quick)); then
	notes+=("asan: skipped (--quick)")
else
	if build asan build-asan -DCMAKE_BUILD_TYPE=Debug -DPARLEY_SANITIZE=ON; then
		run_tests asan build-asan \
			ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
			UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
	fi
fi

step "summary ($((SECONDS - start))s)"
for n in "${notes[@]}"; do
	printf '  %s\n' "$n"
done
echo "$passed passed, $failed failed"
((failed == 0))
