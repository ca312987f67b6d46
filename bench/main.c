/*
 * parley-bench: load generator and measuring tool for parleyd.
 *
 *   parley-bench SCENARIO [options]
 *
 * Parses the options, raises the descriptor limit, runs one scenario and
 * prints its report. The server is started by the caller (see
 * scripts/bench.sh); this program only connects to it over loopback TLS
 * and, given --pid, reads its CPU time and memory from /proc.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "bench.h"
#include "pwhash.h"

static const struct {
	const char *name;
	int (*run)(const struct bench_opts *o, struct report *r);
	const char *what;
} scenarios[] = {
	{ "fanout", scn_fanout, "one sender, a room of receivers: deliveries/s and latency" },
	{ "pairs", scn_pairs, "ping-pong pairs of direct messages: msgs/s and latency" },
	{ "idle", scn_idle, "many idle logged-in connections: server RSS per connection" },
	{ "connect", scn_connect, "reconnect storm (--mode password|token|resume) per server CPU-second" },
	{ "store", scn_store, "committed SENDs/s (or --direct: the store without the server)" },
};

static void
usage(FILE *f)
{
	size_t i;

	fprintf(f,
"usage: parley-bench SCENARIO [options]\n"
"\n"
"Scenarios:\n");
	for (i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
		fprintf(f, "  %-8s %s\n", scenarios[i].name, scenarios[i].what);
	fprintf(f,
"\n"
"Server and clients:\n"
"  --host ADDR           server address in 127.0.0.0/8 (127.0.0.1)\n"
"  --port N              server port (7667)\n"
"  --cafile FILE         CA certificate that signed the server's (required)\n"
"  --servername NAME     name to verify and send as SNI (localhost)\n"
"  --src ADDR            first client source address (127.0.0.2)\n"
"  --src-count N         spread clients over N source addresses (16; 0: any)\n"
"  --users N             accounts PREFIX0..PREFIX(N-1) exist (128)\n"
"  --user-prefix P       (bench)\n"
"  --password PW         their password (parley-bench-password)\n"
"  --pid PID             the server's pid: report its CPU time and RSS\n"
"\n"
"Load:\n"
"  --duration S          measuring window in seconds (10)\n"
"  --warmup S            load before measuring (1)\n"
"  --conns N             idle: connections (1000)\n"
"  --receivers N         fanout: room members receiving (100)\n"
"  --senders N           fanout: senders (1); store: connections (50)\n"
"  --pairs N             pairs: ping-pong pairs (50)\n"
"  --inflight N          pairs: messages in flight per pair (1)\n"
"  --window N            unacknowledged SENDs per sender (fanout 32, store 16)\n"
"  --rate R              fanout: deliveries/s (0: as fast as possible)\n"
"  --size N              message text bytes (64, at least 40)\n"
"  --mode M              connect: password, token or resume (password)\n"
"  --storm N             connect: connections reconnecting at once\n"
"                        (8 for password, 32 otherwise)\n"
"  --pingers N           connect: logged-in users sending PING (10)\n"
"  --ping-interval S     connect: seconds between their PINGs (0.1)\n"
"  --count N             connect: stop after N connects (no limit)\n"
"  --pwhash-ops N        connect password: the server's argon2 ops (2)\n"
"  --pwhash-mem-kib N    ... and memory (65536), to time one verify\n"
"  --direct DB           store: append to DB with the store module, no server\n"
"  --batch N             store --direct: messages per transaction (256)\n"
"  --sync normal|full    store --direct: synchronous mode (normal)\n"
"  --no-verify           pairs: skip the HISTORY check of the last commits\n"
"\n"
"Set-up and output:\n"
"  --parallel N          connections connecting or logging in at once (256)\n"
"  --auth-window N       logins in flight at once (24)\n"
"  --setup-timeout S     bound on connecting and logging in (300)\n"
"  --settle S            idle: wait before sampling RSS (2)\n"
"  --json FILE           append the report as a JSON line to FILE\n"
"  --label TEXT          copied into the report\n"
"  --quiet               no progress messages\n"
"\n"
"Prints one key=value line. Exit status: 0 ok, 1 failed, 2 usage, 77 the\n"
"server does not support what the scenario needs (skipped).\n");
}

static int
parse_uint(const char *opt, const char *s, unsigned long lo, unsigned long hi,
    unsigned long *out)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *s == '\0' || *s == '-' || *end != '\0' || v < lo ||
	    v > hi) {
		bench_err("%s: expected a whole number from %lu to %lu, got '%s'",
		    opt, lo, hi, s);
		return -1;
	}
	*out = v;
	return 0;
}

static int
parse_secs(const char *opt, const char *s, double lo, double hi, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || *s == '\0' || *end != '\0' || !(v >= lo && v <= hi)) {
		bench_err("%s: expected a number from %g to %g, got '%s'", opt,
		    lo, hi, s);
		return -1;
	}
	*out = v;
	return 0;
}

static int
parse_loopback(const char *opt, const char *s, uint32_t *out)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1 || (ntohl(a.s_addr) >> 24) != 127) {
		bench_err("%s: expected an IPv4 address in 127.0.0.0/8, got '%s'",
		    opt, s);
		return -1;
	}
	*out = ntohl(a.s_addr);
	return 0;
}

/* Room for many connections: as many descriptors as we may have. */
static void
raise_nofile(unsigned want)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= want)
		return;
	rl.rlim_cur = want;
	if (rl.rlim_max < want)
		rl.rlim_max = want;     /* allowed for root only */
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
		getrlimit(RLIMIT_NOFILE, &rl);
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

