#!/usr/bin/env bash
# parleyctl's live commands (online, kick, stats) against a running parleyd,
# through the control socket beside the database: their output and exit
# codes, the socket's mode 0600 and its refusal of other users (as
# `nobody`, when run as root), and a clear exit 1 when parleyd is down —
# never started, stopped, or killed with its socket left behind.
#
# Logged-in sessions come from a small python3 TLS client that records
# every line it receives. Every wait is bounded; every process is cleaned
# up. Environment (from CTest): PARLEYD, PARLEYCTL, SRCDIR.
set -euo pipefail

: "${PARLEYD:?PARLEYD must name the parleyd binary}"
: "${PARLEYCTL:?PARLEYCTL must name the parleyctl binary}"
: "${SRCDIR:?SRCDIR must name the source tree}"

ALICE_PW='alice-Control-Heron-6161'
BOB_PW='bob-Control-Walrus-7272'
WAIT_S=10

T=$(mktemp -d /tmp/parley-control.XXXXXX)
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

command -v python3 >/dev/null || fail "python3 is needed for the TLS sessions"

# --- set-up -----------------------------------------------------------------

# Other users may traverse the directories: the socket's own mode and the
# server's peer check are what keep them out, not a 0700 parent.
chmod 755 "$T"
mkdir -m 755 "$T/state"
timeout 60 "$SRCDIR/certs/gen-certs.sh" --out "$T" >/dev/null ||
	fail "gen-certs.sh"

CONF=$T/parleyd.conf
DB=$T/state/parley.db
SOCK=$T/state/parleyd.sock
cat >"$CONF" <<EOF
[server]
name = parley-control
listen = 127.0.0.1:0
[tls]
certificate = server.crt
private_key = server.key
[storage]
database = state/parley.db
[auth]
pwhash_ops = 1
pwhash_mem_kib = 8192
EOF

ctl() {
	timeout 20 "$PARLEYCTL" -c "$CONF" "$@"
}

printf '%s\n' "$ALICE_PW" | ctl user add alice --password-stdin >/dev/null ||
	fail "parleyctl user add alice"
printf '%s\n' "$BOB_PW" | ctl user add bob --password-stdin >/dev/null ||
	fail "parleyctl user add bob"

# run_ctl WANT_STATUS ARGS...: parleyctl's stdout in $T/out, stderr in
# $T/err, and its exit status must be WANT_STATUS.
run_ctl() {
	local want=$1 got=0
	shift
	ctl "$@" >"$T/out" 2>"$T/err" || got=$?
	[ "$got" -eq "$want" ] ||
		fail "parleyctl $* exited $got, want $want;" \
		    "stdout: $(cat "$T/out"); stderr: $(cat "$T/err")"
}

# out_is TEXT: parleyctl's stdout, lines sorted, is exactly TEXT (sorted).
out_is() {
	local got want
	got=$(sort "$T/out")
	want=$(printf '%s' "$1" | sort)
	[ "$got" = "$want" ] ||
		fail "parleyctl printed '$(cat "$T/out")', expected '$1'"
}

# down_ok ARGS...: parleyctl ARGS fails with exit 1 and says why.
down_ok() {
	run_ctl 1 "$@"
	[ ! -s "$T/out" ] || fail "parleyctl $* printed '$(cat "$T/out")'"
	grep -q 'parleyd is not running' "$T/err" ||
		fail "parleyctl $*: unclear message '$(cat "$T/err")'"
	[ "$(wc -l <"$T/err")" -eq 1 ] ||
		fail "parleyctl $*: more than one line: $(cat "$T/err")"
}

start_server() {
	local i
	: >"$T/parleyd.log"
	"$PARLEYD" -c "$CONF" </dev/null >>"$T/parleyd.log" 2>&1 &
	SERVER_PID=$!
	PORT=
	for i in $(seq $((WAIT_S * 10))); do
		PORT=$(sed -n \
		    's/.*listening on 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' \
		    "$T/parleyd.log" | head -n 1)
		[ -n "$PORT" ] && [ -S "$SOCK" ] && return 0
		kill -0 "$SERVER_PID" 2>/dev/null ||
			fail "parleyd exited at start"
		sleep 0.1
	done
	fail "parleyd did not listen (or make $SOCK) within $WAIT_S s"
}

# wait_exit PID: the process ends within WAIT_S seconds; its status in RC.
wait_exit() {
	local i
	for i in $(seq $((WAIT_S * 10))); do
		if ! kill -0 "$1" 2>/dev/null; then
			RC=0
			{ wait "$1"; } 2>/dev/null || RC=$?
			return 0
		fi
		sleep 0.1
	done
	fail "process $1 still running after $WAIT_S s"
}

