/*
 * cli: one command per run, for scripts.
 *
 * Every command parses and checks its arguments first, then connects and
 * logs in through session.c, sends its commands one at a time and waits
 * for each final line, so the exit code always reflects what the server
 * said: 0 for OK, 5 for ERR, 6 when the connection went away. Output is one
 * record per line with network text escaped (display.c) or as JSON
 * (record.c); errors go to stderr. While waiting on standard input, a PING
 * now and then keeps the server's idle timeout from closing the session.
 * listen, the one long-running command, lives in listen.c; the commands
 * about end-to-end keys and the token (keygen, fingerprint, trust,
 * logout) in cli_keys.c. send --e2e and history use keys.c to seal and
 * open end-to-end encrypted direct messages.
 */
#include "cli.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "creds.h"
#include "display.h"
#include "keys.h"
#include "line.h"
#include "msgq.h"
#include "names.h"
#include "record.h"
#include "utf8.h"

/* Retries of a SEND the server answered RATE_LIMITED or UNAVAILABLE. */
#define SEND_RETRIES        8
#define SEND_RETRY_FIRST_MS 50
#define SEND_RETRY_MAX_MS   2000

struct cli_cmd {
	const char *name;
	int (*run)(const struct session_opts *, int, char **);
	const char *synopsis;
	const char *what;
};

static int cmd_send(const struct session_opts *, int, char **);
static int cmd_history(const struct session_opts *, int, char **);
static int cmd_join(const struct session_opts *, int, char **);
static int cmd_leave(const struct session_opts *, int, char **);
static int cmd_rooms(const struct session_opts *, int, char **);
static int cmd_who(const struct session_opts *, int, char **);
static int cmd_whoami(const struct session_opts *, int, char **);

static const struct cli_cmd commands[] = {
	{ "send", cmd_send, "send [-v] [--e2e] TARGET TEXT...",
	    "send one message; TEXT '-' sends each line of stdin,\n"
	    "                     -v prints the ids, --e2e encrypts it end to "
	    "end\n                     (direct messages only)" },
	{ "listen", cli_listen,
	    "listen [--count N] [--json] [--join ROOM]... [--no-reconnect]",
	    "print incoming messages, one a line: ID TIME FROM TO\n"
	    "                     TEXT (or JSON); reconnects and catches up" },
	{ "history", cmd_history, "history TARGET [-n N] [--json]",
	    "print the last N messages (default 50, max 500)" },
	{ "join", cmd_join, "join ROOM", "join (or create) a room" },
	{ "leave", cmd_leave, "leave ROOM", "leave a room" },
	{ "rooms", cmd_rooms, "rooms", "list rooms: ROOM MEMBERS" },
	{ "who", cmd_who, "who ROOM", "list members: USER online|offline" },
	{ "whoami", cmd_whoami, "whoami", "print your user name and role" },
	{ "keygen", cli_keygen, "keygen [--force]",
	    "make your end-to-end key pair (kept, or replaced with\n"
	    "                     --force) and publish its public key" },
	{ "fingerprint", cli_fingerprint, "fingerprint [USER]",
	    "show the fingerprint of your key, or of USER's key" },
	{ "trust", cli_trust, "trust USER",
	    "accept USER's current end-to-end key after a change" },
	{ "logout", cli_logout, "logout",
	    "remove the stored login token for this account" },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

int
cli_usage_err(const char *cmd, const char *what)
{
	session_errorf("%s: %s (see parley --help)", cmd, what);
	return SESSION_EXIT_USAGE;
}

bool
cli_text_ok(const char *s, size_t len)
{
	return len > 0 && utf8_valid(s, len) && utf8_text_ok(s, len);
}

/* Normalise a user name or #room given on the command line. */
static int
parse_target(const char *cmd, const char *arg, char out[NAMES_ROOM_MAX + 1])
{
	int r;

	if (arg[0] == '#')
		r = names_room_norm(arg, strlen(arg), out);
	else
		r = names_user_norm(arg, strlen(arg), out);
	if (r != 0)
		return cli_usage_err(cmd, "the target must be a user name or a "
		    "#room");
	return SESSION_EXIT_OK;
}

int
cli_parse_room(const char *cmd, const char *arg, char out[NAMES_ROOM_MAX + 1])
{
	if (names_room_norm(arg, strlen(arg), out) != 0)
		return cli_usage_err(cmd, "expected a room name like #general");
	return SESSION_EXIT_OK;
}

int
cli_parse_count(const char *s, unsigned long long min, unsigned long long max,
    unsigned long long *out)
{
	char *end;

	if (s[0] < '0' || s[0] > '9')
		return -1;
	errno = 0;
	*out = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || *out < min || *out > max)
		return -1;
	return 0;
}

