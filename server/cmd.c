/*
 * cmd: the command table and one handler per command (SPEC §3).
 *
 * Handlers parse their arguments with the line tokenizer and either answer
 * at once or start a job (store, hash) and hold the connection busy until
 * the job answers. Argument errors are reported before anything is done.
 */
#include "cmd.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth.h"
#include "clock.h"
#include "conn.h"
#include "line.h"
#include "log.h"
#include "names.h"
#include "parley_limits.h"
#include "route.h"
#include "server.h"
#include "storage.h"
#include "store.h"
#include "utf8.h"

#define CMD_PRELOGIN  0x1               /* allowed before login */
#define CMD_LOGIN     0x2               /* only before login */

struct command {
	const char *name;
	unsigned flags;
	void (*fn)(struct conn *c, struct line_cursor *lc);
	const char *syntax;
	const char *help;
};

/*
 * Unescaped tokens are never longer than their line, so one buffer of the
 * largest line size serves every command; the loop is single-threaded.
 */
static char scratch[LINE_MAX_MAX + 1];

static const struct command commands[];
static const size_t ncommands;

/* ---- argument helpers ---- */

static bool
no_more_args(struct conn *c, struct line_cursor *lc)
{
	if (!line_at_end(lc)) {
		conn_err(c, "BAD_ARGS", "too many arguments");
		return false;
	}
	return true;
}

/* Read a user name argument; answers BAD_ARGS and returns -1 when bad. */
static int
arg_user(struct conn *c, struct line_cursor *lc, char out[NAMES_USER_MAX + 1])
{
	char tok[NAMES_USER_MAX + 2];
	size_t len;

	if (line_token(lc, tok, sizeof(tok), &len) != 1 ||
	    names_user_norm(tok, len, out) != 0) {
		conn_err(c, "BAD_ARGS", "expected a user name");
		return -1;
	}
	return 0;
}

/* ---- PING, HELP, QUIT, WHOAMI ---- */

static void
cmd_ping(struct conn *c, struct line_cursor *lc)
{
	char tok[256];
	size_t len;
	int r = line_token(lc, tok, sizeof(tok), &len);

	if (r < 0) {
		conn_err(c, "BAD_ARGS", "bad token");
		return;
	}
	if (!no_more_args(c, lc))
		return;
	if (r == 0) {
		conn_printf(c, "OK PING");
		return;
	}
	if (!utf8_text_ok(tok, len) || memchr(tok, ' ', len) != NULL ||
	    memchr(tok, '\t', len) != NULL) {
		conn_err(c, "BAD_ARGS", "token must be one word");
		return;
	}
	conn_printf(c, "OK PING %s", tok);
}

static void
cmd_help(struct conn *c, struct line_cursor *lc)
{
	size_t i;

	if (!no_more_args(c, lc))
		return;
	for (i = 0; i < ncommands; i++)
		conn_printf(c, "HELP %s - %s", commands[i].syntax,
		    commands[i].help);
	conn_printf(c, "OK HELP %zu", ncommands);
}

static void
cmd_quit(struct conn *c, struct line_cursor *lc)
{
	(void)lc;
	conn_printf(c, "OK QUIT");
	conn_quit(c);
}

static void
cmd_whoami(struct conn *c, struct line_cursor *lc)
{
	if (!no_more_args(c, lc))
		return;
	conn_printf(c, "OK WHOAMI %s %s", conn_user(c),
	    conn_role(c) == STORE_ROLE_ADMIN ? "admin" : "user");
}

/* ---- LOGIN ---- */

static void
cmd_login(struct conn *c, struct line_cursor *lc)
{
	char user[NAMES_USER_MAX + 1];
	size_t len;
	int r;

	if (arg_user(c, lc, user) != 0)
		return;
	r = line_token(lc, scratch, sizeof(scratch), &len);
	if (r < 0) {
		conn_err(c, "BAD_ARGS", "bad password token");
		goto out;
	}
	if (!no_more_args(c, lc))
		goto out;
	if (r == 0) {
		/* Certificate login is not configured on this server. */
		conn_err(c, "AUTH_FAILED", "invalid username or password");
		if (conn_failed_login(c) >= srv.cfg.max_failed_logins)
			conn_close(c, "too many failed logins");
		goto out;
	}
	if (len > PASSWORD_MAX_BYTES) {
		conn_err(c, "AUTH_FAILED", "invalid username or password");
		if (conn_failed_login(c) >= srv.cfg.max_failed_logins)
			conn_close(c, "too many failed logins");
		goto out;
	}
	if (auth_login(c, user, scratch, len) != 0)
		conn_err(c, "UNAVAILABLE", "server busy, try again");
out:
	sodium_memzero(scratch, len < sizeof(scratch) ? len + 1 : sizeof(scratch));
}

/* ---- SEND ---- */

struct send_job {
	struct storage_job sj;
	struct conn *c;
	char from[NAMES_USER_MAX + 1];
	char to[NAMES_ROOM_MAX + 1];
	int64_t time_ms;
	uint64_t id;
	size_t len;
	char text[];
};

struct ack_job {
	struct storage_job sj;
	char user[NAMES_USER_MAX + 1];
	uint64_t id;
};

static int
ack_run(struct store *s, struct storage_job *sj)
{
	struct ack_job *a = (struct ack_job *)sj;

	return store_pending_done(s, a->user, a->id);
}

static void
ack_done(struct storage_job *sj)
{
	free(sj);
}

/* The recipient got the message live: take it off their offline queue. */
static void
ack_delivered(const char *user, uint64_t id)
{
	struct ack_job *a = calloc(1, sizeof(*a));

	/* Without the ack it is only delivered again at the next login. */
	if (a == NULL)
		return;
	snprintf(a->user, sizeof(a->user), "%s", user);
	a->id = id;
	a->sj.run = ack_run;
	a->sj.done = ack_done;
	storage_submit(&a->sj);
}

