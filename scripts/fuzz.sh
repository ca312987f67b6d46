#!/usr/bin/env bash
# fuzz.sh - build parley's libFuzzer targets and run each one for a while.
#
#   scripts/fuzz.sh                 every target, 60 s each
#   scripts/fuzz.sh 10              every target, 10 s each
#   scripts/fuzz.sh 30 fuzz_line    only the targets named
#
# Installs clang and the libFuzzer runtime when missing (apt-get, as
# scripts/deps.sh does), configures build-fuzz with clang and PARLEY_FUZZ,
# and runs each target over a scratch copy of its seed corpus in
# tests/fuzz/corpus/<target>/, which is never written to. A crash leaves
# its input in build-fuzz/artifacts/<target>/ and makes the script exit 1.
set -euo pipefail
export LC_ALL=C

prog=${0##*/}
die() { printf '%s: error: %s\n' "$prog" "$*" >&2; exit 1; }
note() { printf '%s: %s\n' "$prog" "$*" >&2; }

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=$root/build-fuzz
fuzzdir=$root/tests/fuzz

seconds=60
case ${1:-} in
-h | --help)
	sed -n '2,12s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
	exit 0
	;;
'') ;;
*[!0-9]*) die "seconds must be a whole number, not '$1' (try --help)" ;;
*) seconds=$1 ;;
esac
(($# > 0)) && shift
((seconds > 0)) || die "seconds must be at least 1"

# --- toolchain -------------------------------------------------------------

PACKAGES=(clang libclang-rt-14-dev)
missing=()
for p in "${PACKAGES[@]}"; do
	status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
	[[ $status == ii* ]] || missing+=("$p")
done
if ((${#missing[@]} > 0)); then
	as_root=()
	if ((EUID != 0)); then
		command -v sudo >/dev/null 2>&1 ||
			die "not root and sudo is not available; as root run: apt-get update && apt-get install ${missing[*]}"
		as_root=(sudo)
	fi
	note "installing: ${missing[*]}"
	"${as_root[@]}" apt-get update -qq || die "apt-get update failed"
	"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -qq --no-install-recommends "${missing[@]}" ||
		die "apt-get install failed for: ${missing[*]}"
fi
command -v clang >/dev/null 2>&1 || die "clang not found after installing it"

# --- targets -----------------------------------------------------------------

all=()
for src in "$fuzzdir"/fuzz_*.c; do
	[[ -e $src ]] || continue
	name=${src##*/}
	all+=("${name%.c}")
done
((${#all[@]} > 0)) || die "no fuzz targets in $fuzzdir"

if (($# > 0)); then
	targets=("$@")
	for t in "${targets[@]}"; do
		[[ -f $fuzzdir/$t.c ]] || die "unknown target '$t' (have: ${all[*]})"
	done
else
	targets=("${all[@]}")
fi

# --- build -------------------------------------------------------------------

note "configuring $build"
mkdir -p "$build"
CC=clang cmake -S "$root" -B "$build" -DCMAKE_C_COMPILER=clang \
	-DCMAKE_BUILD_TYPE=RelWithDebInfo -DPARLEY_FUZZ=ON -DPARLEY_TESTS=OFF \
	>"$build/configure.log" 2>&1 ||
	{ cat "$build/configure.log" >&2; die "cmake configure failed"; }
note "building: ${targets[*]}"
cmake --build "$build" --parallel "$(nproc)" --target "${targets[@]}" ||
	die "build failed"

# --- run ---------------------------------------------------------------------

scratch=$(mktemp -d "${TMPDIR:-/tmp}/parley-fuzz.XXXXXX")
trap 'rm -rf "$scratch"' EXIT

failed=()
for t in "${targets[@]}"; do
	bin=$build/tests/fuzz/$t
	[[ -x $bin ]] || die "$bin was not built"
	seeds=$fuzzdir/corpus/$t
	corpus=$scratch/$t
	artifacts=$build/artifacts/$t
	mkdir -p "$corpus" "$artifacts"
	if [[ -d $seeds ]]; then
		cp -R "$seeds"/. "$corpus"/
	else
		note "warning: no seed corpus for $t ($seeds)"
	fi

	opts=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048
		-print_final_stats=1 -artifact_prefix="$artifacts/")
	[[ -f $fuzzdir/$t.dict ]] && opts+=(-dict="$fuzzdir/$t.dict")
	case $t in
	# Room for lines longer than the largest max_line the target picks.
	fuzz_line) opts+=(-max_len=20000) ;;
	esac

	note "running $t for ${seconds}s"
	log=$build/$t.log
	rc=0
	"$bin" "${opts[@]}" "$corpus" >"$log" 2>&1 || rc=$?
	grep -E '^(stat::|Done |INFO: Running|INFO: seed corpus)' "$log" >&2 || true
	if ((rc != 0)); then
		grep -E -A40 '^(==[0-9]+==ERROR|.*runtime error:|==[0-9]+== ERROR)' "$log" >&2 ||
			tail -n 40 "$log" >&2
		note "$t FAILED (exit $rc); input saved in $artifacts/, full log in $log"
		failed+=("$t")
	else
		note "$t ok"
	fi
done

if ((${#failed[@]} > 0)); then
	die "crashes in: ${failed[*]}"
fi
note "all targets ran ${seconds}s without a crash: ${targets[*]}"
