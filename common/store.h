/*
 * store: parley's SQLite database — accounts, rooms, memberships, messages
 * and the offline queue. The only module that includes sqlite3.h.
 *
 * Every function runs synchronously on one connection and may block on
 * disk I/O or on another process's lock (busy timeout), so parleyd only
 * calls it from its storage thread; parleyctl calls it directly. A struct
 * store is used by one thread at a time.
 *
 * Results: STORE_OK (0), a positive "no" the caller reports to the user,
 * or STORE_ERROR when the database could not do it now (busy, disk full,
 * I/O error): nothing was changed and the caller may retry later.
 *
 * Message ids come from the database (INTEGER PRIMARY KEY AUTOINCREMENT),
 * so they are unique, never reused and strictly increasing in commit order.
 * Times are milliseconds since the Unix epoch.
 */
#ifndef PARLEY_STORE_H
#define PARLEY_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "parley_limits.h"
#include "pwhash.h"

#define STORE_WUR __attribute__((warn_unused_result))

enum store_rc {
	STORE_ERROR = -1,
	STORE_OK = 0,
	STORE_NOT_FOUND,        /* the user or room does not exist */
	STORE_EXISTS,           /* a user of that name exists already */
	STORE_NOT_MEMBER,       /* the room exists; the user is not in it */
	STORE_NO_KEY,           /* the user exists and has no public key */
};

/* store_open flags */
#define STORE_CREATE     0x1    /* create the file and schema if missing */
#define STORE_SYNC_FULL  0x2    /* synchronous=FULL (power-loss safe) */

enum store_role {
	STORE_ROLE_USER = 0,
	STORE_ROLE_ADMIN = 1,
};

struct store;

/*
 * Open the database at path: WAL journal, synchronous NORMAL or FULL,
 * foreign keys on, a busy timeout of busy_ms. Only STORE_CREATE creates a
 * missing file (without it: "database PATH does not exist"). The schema is
 * created or migrated to the current version in one transaction; a schema
 * newer than this build or another application's database is refused.
 * ":memory:" opens a private in-memory database (tests, fuzzing).
 * Returns NULL with a one-line reason in err. Free with store_close().
 */
struct store *store_open(const char *path, unsigned flags, int busy_ms,
    char *err, size_t errlen);

/*
 * WAL checkpoints. SQLite's default copies the WAL back into the database
 * inside the commit that takes it past 1000 pages, so some commits wait
 * for a checkpoint and its fsyncs. store_wal_watch() turns that off and
 * calls fn(arg, pages) after every commit with the WAL's length instead;
 * the caller checkpoints when it sees fit, from this or another connection
 * (fn NULL: back to SQLite's default). fn runs inside the commit: it may
 * call store_checkpoint() on s, nothing else.
 */
typedef void (*store_wal_fn)(void *arg, int wal_pages);
void store_wal_watch(struct store *s, store_wal_fn fn, void *arg);

/*
 * One PASSIVE checkpoint: copy what it can without waiting for anyone.
 * Sets the WAL's length and how much of it is now in the database, in
 * pages (-1 when not in WAL mode). STORE_OK (also when another checkpoint
 * was running) or STORE_ERROR.
 */
int store_checkpoint(struct store *s, int *wal_pages, int *copied)
	STORE_WUR;

/* Checkpoint the WAL where possible and close. store_close(NULL) is a no-op. */
void store_close(struct store *s);

/* Why the last call returned STORE_ERROR (SQLite's message, for logs). */
const char *store_errmsg(struct store *s);

/*
 * Group several calls into one transaction (BEGIN IMMEDIATE ... COMMIT).
 * Calls made outside one run in their own transaction. A call that fails
 * inside a group is undone alone; if SQLite had to abort the whole group
 * (disk full, I/O error), every later call fails until the caller ends it.
 * A failed store_commit() has rolled back: none of the group is stored.
 * store_rollback() is harmless when no transaction is open.
 */
int store_begin(struct store *s) STORE_WUR;
int store_commit(struct store *s) STORE_WUR;
void store_rollback(struct store *s);

/* ---- users ---- */

struct store_user {
	int64_t id;
	char name[NAMES_USER_MAX + 1];
	char hash[PWHASH_STR_BYTES];
	int role;               /* enum store_role */
	bool locked;
	int64_t created_ms;
};

/* Add a user (name already normalised). STORE_EXISTS if taken. */
int store_user_add(struct store *s, const char *name, const char *hash,
    int role, int64_t now_ms) STORE_WUR;

/* Fetch a user into *u. STORE_NOT_FOUND if unknown. */
int store_user_get(struct store *s, const char *name, struct store_user *u)
	STORE_WUR;

/* Delete a user with their memberships and queued messages. */
int store_user_del(struct store *s, const char *name) STORE_WUR;

int store_user_set_hash(struct store *s, const char *name, const char *hash)
	STORE_WUR;
int store_user_set_locked(struct store *s, const char *name, bool locked)
	STORE_WUR;
int store_user_set_role(struct store *s, const char *name, int role)
	STORE_WUR;

/*
 * Callbacks return 0 to go on, non-zero to stop (the call then returns OK).
 * They run inside the call and must not call back into the same store.
 */
typedef int (*store_user_cb)(void *ctx, const struct store_user *u);

/* Every user, ordered by name. */
int store_user_list(struct store *s, store_user_cb cb, void *ctx) STORE_WUR;

/* ---- messages ---- */

struct store_msg {
	uint64_t id;
	int64_t time_ms;
	const char *from;       /* user name */
	const char *to;         /* "#room" or user name */
	const char *text;       /* not NUL-terminated */
	size_t text_len;
};

