#!/usr/bin/env bash
# Tests certs/gen-certs.sh: files, modes, names, chains, idempotence,
# --force, --client, the CRL and --revoke.
set -euo pipefail
export LC_ALL=C

SRCDIR=${SRCDIR:-$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)}
GEN=$SRCDIR/certs/gen-certs.sh
[[ -f $GEN ]] || { echo "FAIL: $GEN not found" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/test_gen_certs.XXXXXX")
trap 'rm -rf -- "$tmp"' EXIT

failures=0
checks=0
fail() { printf 'FAIL: %s\n' "$*" >&2; failures=$((failures + 1)); }
ok() { checks=$((checks + 1)); }
# check DESCRIPTION COMMAND... : the command must succeed.
check() {
	local what=$1; shift
	if "$@" >"$tmp/last.out" 2>&1; then ok; else
		fail "$what"
		sed 's/^/    /' "$tmp/last.out" >&2
	fi
}
# check_fails DESCRIPTION COMMAND... : the command must fail.
check_fails() {
	local what=$1; shift
	if "$@" >"$tmp/last.out" 2>&1; then
		fail "$what (it succeeded)"
		sed 's/^/    /' "$tmp/last.out" >&2
	else ok; fi
}
# run_gen LOG ARGS... : runs gen-certs.sh; a failure is fatal for the test.
run_gen() {
	local log=$1; shift
	if ! bash "$GEN" "$@" >"$log" 2>&1; then
		sed 's/^/    /' "$log" >&2
		echo "FAIL: gen-certs.sh $* exited non-zero; cannot go on" >&2
		exit 1
	fi
}
mode_of() { stat -c %a -- "$1"; }
fingerprint() { openssl x509 -in "$1" -noout -fingerprint -sha256; }
is_mode() { [[ $(mode_of "$2") == "$1" ]]; }
text_of() { openssl x509 -in "$1" -noout -text; }
has_text() { grep -qF -- "$2" <<<"$(text_of "$1")"; }
not_has_text() { ! grep -qF -- "$2" <<<"$(text_of "$1")"; }
same() { [[ $1 == "$2" ]]; }
differ() { [[ $1 != "$2" ]]; }
is_p256() {
	local t
	t=$(openssl pkey -in "$1" -noout -text 2>&1) || return 1
	grep -q 'NIST CURVE: P-256' <<<"$t" || grep -q 'prime256v1' <<<"$t"
}
key_matches() {
	[[ $(openssl x509 -in "$1" -noout -pubkey) == "$(openssl pkey -in "$2" -pubout)" ]]
}
output_has() { grep -qF -- "$2" "$1"; }
no_dotfiles() { ! find "$1" -mindepth 1 -maxdepth 1 -name '.*' | grep -q .; }
no_warning() { ! grep -qi warning "$1"; }
has_cn() { openssl x509 -in "$1" -noout -subject | grep -Eq "CN ?= ?$2\$"; }

# ---- help and argument errors ----------------------------------------------

check "--help exits 0" bash "$GEN" --help
cp -- "$tmp/last.out" "$tmp/help.out"
check "--help prints usage" output_has "$tmp/help.out" "Usage:"
check_fails "unknown option is refused" bash "$GEN" --out "$tmp/x" --bogus
check_fails "--name with a comma is refused" bash "$GEN" --out "$tmp/x" --name 'a,b'
check_fails "--out without a value is refused" bash "$GEN" --out

# ---- first run ------------------------------------------------------------

out=$tmp/out
run_gen "$tmp/run1.log" --out "$out" --name Parley.Example --name 192.0.2.7 --name 2001:db8::5

for f in ca.crt ca.key server.crt server.key; do
	check "$f exists" test -s "$out/$f"
done
check "ca.key has mode 600" is_mode 600 "$out/ca.key"
check "server.key has mode 600" is_mode 600 "$out/server.key"
check "no scratch files are left behind" no_dotfiles "$out"
check "output names the server certificate" output_has "$tmp/run1.log" "server.crt"
check "output shows a SHA-256 fingerprint" grep -Eq '([0-9A-F]{2}:){31}[0-9A-F]{2}' "$tmp/run1.log"
check "output shows an expiry date" grep -Eqi 'expires|notAfter' "$tmp/run1.log"

check "ca.key is EC P-256" is_p256 "$out/ca.key"
check "server.key is EC P-256" is_p256 "$out/server.key"
check "ca.crt matches ca.key" key_matches "$out/ca.crt" "$out/ca.key"
check "server.crt matches server.key" key_matches "$out/server.crt" "$out/server.key"

check "CA is self-signed and valid" openssl verify -CAfile "$out/ca.crt" "$out/ca.crt"
check "CA basicConstraints is critical" has_text "$out/ca.crt" "X509v3 Basic Constraints: critical"
check "CA has CA:TRUE" has_text "$out/ca.crt" "CA:TRUE"
check "CA keyUsage has keyCertSign, cRLSign" has_text "$out/ca.crt" "Certificate Sign, CRL Sign"
check "CA is signed with SHA-256" has_text "$out/ca.crt" "ecdsa-with-SHA256"

check "server.crt verifies against ca.crt" openssl verify -CAfile "$out/ca.crt" "$out/server.crt"
check "server.crt is good for TLS servers" \
	openssl verify -purpose sslserver -CAfile "$out/ca.crt" "$out/server.crt"
check "server.crt has serverAuth" has_text "$out/server.crt" "TLS Web Server Authentication"
check "server.crt is not a CA" has_text "$out/server.crt" "CA:FALSE"
check "server.crt is signed with SHA-256" has_text "$out/server.crt" "ecdsa-with-SHA256"
check "SAN has DNS:localhost" has_text "$out/server.crt" "DNS:localhost"
check "SAN has IP 127.0.0.1" has_text "$out/server.crt" "IP Address:127.0.0.1"
check "SAN has IP ::1" has_text "$out/server.crt" "IP Address:0:0:0:0:0:0:0:1"
check "SAN has --name DNS (lowercased)" has_text "$out/server.crt" "DNS:parley.example"
check "SAN has --name IPv4 as an IP" has_text "$out/server.crt" "IP Address:192.0.2.7"
check "SAN has --name IPv6 as an IP" has_text "$out/server.crt" "IP Address:2001:DB8:0:0:0:0:0:5"
check "an IP --name is not a DNS entry" not_has_text "$out/server.crt" "DNS:192.0.2.7"
check "host name check: localhost" \
	openssl verify -CAfile "$out/ca.crt" -verify_hostname localhost "$out/server.crt"
check "host name check: 127.0.0.1" \
	openssl verify -CAfile "$out/ca.crt" -verify_ip 127.0.0.1 "$out/server.crt"
check "host name check: ::1" \
	openssl verify -CAfile "$out/ca.crt" -verify_ip ::1 "$out/server.crt"
check_fails "host name check: an unlisted name fails" \
	openssl verify -CAfile "$out/ca.crt" -verify_hostname other.example "$out/server.crt"

# Validity: CA about 10 years, leaf at most 825 days.
check "server.crt is valid for at most 825 days" openssl x509 -in "$out/server.crt" -noout -checkend $((825 * 86400 - 3600)) -checkend 0
if openssl x509 -in "$out/server.crt" -noout -checkend $((826 * 86400)) >/dev/null 2>&1; then
	fail "server.crt is valid for more than 825 days"
else ok; fi
check "ca.crt is valid for 9+ years" openssl x509 -in "$out/ca.crt" -noout -checkend $((9 * 365 * 86400))

# ---- idempotence -----------------------------------------------------------

ca_fp=$(fingerprint "$out/ca.crt")
srv_fp=$(fingerprint "$out/server.crt")
ca_key_sum=$(sha256sum <"$out/ca.key")
run_gen "$tmp/run2.log" --out "$out" --name parley.example --name 192.0.2.7 --name 2001:db8::5
check "second run keeps ca.crt" same "$ca_fp" "$(fingerprint "$out/ca.crt")"
check "second run keeps server.crt" same "$srv_fp" "$(fingerprint "$out/server.crt")"
check "second run keeps ca.key" same "$ca_key_sum" "$(sha256sum <"$out/ca.key")"
check "second run says what it kept" grep -qi 'kept' "$tmp/run2.log"
check "second run gives no warning for the same names" no_warning "$tmp/run2.log"

# ---- --client ----------------------------------------------------------------

run_gen "$tmp/client.log" --out "$out" --client Alice
check "alice.crt exists" test -s "$out/alice.crt"
check "alice.key exists" test -s "$out/alice.key"
check "alice.key has mode 600" is_mode 600 "$out/alice.key"
check "alice.key is EC P-256" is_p256 "$out/alice.key"
check "alice.crt matches alice.key" key_matches "$out/alice.crt" "$out/alice.key"
check "alice.crt has CN=alice" has_cn "$out/alice.crt" alice
check "alice.crt verifies against ca.crt" openssl verify -CAfile "$out/ca.crt" "$out/alice.crt"
check "alice.crt is good for TLS clients" \
	openssl verify -purpose sslclient -CAfile "$out/ca.crt" "$out/alice.crt"
check "alice.crt has clientAuth" has_text "$out/alice.crt" "TLS Web Client Authentication"
check "--client leaves the CA alone" same "$ca_fp" "$(fingerprint "$out/ca.crt")"
check "--client leaves the server certificate alone" same "$srv_fp" "$(fingerprint "$out/server.crt")"

alice_fp=$(fingerprint "$out/alice.crt")
run_gen "$tmp/client2.log" --out "$out" --client alice
check "second --client run keeps alice.crt" same "$alice_fp" "$(fingerprint "$out/alice.crt")"

for bad in 9bob 'bo b' '' '-x' 'a/b' "$(printf 'a%.0s' {1..33})" ca server; do
	check_fails "--client '$bad' is refused" bash "$GEN" --out "$out" --client "$bad"
done
check_fails "a refused client name writes nothing" test -e "$out/9bob.crt"
check "files are intact after refused names" same "$ca_fp" "$(fingerprint "$out/ca.crt")"

# --client creates a CA when there is none.
run_gen "$tmp/client3.log" --out "$tmp/clientonly" --client bob.s-1_x
check "--client alone creates ca.crt" test -s "$tmp/clientonly/ca.crt"
check "--client alone creates ca.key with mode 600" is_mode 600 "$tmp/clientonly/ca.key"
check "--client alone does not create a server certificate" test ! -e "$tmp/clientonly/server.crt"
check "bob.s-1_x.crt verifies against the new CA" \
	openssl verify -CAfile "$tmp/clientonly/ca.crt" "$tmp/clientonly/bob.s-1_x.crt"

# ---- --force -----------------------------------------------------------------

run_gen "$tmp/force.log" --out "$out" --force
check "--force replaces ca.crt" differ "$ca_fp" "$(fingerprint "$out/ca.crt")"
check "--force replaces server.crt" differ "$srv_fp" "$(fingerprint "$out/server.crt")"
check "new server.crt verifies against new ca.crt" openssl verify -CAfile "$out/ca.crt" "$out/server.crt"
check "keys keep mode 600 after --force" is_mode 600 "$out/server.key"
check "--force warns about client certificates of the old CA" grep -q 'alice.crt' "$tmp/force.log"
check "--force without --name drops the old extra names" not_has_text "$out/server.crt" "parley.example"

# ---- default directory and a damaged pair -------------------------------------

rm -f -- "$out/server.key"
check_fails "a lone server.crt is refused without --force" bash "$GEN" --out "$out"
check "--force repairs a lone server.crt" bash "$GEN" --out "$out" --force
check "repaired pair matches" key_matches "$out/server.crt" "$out/server.key"

# Keys stay 0600 even under a permissive umask.
(umask 000 && bash "$GEN" --out "$tmp/umask" >/dev/null 2>&1) || fail "run with umask 000 failed"
check "umask 000: server.key still mode 600" is_mode 600 "$tmp/umask/server.key"
check "umask 000: ca.key still mode 600" is_mode 600 "$tmp/umask/ca.key"

# ---- CRL and --revoke ---------------------------------------------------------

crl_fp() { sha256sum <"$1"; }
crl_text() { openssl crl -in "$1" -noout -text; }
crl_signed_by() { openssl crl -in "$1" -CAfile "$2" -noout 2>&1 | grep -q 'verify OK'; }
crl_lists() { crl_text "$1" | grep -q "Serial Number: $2"; }
serial_of() { local s; s=$(openssl x509 -in "$1" -noout -serial); printf '%s' "${s#serial=}"; }
# crl_verify CERT: chain and revocation check against the CA and CRL in $cd.
crl_verify() { openssl verify -crl_check -CAfile "$cd/ca.crt" -CRLfile "$cd/ca.crl" "$1"; }
crl_days_left() {
	local nu
	nu=$(openssl crl -in "$1" -noout -nextupdate)
	echo $((($(date -u -d "${nu#nextUpdate=}" +%s) - $(date +%s)) / 86400))
}

cd=$tmp/crl
run_gen "$tmp/crl1.log" --out "$cd"
check "a first run writes ca.crl" test -s "$cd/ca.crl"
check "ca.crl has mode 644" is_mode 644 "$cd/ca.crl"
check "ca.crl is signed by ca.crt" crl_signed_by "$cd/ca.crl" "$cd/ca.crt"
check "a new ca.crl revokes nothing" bash -c "! openssl crl -in '$cd/ca.crl' -noout -text | grep -q 'Serial Number'"
check "ca.crl is good for about a year" test "$(crl_days_left "$cd/ca.crl")" -ge 360
check "the output shows the CRL's next update" output_has "$tmp/crl1.log" "next update"
check "server.crt passes a CRL check" crl_verify "$cd/server.crt"
crl0=$(crl_fp "$cd/ca.crl")
run_gen "$tmp/crl2.log" --out "$cd"
check "a second run keeps ca.crl" same "$crl0" "$(crl_fp "$cd/ca.crl")"

run_gen "$tmp/crl3.log" --out "$cd" --client alice --client bob
check "--client keeps ca.crl" same "$crl0" "$(crl_fp "$cd/ca.crl")"
cp -- "$cd/alice.crt" "$tmp/alice-revoked.crt"
cp -- "$cd/bob.crt" "$tmp/bob-1.crt"
alice_sn=$(serial_of "$cd/alice.crt")
check "alice.crt passes a CRL check before --revoke" crl_verify "$cd/alice.crt"

run_gen "$tmp/revoke1.log" --out "$cd" --revoke Alice
check "--revoke names the certificate and its serial" output_has "$tmp/revoke1.log" "$alice_sn"
check "--revoke re-signs ca.crl" differ "$crl0" "$(crl_fp "$cd/ca.crl")"
check "ca.crl lists alice's serial" crl_lists "$cd/ca.crl" "$alice_sn"
check "ca.crl is still signed by ca.crt" crl_signed_by "$cd/ca.crl" "$cd/ca.crt"
check "ca.revoked records alice" grep -q "$alice_sn.*CN=alice\$" "$cd/ca.revoked"
check_fails "the revoked certificate fails a CRL check" crl_verify "$tmp/alice-revoked.crt"
check "bob.crt still passes a CRL check" crl_verify "$cd/bob.crt"
check "--revoke removes alice.crt" test ! -e "$cd/alice.crt"
check "--revoke removes alice.key" test ! -e "$cd/alice.key"
check "--revoke leaves the server certificate alone" crl_verify "$cd/server.crt"
check "--revoke leaves no scratch files" no_dotfiles "$cd"

crl1=$(crl_fp "$cd/ca.crl")
run_gen "$tmp/revoke2.log" --out "$cd" --revoke alice
check "revoking again says so" output_has "$tmp/revoke2.log" "already revoked"
check "revoking again keeps ca.crl" same "$crl1" "$(crl_fp "$cd/ca.crl")"
run_gen "$tmp/crl4.log" --out "$cd"
check "a plain run keeps the CRL with revocations" same "$crl1" "$(crl_fp "$cd/ca.crl")"

check_fails "--revoke of a user without a certificate is refused" bash "$GEN" --out "$cd" --revoke carol
check_fails "--revoke with a bad name is refused" bash "$GEN" --out "$cd" --revoke '9x'
check_fails "--revoke with a reserved name is refused" bash "$GEN" --out "$cd" --revoke server
check_fails "--revoke with --name is refused" bash "$GEN" --out "$cd" --revoke bob --name x.example
check_fails "--revoke without a CA is refused" bash "$GEN" --out "$tmp/noca" --revoke bob
check "--revoke without a CA writes nothing" bash -c "[[ ! -e '$tmp/noca/ca.crt' ]]"
check "refused revocations leave ca.crl alone" same "$crl1" "$(crl_fp "$cd/ca.crl")"

# --revoke USER --client USER replaces a certificate.
run_gen "$tmp/revoke3.log" --out "$cd" --revoke bob --client bob
check "--revoke --client issues a new bob.crt" differ "$(serial_of "$tmp/bob-1.crt")" "$(serial_of "$cd/bob.crt")"
check "the new bob.crt passes a CRL check" crl_verify "$cd/bob.crt"
check_fails "the old bob.crt fails a CRL check" crl_verify "$tmp/bob-1.crt"
check "ca.crl lists both revoked serials" crl_lists "$cd/ca.crl" "$alice_sn"

# A CRL close to its next update is signed again by any run.
cat >"$tmp/short.cnf" <<EOF
[ca]
default_ca = c
[c]
database = $tmp/short.idx
crlnumber = $tmp/short.num
certificate = $cd/ca.crt
private_key = $cd/ca.key
default_md = sha256
EOF
cp -- "$cd/ca.revoked" "$tmp/short.idx"
echo 01 >"$tmp/short.num"
openssl ca -batch -config "$tmp/short.cnf" -gencrl -crldays 5 -out "$cd/ca.crl" >/dev/null 2>&1 ||
	fail "cannot make a short-lived CRL"
touch "$cd/ca.crl"
run_gen "$tmp/crl5.log" --out "$cd"
check "a CRL that expires soon is signed again" test "$(crl_days_left "$cd/ca.crl")" -ge 360
check "the renewed CRL keeps the revocations" crl_lists "$cd/ca.crl" "$alice_sn"

# A damaged CRL is replaced, with a warning.
echo garbage >"$cd/ca.crl"
run_gen "$tmp/crl6.log" --out "$cd"
check "a damaged ca.crl is replaced" crl_signed_by "$cd/ca.crl" "$cd/ca.crt"
check "a damaged ca.crl is reported" grep -qi warning "$tmp/crl6.log"
check "the replaced CRL keeps the revocations" crl_lists "$cd/ca.crl" "$alice_sn"

# --force makes a new CA, whose CRL starts empty.
run_gen "$tmp/crl7.log" --out "$cd" --force
check "after --force ca.crl is signed by the new CA" crl_signed_by "$cd/ca.crl" "$cd/ca.crt"
check "after --force ca.crl revokes nothing" bash -c "! openssl crl -in '$cd/ca.crl' -noout -text | grep -q 'Serial Number'"

if ((failures)); then
	printf 'test_gen_certs: %d of %d checks FAILED\n' "$failures" "$((failures + checks))" >&2
	exit 1
fi
printf 'test_gen_certs: all %d checks passed\n' "$checks"
