#!/usr/bin/env bash
# gen-certs.sh - make a private CA and certificates for parley.
#
#   certs/gen-certs.sh [--out DIR] [--name DNS]... [--force]
#   certs/gen-certs.sh [--out DIR] --client USER [--force]
#   certs/gen-certs.sh [--out DIR] --revoke USER
#
# See --help. Only the openssl command-line tool (OpenSSL 3.0 or later) is used.
set -euo pipefail
export LC_ALL=C
umask 077

readonly PROG=${0##*/}
SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
readonly SCRIPT_DIR
readonly CA_DAYS=3650      # 10 years
readonly LEAF_DAYS=825     # the longest validity clients accept for a TLS leaf
readonly CRL_DAYS=365      # how long a CRL is good for (its nextUpdate)
readonly CRL_RENEW_DAYS=30 # any run re-signs a CRL that expires sooner

usage() {
	cat <<EOF
Usage: $PROG [--out DIR] [--name DNS]... [--force]
       $PROG [--out DIR] --client USER [--force]
       $PROG [--out DIR] --revoke USER [--client USER]

Writes an ECDSA P-256 certificate authority and certificates signed by it.

Without --client, writes into DIR:
  ca.crt ca.key          the CA (10 years; basicConstraints CA:TRUE,
                         keyUsage keyCertSign, cRLSign)
  server.crt server.key  a TLS server certificate ($LEAF_DAYS days; serverAuth)
                         for localhost, 127.0.0.1, ::1 and every --name

  ca.crl                 the CA's certificate revocation list (PEM; $CRL_DAYS
                         days; re-signed by any run when fewer than
                         $CRL_RENEW_DAYS days are left). Point parleyd's
                         [tls] crl at it.

With --client USER, writes USER.crt and USER.key: a client certificate
(CN=USER, clientAuth) signed by the CA in DIR, creating the CA first when
there is none. USER must be a parley user name: [a-z][a-z0-9_.-]{0,31}
(case-insensitive, stored lowercase); "ca" and "server" are reserved.

With --revoke USER, adds USER.crt to the revocation list: its serial goes
into ca.revoked (the CA's list of revoked certificates, in the format of
openssl ca's index.txt), ca.crl is re-signed, and USER.crt and USER.key are
removed, so that a later --client USER issues a new certificate. Revoking a
user whose certificate is already revoked does nothing. A running parleyd
picks up the new ca.crl by itself (or on SIGHUP).

Options:
  --out DIR      where to write (default: $SCRIPT_DIR)
  --name NAME    extra server name; a name that is an IPv4 or IPv6 address
                 goes in as an IP address entry, anything else as a DNS name.
                 May be repeated.
  --client USER  make a client certificate for USER (may be repeated)
  --revoke USER  revoke USER's client certificate (may be repeated; done
                 before any --client, so both together replace it)
  --force        replace existing files. Without --client this regenerates
                 the CA and the server certificate; with --client only the
                 client's files are replaced and an existing CA is reused.
  -h, --help     show this help

Existing files are kept unless --force is given, so running this again is
harmless. Private keys are created with mode 0600. Every certificate
written or kept is listed with its SHA-256 fingerprint and expiry date.
EOF
}

die() { printf '%s: error: %s\n' "$PROG" "$*" >&2; exit 1; }
warn() { printf '%s: warning: %s\n' "$PROG" "$*" >&2; }
note() { printf '%s\n' "$*"; }

# ---- name checks ----------------------------------------------------------

