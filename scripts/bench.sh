#!/usr/bin/env bash
# bench.sh - measure parleyd with parley-bench and record the results.
#
#   scripts/bench.sh                  build Release, run every scenario 3
#                                     times, write docs/PERFORMANCE.md
#   scripts/bench.sh --smoke --bin-dir build
#                                     1-second run of each scenario with
#                                     binaries already built (CI)
#
# Options:
#   --runs N          runs per scenario (3); the table shows medians
#   --duration S      measuring window per run in seconds (10)
#   --only LIST       comma-separated scenario names (see --list)
#   --list            print the scenario names and exit
#   --bin-dir DIR     use parleyd, parleyctl and parley-bench from DIR
#                     instead of building build-bench-release/
#   --no-doc          do not touch docs/PERFORMANCE.md
#   --results FILE    JSON lines of every run (default: in the build folder)
#   --server-cpu N    core for parleyd (0); --client-cpu N for the load (1)
#   --perf            perf record -g parleyd during the first run of each
#                     scenario; reports next to the results
#   --callgrind NAME  run parleyd under valgrind --tool=callgrind for one
#                     short run of scenario NAME instead of measuring
#   --wait-quiet S    before each run, wait up to S seconds for the rest of
#                     the machine to use under 10 % of a core (0: don't)
#   --keep            keep the state folder (certificates, databases, logs)
#   --smoke           1 s per scenario, 1 run, small sizes, no document
#
# Every server is started fresh from a copy of a prepared database, with
# parleyd's default configuration except: raised rate and connection limits,
# and cheap argon2 parameters (pwhash_ops=1, pwhash_mem_kib=8) wherever
# logins are set-up rather than the thing measured. The password-login storm
# uses the default argon2 parameters. Only 127.0.0.0/8 is used.
set -euo pipefail
export LC_ALL=C

# The whole script is one compound command, read before any of it runs,
# so editing or checking out this file during a long run is harmless.
{
prog=bench.sh
orig_args=$*
die() { printf '%s: error: %s\n' "$prog" "$*" >&2; exit 1; }
note() { printf '==> %s\n' "$*" >&2; }

top=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)

ALL_SCENARIOS=(fanout fanout-20k pairs idle-10k idle-50k connect-password
	connect-token connect-resume store store-direct)

runs=3
duration=10
only=
bin_dir=
write_doc=1
results=
server_cpu=0
client_cpu=1
do_perf=0
callgrind=
keep=0
smoke=0
wait_quiet=0

while (($#)); do
	case $1 in
	--runs) runs=${2:?}; shift ;;
	--duration) duration=${2:?}; shift ;;
	--only) only=${2:?}; shift ;;
	--list) printf '%s\n' "${ALL_SCENARIOS[@]}"; exit 0 ;;
	--bin-dir) bin_dir=${2:?}; shift ;;
	--no-doc) write_doc=0 ;;
	--results) results=${2:?}; shift ;;
	--server-cpu) server_cpu=${2:?}; shift ;;
	--client-cpu) client_cpu=${2:?}; shift ;;
	--perf) do_perf=1 ;;
	--callgrind) callgrind=${2:?}; shift ;;
	--keep) keep=1 ;;
	--wait-quiet) wait_quiet=${2:?}; shift ;;
	--smoke) smoke=1 ;;
	-h | --help) sed -n '2,33s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; exit 0 ;;
	*) die "unknown argument: $1 (try --help)" ;;
	esac
	shift
