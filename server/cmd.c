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
#include "cmd_int.h"
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
/*
 * Counts against messages_per_second: commands that send something to
 * other people (messages, JOINED/LEFT events). Reads are not limited so a
 * reconnecting client's catch-up never stalls; they are bounded anyway by
 * one store job at a time per connection.
 */
#define CMD_RATED     0x4
#define CMD_LOGIN_SECRET 0x8            /* the line holds a password */

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

/* ---- argument helpers (cmd_int.h) ---- */

bool
cmd_no_more_args(struct conn *c, struct line_cursor *lc)
{
	if (!line_at_end(lc)) {
		cmd_err_ordered(c, "BAD_ARGS", "too many arguments");
		return false;
	}
	return true;
}

bool
cmd_arg_user(struct conn *c, struct line_cursor *lc,
    char out[NAMES_USER_MAX + 1])
{
	char tok[NAMES_USER_MAX + 2];
	size_t len;

	if (line_token(lc, tok, sizeof(tok), &len) != 1 ||
	    names_user_norm(tok, len, out) != 0) {
		cmd_err_ordered(c, "BAD_ARGS", "expected a user name");
		return false;
	}
	return true;
}

bool
cmd_arg_room(struct conn *c, struct line_cursor *lc,
    char out[NAMES_ROOM_MAX + 1])
{
	char tok[NAMES_ROOM_MAX + 2];
	size_t len;

	if (line_token(lc, tok, sizeof(tok), &len) != 1 ||
	    names_room_norm(tok, len, out) != 0) {
		cmd_err_ordered(c, "BAD_ARGS", "expected a room name (#room)");
		return false;
	}
	return true;
}

bool
cmd_arg_target(struct conn *c, struct line_cursor *lc,
    char out[NAMES_ROOM_MAX + 1], bool *is_room)
{
	char tok[NAMES_ROOM_MAX + 2];
	size_t len;

	if (line_token(lc, tok, sizeof(tok), &len) != 1) {
		cmd_err_ordered(c, "BAD_ARGS", "expected a user or #room");
		return false;
	}
	*is_room = tok[0] == '#';
	if ((*is_room ? names_room_norm(tok, len, out) :
	    names_user_norm(tok, len, out)) != 0) {
		cmd_err_ordered(c, "BAD_ARGS", *is_room ? "invalid room name" :
		    "invalid user name");
		return false;
	}
	return true;
}

bool
cmd_arg_u64(struct conn *c, struct line_cursor *lc, uint64_t *v,
    bool *present)
{
	char tok[24];
	size_t len, i;
	uint64_t n = 0;
	int r = line_token(lc, tok, sizeof(tok), &len);

	*present = false;
	if (r == 0)
		return true;
	if (r < 0 || len == 0)
		goto bad;
	for (i = 0; i < len; i++) {
		unsigned d = (unsigned)(tok[i] - '0');

		if (d > 9 || n > (UINT64_MAX - d) / 10)
			goto bad;
		n = n * 10 + d;
	}
	*v = n;
	*present = true;
	return true;
bad:
	cmd_err_ordered(c, "BAD_ARGS", "expected a number");
	return false;
}

/* ---- ordering behind pipelined SENDs (cmd.h) ---- */

bool
cmd_pipelines(const char *line, size_t len)
{
	return len >= 4 && strncasecmp(line, "SEND", 4) == 0 &&
	    (len == 4 || line[4] == ' ');
}

struct err_job {
	struct storage_job sj;
	struct conn *c;
	const char *code;               /* static strings */
	char text[96];
};

static int
err_run(struct store *s, struct storage_job *sj)
{
	(void)s;
	(void)sj;
	return STORE_OK;
}

static void
err_done(struct storage_job *sj)
{
	struct err_job *e = (struct err_job *)sj;

	if (!conn_closing(e->c))
		conn_err(e->c, e->code, e->text);
	conn_send_end(e->c);
	conn_unref(e->c);
	free(e);
}

void
cmd_err_ordered(struct conn *c, const char *code, const char *text)
{
	struct err_job *e;

	if (conn_sends(c) == 0 || (e = calloc(1, sizeof(*e))) == NULL) {
		conn_err(c, code, text);
		return;
	}
	/* A no-op job: its place in the queue is its place in the answer. */
	e->c = c;
	e->code = code;
	snprintf(e->text, sizeof(e->text), "%s", text);
	e->sj.run = err_run;
	e->sj.done = err_done;
	conn_ref(c);
	conn_send_begin(c);
	storage_submit(&e->sj);
}

/* ---- store jobs (cmd_int.h) ---- */

static void
job_done(struct storage_job *sj)
{
	struct cmd_job *j = (struct cmd_job *)sj;
	struct conn *c = j->c;

	/*
	 * finish() also brings the in-memory tables up to date with what
	 * was committed (JOIN, LEAVE), so it runs even when the connection
	 * that asked has closed meanwhile; its replies then go nowhere.
	 */
	if (sj->rc != STORE_ERROR)
		j->finish(j);
	else if (!conn_closing(c))
		conn_err(c, "UNAVAILABLE", "store unavailable, try again");
	if (!conn_closing(c))
		conn_resume(c);
	conn_unref(c);
	buf_free(&j->lines);
	/* Jobs may carry a token or key material. */
	sodium_memzero(j, sizeof(*j));
	free(j);
}

struct cmd_job *
cmd_job_new(struct conn *c, storage_run_fn run,
    void (*finish)(struct cmd_job *j), size_t lines_max)
{
	struct cmd_job *j = calloc(1, sizeof(*j));

	if (j == NULL) {
		conn_err(c, "UNAVAILABLE", "out of memory");
		return NULL;
	}
	j->c = c;
	j->sj.run = run;
	j->sj.done = job_done;
	j->finish = finish;
	snprintf(j->user, sizeof(j->user), "%s", conn_user(c));
	buf_init(&j->lines, lines_max);
	return j;
}