int
cli_output_done(void)
{
	if (fflush(stdout) == 0 && !ferror(stdout))
		return SESSION_EXIT_OK;
	if (errno != EPIPE)
		session_errorf("cannot write to standard output: %s",
		    strerror(errno));
	return SESSION_EXIT_USAGE;
}

static void
sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		continue;
}

/*
 * Connect and log in for one command: the password is asked for (or read
 * from stdin) once and wiped as soon as the server accepted it.
 */
int
cli_start(const struct session_opts *o, struct session **s)
{
	struct creds *cr;
	int rc;

	cr = creds_new(o, false);
	if (cr == NULL)
		return SESSION_EXIT_USAGE;
	rc = session_start(o, cr, NULL, NULL, s);
	creds_free(cr);
	return rc;
}

/*
 * Send a command line, wait for its final line and fail unless it is OK.
 * Data lines go to on_data. line and len may be NULL.
 */
static int
run_command(struct session *s, const char *what, session_line_cb *on_data,
    void *arg, char **line, size_t *len, const char *cmdline)
{
	char *l;
	size_t n;
	int rc;

	rc = session_send(s, cmdline, strlen(cmdline));
	if (rc != SESSION_EXIT_OK)
		return rc;
	rc = session_await(s, on_data, arg, &l, &n);
	if (rc != SESSION_EXIT_OK)
		return rc;
	if (!proto_keyword_is(l, n, "OK")) {
		proto_report_err(what, l, n);
		return SESSION_EXIT_REFUSED;
	}
	if (line != NULL) {
		*line = l;
		*len = n;
	}
	return SESSION_EXIT_OK;
}

/* Close politely; a failure after the work is done does not change rc. */
int
cli_finish(struct session *s, int rc)
{
	if (rc == SESSION_EXIT_OK || rc == SESSION_EXIT_REFUSED ||
	    rc == SESSION_EXIT_KEY_CHANGED)
		(void)session_quit(s);
	session_free(s);
	if (rc == SESSION_EXIT_OK)
		rc = cli_output_done();
	else
		fflush(stdout);
	return rc;
}

/* ---- send ----------------------------------------------------------- */

/*
 * Send one message and wait for OK SEND (retrying when the server says
 * "not now"). With keys, text is sealed for target first.
 */
