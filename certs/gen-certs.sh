#!/usr/bin/env bash
# gen-certs.sh - make a private CA and certificates for parley.
#
#   certs/gen-certs.sh [--out DIR] [--name DNS]... [--force]
#   certs/gen-certs.sh [--out DIR] --client USER [--force]
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

usage() {
	cat <<EOF
Usage: $PROG [--out DIR] [--name DNS]... [--force]
       $PROG [--out DIR] --client USER [--force]

Writes an ECDSA P-256 certificate authority and certificates signed by it.

Without --client, writes into DIR:
  ca.crt ca.key          the CA (10 years; basicConstraints CA:TRUE,
                         keyUsage keyCertSign, cRLSign)
  server.crt server.key  a TLS server certificate ($LEAF_DAYS days; serverAuth)
                         for localhost, 127.0.0.1, ::1 and every --name

With --client USER, writes USER.crt and USER.key: a client certificate
(CN=USER, clientAuth) signed by the CA in DIR, creating the CA first when
there is none. USER must be a parley user name: [a-z][a-z0-9_.-]{0,31}
(case-insensitive, stored lowercase); "ca" and "server" are reserved.

Options:
  --out DIR      where to write (default: $SCRIPT_DIR)
  --name NAME    extra server name; a name that is an IPv4 or IPv6 address
                 goes in as an IP address entry, anything else as a DNS name.
                 May be repeated.
  --client USER  make a client certificate for USER (may be repeated)
  --force        replace existing files. Without --client this regenerates
                 the CA and the server certificate; with --client only the
                 client's files are replaced and an existing CA is reused.
  -h, --help     show this help

Existing files are kept unless --force is given, so running this again is
harmless. Private keys are created with mode 0600.
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
declare -a extra_names=() clients=()

need_arg() { [[ $# -ge 2 && -n $2 ]] || die "$1 needs a value (see --help)"; }

while (($#)); do
	case $1 in
	--out) need_arg "$@"; out_dir=$2; shift 2 ;;
	--out=*) out_dir=${1#*=}; [[ -n $out_dir ]] || die "--out needs a value"; shift ;;
	--name) need_arg "$@"; extra_names+=("$2"); shift 2 ;;
	--name=*) extra_names+=("${1#*=}"); shift ;;
	--client) need_arg "$@"; clients+=("$2"); shift 2 ;;
	--client=*) clients+=("${1#*=}"); shift ;;
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

if ((${#clients[@]} > 0 && ${#extra_names[@]} > 0)); then
	die "--name applies to the server certificate and cannot be combined with --client"
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

declare -a client_users=()
for u in "${clients[@]}"; do
	lu=$(lower "$u")
	[[ $lu =~ ^[a-z][a-z0-9_.-]{0,31}$ ]] ||
		die "--client '$u' is not a valid user name (want [a-z][a-z0-9_.-]{0,31})"
	[[ $lu != ca && $lu != server ]] ||
		die "--client '$u': the name is reserved for the CA and server files"
	contains "$lu" "${client_users[@]}" || client_users+=("$lu")
done

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

write_config
declare -a summary=()
ca_new=0

# ---- CA --------------------------------------------------------------------

ca_state=$(pair_state ca.crt ca.key)
ca_replace=$force
((${#client_users[@]} == 0)) || ca_replace=0
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

# ---- server ----------------------------------------------------------------

if ((${#client_users[@]} == 0)); then
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
