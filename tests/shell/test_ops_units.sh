#!/usr/bin/env bash
# Tests the installed systemd units (HARDENING "Build-time"):
#   systemd-analyze security --offline=true --threshold=20: exposure <= 2.0
#   systemd-analyze verify --man=no: prints nothing
# and what the units promise: Type=notify, watchdog, SIGHUP reload, the
# parley user, state and configuration folders, LimitNOFILE above
# max_connections, socket activation. Where strace works, parleyd is run
# through start, a TLS session, a reload and shutdown, and every system
# call it makes must pass the unit's SystemCallFilter=; no mapping may be
# writable and executable at once (MemoryDenyWriteExecute=).
# Without systemd-analyze the test says so and passes.
set -euo pipefail
export LC_ALL=C

SRCDIR=${SRCDIR:-$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)}
PARLEYD=${PARLEYD:?PARLEYD must name the built parleyd (ctest sets it)}
BUILD=$(cd -- "${BUILDDIR:-$(dirname -- "$PARLEYD")}" && pwd)
readonly MAX_EXPOSURE=2.0

if ! command -v systemd-analyze >/dev/null 2>&1; then
	echo "SKIP: systemd-analyze is not installed (Debian package systemd); units not checked"
	exit 0
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/test_ops_units.XXXXXX")
pid=
cleanup() {
	if [[ -n $pid ]]; then kill -9 "$pid" 2>/dev/null || true; fi
	[[ -n ${KEEP_TMP:-} ]] || rm -rf -- "$tmp"
}
trap cleanup EXIT

failures=0
checks=0
fail() { printf 'FAIL: %s\n' "$*" >&2; failures=$((failures + 1)); }
ok() { checks=$((checks + 1)); }
check() {
	local what=$1; shift
	if "$@" >"$tmp/last.out" 2>&1; then ok; else
		fail "$what"
		sed 's/^/    /' "$tmp/last.out" >&2
	fi
}
has_line() { grep -qx -- "$2" "$1"; }
has_re() { grep -Eq -- "$2" "$1"; }

root=$tmp/root
if ! DESTDIR=$root cmake --install "$BUILD" --prefix /usr >"$tmp/install.log" 2>&1; then
	cat "$tmp/install.log" >&2
	echo "FAIL: cmake --install failed; cannot go on" >&2
	exit 1
fi
unitdir=$root/usr/lib/systemd/system
unit=$unitdir/parleyd.service
socket=$unitdir/parleyd.socket

# ---- systemd-analyze security ------------------------------------------------

rc=0
systemd-analyze security --offline=true --threshold=20 "$unit" >"$tmp/security.out" 2>&1 || rc=$?
exposure=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9][0-9.]*\).*/\1/p' "$tmp/security.out")
if [[ -z $exposure ]]; then
	fail "systemd-analyze security printed no exposure level"
	sed 's/^/    /' "$tmp/security.out" >&2
else
	echo "systemd-analyze security: exposure $exposure (at most $MAX_EXPOSURE)"
	if awk -v e="$exposure" -v m="$MAX_EXPOSURE" 'BEGIN { exit !(e <= m) }'; then ok; else
		fail "exposure $exposure is above $MAX_EXPOSURE"
		grep '✗' "$tmp/security.out" | sed 's/^/    /' >&2 || true
	fi
fi
check "systemd-analyze security --threshold=20 exits 0" test "$rc" -eq 0

# ---- systemd-analyze verify ----------------------------------------------------

# verify wants ExecStart= to exist: point it at the DESTDIR copy.
mkdir -p "$tmp/verify"
sed "s|^ExecStart=/usr/sbin/parleyd|ExecStart=$root/usr/sbin/parleyd|" "$unit" >"$tmp/verify/parleyd.service"
cp -- "$socket" "$tmp/verify/parleyd.socket"
rc=0
systemd-analyze verify --man=no "$tmp/verify/parleyd.service" "$tmp/verify/parleyd.socket" \
	>"$tmp/verify.out" 2>&1 || rc=$?
check "systemd-analyze verify exits 0" test "$rc" -eq 0
check "systemd-analyze verify prints nothing" test ! -s "$tmp/verify.out"
[[ ! -s $tmp/verify.out ]] || sed 's/^/    /' "$tmp/verify.out" >&2
# The check can fail: a broken copy is reported.
sed 's/^Type=notify/Type=notyfy/' "$tmp/verify/parleyd.service" >"$tmp/verify/broken.service"
systemd-analyze verify --man=no "$tmp/verify/broken.service" >"$tmp/broken.out" 2>&1 || true
check "systemd-analyze verify reports a broken unit" test -s "$tmp/broken.out"

# ---- what the units promise ----------------------------------------------------