enum {
	O_HOST = 256, O_PORT, O_CAFILE, O_SERVERNAME, O_SRC, O_SRC_COUNT,
	O_USERS, O_PREFIX, O_PASSWORD, O_PID, O_DURATION, O_WARMUP, O_CONNS,
	O_RECEIVERS, O_SENDERS, O_PAIRS, O_INFLIGHT, O_WINDOW, O_RATE, O_SIZE,
	O_MODE, O_STORM, O_PINGERS, O_PING_INTERVAL, O_COUNT, O_PW_OPS, O_PW_MEM,
	O_DIRECT, O_BATCH, O_SYNC, O_NO_VERIFY, O_PARALLEL, O_AUTH_WINDOW,
	O_SETUP_TIMEOUT, O_SETTLE, O_JSON, O_LABEL, O_QUIET, O_HELP,
};

static const struct option longopts[] = {
	{ "host", required_argument, NULL, O_HOST },
	{ "port", required_argument, NULL, O_PORT },
	{ "cafile", required_argument, NULL, O_CAFILE },
	{ "servername", required_argument, NULL, O_SERVERNAME },
	{ "src", required_argument, NULL, O_SRC },
	{ "src-count", required_argument, NULL, O_SRC_COUNT },
	{ "users", required_argument, NULL, O_USERS },
	{ "user-prefix", required_argument, NULL, O_PREFIX },
	{ "password", required_argument, NULL, O_PASSWORD },
	{ "pid", required_argument, NULL, O_PID },
	{ "duration", required_argument, NULL, O_DURATION },
	{ "warmup", required_argument, NULL, O_WARMUP },
	{ "conns", required_argument, NULL, O_CONNS },
	{ "receivers", required_argument, NULL, O_RECEIVERS },
	{ "senders", required_argument, NULL, O_SENDERS },
	{ "pairs", required_argument, NULL, O_PAIRS },
	{ "inflight", required_argument, NULL, O_INFLIGHT },
	{ "window", required_argument, NULL, O_WINDOW },
	{ "rate", required_argument, NULL, O_RATE },
	{ "size", required_argument, NULL, O_SIZE },
	{ "mode", required_argument, NULL, O_MODE },
	{ "storm", required_argument, NULL, O_STORM },
	{ "pingers", required_argument, NULL, O_PINGERS },
	{ "ping-interval", required_argument, NULL, O_PING_INTERVAL },
	{ "count", required_argument, NULL, O_COUNT },
	{ "pwhash-ops", required_argument, NULL, O_PW_OPS },
	{ "pwhash-mem-kib", required_argument, NULL, O_PW_MEM },
	{ "direct", required_argument, NULL, O_DIRECT },
	{ "batch", required_argument, NULL, O_BATCH },
	{ "sync", required_argument, NULL, O_SYNC },
	{ "no-verify", no_argument, NULL, O_NO_VERIFY },
	{ "parallel", required_argument, NULL, O_PARALLEL },
	{ "auth-window", required_argument, NULL, O_AUTH_WINDOW },
	{ "setup-timeout", required_argument, NULL, O_SETUP_TIMEOUT },
	{ "settle", required_argument, NULL, O_SETTLE },
	{ "json", required_argument, NULL, O_JSON },
	{ "label", required_argument, NULL, O_LABEL },
	{ "quiet", no_argument, NULL, O_QUIET },
	{ "help", no_argument, NULL, O_HELP },
	{ NULL, 0, NULL, 0 },
};

