#!/usr/bin/env bash
# Tests "cmake --install": into a DESTDIR it puts exactly the programs, the
# systemd units, the sysusers.d entry, the man pages and the example
# configuration; the unit names the installed parleyd for any prefix; a
# second install keeps an edited /etc/parley/parleyd.conf; the example
# configuration passes parleyd --check-config; the man pages are clean roff.
set -euo pipefail
export LC_ALL=C

SRCDIR=${SRCDIR:-$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)}
PARLEYD=${PARLEYD:?PARLEYD must name the built parleyd (ctest sets it)}
BUILD=$(cd -- "${BUILDDIR:-$(dirname -- "$PARLEYD")}" && pwd)
[[ -f $BUILD/CMakeCache.txt ]] || { echo "FAIL: no CMakeCache.txt in $BUILD" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/test_ops_install.XXXXXX")
trap 'rm -rf -- "$tmp"' EXIT

failures=0
checks=0
fail() { printf 'FAIL: %s\n' "$*" >&2; failures=$((failures + 1)); }
ok() { checks=$((checks + 1)); }
check() {
	local what=$1; shift
	if "$@" >"$tmp/last.out" 2>&1; then ok; else
		fail "$what"
		sed 's/^/    /' "$tmp/last.out" >&2
	fi
}
check_fails() {
	local what=$1; shift
	if "$@" >"$tmp/last.out" 2>&1; then
		fail "$what (it succeeded)"
		sed 's/^/    /' "$tmp/last.out" >&2
	else ok; fi
}

# install_to DESTDIR PREFIX LOG
install_to() {
	if ! DESTDIR=$1 cmake --install "$BUILD" --prefix "$2" >"$3" 2>&1; then
		sed 's/^/    /' "$3" >&2
		echo "FAIL: cmake --install into $1 failed; cannot go on" >&2
		exit 1
	fi
}
tree_of() { (cd -- "$1" && find . \( -type f -o -type l \) | sed 's|^\./||' | sort); }
mode_of() { stat -c %a -- "$1"; }
is_mode() { [[ $(mode_of "$2") == "$1" ]]; }
has() { grep -qF -- "$2" "$1"; }
has_line() { grep -qx -- "$2" "$1"; }
same_text() { [[ $1 == "$2" ]]; }

# ---- the tree --------------------------------------------------------------

root=$tmp/root
install_to "$root" /usr "$tmp/install1.log"
cat >"$tmp/expected" <<'EOF'
etc/parley/parleyd.conf
usr/bin/parley
usr/lib/systemd/system/parleyd.service
usr/lib/systemd/system/parleyd.socket
usr/lib/sysusers.d/parley.conf
usr/sbin/parleyctl
usr/sbin/parleyd
usr/share/man/man1/parley.1
usr/share/man/man8/parleyctl.8
usr/share/man/man8/parleyd.8
EOF
tree_of "$root" >"$tmp/actual"
check "the installed tree is exactly the expected one" diff -u "$tmp/expected" "$tmp/actual"
check "nothing is installed outside DESTDIR" bash -c "! grep -E 'Installing: /(usr|etc)/' '$tmp/install1.log'"

for b in usr/bin/parley usr/sbin/parleyd usr/sbin/parleyctl; do
	check "$b is mode 755" is_mode 755 "$root/$b"
done
check "the installed parleyd runs" "$root/usr/sbin/parleyd" --version
for f in etc/parley/parleyd.conf usr/lib/systemd/system/parleyd.service \
	usr/lib/systemd/system/parleyd.socket usr/lib/sysusers.d/parley.conf \
	usr/share/man/man1/parley.1 usr/share/man/man8/parleyd.8; do
	check "$f is mode 644" is_mode 644 "$root/$f"
done

unit=$root/usr/lib/systemd/system/parleyd.service
check "the unit starts the installed parleyd" \
	has_line "$unit" "ExecStart=/usr/sbin/parleyd -c /etc/parley/parleyd.conf"
check "the unit has no template markers left" bash -c "! grep -q '@[A-Z]*@' '$unit'"
check "the sysusers.d entry creates the parley user" \
	grep -Eq '^u[[:space:]]+parley[[:space:]]' "$root/usr/lib/sysusers.d/parley.conf"
check "the example config is the project's" cmp "$SRCDIR/systemd/parleyd.conf" "$root/etc/parley/parleyd.conf"

# ---- a second install keeps the configuration ------------------------------

echo "; edited by the operator" >>"$root/etc/parley/parleyd.conf"
sum=$(sha256sum <"$root/etc/parley/parleyd.conf")
install_to "$root" /usr "$tmp/install2.log"
check "a second install keeps an edited parleyd.conf" \
	same_text "$sum" "$(sha256sum <"$root/etc/parley/parleyd.conf")"
check "a second install says it kept parleyd.conf" has "$tmp/install2.log" "Keeping existing"
tree_of "$root" >"$tmp/actual2"
check "a second install adds no file" diff -u "$tmp/expected" "$tmp/actual2"

# ---- another prefix ----------------------------------------------------------

install_to "$tmp/opt" /opt/parley "$tmp/install3.log"
check "with --prefix /opt/parley the unit starts /opt/parley/sbin/parleyd" \
	has_line "$tmp/opt/opt/parley/lib/systemd/system/parleyd.service" \
	"ExecStart=/opt/parley/sbin/parleyd -c /etc/parley/parleyd.conf"
check "with --prefix /opt/parley the config is still /etc/parley/parleyd.conf" \
	test -f "$tmp/opt/etc/parley/parleyd.conf"

# ---- the example configuration is valid ------------------------------------

conf=$tmp/check/parleyd.conf
mkdir -p "$tmp/check/state"
bash "$SRCDIR/certs/gen-certs.sh" --out "$tmp/check/certs" >/dev/null 2>&1 || fail "gen-certs.sh failed"
sed -e "s|/etc/parley/|$tmp/check/certs/|g" -e "s|/var/lib/parley/|$tmp/check/state/|g" \
	"$SRCDIR/systemd/parleyd.conf" >"$conf"
check "the example config passes --check-config" "$PARLEYD" -c "$conf" --check-config
for k in certificate private_key client_ca crl client_auth min_version database \
	sync allow_register max_connections; do
	check "the example config shows '$k'" grep -Eq "^$k =" "$conf"
done
check "the example database is under /var/lib/parley" \
	has_line "$SRCDIR/systemd/parleyd.conf" "database = /var/lib/parley/parley.db"
check "the example certificate is under /etc/parley" \
	has_line "$SRCDIR/systemd/parleyd.conf" "certificate = /etc/parley/server.crt"
# The CRL keys work as documented.
sed -i -e "s|^client_ca =.*|client_ca = $tmp/check/certs/ca.crt|" \
	-e "s|^crl =.*|crl = $tmp/check/certs/ca.crl|" \
	-e "s|^client_auth =.*|client_auth = required|" "$conf"
check "the example config with client_ca, crl and client_auth passes" \
	"$PARLEYD" -c "$conf" --check-config

# ---- man pages --------------------------------------------------------------

for m in man1/parley.1 man8/parleyd.8 man8/parleyctl.8; do
	page=$root/usr/share/man/$m
	check "$m starts with .TH" grep -q '^\.TH ' "$page"
	check "$m has NAME, SYNOPSIS and DESCRIPTION" \
		bash -c "grep -q '^\.SH NAME' '$page' && grep -q '^\.SH SYNOPSIS' '$page' && grep -q '^\.SH DESCRIPTION' '$page'"
	if command -v groff >/dev/null 2>&1; then
		groff -man -ww -z -Tutf8 "$page" >"$tmp/groff.out" 2>&1 || true
		check "$m renders without groff warnings" test ! -s "$tmp/groff.out"
	fi
done
if ! command -v groff >/dev/null 2>&1; then
	echo "note: groff is missing; man page rendering not checked" >&2
fi
for k in crl client_auth client_ca SIGHUP LISTEN_FDS WATCHDOG; do
	check "parleyd.8 documents $k" grep -q -- "$k" "$root/usr/share/man/man8/parleyd.8"
done

if command -v systemd-sysusers >/dev/null 2>&1; then
	systemd-sysusers --dry-run --root="$root" >"$tmp/sysusers.out" 2>&1 || true
	check "systemd-sysusers would create the parley user" has "$tmp/sysusers.out" "Creating user 'parley'"
else
	echo "note: systemd-sysusers is missing; the sysusers.d entry is not checked" >&2
fi

if ((failures)); then
	printf 'test_ops_install: %d of %d checks FAILED\n' "$failures" "$((failures + checks))" >&2
	exit 1
fi
printf 'test_ops_install: all %d checks passed\n' "$checks"
