#!/usr/bin/env bash
# Tests end-to-end encrypted direct messages with the real client and
# server (docs/E2E.md): keygen (key file 0600 in a 0700 folder, public key
# published, fingerprints), an encrypted round trip alice -> bob shown by
# bob's listen --json with "e2e":true and the plaintext, the server's
# database read with the sqlite3 CLI holding the envelope and never the
# plaintext, the sender's own copy opening in history, a tampered
# envelope shown as not decryptable, missing keys and rooms refused, a
# changed key warned about (with both fingerprints) and refused for
# sending (exit 11) until parley trust, a message from the changed key
# marked unverified, and /e2e in the interactive chat. Every user has
# their own configuration folder, as on their own machine.
set -euo pipefail
export LC_ALL=C.UTF-8 2>/dev/null || export LC_ALL=C

SRCDIR=${SRCDIR:-$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)}
BUILD=${BUILD:-$SRCDIR/build}
PARLEYD=${PARLEYD:-$BUILD/parleyd}
PARLEYCTL=${PARLEYCTL:-$BUILD/parleyctl}
PARLEY=${PARLEY:-$BUILD/parley}
GEN=$SRCDIR/certs/gen-certs.sh
for f in "$PARLEYD" "$PARLEYCTL" "$PARLEY"; do
	[[ -x $f ]] || { echo "FAIL: $f not found" >&2; exit 1; }
done
for c in python3 sqlite3; do
	command -v "$c" >/dev/null || { echo "FAIL: $c not found" >&2; exit 1; }
done
unset PARLEY_HOST PARLEY_PORT PARLEY_CAFILE PARLEY_USER PARLEY_CERT \
    PARLEY_KEY PARLEY_CONFIG NO_COLOR

tmp=$(mktemp -d "${TMPDIR:-/tmp}/test_client_e2e.XXXXXX")
export HOME=$tmp/home
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
# wait_exit PID SECONDS : sets $rc to the job's exit status (124: still
# running after SECONDS).
wait_exit() {
	local deadline=$((SECONDS + $2))
	while kill -0 "$1" 2>/dev/null && ((SECONDS < deadline)); do
		sleep 0.1
	done
	rc=0
	if kill -0 "$1" 2>/dev/null; then rc=124; return; fi
	wait "$1" || rc=$?
}
lines_at_least() { [[ -f $1 && $(wc -l <"$1") -ge $2 ]]; }

bash "$GEN" --out "$tmp/certs" >"$tmp/gen.log" 2>&1 ||
	{ echo "FAIL: gen-certs.sh failed" >&2; show "$tmp/gen.log"; exit 1; }
CA=$tmp/certs/ca.crt
DB=$tmp/parley.db
for u in alice bob carol; do
	printf '%s\n' "$u-e2e-test-passphrase" | "$PARLEYCTL" --db "$DB" user add "$u" \
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
[storage]
database = $DB
[auth]
pwhash_ops = 1
pwhash_mem_kib = 8192
EOF
: >"$tmp/parleyd.log"  # exists before it is polled
"$PARLEYD" -c "$tmp/parleyd.conf" >>"$tmp/parleyd.log" 2>&1 &
server_pid=$!
port=
for ((i = 0; i < 100; i++)); do
	port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$tmp/parleyd.log" | head -n1)
	[[ -n $port ]] && break
	sleep 0.1
done
[[ -n $port ]] || { echo "FAIL: parleyd did not start" >&2; show "$tmp/parleyd.log"; exit 1; }

