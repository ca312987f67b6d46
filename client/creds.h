/*
 * creds: what the client logs in with (SPEC §3 LOGIN).
 *
 * Either the client certificate presented in the handshake ("LOGIN user")
 * or a password, read on first use from --password-stdin or a no-echo
 * prompt (password.c) and never from the command line. A one-shot command
 * wipes the password as soon as the server accepted it; the modes that
 * reconnect (listen, interactive) keep it in guarded memory
 * (sodium_malloc, no access between logins) until creds_free().
 *
 * This is the one place a RESUME token (SPEC §3 TOKEN/RESUME) would live:
 * creds_login_line() would offer "RESUME user token" first and fall back
 * to LOGIN when the server refuses it.
 */
#ifndef PARLEY_CLIENT_CREDS_H
#define PARLEY_CLIENT_CREDS_H

#include <stdbool.h>
#include <stddef.h>

#include "parley_limits.h"

/* Room for "LOGIN <user> "<password, every byte escaped>"". */
#define CREDS_LINE_MAX (sizeof("LOGIN  \"\"") + NAMES_USER_MAX + \
	2 * PASSWORD_MAX_BYTES + 1)

struct creds;

/*
 * Credentials for user. use_cert: log in with the client certificate
 * (no password asked). keep: keep the password for later logins.
 * Returns NULL when out of memory (reported).
 */
struct creds *creds_new(const char *user, bool use_cert, bool password_stdin,
    bool keep) __attribute__((warn_unused_result));

/* Wipe and free. NULL is a no-op. */
void creds_free(struct creds *c);

/*
 * Write the next login line (no LF) into out (cap >= CREDS_LINE_MAX) and
 * its length into *len; the caller wipes out after sending. The password
 * is asked for here the first time it is needed. Returns SESSION_EXIT_OK,
 * or SESSION_EXIT_USAGE when no password could be read (reported).
 */
int creds_login_line(struct creds *c, char *out, size_t cap, size_t *len)
	__attribute__((warn_unused_result));

/* The server accepted the last line: a one-shot password is wiped now. */
void creds_accepted(struct creds *c);

/* The server refused it: the password is wiped; it was wrong. */
void creds_refused(struct creds *c);

#endif
