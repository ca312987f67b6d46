#!/usr/bin/env bash
# Tests that parley listen survives server restarts without losing or
# repeating a message: parleyd runs on a fixed port (picked free by binding
# port 0 first) and is stopped with SIGTERM ("BYE server shutting down")
# and with SIGKILL (no BYE), then started again on the same port and
# database. Messages sent while the listener is away (it is held with
# SIGSTOP while the server restarts) must come back through SYNC, and
# every id must be printed exactly once. Then: a refused login after a
# restart (password changed meanwhile) ends the listener with exit 4, and
# a kick ends it with exit 6, both without reconnecting.
set -euo pipefail
export LC_ALL=C

SRCDIR=${SRCDIR:-$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)}
BUILD=${BUILD:-$SRCDIR/build}
PARLEYD=${PARLEYD:-$BUILD/parleyd}
PARLEYCTL=${PARLEYCTL:-$BUILD/parleyctl}
PARLEY=${PARLEY:-$BUILD/parley}
GEN=$SRCDIR/certs/gen-certs.sh
for f in "$PARLEYD" "$PARLEYCTL" "$PARLEY"; do
	[[ -x $f ]] || { echo "FAIL: $f not found" >&2; exit 1; }
done
command -v python3 >/dev/null || { echo "FAIL: python3 not found" >&2; exit 1; }
unset PARLEY_HOST PARLEY_PORT PARLEY_CAFILE PARLEY_USER PARLEY_CERT \
    PARLEY_KEY PARLEY_CONFIG

tmp=$(mktemp -d "${TMPDIR:-/tmp}/test_client_reconnect.XXXXXX")
export XDG_CONFIG_HOME=$tmp/xdg HOME=$tmp/home
pids=()
server_pid=
cleanup() {
	local p
	for p in "${pids[@]}" $server_pid; do
		kill -CONT "$p" 2>/dev/null || true
		kill "$p" 2>/dev/null || true
	done
	for p in "${pids[@]}" $server_pid; do
		wait "$p" 2>/dev/null || true
	done
	rm -rf -- "$tmp"
}
trap cleanup EXIT

failures=0
checks=0
fail() { printf 'FAIL: %s\n' "$*" >&2; failures=$((failures + 1)); }
ok() { checks=$((checks + 1)); }
show() { sed 's/^/    /' "$1" >&2; }
T=20

# wait_for SECONDS COMMAND... : poll until the command succeeds.
wait_for() {
	local deadline=$((SECONDS + $1)); shift
	until "$@"; do
		((SECONDS < deadline)) || return 1
		sleep 0.1
	done
}
lines_at_least() { [[ -f $1 && $(wc -l <"$1") -ge $2 ]]; }

bash "$GEN" --out "$tmp/certs" >"$tmp/gen.log" 2>&1 ||
	{ echo "FAIL: gen-certs.sh failed" >&2; show "$tmp/gen.log"; exit 1; }
CA=$tmp/certs/ca.crt
PW_ALICE=alice-reconnect-passphrase
PW_BOB=bob-reconnect-passphrase
for u in alice bob carol; do
	pw=$PW_ALICE; [[ $u == bob ]] && pw=$PW_BOB
	[[ $u == carol ]] && pw=carol-reconnect-passphrase
	printf '%s\n' "$pw" | "$PARLEYCTL" --db "$tmp/parley.db" user add "$u" \
	    --password-stdin >"$tmp/ctl.log" 2>&1 ||
		{ echo "FAIL: parleyctl user add $u" >&2; show "$tmp/ctl.log"; exit 1; }
done

# A port that was free a moment ago; parleyd restarts on it.
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$tmp/parleyd.conf" <<EOF
[server]
name = localhost
listen = 127.0.0.1:$port
[tls]
certificate = $tmp/certs/server.crt
private_key = $tmp/certs/server.key
[storage]
database = $tmp/parley.db
[auth]
pwhash_ops = 1
pwhash_mem_kib = 8192
EOF

