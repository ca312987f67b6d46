#!/usr/bin/env bash
# HARDENING.md "Build-time": gcc -fanalyzer over common/ server/ admin/
# client/ with no findings, or each suppression justified below.
#
# Each file is compiled as the release build compiles it (-O2, C11, the
# same definitions and include paths) with -fanalyzer, output discarded.
# A suppression names the file, the function and the warning option, not
# a line, so that it survives edits around it and nothing else.
#
# Environment (from CTest): SRCDIR, BUILDDIR (for the generated header).
set -euo pipefail
export LC_ALL=C

: "${SRCDIR:?SRCDIR must name the source tree}"
: "${BUILDDIR:?BUILDDIR must name the build tree}"

CC=${CC:-gcc}
"$CC" -fanalyzer -x c -c /dev/null -o /dev/null 2>/dev/null ||
	{ echo "FAIL: $CC does not support -fanalyzer (GCC 10 or later)" >&2; exit 1; }

# file function option  -- why it is a false positive
SUPPRESSIONS=(
	# add_member() links the new member into the user's and the room's
	# lists (LIST_INSERT_HEAD through struct fields); gcc 12 loses track
	# of pointers stored that way and calls it a leak.
	"server/route.c route_room_join -Wanalyzer-malloc-leak"
	# pos[0] is set whenever n >= sub->nargs >= 1, which the code checks
	# just before; the analyzer does not relate n to the array.
	"admin/parleyctl.c parse_sub -Wanalyzer-null-argument"
	# The value is stored through *keys[i].field (a pointer into the
	# config struct) and freed with it; the analyzer cannot see that store.
	"client/conf.c on_entry -Wanalyzer-malloc-leak"
	# The copy is stored in set->v[at] right after the memmove that makes
	# room for it; the same limitation.
	"client/roster.c roster_add -Wanalyzer-malloc-leak"
	# Each line's copy is stored in k->known[k->nknown].text and counted
	# before the next allocation; keys_free() frees them all.
	"client/keys.c known_parse -Wanalyzer-malloc-leak"
)

cd "$SRCDIR"
# shellcheck disable=SC2046
cflags=$(pkg-config --cflags openssl libsodium libuv sqlite3 inih libsystemd libedit)
T=$(mktemp -d /tmp/parley-analyzer.XXXXXX)
trap 'rm -rf "$T"' EXIT

findings=0
suppressed=0
for f in common/*.c server/*.c admin/*.c client/*.c; do
	[ -f "$f" ] || continue
	# shellcheck disable=SC2086
	"$CC" -std=c11 -O2 -fanalyzer -D_GNU_SOURCE -DPARLEY_VERSION='"0"' \
		-Icommon -Iserver -Iclient -I"$BUILDDIR/generated" $cflags \
		-c "$f" -o /dev/null >"$T/out" 2>&1 || true
	func=
	while IFS= read -r line; do
		if [[ $line =~ In\ function\ .([A-Za-z_0-9]+). ]]; then
			func=${BASH_REMATCH[1]}
			continue
		fi
		[[ $line =~ ^[^\ ]+:[0-9]+:[0-9]+:\ (warning|error): ]] || continue
		opt=
		if [[ $line =~ \[(-W[a-z0-9-]+)\]$ ]]; then
			opt=${BASH_REMATCH[1]}
		fi
		skip=0
		for s in "${SUPPRESSIONS[@]}"; do
			if [ "$s" = "$f $func $opt" ]; then
				skip=1
				break
			fi
		done
		if ((skip)); then
			suppressed=$((suppressed + 1))
			echo "suppressed ($func): $line"
		else
			findings=$((findings + 1))
			echo "FINDING ($func): $line"
		fi
	done <"$T/out"
done
verdict=PASS
((findings == 0)) || verdict=FAIL
echo "abuse: gcc-analyzer: findings=$findings ($suppressed suppressed, each justified) (target 0) $verdict"
[ "$verdict" = PASS ]