# as USER ARGS... : USER's own configuration folder and password (stdin).
as() {
	local user=$1; shift
	printf '%s\n' "$user-e2e-test-passphrase" | XDG_CONFIG_HOME=$tmp/cfg/$user \
	    timeout "$T" "$PARLEY" --port "$port" --cafile "$CA" --user "$user" \
	    --password-stdin "$@"
}
# json_check FILE N PYTHON-EXPR : N JSON lines; EXPR over "msgs" holds.
json_check() {
	local file=$1 n=$2 expr=$3 out
	if out=$(python3 - "$file" "$n" "$expr" 2>&1 <<-'PY'
	import json, sys
	path, n, expr = sys.argv[1], int(sys.argv[2]), sys.argv[3]
	with open(path, encoding="utf-8") as f:
	    msgs = [json.loads(l) for l in f.read().splitlines()]
	assert len(msgs) == n, f"{len(msgs)} objects, expected {n}"
	assert eval("(" + expr + ")"), f"failed: {expr}\n{msgs!r}"
	PY
	); then ok; else fail "JSON output ($expr): $out"; show "$file"; fi
}
keyfile() { echo "$tmp/cfg/$1/parley/keys/$1@localhost:$port.key"; }
fp_of() { sed -n 's/.*fingerprint: //p' "$1"; }

# ---- keygen --------------------------------------------------------------