check "Type=notify" has_line "$unit" "Type=notify"
check "WatchdogSec= is set" has_re "$unit" '^WatchdogSec=[1-9]'
check "ExecReload= sends SIGHUP" has_re "$unit" '^ExecReload=.*kill -HUP \$MAINPID'
check "a dedicated user" has_re "$unit" '^(User=parley|DynamicUser=yes)$'
check "StateDirectory=parley" has_line "$unit" "StateDirectory=parley"
check "ConfigurationDirectory=parley" has_line "$unit" "ConfigurationDirectory=parley"
check "no capabilities" has_line "$unit" "CapabilityBoundingSet="
check "the socket unit listens on 7667" has_re "$socket" '^ListenStream=(\[::\]:)?7667$'
maxc=$(sed -n 's/^max_connections *= *\([0-9]*\).*/\1/p' "$root/etc/parley/parleyd.conf")
nofile=$(sed -n 's/^LimitNOFILE=\([0-9]*\).*/\1/p' "$unit")
check "LimitNOFILE=$nofile is above max_connections=$maxc plus 64" test "${nofile:-0}" -ge $((${maxc:-10000} + 64))

# ---- SystemCallFilter= and MemoryDenyWriteExecute= against a real run ----------

# expand GROUP...: the system calls of the groups, nested groups resolved.
expand() {
	local g line
	for g in "$@"; do
		while read -r line; do
			line=${line%%#*}
			[[ -n $line && $line != "$g" ]] || continue
			if [[ $line == @* ]]; then expand "$line"; else printf '%s\n' "$line"; fi
		done < <(systemd-analyze syscall-filter --no-pager "$g" 2>/dev/null)
	done
}

run_traced() {
	local conf=$tmp/trace/parleyd.conf log=$tmp/trace/parleyd.log port= i
	mkdir -p "$tmp/trace"
	bash "$SRCDIR/certs/gen-certs.sh" --out "$tmp/trace/certs" >/dev/null 2>&1 || return 1
	cat >"$conf" <<EOF
[server]
listen = 127.0.0.1:0
[tls]
certificate = certs/server.crt
private_key = certs/server.key
client_ca = certs/ca.crt
crl = certs/ca.crl
[storage]
database = parley.db
[auth]
pwhash_mem_kib = 8192
EOF
	# As the service would run: not as root (SQLite, for one, calls fchown
	# only as root).
	local -a as_user=()
	if ((EUID == 0)); then
		chmod 755 "$tmp"
		chown -R 65534:65534 "$tmp/trace"
		as_user=(setpriv --reuid=65534 --regid=65534 --clear-groups --)
	fi
	"${as_user[@]}" strace -f -qq -o "$tmp/trace/calls" "$PARLEYD" -c "$conf" >"$log" 2>&1 &
	pid=$!
	for ((i = 0; i < 200; i++)); do
		port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$log" | head -1)
		[[ -z $port ]] || break
		sleep 0.05
	done
	[[ -n $port ]] || { cat "$log" >&2; return 1; }
	local p
	p=$(pgrep -P "$pid" -x parleyd || true)
	if [[ -n $p ]]; then
		grep -E '^[0-9a-f-]+ [r-]wx' "/proc/$p/maps" >"$tmp/trace/wx" || true
	fi
	timeout 10 openssl s_client -connect "127.0.0.1:$port" \
		-CAfile "$tmp/trace/certs/ca.crt" </dev/null >/dev/null 2>&1 || true
	kill -HUP "$p" 2>/dev/null || true
	touch "$tmp/trace/certs/server.crt"
	sleep 1
	kill -TERM "$p" 2>/dev/null || true
	wait "$pid" || true
	pid=
	grep -q 'stopped' "$log"
}

if ! command -v strace >/dev/null 2>&1 || ! command -v pgrep >/dev/null 2>&1 ||
	{ ((EUID == 0)) && ! command -v setpriv >/dev/null 2>&1; }; then
	echo "note: strace, pgrep or setpriv is missing; SystemCallFilter= not checked against a run"
elif ! strace -qq -o /dev/null true >/dev/null 2>&1; then
	echo "note: strace cannot trace here (no ptrace); SystemCallFilter= not checked against a run"
elif ! run_traced; then
	fail "parleyd under strace did not start, serve and stop"
else
	filter=$(sed -n 's/^SystemCallFilter=\([^~].*\)/\1/p' "$unit")
	deny=$(sed -n 's/^SystemCallFilter=~\(.*\)/\1/p' "$unit")
	# shellcheck disable=SC2086 # word splitting wanted: group lists
	expand $filter | sort -u >"$tmp/allowed"
	# shellcheck disable=SC2086
	expand $deny | sort -u >"$tmp/denied"
	sed -n 's/^[0-9]\+ \+\([a-z0-9_]\+\)(.*/\1/p' "$tmp/trace/calls" | sort -u >"$tmp/used"
	echo "parleyd used $(wc -l <"$tmp/used") distinct system calls"
	check "every system call parleyd made is in SystemCallFilter=$filter" \
		bash -c "! comm -23 '$tmp/used' '$tmp/allowed' | grep ."
	check "no system call parleyd made is in SystemCallFilter=~$deny" \
		bash -c "! comm -12 '$tmp/used' '$tmp/denied' | grep ."
	check "no writable and executable mapping (MemoryDenyWriteExecute=)" test ! -s "$tmp/trace/wx"
fi

if ((failures)); then
	printf 'test_ops_units: %d of %d checks FAILED\n' "$failures" "$((failures + checks))" >&2
	exit 1
fi
printf 'test_ops_units: all %d checks passed\n' "$checks"