done
[[ $runs =~ ^[1-9][0-9]?$ ]] || die "--runs: expected 1 to 99"
[[ $duration =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "--duration: expected seconds"
[[ $wait_quiet =~ ^[0-9]+$ ]] || die "--wait-quiet: expected whole seconds"
if ((smoke)); then
	runs=1
	duration=1
	write_doc=0
fi

scenarios=("${ALL_SCENARIOS[@]}")
if [[ -n $only ]]; then
	IFS=, read -r -a scenarios <<<"$only"
	for s in "${scenarios[@]}"; do
		[[ " ${ALL_SCENARIOS[*]} " == *" $s "* ]] || die "unknown scenario '$s' (try --list)"
	done
fi
if [[ -n $callgrind ]]; then
	[[ " ${ALL_SCENARIOS[*]} " == *" $callgrind "* ]] || die "--callgrind: unknown scenario '$callgrind'"
	command -v valgrind >/dev/null || die "valgrind is not installed"
	scenarios=("$callgrind")
	runs=1
	write_doc=0
fi
if ((do_perf)); then
	command -v perf >/dev/null || die "perf is not installed (Debian: linux-perf)"
fi

# ---- binaries ----------------------------------------------------------------

if [[ -n $bin_dir ]]; then
	bin_dir=$(cd -- "$bin_dir" && pwd) || die "--bin-dir: no such folder"
	build=$bin_dir
else
	build=$top/build-bench-release
	note "building Release binaries in ${build#"$top"/}/"
	mkdir -p "$build"
	cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=Release \
	    -DPARLEY_TESTS=OFF >"$build/bench-cmake.log" 2>&1 ||
		{ cat "$build/bench-cmake.log" >&2; die "cmake configure failed"; }
	cmake --build "$build" -j "$(nproc)" --target parleyd parleyctl \
	    parley-bench >"$build/bench-build.log" 2>&1 ||
		{ tail -n 40 "$build/bench-build.log" >&2; die "build failed"; }
fi
PARLEYD=$build/parleyd
PARLEYCTL=$build/parleyctl
BENCH=$build/parley-bench
for b in "$PARLEYD" "$PARLEYCTL" "$BENCH"; do
	[[ -x $b ]] || die "$b not found (build the parley-bench target)"
done
results=${results:-$build/bench-results.jsonl}
: >"$results" || die "cannot write $results"

# ---- pinning and limits --------------------------------------------------------

ncpu=$(nproc)
pin_server=()
pin_client=()
if command -v taskset >/dev/null && ((ncpu >= 2)); then
	pin_server=(taskset -c "$server_cpu")
	pin_client=(taskset -c "$client_cpu")
elif ((!smoke)); then
	note "warning: fewer than 2 CPUs or no taskset: server and load share the machine unpinned"
fi
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
nofile=$(ulimit -n)
# Each side needs one descriptor per connection plus its own few.
idle_big=50000
if ((nofile - 512 < idle_big)); then
	idle_big=$(((nofile - 512) / 1000 * 1000))
fi

# ---- state: certificates, configurations, databases ----------------------------

state=$(mktemp -d "${TMPDIR:-/tmp}/parley-bench.XXXXXX")
server_pid=
# shellcheck disable=SC2317  # called from the EXIT trap
cleanup() {
	if [[ -n $server_pid ]]; then
		kill "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
	fi
	if ((keep)); then
		note "state kept in $state"
	else
		rm -rf -- "$state"
	fi
}
trap cleanup EXIT

PASSWORD=parley-bench-password
bash "$top/certs/gen-certs.sh" --out "$state/certs" >"$state/gen-certs.log" 2>&1 ||
	{ cat "$state/gen-certs.log" >&2; die "certs/gen-certs.sh failed"; }

# write_conf FILE DB HASH: the benchmark configuration. HASH is "cheap" or
# "default" (argon2 parameters).
write_conf() {
	{
		cat <<-EOF
		[server]
		name = bench
		listen = 127.0.0.1:0
		[tls]
		certificate = $state/certs/server.crt
		private_key = $state/certs/server.key
		[storage]
		database = $2
		EOF
		if [[ $3 == cheap ]]; then
			printf '[auth]\npwhash_ops = 1\npwhash_mem_kib = 8\n'
		fi
		cat <<-EOF
		[limits]
		max_connections = 60000
		max_connections_per_ip = 1000000
		messages_per_second = 1000000
		EOF
	} >"$1"
}

# make_db NAME HASH USERS: a template database with USERS accounts
# bench0..bench<USERS-1>, all with $PASSWORD.
make_db() {
	local name=$1 hash=$2 users=$3 i
	write_conf "$state/$name.conf" "$state/$name.db" "$hash"
	for ((i = 0; i < users; i++)); do
		printf '%s\n' "$PASSWORD" | "$PARLEYCTL" -c "$state/$name.conf" \
		    user add "bench$i" --password-stdin >>"$state/$name.ctl.log" 2>&1 ||
			{ tail -n 5 "$state/$name.ctl.log" >&2; die "parleyctl user add bench$i failed"; }
	done
}

need_default=0
for s in "${scenarios[@]}"; do
	if [[ $s == connect-password ]] && ((!smoke)); then
		need_default=1
	fi
done
note "preparing accounts: 128 with cheap hashes$( ((need_default)) && echo ", 16 with default hashes")"
make_db cheap cheap 128
if ((need_default)); then
	make_db default default 16
fi

# ---- one server ------------------------------------------------------------------

# start_server PROFILE RUNDIR [WRAPPER...]: fresh copy of the profile's
# database, parleyd pinned; sets server_pid and port.
start_server() {
	local profile=$1 dir=$2 i
	shift 2
	mkdir -p "$dir"
	cp "$state/$profile.db" "$dir/parley.db"
	write_conf "$dir/parleyd.conf" "$dir/parley.db" "$profile"
	# The log exists before the loop below reads it, even if the shell
	# has not yet opened it for the background server.
	: >"$dir/parleyd.log"
	"${pin_server[@]}" "$@" "$PARLEYD" -c "$dir/parleyd.conf" 2>>"$dir/parleyd.log" &
	server_pid=$!
	port=
	for ((i = 0; i < 600; i++)); do
		port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' \
		    "$dir/parleyd.log" | head -n1)
		if [[ -n $port ]] && grep -q 'ready' "$dir/parleyd.log"; then
			# Under valgrind, $! is valgrind itself: same pid, exec'd.
			return 0
		fi
		kill -0 "$server_pid" 2>/dev/null || break
		sleep 0.1
	done
	tail -n 20 "$dir/parleyd.log" >&2
	die "parleyd did not start"
}

stop_server() {
	local i
	[[ -n $server_pid ]] || return 0
	kill -TERM "$server_pid" 2>/dev/null || true
	for ((i = 0; i < 300; i++)); do
		kill -0 "$server_pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$server_pid" 2>/dev/null || true
	wait "$server_pid" 2>/dev/null || true
	server_pid=
}

# ---- the scenarios -----------------------------------------------------------------

# scenario_args NAME: sets profile (database/config) and args (parley-bench).
scenario_args() {
	local d=$duration w=1
	((smoke)) && w=0.3
	case $1 in
	fanout)
		profile=cheap
		args=(fanout --receivers 100 --duration "$d" --warmup "$w") ;;
	fanout-20k)
		profile=cheap
		args=(fanout --receivers 100 --rate 20000 --duration "$d" --warmup "$w") ;;
	pairs)
		profile=cheap
		args=(pairs --pairs 50 --duration "$d" --warmup "$w") ;;
	idle-10k)
		profile=cheap
		args=(idle --conns $((smoke ? 300 : 10000)) --src-count 16 --settle $((smoke ? 0 : 2))) ;;
	idle-50k)
		profile=cheap
		args=(idle --conns $((smoke ? 600 : idle_big)) --src-count 32 --settle $((smoke ? 0 : 2))) ;;
	connect-password)
		if ((smoke)); then
			profile=cheap
			args=(connect --mode password --pwhash-ops 1 --pwhash-mem-kib 8)
		else
			profile=default
			args=(connect --mode password --users 16 --pwhash-ops 2 --pwhash-mem-kib 65536)
		fi
		args+=(--duration "$d" --warmup "$w") ;;
	connect-token)
		profile=cheap
		args=(connect --mode token --duration "$d" --warmup "$w") ;;
	connect-resume)
		profile=cheap
		args=(connect --mode resume --duration "$d" --warmup "$w") ;;
	store)
		profile=cheap
		args=(store --senders 50 --window 16 --duration "$d" --warmup "$w") ;;
	store-direct)
		profile=none
		args=(store --direct "@DB@" --batch 256 --duration "$d" --warmup "$w") ;;
	esac
}

