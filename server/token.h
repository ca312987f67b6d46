/*
 * token: resume tokens (SPEC §3 TOKEN / RESUME).
 *
 * A token is 32 bytes from libsodium's RNG, given to the client in
 * base64url. The server keeps only BLAKE2b(token) keyed with a secret that
 * lives in a file next to the database (token.key, mode 0600), so neither
 * the database alone nor a log line lets anyone resume a session.
 */
#ifndef PARLEY_TOKEN_H
#define PARLEY_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

#define TOKEN_BYTES     32
#define TOKEN_TEXT_MAX  64              /* base64url of 32 bytes + NUL */

/*
 * Load the key from keyfile, creating it (0600) if missing. Returns 0, or
 * -1 with a reason in err.
 */
int token_init(const char *keyfile, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/* Wipe the key. */
void token_fini(void);

/* Make a new token: its text for the client and its hash for the store. */
void token_new(char text[TOKEN_TEXT_MAX],
    uint8_t hash[STORE_TOKEN_HASH_BYTES]);

/* Hash a token given by a client. Returns 0, or -1 if it is malformed. */
int token_hash(const char *text, size_t len,
    uint8_t hash[STORE_TOKEN_HASH_BYTES]);

#endif
