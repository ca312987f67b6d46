/*
 * auth: password logins, verified with argon2id off the loop thread.
 *
 * A login looks the account up on the storage thread, then verifies the
 * password on libuv's thread pool with at most max_concurrent_hashes
 * verifications at once and a bounded waiting queue. An unknown user is
 * verified against a dummy hash with the same parameters, so the answer
 * takes as long as for a real account, and every failure reads the same.
 */
#ifndef PARLEY_AUTH_H
#define PARLEY_AUTH_H

#include <stddef.h>

struct conn;

/* Compute the dummy hash (blocking: call before the loop runs). 0 or -1. */
int auth_init(void) __attribute__((warn_unused_result));

/*
 * Verify user/pw for c. The password is copied and wiped after use. On
 * success the session starts (session.h) and c gets "OK LOGIN user";
 * on failure "ERR AUTH_FAILED ...", and BYE after max_failed_logins.
 * Returns 0 when the check was queued (c is busy until it finishes), -1
 * when the hash queue is full (nothing queued: answer ERR UNAVAILABLE).
 */
int auth_login(struct conn *c, const char *user, const char *pw, size_t len);

/*
 * REGISTER: hash pw (policy already checked by the caller) off the loop,
 * create the account, start the session with "OK REGISTER user". A taken
 * name gives ERR FORBIDDEN. Same return values as auth_login().
 */
int auth_register(struct conn *c, const char *user, const char *pw,
    size_t len);

/*
 * LOGIN <user> without a password: accepted when c presented a client
 * certificate that verified against tls.client_ca and whose CN, or a SAN
 * DNS name or e-mail address, is user, and the account exists and is not
 * locked. Answers like auth_login(). Returns 0 or -1 (out of memory).
 */
int auth_cert_login(struct conn *c, const char *user);

/*
 * RESUME user token: a token from TOKEN stands in for the password (no
 * hash to compute). Answers like auth_login(), with "OK RESUME user".
 */
int auth_resume(struct conn *c, const char *user, const char *token,
    size_t len);

/*
 * PASSWD for the logged-in user of c: verify oldpw, store newpw's hash
 * (policy checked by the caller), revoke the user's tokens and close
 * their other sessions with "BYE password changed"; then "OK PASSWD".
 * A wrong old password gives ERR AUTH_FAILED. Returns as auth_login().
 */
int auth_passwd(struct conn *c, const char *oldpw, size_t oldlen,
    const char *newpw, size_t newlen);

/* Logins waiting for or running a hash (for STATS). */
unsigned auth_queue_depth(void);

#endif
