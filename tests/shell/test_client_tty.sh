#!/usr/bin/env bash
# Tests the interactive client on a real pseudo-terminal (tmux): the
# no-echo password prompt, /join, sending to the current target, a message
# from another process appearing above the prompt while a line is half
# typed (the typed text stays on the prompt line and is sent intact
# afterwards), TAB completion of commands and names, /msg, /who, /history,
# line-editing history (Up), colour on a terminal and none with NO_COLOR,
# reconnecting after a server restart, Ctrl-D and /quit with exit 0.
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
if ! command -v tmux >/dev/null; then
	echo "SKIP: tmux is not installed"
	exit 0
fi
unset PARLEY_HOST PARLEY_PORT PARLEY_CAFILE PARLEY_USER PARLEY_CERT \
    PARLEY_KEY PARLEY_CONFIG NO_COLOR TMUX

tmp=$(mktemp -d "${TMPDIR:-/tmp}/test_client_tty.XXXXXX")
export XDG_CONFIG_HOME=$tmp/xdg HOME=$tmp/home
# A tmux server of our own, so nothing else is touched.
TM=(tmux -L "parley-tty-test-$$" -f /dev/null)
pids=()
server_pid=
cleanup() {
	local p
	"${TM[@]}" kill-server 2>/dev/null || true
	for p in "${pids[@]}" $server_pid; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}" $server_pid; do wait "$p" 2>/dev/null || true; done
	rm -rf -- "$tmp"
}
trap cleanup EXIT

failures=0
checks=0
fail() { printf 'FAIL: %s\n' "$*" >&2; failures=$((failures + 1)); }
ok() { checks=$((checks + 1)); }
show() { sed 's/^/    /' "$1" >&2; }
T=20

bash "$GEN" --out "$tmp/certs" >"$tmp/gen.log" 2>&1 ||
	{ echo "FAIL: gen-certs.sh failed" >&2; show "$tmp/gen.log"; exit 1; }
CA=$tmp/certs/ca.crt
PW_ALICE=alice-terminal-passphrase
PW_BOB=bob-terminal-passphrase
for u in alice bob; do
	pw=$PW_ALICE; [[ $u == bob ]] && pw=$PW_BOB
	printf '%s\n' "$pw" | "$PARLEYCTL" --db "$tmp/parley.db" user add "$u" \
	    --password-stdin >"$tmp/ctl.log" 2>&1 ||
		{ echo "FAIL: parleyctl user add $u" >&2; show "$tmp/ctl.log"; exit 1; }
done
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
	local i
	: >"$tmp/parleyd.log"
	"$PARLEYD" -c "$tmp/parleyd.conf" >>"$tmp/parleyd.log" 2>&1 &
	server_pid=$!
	for ((i = 0; i < 100; i++)); do
		grep -q "listening on" "$tmp/parleyd.log" && return 0
		sleep 0.1
	done
	echo "FAIL: parleyd did not start" >&2
	show "$tmp/parleyd.log"
	exit 1
}
start_server

bob() {
	printf '%s\n' "$PW_BOB" | timeout "$T" "$PARLEY" --port "$port" \
	    --cafile "$CA" --user bob --password-stdin "$@"
}
bob join '#lobby' >/dev/null 2>&1 && ok || fail "bob joins #lobby"

# ---- the pane ----------------------------------------------------------------

pane() { "${TM[@]}" capture-pane -p -t chat "$@"; }
keys() { "${TM[@]}" send-keys -t chat "$@"; }
# wait_pane SECONDS TEXT : the pane shows TEXT within SECONDS.
wait_pane() {
	local deadline=$((SECONDS + $1))
	until pane | grep -qF -- "$2"; do
		if ((SECONDS >= deadline)); then
			fail "the pane does not show '$2'"
			pane | sed 's/^/    | /' >&2
			return 1
		fi
		sleep 0.1
	done
	ok
}
# The prompt line: the last line of the pane that is not empty.
prompt_line() { pane | sed '/^[[:space:]]*$/d' | tail -n1; }
expect_prompt() {
	local got
	for ((i = 0; i < 30; i++)); do
		got=$(prompt_line)
		[[ $got == "$1" ]] && { ok; return 0; }
		sleep 0.1
	done
	fail "prompt line is '$got', expected '$1'"
	pane | sed 's/^/    | /' >&2
}

start_chat() {  # ENV... : parley in a new 120x30 tmux window
	"${TM[@]}" kill-session -t chat 2>/dev/null || true
	rm -f "$tmp/exit"
	"${TM[@]}" new-session -d -s chat -x 120 -y 30 \
	    "env $* TERM=xterm-256color '$PARLEY' --port $port --cafile '$CA' \
	    --user alice; echo \$? >'$tmp/exit'; sleep 600"
}
wait_exit() {
	local i
	for ((i = 0; i < 100; i++)); do
		[[ -s $tmp/exit ]] && { cat "$tmp/exit"; return 0; }
		sleep 0.1
	done
	echo timeout
}