static int
send_one(struct session *s, const char *target, const char *text,
    size_t len, bool verbose, struct keys *keys)
{
	struct line_cursor c;
	char *line, tok[32], *env = NULL, why[256];
	size_t llen, n;
	int rc, tries, delay = SEND_RETRY_FIRST_MS;

	if (keys != NULL) {
		rc = keys_seal(keys, target, text, len, &env, &len, why,
		    sizeof(why));
		if (rc != SESSION_EXIT_OK) {
			session_errorf("not sent: %s", why);
			return rc;
		}
		text = env;
	}
	rc = SESSION_EXIT_OK;
	for (tries = 0;; tries++) {
		rc = session_sendf(s, "SEND %s %.*s", target, (int)len, text);
		if (rc != SESSION_EXIT_OK)
			break;
		rc = session_await(s, NULL, NULL, &line, &llen);
		if (rc != SESSION_EXIT_OK)
			break;
		if (proto_keyword_is(line, llen, "OK"))
			break;
		/* "Nothing was done; the client may retry" (SPEC §2). */
		if (tries < SEND_RETRIES &&
		    (proto_keyword_is(line, llen, "ERR RATE_LIMITED") ||
		    proto_keyword_is(line, llen, "ERR UNAVAILABLE"))) {
			sleep_ms(delay);
			delay = delay * 2 > SEND_RETRY_MAX_MS ?
			    SEND_RETRY_MAX_MS : delay * 2;
			continue;
		}
		proto_report_err("send failed", line, llen);
		rc = SESSION_EXIT_REFUSED;
		break;
	}
	free(env);
	if (rc != SESSION_EXIT_OK)
		return rc;
	if (verbose) {
		line_cursor_init(&c, line, llen);
		if (line_token(&c, tok, sizeof(tok), &n) == 1 &&
		    line_token(&c, tok, sizeof(tok), &n) == 1 &&
		    line_token(&c, tok, sizeof(tok), &n) == 1) {
			display_put(stdout, tok, n);
			fputc('\n', stdout);
			fflush(stdout);
		}
	}
	return SESSION_EXIT_OK;
}

int
cli_ping(struct session *s)
{
	char *line;
	size_t len;
	int rc;

	rc = session_sendf(s, "PING");
	if (rc != SESSION_EXIT_OK)
		return rc;
	return session_await(s, NULL, NULL, &line, &len);
}

int
cli_wait_input(struct session *s, int fd, bool *ready)
{
	struct pollfd p[2];
	int timeout, n;

	*ready = false;
	timeout = SESSION_KEEPALIVE_MS - session_idle_ms(s);
	if (timeout <= 0)
		return cli_ping(s);
	p[0].fd = session_fd(s);
	p[0].events = POLLIN;
	p[1].fd = fd;
	p[1].events = POLLIN;
	p[1].revents = 0;
	n = poll(p, fd >= 0 ? 2 : 1, timeout);
	if (n < 0 && errno != EINTR) {
		session_errorf("poll: %s", strerror(errno));
		return SESSION_EXIT_LOST;
	}
	*ready = n > 0 && fd >= 0 && p[1].revents != 0;
	return SESSION_EXIT_OK;
}

/* TEXT '-': one message per line of standard input. */
static int
send_stdin(struct session *s, const char *target, bool verbose,
    struct keys *keys)
{
	struct line_framer in;
	enum line_status st;
	bool eof = false, ready;
	uint8_t *p;
	size_t avail, len;
	char *line;
	ssize_t n;
	int rc = SESSION_EXIT_OK;

	line_init(&in, LINE_MAX_DEFAULT);
	for (;;) {
		while ((st = line_next(&in, &line, &len)) != LINE_NEED_MORE) {
			if (st == LINE_TOO_LONG) {
				session_errorf("send: an input line is longer "
				    "than %d bytes", LINE_MAX_DEFAULT - 1);
				rc = SESSION_EXIT_USAGE;
				goto out;
			}
			if (st != LINE_OK || !cli_text_ok(line, len)) {
				session_errorf("send: input must be UTF-8 text "
				    "without control characters");
				rc = SESSION_EXIT_USAGE;
				goto out;
			}
			rc = send_one(s, target, line, len, verbose, keys);
			if (rc != SESSION_EXIT_OK)
				goto out;
		}
		if (eof)
			break;
		rc = session_pump(s, NULL, NULL);
		if (rc != SESSION_EXIT_OK)
			goto out;
		rc = cli_wait_input(s, STDIN_FILENO, &ready);
		if (rc != SESSION_EXIT_OK)
			goto out;
		if (!ready)
			continue;
		p = line_wptr(&in, &avail);
		if (p == NULL) {
			session_errorf("out of memory");
			rc = SESSION_EXIT_USAGE;
			goto out;
		}
		n = read(STDIN_FILENO, p, avail);
		if (n > 0) {
			line_produced(&in, (size_t)n);
		} else if (n == 0) {
			/* End the last line if it has no LF. */
			eof = true;
			p[0] = '\n';
			line_produced(&in, 1);
		} else if (errno != EINTR && errno != EAGAIN) {
			session_errorf("cannot read stdin: %s",
			    strerror(errno));
			rc = SESSION_EXIT_USAGE;
			goto out;
		}
	}
out:
	line_free(&in);
	return rc;
}

