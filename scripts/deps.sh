#!/usr/bin/env bash
# deps.sh - install the Debian packages parley needs to build, test and run.
#
#   scripts/deps.sh           install whatever is missing (quiet when nothing is)
#   scripts/deps.sh --check   only report; exit 1 when something is missing
#   scripts/deps.sh --list    print the package list
#
# Only missing packages are installed, and the package lists are refreshed
# (apt-get update) only when something has to be installed.
set -euo pipefail
export LC_ALL=C

# The one list. Add packages here.
PACKAGES=(
	build-essential
	gcc
	cmake
	pkg-config
	libssl-dev
	openssl
	libsodium-dev
	libuv1-dev
	libsqlite3-dev
	sqlite3
	libinih-dev
	libsystemd-dev
	libcmocka-dev
	uthash-dev
	john-data
	libedit-dev
	procps
	tmux
	systemd
	strace
	groff-base
	# The abuse suite and the static checks (docs/TESTING.md).
	testssl.sh
	sslscan
	cppcheck
	binutils
	python3
	util-linux
	libfaketime
)

prog=${0##*/}
die() { printf '%s: error: %s\n' "$prog" "$*" >&2; exit 1; }

mode=install
case ${1:-} in
'') ;;
--check) mode=check ;;
--list) printf '%s\n' "${PACKAGES[@]}"; exit 0 ;;
-h | --help)
	sed -n '2,9s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
	exit 0
	;;
*) die "unknown argument: $1 (try --help)" ;;
esac

command -v dpkg-query >/dev/null 2>&1 || die "dpkg-query not found: this script is for Debian and its derivatives"

# Packages dpkg knows as fully installed ("ii"); one query for all of them.
declare -A installed=()
while read -r status name; do
	[[ $status == ii ]] && installed[${name%%:*}]=1
done < <(dpkg-query -W -f='${db:Status-Abbrev} ${binary:Package}\n' "${PACKAGES[@]}" 2>/dev/null || true)

missing=()
for p in "${PACKAGES[@]}"; do
	[[ -n ${installed[$p]:-} ]] || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
	exit 0
fi

if [[ $mode == check ]]; then
	printf '%s: missing packages: %s\n' "$prog" "${missing[*]}" >&2
	exit 1
fi

as_root=()
if ((EUID != 0)); then
	command -v sudo >/dev/null 2>&1 ||
		die "not root and sudo is not available; as root run: apt-get update && apt-get install ${missing[*]}"
	as_root=(sudo)
fi

printf '%s: installing: %s\n' "$prog" "${missing[*]}" >&2
"${as_root[@]}" apt-get update -qq || die "apt-get update failed"
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
	apt-get install -y -qq --no-install-recommends "${missing[@]}" ||
	die "apt-get install failed for: ${missing[*]}"

# Make sure it worked.
still=()
while read -r status name; do
	[[ $status == ii ]] && installed[${name%%:*}]=1
done < <(dpkg-query -W -f='${db:Status-Abbrev} ${binary:Package}\n' "${missing[@]}" 2>/dev/null || true)
for p in "${missing[@]}"; do
	[[ -n ${installed[$p]:-} ]] || still+=("$p")
done
((${#still[@]} == 0)) || die "still missing after apt-get install: ${still[*]}"
printf '%s: installed %d package(s)\n' "$prog" "${#missing[@]}" >&2
