#!/usr/bin/env bash
# Smoke test of the benchmark: scripts/bench.sh --smoke runs every
# parley-bench scenario once for about a second against a fresh parleyd
# with the binaries of this build, and each must come back correct — not
# fast: deliveries arrive and none are lost, acknowledged messages are
# committed (the pairs scenario's HISTORY check), every idle connection is
# logged in and answers PING, the reconnect storms complete connects, and
# the reports are one key=value line plus valid JSON.
set -euo pipefail
export LC_ALL=C

SRCDIR=${SRCDIR:-$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)}
BUILD=${BUILD:-$SRCDIR/build}
PARLEYD=${PARLEYD:-$BUILD/parleyd}
bindir=$(dirname -- "$PARLEYD")
for f in parleyd parleyctl parley-bench; do
	[[ -x $bindir/$f ]] || { echo "FAIL: $bindir/$f not found" >&2; exit 1; }
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/test_bench_smoke.XXXXXX")
trap 'rm -rf -- "$tmp"' EXIT

failures=0
checks=0
fail() { printf 'FAIL: %s\n' "$*" >&2; failures=$((failures + 1)); }
ok() { checks=$((checks + 1)); }

# ---- parley-bench on its own ---------------------------------------------------

rc=0
"$bindir/parley-bench" --help >"$tmp/help" 2>&1 || rc=$?
if [[ $rc == 0 ]] && grep -q 'fanout' "$tmp/help"; then ok; else fail "--help (exit $rc)"; fi
rc=0
"$bindir/parley-bench" nosuch --cafile /dev/null >/dev/null 2>&1 || rc=$?
if [[ $rc == 2 ]]; then ok; else fail "unknown scenario: exit $rc, expected 2"; fi
rc=0
"$bindir/parley-bench" fanout --cafile /dev/null --host 192.0.2.1 >/dev/null 2>&1 || rc=$?
if [[ $rc != 0 ]]; then ok; else fail "a non-loopback --host was accepted"; fi

# ---- every scenario, one short run ------------------------------------------------

rc=0
timeout 280 bash "$SRCDIR/scripts/bench.sh" --smoke --bin-dir "$bindir" \
    --results "$tmp/results.jsonl" >"$tmp/out" 2>"$tmp/err" || rc=$?
if [[ $rc != 0 ]]; then
	fail "bench.sh --smoke exited $rc"
	sed 's/^/    /' "$tmp/err" >&2
fi

# kv LINE KEY
kv() {
	local f
	for f in $1; do
		[[ ${f%%=*} == "$2" ]] && { printf '%s' "${f#*=}"; return 0; }
	done
	printf ''
}
# line N: the Nth report (one per scenario, in bench.sh --list order).
mapfile -t lines <"$tmp/out"
mapfile -t names < <(bash "$SRCDIR/scripts/bench.sh" --list)
if [[ ${#lines[@]} == "${#names[@]}" ]]; then ok; else
	fail "${#lines[@]} reports for ${#names[@]} scenarios"
fi

positive() { awk -v x="$1" 'BEGIN { exit !(x + 0 > 0) }'; }
expect() {      # expect NAME DESCRIPTION CONDITION...
	local name=$1 what=$2; shift 2
	if "$@"; then ok; else fail "$name: $what (${line:-no report})"; fi
}

for i in "${!names[@]}"; do
	name=${names[$i]}
	line=${lines[$i]:-}
	result=$(kv "$line" result)
	# Token logins are optional for the server: a clean skip is fine.
	if [[ $result == skipped && ($name == connect-token || $name == connect-resume) ]]; then
		printf 'note: %s skipped: %s\n' "$name" "$(kv "$line" reason)" >&2
		ok
		continue
	fi
	expect "$name" "result=ok" test "$result" = ok
	case $name in
	fanout*)
		expect "$name" "deliveries" positive "$(kv "$line" deliveries_per_s)"
		expect "$name" "no lost deliveries" test "$(kv "$line" lost)" = 0
		expect "$name" "no errors" test "$(kv "$line" errors)" = 0
		expect "$name" "latency percentiles" positive "$(kv "$line" lat_p99_us)"
		expect "$name" "server CPU from /proc" positive "$(kv "$line" server_cpu_s)" ;;
	pairs)
		expect "$name" "messages" positive "$(kv "$line" msgs_per_s)"
		expect "$name" "acknowledged = committed" test "$(kv "$line" verify)" = ok ;;
	idle*)
		expect "$name" "RSS per connection" positive "$(kv "$line" rss_per_conn_kib)"
		expect "$name" "server fds cover the connections" test \
		    "$(kv "$line" server_fds)" -ge "$(kv "$line" conns)" ;;
	connect*)
		expect "$name" "connects" positive "$(kv "$line" connects)"
		expect "$name" "per server CPU-second" positive "$(kv "$line" connects_per_cpu_s)"
		expect "$name" "PING round trips" positive "$(kv "$line" ping_samples)" ;;
	store*)
		expect "$name" "commits" positive "$(kv "$line" msgs_per_s)" ;;
	esac
	[[ $name == connect-resume && $result == ok ]] &&
		expect "$name" "sessions resumed" positive "$(kv "$line" resumed_pct)"
done

# The JSON lines parse and carry the same scenarios.
if command -v python3 >/dev/null; then
	if python3 -c '
import json, sys
n = 0
for l in open(sys.argv[1]):
    d = json.loads(l)
    assert d["scenario"] and d["result"] in ("ok", "skipped"), d
    n += 1
assert n == int(sys.argv[2]), n
' "$tmp/results.jsonl" "${#names[@]}" 2>"$tmp/json.err"; then ok; else
		fail "JSON results: $(tail -n1 "$tmp/json.err")"
	fi
fi

if ((failures)); then
	printf '%d of %d checks failed\n' "$failures" "$((checks + failures))" >&2
	exit 1
fi
printf 'ok: %d checks\n' "$checks"