: >"$state/lines"
declare -A cmdline=()
overall=0

# busy_pct: CPU the whole machine used over the next second, in % of a core.
busy_pct() {
	local a b
	a=$(awk '/^cpu / {print $2+$3+$4+$7+$8+$9; exit}' /proc/stat)
	sleep 1
	b=$(awk '/^cpu / {print $2+$3+$4+$7+$8+$9; exit}' /proc/stat)
	echo $(((b - a) * 100 / $(getconf CLK_TCK)))
}

# quiet: wait (bounded) until nothing else is running.
quiet() {
	local i p
	((wait_quiet > 0)) || return 0
	for ((i = 0; i < wait_quiet; i++)); do
		p=$(busy_pct)
		((p < 10)) && return 0
	done
	note "warning: the machine is still busy (${p}% of a core) after ${wait_quiet} s; measuring anyway"
}

# run_one NAME RUN: one run; appends "name<TAB>key=value line" to $state/lines.
run_one() {
	local name=$1 run=$2 dir=$state/run-$1-$2 rc=0 line wrap=() a
	local bargs=()
	scenario_args "$name"
	mkdir -p "$dir"
	quiet
	if [[ $profile != none ]]; then
		if [[ -n $callgrind ]]; then
			wrap=(valgrind --tool=callgrind --callgrind-out-file="$build/callgrind-$name.out")
		fi
		start_server "$profile" "$dir" "${wrap[@]}"
		bargs=(--port "$port" --cafile "$state/certs/ca.crt" --pid "$server_pid")
		if [[ -n $callgrind ]]; then
			bargs+=(--setup-timeout 600)
		fi
	fi
	for a in "${args[@]}"; do
		bargs+=("${a//@DB@/$dir/direct.db}")
	done
	bargs+=(--label "run$run" --json "$results")
	((smoke)) && bargs+=(--quiet)
	cmdline[$name]="${pin_client[*]} parley-bench ${args[*]} --port PORT --cafile ca.crt --pid PID"
	[[ $profile == none ]] && cmdline[$name]="${pin_client[*]} parley-bench ${args[*]//@DB@/direct.db}"
	if ((do_perf && run == 1)) && [[ $profile != none ]]; then
		perf record -q -g --call-graph dwarf,16384 -F 499 -p "$server_pid" \
		    -o "$build/perf-$name.data" >/dev/null 2>&1 &
		perf_pid=$!
		sleep 0.5
	fi
	line=$("${pin_client[@]}" "$BENCH" "${bargs[@]}" 2>"$dir/bench.log") || rc=$?
	if ((do_perf && run == 1)) && [[ $profile != none ]]; then
		kill -INT "$perf_pid" 2>/dev/null || true
		wait "$perf_pid" 2>/dev/null || true
		perf report -i "$build/perf-$name.data" --no-children \
		    --sort sym --stdio 2>/dev/null | grep -E '^ +[0-9]' |
		    head -n 40 >"$build/perf-$name.txt" || true
	fi
	[[ $profile != none ]] && stop_server
	printf '%s\t%s\n' "$name" "$line" >>"$state/lines"
	case $rc in
	0)
		printf '    %-17s run %d: %s%s\n' "$name" "$run" "$(summary "$name" "$line")" \
		    "$(o=$(kv "$line" other_cpu_pct); [[ -n $o ]] && echo " (other load ${o}%)")" >&2 ;;
	77) printf '    %-17s run %d: skipped (%s)\n' "$name" "$run" "$(kv "$line" reason)" >&2 ;;
	*)
		printf '    %-17s run %d: FAILED (exit %d): %s\n' "$name" "$run" "$rc" \
		    "$(kv "$line" error)" >&2
		tail -n 5 "$dir/bench.log" | sed 's/^/        /' >&2
		overall=1 ;;
	esac
}

