/*
 * cmd_account: commands about one's own account — RESUME, PASSWD, TOKEN,
 * SETKEY, GETKEY — and the admin commands KICK and STATS.
 *
 * Anything that touches a password goes through auth.c (hashing off the
 * loop, throttling); the rest are store jobs (cmd_int.h).
 */
#include <stdio.h>
#include <string.h>
#include <sodium.h>

#include "auth.h"
#include "clock.h"
#include "cmd_int.h"
#include "conn.h"
#include "log.h"
#include "route.h"
#include "server.h"
#include "stats.h"
#include "storage.h"
#include "store.h"
#include "token.h"
#include "utf8.h"

/* ---- RESUME ---- */

void
cmd_resume(struct conn *c, struct line_cursor *lc)
{
	char user[NAMES_USER_MAX + 1];
	char tok[TOKEN_TEXT_MAX + 1];
	size_t len;

	if (!cmd_arg_user(c, lc, user))
		return;
	if (line_token(lc, tok, sizeof(tok), &len) != 1) {
		/* Absent or longer than any token: not one of ours. */
		conn_err(c, "BAD_ARGS", "usage: RESUME <user> <token>");
		return;
	}
	if (!cmd_no_more_args(c, lc))
		return;
	if (auth_resume(c, user, tok, len) != 0)
		conn_err(c, "UNAVAILABLE", "server busy, try again");
	sodium_memzero(tok, sizeof(tok));
}

/* ---- PASSWD ---- */

void
cmd_passwd(struct conn *c, struct line_cursor *lc)
{
	/* Two passwords: the shared scratch buffer holds only one. */
	static char oldpw[PASSWORD_MAX_BYTES + 1], newpw[PASSWORD_MAX_BYTES + 1];
	size_t oldlen = 0, newlen = 0;
	enum pwpolicy pol;

	if (line_token(lc, oldpw, sizeof(oldpw), &oldlen) != 1 ||
	    line_token(lc, newpw, sizeof(newpw), &newlen) != 1) {
		conn_err(c, "BAD_ARGS", "usage: PASSWD <old> <new>");
		goto out;
	}
	if (!cmd_no_more_args(c, lc))
		goto out;
	pol = pwhash_policy(newpw, newlen, srv.cfg.min_password_length);
	if (pol != PWPOLICY_OK) {
		conn_err(c, "BAD_ARGS",
		    pwhash_policy_str(pol, srv.cfg.min_password_length));
		goto out;
	}
	if (auth_passwd(c, oldpw, oldlen, newpw, newlen) != 0)
		conn_err(c, "UNAVAILABLE", "server busy, try again");
out:
	sodium_memzero(oldpw, sizeof(oldpw));
	sodium_memzero(newpw, sizeof(newpw));
}

/* ---- TOKEN ---- */

static int
token_run(struct store *s, struct storage_job *sj)
{
	struct cmd_job *j = (struct cmd_job *)sj;

	return store_token_add(s, j->user, j->bin, clock_now_ms(), j->when);
}

static void
token_finish(struct cmd_job *j)
{
	char ts[CLOCK_RFC3339_LEN];

	if (j->sj.rc == STORE_OK)
		conn_printf(j->c, "OK TOKEN %s %s", j->text,
		    clock_rfc3339(j->when, ts));
	else
		conn_err(j->c, "UNAVAILABLE", "account gone");
}

void
cmd_token(struct conn *c, struct line_cursor *lc)
{
	struct cmd_job *j;

	if (!cmd_no_more_args(c, lc))
		return;
	if ((j = cmd_job_new(c, token_run, token_finish, 0)) == NULL)
		return;
	token_new(j->text, j->bin);
	j->when = clock_now_ms() + (int64_t)srv.cfg.token_ttl * 1000;
	cmd_job_submit(j);
}

/* ---- SETKEY, GETKEY ---- */

static int
setkey_run(struct store *s, struct storage_job *sj)
{
	struct cmd_job *j = (struct cmd_job *)sj;

	return store_key_set(s, j->user, j->bin, clock_now_ms());
}

static void
setkey_finish(struct cmd_job *j)
{
	if (j->sj.rc == STORE_OK)
		conn_printf(j->c, "OK SETKEY");
	else
		conn_err(j->c, "UNAVAILABLE", "account gone");
}

