/*
 * creds: what the client logs in with (SPEC §3 LOGIN, RESUME, TOKEN).
 *
 * Three ways, in this order of preference:
 *
 *  - a stored resume token (token.c): "RESUME user token". Tried first
 *    whenever one is stored for the account and has not expired — except
 *    on the first login of a run given explicit credentials
 *    (--password-stdin or a client certificate), which are used as given;
 *  - the client certificate presented in the handshake ("LOGIN user");
 *  - a password, read on first use from --password-stdin or a no-echo
 *    prompt (password.c) and never from the command line.
 *
 * A refused token is removed and the login goes on with the certificate
 * or password on the same connection. After a successful login without a
 * token, or with one past half its lifetime, the caller fetches a new
 * token (TOKEN) and hands the answer to creds_token_answer(), which
 * stores it. With tokens disabled (--no-token, "token = false") none is
 * read, tried or stored.
 *
 * Only the first login of a run may ask for a password: later ones
 * (reconnecting listen and chat) use the token, the certificate or the
 * password kept from the first login, and never prompt or read stdin
 * again. A one-shot command wipes the password as soon as the server
 * accepted it; the modes that reconnect keep it in guarded memory
 * (sodium_malloc, no access between logins) until creds_free().
 */
#ifndef PARLEY_CLIENT_CREDS_H
#define PARLEY_CLIENT_CREDS_H

#include <stdbool.h>
#include <stddef.h>

#include "parley_limits.h"

/* Room for "LOGIN <user> "<password, every byte escaped>"" (and RESUME). */
#define CREDS_LINE_MAX (sizeof("LOGIN  \"\"") + NAMES_USER_MAX + \
	2 * PASSWORD_MAX_BYTES + 1)

struct creds;
struct session_opts;

/*
 * Credentials for o->user on o->host:o->port: the client certificate
 * when o has one and no --password-stdin, else a password; a token
 * unless o->no_token. keep: keep the password for later logins. Returns
 * NULL when out of memory or the account has no usable name (reported).
 */
struct creds *creds_new(const struct session_opts *o, bool keep)
	__attribute__((warn_unused_result));

/* Wipe and free. NULL is a no-op. */
void creds_free(struct creds *c);

/* A new connection is about to log in: every way may be tried again. */
void creds_begin(struct creds *c);

/*
 * Write the next login line (no LF) into out (cap >= CREDS_LINE_MAX) and
 * its length into *len; the caller wipes out after sending. The password
 * is asked for here the first time it is needed. Returns SESSION_EXIT_OK;
 * SESSION_EXIT_USAGE when no password could be read; SESSION_EXIT_AUTH
 * when nothing is left to try without asking (a refused token on a
 * reconnect without a kept password). Failures are reported.
 */
int creds_login_line(struct creds *c, char *out, size_t cap, size_t *len)
	__attribute__((warn_unused_result));

/* The server accepted the last line: a one-shot password is wiped now. */
void creds_accepted(struct creds *c);

/*
 * The server refused the last line. Returns true when it was a token
 * (now removed) and creds_login_line() has another way to offer on the
 * same connection; false when the login has failed (a refused password
 * is wiped: it was wrong).
 */
bool creds_refused(struct creds *c);

/* After creds_accepted(): whether to ask the server for a new token. */
bool creds_want_token(const struct creds *c);

/*
 * The final line answering TOKEN: "OK TOKEN ..." is stored (a failure to
 * store it is reported, and is no reason to stop); anything else is
 * ignored.
 */
void creds_token_answer(struct creds *c, const char *line, size_t len);

#endif
