/*
 * creds: the login line, the password's life in memory, and when the
 * stored resume token is tried (creds.h).
 *
 * The password is read into a sodium_malloc() buffer: guard pages around
 * it, locked out of swap where the system allows, and made inaccessible
 * (sodium_mprotect_noaccess) whenever no login line is being built, so a
 * stray read elsewhere in the program faults instead of leaking it.
 * sodium_free() wipes it. Stack copies made while building a line are
 * wiped before returning, and so is every copy of the token.
 *
 * Per connection the order is: RESUME with the stored token (once), then
 * LOGIN with the certificate or the password. Whether the token is
 * tried first depends on how the run started (creds.h); the token file
 * is read anew for each login, so a token refreshed by another parley
 * process is picked up by a long-running one.
 */
#include "creds.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "files.h"
#include "password.h"
#include "session.h"
#include "token.h"
#include "utf8.h"

#define PW_CAP (PASSWORD_MAX_BYTES + 2)

enum creds_last {
	CREDS_L_NONE,
	CREDS_L_RESUME,
	CREDS_L_LOGIN,
};

struct creds {
	char user[NAMES_USER_MAX + 1];
	char account[FILES_ACCOUNT_MAX];        /* "" when tokens are off */
	bool use_cert;
	bool password_stdin;
	bool keep;
	bool use_token;
	bool logged_in_once;    /* no more prompting or reading stdin */
	bool resume_tried;      /* on this connection */
	bool token_fresh;       /* the token used is not past half its life */
	enum creds_last last;
	char *pw;                       /* sodium_malloc(PW_CAP), or NULL */
	size_t pwlen;
};

struct creds *
creds_new(const struct session_opts *o, bool keep)
{
	struct creds *c;

	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		session_errorf("out of memory");
		return NULL;
	}
	snprintf(c->user, sizeof(c->user), "%s", o->user);
	c->use_cert = o->cert != NULL && !o->password_stdin;
	c->password_stdin = o->password_stdin;
	c->keep = keep;
	c->use_token = !o->no_token;
	if (c->use_token && files_account(o->user, o->host, o->port,
	    c->account, sizeof(c->account)) != 0) {
		session_errorf("server name too long for a token file; "
		    "tokens are not used");
		c->use_token = false;
	}
	return c;
}

static void
forget(struct creds *c)
{
	if (c->pw != NULL) {
		/* sodium_free() wipes the whole buffer first. */
		sodium_free(c->pw);
		c->pw = NULL;
		c->pwlen = 0;
	}
}

void
creds_free(struct creds *c)
{
	if (c == NULL)
		return;
	forget(c);
	free(c);
}

void
creds_begin(struct creds *c)
{
	c->resume_tried = false;
	c->last = CREDS_L_NONE;
}

/* Read the password once; afterwards it is kept, inaccessible. */
static int
obtain(struct creds *c)
{
	char tmp[PW_CAP];

	if (c->pw != NULL)
		return SESSION_EXIT_OK;
	if (password_read(c->password_stdin, c->user, tmp, sizeof(tmp)) != 0)
		return SESSION_EXIT_USAGE;
	c->pwlen = strlen(tmp);
	if (!utf8_valid(tmp, c->pwlen)) {
		sodium_memzero(tmp, sizeof(tmp));
		session_errorf("the password is not valid UTF-8");
		return SESSION_EXIT_USAGE;
	}
	c->pw = sodium_malloc(PW_CAP);
	if (c->pw == NULL) {
		sodium_memzero(tmp, sizeof(tmp));
		session_errorf("out of memory");
		return SESSION_EXIT_USAGE;
	}
	memcpy(c->pw, tmp, c->pwlen + 1);
	sodium_memzero(tmp, sizeof(tmp));
	sodium_mprotect_noaccess(c->pw);
	return SESSION_EXIT_OK;
}

/*
 * "RESUME user token" into out when a token should be tried now.
 * Returns true when the line was written.
 */
static bool
resume_line(struct creds *c, char *out, size_t cap, size_t *len)
{
	struct token t;
	int n;

	if (!c->use_token || c->resume_tried)
		return false;
	/* Explicit credentials win on the first login of a run. */
	if (!c->logged_in_once && (c->password_stdin || c->use_cert))
		return false;
	c->resume_tried = true;
	if (token_load(c->account, &t) != 0)
		return false;
	n = snprintf(out, cap, "RESUME %s %s", c->user, t.text);
	c->token_fresh = !token_stale(&t, (int64_t)time(NULL));
	token_wipe(&t);
	if (n < 0 || (size_t)n >= cap) {
		sodium_memzero(out, cap);
		return false;
	}
	*len = (size_t)n;
	c->last = CREDS_L_RESUME;
	return true;
}

int
creds_login_line(struct creds *c, char *out, size_t cap, size_t *len)
{
	size_t n, i;
	int rc;

	if (cap < CREDS_LINE_MAX)
		return SESSION_EXIT_USAGE;
	if (resume_line(c, out, cap, len))
		return SESSION_EXIT_OK;
	c->last = CREDS_L_LOGIN;
	if (c->use_cert) {
		*len = (size_t)snprintf(out, cap, "LOGIN %s", c->user);
		return SESSION_EXIT_OK;
	}
	if (c->pw == NULL && c->logged_in_once) {
		/* A reconnect: asking now would steal chat input. */
		session_errorf("authentication failed: the stored login token "
		    "was refused and no password is at hand; run parley "
		    "again to log in");
		return SESSION_EXIT_AUTH;
	}
	if ((rc = obtain(c)) != SESSION_EXIT_OK)
		return rc;
	/* A quoted token: \" and \\ are the only escapes (SPEC §1). */
	n = (size_t)snprintf(out, cap, "LOGIN %s \"", c->user);
	sodium_mprotect_readonly(c->pw);
	for (i = 0; i < c->pwlen; i++) {
		if (c->pw[i] == '"' || c->pw[i] == '\\')
			out[n++] = '\\';
		out[n++] = c->pw[i];
	}
	sodium_mprotect_noaccess(c->pw);
	out[n++] = '"';
	out[n] = '\0';
	*len = n;
	return SESSION_EXIT_OK;
}

void
creds_accepted(struct creds *c)
{
	c->logged_in_once = true;
	if (!c->keep)
		forget(c);
}

bool
creds_refused(struct creds *c)
{
	if (c->last == CREDS_L_RESUME) {
		/* Expired, revoked, or the account changed: drop it. */
		(void)token_remove(c->account);
		session_errorf("the stored login token was refused (expired "
		    "or revoked) and has been removed");
		return true;
	}
	forget(c);
	return false;
}

bool
creds_want_token(const struct creds *c)
{
	struct token t;
	bool want;
	int r;

	if (!c->use_token)
		return false;
	if (c->last == CREDS_L_RESUME)
		return !c->token_fresh;
	/* Logged in another way: one still fresh on file is enough. An
	 * unusable file (say, open to others) is replaced by a good one. */
	r = token_load(c->account, &t);
	want = r != 0 || token_stale(&t, (int64_t)time(NULL));
	token_wipe(&t);
	return want;
}

void
creds_token_answer(struct creds *c, const char *line, size_t len)
{
	struct token t;

	if (!c->use_token)
		return;
	if (token_parse_ok(line, len, (int64_t)time(NULL), &t) == 0) {
		if (token_save(c->account, &t) != 0)
			session_errorf("the login token was not stored; the "
			    "next run will ask for the password again");
		c->token_fresh = true;
	}
	token_wipe(&t);
}
