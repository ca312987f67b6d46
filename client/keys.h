/*
 * keys: end-to-end encryption on the client side (docs/E2E.md), on top
 * of common/e2e.h.
 *
 * The account's own X25519 key pair lives in keys/<account>.key in the
 * configuration folder (0600, files.c); the secret key is read into
 * guarded memory (sodium_malloc, no access between uses) and never
 * leaves the file or that memory. Peers' public keys come from the server
 * (GETKEY), once per run and peer, and are checked against known_keys
 * (trust on first use): the first key seen for a peer is recorded; a
 * different one later is reported, messages opened with it are marked
 * unverified, and nothing is encrypted to it until the user accepts it
 * (keys_trust(), "parley trust USER").
 *
 * Fetching is the caller's job, because only the caller knows when a
 * command may be sent: keys_open() says when it needs a peer's key, and
 * the answer to "GETKEY peer" goes to keys_answer() (keys_fetch() does
 * both for callers that may wait).
 */
#ifndef PARLEY_CLIENT_KEYS_H
#define PARLEY_CLIENT_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "e2e.h"
#include "session.h"

/* Standard base64 of a 32-byte key with its NUL: 44 + 1. */
#define KEYS_B64_LEN 45

struct keys;

/*
 * Where keys.c says what happened to a peer's key: warning true for a
 * changed key, false for news (a key seen for the first time). msg is
 * printable text.
 */
typedef void keys_note_fn(void *arg, bool warning, const char *msg);

/*
 * Keys for o->user on o->host:o->port. note (may be NULL: warnings go to
 * session_errorf(), news nowhere) gets the messages above. Nothing is
 * read yet. Returns NULL when out of memory or the names do not fit
 * (reported).
 */
struct keys *keys_new(const struct session_opts *o, keys_note_fn *note,
    void *arg) __attribute__((warn_unused_result));

/* Wipe and free. NULL is a no-op. */
void keys_free(struct keys *k);

/* "alice@chat.example.org:7667", the name of the account's files. */
const char *keys_account(const struct keys *k);

/* ---- the own key pair ---- */

/*
 * Load the own key pair (once; later calls return the first result).
 * Returns 0 loaded, 1 there is none, -1 the file is unusable (reported).
 */
int keys_own_load(struct keys *k) __attribute__((warn_unused_result));

/*
 * Make a new key pair and store it, replacing any earlier one. Returns
 * 0, or -1 (reported; the earlier pair, if any, is still in place).
 */
int keys_own_create(struct keys *k) __attribute__((warn_unused_result));

/* The loaded own public key, base64 and as a fingerprint. */
void keys_own_public(const struct keys *k, char b64[KEYS_B64_LEN]);
void keys_own_fingerprint(const struct keys *k, char fp[E2E_FP_LEN]);

/* ---- peers ---- */

/*
 * The peer whose key opens m: m must be a direct message whose text is
 * an envelope; the peer is the sender, or the recipient when the sender
 * is this account (a message sent from another session). NULL when m is
 * no such message.
 */
const char *keys_msg_peer(const struct keys *k, const struct proto_msg *m);

/* Whether "GETKEY peer" was answered in this run (or is not needed). */
bool keys_fetched(struct keys *k, const char *peer);

/*
 * The final line answering "GETKEY peer": the key is recorded (first
 * use), compared with the trusted one (a change is reported through
 * note, once per run) or the reason there is none is kept. Returns 0;
 * 1 when the server said "not now" (RATE_LIMITED, UNAVAILABLE) and
 * nothing was recorded; -1 when peer is unknown to k or out of memory.
 */
int keys_answer(struct keys *k, const char *peer, const char *line,
    size_t len);

/*
 * Send "GETKEY peer" on s, wait for the answer (events go to the
 * session's handler meanwhile; RATE_LIMITED is waited out a few times)
 * and record it. Returns SESSION_EXIT_OK, or SESSION_EXIT_LOST
 * (reported).
 */
int keys_fetch(struct keys *k, struct session *s, const char *peer)
	__attribute__((warn_unused_result));

/* What is known about a peer's key after keys_fetch(). */
struct keys_peer_info {
	bool have_server;               /* the server gave a key */
	bool have_known;                /* a trusted key is on record */
	bool changed;                   /* both, and they differ */
	bool first_use;                 /* recorded in this run */
	char server_fp[E2E_FP_LEN];
	char known_fp[E2E_FP_LEN];
	char why[160];                  /* why there is no server key */
};
void keys_peer_info(struct keys *k, const char *peer,
    struct keys_peer_info *out);

/*
 * Trust the key the server gave for peer (after keys_fetch()): it
 * replaces the one on record in known_keys. Returns 0, or -1 (reported)
 * when there is no key to trust or it cannot be stored.
 */
int keys_trust(struct keys *k, const char *peer)
	__attribute__((warn_unused_result));

/*
 * Encrypt text[0..len) for peer (after keys_fetch()) into a malloc'd
 * NUL-terminated envelope *env of *elen bytes. Returns SESSION_EXIT_OK;
 * or, with the reason in why (cap bytes), SESSION_EXIT_USAGE (no own key
 * pair), SESSION_EXIT_REFUSED (the peer has no key) or
 * SESSION_EXIT_KEY_CHANGED (the peer's key changed and is not trusted
 * yet).
 */
int keys_seal(struct keys *k, const char *peer, const char *text,
    size_t len, char **env, size_t *elen, char *why, size_t cap)
	__attribute__((warn_unused_result));

/* A message as it is to be shown. */
struct keys_opened {
	bool e2e;                       /* an envelope in a direct message */
	bool ok;                        /* opened: text is the plaintext */
	bool unverified;                /* opened with a changed key */
	char why[160];                  /* why not, when !ok */
	char *text;                     /* malloc'd plaintext, NUL-ended */
	size_t len;
	size_t cap;                     /* bytes allocated for text */
};

enum keys_open_result {
	KEYS_OPEN_DONE,                 /* *out is filled */
	KEYS_OPEN_FETCH,                /* fetch keys_msg_peer()'s key first */
};

/*
 * Open m if it is an envelope. Returns KEYS_OPEN_FETCH when the peer's
 * key must be fetched before it can be decided (never with final: then
 * the message is shown as not decryptable), else KEYS_OPEN_DONE with
 * *out filled (out->e2e false: show m as it is). Clear *out after use.
 */
enum keys_open_result keys_open(struct keys *k, const struct proto_msg *m,
    bool final, struct keys_opened *out);

/* Wipe and free the plaintext. */
void keys_opened_clear(struct keys_opened *o);

#endif
