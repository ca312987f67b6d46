/*
 * pwhash: argon2id password hashing (libsodium crypto_pwhash_str) and the
 * password policy shared by parleyd (REGISTER, PASSWD) and parleyctl.
 *
 * Hashing is slow and memory-hungry on purpose: never call pwhash_hash or
 * pwhash_verify on an event-loop thread.
 */
#ifndef PARLEY_PWHASH_H
#define PARLEY_PWHASH_H

#include <stdbool.h>
#include <stddef.h>
#include <sodium.h>

#define PWHASH_STR_BYTES crypto_pwhash_STRBYTES

struct pwhash_params {
	unsigned long long ops;    /* argon2id opslimit */
	size_t mem;                /* argon2id memlimit in bytes */
};

/* Call once before any other function (wraps sodium_init). 0 or -1. */
int pwhash_init(void) __attribute__((warn_unused_result));

/*
 * Hash pw[0..len) into out (a PHC string, NUL-terminated). Returns 0, or -1
 * when out of memory.
 */
int pwhash_hash(char out[PWHASH_STR_BYTES], const char *pw, size_t len,
    const struct pwhash_params *p) __attribute__((warn_unused_result));

/* Returns 0 when pw matches the stored PHC string, -1 otherwise. */
int pwhash_verify(const char *stored, const char *pw, size_t len)
	__attribute__((warn_unused_result));

/* True when stored was made with other parameters than p (or is invalid). */
bool pwhash_needs_rehash(const char *stored, const struct pwhash_params *p);

enum pwpolicy {
	PWPOLICY_OK,
	PWPOLICY_TOO_SHORT,
	PWPOLICY_TOO_LONG,
	PWPOLICY_BAD_UTF8,         /* invalid UTF-8, NUL or controls (TAB is allowed) */
	PWPOLICY_COMMON,           /* on the common-passwords list */
};

/*
 * Check a new password: at least min_cp and at most PASSWORD_MAX_CODEPOINTS
 * code points, valid UTF-8 without control characters, and not a commonly
 * used password. Never truncates.
 */
enum pwpolicy pwhash_policy(const char *pw, size_t len, unsigned min_cp);

/* A human sentence explaining a policy failure (static string). */
const char *pwhash_policy_str(enum pwpolicy r, unsigned min_cp);

#endif