# kv LINE KEY: the value of KEY in a key=value line.
kv() {
	local f
	for f in $1; do
		[[ ${f%%=*} == "$2" ]] && { printf '%s' "${f#*=}"; return 0; }
	done
	return 0
}

summary() {
	case $1 in
	fanout*) printf 'deliveries/s %s p99 %s us' "$(kv "$2" deliveries_per_s)" "$(kv "$2" lat_p99_us)" ;;
	pairs) printf 'msgs/s %s p99 %s us verify %s' "$(kv "$2" msgs_per_s)" "$(kv "$2" lat_p99_us)" "$(kv "$2" verify)" ;;
	idle*) printf '%s conns, %s KiB each, RSS %s KiB' "$(kv "$2" conns)" "$(kv "$2" rss_per_conn_kib)" "$(kv "$2" rss_idle_kib)" ;;
	connect*) printf 'connects/s %s per CPU-s %s ping p99 %s us' "$(kv "$2" connects_per_s)" "$(kv "$2" connects_per_cpu_s)" "$(kv "$2" ping_p99_us)" ;;
	store*) printf 'msgs/s %s' "$(kv "$2" msgs_per_s)" ;;
	esac
}

if [[ -n $callgrind ]]; then
	note "callgrind: one run of $callgrind under valgrind (slow)"
	duration=5
	run_one "$callgrind" 1
	note "profile: $build/callgrind-$callgrind.out (callgrind_annotate it)"
	callgrind_annotate "$build/callgrind-$callgrind.out" 2>/dev/null |
	    head -n 60 >"$build/callgrind-$callgrind.txt" || true
	exit $overall
