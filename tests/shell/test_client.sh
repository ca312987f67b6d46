#!/usr/bin/env bash
# Tests the parley client against a real parleyd on loopback: send and
# listen, send from stdin, interactive mode with piped input, history, the
# exit codes (usage 1, refused connection 2, unknown CA / host name
# mismatch / expired certificate 3, bad password 4, ERR 5, connection lost 6)
# and the escaping of control characters that a server might send (played
# by openssl s_server).
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
[[ -f $GEN ]] || { echo "FAIL: $GEN not found" >&2; exit 1; }

# Keep the environment from steering the client.
unset PARLEY_HOST PARLEY_PORT PARLEY_CAFILE PARLEY_USER

tmp=$(mktemp -d "${TMPDIR:-/tmp}/test_client.XXXXXX")
pids=()
cleanup() {
	local p
	exec 3>&-
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	for p in "${pids[@]}"; do
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

# Every client run is bounded.
T=20

# expect_rc DESCRIPTION CODE COMMAND... : the command exits with CODE;
# its stdout is left in $tmp/out, stderr in $tmp/err.
expect_rc() {
	local what=$1 want=$2 rc=0; shift 2
	"$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
	if [[ $rc == "$want" ]]; then ok; else
		fail "$what: exit $rc, expected $want"
		show "$tmp/out"; show "$tmp/err"
	fi
}
# expect_in FILE DESCRIPTION TEXT : FILE contains TEXT.
expect_in() {
	if grep -qF -- "$3" "$1"; then ok; else
		fail "$2: '$3' not in output"; show "$1"
	fi
}

# start_server NAME CERT KEY : starts parleyd, sets $port and $server_pid.
start_server() {
	local name=$1 i
	mkdir -p "$tmp/$name"
	cat >"$tmp/$name/parleyd.conf" <<-EOF
	[server]
	name = localhost
	listen = 127.0.0.1:0
	[tls]
	certificate = $2
	private_key = $3
	[storage]
	database = $tmp/$name/parley.db
	[auth]
	pwhash_ops = 1
	pwhash_mem_kib = 8192
	EOF
	"$PARLEYD" -c "$tmp/$name/parleyd.conf" 2>"$tmp/$name/log" &
	server_pid=$!
	pids+=("$server_pid")
	port=
	for ((i = 0; i < 100; i++)); do
		port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' \
		    "$tmp/$name/log" | head -n1)
		[[ -n $port ]] && return 0
		kill -0 "$server_pid" 2>/dev/null || break
		sleep 0.1
	done
	echo "FAIL: parleyd ($name) did not start" >&2
	show "$tmp/$name/log"
	exit 1
}

# start_fake CERT KEY : openssl s_server on a kernel-chosen port, its
# input fed from fd 3; sets $fake_port and $fake_pid.
start_fake() {
	local i
	rm -f "$tmp/fake.in"
	: >"$tmp/fake.out"
	mkfifo "$tmp/fake.in"
	openssl s_server -naccept 1 -accept 127.0.0.1:0 -cert "$1" \
	    -key "$2" >"$tmp/fake.out" 2>&1 <"$tmp/fake.in" &
	fake_pid=$!
	pids+=("$fake_pid")
	exec 3>"$tmp/fake.in"
	fake_port=
	for ((i = 0; i < 100; i++)); do
		fake_port=$(sed -n 's/^ACCEPT .*:\([0-9]*\)$/\1/p' \
		    "$tmp/fake.out" | head -n1)
		[[ -n $fake_port ]] && return 0
		sleep 0.1
	done
	echo "FAIL: openssl s_server did not start" >&2
	show "$tmp/fake.out"
	exit 1
}
stop_fake() {
	exec 3>&-
	kill "$fake_pid" 2>/dev/null || true
	wait "$fake_pid" 2>/dev/null || true
}

# ---- certificates and users ------------------------------------------------

bash "$GEN" --out "$tmp/certs" >"$tmp/gen.log" 2>&1 ||
	{ echo "FAIL: gen-certs.sh failed" >&2; show "$tmp/gen.log"; exit 1; }
bash "$GEN" --out "$tmp/other" >"$tmp/gen2.log" 2>&1 ||
	{ echo "FAIL: gen-certs.sh (second CA) failed" >&2; show "$tmp/gen2.log"; exit 1; }
CA=$tmp/certs/ca.crt

# Server certificates from the right CA but for the wrong name, and expired.
mkdir -p "$tmp/bad"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -subj /CN=wrong.example -keyout "$tmp/bad/server.key" \
    -out "$tmp/bad/server.csr" >"$tmp/bad/log" 2>&1
chmod 600 "$tmp/bad/server.key"
printf 'subjectAltName=DNS:wrong.example\nextendedKeyUsage=serverAuth\n' \
    >"$tmp/bad/wrong.ext"
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' \
    >"$tmp/bad/expired.ext"
openssl x509 -req -in "$tmp/bad/server.csr" -CA "$CA" \
    -CAkey "$tmp/certs/ca.key" -CAcreateserial -CAserial "$tmp/bad/ca.srl" \
    -days 2 -extfile "$tmp/bad/wrong.ext" -out "$tmp/bad/wrong.crt" \
    >>"$tmp/bad/log" 2>&1
openssl x509 -req -in "$tmp/bad/server.csr" -CA "$CA" \
    -CAkey "$tmp/certs/ca.key" -CAserial "$tmp/bad/ca.srl" \
    -days -1 -extfile "$tmp/bad/expired.ext" -out "$tmp/bad/expired.crt" \
    >>"$tmp/bad/log" 2>&1

PW_ALICE='alice "quoted" \ pass phrase'
PW_BOB='bob-correct-horse-battery'
mkdir -p "$tmp/main"
printf '%s\n' "$PW_ALICE" | "$PARLEYCTL" --db "$tmp/main/parley.db" \
    user add alice --password-stdin >"$tmp/ctl.log" 2>&1 ||
	{ echo "FAIL: parleyctl user add alice" >&2; show "$tmp/ctl.log"; exit 1; }
printf '%s\n' "$PW_BOB" | "$PARLEYCTL" --db "$tmp/main/parley.db" \
    user add bob --password-stdin >"$tmp/ctl.log" 2>&1 ||
	{ echo "FAIL: parleyctl user add bob" >&2; show "$tmp/ctl.log"; exit 1; }

start_server main "$tmp/certs/server.crt" "$tmp/certs/server.key"
main_port=$port
main_pid=$server_pid

# as USER PASSWORD ARGS... : run the client against the main server.
as() {
	local user=$1 pw=$2; shift 2
	printf '%s\n' "$pw" | timeout "$T" "$PARLEY" --port "$main_port" \
	    --cafile "$CA" --user "$user" --password-stdin "$@"
}

# ---- usage (exit 1, no network needed) -------------------------------------

expect_rc "--help" 0 "$PARLEY" --help
expect_in "$tmp/out" "--help documents exit codes" "6  connection lost"
expect_rc "unknown command" 1 "$PARLEY" --user bob frobnicate
expect_rc "no user" 1 "$PARLEY" --port "$main_port" whoami
expect_rc "bad port" 1 "$PARLEY" --user bob --port 70000 whoami
expect_rc "--cert without --key" 1 "$PARLEY" --user bob --cert "$CA" whoami
expect_rc "send without text" 1 as alice "$PW_ALICE" send bob
expect_rc "send to a bad target" 1 as alice "$PW_ALICE" send 'bo b' hi
expect_rc "send text with a newline" 1 as alice "$PW_ALICE" send bob $'a\nWHOAMI'
expect_rc "send text with ESC" 1 as alice "$PW_ALICE" send bob $'\e[31mred'
expect_rc "listen --count 0" 1 as bob "$PW_BOB" listen --count 0
expect_rc "environment is used" 0 env PARLEY_PORT="$main_port" \
    PARLEY_CAFILE="$CA" PARLEY_USER=alice PARLEY_HOST=localhost \
    timeout "$T" "$PARLEY" --password-stdin whoami <<<"$PW_ALICE"
expect_in "$tmp/out" "whoami" "alice user"

# ---- send and listen -------------------------------------------------------

as bob "$PW_BOB" listen --count 2 >"$tmp/listen.out" 2>"$tmp/listen.err" &
listen_pid=$!
pids+=("$listen_pid")
expect_rc "send one" 0 as alice "$PW_ALICE" send -v bob hello there, '  bob' 
id1=$(cat "$tmp/out")
expect_rc "send two" 0 as alice "$PW_ALICE" send -v bob 'tab	and ünïcödé ✓'
id2=$(cat "$tmp/out")
[[ $id1 =~ ^[0-9]+$ && $id2 =~ ^[0-9]+$ && $id2 -gt $id1 ]] && ok ||
	fail "send -v prints increasing ids (got '$id1', '$id2')"
rc=0
wait "$listen_pid" || rc=$?
if [[ $rc == 0 ]]; then ok; else fail "listen --count 2: exit $rc"; show "$tmp/listen.err"; fi
[[ $(wc -l <"$tmp/listen.out") == 2 ]] && ok ||
	{ fail "listen printed two lines"; show "$tmp/listen.out"; }
expect_in "$tmp/listen.out" "first message" "$id1 "
expect_in "$tmp/listen.out" "first message" " alice bob hello there,   bob"
expect_in "$tmp/listen.out" "second message" "$id2 "
expect_in "$tmp/listen.out" "second message" " alice bob tab	and ünïcödé ✓"
grep -Eq '^[0-9]+ [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z alice bob ' "$tmp/listen.out" &&
	ok || { fail "listen line format"; show "$tmp/listen.out"; }

# Messages from stdin, one per line; empty lines are skipped.
printf '%s\none\n\ntwo' "$PW_ALICE" >"$tmp/in"
expect_rc "send - (stdin)" 0 timeout "$T" "$PARLEY" --port "$main_port" \
    --cafile "$CA" --user alice --password-stdin send -v bob - <"$tmp/in"
[[ $(wc -l <"$tmp/out") == 2 ]] && ok || { fail "send - prints two ids"; show "$tmp/out"; }
expect_rc "listen gets the stdin messages" 0 as bob "$PW_BOB" listen --count 2
expect_in "$tmp/out" "stdin message one" " alice bob one"
expect_in "$tmp/out" "stdin message two" " alice bob two"

# Interactive mode with piped input: /to, plain text, /quit.
printf '%s\n/to bob\nhello from chat\n/bogus\n/quit\n' "$PW_ALICE" >"$tmp/in"
expect_rc "interactive mode" 0 timeout "$T" "$PARLEY" --port "$main_port" \
    --cafile "$CA" --user alice --password-stdin <"$tmp/in"
grep -Eq '^[0-9]{2}:[0-9]{2} bob alice: hello from chat$' "$tmp/out" && ok ||
	{ fail "interactive mode echoes the accepted message"; show "$tmp/out"; }
expect_in "$tmp/out" "unknown slash command" "-- unknown command"
expect_rc "listen gets the chat message" 0 as bob "$PW_BOB" listen --count 1
expect_in "$tmp/out" "chat message" " alice bob hello from chat"

# ---- history (skipped while the server lacks HISTORY) ----------------------

rc=0
as bob "$PW_BOB" history alice -n 3 >"$tmp/out" 2>"$tmp/err" || rc=$?
if [[ $rc == 5 ]] && grep -q BAD_COMMAND "$tmp/err"; then
	echo "SKIP: history (the server does not know HISTORY yet)"
elif [[ $rc == 0 ]]; then
	ok
	[[ $(wc -l <"$tmp/out") == 3 ]] && ok || { fail "history -n 3 lines"; show "$tmp/out"; }
	tail -n1 "$tmp/out" | grep -q ' alice bob hello from chat$' && ok ||
		{ fail "history ends with the newest message"; show "$tmp/out"; }
else
	fail "history: exit $rc"; show "$tmp/err"
fi

# ---- server refusals: 4 and 5 ----------------------------------------------

expect_rc "bad password" 4 as bob "wrong-$PW_BOB" whoami
expect_in "$tmp/err" "bad password message" "parley: authentication failed"
expect_rc "unknown user" 4 as nobody "$PW_BOB" whoami
expect_rc "send to an unknown user" 5 as alice "$PW_ALICE" send nosuchuser hi
expect_in "$tmp/err" "ERR is shown" "NO_SUCH_USER"

# ---- TLS verification: 3 ---------------------------------------------------

expect_rc "unknown CA" 3 env PARLEY_CAFILE="$tmp/other/ca.crt" \
    timeout "$T" "$PARLEY" --port "$main_port" --user bob \
    --password-stdin whoami <<<"$PW_BOB"
expect_in "$tmp/err" "unknown CA message" "unknown CA"

start_server wrong "$tmp/bad/wrong.crt" "$tmp/bad/server.key"
expect_rc "host name mismatch (DNS)" 3 timeout "$T" "$PARLEY" --host localhost \
    --port "$port" --cafile "$CA" --user bob --password-stdin whoami <<<"$PW_BOB"
expect_in "$tmp/err" "host name mismatch message" "host name mismatch"
expect_rc "host name mismatch (IP)" 3 timeout "$T" "$PARLEY" --host 127.0.0.1 \
    --port "$port" --cafile "$CA" --user bob --password-stdin whoami <<<"$PW_BOB"
expect_in "$tmp/err" "IP mismatch message" "host name mismatch"
kill "$server_pid"; wait "$server_pid" 2>/dev/null || true

start_fake "$tmp/bad/expired.crt" "$tmp/bad/server.key"
expect_rc "expired certificate" 3 timeout "$T" "$PARLEY" --port "$fake_port" \
    --cafile "$CA" --user bob --password-stdin whoami <<<"$PW_BOB"
expect_in "$tmp/err" "expired message" "expired"
stop_fake

# ---- control characters from the network are escaped -----------------------

start_fake "$tmp/certs/server.crt" "$tmp/certs/server.key"
printf 'HELLO parley/1 fake\nOK LOGIN bob\nMSG 7 2026-01-01T00:00:00.000Z alice bob a\033]52;c;aGk=\007b\033[31mc \302\233 \342\200\256d\tz\nOK QUIT\n' >&3
expect_rc "listen from a hostile server" 0 timeout "$T" "$PARLEY" \
    --port "$fake_port" --cafile "$CA" --user alice --password-stdin \
    listen --count 1 <<<"$PW_ALICE"
if LC_ALL=C grep -q $'[\x01-\x08\x0b-\x1f\x7f]' "$tmp/out" ||
    grep -q $'\xc2[\x80-\x9f]' "$tmp/out" || grep -q $'\xe2\x80\xae' "$tmp/out"; then
	fail "raw control characters reached the output"; show "$tmp/out"
else ok; fi
expect_in "$tmp/out" "ESC escaped" 'a\x1b]52;c;aGk=\x07b\x1b[31mc'
expect_in "$tmp/out" "C1 and bidi escaped" '\u{009b} \u{202e}d'
expect_in "$tmp/fake.out" "password sent quoted" \
    'LOGIN alice "alice \"quoted\" \\ pass phrase"'
stop_fake

# ---- connection lost: 6 ----------------------------------------------------

as bob "$PW_BOB" listen >"$tmp/lost.out" 2>"$tmp/lost.err" &
lost_pid=$!
pids+=("$lost_pid")
# Once a message has come through, bob is logged in: stop the server.
as alice "$PW_ALICE" send bob still there? >/dev/null 2>&1 || true
for ((i = 0; i < 100; i++)); do
	grep -q 'still there' "$tmp/lost.out" && break
	sleep 0.1
done
kill -TERM "$main_pid"; wait "$main_pid" 2>/dev/null || true
rc=0
wait "$lost_pid" || rc=$?
if [[ $rc == 6 ]]; then ok; else fail "listen when the server stops: exit $rc, expected 6"; show "$tmp/lost.err"; fi
expect_in "$tmp/lost.err" "BYE reason shown" "parley: connection closed by the server"

# ---- connection refused: 2 -------------------------------------------------

expect_rc "connection refused" 2 as bob "$PW_BOB" whoami
expect_in "$tmp/err" "refused message" "refused"

if ((failures > 0)); then
	echo "test_client: $failures of $((checks + failures)) checks failed" >&2
	exit 1
fi
echo "test_client: all $checks checks passed"