start_server() {
	: >"$tmp/parleyd.log"
	"$PARLEYD" -c "$tmp/parleyd.conf" >>"$tmp/parleyd.log" 2>&1 &
	server_pid=$!
	if ! wait_for 10 grep -q "listening on 127.0.0.1:$port" "$tmp/parleyd.log"; then
		echo "FAIL: parleyd did not start on port $port" >&2
		show "$tmp/parleyd.log"
		exit 1
	fi
}
stop_server() {  # SIGNAL
	kill "-$1" "$server_pid"
	wait "$server_pid" 2>/dev/null || true
	server_pid=
}
# wait_exit PID SECONDS : wait for a background job, at most SECONDS;
# sets $rc to its exit status (or 124 when it did not end).
wait_exit() {
	local deadline=$((SECONDS + $2))
	while kill -0 "$1" 2>/dev/null && ((SECONDS < deadline)); do
		sleep 0.1
	done
	rc=0
	if kill -0 "$1" 2>/dev/null; then
		rc=124
		return
	fi
	wait "$1" || rc=$?
}

as() {
	local user=$1 pw=$2; shift 2
	printf '%s\n' "$pw" | timeout "$T" "$PARLEY" --port "$port" \
	    --cafile "$CA" --user "$user" --password-stdin "$@"
}
sent=()
# send_id TARGET TEXT : alice sends, the id is remembered.
send_id() {
	local id
	if id=$(as alice "$PW_ALICE" send -v "$1" "$2" 2>"$tmp/send.err"); then
		sent+=("$id"); ok
	else
		fail "send $1 '$2'"; show "$tmp/send.err"
	fi
}

start_server
as alice "$PW_ALICE" join '#ops' >/dev/null 2>&1 && ok || fail "alice joins #ops"
as bob "$PW_BOB" join '#ops' >/dev/null 2>&1 && ok || fail "bob joins #ops"
# History from before the listener started must not be shown by it.
as alice "$PW_ALICE" send '#ops' 'old news' >/dev/null 2>&1 && ok || fail "old message"

# ---- the listener --------------------------------------------------------

TOTAL=10
"$PARLEY" --port "$port" --cafile "$CA" --user bob --password-stdin \
    listen --json --count "$TOTAL" <<<"$PW_BOB" >"$tmp/listen.out" \
    2>"$tmp/listen.err" &
listen_pid=$!
pids+=("$listen_pid")
# bob is online once WHO says so.
online() { as alice "$PW_ALICE" who '#ops' 2>/dev/null | grep -q '^bob online'; }
wait_for 10 online && ok || fail "the listener logged in"

# Phase 1: live.
send_id bob 'one'
send_id '#ops' 'two'
send_id bob 'three'
wait_for 10 lines_at_least "$tmp/listen.out" 3 && ok ||
	{ fail "phase 1: three live messages"; show "$tmp/listen.out"; show "$tmp/listen.err"; }

# Phase 2: SIGTERM. The listener is held while the server is away and
# messages are sent, so they can only reach it through the catch-up.
stop_server TERM
wait_for 10 grep -q reconnecting "$tmp/listen.err" && ok ||
	{ fail "listener says it reconnects"; show "$tmp/listen.err"; }
kill -STOP "$listen_pid"
start_server
send_id '#ops' 'four (while away)'
send_id bob 'five (while away)'
send_id '#ops' 'six (while away)'
kill -CONT "$listen_pid"
wait_for 15 lines_at_least "$tmp/listen.out" 6 && ok ||
	{ fail "phase 2: caught up after SIGTERM"; show "$tmp/listen.out"; show "$tmp/listen.err"; }
grep -Eq 'reconnected; [1-9][0-9]* missed messages? caught up' "$tmp/listen.err" && ok ||
	{ fail "phase 2: catch-up reported"; show "$tmp/listen.err"; }
wait_for 10 online || true
send_id bob 'seven'
wait_for 10 lines_at_least "$tmp/listen.out" 7 && ok ||
	{ fail "phase 2: live again"; show "$tmp/listen.out"; }

