/*
 * creds: the login line, and the password's life in memory.
 *
 * The password is read into a sodium_malloc() buffer: guard pages around
 * it, locked out of swap where the system allows, and made inaccessible
 * (sodium_mprotect_noaccess) whenever no login line is being built, so a
 * stray read elsewhere in the program faults instead of leaking it.
 * sodium_free() wipes it. Stack copies made while building a line are
 * wiped before returning.
 */
#include "creds.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "password.h"
#include "session.h"
#include "utf8.h"

#define PW_CAP (PASSWORD_MAX_BYTES + 2)

struct creds {
	char user[NAMES_USER_MAX + 1];
	bool use_cert;
	bool password_stdin;
	bool keep;
	char *pw;                       /* sodium_malloc(PW_CAP), or NULL */
	size_t pwlen;
};

struct creds *
creds_new(const char *user, bool use_cert, bool password_stdin, bool keep)
{
	struct creds *c;

	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		session_errorf("out of memory");
		return NULL;
	}
	snprintf(c->user, sizeof(c->user), "%s", user);
	c->use_cert = use_cert;
	c->password_stdin = password_stdin;
	c->keep = keep;
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

int
creds_login_line(struct creds *c, char *out, size_t cap, size_t *len)
{
	size_t n, i;
	int rc;

	if (cap < CREDS_LINE_MAX)
		return SESSION_EXIT_USAGE;
	if (c->use_cert) {
		*len = (size_t)snprintf(out, cap, "LOGIN %s", c->user);
		return SESSION_EXIT_OK;
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
	if (!c->keep)
		forget(c);
}

void
creds_refused(struct creds *c)
{
	forget(c);
}