# A logged-in session that writes every line it gets to a file and ends
# at EOF: client.py HOST PORT CAFILE USER PASSWORD OUTFILE.
cat >"$T/client.py" <<'EOF'
import socket, ssl, sys

host, port, cafile, user, password, outfile = sys.argv[1:7]
ctx = ssl.create_default_context(cafile=cafile)
ctx.set_alpn_protocols(["parley/1"])
with open(outfile, "w") as out, \
        socket.create_connection((host, int(port)), timeout=60) as raw, \
        ctx.wrap_socket(raw, server_hostname="localhost") as tls:
    lines = tls.makefile("rb")
    sent = False
    while True:
        line = lines.readline()
        if not line:
            break
        out.write(line.decode("utf-8").rstrip("\r\n") + "\n")
        out.flush()
        if not sent and line.startswith(b"HELLO "):
            tls.sendall(("LOGIN %s %s\n" % (user, password)).encode())
            sent = True
EOF

# session NAME USER PASSWORD: start a session, wait for its login; its
# pid in NAME_PID, its lines in $T/NAME.out.
session() {
	local name=$1 user=$2 pw=$3 i pid
	rm -f "$T/$name.out"
	timeout 60 python3 "$T/client.py" 127.0.0.1 "$PORT" "$T/ca.crt" \
	    "$user" "$pw" "$T/$name.out" 2>"$T/$name.err" &
	pid=$!
	CLIENT_PIDS+=("$pid")
	eval "${name}_PID=$pid"
	for i in $(seq $((WAIT_S * 10))); do
		grep -qx "OK LOGIN $user" "$T/$name.out" 2>/dev/null && return 0
		kill -0 "$pid" 2>/dev/null ||
			fail "session $name ended: $(cat "$T/$name.err" \
			    "$T/$name.out" 2>/dev/null)"
		sleep 0.1
	done
	fail "session $name did not log in within $WAIT_S s"
}

# kicked NAME BYE: the session got exactly BYE as its last line and ended.
kicked() {
	local pid
	eval "pid=\$${1}_PID"
	wait_exit "$pid"
	[ "$RC" -eq 0 ] || fail "session $1 exited $RC: $(cat "$T/$1.err")"
	[ "$(tail -n 1 "$T/$1.out")" = "$2" ] ||
		fail "session $1 ended with '$(tail -n 1 "$T/$1.out")'," \
		    "expected '$2'"
}

# stat_value NAME: the value of STAT NAME in $T/out, or fail.
stat_value() {
	local v
	v=$(sed -n "s/^STAT $1 \\([0-9][0-9]*\\)\$/\\1/p" "$T/out")
	[ -n "$v" ] || fail "stats lacks STAT $1: $(cat "$T/out")"
	printf '%s' "$v"
}

# --- parleyd not started yet ---------------------------------------------

down_ok online
down_ok stats
down_ok kick bob

# --- a running server ------------------------------------------------------

start_server

# The socket: ours, a socket, mode 0600.
[ "$(stat -c '%F' "$SOCK")" = "socket" ] || fail "$SOCK is not a socket"
[ "$(stat -c '%a' "$SOCK")" = "600" ] ||
	fail "$SOCK has mode $(stat -c '%a' "$SOCK"), expected 600"
[ "$(stat -c '%u' "$SOCK")" = "$(id -u)" ] ||
	fail "$SOCK is owned by uid $(stat -c '%u' "$SOCK")"

run_ctl 0 online
out_is ""

session a1 alice "$ALICE_PW"
session a2 alice "$ALICE_PW"
session b1 bob "$BOB_PW"

run_ctl 0 online
out_is $'USER alice 2\nUSER bob 1'
# --db finds the same socket.
got=0
timeout 20 "$PARLEYCTL" --db "$DB" online >"$T/out" 2>"$T/err" || got=$?
[ "$got" -eq 0 ] || fail "parleyctl --db online exited $got: $(cat "$T/err")"
out_is $'USER alice 2\nUSER bob 1'

run_ctl 0 stats
grep -qv '^STAT [a-z_][a-z_]* [0-9][0-9]*$' "$T/out" &&
	fail "stats printed a malformed line: $(cat "$T/out")"
[ "$(stat_value connections)" -eq 3 ] || fail "connections: $(cat "$T/out")"
[ "$(stat_value sessions)" -eq 3 ] || fail "sessions: $(cat "$T/out")"
[ "$(stat_value users_online)" -eq 2 ] || fail "users_online: $(cat "$T/out")"
[ "$(stat_value logins_ok)" -ge 3 ] || fail "logins_ok: $(cat "$T/out")"
for name in messages_routed messages_stored logins_failed hash_queue \
    bytes_in bytes_out uptime; do
	stat_value "$name" >/dev/null