# Phase 3: SIGKILL, no BYE.
stop_server KILL
kill -STOP "$listen_pid"
start_server
send_id '#ops' 'eight (after SIGKILL)'
send_id '#ops' 'nine (after SIGKILL)'
kill -CONT "$listen_pid"
wait_for 15 lines_at_least "$tmp/listen.out" 9 && ok ||
	{ fail "phase 3: caught up after SIGKILL"; show "$tmp/listen.out"; show "$tmp/listen.err"; }
wait_for 10 online || true
send_id bob 'ten'

wait_exit "$listen_pid" 15
if [[ $rc == 0 ]]; then ok; else fail "listen --count $TOTAL: exit $rc"; show "$tmp/listen.err"; fi

# Every id sent, each exactly once, and nothing else.
if out=$(python3 - "$tmp/listen.out" "${sent[@]}" 2>&1 <<-'PY'
import json, sys
got = [json.loads(l)["id"] for l in open(sys.argv[1], encoding="utf-8")]
want = [int(x) for x in sys.argv[2:]]
dups = sorted({i for i in got if got.count(i) > 1})
assert not dups, f"printed twice: {dups}"
assert sorted(got) == sorted(want), f"got {sorted(got)}, sent {sorted(want)}"
PY
); then ok; else fail "each message exactly once: $out"; show "$tmp/listen.out"; fi
[[ ${#sent[@]} == "$TOTAL" ]] && ok || fail "sent $TOTAL messages (${#sent[@]})"

# ---- a refused login after a restart is final: 4 ----------------------------

"$PARLEY" --port "$port" --cafile "$CA" --user bob --password-stdin \
    listen <<<"$PW_BOB" >"$tmp/l2.out" 2>"$tmp/l2.err" &
l2_pid=$!
pids+=("$l2_pid")
wait_for 10 online || fail "second listener logged in"
printf 'bob-a-brand-new-passphrase\n' | "$PARLEYCTL" --db "$tmp/parley.db" \
    user passwd bob --password-stdin >"$tmp/ctl.log" 2>&1 && ok ||
	{ fail "parleyctl user passwd"; show "$tmp/ctl.log"; }
stop_server TERM
start_server
wait_exit "$l2_pid" 20
if [[ $rc == 4 ]]; then ok; else fail "listen after the password changed: exit $rc, expected 4"; show "$tmp/l2.err"; fi
[[ $(grep -c 'authentication failed' "$tmp/l2.err") == 1 ]] && ok ||
	{ fail "one refused login, then stop"; show "$tmp/l2.err"; }

# ---- a kick is final: 6 ----------------------------------------------------

"$PARLEY" --port "$port" --cafile "$CA" --user alice --password-stdin \
    listen <<<"$PW_ALICE" >"$tmp/l3.out" 2>"$tmp/l3.err" &
l3_pid=$!
pids+=("$l3_pid")
alice_online() { as carol carol-reconnect-passphrase who '#ops' 2>/dev/null | grep -q '^alice online'; }
as carol carol-reconnect-passphrase join '#ops' >/dev/null 2>&1 || true
wait_for 10 alice_online || fail "third listener logged in"
if "$PARLEYCTL" -c "$tmp/parleyd.conf" kick alice 'go home' >"$tmp/kick.out" 2>&1; then
	wait_exit "$l3_pid" 15
	if [[ $rc == 6 ]]; then ok; else fail "listen after a kick: exit $rc, expected 6"; show "$tmp/l3.err"; fi
	grep -q 'connection closed by the server: kicked' "$tmp/l3.err" && ok ||
		{ fail "kick reason shown"; show "$tmp/l3.err"; }
	if grep -q reconnecting "$tmp/l3.err"; then fail "reconnected after a kick"; show "$tmp/l3.err"; else ok; fi
else
	echo "SKIP: kick (parleyctl kick failed)"
	show "$tmp/kick.out"
fi

stop_server TERM
if ((failures > 0)); then
	echo "test_client_reconnect: $failures of $((checks + failures)) checks failed" >&2
	exit 1
fi
echo "test_client_reconnect: all $checks checks passed"