static int
send_run(struct store *s, struct storage_job *sj)
{
	struct send_job *j = (struct send_job *)sj;

	return store_dm_append(s, j->from, j->to, j->text, j->len, j->time_ms,
	    &j->id);
}

static void
send_done(struct storage_job *sj)
{
	struct send_job *j = (struct send_job *)sj;
	struct conn *c = j->c;
	char ts[CLOCK_RFC3339_LEN];
	char *line;
	int n;

	switch (sj->rc) {
	case STORE_OK:
		break;
	case STORE_NOT_FOUND:
		if (!conn_closing(c)) {
			conn_err(c, "NO_SUCH_USER", "no such user");
			conn_resume(c);
		}
		goto out;
	default:
		if (!conn_closing(c)) {
			conn_err(c, "UNAVAILABLE", "message not stored, try again");
			conn_resume(c);
		}
		goto out;
	}
	srv.stats.msgs_stored++;
	if (!conn_closing(c)) {
		conn_printf(c, "OK SEND %llu", (unsigned long long)j->id);
		conn_resume(c);
	}
	/* Formatted once, shared by every session it goes to. */
	n = asprintf(&line, "MSG %llu %s %s %s %.*s\n",
	    (unsigned long long)j->id, clock_rfc3339(j->time_ms, ts), j->from,
	    j->to, (int)j->len, j->text);
	if (n < 0)
		goto out;       /* still stored and queued: delivered at login */
	if (strcmp(j->from, j->to) == 0) {
		route_to_user(j->from, c, line, (size_t)n);
		ack_delivered(j->to, j->id);
	} else {
		if (route_to_user(j->to, NULL, line, (size_t)n) > 0)
			ack_delivered(j->to, j->id);
		route_to_user(j->from, c, line, (size_t)n);
	}
	free(line);
out:
	conn_unref(c);
	free(j);
}

static void
cmd_send(struct conn *c, struct line_cursor *lc)
{
	char tok[NAMES_ROOM_MAX + 2];
	char to[NAMES_ROOM_MAX + 1];
	struct send_job *j;
	const char *text;
	size_t len, tlen;

	if (line_token(lc, tok, sizeof(tok), &len) != 1) {
		conn_err(c, "BAD_ARGS", "usage: SEND <target> <text>");
		return;
	}
	if (tok[0] == '#') {
		conn_err(c, "NO_SUCH_ROOM", "no such room");
		return;
	}
	if (names_user_norm(tok, len, to) != 0) {
		conn_err(c, "BAD_ARGS", "invalid user name");
		return;
	}
	if (!line_rest(lc, &text, &tlen) || tlen == strspn(text, " ")) {
		conn_err(c, "BAD_ARGS", "empty message");
		return;
	}
	if (!utf8_text_ok(text, tlen)) {
		conn_err(c, "BAD_ARGS", "message holds control characters");
		return;
	}
	j = malloc(sizeof(*j) + tlen);
	if (j == NULL) {
		conn_err(c, "UNAVAILABLE", "out of memory");
		return;
	}
	memset(j, 0, sizeof(*j));
	j->c = c;
	snprintf(j->from, sizeof(j->from), "%s", conn_user(c));
	snprintf(j->to, sizeof(j->to), "%s", to);
	j->time_ms = clock_now_ms();
	j->len = tlen;
	memcpy(j->text, text, tlen);
	j->sj.run = send_run;
	j->sj.done = send_done;
	conn_ref(c);
	conn_busy(c);
	storage_submit(&j->sj);
}

/* ---- the table ---- */

static const struct command commands[] = {
	{ "HELP", CMD_PRELOGIN, cmd_help, "HELP", "list the commands" },
	{ "PING", CMD_PRELOGIN, cmd_ping, "PING [token]",
	  "check the connection; the token is echoed" },
	{ "QUIT", CMD_PRELOGIN, cmd_quit, "QUIT", "close the connection" },
	{ "LOGIN", CMD_PRELOGIN | CMD_LOGIN, cmd_login,
	  "LOGIN <user> <password>", "log in with a password" },
	{ "SEND", 0, cmd_send, "SEND <target> <text>",
	  "send a message to a user" },
	{ "WHOAMI", 0, cmd_whoami, "WHOAMI", "show your user name and role" },
};
static const size_t ncommands = sizeof(commands) / sizeof(commands[0]);

void
cmd_dispatch(struct conn *c, char *line, size_t len)
{
	struct line_cursor lc;
	char kw[16];
	size_t kwlen, i;
	bool authed;

	line_cursor_init(&lc, line, len);
	if (line_token(&lc, kw, sizeof(kw), &kwlen) != 1) {
		conn_err(c, "BAD_COMMAND", "unknown command");
		return;
	}
	authed = conn_state(c) == CONN_S_READY;
	for (i = 0; i < ncommands; i++) {
		if (strcasecmp(kw, commands[i].name) != 0)
			continue;
		if (!authed && !(commands[i].flags & CMD_PRELOGIN)) {
			conn_err(c, "NOT_AUTHENTICATED", "log in first");
			return;
		}
		if (authed && (commands[i].flags & CMD_LOGIN)) {
			conn_err(c, "ALREADY_AUTHENTICATED", "already logged in");
			return;
		}
		commands[i].fn(c, &lc);
		/* The raw line may hold a password: leave no copy behind. */
		if (commands[i].flags & CMD_LOGIN)
			sodium_memzero(line, len);
		return;
	}
	conn_err(c, "BAD_COMMAND", "unknown command");
}