fi

note "running ${#scenarios[@]} scenario(s), $runs run(s) each, ${duration} s windows"
for s in "${scenarios[@]}"; do
	for ((r = 1; r <= runs; r++)); do
		run_one "$s" "$r"
	done
done

# ---- medians and the table --------------------------------------------------------

# median NAME KEY: median over the runs of NAME (empty when absent).
median() {
	awk -F'\t' -v n="$1" -v k="$2" '
		$1 == n { m = split($2, f, " ");
			for (i = 1; i <= m; i++) { split(f[i], p, "=");
				if (p[1] == k && p[2] != "") v[c++] = p[2] + 0 } }
		END { if (c == 0) exit;
			for (i = 0; i < c; i++) for (j = i + 1; j < c; j++)
				if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
			x = (c % 2) ? v[int(c / 2)] : (v[c / 2 - 1] + v[c / 2]) / 2;
			printf "%.10g", x }' "$state/lines"
}

# allruns NAME KEY: the values of every run, comma-separated.
allruns() {
	awk -F'\t' -v n="$1" -v k="$2" '
		$1 == n { m = split($2, f, " ");
			for (i = 1; i <= m; i++) { split(f[i], p, "=");
				if (p[1] == k) { s = s (s == "" ? "" : ", ") p[2] } } }
		END { print s }' "$state/lines"
}

# status NAME: ok, skipped or failed over the runs.
status_of() {
	awk -F'\t' -v n="$1" '$1 == n { if ($2 ~ /result=ok/) o++;
		else if ($2 ~ /result=skipped/) s++; else f++ }
		END { if (f) print "failed"; else if (s) print "skipped"; else print "ok" }' "$state/lines"
}

fmt() { awk -v x="$1" -v d="${2:-0}" 'BEGIN { if (x == "") print "–"; else printf "%.*f", d, x }'; }
# meets VALUE OP TARGET -> yes/no
meets() {
	awk -v v="$1" -v op="$2" -v t="$3" 'BEGIN {
		if (v == "") { print "–"; exit }
		r = (op == ">=") ? v >= t : (op == "<=") ? v <= t : (op == "<") ? v < t : v > t;
		print r ? "yes" : "**no**" }'
}

table=$state/table.md
row() { printf '| %s | %s | %s | %s | %s | %s |\n' "$@" >>"$table"; }
{
	echo "| Scenario | Metric | Median | Runs | Target | Met |"
	echo "|---|---|---:|---|---|---|"
} >"$table"

