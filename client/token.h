/*
 * token: the client's stored resume token (SPEC §3 TOKEN / RESUME).
 *
 * One file per account, tokens/<user>@<host>:<port> in the configuration
 * folder (files.c: 0700 folder, 0600 file, written atomically), holding
 * the token, when it was issued and when it expires. A token is a
 * password for one account until it expires or the server revokes it,
 * so it is never printed or logged, and copies in memory are wiped.
 * When to use, refresh or drop it is creds.c's business.
 */
#ifndef PARLEY_CLIENT_TOKEN_H
#define PARLEY_CLIENT_TOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The server's tokens are 43 characters; room for longer ones. */
#define TOKEN_TEXT_MAX 128

struct token {
	char text[TOKEN_TEXT_MAX + 1];  /* base64url, a bare protocol word */
	int64_t issued;                 /* Unix seconds, the client's clock */
	int64_t expires;                /* Unix seconds, from the server */
};

/*
 * Load the token of account (files_account()). Returns 0 with *t filled
 * when there is one that has not expired; 1 when there is none (an
 * expired or unreadable one is removed); -1 when the file exists but
 * cannot be used (reported; it is left alone). Wipe *t after use.
 */
int token_load(const char *account, struct token *t)
	__attribute__((warn_unused_result));

/* Store *t for account (0600, atomic). Returns 0 or -1 (reported). */
int token_save(const char *account, const struct token *t)
	__attribute__((warn_unused_result));

/* Remove the token of account. Returns 0 removed, 1 none, -1 (reported). */
int token_remove(const char *account);

/* True when *t is past half its lifetime at now (Unix seconds). */
bool token_stale(const struct token *t, int64_t now);

/*
 * Parse "OK TOKEN <token> <expires>" into *t (issued = now). Returns 0,
 * or -1 when the line is anything else or malformed.
 */
int token_parse_ok(const char *line, size_t len, int64_t now,
    struct token *t) __attribute__((warn_unused_result));

/*
 * Parse an RFC 3339 UTC time "YYYY-MM-DDTHH:MM:SS[.fff]Z" into Unix
 * seconds. Returns 0, or -1 when it is not one.
 */
int token_parse_time(const char *s, size_t len, int64_t *out)
	__attribute__((warn_unused_result));

/* Wipe a token in memory. */
void token_wipe(struct token *t);

#endif
