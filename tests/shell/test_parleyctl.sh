#!/usr/bin/env bash
# Shell tests for parleyctl (SPEC §6): every sub-command, its output, its
# error messages and exit codes (0 done, 1 failed, 2 usage error).
# Needs PARLEYCTL, the binary under test (ctest sets it).
set -euo pipefail

: "${PARLEYCTL:?set PARLEYCTL to the parleyctl binary}"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/test_parleyctl.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# Cheap argon2id settings keep the test fast; the policy is the default.
mkdir "$tmp/state"
conf=$tmp/parleyd.conf
cat >"$conf" <<'EOF'
[storage]
database = state/parley.db
[auth]
pwhash_ops = 1
pwhash_mem_kib = 8
min_password_length = 15
EOF
db=$tmp/state/parley.db

PW='correct horse battery staple'
failures=0

fail() {
	echo "FAIL: $*" >&2
	failures=$((failures + 1))
}

# check CODE CMD...: run CMD (stdin passes through), keep its output in
# $tmp/out and $tmp/err, and compare its exit status with CODE.
check() {
	local want=$1 got=0
	shift
	"$@" >"$tmp/out" 2>"$tmp/err" || got=$?
	if [[ $got -ne $want ]]; then
		fail "$* -> exit $got, want $want; stderr: $(cat "$tmp/err")"
	fi
}

# err_has TEXT / out_has TEXT: the last command printed TEXT.
err_has() {
	grep -qF -- "$1" "$tmp/err" || fail "stderr lacks '$1': $(cat "$tmp/err")"
}
out_has() {
	grep -qF -- "$1" "$tmp/out" || fail "stdout lacks '$1': $(cat "$tmp/out")"
}

# Every error is one line starting with "parleyctl: ".
err_one_line() {
	local n
	n=$(wc -l <"$tmp/err")
	[[ $n -eq 1 ]] || fail "stderr has $n lines: $(cat "$tmp/err")"
	grep -q '^parleyctl: ' "$tmp/err" || fail "stderr unprefixed: $(cat "$tmp/err")"
}

ctl() {
	"$PARLEYCTL" -c "$conf" "$@"
}

# repeat STRING N: STRING N times.
repeat() {
	printf "%${2}s" '' | sed "s/ /$1/g"
}

# ---- help and version ----
check 0 "$PARLEYCTL" --version
out_has "parleyctl "
check 0 "$PARLEYCTL" --help
out_has "user add NAME"
out_has "Exit status"
check 0 "$PARLEYCTL" -h

# ---- usage errors: exit 2, nothing created ----
check 2 "$PARLEYCTL"
err_one_line
check 2 ctl frob
err_one_line
check 2 ctl user
err_one_line
check 2 ctl user frob alice
err_one_line
check 2 "$PARLEYCTL" --bogus user list
err_one_line
check 2 "$PARLEYCTL" -x user list
check 2 "$PARLEYCTL" --db
err_one_line
check 2 "$PARLEYCTL" -c "$conf" --db "$tmp/x.db" user list
err_has "either"
check 2 ctl user add
err_has "missing NAME"
check 2 ctl user add alice bob --password-stdin </dev/null
err_has "too many"
check 2 ctl user list extra
check 2 ctl user del alice --admin
err_has "unknown option"
check 2 ctl user lock alice --password-stdin
if [[ ! -e /etc/parley/parleyd.conf ]]; then
	check 2 "$PARLEYCTL" user list
	err_has "no database: use -c CONFIG or --db PATH"
fi
[[ ! -e $db ]] || fail "a usage error created the database"

# ---- a missing database: exit 1 for all but add ----
check 1 ctl user list
err_has "database $db does not exist"
err_one_line
check 1 ctl user del alice
err_has "does not exist"
check 1 ctl user lock alice
check 1 ctl user unlock alice
check 1 ctl user role alice admin
check 1 ctl user passwd alice --password-stdin <<<"$PW"
err_has "does not exist"
[[ ! -e $db ]] || fail "a command other than add created the database"

# ---- bad config ----
check 1 "$PARLEYCTL" -c "$tmp/nope.conf" user list
err_one_line
printf '[auth]\nno_such_key = 1\n' >"$tmp/bad.conf"
check 1 "$PARLEYCTL" -c "$tmp/bad.conf" user list
err_has "no_such_key"

# ---- user add ----
# A refused password does not create the database either.
check 2 ctl user add alice --password-stdin <<<"short"
[[ ! -e $db ]] || fail "a refused add created the database"

check 0 ctl user add alice --admin --password-stdin <<<"$PW"
out_has "alice"
[[ -f $db ]] || fail "user add did not create the database"
mode=$(stat -c %a "$db" 2>/dev/null || echo none)
[[ $mode == 600 ]] || fail "database mode $mode, want 600"

# Names are normalised to lowercase; duplicates in any case refused.
check 0 ctl user add Bob --password-stdin <<<"$PW"
check 1 ctl user add alice --password-stdin <<<"$PW"
err_has "exists"
err_one_line
check 1 ctl user add ALICE --password-stdin <<<"$PW"
err_has "exists"

# Invalid names: exit 2 before any password is read.
for name in 1abc a.b@c 'a b' '' -x _a "$(repeat a 33)" '#room' \
    "$(printf 'a\033[31m')" 'é'; do
	check 2 ctl user add "$name" --password-stdin <<<"$PW"
done
check 2 ctl user add "$(printf 'ev\033]52;c;AAAA\007il')" --password-stdin </dev/null
err_has 'invalid user name'
if grep -q $'\033' "$tmp/err"; then
	fail "a raw ESC reached stderr"