expect_rc "alice keygen" 0 as alice keygen
expect_in "$tmp/out" "a new pair" "created a new key pair for alice@localhost:$port"
fp_alice=$(fp_of "$tmp/out")
[[ $fp_alice =~ ^([0-9a-f]{4} ){15}[0-9a-f]{4}$ ]] && ok || fail "alice's fingerprint '$fp_alice'"
expect_rc "bob keygen" 0 as bob keygen
fp_bob1=$(fp_of "$tmp/out")
kf=$(keyfile alice)
[[ -f $kf ]] && ok || fail "no key file $kf"
[[ $(stat -c %a "$kf") == 600 ]] && ok || fail "key file mode $(stat -c %a "$kf")"
[[ $(stat -c %a "$(dirname "$kf")") == 700 ]] && ok || fail "keys folder mode"
secret_alice=$(sed -n 's/^secret //p' "$kf")
[[ ${#secret_alice} == 44 ]] && ok || fail "no secret key line in the key file"
sum=$(sha256sum <"$kf")
expect_rc "keygen again keeps the pair" 0 as alice keygen
expect_in "$tmp/out" "kept" "using the existing key pair"
[[ $(sha256sum <"$kf") == "$sum" ]] && ok || fail "keygen without --force changed the key file"
expect_rc "own fingerprint" 0 as alice fingerprint
[[ $(cat "$tmp/out") == "alice $fp_alice" ]] && ok || { fail "own fingerprint"; show "$tmp/out"; }
# The server has the published key.
sqlite3 "$DB" "select count(*) from users" >/dev/null 2>&1 && ok || fail "sqlite3 cannot read the database"

# ---- the round trip alice -> bob ------------------------------------------

SECRET='the vault code is 8391 — ünïcødé ✓'
logins() { grep -c "login ok user=$1 " "$tmp/parleyd.log" || true; }
more_logins() { [[ $(logins "$1") -ge $2 ]]; }
n=$(logins bob)
as bob listen --count 3 --json >"$tmp/bob.json" 2>"$tmp/bob.err" &
bl=$!
pids+=("$bl")
as bob listen --count 3 >"$tmp/bob.txt" 2>"$tmp/bob.txt.err" &
bt=$!
pids+=("$bt")
# Both listeners are in once the server logged two more logins of bob
# (and they have had a moment for their SYNC probes).
wait_for 10 more_logins bob $((n + 2)) && ok || fail "bob's listeners did not log in"
sleep 0.5
expect_rc "send --e2e" 0 as alice send -v --e2e bob "$SECRET"
id1=$(cat "$tmp/out")

bodies=$(sqlite3 "$DB" "select body from messages")
if grep -qF -- "vault code" <<<"$bodies"; then fail "the plaintext is in the database"; else ok; fi
env1=$(sqlite3 "$DB" "select body from messages where id = $id1")
[[ $env1 =~ ^e2e1:[A-Za-z0-9+/]+=*$ ]] && ok || fail "the database holds '$env1', not an envelope"
grep -qF -- "$env1" <<<"$bodies" && ok || fail "the envelope is not in select body from messages"

# A tampered envelope: one base64 character in the ciphertext changed.
pos=40
c=${env1:$pos:1}
[[ $c == A ]] && r=B || r=A
tampered=${env1:0:$pos}$r${env1:$((pos + 1))}
expect_rc "send a tampered envelope raw" 0 as alice send bob "$tampered"
expect_rc "send plain text" 0 as alice send bob 'plain and simple'

wait_exit "$bl" 20
[[ $rc == 0 ]] && ok || { fail "bob's listen --json: exit $rc"; show "$tmp/bob.err"; }
json_check "$tmp/bob.json" 3 "msgs[0]['e2e'] is True and msgs[0]['text'] == '$SECRET' and
    msgs[0]['from'] == 'alice' and msgs[0]['id'] == $id1 and 'e2e_error' not in msgs[0] and
    msgs[1]['e2e'] is True and msgs[1]['e2e_error'] == 'forged or not for this key pair' and
    msgs[1]['text'] == '$tampered' and
    'e2e' not in msgs[2] and msgs[2]['text'] == 'plain and simple'"
wait_exit "$bt" 20
[[ $rc == 0 ]] && ok || { fail "bob's plain listen: exit $rc"; show "$tmp/bob.txt.err"; }
expect_in "$tmp/bob.txt" "plain: opened" " alice bob [e2e] $SECRET"
expect_in "$tmp/bob.txt" "plain: tampered" " alice bob [e2e: cannot decrypt: forged or not for this key pair]"

# History opens them too, on both sides (alice's own copy with bob's key).
expect_rc "bob's history" 0 as bob history alice -n 3 --json
json_check "$tmp/out" 3 "msgs[0]['text'] == '$SECRET' and msgs[0]['e2e'] is True"
expect_rc "alice's history" 0 as alice history bob -n 3
expect_in "$tmp/out" "the sender reads her own message" "alice bob [e2e] $SECRET"

# known_keys: each side recorded the other's key on first use.
grep -q "^bob@localhost:$port " "$tmp/cfg/alice/parley/known_keys" && ok ||
	fail "alice's known_keys has no line for bob"
[[ $(stat -c %a "$tmp/cfg/alice/parley/known_keys") == 600 ]] && ok || fail "known_keys mode"
expect_rc "fingerprint bob" 0 as alice fingerprint bob
expect_in "$tmp/out" "bob's fingerprint, trusted" "bob $fp_bob1 (trusted)"

# ---- refusals -----------------------------------------------------------

expect_rc "--e2e to a room" 1 as alice send --e2e '#general' hi
expect_in "$tmp/err" "rooms are not covered" "direct messages only"
expect_rc "--e2e without a key pair" 1 as carol send --e2e bob hi
expect_in "$tmp/err" "no key pair" "make one with parley keygen"
expect_rc "--e2e to a user without a key" 5 as alice send --e2e carol hi
expect_in "$tmp/err" "carol has no key" "carol has no public key"
expect_rc "--e2e to nobody" 5 as alice send --e2e nosuchuser hi

# ---- a changed key ------------------------------------------------------

expect_rc "bob makes a new key pair" 0 as bob keygen --force
fp_bob2=$(fp_of "$tmp/out")
[[ -n $fp_bob2 && $fp_bob2 != "$fp_bob1" ]] && ok || fail "keygen --force made no new key"

# bob writes with the new key before alice has accepted it: unverified.
expect_rc "bob sends with the new key" 0 as bob send --e2e alice 'new key, same bob'
expect_rc "alice reads it" 0 as alice history bob -n 1 --json
json_check "$tmp/out" 1 "msgs[0]['text'] == 'new key, same bob' and msgs[0]['e2e'] is True and
    'e2e_warning' in msgs[0]"
expect_in "$tmp/err" "the change is reported" "WARNING: the end-to-end key of bob has changed"
expect_in "$tmp/err" "old fingerprint shown" "$fp_bob1"
expect_in "$tmp/err" "new fingerprint shown" "$fp_bob2"

expect_rc "send to the changed key" 11 as alice send --e2e bob 'must not go'
expect_in "$tmp/err" "refused" "not trusted yet"
if sqlite3 "$DB" "select body from messages" | grep -qF 'must not go'; then
	fail "a refused message reached the server"; else ok; fi
expect_rc "fingerprint of the changed key" 11 as alice fingerprint bob
expect_in "$tmp/out" "CHANGED shown" "bob $fp_bob2 (CHANGED: the trusted key is $fp_bob1"
expect_rc "trust bob" 0 as alice trust bob
expect_in "$tmp/out" "trusted now" "the new key of bob is trusted now: $fp_bob2"
expect_rc "send after trust" 0 as alice send --e2e bob 'after trust'
expect_rc "bob reads it" 0 as bob history alice -n 1 --json
json_check "$tmp/out" 1 "msgs[0]['text'] == 'after trust' and msgs[0]['e2e'] is True and
    'e2e_warning' not in msgs[0]"
# Messages to bob's old key cannot be opened with the new one.
expect_rc "bob's old messages" 0 as bob history alice -n 10 --json
python3 -c '
import json, sys
msgs = [json.loads(l) for l in open(sys.argv[1])]
first = [m for m in msgs if m["id"] == int(sys.argv[2])][0]
assert first.get("e2e_error") == "forged or not for this key pair", first
' "$tmp/out" "$id1" && ok || { fail "the old message did not fail to open"; show "$tmp/out"; }

# ---- /e2e in the interactive chat ------------------------------------------

n=$(logins bob)
as bob listen --count 1 --json >"$tmp/chat.json" 2>"$tmp/chat.err" &
cl=$!
pids+=("$cl")
wait_for 10 more_logins bob $((n + 1)) || true
{
	printf '%s\n' "alice-e2e-test-passphrase" '/e2e' '/to bob' \
	    'typed in the chat' '/to #general' 'for the room' '/quit'
} | XDG_CONFIG_HOME=$tmp/cfg/alice timeout "$T" "$PARLEY" --port "$port" \
    --cafile "$CA" --user alice --password-stdin >"$tmp/chat.out" 2>&1 && ok ||
	{ fail "the chat with /e2e"; show "$tmp/chat.out"; }
expect_in "$tmp/chat.out" "/e2e on" "end-to-end encryption on"
expect_in "$tmp/chat.out" "echo marked" "bob alice: [e2e] typed in the chat"
expect_in "$tmp/chat.out" "room refused" "rooms are not end-to-end encrypted"
wait_exit "$cl" 20
[[ $rc == 0 ]] && ok || { fail "listen for the chat message: exit $rc"; show "$tmp/chat.err"; }
json_check "$tmp/chat.json" 1 "msgs[0]['text'] == 'typed in the chat' and msgs[0]['e2e'] is True"
if sqlite3 "$DB" "select body from messages" | grep -qF 'typed in the chat'; then
	fail "the chat's plaintext is in the database"; else ok; fi

# And the chat shows what it receives opened.
n=$(logins bob)
{ printf '%s\n' "bob-e2e-test-passphrase"; sleep 3; printf '/history 1\n'; sleep 1; printf '/quit\n'; } |
    XDG_CONFIG_HOME=$tmp/cfg/bob timeout "$T" "$PARLEY" --port "$port" \
    --cafile "$CA" --user bob --password-stdin >"$tmp/bobchat.out" 2>&1 &
bc=$!
pids+=("$bc")
wait_for 10 more_logins bob $((n + 1)) || true
expect_rc "alice sends to bob's chat" 0 as alice send --e2e bob 'live in the chat'
wait_exit "$bc" 20
expect_in "$tmp/bobchat.out" "the chat opens a live message" "bob alice: [e2e] live in the chat"

# ---- secrets stay secret ------------------------------------------------

if grep -qF -- "$secret_alice" "$tmp/all" "$tmp/parleyd.log" "$tmp/bob.json" "$tmp/bob.txt"; then
	fail "alice's secret key appears in some output"; else ok; fi

if ((failures > 0)); then
	echo "test_client_e2e: $failures of $((checks + failures)) checks failed" >&2
	exit 1
fi
echo "test_client_e2e: all $checks checks passed"