/*
 * send --e2e: the own key pair must exist before anything is sent, and
 * the recipient's key is fetched (and checked against known_keys) once.
 */
static int
e2e_prepare(const struct session_opts *o, const char *target,
    struct keys **keys)
{
	int r;

	if (target[0] == '#')
		return cli_usage_err("send", "--e2e encrypts direct messages "
		    "only; rooms are not end-to-end encrypted");
	*keys = keys_new(o, NULL, NULL);
	if (*keys == NULL)
		return SESSION_EXIT_USAGE;
	r = keys_own_load(*keys);
	if (r == 1)
		session_errorf("no key pair for %s: make one with parley "
		    "keygen", keys_account(*keys));
	return r == 0 ? SESSION_EXIT_OK : SESSION_EXIT_USAGE;
}

static int
cmd_send(const struct session_opts *o, int argc, char **argv)
{
	char target[NAMES_ROOM_MAX + 1], *text = NULL;
	struct session *s;
	struct keys *keys = NULL;
	bool verbose = false, from_stdin = false, e2e = false;
	size_t len = 0, l;
	int i = 1, j, rc;

	for (; i < argc && argv[i][0] == '-' && argv[i][1] != '\0'; i++) {
		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		}
		if (strcmp(argv[i], "-v") == 0 ||
		    strcmp(argv[i], "--verbose") == 0)
			verbose = true;
		else if (strcmp(argv[i], "--e2e") == 0)
			e2e = true;
		else
			return cli_usage_err("send", "unknown option");
	}
	if (i >= argc)
		return cli_usage_err("send", "missing TARGET");
	if ((rc = parse_target("send", argv[i], target)) != SESSION_EXIT_OK)
		return rc;
	i++;
	if (i >= argc)
		return cli_usage_err("send", "missing TEXT");
	if (argc - i == 1 && strcmp(argv[i], "-") == 0) {
		from_stdin = true;
	} else {
		for (j = i; j < argc; j++)
			len += strlen(argv[j]) + 1;
		text = malloc(len);
		if (text == NULL) {
			session_errorf("out of memory");
			return SESSION_EXIT_USAGE;
		}
		for (len = 0, j = i; j < argc; j++) {
			if (j > i)
				text[len++] = ' ';
			l = strlen(argv[j]);
			memcpy(text + len, argv[j], l);
			len += l;
		}
		if (!cli_text_ok(text, len)) {
			free(text);
			return cli_usage_err("send", "TEXT must be non-empty UTF-8 "
			    "without control characters");
		}
	}
	if (e2e && (rc = e2e_prepare(o, target, &keys)) != SESSION_EXIT_OK)
		goto out;

	rc = cli_start(o, &s);
	if (rc != SESSION_EXIT_OK)
		goto out;
	if (keys != NULL)
		rc = keys_fetch(keys, s, target);
	if (rc == SESSION_EXIT_OK && from_stdin)
		rc = send_stdin(s, target, verbose, keys);
	else if (rc == SESSION_EXIT_OK)
		rc = send_one(s, target, text, len, verbose, keys);
	rc = cli_finish(s, rc);
out:
	keys_free(keys);
	free(text);
	return rc;
}

/* ---- history and the small commands -------------------------------- */