/* Pointers in *m are valid during the callback only. */
typedef int (*store_msg_cb)(void *ctx, const struct store_msg *m);

/*
 * Store a direct message from -> to and queue it for to's next login.
 * STORE_NOT_FOUND if to does not exist. Sets *id.
 */
int store_dm_append(struct store *s, const char *from, const char *to,
    const char *text, size_t len, int64_t now_ms, uint64_t *id) STORE_WUR;

/*
 * The offline queue is read in pages and acknowledged after delivery, so a
 * connection lost halfway loses nothing: what was not acknowledged stays
 * queued for the next login.
 *
 * store_pending_max: the newest queued id of user in *max_id (0: none).
 * store_pending_list: queued messages of user with after_id < id <= upto_id
 * (upto_id 0: no bound), oldest first, at most limit, to cb.
 * store_pending_ack: remove user's queued messages with id <= upto_id.
 */
int store_pending_max(struct store *s, const char *user, uint64_t *max_id)
	STORE_WUR;
int store_pending_list(struct store *s, const char *user, uint64_t after_id,
    uint64_t upto_id, unsigned limit, store_msg_cb cb, void *ctx) STORE_WUR;
int store_pending_ack(struct store *s, const char *user, uint64_t upto_id)
	STORE_WUR;

/*
 * Remove one message from user's queue: it was delivered live. STORE_OK
 * also when it was not queued.
 */
int store_pending_done(struct store *s, const char *user, uint64_t msg_id)
	STORE_WUR;

/* ---- rooms ---- */

/*
 * Make user a member of room, creating the room if new. Sets *created when
 * the room was made and *was_member when user was in it already.
 * STORE_NOT_FOUND if the user does not exist.
 */
int store_room_join(struct store *s, const char *room, const char *user,
    int64_t now_ms, bool *created, bool *was_member) STORE_WUR;

/* STORE_NOT_FOUND (no such room) or STORE_NOT_MEMBER. */
int store_room_leave(struct store *s, const char *room, const char *user)
	STORE_WUR;

/* Store a room message. STORE_NOT_FOUND or STORE_NOT_MEMBER. Sets *id. */
int store_room_append(struct store *s, const char *from, const char *room,
    const char *text, size_t len, int64_t now_ms, uint64_t *id) STORE_WUR;

typedef int (*store_room_cb)(void *ctx, const char *room, unsigned members);

/* Every room with its member count (online and offline), ordered by name. */
int store_room_list(struct store *s, store_room_cb cb, void *ctx) STORE_WUR;

/* The rooms user is in, ordered by name (members: the room's count). */
int store_user_rooms(struct store *s, const char *user, store_room_cb cb,
    void *ctx) STORE_WUR;

typedef int (*store_member_cb)(void *ctx, const char *user);

/* The members of room, ordered by name. STORE_NOT_FOUND if no such room. */
int store_room_members(struct store *s, const char *room, store_member_cb cb,
    void *ctx) STORE_WUR;

/*
 * HISTORY: the newest `limit` messages with id < before_id (0: no bound) of
 * target as seen by user, oldest first. target is "#room" (user must be a
 * member: STORE_NOT_MEMBER; STORE_NOT_FOUND if no such room) or a user
 * name (their direct conversation, both directions; STORE_NOT_FOUND if no
 * such user).
 */
int store_history(struct store *s, const char *user, const char *target,
    unsigned limit, uint64_t before_id, store_msg_cb cb, void *ctx) STORE_WUR;

/*
 * SYNC: the oldest `limit` messages with id > since_id visible to user
 * (direct messages in both directions, messages of rooms user is in now),
 * oldest first. limit is capped at SYNC_LIMIT_MAX. STORE_NOT_FOUND if no
 * such user.
 */
int store_sync(struct store *s, const char *user, uint64_t since_id,
    unsigned limit, store_msg_cb cb, void *ctx) STORE_WUR;

/* ---- resume tokens, public keys, counts ---- */

#define STORE_TOKEN_HASH_BYTES 32
#define STORE_PUBKEY_BYTES     32

/*
 * Store the keyed hash of a new resume token of user (never the token),
 * dropping the user's expired ones. STORE_NOT_FOUND if no such user.
 */
int store_token_add(struct store *s, const char *user,
    const uint8_t hash[STORE_TOKEN_HASH_BYTES], int64_t now_ms,
    int64_t expires_ms) STORE_WUR;

/*
 * STORE_OK and the account in *u when user has an unexpired token with
 * this hash and is not locked; STORE_NOT_FOUND otherwise (no such user,
 * no such token, expired, locked). Hashes are compared in constant time.
 */
int store_token_check(struct store *s, const char *user,
    const uint8_t hash[STORE_TOKEN_HASH_BYTES], int64_t now_ms,
    struct store_user *u) STORE_WUR;

/* Revoke every token of user; *count (may be NULL) gets how many. */
int store_token_revoke(struct store *s, const char *user, unsigned *count)
	STORE_WUR;

/* Set user's X25519 public key. STORE_NOT_FOUND if no such user. */
int store_key_set(struct store *s, const char *user,
    const uint8_t key[STORE_PUBKEY_BYTES], int64_t now_ms) STORE_WUR;

/* Get it: STORE_NOT_FOUND (no user) or STORE_NO_KEY (none set). */
int store_key_get(struct store *s, const char *user,
    uint8_t key[STORE_PUBKEY_BYTES]) STORE_WUR;

struct store_counts {
	uint64_t users;
	uint64_t rooms;
	uint64_t last_msg_id;           /* messages stored, ids from 1 */
};

int store_counts(struct store *s, struct store_counts *c) STORE_WUR;

#endif