start_chat
wait_pane 10 "Password for alice:"
keys "$PW_ALICE" Enter
wait_pane 10 "logged in as alice"
if pane | grep -qF -- "$PW_ALICE"; then fail "the password was echoed"; else ok; fi
expect_prompt ">"

keys '/join #lobby' Enter
wait_pane 10 "-- joined #lobby"
expect_prompt "#lobby>"
keys 'hello lobby' Enter
wait_pane 10 "#lobby alice: hello lobby"

# Half a line typed, then a message from elsewhere.
keys 'partial inp'
expect_prompt "#lobby> partial inp"
bob send '#lobby' 'incoming while typing' >/dev/null 2>&1 && ok || fail "bob sends"
wait_pane 10 "#lobby bob: incoming while typing"
expect_prompt "#lobby> partial inp"
# The message stands on a line of its own, not glued to the typed text
# (the prompt line is the last one, checked above).
pane | grep -Eq '^[0-9]{2}:[0-9]{2} #lobby bob: incoming while typing$' && ok ||
	{ fail "the message stands on its own line above the prompt"; pane | sed 's/^/    | /' >&2; }
[[ $(pane | grep -c 'partial inp') == 1 ]] && ok ||
	{ fail "the partial line is shown once"; pane | sed 's/^/    | /' >&2; }
keys 'ut, finished' Enter
wait_pane 10 "#lobby alice: partial input, finished"
bob history '#lobby' -n 1 >"$tmp/out" 2>&1 || true
grep -q ' alice #lobby partial input, finished$' "$tmp/out" && ok ||
	{ fail "the finished line reached the server intact"; show "$tmp/out"; }

# TAB: a command, then a known name.
keys '/wh' Tab
expect_prompt "#lobby> /who"
keys Enter
wait_pane 10 "bob offline"
keys '/msg b' Tab
expect_prompt "#lobby> /msg bob"
keys 'psst' Enter
wait_pane 10 "bob alice: psst"
bob history alice -n 1 >"$tmp/out" 2>&1 || true
grep -q ' alice bob psst$' "$tmp/out" && ok || { fail "/msg reached bob"; show "$tmp/out"; }

# Up brings the last line back.
keys Up
expect_prompt "#lobby> /msg bob psst"
keys C-u
expect_prompt "#lobby>"
keys '/history 2' Enter
wait_pane 10 "#lobby alice: hello lobby"

# Colour on a terminal: times dim, rooms cyan.
if pane -e | grep -q $'\e\\[36m#lobby'; then ok; else fail "no colour on the terminal"; pane -e | cat -v | tail -5 >&2; fi

# A server restart: the client says so, reconnects, and shows what was
# sent meanwhile.
kill -TERM "$server_pid"; wait "$server_pid" 2>/dev/null || true
wait_pane 10 "server shutting down"
wait_pane 10 "reconnecting"
start_server
bob send '#lobby' 'sent during the restart' >/dev/null 2>&1 && ok || fail "bob sends during the restart"
wait_pane 40 "-- reconnected"
wait_pane 10 "#lobby bob: sent during the restart"
expect_prompt "#lobby>"

keys '/quit' Enter
rc=$(wait_exit)
[[ $rc == 0 ]] && ok || { fail "/quit: exit '$rc'"; pane | sed 's/^/    | /' >&2; }

# NO_COLOR: no escape sequences; Ctrl-D quits.
# The first chat stored a resume token; drop it so the prompt shows again.
"$PARLEY" --port "$port" --cafile "$CA" --user alice logout >/dev/null
start_chat NO_COLOR=1
wait_pane 10 "Password for alice:"
keys "$PW_ALICE" Enter
wait_pane 10 "logged in as alice"
keys '/join #lobby' Enter
wait_pane 10 "-- joined #lobby"
if pane -e | grep -q $'\e\\[3[0-9]m'; then fail "colour despite NO_COLOR"; pane -e | cat -v | tail -5 >&2; else ok; fi
keys C-d
rc=$(wait_exit)
[[ $rc == 0 ]] && ok || { fail "Ctrl-D: exit '$rc'"; pane | sed 's/^/    | /' >&2; }

kill -TERM "$server_pid"; wait "$server_pid" 2>/dev/null || true
server_pid=
if ((failures > 0)); then
	echo "test_client_tty: $failures of $((checks + failures)) checks failed" >&2
	exit 1
fi
echo "test_client_tty: all $checks checks passed"
