#!/usr/bin/env bash
# test.sh - build parley and run the whole test suite.
#
#   scripts/test.sh           the stages below, in order
#   scripts/test.sh --quick   release build, its tests and the abuse suite only
#   scripts/test.sh --long    the abuse suite in its long mode (docs/TESTING.md)
#   scripts/test.sh --no-abuse  skip the abuse suite (release and ASan)
#
# Stages: a warnings-as-errors release build (build/) and its tests, static
# checks included; the abuse suite (tests/abuse/, label "abuse") against
# that build, one test at a time; an ASan+UBSan build (build-asan/) with
# its tests and a short abuse subset (label "sanitize"); a TSan build
# (build-tsan/) running the login and storage tests; the libFuzzer targets
# (scripts/fuzz.sh: line framer, config parser, command dispatcher), each
# for PARLEY_FUZZ_SECONDS (60) over its committed seed corpus.
#
# Exits non-zero if a build or a test fails. The last line is the summary:
# "N passed, M failed", counted over all test runs (a failed build or a
# test run that ends without a summary counts as one failure).
set -euo pipefail
export LC_ALL=C

quick=0
abuse=1
long=0
for arg in "$@"; do
	case $arg in
	--quick) quick=1 ;;
	--long) long=1 ;;
	--no-abuse) abuse=0 ;;
	-h | --help) sed -n '2,19s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; exit 0 ;;
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

# build NAME DIR CMAKE-ARGS... : configures and builds; returns non-zero on
# failure. With BUILD_TARGETS set (space-separated), builds only those.
build() {
	local name=$1 dir=$2 t=$SECONDS
	local -a targets=()
	shift 2
	if [[ -n ${BUILD_TARGETS:-} ]]; then
		read -r -a targets <<<"$BUILD_TARGETS"
		targets=(--target "${targets[@]}")
	fi
	step "$name: configure ($dir)"
	if ! cmake -S "$top" -B "$top/$dir" "$@"; then
		notes+=("$name: cmake configure FAILED")
		failed=$((failed + 1))
		return 1
	fi
	step "$name: build"
	if ! cmake --build "$top/$dir" -j "$jobs" "${targets[@]}"; then
		notes+=("$name: build FAILED")
		failed=$((failed + 1))
		return 1
	fi
	printf '%s: built in %ds\n' "$name" "$((SECONDS - t))"
}

# run_tests NAME DIR "CTEST-ARGS" [ENV=VALUE...] : runs ctest (CTEST-ARGS
# split on blanks: selection and parallelism) and adds up its results.
run_tests() {
	local name=$1 dir=$2 t=$SECONDS log rc line total nfail
	local -a sel=()
	read -r -a sel <<<"$3"
	shift 3
	log=$(mktemp "${TMPDIR:-/tmp}/parley-ctest.XXXXXX")
	step "$name: tests"
	set +e
	env "$@" ctest --test-dir "$top/$dir" --output-on-failure "${sel[@]}" 2>&1 | tee "$log"
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

abuse_env=(PARLEY_ABUSE_LONG=$long)
abuse_name=abuse
((long == 0)) || abuse_name="abuse (long mode)"
asan_env=(ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1)

if build release build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPARLEY_WERROR=ON; then
	run_tests release build "-j2 -LE abuse"
	# Timings and memory are the figures: one test at a time.
	if ((abuse)); then
		run_tests "$abuse_name" build "-j1 -L abuse" "${abuse_env[@]}"
	else
		notes+=("abuse: skipped (--no-abuse)")
	fi
fi

if ((quick)); then
	notes+=("asan, tsan: skipped (--quick)")
else
	if build asan build-asan -DCMAKE_BUILD_TYPE=Debug -DPARLEY_SANITIZE=ON; then
		# Static checks look at sources and release binaries: done above.
		run_tests asan build-asan "-j2 -LE abuse|static" "${asan_env[@]}"
		if ((abuse)); then
			run_tests "asan abuse subset" build-asan "-j1 -L sanitize" \
				"${asan_env[@]}" "${abuse_env[@]}"
		fi
	fi
	# ThreadSanitizer for the threaded parts: the argon2 pool (login), the
	# storage thread (direct messages, SIGKILL during writes) and the
	# checkpoint thread. The flags go in by hand: PARLEY_SANITIZE means ASan.
	if BUILD_TARGETS="parleyd parleyctl parley test_login test_dm test_abuse_auth test_abuse_store test_checkpoint" \
		build tsan build-tsan -DCMAKE_BUILD_TYPE=Debug -DPARLEY_WERROR=ON \
		"-DCMAKE_C_FLAGS=-fsanitize=thread -fno-omit-frame-pointer" \
		-DCMAKE_EXE_LINKER_FLAGS=-fsanitize=thread; then
		run_tests tsan build-tsan \
			"-j1 -R ^(unit[.]test_checkpoint|integration[.]test_(login|dm)|abuse[.](auth[.](login_flood|enumeration)|store[.](sigkill_writes|sqlite_lock)))\$" \
			TSAN_OPTIONS=halt_on_error=0:second_deadlock_stack=1 \
			"${abuse_env[@]}"
	fi
fi

if ((quick == 0)); then
	step "fuzz"
	t=$SECONDS
	if bash "$top/scripts/fuzz.sh" "${PARLEY_FUZZ_SECONDS:-60}"; then
		passed=$((passed + 1))
		notes+=("fuzz: every target ran without a crash ($((SECONDS - t))s)")
	else
		failed=$((failed + 1))
		notes+=("fuzz: FAILED (crash inputs in build-fuzz/artifacts/)")
	fi
fi

step "summary ($((SECONDS - start))s)"
for n in "${notes[@]}"; do
	printf '  %s\n' "$n"
done
echo "$passed passed, $failed failed"
((failed == 0))