/* HIST lines are kept until the answer is complete (keys come after). */
static void
history_line(void *arg, const char *line, size_t len)
{
	struct msgq *q = arg;
	struct proto_msg m;
	char esc[256];

	if (!proto_keyword_is(line, len, "HIST"))
		return;
	if (proto_parse_msg(line, len, &m) != 0) {
		display_escape(esc, sizeof(esc), line, len);
		session_errorf("ignoring a malformed line from the server: %s",
		    esc);
		return;
	}
	if (msgq_push(q, &m, 0) != 0)
		session_errorf("out of memory: a history line is not shown");
}

/* Print the kept lines, opening envelopes (fetching keys as needed). */
static int
history_print(struct session *s, const struct session_opts *o,
    struct msgq *q, bool json)
{
	struct keys_opened op;
	struct msgq_item *it;
	struct keys *keys;
	int rc = SESSION_EXIT_OK;

	keys = keys_new(o, NULL, NULL);
	while ((it = msgq_head(q)) != NULL) {
		if (keys != NULL && keys_open(keys, &it->m,
		    rc != SESSION_EXIT_OK, &op) == KEYS_OPEN_FETCH) {
			rc = keys_fetch(keys, s, keys_msg_peer(keys, &it->m));
			continue;
		}
		record_print(stdout, &it->m, keys != NULL ? &op : NULL, json);
		if (keys != NULL)
			keys_opened_clear(&op);
		msgq_pop(q);
	}
	keys_free(keys);
	return rc;
}

static int
cmd_history(const struct session_opts *o, int argc, char **argv)
{
	char target[NAMES_ROOM_MAX + 1], cmd[NAMES_ROOM_MAX + 40];
	unsigned long long n = HISTORY_LIMIT_DEFAULT;
	struct msgq q;
	struct session *s;
	bool have_target = false, json = false;
	int i, rc;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			json = true;
		} else if (strcmp(argv[i], "-n") == 0 ||
		    strcmp(argv[i], "--limit") == 0) {
			if (++i >= argc || cli_parse_count(argv[i], 1,
			    HISTORY_LIMIT_MAX, &n) != 0)
				return cli_usage_err("history", "-n needs a number "
				    "from 1 to 500");
		} else if (!have_target) {
			rc = parse_target("history", argv[i], target);
			if (rc != SESSION_EXIT_OK)
				return rc;
			have_target = true;
		} else {
			return cli_usage_err("history", "usage: history TARGET "
			    "[-n N] [--json]");
		}
	}
	if (!have_target)
		return cli_usage_err("history", "missing TARGET");
	snprintf(cmd, sizeof(cmd), "HISTORY %s %llu", target, n);

	rc = cli_start(o, &s);
	if (rc != SESSION_EXIT_OK)
		return rc;
	msgq_init(&q);
	rc = run_command(s, "history failed", history_line, &q, NULL, NULL,
	    cmd);
	if (rc == SESSION_EXIT_OK)
		rc = history_print(s, o, &q, json);
	msgq_clear(&q);
	return cli_finish(s, rc);
}

/* Data lines "KEYWORD a b c": print the fields after skip tokens. */
static void
fields_line(void *arg, const char *line, size_t len)
{
	const char *kw = arg;
	size_t k = strlen(kw);

	if (!proto_keyword_is(line, len, kw) || len <= k + 1)
		return;
	line += k + 1;
	len -= k + 1;
	/* MEMBER lines repeat the room: drop it. */
	if (strcmp(kw, "MEMBER") == 0) {
		const char *sp = memchr(line, ' ', len);

		if (sp == NULL)
			return;
		len -= (size_t)(sp + 1 - line);
		line = sp + 1;
	}
	display_put(stdout, line, len);
	fputc('\n', stdout);
}