for s in "${scenarios[@]}"; do
	st=$(status_of "$s")
	if [[ $st != ok ]]; then
		row "$s" "result" "$st" "" "" "**no**"
		continue
	fi
	case $s in
	fanout)
		v=$(median "$s" deliveries_per_s)
		row "fanout 1→100, full speed" "deliveries/s" "$(fmt "$v")" "$(allruns "$s" deliveries_per_s)" "≥ 720,000" "$(meets "$v" ">=" 720000)"
		v=$(median "$s" lat_p99_us)
		row "" "delivery p50 / p99 (µs)" "$(fmt "$(median "$s" lat_p50_us)") / $(fmt "$v")" "$(allruns "$s" lat_p99_us)" "" ""
		row "" "server CPU %" "$(fmt "$(median "$s" server_cpu_pct)")" "$(allruns "$s" server_cpu_pct)" "" "" ;;
	fanout-20k)
		v=$(median "$s" lat_p99_us)
		row "fanout 1→100 at 20k deliveries/s" "delivery p99 (µs)" "$(fmt "$v")" "$(allruns "$s" lat_p99_us)" "≤ 1,000" "$(meets "$v" "<=" 1000)"
		row "" "delivery p50 / max (µs)" "$(fmt "$(median "$s" lat_p50_us)") / $(fmt "$(median "$s" lat_max_us)")" "$(allruns "$s" lat_max_us)" "" ""
		row "" "server CPU %" "$(fmt "$(median "$s" server_cpu_pct)")" "$(allruns "$s" server_cpu_pct)" "" "" ;;
	pairs)
		v=$(median "$s" msgs_per_s)
		row "50 DM ping-pong pairs" "msgs/s" "$(fmt "$v")" "$(allruns "$s" msgs_per_s)" "≥ 90,000" "$(meets "$v" ">=" 90000)"
		v=$(median "$s" lat_p99_us)
		row "" "p99 (µs)" "$(fmt "$v")" "$(allruns "$s" lat_p99_us)" "≤ 2,000" "$(meets "$v" "<=" 2000)"
		row "" "commit check (HISTORY)" "$(allruns "$s" verify | tr -d ' ' | tr ',' '/')" "" "ok" "" ;;
	idle-10k)
		v=$(median "$s" rss_per_conn_kib)
		row "$(kv "$(grep -m1 "^$s" "$state/lines" | cut -f2)" conns) idle TLS sessions" "RSS KiB per connection" "$(fmt "$v" 2)" "$(allruns "$s" rss_per_conn_kib)" "≤ 12" "$(meets "$v" "<=" 12)"
		row "" "after one PING each (KiB/conn)" "$(fmt "$(median "$s" rss_per_conn_after_ping_kib)" 2)" "$(allruns "$s" rss_per_conn_after_ping_kib)" "" "" ;;
	idle-50k)
		n=$(kv "$(grep -m1 "^$s" "$state/lines" | cut -f2)" conns)
		v=$(median "$s" rss_idle_kib)
		row "$n idle TLS sessions" "server RSS (MiB)" "$(fmt "$(awk -v x="$v" 'BEGIN{print x/1024}')" 1)" "$(allruns "$s" rss_idle_kib) KiB" "< 1,024 at 50,000" "$( ((n >= 50000)) && meets "$v" "<" 1048576 || echo "n/a ($n)")"
		pc=$(median "$s" rss_per_conn_kib)
		base=$(median "$s" rss_base_kib)
		row "" "extrapolated to 50,000 (MiB)" "$(fmt "$(awk -v b="$base" -v p="$pc" 'BEGIN{print (b + p*50000)/1024}')" 1)" "" "< 1,024" "$(meets "$(awk -v b="$base" -v p="$pc" 'BEGIN{print (b + p*50000)/1024}')" "<" 1024)" ;;
	connect-password)
		v=$(median "$s" login_efficiency_pct)
		row "password-login storm (argon2 $(kv "$(grep -m1 "^$s" "$state/lines" | cut -f2)" pwhash_ops) ops, $(kv "$(grep -m1 "^$s" "$state/lines" | cut -f2)" pwhash_mem_kib) KiB)" "logins/s" "$(fmt "$(median "$s" connects_per_s)" 1)" "$(allruns "$s" connects_per_s)" "" ""
		row "" "% of cores ÷ verify time ($(fmt "$(median "$s" argon2_verify_ms)" 1) ms)" "$(fmt "$v" 1)" "$(allruns "$s" login_efficiency_pct)" "≥ 90" "$(meets "$v" ">=" 90)"
		v=$(median "$s" ping_p99_us)
		row "" "online users' PING p99 (ms)" "$(fmt "$(awk -v x="$v" 'BEGIN{print x/1000}')" 1)" "$(allruns "$s" ping_p99_us) µs" "< 50" "$(meets "$v" "<" 50000)" ;;
	connect-token)
		v=$(median "$s" connects_per_cpu_s)
		row "TLS connect + RESUME, full handshakes" "per server CPU-second" "$(fmt "$v")" "$(allruns "$s" connects_per_cpu_s)" "≥ 3,000" "$(meets "$v" ">=" 3000)"
		row "" "connects/s (server CPU %)" "$(fmt "$(median "$s" connects_per_s)") ($(fmt "$(median "$s" server_cpu_pct)")%)" "$(allruns "$s" connects_per_s)" "" "" ;;
	connect-resume)
		v=$(median "$s" connects_per_cpu_s)
		row "TLS connect + RESUME, resumed sessions" "per server CPU-second" "$(fmt "$v")" "$(allruns "$s" connects_per_cpu_s)" "≥ 6,000" "$(meets "$v" ">=" 6000)"
		row "" "connects/s (server CPU %), resumed %" "$(fmt "$(median "$s" connects_per_s)") ($(fmt "$(median "$s" server_cpu_pct)")%), $(fmt "$(median "$s" resumed_pct)")" "$(allruns "$s" connects_per_s)" "" "" ;;
	store)
		v=$(median "$s" msgs_per_s)
		row "store via SEND (50 senders, sync = normal)" "committed msgs/s" "$(fmt "$v")" "$(allruns "$s" msgs_per_s)" "≥ 100,000" "$(meets "$v" ">=" 100000)"
		row "" "SEND→OK p50 / p99 (µs)" "$(fmt "$(median "$s" ack_p50_us)") / $(fmt "$(median "$s" ack_p99_us)")" "$(allruns "$s" ack_p99_us)" "" "" ;;
	store-direct)
		v=$(median "$s" msgs_per_s)
		row "store module alone (256 per commit)" "committed msgs/s" "$(fmt "$v")" "$(allruns "$s" msgs_per_s)" "(reference)" "" ;;
	esac
