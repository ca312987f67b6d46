#!/usr/bin/env bash
# Tests where the parley client takes its settings from: client.conf
# ($XDG_CONFIG_HOME/parley/client.conf, else ~/.config/parley/client.conf,
# or --config / PARLEY_CONFIG), the PARLEY_* environment variables and
# the flags, in the order flags > environment > client.conf > defaults;
# relative and ~/ paths in client.conf; certificate and key taken as a
# pair from one layer; and clear errors (exit 1) for a bad file.
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
unset PARLEY_HOST PARLEY_PORT PARLEY_CAFILE PARLEY_USER PARLEY_CERT \
    PARLEY_KEY PARLEY_CONFIG XDG_CONFIG_HOME

tmp=$(mktemp -d "${TMPDIR:-/tmp}/test_client_conf.XXXXXX")
export HOME=$tmp/home
mkdir -p "$HOME"
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf -- "$tmp"
}
trap cleanup EXIT

failures=0
checks=0
fail() { printf 'FAIL: %s\n' "$*" >&2; failures=$((failures + 1)); }
ok() { checks=$((checks + 1)); }
show() { sed 's/^/    /' "$1" >&2; }
T=20

# expect_rc DESCRIPTION CODE COMMAND... (stdout in $tmp/out, stderr in
# $tmp/err); expect_in FILE DESCRIPTION TEXT.
expect_rc() {
	local what=$1 want=$2 rc=0; shift 2
	"$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
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

bash "$GEN" --out "$tmp/certs" >"$tmp/gen.log" 2>&1 &&
bash "$GEN" --out "$tmp/other" >>"$tmp/gen.log" 2>&1 &&
bash "$GEN" --out "$tmp/certs" --client alice >>"$tmp/gen.log" 2>&1 ||
	{ echo "FAIL: gen-certs.sh failed" >&2; show "$tmp/gen.log"; exit 1; }
PW_ALICE=alice-config-passphrase
PW_BOB=bob-config-passphrase
for u in alice bob; do
	pw=$PW_ALICE; [[ $u == bob ]] && pw=$PW_BOB
	printf '%s\n' "$pw" | "$PARLEYCTL" --db "$tmp/parley.db" user add "$u" \
	    --password-stdin >"$tmp/ctl.log" 2>&1 ||
		{ echo "FAIL: parleyctl user add $u" >&2; show "$tmp/ctl.log"; exit 1; }
done
cat >"$tmp/parleyd.conf" <<EOF
[server]
name = localhost
listen = 127.0.0.1:0
[tls]
certificate = $tmp/certs/server.crt
private_key = $tmp/certs/server.key
client_ca = $tmp/certs/ca.crt
[storage]
database = $tmp/parley.db
[auth]
pwhash_ops = 1
pwhash_mem_kib = 8192
EOF
: >"$tmp/parleyd.log"     # exists before the loop below reads it
"$PARLEYD" -c "$tmp/parleyd.conf" 2>>"$tmp/parleyd.log" &
pids+=($!)
port=
for ((i = 0; i < 100; i++)); do
	port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$tmp/parleyd.log" | head -n1)
	[[ -n $port ]] && break
	sleep 0.1
done
[[ -n $port ]] || { echo "FAIL: parleyd did not start" >&2; show "$tmp/parleyd.log"; exit 1; }
# A port nothing listens on.
dead=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

p() { timeout "$T" "$PARLEY" "$@"; }
# conf FILE LINES... : write a client.conf.
conf() {
	local f=$1; shift
	mkdir -p "$(dirname -- "$f")"
	printf '%s\n' "$@" >"$f"
}

# ---- no settings at all ----------------------------------------------------

expect_rc "no user anywhere" 1 p whoami
expect_in "$tmp/err" "no user message" "no user name"

# ---- ~/.config/parley/client.conf, relative paths ---------------------------

cp "$tmp/certs/ca.crt" "$HOME/trusted.crt"
mkdir -p "$HOME/.config/parley"
cp "$tmp/certs/ca.crt" "$HOME/.config/parley/ca.crt"
conf "$HOME/.config/parley/client.conf" "; defaults for tests" \
    "host = localhost" "port = $port" "cafile = ca.crt" "user = alice"
expect_rc "~/.config/parley/client.conf" 0 p --password-stdin whoami <<<"$PW_ALICE"
expect_in "$tmp/out" "user from client.conf" "alice user"
( cd /tmp && p --password-stdin whoami <<<"$PW_ALICE" >"$tmp/out" 2>"$tmp/err" ) &&
	ok || { fail "relative cafile from another directory"; show "$tmp/err"; }

# ---- XDG_CONFIG_HOME wins over ~/.config -----------------------------------

conf "$tmp/xdg/parley/client.conf" "[client]" "port = $port" \
    "cafile = ~/trusted.crt" "user = bob"
expect_rc "XDG_CONFIG_HOME" 0 env XDG_CONFIG_HOME="$tmp/xdg" \
    timeout "$T" "$PARLEY" --password-stdin whoami <<<"$PW_BOB"
expect_in "$tmp/out" "user from XDG client.conf" "bob user"

# ---- environment over client.conf, flags over environment -------------------

expect_rc "PARLEY_USER over client.conf" 0 env PARLEY_USER=bob \
    timeout "$T" "$PARLEY" --password-stdin whoami <<<"$PW_BOB"
expect_in "$tmp/out" "user from the environment" "bob user"
expect_rc "--user over PARLEY_USER" 0 env PARLEY_USER=bob \
    timeout "$T" "$PARLEY" --user alice --password-stdin whoami <<<"$PW_ALICE"
expect_in "$tmp/out" "user from the flag" "alice user"
expect_rc "PARLEY_PORT over client.conf" 2 env PARLEY_PORT="$dead" \
    timeout "$T" "$PARLEY" --password-stdin whoami <<<"$PW_ALICE"
expect_in "$tmp/err" "port from the environment" "port $dead"
expect_rc "--port over PARLEY_PORT" 0 env PARLEY_PORT="$dead" \
    timeout "$T" "$PARLEY" --port "$port" --password-stdin whoami <<<"$PW_ALICE"
expect_rc "PARLEY_HOST over client.conf" 2 env PARLEY_HOST=127.0.0.2 \
    PARLEY_PORT="$dead" timeout "$T" "$PARLEY" --password-stdin whoami <<<"$PW_ALICE"
expect_in "$tmp/err" "host from the environment" "127.0.0.2"
expect_rc "PARLEY_CAFILE over client.conf" 7 env \
    PARLEY_CAFILE="$tmp/other/ca.crt" \
    timeout "$T" "$PARLEY" --password-stdin whoami <<<"$PW_ALICE"
expect_rc "an empty --cafile means the system store" 7 p --cafile '' \
    --password-stdin whoami <<<"$PW_ALICE"

# ---- --config and PARLEY_CONFIG ---------------------------------------------

conf "$tmp/other.conf" "port = $dead" "user = bob"
expect_rc "--config" 2 p --config "$tmp/other.conf" --password-stdin whoami <<<"$PW_BOB"
expect_in "$tmp/err" "--config port" "port $dead"
expect_rc "PARLEY_CONFIG" 2 env PARLEY_CONFIG="$tmp/other.conf" \
    timeout "$T" "$PARLEY" --password-stdin whoami <<<"$PW_BOB"
expect_rc "--config over PARLEY_CONFIG" 0 env PARLEY_CONFIG="$tmp/other.conf" \
    timeout "$T" "$PARLEY" --config "$HOME/.config/parley/client.conf" \
    --password-stdin whoami <<<"$PW_ALICE"
expect_rc "a missing --config file" 1 p --config "$tmp/nope.conf" whoami
expect_in "$tmp/err" "missing file message" "nope.conf"

# ---- bad files --------------------------------------------------------------

conf "$tmp/bad1.conf" "user = alice" "password = hunter2-hunter2"
expect_rc "password in client.conf" 1 p --config "$tmp/bad1.conf" whoami
expect_in "$tmp/err" "unknown key message" "unknown key 'password'"
conf "$tmp/bad2.conf" "[server]" "host = x"
expect_rc "unknown section" 1 p --config "$tmp/bad2.conf" whoami
expect_in "$tmp/err" "unknown section message" "unknown section [server]"
conf "$tmp/bad3.conf" "user = alice" "this is not ini"
expect_rc "syntax error" 1 p --config "$tmp/bad3.conf" whoami
expect_in "$tmp/err" "syntax error message" "bad3.conf:2"
conf "$tmp/bad4.conf" "user = alice" "port = seventy"
expect_rc "bad port in client.conf" 1 p --config "$tmp/bad4.conf" whoami
conf "$tmp/bad5.conf" "user = alice" "cafile = missing.crt"
expect_rc "unreadable cafile in client.conf" 1 p --config "$tmp/bad5.conf" whoami
expect_in "$tmp/err" "cafile resolved against the file's folder" "$tmp/missing.crt"

# ---- certificate and key ----------------------------------------------------

conf "$tmp/cert.conf" "port = $port" "cafile = $tmp/certs/ca.crt" \
    "user = alice" "cert = certs/alice.crt" "key = certs/alice.key"
expect_rc "certificate login from client.conf" 0 p --config "$tmp/cert.conf" \
    whoami </dev/null
expect_in "$tmp/out" "certificate user" "alice user"
conf "$tmp/cert2.conf" "port = $port" "cafile = $tmp/certs/ca.crt" \
    "user = alice" "cert = certs/missing.crt" "key = certs/alice.key"
expect_rc "missing certificate in client.conf" 1 p --config "$tmp/cert2.conf" whoami
expect_rc "--cert '' --key '' turn it off" 0 p --config "$tmp/cert2.conf" \
    --cert '' --key '' --password-stdin whoami <<<"$PW_ALICE"
expect_rc "PARLEY_CERT/KEY replace both" 0 env PARLEY_CERT="$tmp/certs/alice.crt" \
    PARLEY_KEY="$tmp/certs/alice.key" timeout "$T" "$PARLEY" \
    --config "$tmp/cert2.conf" whoami </dev/null
expect_rc "--cert alone does not take client.conf's key" 1 p \
    --config "$tmp/cert.conf" --cert "$tmp/certs/alice.crt" whoami </dev/null
expect_in "$tmp/err" "pair message" "--cert and --key go together"

if ((failures > 0)); then
	echo "test_client_conf: $failures of $((checks + failures)) checks failed" >&2
	exit 1
fi
echo "test_client_conf: all $checks checks passed"
