#!/usr/bin/env bash
# HARDENING.md "Build-time: hardening flags": the programs carry full RELRO
# (GNU_RELRO + BIND_NOW), a non-executable stack and PIE, checked with
# readelf. In a build without sanitizers the release flags are checked
# too: the stack protector and _FORTIFY_SOURCE leave their symbols.
#
# Prints "abuse: hardening-flags: <program>-<check>=<value> (target ...)
# PASS|FAIL". Environment (from CTest): PARLEYD, PARLEYCTL, PARLEY.
set -euo pipefail
export LC_ALL=C

: "${PARLEYD:?PARLEYD must name the parleyd binary}"
: "${PARLEYCTL:?PARLEYCTL must name the parleyctl binary}"
: "${PARLEY:?PARLEY must name the parley binary}"

command -v readelf >/dev/null 2>&1 || { echo "FAIL: readelf not found (binutils)" >&2; exit 1; }

failed=0
figure() { # figure NAME VALUE TARGET OK(0|1)
	local verdict=PASS
	if [ "$4" != 1 ]; then
		verdict=FAIL
		failed=$((failed + 1))
	fi
	printf 'abuse: hardening-flags: %s=%s (target %s) %s\n' "$1" "$2" "$3" "$verdict"
}
yes_no() { if "$@"; then echo 1; else echo 0; fi; }

for bin in "$PARLEYD" "$PARLEYCTL" "$PARLEY"; do
	name=$(basename "$bin")
	[ -x "$bin" ] || { figure "$name-present" "no" "built" 0; continue; }
	dyn=$(readelf -W -d "$bin")
	segs=$(readelf -W -l "$bin")
	hdr=$(readelf -W -h "$bin")
	syms=$(readelf -W --dyn-syms "$bin")

	ok=$(yes_no grep -qE '\(BIND_NOW\)|\(FLAGS\).*BIND_NOW|\(FLAGS_1\).*NOW' <<<"$dyn")
	figure "$name-bind-now" "$([ "$ok" = 1 ] && echo yes || echo no)" "BIND_NOW" "$ok"

	ok=$(yes_no grep -qE '^ *GNU_RELRO ' <<<"$segs")
	figure "$name-relro" "$([ "$ok" = 1 ] && echo yes || echo no)" "GNU_RELRO" "$ok"

	stack=$(awk '$1 == "GNU_STACK" { print $(NF - 1) }' <<<"$segs")
	ok=$(yes_no test "$stack" = RW)
	figure "$name-stack" "${stack:-none}" "RW (not executable)" "$ok"

	type=$(awk -F: '/^ *Type:/ { gsub(/^ +/, "", $2); print $2 }' <<<"$hdr")
	ok=0
	if [[ $type == DYN* ]] && grep -qE '\(FLAGS_1\).*PIE' <<<"$dyn"; then
		ok=1
	fi
	figure "$name-pie" "${type%% *}" "DYN with FLAGS_1 PIE" "$ok"

	if grep -qE '__asan_init|__tsan_init' <<<"$syms"; then
		echo "abuse: hardening-flags: note: $name is a sanitizer build; stack protector and _FORTIFY_SOURCE are not checked"
		continue
	fi
	ok=$(yes_no grep -q '__stack_chk_fail' <<<"$syms")
	figure "$name-stack-protector" "$([ "$ok" = 1 ] && echo yes || echo no)" "__stack_chk_fail referenced" "$ok"
	n=$(grep -cE ' __[a-z_]+_chk(@|$)' <<<"$syms" || true)
	ok=$(yes_no test "$n" -gt 0)
	figure "$name-fortify" "$n checked functions" "_FORTIFY_SOURCE=2: some __*_chk" "$ok"
done

if ((failed > 0)); then
	echo "FAIL: $failed check(s) failed" >&2
	exit 1
fi
echo "PASS"