void
cmd_setkey(struct conn *c, struct line_cursor *lc)
{
	char b64[64];
	uint8_t key[STORE_PUBKEY_BYTES];
	size_t len, n = 0;
	const char *end;
	struct cmd_job *j;

	if (line_token(lc, b64, sizeof(b64), &len) != 1 ||
	    sodium_base642bin(key, sizeof(key), b64, len, NULL, &n, &end,
	    sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    n != sizeof(key) || end != b64 + len) {
		conn_err(c, "BAD_ARGS",
		    "expected a base64 X25519 public key (32 bytes)");
		return;
	}
	if (!cmd_no_more_args(c, lc))
		return;
	if ((j = cmd_job_new(c, setkey_run, setkey_finish, 0)) == NULL)
		return;
	memcpy(j->bin, key, sizeof(key));
	cmd_job_submit(j);
}

static int
getkey_run(struct store *s, struct storage_job *sj)
{
	struct cmd_job *j = (struct cmd_job *)sj;

	return store_key_get(s, j->target, j->bin);
}

static void
getkey_finish(struct cmd_job *j)
{
	char b64[sodium_base64_ENCODED_LEN(STORE_PUBKEY_BYTES,
	    sodium_base64_VARIANT_ORIGINAL)];

	switch (j->sj.rc) {
	case STORE_OK:
		sodium_bin2base64(b64, sizeof(b64), j->bin, STORE_PUBKEY_BYTES,
		    sodium_base64_VARIANT_ORIGINAL);
		conn_printf(j->c, "OK GETKEY %s %s", j->target, b64);
		break;
	case STORE_NOT_FOUND:
		conn_err(j->c, "NO_SUCH_USER", "no such user");
		break;
	default:
		conn_err(j->c, "NO_KEY", "that user has no public key");
		break;
	}
}

void
cmd_getkey(struct conn *c, struct line_cursor *lc)
{
	char user[NAMES_USER_MAX + 1];
	struct cmd_job *j;

	if (!cmd_arg_user(c, lc, user) || !cmd_no_more_args(c, lc))
		return;
	if ((j = cmd_job_new(c, getkey_run, getkey_finish, 0)) == NULL)
		return;
	snprintf(j->target, sizeof(j->target), "%s", user);
	cmd_job_submit(j);
}

/* ---- KICK, STATS (admin) ---- */

static bool
is_admin(struct conn *c)
{
	if (conn_role(c) == STORE_ROLE_ADMIN)
		return true;
	conn_err(c, "FORBIDDEN", "admin only");
	return false;
}

static int
kick_run(struct store *s, struct storage_job *sj)
{
	struct cmd_job *j = (struct cmd_job *)sj;
	struct store_user u;

	return store_user_get(s, j->target, &u);
}

static void
kick_finish(struct cmd_job *j)
{
	char reason[sizeof(j->text) + 16];
	unsigned n;

	if (j->sj.rc == STORE_NOT_FOUND) {
		conn_err(j->c, "NO_SUCH_USER", "no such user");
		return;
	}
	if (j->text[0] != '\0')
		snprintf(reason, sizeof(reason), "kicked: %s", j->text);
	else
		snprintf(reason, sizeof(reason), "kicked");
	n = route_close_user(j->target, j->c, reason);
	log_info("conn %llu: %s kicked %s (%u sessions)",
	    (unsigned long long)conn_id(j->c), conn_user(j->c), j->target, n);
	conn_printf(j->c, "OK KICK %s %u", j->target, n);
}

void
cmd_kick(struct conn *c, struct line_cursor *lc)
{
	char user[NAMES_USER_MAX + 1];
	const char *text = "";
	size_t tlen = 0;
	struct cmd_job *j;

	if (!is_admin(c) || !cmd_arg_user(c, lc, user))
		return;
	if (line_rest(lc, &text, &tlen) &&
	    (tlen >= sizeof(j->text) || !utf8_text_ok(text, tlen))) {
		conn_err(c, "BAD_ARGS", "reason too long or not plain text");
		return;
	}
	if ((j = cmd_job_new(c, kick_run, kick_finish, 0)) == NULL)
		return;
	snprintf(j->target, sizeof(j->target), "%s", user);
	if (tlen > 0)
		memcpy(j->text, text, tlen);
	j->text[tlen] = '\0';
	cmd_job_submit(j);
}

static int
stats_run(struct store *s, struct storage_job *sj)
{
	struct cmd_job *j = (struct cmd_job *)sj;
	struct store_counts sc;
	int rc = store_counts(s, &sc);

	if (rc == STORE_OK) {
		j->num = sc.users;
		j->last = sc.rooms;
		j->when = (int64_t)sc.last_msg_id;
	}
	return rc;
}

static void
stats_finish(struct cmd_job *j)
{
	struct store_counts sc = {
		.users = j->num, .rooms = j->last,
		.last_msg_id = (uint64_t)j->when,
	};
	struct stat_line lines[STATS_MAX];
	size_t i, n = stats_collect(lines, &sc);

	for (i = 0; i < n; i++)
		conn_printf(j->c, "STAT %s %llu", lines[i].name, lines[i].value);
	conn_printf(j->c, "OK STATS %zu", n);
}

void
cmd_stats(struct conn *c, struct line_cursor *lc)
{
	struct cmd_job *j;

	if (!is_admin(c) || !cmd_no_more_args(c, lc))
		return;
	if ((j = cmd_job_new(c, stats_run, stats_finish, 0)) != NULL)
		cmd_job_submit(j);
}
