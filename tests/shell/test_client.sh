#!/usr/bin/env bash
# Tests the parley client against a real parleyd on loopback: send and
# listen, send from stdin, interactive mode with piped input, history, both
# output forms (plain and --json, checked with python3's json module),
# client-certificate login, every documented exit code (usage 1, refused
# connection 2, other TLS failure 3, authentication 4, ERR 5, connection
# lost 6, unknown CA 7, host name mismatch 8, expired certificate 9, TLS
# version mismatch 10), no reconnect after "BYE kicked", and the escaping
# of what a hostile server might send (played by openssl s_server).
# Reconnecting, client.conf and the terminal UI have their own scripts:
# test_client_reconnect.sh, test_client_conf.sh, test_client_tty.sh.
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
command -v python3 >/dev/null || { echo "FAIL: python3 not found" >&2; exit 1; }

# Keep the environment and any client.conf from steering the client.
unset PARLEY_HOST PARLEY_PORT PARLEY_CAFILE PARLEY_USER PARLEY_CERT \
    PARLEY_KEY PARLEY_CONFIG NO_COLOR

tmp=$(mktemp -d "${TMPDIR:-/tmp}/test_client.XXXXXX")
export XDG_CONFIG_HOME=$tmp/xdg HOME=$tmp/home
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

# start_server NAME CERT KEY [CLIENT_CA] : starts parleyd, sets $port and
# $server_pid.
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
	client_ca = ${4:-}
	[storage]
	database = $tmp/$name/parley.db
	[auth]
	pwhash_ops = 1
	pwhash_mem_kib = 8192
	EOF
	: >"$tmp/$name/log"  # exists before it is polled
	"$PARLEYD" -c "$tmp/$name/parleyd.conf" 2>>"$tmp/$name/log" &
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