is_ipv4() {
	local s=$1 o
	[[ $s =~ ^([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})$ ]] || return 1
	for o in "${BASH_REMATCH[@]:1}"; do
		((10#$o <= 255)) || return 1
	done
}

is_ipv6() {
	local s=$1 head tail g n=0
	local -a groups=()
	[[ $s == *:* && $s =~ ^[0-9a-fA-F:.]+$ ]] || return 1
	# An embedded IPv4 address may only be the last part.
	if [[ $s == *.* ]]; then
		is_ipv4 "${s##*:}" || return 1
		s=${s%:*}:0:0
	fi
	if [[ $s == *::* ]]; then
		head=${s%%::*}
		tail=${s#*::}
		[[ $tail != *::* ]] || return 1
		[[ $head != :* && $tail != *: ]] || return 1
		[[ -z $head ]] || IFS=: read -r -a groups <<<"$head"
		n=${#groups[@]}
		for g in "${groups[@]}"; do [[ $g =~ ^[0-9a-fA-F]{1,4}$ ]] || return 1; done
		groups=()
		[[ -z $tail ]] || IFS=: read -r -a groups <<<"$tail"
		n=$((n + ${#groups[@]}))
		for g in "${groups[@]}"; do [[ $g =~ ^[0-9a-fA-F]{1,4}$ ]] || return 1; done
		((n <= 7)) || return 1
	else
		[[ $s != :* && $s != *: ]] || return 1
		IFS=: read -r -a groups <<<"$s"
		((${#groups[@]} == 8)) || return 1
		for g in "${groups[@]}"; do [[ $g =~ ^[0-9a-fA-F]{1,4}$ ]] || return 1; done
	fi
}

is_dns_name() {
	local s=$1 label first=1
	local -a labels=()
	((${#s} >= 1 && ${#s} <= 253)) || return 1
	[[ $s != .* && $s != *. && $s != *..* ]] || return 1
	IFS=. read -r -a labels <<<"$s"
	for label in "${labels[@]}"; do
		if ((first)) && [[ $label == '*' ]] && ((${#labels[@]} > 2)); then
			first=0
			continue
		fi
		first=0
		[[ $label =~ ^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$ ]] || return 1
	done
	# An all-numeric name is a mistyped address, not a host name.
	[[ ! $s =~ ^[0-9.]+$ ]] || return 1
}

lower() { printf '%s' "$1" | tr '[:upper:]' '[:lower:]'; }

# Prints a valid IPv6 address (without an embedded IPv4 part) the way openssl
# shows it: eight groups, no leading zeros.
ipv6_long() {
	local s=$1 head tail g out=
	local -a h=() t=() all=()
	if [[ $s == *::* ]]; then
		head=${s%%::*} tail=${s#*::}
		[[ -z $head ]] || IFS=: read -r -a h <<<"$head"
		[[ -z $tail ]] || IFS=: read -r -a t <<<"$tail"
		all=("${h[@]}")
		for ((g = ${#h[@]} + ${#t[@]}; g < 8; g++)); do all+=(0); done
		all+=("${t[@]}")
	else
		IFS=: read -r -a all <<<"$s"
	fi
	for g in "${all[@]}"; do out+=$(printf '%x:' "$((16#$g))"); done
	printf '%s' "${out%:}"
}

# ---- arguments -------------------------------------------------------------

out_dir=$SCRIPT_DIR
force=0
declare -a extra_names=() clients=() revokes=()

need_arg() { [[ $# -ge 2 && -n $2 ]] || die "$1 needs a value (see --help)"; }

while (($#)); do
	case $1 in
	--out) need_arg "$@"; out_dir=$2; shift 2 ;;
	--out=*) out_dir=${1#*=}; [[ -n $out_dir ]] || die "--out needs a value"; shift ;;
	--name) need_arg "$@"; extra_names+=("$2"); shift 2 ;;
	--name=*) extra_names+=("${1#*=}"); shift ;;
	--client) need_arg "$@"; clients+=("$2"); shift 2 ;;
	--client=*) clients+=("${1#*=}"); shift ;;
	--revoke) need_arg "$@"; revokes+=("$2"); shift 2 ;;
	--revoke=*) revokes+=("${1#*=}"); shift ;;
	--force) force=1; shift ;;
	-h | --help) usage; exit 0 ;;
	--) shift; (($# == 0)) || die "unexpected argument: $1"; break ;;
	*) die "unknown argument: $1 (see --help)" ;;
	esac
done

command -v openssl >/dev/null 2>&1 || die "openssl not found; install the 'openssl' package"
ossl_ver=$(openssl version 2>/dev/null || true)
if ! [[ $ossl_ver =~ ^OpenSSL\ ([0-9]+)\. ]] || ((BASH_REMATCH[1] < 3)); then
	die "OpenSSL 3.0 or later is needed (found: ${ossl_ver:-nothing})"
fi

if ((${#clients[@]} + ${#revokes[@]} > 0 && ${#extra_names[@]} > 0)); then
	die "--name applies to the server certificate and cannot be combined with --client or --revoke"
fi

# Server subject alternative names: the defaults, then every --name.
declare -a san_dns=(localhost) san_ip=(127.0.0.1 ::1)
contains() { local x=$1 e; shift; for e in "$@"; do [[ $e == "$x" ]] && return 0; done; return 1; }
for n in "${extra_names[@]}"; do
	[[ -n $n ]] || die "--name needs a value"
	m=$n
	if [[ $m == \[*\] ]]; then m=${m#[}; m=${m%]}; fi
	if is_ipv4 "$m"; then
		m=$((10#${BASH_REMATCH[1]})).$((10#${BASH_REMATCH[2]})).$((10#${BASH_REMATCH[3]})).$((10#${BASH_REMATCH[4]}))
		contains "$m" "${san_ip[@]}" || san_ip+=("$m")
	elif is_ipv6 "$m"; then
		m=$(lower "$m")
		contains "$m" "${san_ip[@]}" || san_ip+=("$m")
	else
		m=$(lower "${m%.}")
		is_dns_name "$m" || die "--name '$n' is neither a valid DNS name nor an IP address"
		contains "$m" "${san_dns[@]}" || san_dns+=("$m")
	fi
done

# check_user OPTION NAME: prints NAME in lowercase, or dies.
check_user() {
	local lu
	lu=$(lower "$2")
	[[ $lu =~ ^[a-z][a-z0-9_.-]{0,31}$ ]] ||
		die "$1 '$2' is not a valid user name (want [a-z][a-z0-9_.-]{0,31})"
	[[ $lu != ca && $lu != server ]] ||
		die "$1 '$2': the name is reserved for the CA and server files"
	printf '%s' "$lu"
}
declare -a client_users=() revoke_users=()
for u in "${clients[@]}"; do
	lu=$(check_user --client "$u") || exit 1
	contains "$lu" "${client_users[@]}" || client_users+=("$lu")
done
for u in "${revokes[@]}"; do
	lu=$(check_user --revoke "$u") || exit 1
	contains "$lu" "${revoke_users[@]}" || revoke_users+=("$lu")
done
# Only a plain run (no --client, no --revoke) touches the server files.
server_run=1
((${#client_users[@]} + ${#revoke_users[@]} == 0)) || server_run=0

# ---- output directory and scratch space ----------------------------------

if [[ -e $out_dir && ! -d $out_dir ]]; then
	die "--out '$out_dir' exists and is not a directory"
fi
mkdir -p -- "$out_dir" || die "cannot create directory '$out_dir'"
out_dir=$(cd -- "$out_dir" && pwd)
[[ -w $out_dir ]] || die "directory '$out_dir' is not writable"

# New files are made in a private scratch directory inside DIR and then
# renamed into place, so an interrupted run never leaves half-written files.
work=$(mktemp -d "$out_dir/.gen-certs.XXXXXX") || die "cannot create a scratch directory in '$out_dir'"
trap 'rm -rf -- "$work"' EXIT
trap 'exit 130' INT TERM HUP

# Runs openssl, showing its messages only when it fails.
ossl() {
	local log=$work/openssl.log
	if ! openssl "$@" >"$log" 2>&1; then
		cat -- "$log" >&2
		die "openssl $1 failed"
	fi
}

serial() {
	# 124 random bits, positive and without a leading zero byte.
	printf '0x4%s' "$(openssl rand -hex 15)"
}

new_key() {
	ossl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
		-pkeyopt ec_param_enc:named_curve -out "$1"
	chmod 600 -- "$1"
}

# Writes the openssl configuration for the extensions used here.
write_config() {
	local cnf=$work/openssl.cnf i
	{
		cat <<'EOF'
[req]
distinguished_name = req_dn
prompt = no
utf8 = yes
string_mask = utf8only

[req_dn]
CN = parley

[v3_ca]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash

[v3_server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
subjectAltName = @server_alt

[v3_client]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always

[server_alt]
EOF
		for i in "${!san_dns[@]}"; do printf 'DNS.%d = %s\n' "$((i + 1))" "${san_dns[$i]}"; done
		for i in "${!san_ip[@]}"; do printf 'IP.%d = %s\n' "$((i + 1))" "${san_ip[$i]}"; done
		# For "openssl ca -gencrl": a database in the scratch directory.
		cat <<EOF

[ca]
default_ca = parley_ca

[parley_ca]
database = $work/index.txt
crlnumber = $work/crlnumber
certificate = $work/ca.crt
private_key = $work/ca.key
default_md = sha256
default_crl_days = $CRL_DAYS
crl_extensions = crl_ext

[crl_ext]
authorityKeyIdentifier = keyid:always
EOF
	} >"$cnf"
	CNF=$cnf
}

# Issues a leaf certificate: sign_leaf KEY SUBJECT EXTENSIONS OUT
sign_leaf() {
	local key=$1 subj=$2 ext=$3 out=$4 csr=$work/leaf.csr
	ossl req -new -config "$CNF" -key "$key" -subj "$subj" -sha256 -out "$csr"
	ossl x509 -req -in "$csr" -CA "$work/ca.crt" -CAkey "$work/ca.key" \
		-set_serial "$(serial)" -days "$LEAF_DAYS" -sha256 \
		-extfile "$CNF" -extensions "$ext" -out "$out"
	chmod 644 -- "$out"
	rm -f -- "$csr"
}

# Moves scratch files into DIR (keys first).
install_files() {
	local f
	for f in "$@"; do
		mv -f -- "$work/$f" "$out_dir/$f"
	done
}

describe() {
	local action=$1 f=$2 fp end
	fp=$(openssl x509 -in "$out_dir/$f" -noout -fingerprint -sha256 2>/dev/null) ||
		die "$out_dir/$f is not a readable certificate"
	fp=${fp#*=}
	end=$(openssl x509 -in "$out_dir/$f" -noout -enddate 2>/dev/null)
	end=${end#*=}
	printf '%-7s %s\n        SHA-256 %s\n        expires %s\n' "$action" "$out_dir/$f" "$fp" "$end"
}

pubkey_of_cert() { openssl x509 -in "$1" -noout -pubkey 2>/dev/null; }
pubkey_of_key() { openssl pkey -in "$1" -pubout 2>/dev/null; }

# Checks that an existing certificate and key belong together.
check_pair() {
	local crt=$out_dir/$1 key=$out_dir/$2 a b
	a=$(pubkey_of_cert "$crt") || die "$crt is not a readable certificate"
	b=$(pubkey_of_key "$key") || die "$key is not a readable private key"
	[[ $a == "$b" ]] || die "$crt and $key do not match (use --force to replace them)"
}

# State of a certificate/key pair in DIR: "none", "both", or "partial".
pair_state() {
	local crt=$out_dir/$1 key=$out_dir/$2
	if [[ -e $crt && -e $key ]]; then echo both
	elif [[ -e $crt || -e $key ]]; then echo partial
	else echo none
	fi
}

# openssl's date ("Feb 27 17:06:31 2029 GMT") as an index.txt time.
index_time() {
	local y
	y=$(date -u -d "$1" +%Y) || die "cannot read the date '$1'"
	if ((y < 2050)); then date -u -d "$1" +%y%m%d%H%M%SZ
	else date -u -d "$1" +%Y%m%d%H%M%SZ
	fi
}

# Whether the index (openssl ca's format, tab-separated) lists SERIAL.
index_has_serial() {
	awk -F '\t' -v s="$2" '$4 == s { f = 1 } END { exit !f }' "$1"
}

# Whether the index lists a certificate whose subject ends in /CN=USER.
index_has_user() {
	awk -F '\t' -v t="/CN=$2" '
		{ n = length(t); if (length($6) >= n && substr($6, length($6) - n + 1) == t) f = 1 }
		END { exit !f }' "$1"
}

cert_serial() { local s; s=$(openssl x509 -in "$1" -noout -serial) || return 1; printf '%s' "${s#serial=}"; }

# Whether CRL expires later than CRL_RENEW_DAYS from now.
crl_current() {
	local nu
	nu=$(openssl crl -in "$1" -noout -nextupdate 2>/dev/null) || return 1
	nu=${nu#nextUpdate=}
	nu=$(date -u -d "$nu" +%s 2>/dev/null) || return 1
	((nu - $(date +%s) > CRL_RENEW_DAYS * 86400))
}

# Signs a new CRL from the scratch index into $work/ca.crl.
sign_crl() {
	local n
	# CRL numbers must grow; the clock in nanoseconds does.
	n=$(printf '%X' "$(date +%s%N)")
	((${#n} % 2 == 0)) || n=0$n
	printf '%s\n' "$n" >"$work/crlnumber"
	ossl ca -batch -config "$CNF" -gencrl -out "$work/ca.crl"
	chmod 644 -- "$work/ca.crl"
}

describe_crl() {
	local action=$1 f=$out_dir/ca.crl nu n
	nu=$(openssl crl -in "$f" -noout -nextupdate 2>/dev/null) ||
		die "$f is not a readable CRL"
	n=$(openssl crl -in "$f" -noout -text 2>/dev/null | grep -c 'Serial Number:' || true)
	printf '%-7s %s\n        revoked %d certificate(s)\n        next update %s\n' \
		"$action" "$f" "$n" "${nu#nextUpdate=}"
}

write_config
declare -a summary=() revoked_users=()
ca_new=0

# ---- CA --------------------------------------------------------------------

ca_state=$(pair_state ca.crt ca.key)
if ((${#revoke_users[@]} > 0)) && [[ $ca_state != both ]]; then
	die "no CA (ca.crt and ca.key) in $out_dir: nothing to revoke"
fi
ca_replace=$force
((server_run)) || ca_replace=0
if [[ $ca_state == both && $ca_replace == 0 ]]; then
	check_pair ca.crt ca.key
	cp -- "$out_dir/ca.crt" "$work/ca.crt"
	cp -- "$out_dir/ca.key" "$work/ca.key"
	summary+=("kept ca.crt")
elif [[ $ca_state == partial && $ca_replace == 0 ]]; then
	die "only one of ca.crt and ca.key exists in $out_dir; restore the other or use --force"
else
	new_key "$work/ca.key"
	ossl req -new -x509 -config "$CNF" -key "$work/ca.key" \
		-subj "/O=parley/CN=parley CA $(openssl rand -hex 4)" \
		-extensions v3_ca -set_serial "$(serial)" -days "$CA_DAYS" -sha256 \
		-out "$work/ca.crt"
	chmod 644 -- "$work/ca.crt"
	cp -- "$work/ca.key" "$work/ca.key.keep"
	cp -p -- "$work/ca.crt" "$work/ca.crt.keep"
	mv -f -- "$work/ca.key.keep" "$out_dir/ca.key"
	mv -f -- "$work/ca.crt.keep" "$out_dir/ca.crt"
	ca_new=1
	summary+=("wrote ca.crt")
fi

# ---- revocations -----------------------------------------------------------

# The CA's list of revoked certificates goes with the CA: a new CA starts
# with an empty one.
revoked_db=$out_dir/ca.revoked
revoked_dirty=0
if ((ca_new == 0)) && [[ -f $revoked_db ]]; then
	cp -- "$revoked_db" "$work/index.txt"
else
	: >"$work/index.txt"
	[[ ! -e $revoked_db ]] || revoked_dirty=1
fi

for u in "${revoke_users[@]}"; do
	crt=$out_dir/$u.crt
	if [[ ! -e $crt ]]; then
		index_has_user "$work/index.txt" "$u" ||
			die "there is no $crt to revoke"
		note "$u: already revoked"
		continue
	fi
	openssl verify -no_check_time -CAfile "$work/ca.crt" "$crt" >/dev/null 2>&1 ||
		die "$crt is not signed by $out_dir/ca.crt; it cannot be revoked here"
	sn=$(cert_serial "$crt") || die "$crt is not a readable certificate"
	if ! index_has_serial "$work/index.txt" "$sn"; then
		end=$(openssl x509 -in "$crt" -noout -enddate) || die "$crt: no expiry date"
		subj=$(openssl x509 -in "$crt" -noout -subject -nameopt compat) ||
			die "$crt: no subject"
		printf 'R\t%s\t%s\t%s\tunknown\t%s\n' "$(index_time "${end#notAfter=}")" \
			"$(date -u +%y%m%d%H%M%SZ)" "$sn" "${subj#subject=}" >>"$work/index.txt"
		revoked_dirty=1
	fi
	printf '%-7s %s\n        serial %s\n' revoked "$crt" "$sn"
	revoked_users+=("$u")
done

# ---- CRL -------------------------------------------------------------------

crl=$out_dir/ca.crl
crl_action=
if ((ca_new || revoked_dirty)); then
	crl_action=wrote
elif [[ ! -e $crl ]]; then
	crl_action=wrote
elif ! openssl crl -in "$crl" -CAfile "$work/ca.crt" -noout >/dev/null 2>&1; then
	warn "$crl is not a CRL signed by ca.crt; writing a new one"
	crl_action=wrote
elif [[ -e $revoked_db && $revoked_db -nt $crl ]]; then
	crl_action=wrote
elif ! crl_current "$crl"; then
	note "ca.crl expires within $CRL_RENEW_DAYS days; signing it again"
	crl_action=renewed
fi
if [[ -n $crl_action ]]; then
	# The list first, then the CRL made from it: the CRL is never older.
	if ((revoked_dirty)); then
		cp -- "$work/index.txt" "$work/ca.revoked"
		chmod 644 -- "$work/ca.revoked"
	fi
	sign_crl
	((revoked_dirty == 0)) || install_files ca.revoked
	install_files ca.crl
fi
# A revoked certificate is of no use any more; a new --client replaces it.
for u in "${revoked_users[@]}"; do
	rm -f -- "$out_dir/$u.crt" "$out_dir/$u.key"
done

# ---- server ----------------------------------------------------------------

if ((server_run)); then
	srv_state=$(pair_state server.crt server.key)
	if [[ $srv_state == both && $force == 0 && $ca_new == 0 ]]; then
		check_pair server.crt server.key
		openssl verify -CAfile "$out_dir/ca.crt" "$out_dir/server.crt" >/dev/null 2>&1 ||
			die "$out_dir/server.crt is not signed by $out_dir/ca.crt (use --force to regenerate)"
		# Warn when names asked for now are missing from the kept certificate.
		have=$(openssl x509 -in "$out_dir/server.crt" -noout -ext subjectAltName 2>/dev/null | tr -d ' \n' | tr '[:upper:]' '[:lower:]')
		have=,${have#*subjectalternativename:},
		for n in "${san_dns[@]}"; do
			[[ $have == *",dns:$n,"* ]] || warn "kept server.crt does not cover '$n'; use --force to reissue it"
		done
		for n in "${san_ip[@]}"; do
			m=$n
			if [[ $n == *:* ]]; then
				[[ $n != *.* ]] || continue
				m=$(ipv6_long "$n")
			fi
			[[ $have == *",ipaddress:$m,"* ]] ||
				warn "kept server.crt does not cover '$n'; use --force to reissue it"
		done
		summary+=("kept server.crt")
	elif [[ $srv_state == partial && $force == 0 && $ca_new == 0 ]]; then
		die "only one of server.crt and server.key exists in $out_dir; restore the other or use --force"
	else
		if [[ $srv_state != none && $force == 0 ]]; then
			note "replacing server.crt and server.key: they were signed by the previous CA"
		fi
		cn=localhost
		for n in "${san_dns[@]:1}"; do
			if [[ $n != \** && ${#n} -le 64 ]]; then cn=$n; break; fi
		done
		new_key "$work/server.key"
		sign_leaf "$work/server.key" "/O=parley/CN=$cn" v3_server "$work/server.crt"
		install_files server.key server.crt
		summary+=("wrote server.crt")
	fi
fi

# ---- clients ---------------------------------------------------------------

for u in "${client_users[@]}"; do
	st=$(pair_state "$u.crt" "$u.key")
	if [[ $st == both && $force == 0 && $ca_new == 0 ]] &&
		index_has_serial "$work/index.txt" "$(cert_serial "$out_dir/$u.crt")"; then
		note "$u.crt is revoked; issuing a new one"
		st=revoked
	fi
	if [[ $st == both && $force == 0 && $ca_new == 0 ]]; then
		check_pair "$u.crt" "$u.key"
		openssl verify -CAfile "$out_dir/ca.crt" "$out_dir/$u.crt" >/dev/null 2>&1 ||
			die "$out_dir/$u.crt is not signed by $out_dir/ca.crt (use --force to regenerate)"
		summary+=("kept $u.crt")
	elif [[ $st == partial && $force == 0 && $ca_new == 0 ]]; then
		die "only one of $u.crt and $u.key exists in $out_dir; restore the other or use --force"
	else
		new_key "$work/$u.key"
		sign_leaf "$work/$u.key" "/O=parley/CN=$u" v3_client "$work/$u.crt"
		install_files "$u.key" "$u.crt"
		summary+=("wrote $u.crt")
	fi
done

# ---- report ----------------------------------------------------------------

kept=0
for s in "${summary[@]}"; do
	describe "${s%% *}" "${s#* }"
	[[ $s != kept* ]] || kept=1
done
if [[ -n $crl_action ]]; then
	describe_crl "$crl_action"
elif ((server_run)); then
	describe_crl kept
fi
if ((kept)); then
	note "existing files were kept; use --force to replace them"
fi

if ((ca_new)); then
	# Other certificates in DIR were signed by a CA that no longer exists here.
	for f in "$out_dir"/*.crt; do
		[[ -e $f ]] || continue
		b=${f##*/}
		[[ $b == ca.crt ]] && continue
		openssl verify -CAfile "$out_dir/ca.crt" "$f" >/dev/null 2>&1 ||
			warn "$f was signed by a previous CA; regenerate it with --force"
	done
fi