/* Connect, run one command line, print its data lines, close. */
static int
simple(const struct session_opts *o, const char *what, const char *cmdline,
    session_line_cb *on_data, const char *kw, bool print_final)
{
	struct session *s;
	struct line_cursor c;
	char *line, tok[8];
	size_t len, n;
	const char *rest;
	int rc;

	rc = cli_start(o, &s);
	if (rc != SESSION_EXIT_OK)
		return rc;
	/* The callback only reads kw; the cast drops const for void *. */
	rc = run_command(s, what, on_data, (void *)(uintptr_t)kw, &line, &len,
	    cmdline);
	if (rc == SESSION_EXIT_OK && print_final) {
		/* "OK WHOAMI user role" → "user role" */
		line_cursor_init(&c, line, len);
		if (line_token(&c, tok, sizeof(tok), &n) == 1 &&
		    line_token(&c, tok, sizeof(tok), &n) == 1 &&
		    line_rest(&c, &rest, &n) == 1) {
			display_put(stdout, rest, n);
			fputc('\n', stdout);
		}
	}
	return cli_finish(s, rc);
}

static int
cmd_join(const struct session_opts *o, int argc, char **argv)
{
	char room[NAMES_ROOM_MAX + 1], cmd[NAMES_ROOM_MAX + 8];
	int rc;

	if (argc != 2)
		return cli_usage_err("join", "usage: join ROOM");
	if ((rc = cli_parse_room("join", argv[1], room)) != SESSION_EXIT_OK)
		return rc;
	snprintf(cmd, sizeof(cmd), "JOIN %s", room);
	return simple(o, "join failed", cmd, NULL, NULL, false);
}

static int
cmd_leave(const struct session_opts *o, int argc, char **argv)
{
	char room[NAMES_ROOM_MAX + 1], cmd[NAMES_ROOM_MAX + 8];
	int rc;

	if (argc != 2)
		return cli_usage_err("leave", "usage: leave ROOM");
	if ((rc = cli_parse_room("leave", argv[1], room)) != SESSION_EXIT_OK)
		return rc;
	snprintf(cmd, sizeof(cmd), "LEAVE %s", room);
	return simple(o, "leave failed", cmd, NULL, NULL, false);
}

static int
cmd_rooms(const struct session_opts *o, int argc, char **argv)
{
	(void)argv;
	if (argc != 1)
		return cli_usage_err("rooms", "usage: rooms");
	return simple(o, "rooms failed", "ROOMS", fields_line, "ROOM", false);
}

static int
cmd_who(const struct session_opts *o, int argc, char **argv)
{
	char room[NAMES_ROOM_MAX + 1], cmd[NAMES_ROOM_MAX + 8];
	int rc;

	if (argc != 2)
		return cli_usage_err("who", "usage: who ROOM");
	if ((rc = cli_parse_room("who", argv[1], room)) != SESSION_EXIT_OK)
		return rc;
	snprintf(cmd, sizeof(cmd), "WHO %s", room);
	return simple(o, "who failed", cmd, fields_line, "MEMBER", false);
}

static int
cmd_whoami(const struct session_opts *o, int argc, char **argv)
{
	(void)argv;
	if (argc != 1)
		return cli_usage_err("whoami", "usage: whoami");
	return simple(o, "whoami failed", "WHOAMI", NULL, NULL, true);
}

/* ---- dispatch ------------------------------------------------------- */

bool
cli_known(const char *cmd)
{
	size_t i;

	for (i = 0; i < NCOMMANDS; i++)
		if (strcmp(cmd, commands[i].name) == 0)
			return true;
	return false;
}

void
cli_usage(FILE *f)
{
	size_t i;

	for (i = 0; i < NCOMMANDS; i++) {
		if (strlen(commands[i].synopsis) <= 18)
			fprintf(f, "  %-18s %s\n", commands[i].synopsis,
			    commands[i].what);
		else
			fprintf(f, "  %s\n%21s%s\n", commands[i].synopsis, "",
			    commands[i].what);
	}
}

int
cli_main(const struct session_opts *o, int argc, char **argv)
{
	size_t i;

	for (i = 0; i < NCOMMANDS; i++)
		if (strcmp(argv[0], commands[i].name) == 0)
			return commands[i].run(o, argc, argv);
	session_errorf("unknown command '%s' (see parley --help)", argv[0]);
	return SESSION_EXIT_USAGE;
}