done
[ "$(stat_value bytes_in)" -gt 0 ] || fail "bytes_in: $(cat "$T/out")"

# kick with a text: bob's one session ends with it.
run_ctl 0 kick bob "see you later"
out_is "OK KICK bob 1"
kicked b1 "BYE kicked: see you later"
run_ctl 0 online
out_is "USER alice 2"

# kick without one: both of alice's sessions.
run_ctl 0 kick alice
out_is "OK KICK alice 2"
kicked a1 "BYE kicked"
kicked a2 "BYE kicked"
run_ctl 0 online
out_is ""
run_ctl 0 kick alice
out_is "OK KICK alice 0"

# A name the server refuses: non-zero, nothing printed on stdout.
got=0
ctl kick 'bad!name' >"$T/out" 2>"$T/err" || got=$?
[ "$got" -ne 0 ] || fail "parleyctl kick 'bad!name' succeeded: $(cat "$T/out")"
[ -s "$T/err" ] || fail "parleyctl kick 'bad!name' said nothing"

# --- other users are kept out ----------------------------------------------

# probe.py SOCKET: connect, ask ONLINE, and print REFUSED <errno> (connect
# failed), CLOSED (no answer) or ANSWERED.
cat >"$T/probe.py" <<'EOF'
import socket, sys

s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(5)
try:
    s.connect(sys.argv[1])
except OSError as e:
    print("REFUSED", e.errno)
    sys.exit(0)
try:
    s.sendall(b"ONLINE\n")
    data = s.recv(4096)
except OSError:
    data = b""
print("ANSWERED" if data else "CLOSED")
EOF
chmod 644 "$T/probe.py"

NOBODY_PY=
for py in /usr/bin/python3 /usr/local/bin/python3; do
	[ -x "$py" ] && { NOBODY_PY=$py; break; }
done

if [ "$(id -u)" -ne 0 ]; then
	echo "note: not root; the non-owner checks need to switch to nobody" \
	    "and are skipped" >&2
elif [ -z "$NOBODY_PY" ] || ! id nobody >/dev/null 2>&1; then
	echo "note: no system python3 or no user nobody; the non-owner" \
	    "checks are skipped" >&2
else
	if command -v setpriv >/dev/null; then
		AS_NOBODY=(setpriv --reuid="$(id -u nobody)" \
		    --regid="$(id -g nobody)" --clear-groups --)
	else
		AS_NOBODY=(runuser -u nobody --)
	fi
	# The file mode refuses the connection (EACCES is 13).
	res=$(timeout 20 "${AS_NOBODY[@]}" "$NOBODY_PY" "$T/probe.py" "$SOCK") ||
		fail "the probe as nobody did not run: $res"
	[ "$res" = "REFUSED 13" ] ||
		fail "nobody connecting to the 0600 socket: $res"

	# With the mode opened up, the server's peer check still refuses.
	chmod 666 "$SOCK"
	res=$(timeout 20 "${AS_NOBODY[@]}" "$NOBODY_PY" "$T/probe.py" "$SOCK") ||
		fail "the probe as nobody did not run: $res"
	chmod 600 "$SOCK"
	[ "$res" = "CLOSED" ] ||
		fail "nobody on a 0666 control socket got: $res"
	grep -q 'control: connection refused' "$T/parleyd.log" ||
		fail "the refused control connection was not logged"

	# The owner is still served.
	res=$(timeout 20 python3 "$T/probe.py" "$SOCK")
	[ "$res" = "ANSWERED" ] || fail "the owner's probe got: $res"
fi

# --- parleyd stopped: the socket goes, parleyctl says so ------------------

kill -TERM "$SERVER_PID"
wait_exit "$SERVER_PID"
SERVER_PID=
[ "$RC" -eq 0 ] || fail "parleyd exited $RC after SIGTERM"
[ ! -e "$SOCK" ] || fail "$SOCK is still there after a clean exit"
down_ok online
down_ok stats
down_ok kick alice

# --- parleyd killed: a stale socket is no server either -------------------

start_server
run_ctl 0 online
kill -KILL "$SERVER_PID"
# (bash reports a killed job on stderr; nothing to see there)
wait "$SERVER_PID" 2>/dev/null || true
SERVER_PID=
[ -S "$SOCK" ] || echo "note: no stale socket left by SIGKILL" >&2
down_ok online

# The next start replaces the stale socket.
start_server
session a1 alice "$ALICE_PW"
run_ctl 0 online
out_is "USER alice 1"
kill -TERM "$SERVER_PID"
wait_exit "$SERVER_PID"
SERVER_PID=
[ "$RC" -eq 0 ] || fail "parleyd exited $RC after SIGTERM"

echo "ok: parleyctl online, kick and stats; control socket access"
