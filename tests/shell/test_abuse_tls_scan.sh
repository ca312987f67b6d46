#!/usr/bin/env bash
# HARDENING.md "TLS: scan with testssl and sslscan": a running parleyd with
# the default TLS policy, scanned by Debian's testssl.sh (judged by its
# JSON file, not its exit status) and by sslscan (judged by its XML).
#
#   testssl: 0 findings at LOW or above, except those that are about the
#            private test CA (revocation information and trust).
#   sslscan: only TLS 1.2 and 1.3; no renegotiation; TLS 1.2 suites ECDHE
#            with AEAD only; groups X25519, P-256, P-384 only.
#
# Prints "abuse: tls-scan: <figure>=<value> (target ...) PASS|FAIL" lines.
# Environment (from CTest): PARLEYD, PARLEYCTL, SRCDIR.
set -euo pipefail

: "${PARLEYD:?PARLEYD must name the parleyd binary}"
: "${SRCDIR:?SRCDIR must name the source tree}"

T=$(mktemp -d /tmp/parley-scan.XXXXXX)
SERVER_PID=
failed=0

cleanup() {
	if [ -n "$SERVER_PID" ]; then
		kill -TERM "$SERVER_PID" 2>/dev/null || true
		wait "$SERVER_PID" 2>/dev/null || true
	fi
	if [ -z "${PARLEY_TEST_KEEP:-}" ]; then
		rm -rf "$T"
	else
		echo "kept $T" >&2
	fi
}
trap cleanup EXIT

figure() { # figure NAME VALUE TARGET PASS(0|1)
	local verdict=PASS
	if [ "$4" != 1 ]; then
		verdict=FAIL
		failed=$((failed + 1))
	fi
	printf 'abuse: tls-scan: %s=%s (target %s) %s\n' "$1" "$2" "$3" "$verdict"
}

die() {
	echo "FAIL: $*" >&2
	if [ -f "$T/parleyd.log" ]; then
		tail -n 20 "$T/parleyd.log" >&2
	fi
	exit 1
}

for tool in testssl sslscan python3; do
	command -v "$tool" >/dev/null 2>&1 ||
		die "$tool is not installed (scripts/deps.sh installs it)"
done

timeout 60 "$SRCDIR/certs/gen-certs.sh" --out "$T" >/dev/null || die "gen-certs.sh"
cat >"$T/parleyd.conf" <<EOF
[server]
name = parley-scan
listen = 127.0.0.1:0
[tls]
certificate = server.crt
private_key = server.key
[storage]
database = parley.db
[auth]
pwhash_ops = 1
pwhash_mem_kib = 8192
EOF
: >"$T/parleyd.log"  # exists before it is polled
"$PARLEYD" -c "$T/parleyd.conf" </dev/null >>"$T/parleyd.log" 2>&1 &
SERVER_PID=$!
PORT=
for _ in $(seq 200); do
	PORT=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' \
		"$T/parleyd.log" | head -n 1)
	[ -n "$PORT" ] && break
	kill -0 "$SERVER_PID" 2>/dev/null || die "parleyd exited"
	sleep 0.05
done
[ -n "$PORT" ] || die "parleyd did not start listening"

# --- testssl --------------------------------------------------------------
start=$SECONDS
# Its exit status counts findings of every level; the JSON is the verdict.
timeout 600 testssl --quiet --color 0 --warnings off --nodns none \
	--ip 127.0.0.1 --add-ca "$T/ca.crt" --severity LOW \
	--jsonfile "$T/testssl.json" -p -s -f -P -S -U "127.0.0.1:$PORT" \
	>"$T/testssl.out" 2>&1 || true
[ -s "$T/testssl.json" ] || die "testssl wrote no JSON (see $T/testssl.out)"
echo "abuse: tls-scan: note: testssl took $((SECONDS - start)) s"