# start_fake CERT KEY [S_SERVER OPTIONS...] : openssl s_server on a
# kernel-chosen port, its input fed from fd 3; sets $fake_port and $fake_pid.
start_fake() {
	local i cert=$1 key=$2
	shift 2
	rm -f "$tmp/fake.in"
	: >"$tmp/fake.out"
	mkfifo "$tmp/fake.in"
	openssl s_server -naccept 1 -accept 127.0.0.1:0 -cert "$cert" \
	    -key "$key" "$@" >"$tmp/fake.out" 2>&1 <"$tmp/fake.in" &
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
for code in "6  connection lost" "7  unknown CA" "8  host name mismatch" \
    "9  the server certificate has expired" "10  TLS version mismatch"; do
	expect_in "$tmp/out" "--help documents exit codes" "$code"
done
expect_rc "unknown command" 1 "$PARLEY" --user bob frobnicate
expect_rc "no user" 1 "$PARLEY" --port "$main_port" whoami
expect_rc "bad port" 1 "$PARLEY" --user bob --port 70000 whoami
expect_rc "--cert without --key" 1 "$PARLEY" --user bob --cert "$CA" whoami
expect_rc "send without text" 1 as alice "$PW_ALICE" send bob
expect_rc "send to a bad target" 1 as alice "$PW_ALICE" send 'bo b' hi
expect_rc "send text with a newline" 1 as alice "$PW_ALICE" send bob $'a\nWHOAMI'
expect_rc "send text with ESC" 1 as alice "$PW_ALICE" send bob $'\e[31mred'
expect_rc "listen --count 0" 1 as bob "$PW_BOB" listen --count 0
expect_rc "listen with a bad option" 1 as bob "$PW_BOB" listen --frob
expect_rc "history without a target" 1 as bob "$PW_BOB" history --json
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

# ---- JSON output -----------------------------------------------------------

# json_check FILE N PYTHON-EXPR : FILE has N lines, each a JSON object with
# exactly id (int), time, from, to, text (str); EXPR (over the list "msgs")
# must be true.
json_check() {
	local file=$1 n=$2 expr=$3 out
	if out=$(python3 - "$file" "$n" "$expr" 2>&1 <<-'PY'
	import json, sys
	path, n, expr = sys.argv[1], int(sys.argv[2]), sys.argv[3]
	with open(path, encoding="utf-8") as f:
	    lines = f.read().split("\n")
	assert lines[-1] == "", "output does not end with a newline"
	msgs = [json.loads(l) for l in lines[:-1]]
	assert len(msgs) == n, f"{len(msgs)} objects, expected {n}"
	for m in msgs:
	    assert sorted(m) == ["from", "id", "text", "time", "to"], m
	    assert isinstance(m["id"], int) and not isinstance(m["id"], bool), m
	    for k in ("time", "from", "to", "text"):
	        assert isinstance(m[k], str), m
	assert eval("(" + expr + ")"), f"failed: {expr}\n{msgs!r}"
	PY
	); then ok; else fail "JSON output ($expr): $out"; show "$file"; fi
}

as bob "$PW_BOB" listen --count 2 --json >"$tmp/jl.out" 2>"$tmp/jl.err" &
jl_pid=$!
pids+=("$jl_pid")
expect_rc "send for --json" 0 as alice "$PW_ALICE" send -v bob 'say "hi" \ back'
jid1=$(cat "$tmp/out")
expect_rc "send for --json" 0 as alice "$PW_ALICE" send -v bob 'tab	ünï ✓'
jid2=$(cat "$tmp/out")
rc=0
wait "$jl_pid" || rc=$?
if [[ $rc == 0 ]]; then ok; else fail "listen --json: exit $rc"; show "$tmp/jl.err"; fi
json_check "$tmp/jl.out" 2 "[m['id'] for m in msgs] == [$jid1, $jid2] and
    msgs[0]['text'] == 'say \"hi\" \\\\ back' and
    msgs[1]['text'] == 'tab\tünï ✓' and
    all(m['from'] == 'alice' and m['to'] == 'bob' for m in msgs) and
    all(m['time'].endswith('Z') for m in msgs)"
if command -v jq >/dev/null; then
	[[ $(jq -r .text <"$tmp/jl.out" | head -n1) == 'say "hi" \ back' ]] && ok ||
		{ fail "jq reads the --json text"; show "$tmp/jl.out"; }
fi

# ---- history, plain and JSON -----------------------------------------------

expect_rc "history -n 3" 0 as bob "$PW_BOB" history alice -n 3
[[ $(wc -l <"$tmp/out") == 3 ]] && ok || { fail "history -n 3 lines"; show "$tmp/out"; }
tail -n1 "$tmp/out" | grep -q "^$jid2 .* alice bob tab	ünï ✓\$" && ok ||
	{ fail "history ends with the newest message"; show "$tmp/out"; }
expect_rc "history --json" 0 as bob "$PW_BOB" history alice -n 2 --json
json_check "$tmp/out" 2 "[m['id'] for m in msgs] == [$jid1, $jid2]"
expect_rc "history of a room not joined" 5 as bob "$PW_BOB" history '#nowhere'

# ---- server refusals: 4 and 5 ----------------------------------------------

expect_rc "bad password" 4 as bob "wrong-$PW_BOB" whoami
expect_in "$tmp/err" "bad password message" "parley: authentication failed"
expect_rc "unknown user" 4 as nobody "$PW_BOB" whoami
expect_rc "send to an unknown user" 5 as alice "$PW_ALICE" send nosuchuser hi
expect_in "$tmp/err" "ERR is shown" "NO_SUCH_USER"

# ---- client certificate login ----------------------------------------------

bash "$GEN" --out "$tmp/certs" --client alice >"$tmp/gen3.log" 2>&1 &&
bash "$GEN" --out "$tmp/other" --client alice >>"$tmp/gen3.log" 2>&1 ||
	{ echo "FAIL: gen-certs.sh --client failed" >&2; show "$tmp/gen3.log"; exit 1; }
start_server mtls "$tmp/certs/server.crt" "$tmp/certs/server.key" "$CA"
mtls_port=$port
printf '%s\n' "$PW_ALICE" | "$PARLEYCTL" --db "$tmp/mtls/parley.db" \
    user add alice --password-stdin >"$tmp/ctl.log" 2>&1 ||
	{ echo "FAIL: parleyctl user add alice (mtls)" >&2; show "$tmp/ctl.log"; exit 1; }
certs_as() {
	timeout "$T" "$PARLEY" --port "$mtls_port" --cafile "$CA" "$@" </dev/null
}
expect_rc "certificate login" 0 certs_as --user alice \
    --cert "$tmp/certs/alice.crt" --key "$tmp/certs/alice.key" whoami
expect_in "$tmp/out" "certificate login is alice" "alice user"
expect_rc "certificate login, environment" 0 env PARLEY_CERT="$tmp/certs/alice.crt" \
    PARLEY_KEY="$tmp/certs/alice.key" PARLEY_USER=alice \
    timeout "$T" "$PARLEY" --port "$mtls_port" --cafile "$CA" whoami </dev/null
expect_rc "certificate for another user" 4 certs_as --user bob \
    --cert "$tmp/certs/alice.crt" --key "$tmp/certs/alice.key" whoami
expect_in "$tmp/err" "wrong user message" "authentication failed"
expect_rc "certificate from an unknown CA" 4 certs_as --user alice \
    --cert "$tmp/other/alice.crt" --key "$tmp/other/alice.key" whoami
expect_in "$tmp/err" "refused certificate message" "refused the client certificate"
expect_rc "certificate and password" 0 timeout "$T" "$PARLEY" \
    --port "$mtls_port" --cafile "$CA" --user alice --password-stdin \
    --cert "$tmp/certs/alice.crt" --key "$tmp/certs/alice.key" whoami \
    <<<"$PW_ALICE"
expect_rc "key without certificate" 1 certs_as --user alice \
    --key "$tmp/certs/alice.key" whoami
expect_rc "unreadable certificate" 1 certs_as --user alice \
    --cert "$tmp/nonexistent.crt" --key "$tmp/certs/alice.key" whoami
kill "$server_pid"; wait "$server_pid" 2>/dev/null || true

# ---- TLS verification: 7, 8, 9, 10 -----------------------------------------

expect_rc "unknown CA" 7 env PARLEY_CAFILE="$tmp/other/ca.crt" \
    timeout "$T" "$PARLEY" --port "$main_port" --user bob \
    --password-stdin whoami <<<"$PW_BOB"
expect_in "$tmp/err" "unknown CA message" "unknown CA"
[[ $(wc -l <"$tmp/err") == 1 ]] && ok || { fail "one-line TLS message"; show "$tmp/err"; }
expect_rc "system store does not know the test CA" 7 timeout "$T" "$PARLEY" \
    --port "$main_port" --user bob --password-stdin whoami <<<"$PW_BOB"

start_server wrong "$tmp/bad/wrong.crt" "$tmp/bad/server.key"
expect_rc "host name mismatch (DNS)" 8 timeout "$T" "$PARLEY" --host localhost \
    --port "$port" --cafile "$CA" --user bob --password-stdin whoami <<<"$PW_BOB"
expect_in "$tmp/err" "host name mismatch message" "host name mismatch"
expect_rc "host name mismatch (IP)" 8 timeout "$T" "$PARLEY" --host 127.0.0.1 \
    --port "$port" --cafile "$CA" --user bob --password-stdin whoami <<<"$PW_BOB"
expect_in "$tmp/err" "IP mismatch message" "host name mismatch"
kill "$server_pid"; wait "$server_pid" 2>/dev/null || true

start_fake "$tmp/bad/expired.crt" "$tmp/bad/server.key"
expect_rc "expired certificate" 9 timeout "$T" "$PARLEY" --port "$fake_port" \
    --cafile "$CA" --user bob --password-stdin whoami <<<"$PW_BOB"
expect_in "$tmp/err" "expired message" "expired"
stop_fake

# A server that insists on a client certificate, and none is given: 4.
start_fake "$tmp/certs/server.crt" "$tmp/certs/server.key" -Verify 1 -CAfile "$CA"
expect_rc "client certificate required" 4 timeout "$T" "$PARLEY" --port "$fake_port" \
    --cafile "$CA" --user bob --password-stdin whoami <<<"$PW_BOB"
expect_in "$tmp/err" "certificate required message" "requires a client certificate"
stop_fake

# A server that speaks nothing newer than TLS 1.1 (OPENSSL_CONF=/dev/null:
# the system policy may refuse to start such a server at all).
if OPENSSL_CONF=/dev/null openssl s_server -help 2>&1 | grep -q -- '-tls1_1'; then
	OPENSSL_CONF=/dev/null start_fake "$tmp/certs/server.crt" \
	    "$tmp/certs/server.key" -tls1_1 -cipher 'ALL:@SECLEVEL=0'
	expect_rc "TLS version mismatch" 10 timeout "$T" "$PARLEY" \
	    --port "$fake_port" --cafile "$CA" --user bob --password-stdin \
	    whoami <<<"$PW_BOB"
	expect_in "$tmp/err" "version mismatch message" "TLS version mismatch"
	stop_fake
else
	echo "SKIP: TLS version mismatch (openssl s_server has no -tls1_1)"
fi

# A server that does not speak TLS at all: 3.
python3 -c '
import socket, sys
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(1)
print(s.getsockname()[1], flush=True)
c, _ = s.accept(); c.recv(4096); c.sendall(b"HTTP/1.0 400 Bad Request\r\n\r\n")
c.close()' >"$tmp/plain.port" &
plain_pid=$!
pids+=("$plain_pid")
for ((i = 0; i < 50; i++)); do [[ -s $tmp/plain.port ]] && break; sleep 0.1; done
expect_rc "not a TLS server" 3 timeout "$T" "$PARLEY" --port "$(cat "$tmp/plain.port")" \
    --cafile "$CA" --user bob --password-stdin whoami <<<"$PW_BOB"
wait "$plain_pid" 2>/dev/null || true

# ---- what a hostile server sends is escaped ---------------------------------

start_fake "$tmp/certs/server.crt" "$tmp/certs/server.key"
printf 'HELLO parley/1 fake\nOK LOGIN bob\nMSG 7 2026-01-01T00:00:00.000Z alice bob a\033]52;c;aGk=\007b\033[31mc \302\233 \342\200\256d\tz\nOK QUIT\n' >&3
expect_rc "listen from a hostile server" 0 timeout "$T" "$PARLEY" \
    --port "$fake_port" --cafile "$CA" --user alice --password-stdin \
    listen --no-reconnect --count 1 <<<"$PW_ALICE"
if LC_ALL=C grep -q $'[\x01-\x08\x0b-\x1f\x7f]' "$tmp/out" ||
    grep -q $'\xc2[\x80-\x9f]' "$tmp/out" || grep -q $'\xe2\x80\xae' "$tmp/out"; then
	fail "raw control characters reached the output"; show "$tmp/out"
else ok; fi
expect_in "$tmp/out" "ESC escaped" 'a\x1b]52;c;aGk=\x07b\x1b[31mc'
expect_in "$tmp/out" "C1 and bidi escaped" '\u{009b} \u{202e}d'
expect_in "$tmp/fake.out" "password sent quoted" \
    'LOGIN alice "alice \"quoted\" \\ pass phrase"'
stop_fake

# The same kind of text as JSON: valid JSON, valid UTF-8, nothing raw. The
# listener does the SYNC probes of a reconnecting listen first.
start_fake "$tmp/certs/server.crt" "$tmp/certs/server.key"
printf 'HELLO parley/1 fake\nOK LOGIN bob\nMSG 0012 2026-01-01T00:00:00.000Z alice #r q"b\\s/\033[1m\007\x7f\302\205\342\200\250\tü✓ end\nOK SYNC 0 0\nOK QUIT\n' >&3
expect_rc "listen --json from a hostile server" 0 timeout "$T" "$PARLEY" \
    --port "$fake_port" --cafile "$CA" --user bob --password-stdin \
    listen --count 1 --json <<<"$PW_BOB"
json_check "$tmp/out" 1 "msgs[0]['id'] == 12 and msgs[0]['to'] == '#r' and
    msgs[0]['text'] == 'q\"b\\\\s/\x1b[1m\x07\x7f\x85\u2028\tü✓ end'"
if LC_ALL=C grep -q $'[\x01-\x1f\x7f]' "$tmp/out" || grep -q $'\xc2[\x80-\x9f]' "$tmp/out"; then
	fail "raw control characters in JSON output"; show "$tmp/out"
else ok; fi
expect_in "$tmp/fake.out" "listen probed with SYNC" "SYNC 0 1"
stop_fake

# "BYE kicked" ends a listen at once: no reconnecting.
start_fake "$tmp/certs/server.crt" "$tmp/certs/server.key"
printf 'HELLO parley/1 fake\nOK LOGIN bob\nOK SYNC 0 0\nBYE kicked: enough\n' >&3
expect_rc "listen after BYE kicked" 6 timeout "$T" "$PARLEY" --port "$fake_port" \
    --cafile "$CA" --user bob --password-stdin listen <<<"$PW_BOB"
expect_in "$tmp/err" "kicked reason shown" "connection closed by the server: kicked: enough"
if grep -q reconnecting "$tmp/err"; then fail "reconnect after kicked"; show "$tmp/err"; else ok; fi
stop_fake

# ---- connection lost: 6 ----------------------------------------------------

as bob "$PW_BOB" listen --no-reconnect >"$tmp/lost.out" 2>"$tmp/lost.err" &
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
if [[ $rc == 6 ]]; then ok; else fail "listen --no-reconnect when the server stops: exit $rc, expected 6"; show "$tmp/lost.err"; fi
expect_in "$tmp/lost.err" "BYE reason shown" "parley: connection closed by the server: server shutting down"

# ---- connection refused: 2 -------------------------------------------------

expect_rc "connection refused" 2 as bob "$PW_BOB" whoami
expect_in "$tmp/err" "refused message" "refused"
[[ $(wc -l <"$tmp/err") == 1 ]] && ok || { fail "one-line refused message"; show "$tmp/err"; }
expect_rc "unknown host" 2 as bob "$PW_BOB" --host no-such-host.invalid whoami

if ((failures > 0)); then
	echo "test_client: $failures of $((checks + failures)) checks failed" >&2
	exit 1
fi
echo "test_client: all $checks checks passed"