void
cmd_job_submit(struct cmd_job *j)
{
	conn_ref(j->c);
	conn_busy(j->c);
	storage_submit(&j->sj);
}

/* ---- PING, HELP, QUIT, WHOAMI ---- */

static void
cmd_ping(struct conn *c, struct line_cursor *lc)
{
	char *tok = scratch;
	size_t len;
	int r = line_token(lc, tok, sizeof(scratch), &len);

	if (r < 0) {
		conn_err(c, "BAD_ARGS", "bad token");
		return;
	}
	if (!cmd_no_more_args(c, lc))
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

	if (!cmd_no_more_args(c, lc))
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
	if (!cmd_no_more_args(c, lc))
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

	if (!cmd_arg_user(c, lc, user))
		return;
	r = line_token(lc, scratch, sizeof(scratch), &len);
	if (r < 0) {
		conn_err(c, "BAD_ARGS", "bad password token");
		goto out;
	}
	if (!cmd_no_more_args(c, lc))
		goto out;
	if (r == 0) {
		if (auth_cert_login(c, user) != 0)
			conn_err(c, "UNAVAILABLE", "server busy, try again");
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

/* ---- REGISTER ---- */

static void
cmd_register(struct conn *c, struct line_cursor *lc)
{
	char user[NAMES_USER_MAX + 1];
	enum pwpolicy pol;
	size_t len = 0;

	if (!srv.cfg.allow_register) {
		conn_err(c, "FORBIDDEN", "registration is disabled");
		return;
	}
	if (!cmd_arg_user(c, lc, user))
		return;
	if (line_token(lc, scratch, sizeof(scratch), &len) != 1) {
		conn_err(c, "BAD_ARGS", "usage: REGISTER <user> <password>");
		goto out;
	}
	if (!cmd_no_more_args(c, lc))
		goto out;
	pol = pwhash_policy(scratch, len, srv.cfg.min_password_length);
	if (pol != PWPOLICY_OK) {
		conn_err(c, "BAD_ARGS",
		    pwhash_policy_str(pol, srv.cfg.min_password_length));
		goto out;
	}
	if (auth_register(c, user, scratch, len) != 0)
		conn_err(c, "UNAVAILABLE", "server busy, try again");
out:
	sodium_memzero(scratch, len < sizeof(scratch) ? len + 1 : sizeof(scratch));
}

/* ---- the table ---- */

static const struct command commands[] = {
	{ "HELP", CMD_PRELOGIN, cmd_help, "HELP", "list the commands" },
	{ "PING", CMD_PRELOGIN, cmd_ping, "PING [token]",
	  "check the connection; the token is echoed" },
	{ "QUIT", CMD_PRELOGIN, cmd_quit, "QUIT", "close the connection" },
	{ "LOGIN", CMD_PRELOGIN | CMD_LOGIN, cmd_login,
	  "LOGIN <user> [password]",
	  "log in with a password, or a client certificate without one" },
	{ "RESUME", CMD_PRELOGIN | CMD_LOGIN, cmd_resume,
	  "RESUME <user> <token>", "log in with a token from TOKEN" },
	{ "REGISTER", CMD_PRELOGIN | CMD_LOGIN, cmd_register,
	  "REGISTER <user> <password>", "create an account (if enabled)" },
	{ "SEND", CMD_RATED, cmd_send, "SEND <target> <text>",
	  "send a message to a user or a #room you are in" },
	{ "JOIN", CMD_RATED, cmd_join, "JOIN <#room>", "join a room, creating it if new" },
	{ "LEAVE", CMD_RATED, cmd_leave, "LEAVE <#room>", "leave a room" },
	{ "ROOMS", 0, cmd_rooms, "ROOMS", "list rooms and their member counts" },
	{ "WHO", 0, cmd_who, "WHO <#room>", "list a room's members" },
	{ "HISTORY", 0, cmd_history, "HISTORY <target> [limit] [before-id]",
	  "recent messages of a room or a direct conversation" },
	{ "SYNC", 0, cmd_sync, "SYNC <since-id> [limit]",
	  "messages after since-id, to catch up" },
	{ "PASSWD", CMD_LOGIN_SECRET, cmd_passwd, "PASSWD <old> <new>",
	  "change your password; your other sessions and tokens end" },
	{ "TOKEN", 0, cmd_token, "TOKEN",
	  "get a token to log in again without the password (RESUME)" },
	{ "SETKEY", 0, cmd_setkey, "SETKEY <base64>",
	  "publish your X25519 public key" },
	{ "GETKEY", 0, cmd_getkey, "GETKEY <user>",
	  "get a user's public key" },
	{ "WHOAMI", 0, cmd_whoami, "WHOAMI", "show your user name and role" },
	{ "KICK", 0, cmd_kick, "KICK <user> [text]",
	  "admin: end a user's sessions" },
	{ "STATS", 0, cmd_stats, "STATS", "admin: server counters" },
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
		if ((commands[i].flags & CMD_RATED) && !conn_rate_ok(c)) {
			cmd_err_ordered(c, "RATE_LIMITED", "slow down");
			return;
		}
		commands[i].fn(c, &lc);
		/* The raw line may hold a password: leave no copy behind. */
		if (commands[i].flags & (CMD_LOGIN | CMD_LOGIN_SECRET))
			sodium_memzero(line, len);
		return;
	}
	conn_err(c, "BAD_COMMAND", "unknown command");
}