# Findings about the private test CA rather than parley's TLS: a CA made
# by certs/gen-certs.sh publishes no CRL or OCSP URL and is not in any
# public trust store. Everything else at LOW or above counts.
verdict=$(python3 - "$T/testssl.json" <<'EOF'
import json, sys
CA_IDS = {
    "cert_revocation", "cert_crlDistributionPoints", "cert_ocspURL",
    "OCSP_stapling", "cert_mustStapleExtension", "cert_caIssuers",
    "cert_chain_of_trust", "cert_trust", "DNS_CAArecord",
}
LEVELS = {"LOW", "MEDIUM", "HIGH", "CRITICAL"}
findings = json.load(open(sys.argv[1]))
counted, excused = [], []
for f in findings:
    if f.get("severity") not in LEVELS:
        continue
    (excused if f.get("id") in CA_IDS else counted).append(f)
for f in excused:
    print("note: excused (test CA): %s %s: %s" % (f["severity"], f["id"], f["finding"]))
for f in counted:
    print("note: FINDING %s %s: %s" % (f["severity"], f["id"], f["finding"]))
print("count %d %d" % (len(counted), len(excused)))
EOF
)
while IFS= read -r line; do
	case $line in
	note:*) echo "abuse: tls-scan: $line" ;;
	count*) read -r _ counted excused <<<"$line" ;;
	esac
done <<<"$verdict"
figure testssl-findings-low-or-above "$counted ($excused about the test CA excused)" \
	"0 except the self-signed test CA" "$([ "$counted" = 0 ] && echo 1 || echo 0)"

# --- sslscan --------------------------------------------------------------
timeout 120 sslscan --no-colour --xml="$T/sslscan.xml" "127.0.0.1:$PORT" \
	>"$T/sslscan.out" 2>&1 || die "sslscan failed (see $T/sslscan.out)"
python3 - "$T/sslscan.xml" >"$T/sslscan.verdict" <<'EOF'
import sys
import xml.etree.ElementTree as ET
t = ET.parse(sys.argv[1]).getroot().find("ssltest")
protos = {p.get("type") + p.get("version"): p.get("enabled") == "1"
          for p in t.findall("protocol")}
on = sorted(k for k, v in protos.items() if v)
print("protocols %s %d" % (",".join(on), int(on == ["tls1.2", "tls1.3"])))
r = t.find("renegotiation")
reneg = r is not None and r.get("supported") == "1"
print("renegotiation %s %d" % ("supported" if reneg else "no", int(not reneg)))
bad = []
for c in t.findall("cipher"):
    name, ver = c.get("cipher"), c.get("sslversion")
    if ver == "TLSv1.3":
        ok = name in ("TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384",
                      "TLS_CHACHA20_POLY1305_SHA256")
    else:
        ok = ver == "TLSv1.2" and name.startswith("ECDHE-") and (
            "GCM" in name or "CHACHA20-POLY1305" in name)
    if not ok:
        bad.append("%s/%s" % (ver, name))
n = len(t.findall("cipher"))
print("ciphers %d-accepted,%d-outside-policy%s %d" % (
    n, len(bad), (":" + ",".join(bad)) if bad else "", int(n > 0 and not bad)))
allowed = {"x25519", "secp256r1 (NIST P-256)", "secp384r1 (NIST P-384)"}
groups = sorted({g.get("name") for g in t.findall("group")})
extra = [g for g in groups if g not in allowed]
print("groups %s %d" % (",".join(g.split(" ")[0] for g in groups).replace(" ", "_"),
      int(bool(groups) and not extra)))
EOF
while read -r name value ok; do
	case $name in
	protocols) figure sslscan-protocols "$value" "tls1.2,tls1.3" "$ok" ;;
	renegotiation) figure sslscan-renegotiation "$value" "no" "$ok" ;;
	ciphers) figure sslscan-ciphers "$value" "ECDHE+AEAD and TLS 1.3 suites only" "$ok" ;;
	groups) figure sslscan-groups "$value" "x25519,P-256,P-384 only" "$ok" ;;
	esac
done <"$T/sslscan.verdict"

kill -0 "$SERVER_PID" 2>/dev/null || die "parleyd died during the scans"
if grep -qE 'ERROR: AddressSanitizer|runtime error:|WARNING: ThreadSanitizer' \
	"$T/parleyd.log"; then
	figure sanitizer-reports "present" 0 0
fi
kill -TERM "$SERVER_PID"
st=0
wait "$SERVER_PID" || st=$?
SERVER_PID=
figure clean-exit "exit $st" "exit 0 after the scans" "$([ "$st" = 0 ] && echo 1 || echo 0)"

if ((failed > 0)); then
	echo "FAIL: $failed figure(s) missed their target" >&2
	exit 1
fi
echo "PASS"
