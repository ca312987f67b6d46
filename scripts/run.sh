#!/usr/bin/env bash
# run.sh - build parley and run a development server in the foreground.
#
#   scripts/run.sh
#
# Installs missing build dependencies, builds into build/, and keeps the
# development state in .dev/ at the top of the repository:
#   .dev/certs/          CA and server certificate (made once, then kept)
#   .dev/parleyd.conf    server configuration (made once; "listen" follows
#                        PARLEY_PORT on every start)
#   .dev/parley.db       the database
#   .dev/demo.password   password of the "demo" account (mode 0600)
# Then prints the demo password and how to connect, and runs parleyd.
#
# Environment: PARLEY_PORT  port to listen on (default 7667)
set -euo pipefail

case ${1:-} in
'') ;;
-h | --help) sed -n '2,15s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; exit 0 ;;
*) echo "run.sh: unknown argument: $1 (try --help)" >&2; exit 2 ;;
esac

prog=run.sh
die() { printf '%s: error: %s\n' "$prog" "$*" >&2; exit 1; }
step() { printf '==> %s\n' "$*"; }

top=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
cd -- "$top"

port=${PARLEY_PORT:-7667}
if ! [[ $port =~ ^[0-9]{1,5}$ ]] || ((10#$port < 1 || 10#$port > 65535)); then
	die "PARLEY_PORT must be a port number from 1 to 65535 (got '$port')"
fi
port=$((10#$port))

dev=$top/.dev
conf=$dev/parleyd.conf
pwfile=$dev/demo.password
cafile=$dev/certs/ca.crt
user=demo

# ---- dependencies and build ------------------------------------------------

step "checking build dependencies"
bash "$top/scripts/deps.sh"

step "building (build/)"
cmake -S "$top" -B "$top/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null ||
	die "cmake configure failed"
cmake --build "$top/build" -j "$(nproc)" || die "build failed"
for b in parleyd parleyctl parley; do
	[[ -x $top/build/$b ]] || die "build/$b was not built"
done

# ---- state -----------------------------------------------------------------

umask 077
mkdir -p -- "$dev"
chmod 700 -- "$dev"

step "certificates (.dev/certs)"
bash "$top/certs/gen-certs.sh" --out "$dev/certs"

if [[ ! -f $conf ]]; then
	step "writing .dev/parleyd.conf"
	cat >"$conf" <<EOF
; parley development configuration, written by scripts/run.sh.
; Edits are kept, except "listen", which run.sh sets from PARLEY_PORT
; (default 7667) on every start. Relative paths are relative to this folder.

[server]
name = localhost
listen = 127.0.0.1:$port

[tls]
certificate = certs/server.crt
private_key = certs/server.key

[storage]
database = parley.db
EOF
else
	# Keep the listen line in step with PARLEY_PORT.
	if grep -Eq '^[[:space:]]*listen[[:space:]]*=' "$conf"; then
		sed -i -E "s|^[[:space:]]*listen[[:space:]]*=.*|listen = 127.0.0.1:$port|" "$conf"
	else
		die "$conf has no 'listen' line; fix it or delete the file to have it rewritten"
	fi
fi

if ! check_out=$("$top/build/parleyd" -c "$conf" --check-config 2>&1); then
	printf '%s\n' "$check_out" >&2
	die "$conf does not pass 'parleyd --check-config'"
fi

# ---- demo account ----------------------------------------------------------

# A random password: 24 characters of base64 without look-alike characters.
new_password() {
	local pw=
	while ((${#pw} < 24)); do
		pw+=$(head -c 48 /dev/urandom | base64 -w0 | tr -d '+/=0OoIl1')
	done
	printf '%s' "${pw:0:24}"
}

# Does the account exist? "user list" prints one account per line, name first.
account_exists() {
	local list
	# A database that does not exist yet holds no accounts.
	if grep -Eq '^[[:space:]]*database[[:space:]]*=[[:space:]]*parley\.db[[:space:]]*(;.*)?$' "$conf" &&
		[[ ! -e $dev/parley.db ]]; then
		return 1
	fi
	list=$("$top/build/parleyctl" -c "$conf" user list 2>&1) ||
		die "parleyctl user list failed: $list"
	awk -v u="$user" 'tolower($1) == u { found = 1 } END { exit !found }' <<<"$list"
}

password=
if [[ -s $pwfile ]]; then
	IFS= read -r password <"$pwfile" || true
fi
chmod 600 -- "$pwfile" 2>/dev/null || true

if account_exists; then
	if [[ -z $password ]]; then
		step "account '$user' exists but .dev/demo.password is missing: setting a new password"
		password=$(new_password)
		printf '%s\n' "$password" >"$pwfile"
		chmod 600 -- "$pwfile"
		printf '%s\n' "$password" | "$top/build/parleyctl" -c "$conf" user passwd "$user" --password-stdin ||
			die "could not set the password of '$user'"
	fi
else
	step "creating account '$user'"
	if [[ -z $password ]]; then
		password=$(new_password)
		printf '%s\n' "$password" >"$pwfile"
		chmod 600 -- "$pwfile"
	fi
	printf '%s\n' "$password" | "$top/build/parleyctl" -c "$conf" user add "$user" --password-stdin ||
		die "could not create the account '$user'"
fi

# ---- run -------------------------------------------------------------------

echo
echo "demo password: $password"
echo
echo "Connect with openssl:"
echo "openssl s_client -quiet -connect 127.0.0.1:$port -CAfile $cafile"
echo "or with the parley client:"
echo "build/parley --host 127.0.0.1 --port $port --cafile $cafile --user $user"
echo
echo "Starting parleyd on 127.0.0.1:$port (Ctrl-C stops it)."
exec build/parleyd -c .dev/parleyd.conf