fi
check 0 ctl user add "$(repeat z 32)" --password-stdin <<<"$PW"
check 0 ctl user add c-d.e_f9 --password-stdin <<<"$PW"

# ---- password policy (stdin) ----
check 2 ctl user add carol --password-stdin <<<"$(repeat k 14)"
err_has "too short"
err_one_line
# The CR of a CRLF line is not part of the password.
check 2 ctl user add carol --password-stdin < <(printf '%s\r\n' "$(repeat k 14)")
err_has "too short"
check 2 ctl user add carol --password-stdin <<<"passwordpassword"
err_has "common"
check 2 ctl user add carol --password-stdin </dev/null
err_has "no password"
check 2 ctl user add carol --password-stdin < <(printf '\n')
check 2 ctl user add carol --password-stdin < <(printf 'abc\001defghijklmnopq\n')
# Code points, not bytes: 129 two-byte characters are refused ...
check 2 ctl user add carol --password-stdin <<<"$(repeat é 129)"
err_has "128"
check 2 ctl user add carol --password-stdin <<<"$(repeat x 129)"
err_has "128"
# ... and far longer lines are refused, never truncated.
check 2 ctl user add carol --password-stdin <<<"$(repeat x 100000)"
err_has "128"
err_one_line
# Boundaries that pass: exactly 15, exactly 128 (also of 4-byte ones).
check 0 ctl user add carol --password-stdin <<<"$(repeat k 14)q"
check 0 ctl user add dave --password-stdin <<<"$(repeat é 128)"
check 0 ctl user add erin --password-stdin <<<"$(repeat 🙂 128)"
# The last line without a newline is fine too.
check 0 ctl user add frank --password-stdin < <(printf '%s' "$PW")

# Without --password-stdin and no terminal: a clear usage error.
if command -v setsid >/dev/null; then
	check 2 setsid -w "$PARLEYCTL" -c "$conf" user add gina </dev/null
	err_has "--password-stdin"
	err_one_line
fi

# ---- user list ----
check 0 ctl user list
expected=$(printf '%s\n' \
	"alice	admin	active" \
	"bob	user	active" \
	"c-d.e_f9	user	active" \
	"carol	user	active" \
	"dave	user	active" \
	"erin	user	active" \
	"frank	user	active" \
	"$(repeat z 32)	user	active")
[[ $(cat "$tmp/out") == "$expected" ]] ||
	fail "user list: got $(cat "$tmp/out"), want $expected"

# ---- user passwd ----
check 0 ctl user passwd alice --password-stdin <<<"another long passphrase"
check 0 ctl user passwd ALICE --password-stdin <<<"yet another long passphrase"
check 1 ctl user passwd nobody --password-stdin <<<"$PW"
err_has "no such user"
check 2 ctl user passwd alice --password-stdin <<<"short"
check 2 ctl user passwd alice --password-stdin <<<"$(repeat x 129)"
check 2 ctl user passwd 9lives --password-stdin <<<"$PW"
check 2 ctl user passwd alice --admin --password-stdin <<<"$PW"

# ---- lock, unlock, role ----
check 0 ctl user lock bob
check 0 ctl user lock bob
check 0 ctl user list
out_has "bob	user	locked"
check 0 ctl user unlock bob
check 0 ctl user list
out_has "bob	user	active"
check 1 ctl user lock nobody
err_has "no such user"
check 1 ctl user unlock nobody
check 2 ctl user lock 'no body'

check 0 ctl user role bob admin
check 0 ctl user list
out_has "bob	admin	active"
check 0 ctl user role BOB user
check 0 ctl user list
out_has "bob	user	active"
check 2 ctl user role bob root
err_has "admin or user"
check 2 ctl user role bob
check 1 ctl user role nobody admin
err_has "no such user"

# ---- user del ----
check 0 ctl user del bob
check 1 ctl user del bob
err_has "no such user"
err_one_line
check 0 ctl user list
if grep -q '^bob' "$tmp/out"; then
	fail "bob still listed after del"
fi
check 2 ctl user del 'B@B'
# The name is free again.
check 0 ctl user add bob --password-stdin <<<"$PW"

# ---- --db: the default settings (min 15, default argon2 cost) ----
other=$tmp/other.db
check 1 "$PARLEYCTL" --db "$other" user list
err_has "database $other does not exist"
check 2 "$PARLEYCTL" --db "$other" user add hank --password-stdin <<<"$(repeat k 14)"
check 0 "$PARLEYCTL" --db "$other" user add hank --password-stdin <<<"$PW"
check 0 "$PARLEYCTL" --db="$other" user list
[[ $(cat "$tmp/out") == "hank	user	active" ]] || fail "--db list: $(cat "$tmp/out")"
check 1 "$PARLEYCTL" --db "$tmp/no/such/dir/x.db" user add ida --password-stdin <<<"$PW"
err_one_line

# ---- beside a writer: waits for the lock instead of failing ----
if command -v sqlite3 >/dev/null; then
	sqlite3 "$db" >/dev/null 2>&1 <<'EOF' &
BEGIN IMMEDIATE;
.shell sleep 1
COMMIT;
EOF
	holder=$!
	sleep 0.3
	check 0 ctl user lock carol
	wait "$holder" || true
	check 0 ctl user list
	out_has "carol	user	locked"
fi

if [[ $failures -ne 0 ]]; then
	echo "$failures check(s) failed" >&2
	exit 1
fi
echo "all parleyctl checks passed"