done

if ((smoke)); then
	cut -f2 "$state/lines"
	exit $overall
fi
cat "$table" >&2

# ---- docs/PERFORMANCE.md -------------------------------------------------------------

if ((write_doc)); then
	doc=$top/docs/PERFORMANCE.md
	gitrev=$(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo unknown)
	if [[ -n $(git -C "$top" status --porcelain -- server common 2>/dev/null) ]]; then
		gitrev="$gitrev + uncommitted changes in server/ or common/"
	fi
	section=$state/section.md
	{
		echo "<!-- bench-results:begin (written by scripts/bench.sh; edit outside these markers) -->"
		echo "Measured $(date -u +%Y-%m-%d) on parley $("$PARLEYD" --version 2>/dev/null | awk '{print $2}') ($gitrev);"
		echo "medians of $runs runs of ${duration} s (after a 1 s warm-up), a fresh server per run."
		echo
		cat "$table"
		echo
		echo "CPU used by other programs during each window, in % of one core"
		echo "(other_cpu_pct; the kernel's own threads, which do the writeback for"
		echo "the server's fsyncs, are not counted): a high figure means that run"
		echo "was disturbed."
		echo
		for s in "${scenarios[@]}"; do
			o=$(allruns "$s" other_cpu_pct)
			[[ -n $o ]] && echo "- $s: $o"
		done
		echo
		echo "Machine and versions:"
		echo
		echo "- CPU: $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo), $ncpu cores;" \
		    "parleyd on core ${server_cpu}, parley-bench on core ${client_cpu} (taskset)"
		echo "- memory $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo);" \
		    "kernel $(uname -r); Debian $(cat /etc/debian_version 2>/dev/null || echo '?')"
		echo "- $(gcc --version | head -n1); CMake Release (-O3)"
		echo "- OpenSSL $(pkg-config --modversion openssl), libuv $(pkg-config --modversion libuv)," \
		    "SQLite $(pkg-config --modversion sqlite3), libsodium $(pkg-config --modversion libsodium)"
		echo "- descriptor limit $nofile per process$( ((idle_big < 50000)) && echo ": the 50,000-connection run was cut to $idle_big")"
		echo
		echo "Commands (PORT and PID: the fresh server's; one server per run):"
		echo
		echo '```'
		echo "scripts/bench.sh${orig_args:+ $orig_args}"
		echo "${pin_server[*]} parleyd -c parleyd.conf"
		for s in "${scenarios[@]}"; do
			echo "${cmdline[$s]}"
		done
		echo '```'
		echo
		echo "parleyd.conf (the \"cheap\" set-up; the password-login storm drops the [auth] lines):"
		echo
		echo '```ini'
		write_conf /dev/stdout parley.db cheap |
		    sed -e "s|$state/certs/|certs/|g"
		echo '```'
		echo "<!-- bench-results:end -->"
	} >"$section"
	mkdir -p "$top/docs"
	if [[ -f $doc ]] && grep -q '^<!-- bench-results:begin' "$doc" &&
	    grep -q '^<!-- bench-results:end' "$doc"; then
		awk -v f="$section" '
			/^<!-- bench-results:begin/ { while ((getline l < f) > 0) print l; skip = 1; next }
			/^<!-- bench-results:end/ { skip = 0; next }
			!skip' "$doc" >"$doc.tmp" && mv "$doc.tmp" "$doc"
	else
		{
			[[ -f $doc ]] && cat "$doc" || printf '# parley performance\n'
			printf '\n## Results\n\n'
			cat "$section"
		} >"$doc.tmp" && mv "$doc.tmp" "$doc"
	fi
	note "wrote the results into ${doc#"$top"/}"
fi
note "every run: $results"
exit $overall
}
