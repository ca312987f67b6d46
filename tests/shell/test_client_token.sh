#!/usr/bin/env bash
# Tests the client's resume token (docs/CLIENT.md "Resume tokens") against
# a real parleyd: one login with a password stores a token (folder 0700,
# file 0600, never printed or logged); later runs log in with it with no
# password at hand at all (stdin /dev/null, no controlling terminal — the
# server logs "(token)"); a token past half its life is refreshed; a
# revoked one (parleyctl token revoke) is removed and the client falls
# back to the password prompt (played through a pty) or to the kept
# --password-stdin password; an explicit wrong password is still exit 4;
# --no-token and "token = false" neither use nor store one; parley logout
# removes it; listen reconnects across a server restart with the token and
# never prompts, and stops with exit 4 when the token is revoked and no
# password was given.
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
command -v setsid >/dev/null || { echo "FAIL: setsid not found" >&2; exit 1; }
unset PARLEY_HOST PARLEY_PORT PARLEY_CAFILE PARLEY_USER PARLEY_CERT \
    PARLEY_KEY PARLEY_CONFIG

tmp=$(mktemp -d "${TMPDIR:-/tmp}/test_client_token.XXXXXX")
export XDG_CONFIG_HOME=$tmp/xdg HOME=$tmp/home
mkdir -p "$HOME"
pids=()
server_pid=
cleanup() {
	local p
	for p in "${pids[@]}" $server_pid; do
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

wait_for() {
	local deadline=$((SECONDS + $1)); shift
	until "$@"; do
		((SECONDS < deadline)) || return 1
		sleep 0.1
	done
}
# expect_rc DESCRIPTION CODE COMMAND... : stdout in $tmp/out, stderr in
# $tmp/err; both are also appended to $tmp/all for the leak check.
expect_rc() {
	local what=$1 want=$2 rc=0; shift 2
	"$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
	cat "$tmp/out" "$tmp/err" >>"$tmp/all"
	if [[ $rc == "$want" ]]; then ok; else
		fail "$what: exit $rc, expected $want"
		show "$tmp/out"; show "$tmp/err"
	fi
}
expect_in() {
	if grep -qF -- "$3" "$1"; then ok; else
		fail "$2: '$3' not in output"; show "$1"
	fi
}
expect_not_in() {
	if grep -qF -- "$3" "$1"; then fail "$2: '$3' in output"; show "$1"; else ok; fi
}

bash "$GEN" --out "$tmp/certs" >"$tmp/gen.log" 2>&1 ||
	{ echo "FAIL: gen-certs.sh failed" >&2; show "$tmp/gen.log"; exit 1; }
CA=$tmp/certs/ca.crt
PW_ALICE=alice-token-passphrase
PW_BOB=bob-token-passphrase
for u in alice bob; do
	pw=$PW_ALICE; [[ $u == bob ]] && pw=$PW_BOB
	printf '%s\n' "$pw" | "$PARLEYCTL" --db "$tmp/parley.db" user add "$u" \
	    --password-stdin >"$tmp/ctl.log" 2>&1 ||
		{ echo "FAIL: parleyctl user add $u" >&2; show "$tmp/ctl.log"; exit 1; }
done

# A fixed port, so that listen can reconnect after a restart.
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
CONF=$tmp/parleyd.conf
cat >"$CONF" <<EOF
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
# The log is kept across restarts: wait for one more "listening" line.
listening() { grep -c "listening on 127.0.0.1:$port" "$tmp/parleyd.log" || true; }
more_listening() { [[ $(listening) -gt $1 ]]; }
start_server() {
	local n
	touch "$tmp/parleyd.log"
	n=$(listening)
	"$PARLEYD" -c "$CONF" >>"$tmp/parleyd.log" 2>&1 &
	server_pid=$!
	if ! wait_for 10 more_listening "$n"; then
		echo "FAIL: parleyd did not start on port $port" >&2
		show "$tmp/parleyd.log"
		exit 1
	fi
}
stop_server() {
	kill -TERM "$server_pid"
	wait "$server_pid" 2>/dev/null || true
	server_pid=
}
# Token logins of a user so far, from the server's log.
token_logins() { grep -c "login ok user=$1 .*(token)" "$tmp/parleyd.log" || true; }
more_token_logins() { [[ $(token_logins "$1") -gt $2 ]]; }

# nopw USER ARGS... : no password at hand at all: stdin is /dev/null and
# there is no controlling terminal to prompt on.
nopw() {
	local user=$1; shift
	timeout "$T" setsid -w "$PARLEY" --port "$port" --cafile "$CA" \
	    --user "$user" "$@" </dev/null
}
# pw USER PASSWORD ARGS... : the password on stdin.
pw() {
	local user=$1 pass=$2; shift 2
	printf '%s\n' "$pass" | timeout "$T" setsid -w "$PARLEY" --port "$port" \
	    --cafile "$CA" --user "$user" --password-stdin "$@"
}
# tty USER PASSWORD ARGS... : on a pseudo-terminal, answering the password
# prompt when it comes; the terminal's output goes to stdout.
tty() {
	local user=$1 pass=$2; shift 2
	timeout "$T" python3 - "$pass" "$PARLEY" --port "$port" --cafile "$CA" \
	    --user "$user" "$@" <<-'PY'
	import os, pty, select, sys, time
	pw, argv = sys.argv[1], sys.argv[2:]
	pid, fd = pty.fork()
	if pid == 0:
	    os.execv(argv[0], argv)
	buf, sent, end = b"", False, time.time() + 15
	while time.time() < end:
	    r, _, _ = select.select([fd], [], [], 0.2)
	    if not r:
	        continue
	    try:
	        d = os.read(fd, 4096)
	    except OSError:
	        break
	    if not d:
	        break
	    buf += d
	    if not sent and b"Password for" in buf:
	        os.write(fd, (pw + "\n").encode())
	        sent = True
	_, st = os.waitpid(pid, 0)
	sys.stdout.write(buf.decode(errors="replace"))
	sys.exit(os.waitstatus_to_exitcode(st))
	PY
}
TOKDIR=$XDG_CONFIG_HOME/parley/tokens
TOK=$TOKDIR/alice@localhost:$port
token_of() { sed -n 's/^token //p' "$1"; }
mode_of() { stat -c %a "$1"; }

start_server

# ---- no token yet: nothing to log in with ------------------------------------

expect_rc "no token, no password" 1 nopw alice whoami
expect_in "$tmp/err" "the client would have to ask" "no terminal to ask for the password on"
[[ ! -e $TOK ]] && ok || fail "a token file before any login"

# ---- one login with the password stores a token --------------------------

expect_rc "password login" 0 pw alice "$PW_ALICE" whoami
expect_in "$tmp/out" "whoami" "alice user"
[[ -f $TOK ]] && ok || { fail "no token file after the login"; ls -la "$TOKDIR" >&2 || true; }
[[ $(mode_of "$TOKDIR") == 700 ]] && ok || fail "tokens folder mode $(mode_of "$TOKDIR"), expected 700"
[[ $(mode_of "$TOK") == 600 ]] && ok || fail "token file mode $(mode_of "$TOK"), expected 600"
token1=$(token_of "$TOK")
[[ $token1 =~ ^[A-Za-z0-9_-]{43}$ ]] && ok || fail "token file holds no 43-character token"
grep -Eq '^expires [0-9]{4}-' "$TOK" && ok || { fail "token file has no expiry"; show "$TOK"; }
ls "$TOKDIR" | grep -q '\.tmp\.' && fail "a temporary file was left behind" || ok

# ---- later runs need no password ---------------------------------------------

before=$(token_logins alice)
expect_rc "whoami with the token" 0 nopw alice whoami
expect_in "$tmp/out" "resumed whoami" "alice user"
expect_rc "send with the token" 0 nopw alice send bob 'sent with a token'
expect_rc "history with the token" 0 nopw alice history bob -n 1
expect_in "$tmp/out" "history with the token" "alice bob sent with a token"
[[ $(token_logins alice) == $((before + 3)) ]] && ok ||
	fail "the server saw $(( $(token_logins alice) - before )) token logins, expected 3"
[[ $(token_of "$TOK") == "$token1" ]] && ok || fail "a fresh token was replaced"

# An explicit password is used as given, so a wrong one is still refused.
expect_rc "wrong password despite a token" 4 pw alice "wrong-$PW_ALICE" whoami
[[ -f $TOK ]] && ok || fail "the token was dropped after a wrong password"
# A right one works and, the token being fresh, keeps it.
expect_rc "right password with a token" 0 pw alice "$PW_ALICE" whoami
[[ $(token_of "$TOK") == "$token1" ]] && ok || fail "a fresh token was replaced after a password login"

# ---- refresh past half the lifetime -----------------------------------------

sed -i 's/^issued .*/issued 2000-01-01T00:00:00.000Z/' "$TOK"
expect_rc "resume with an old token" 0 nopw alice whoami
token2=$(token_of "$TOK")
[[ -n $token2 && $token2 != "$token1" ]] && ok || fail "the token past half its life was not refreshed"
grep -q '^issued 2000' "$TOK" && fail "the refreshed token kept the old issue time" || ok
[[ $(mode_of "$TOK") == 600 ]] && ok || fail "refreshed token file mode $(mode_of "$TOK")"

# A token file others may read is not used.
chmod 644 "$TOK"
expect_rc "token file open to others" 1 nopw alice whoami
expect_in "$tmp/err" "mode complaint" "open to others"
chmod 600 "$TOK"

# ---- revoked: removed, then the password prompt -------------------------------

"$PARLEYCTL" -c "$CONF" token revoke alice >"$tmp/ctl.log" 2>&1 && ok ||
	{ fail "parleyctl token revoke"; show "$tmp/ctl.log"; }
expect_rc "revoked token, no password" 1 nopw alice whoami
expect_in "$tmp/err" "refusal reported" "token was refused"
expect_in "$tmp/err" "fell back to the prompt" "no terminal to ask for the password on"
[[ ! -e $TOK ]] && ok || fail "the refused token file was not removed"

expect_rc "password login again" 0 pw alice "$PW_ALICE" whoami
token3=$(token_of "$TOK")
"$PARLEYCTL" -c "$CONF" token revoke alice >"$tmp/ctl.log" 2>&1 && ok ||
	{ fail "parleyctl token revoke"; show "$tmp/ctl.log"; }
expect_rc "revoked token, prompt on a terminal" 0 tty alice "$PW_ALICE" whoami
expect_in "$tmp/out" "the prompt came" "Password for alice:"
expect_in "$tmp/out" "then the login" "alice user"
[[ -f $TOK && $(token_of "$TOK") != "$token3" ]] && ok ||
	fail "no new token after the prompted login"
expect_rc "prompted login kept working" 0 nopw alice whoami

# ---- --no-token and token = false ------------------------------------------

expect_rc "--no-token ignores the token" 1 nopw alice --no-token whoami
expect_in "$tmp/err" "--no-token asks for the password" "no terminal to ask"
expect_rc "--no-token with a password" 0 pw bob "$PW_BOB" --no-token whoami
[[ ! -e $TOKDIR/bob@localhost:$port ]] && ok || fail "--no-token stored a token"
printf 'token = false\n' >"$tmp/notoken.conf"
expect_rc "token = false ignores the token" 1 nopw alice --config "$tmp/notoken.conf" whoami
expect_rc "token = false stores none" 0 pw bob "$PW_BOB" --config "$tmp/notoken.conf" whoami
[[ ! -e $TOKDIR/bob@localhost:$port ]] && ok || fail "token = false stored a token"
printf 'token = maybe\n' >"$tmp/badtoken.conf"
expect_rc "token = maybe" 1 nopw alice --config "$tmp/badtoken.conf" whoami
expect_in "$tmp/err" "bad token value" "token must be true or false"

# ---- logout ----------------------------------------------------------------

expect_rc "logout" 0 nopw alice logout
expect_in "$tmp/out" "logout says so" "removed the login token for alice@localhost:$port"
[[ ! -e $TOK ]] && ok || fail "logout left the token file"
expect_rc "logout again" 0 nopw alice logout
expect_in "$tmp/out" "nothing to remove" "no login token stored"
expect_rc "after logout a password is needed" 1 nopw alice whoami

# ---- listen reconnects with the token and never prompts ----------------------

expect_rc "password login for listen" 0 pw alice "$PW_ALICE" whoami
expect_rc "bob logs in once" 0 pw bob "$PW_BOB" whoami
before=$(token_logins alice)
nopw alice listen --count 2 >"$tmp/l1.out" 2>"$tmp/l1.err" &
l1=$!
pids+=("$l1")
wait_for 10 more_token_logins alice "$before" && ok || fail "listen did not log in with the token"
sleep 0.5
expect_rc "message before the restart" 0 nopw bob send alice 'before restart'
wait_for 10 grep -q 'before restart' "$tmp/l1.out" && ok || fail "listen missed 'before restart'"
stop_server
start_server
expect_rc "message after the restart" 0 nopw bob send alice 'after restart'
rc=0
for ((i = 0; i < 400; i++)); do kill -0 "$l1" 2>/dev/null || break; sleep 0.1; done
wait "$l1" || rc=$?
cat "$tmp/l1.out" "$tmp/l1.err" >>"$tmp/all"
[[ $rc == 0 ]] && ok || { fail "listen across a restart: exit $rc"; show "$tmp/l1.err"; }
expect_in "$tmp/l1.out" "caught up after the restart" "after restart"
expect_in "$tmp/l1.err" "it did reconnect" "reconnected"
expect_not_in "$tmp/l1.err" "no prompt" "Password"
[[ $(token_logins alice) -ge $((before + 2)) ]] && ok || fail "the reconnect did not use the token"

# Revoked while listening, no password given: the reconnect stops (4).
nopw alice listen >"$tmp/l2.out" 2>"$tmp/l2.err" &
l2=$!
pids+=("$l2")
before=$(token_logins alice)
wait_for 10 more_token_logins alice "$before" || true
sleep 0.5
"$PARLEYCTL" -c "$CONF" token revoke alice >"$tmp/ctl.log" 2>&1 || true
stop_server
start_server
rc=0
for ((i = 0; i < 400; i++)); do kill -0 "$l2" 2>/dev/null || break; sleep 0.1; done
wait "$l2" || rc=$?
cat "$tmp/l2.out" "$tmp/l2.err" >>"$tmp/all"
[[ $rc == 4 ]] && ok || { fail "listen with a revoked token: exit $rc, expected 4"; show "$tmp/l2.err"; }
expect_in "$tmp/l2.err" "why it stopped" "no password is at hand"

# Revoked while listening with --password-stdin: the kept password takes over.
pw alice "$PW_ALICE" listen --count 1 >"$tmp/l3.out" 2>"$tmp/l3.err" &
l3=$!
pids+=("$l3")
wait_for 10 test -f "$TOK" && ok || fail "listen --password-stdin stored no token"
sleep 0.5
"$PARLEYCTL" -c "$CONF" token revoke alice >"$tmp/ctl.log" 2>&1 || true
stop_server
start_server
sleep 1
expect_rc "message for the password fallback" 0 nopw bob send alice 'after revoke'
rc=0
for ((i = 0; i < 400; i++)); do kill -0 "$l3" 2>/dev/null || break; sleep 0.1; done
wait "$l3" || rc=$?
cat "$tmp/l3.out" "$tmp/l3.err" >>"$tmp/all"
[[ $rc == 0 ]] && ok || { fail "listen --password-stdin after a revoke: exit $rc"; show "$tmp/l3.err"; }
expect_in "$tmp/l3.out" "message after the fallback" "after revoke"
expect_in "$tmp/l3.err" "the token was refused first" "token was refused"

# ---- the token is never printed or logged -------------------------------------

leaks=0
for t in "$token1" "$token2" "$token3" $(token_of "$TOK" 2>/dev/null || true); do
	[[ -n $t ]] || continue
	if grep -qF -- "$t" "$tmp/all" "$tmp/parleyd.log"; then leaks=$((leaks + 1)); fi
done
[[ $leaks == 0 ]] && ok || fail "a token appears in the client's output or the server log"

stop_server
if ((failures > 0)); then
	echo "test_client_token: $failures of $((checks + failures)) checks failed" >&2
	exit 1
fi
echo "test_client_token: all $checks checks passed"