static int
parse_opts(int argc, char **argv, struct bench_opts *o)
{
	unsigned long v;
	int ch;

	memset(o, 0, sizeof(*o));
	o->host = "127.0.0.1";
	o->port = 7667;
	o->servername = "localhost";
	o->src_first = (127u << 24) | 2;
	o->src_count = 16;
	o->user_prefix = "bench";
	o->users = 128;
	o->password = "parley-bench-password";
	o->conns = 1000;
	o->receivers = 100;
	o->pairs = 50;
	o->inflight = 1;
	o->size = 64;
	o->duration = 10;
	o->warmup = 1;
	o->setup_timeout = 300;
	o->settle = 2;
	o->parallel = 256;
	o->auth_window = 24;
	o->pingers = 10;
	o->ping_interval = 0.1;
	o->pwhash_ops = 2;
	o->pwhash_mem_kib = 65536;
	o->batch = 256;
	o->verify = true;
	o->mode = "password";

	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case O_HOST: o->host = optarg; break;
		case O_PORT:
			if (parse_uint("--port", optarg, 1, 65535, &v) < 0)
				return -1;
			o->port = (unsigned)v;
			break;
		case O_CAFILE: o->cafile = optarg; break;
		case O_SERVERNAME: o->servername = optarg; break;
		case O_SRC:
			if (parse_loopback("--src", optarg, &o->src_first) < 0)
				return -1;
			break;
		case O_SRC_COUNT:
			if (parse_uint("--src-count", optarg, 0, 65535, &v) < 0)
				return -1;
			o->src_count = (unsigned)v;
			break;
		case O_USERS:
			if (parse_uint("--users", optarg, 1, 1000000, &v) < 0)
				return -1;
			o->users = (unsigned)v;
			break;
		case O_PREFIX: o->user_prefix = optarg; break;
		case O_PASSWORD: o->password = optarg; break;
		case O_PID:
			if (parse_uint("--pid", optarg, 1, 1u << 30, &v) < 0)
				return -1;
			o->pid = (pid_t)v;
			break;
		case O_DURATION:
			if (parse_secs("--duration", optarg, 0.1, 3600,
			    &o->duration) < 0)
				return -1;
			break;
		case O_WARMUP:
			if (parse_secs("--warmup", optarg, 0, 600, &o->warmup) < 0)
				return -1;
			break;
		case O_CONNS:
			if (parse_uint("--conns", optarg, 1, 1000000, &v) < 0)
				return -1;
			o->conns = (unsigned)v;
			break;
		case O_RECEIVERS:
			if (parse_uint("--receivers", optarg, 1, 100000, &v) < 0)
				return -1;
			o->receivers = (unsigned)v;
			break;
		case O_SENDERS:
			if (parse_uint("--senders", optarg, 1, 100000, &v) < 0)
				return -1;
			o->senders = (unsigned)v;
			break;
		case O_PAIRS:
			if (parse_uint("--pairs", optarg, 1, 100000, &v) < 0)
				return -1;
			o->pairs = (unsigned)v;
			break;
		case O_INFLIGHT:
			if (parse_uint("--inflight", optarg, 1, 1024, &v) < 0)
				return -1;
			o->inflight = (unsigned)v;
			break;
		case O_WINDOW:
			if (parse_uint("--window", optarg, 1, 65536, &v) < 0)
				return -1;
			o->window = (unsigned)v;
			break;
		case O_RATE:
			if (parse_secs("--rate", optarg, 0, 1e9, &o->rate) < 0)
				return -1;
			break;
		case O_SIZE:
			if (parse_uint("--size", optarg, 40, 8000, &v) < 0)
				return -1;
			o->size = (unsigned)v;
			break;
		case O_MODE: o->mode = optarg; break;
		case O_STORM:
			if (parse_uint("--storm", optarg, 1, 100000, &v) < 0)
				return -1;
			o->storm = (unsigned)v;
			break;
		case O_PINGERS:
			if (parse_uint("--pingers", optarg, 0, 10000, &v) < 0)
				return -1;
			o->pingers = (unsigned)v;
			break;
		case O_PING_INTERVAL:
			if (parse_secs("--ping-interval", optarg, 0.001, 60,
			    &o->ping_interval) < 0)
				return -1;
			break;
		case O_COUNT:
			if (parse_uint("--count", optarg, 1, 1000000000, &v) < 0)
				return -1;
			o->max_count = v;
			break;
		case O_PW_OPS:
			if (parse_uint("--pwhash-ops", optarg, 1, 64, &v) < 0)
				return -1;
			o->pwhash_ops = v;
			break;
		case O_PW_MEM:
			if (parse_uint("--pwhash-mem-kib", optarg, 8,
			    4UL * 1024 * 1024, &v) < 0)
				return -1;
			o->pwhash_mem_kib = v;
			break;
		case O_DIRECT: o->direct = optarg; break;
		case O_BATCH:
			if (parse_uint("--batch", optarg, 1, 100000, &v) < 0)
				return -1;
			o->batch = (unsigned)v;
			break;
		case O_SYNC:
			if (strcmp(optarg, "full") == 0) {
				o->sync_full = true;
			} else if (strcmp(optarg, "normal") == 0) {
				o->sync_full = false;
			} else {
				bench_err("--sync: expected normal or full");
				return -1;
			}
			break;
		case O_NO_VERIFY: o->verify = false; break;
		case O_PARALLEL:
			if (parse_uint("--parallel", optarg, 1, 100000, &v) < 0)
				return -1;
			o->parallel = (unsigned)v;
			break;
		case O_AUTH_WINDOW:
			if (parse_uint("--auth-window", optarg, 1, 100000, &v) < 0)
				return -1;
			o->auth_window = (unsigned)v;
			break;
		case O_SETUP_TIMEOUT:
			if (parse_secs("--setup-timeout", optarg, 1, 3600,
			    &o->setup_timeout) < 0)
				return -1;
			break;
		case O_SETTLE:
			if (parse_secs("--settle", optarg, 0, 600, &o->settle) < 0)
				return -1;
			break;
		case O_JSON: o->json = optarg; break;
		case O_LABEL: o->label = optarg; break;
		case O_QUIET: o->quiet = true; break;
		case O_HELP:
		case 'h':
			usage(stdout);
			exit(BENCH_EXIT_OK);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind != argc - 1) {
		bench_err(optind >= argc ? "no scenario given" :
		    "one scenario, and options only");
		usage(stderr);
		return -1;
	}
	o->scenario = argv[optind];
	if (o->cafile == NULL && o->direct == NULL) {
		bench_err("--cafile is required (the CA of the server's "
		    "certificate)");
		return -1;
	}
	if (o->src_count > 0 &&
	    ((o->src_first + o->src_count - 1) >> 24) != 127) {
		bench_err("--src/--src-count leave 127.0.0.0/8");
		return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct bench_opts o;
	struct report r;
	size_t i;
	int rc;

	if (parse_opts(argc, argv, &o) != 0)
		return BENCH_EXIT_USAGE;
	for (i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
		if (strcmp(scenarios[i].name, o.scenario) == 0)
			break;
	if (i == sizeof(scenarios) / sizeof(scenarios[0])) {
		bench_err("unknown scenario '%s'", o.scenario);
		usage(stderr);
		return BENCH_EXIT_USAGE;
	}
	signal(SIGPIPE, SIG_IGN);
	if (pwhash_init() != 0) {
		bench_err("cannot initialise libsodium");
		return BENCH_EXIT_FAIL;
	}
	raise_nofile((o.conns > o.users ? o.conns : o.users) + 4096);

	report_init(&r, o.scenario);
	if (o.label != NULL)
		report_str(&r, "label", "%s", o.label);
	rc = scenarios[i].run(&o, &r);
	switch (rc) {
	case BENCH_EXIT_OK:
		break;
	case BENCH_EXIT_SKIP:
		report_str(&r, "result", "skipped");
		break;
	default:
		report_str(&r, "result", "fail");
		break;
	}
	if (report_emit(&r, o.json) != 0 && rc == BENCH_EXIT_OK)
		rc = BENCH_EXIT_FAIL;
	return rc;
}
