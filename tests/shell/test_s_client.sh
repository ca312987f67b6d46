#!/usr/bin/env bash
# A parley session driven by `openssl s_client -quiet`, the tool an operator
# reaches for first: no ALPN, the test CA, host name checked. Two users talk
# through FIFOs; every read is bounded and every process is cleaned up.
#
# Environment (from CTest): PARLEYD, PARLEYCTL, SRCDIR.
set -euo pipefail

: "${PARLEYD:?PARLEYD must name the parleyd binary}"
: "${PARLEYCTL:?PARLEYCTL must name the parleyctl binary}"
: "${SRCDIR:?SRCDIR must name the source tree}"

ALICE_PW='alice-Shell-Kestrel-5150'
BOB_PW='bob-Shell-Porcupine-2718'
READ_TIMEOUT=10

T=$(mktemp -d /tmp/parley-shell.XXXXXX)
SERVER_PID=
CLIENT_PIDS=()

cleanup() {
	local p
	for p in "${CLIENT_PIDS[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	if [ -n "$SERVER_PID" ]; then
		kill -KILL "$SERVER_PID" 2>/dev/null || true
	fi
	wait 2>/dev/null || true
	if [ -z "${PARLEY_TEST_KEEP:-}" ]; then
		rm -rf "$T"
	else
		echo "kept $T" >&2
	fi
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*" >&2
	if [ -f "$T/parleyd.log" ]; then
		echo "---- parleyd log ----" >&2
		tail -n 40 "$T/parleyd.log" >&2
	fi
	exit 1
}

# --- set-up: certificates, config, users, server --------------------------

timeout 60 "$SRCDIR/certs/gen-certs.sh" --out "$T" >/dev/null ||
	fail "gen-certs.sh"

cat >"$T/parleyd.conf" <<EOF
[server]
name = parley-shell
listen = 127.0.0.1:0
[tls]
certificate = server.crt
private_key = server.key
[storage]
database = parley.db
[auth]
pwhash_ops = 1
pwhash_mem_kib = 8192
EOF

printf '%s\n' "$ALICE_PW" |
	timeout 20 "$PARLEYCTL" -c "$T/parleyd.conf" user add alice \
	--password-stdin >/dev/null || fail "parleyctl user add alice"
printf '%s\n' "$BOB_PW" |
	timeout 20 "$PARLEYCTL" -c "$T/parleyd.conf" user add bob \
	--password-stdin >/dev/null || fail "parleyctl user add bob"

: >"$T/parleyd.log"  # exists before it is polled
"$PARLEYD" -c "$T/parleyd.conf" </dev/null >>"$T/parleyd.log" 2>&1 &
SERVER_PID=$!

PORT=
for _ in $(seq 100); do
	PORT=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' \
		"$T/parleyd.log" | head -n 1)
	[ -n "$PORT" ] && break
	kill -0 "$SERVER_PID" 2>/dev/null || fail "parleyd exited at start"
	sleep 0.1
done
[ -n "$PORT" ] || fail "parleyd did not log 'listening on' within 10 s"

# --- clients ---------------------------------------------------------------

# start_client NAME: run s_client with its stdin and stdout on FIFOs and
# set NAME_IN (fd to write to) and NAME_OUT (fd to read from).
start_client() {
	local name=$1 pid
	mkfifo "$T/$name.in" "$T/$name.out"
	timeout 20 openssl s_client -quiet -connect "127.0.0.1:$PORT" \
		-CAfile "$T/ca.crt" -verify_return_error \
		-verify_hostname localhost -servername localhost \
		<"$T/$name.in" >"$T/$name.out" 2>"$T/$name.err" &
	pid=$!
	CLIENT_PIDS+=("$pid")
	eval "${name}_PID=$pid"
	eval "exec {${name}_IN}>\"\$T/\$name.in\""
	eval "exec {${name}_OUT}<\"\$T/\$name.out\""
}

LINE=
# read_line FD: one line into LINE (CR dropped), or fail.
read_line() {
	local fd=$1
	IFS= read -r -t "$READ_TIMEOUT" LINE <&"$fd" ||
		fail "no line from the server within ${READ_TIMEOUT} s"
	LINE=${LINE%$'\r'}
}

# expect FD WANT: the next line is exactly WANT.
expect() {
	read_line "$1"
	[ "$LINE" = "$2" ] || fail "got '$LINE', expected '$2'"
}

# expect_re FD REGEX: the next line matches REGEX (ERE, anchored by caller).
expect_re() {
	read_line "$1"
	[[ "$LINE" =~ $2 ]] || fail "got '$LINE', expected /$2/"
}

say() {
	printf '%s\n' "$2" >&"$1"
}

# wait_exit PID SECONDS: the process ends within SECONDS.
wait_exit() {
	local pid=$1 i
	for i in $(seq $(($2 * 10))); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	fail "process $pid still running after $2 s"
}

# expect_eof FD: the server closed: no more lines, EOF instead.
expect_eof() {
	local rc=0
	IFS= read -r -t "$READ_TIMEOUT" LINE <&"$1" || rc=$?
	[ "$rc" -eq 0 ] && fail "unexpected line '$LINE' before close"
	[ "$rc" -gt 128 ] &&
		fail "connection still open after ${READ_TIMEOUT} s"
	return 0
}

TIME='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z'

start_client alice
expect "$alice_OUT" "HELLO parley/1 parley-shell"
say "$alice_IN" "LOGIN alice $ALICE_PW"
expect "$alice_OUT" "OK LOGIN alice"
say "$alice_IN" "PING shell"
expect "$alice_OUT" "OK PING shell"
say "$alice_IN" "ping lower"
expect "$alice_OUT" "OK PING lower"
say "$alice_IN" "WHOAMI"
expect "$alice_OUT" "OK WHOAMI alice user"

# bob is offline: stored, delivered at his login.
say "$alice_IN" "SEND bob hello from s_client"
expect_re "$alice_OUT" '^OK SEND [0-9]+$'
ID1=${LINE#OK SEND }

start_client bob
expect "$bob_OUT" "HELLO parley/1 parley-shell"
say "$bob_IN" "LOGIN bob $BOB_PW"
expect "$bob_OUT" "OK LOGIN bob"
expect_re "$bob_OUT" "^MSG $ID1 $TIME alice bob hello from s_client\$"

# bob is online now.
say "$alice_IN" "SEND bob second \"quoted\" text"
expect_re "$alice_OUT" '^OK SEND [0-9]+$'
ID2=${LINE#OK SEND }
[ "$ID2" -gt "$ID1" ] || fail "id $ID2 is not above $ID1"
expect_re "$bob_OUT" "^MSG $ID2 $TIME alice bob second \"quoted\" text\$"
say "$bob_IN" "PING sync"
expect "$bob_OUT" "OK PING sync"

say "$alice_IN" "QUIT"
expect "$alice_OUT" "OK QUIT"
expect_eof "$alice_OUT"
wait_exit "$alice_PID" 5

# --- shutdown: bob gets the BYE, the server exits 0 ------------------------

kill -TERM "$SERVER_PID"
expect "$bob_OUT" "BYE server shutting down"
expect_eof "$bob_OUT"
wait_exit "$bob_PID" 5
wait_exit "$SERVER_PID" 5
rc=0
wait "$SERVER_PID" || rc=$?
SERVER_PID=
[ "$rc" -eq 0 ] || fail "parleyd exited with status $rc after SIGTERM"

for pw in "$ALICE_PW" "$BOB_PW"; do
	if grep -qF -- "$pw" "$T/parleyd.log"; then
		fail "a password appears in the server log"
	fi
done

echo "ok: s_client session"
