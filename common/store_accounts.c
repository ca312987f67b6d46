/*
 * store_accounts: users, their resume tokens and public keys, and the
 * database's counts. See store.h for what each call means.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "store_int.h"

/* ---- users ---- */

/* Copy the current row of ST_USER_GET / ST_USER_LIST into *u. */
static int
row_user(struct store *s, sqlite3_stmt *st, struct store_user *u)
{
	const unsigned char *name = sqlite3_column_text(st, 1);
	const unsigned char *hash = sqlite3_column_text(st, 2);
	int nlen = sqlite3_column_bytes(st, 1);
	int hlen = sqlite3_column_bytes(st, 2);

	if (name == NULL || hash == NULL || nlen > NAMES_USER_MAX ||
	    (size_t)hlen >= PWHASH_STR_BYTES) {
		sq_set_err(s, "malformed user row");
		return -1;
	}
	memset(u, 0, sizeof(*u));
	u->id = sqlite3_column_int64(st, 0);
	memcpy(u->name, name, (size_t)nlen);
	memcpy(u->hash, hash, (size_t)hlen);
	u->role = sqlite3_column_int(st, 3);
	u->locked = sqlite3_column_int(st, 4) != 0;
	u->created_ms = sqlite3_column_int64(st, 5);
	return 0;
}

/* Add a user; see store.h. */
int
store_user_add(struct store *s, const char *name, const char *hash,
    int role, int64_t now_ms)
{
	sqlite3_stmt *st;
	enum op_txn txn;
	int rc;

	if (strlen(name) > NAMES_USER_MAX || strlen(hash) >= PWHASH_STR_BYTES ||
	    (role != STORE_ROLE_USER && role != STORE_ROLE_ADMIN)) {
		sq_set_err(s, "invalid user fields");
		return STORE_ERROR;
	}
	if ((rc = sq_op_begin(s, OP_WRITE, &txn)) != STORE_OK)
		return rc;
	rc = STORE_ERROR;
	if ((st = sq_stmt(s, ST_USER_ADD)) == NULL ||
	    sq_bind_name(s, st, 1, name) < 0 || sq_bind_name(s, st, 2, hash) < 0)
		goto out;
	sqlite3_bind_int(st, 3, role);
	sqlite3_bind_int64(st, 4, now_ms);
	if (sq_run(s, st) < 0)
		goto out;
	rc = sqlite3_changes(s->db) == 0 ? STORE_EXISTS : STORE_OK;
out:
	return sq_op_end(s, txn, rc);
}

/* Fetch a user; see store.h. */
int
store_user_get(struct store *s, const char *name, struct store_user *u)
{
	sqlite3_stmt *st;
	enum op_txn txn;
	int rc;

	if ((rc = sq_op_begin(s, OP_READ, &txn)) != STORE_OK)
		return rc;
	rc = STORE_ERROR;
	if ((st = sq_stmt(s, ST_USER_GET)) == NULL || sq_bind_name(s, st, 1, name) < 0)
		goto out;
	switch (sq_step(s, st)) {
	case SQLITE_ROW:
		rc = row_user(s, st, u) < 0 ? STORE_ERROR : STORE_OK;
		break;
	case SQLITE_DONE:
		rc = STORE_NOT_FOUND;
		break;
	default:
		goto out;
	}
	sq_done(st);
out:
	return sq_op_end(s, txn, rc);
}

/*
 * Run one UPDATE/DELETE keyed by user name (?1) with an optional second
 * parameter: STORE_NOT_FOUND when it touched no row.
 */
static int
user_change(struct store *s, enum st id, const char *name, const char *text,
    int64_t num)
{
	sqlite3_stmt *st;
	enum op_txn txn;
	int rc;

	if ((rc = sq_op_begin(s, OP_WRITE, &txn)) != STORE_OK)
		return rc;
	rc = STORE_ERROR;
	if ((st = sq_stmt(s, id)) == NULL || sq_bind_name(s, st, 1, name) < 0)
		goto out;
	if (text != NULL) {
		if (sq_bind_name(s, st, 2, text) < 0)
			goto out;
	} else if (sqlite3_bind_parameter_count(st) >= 2) {
		sqlite3_bind_int64(st, 2, num);
	}
	if (sq_run(s, st) < 0)
		goto out;
	rc = sqlite3_changes(s->db) == 0 ? STORE_NOT_FOUND : STORE_OK;
out:
	return sq_op_end(s, txn, rc);
}

/*
 * Delete a user. Foreign keys cascade to memberships and queued messages;
 * the messages themselves stay as the other parties' history.
 */
int
store_user_del(struct store *s, const char *name)
{
	return user_change(s, ST_USER_DEL, name, NULL, 0);
}

/* Replace a user's password hash. STORE_NOT_FOUND if unknown. */
int
store_user_set_hash(struct store *s, const char *name, const char *hash)
{
	if (strlen(hash) >= PWHASH_STR_BYTES) {
		sq_set_err(s, "hash too long");
		return STORE_ERROR;
	}
	return user_change(s, ST_USER_SET_HASH, name, hash, 0);
}

/*
 * Lock or unlock an account. STORE_NOT_FOUND if unknown. Locking also
 * revokes the account's resume tokens.
 */
int
store_user_set_locked(struct store *s, const char *name, bool locked)
{
	enum op_txn txn;
	int rc;

	if (!locked)
		return user_change(s, ST_USER_SET_LOCKED, name, NULL, 0);
	if ((rc = sq_op_begin(s, OP_MULTI, &txn)) != STORE_OK)
		return rc;
	rc = user_change(s, ST_USER_SET_LOCKED, name, NULL, 1);
	if (rc == STORE_OK)
		rc = store_token_revoke(s, name, NULL);
	return sq_op_end(s, txn, rc);
}

/* Set a user's role (enum store_role). STORE_NOT_FOUND if unknown. */
int
store_user_set_role(struct store *s, const char *name, int role)
{
	if (role != STORE_ROLE_USER && role != STORE_ROLE_ADMIN) {
		sq_set_err(s, "invalid role %d", role);
		return STORE_ERROR;
	}
	return user_change(s, ST_USER_SET_ROLE, name, NULL, role);
}

/* Hand every user to cb, ordered by name; see store.h. */
int
store_user_list(struct store *s, store_user_cb cb, void *ctx)
{
	struct store_user u;
	sqlite3_stmt *st;
	enum op_txn txn;
	int rc, r;

	if ((rc = sq_op_begin(s, OP_READ, &txn)) != STORE_OK)
		return rc;
	rc = STORE_ERROR;
	if ((st = sq_stmt(s, ST_USER_LIST)) == NULL)
		goto out;
	while ((r = sq_step(s, st)) == SQLITE_ROW) {
		if (row_user(s, st, &u) < 0) {
			sq_done(st);
			goto out;
		}
		if (cb(ctx, &u) != 0)
			break;
	}
	if (r < 0)
		goto out;
	sq_done(st);
	rc = STORE_OK;
out:
	return sq_op_end(s, txn, rc);
}

/* ---- resume tokens and public keys ---- */

/* Run st (bound already) that returns no rows; rc for op_end. */
static int
run_rc(struct store *s, sqlite3_stmt *st)
{
	return sq_run(s, st) < 0 ? STORE_ERROR : STORE_OK;
}

int
store_token_add(struct store *s, const char *user,
    const uint8_t hash[STORE_TOKEN_HASH_BYTES], int64_t now_ms,
    int64_t expires_ms)
{
	sqlite3_stmt *st;
	enum op_txn txn;
	int64_t uid;
	int rc;

	if ((rc = sq_op_begin(s, OP_MULTI, &txn)) != STORE_OK)
		return rc;
	if ((rc = sq_lookup_id(s, ST_USER_ID, user, &uid)) != STORE_OK)
		goto out;
	rc = STORE_ERROR;
	/* Expired tokens of this user go as new ones come: no sweeper. */
	if ((st = sq_stmt(s, ST_TOKEN_PURGE)) == NULL ||
	    sqlite3_bind_int64(st, 1, uid) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 2, now_ms) != SQLITE_OK ||
	    sq_run(s, st) < 0)
		goto out;
	if ((st = sq_stmt(s, ST_TOKEN_ADD)) == NULL ||
	    sqlite3_bind_int64(st, 1, uid) != SQLITE_OK ||
	    sqlite3_bind_blob(st, 2, hash, STORE_TOKEN_HASH_BYTES,
	    SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 3, now_ms) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 4, expires_ms) != SQLITE_OK) {
		sq_fail(s);
		goto out;
	}
	rc = run_rc(s, st);
out:
	return sq_op_end(s, txn, rc);
}

int
store_token_check(struct store *s, const char *user,
    const uint8_t hash[STORE_TOKEN_HASH_BYTES], int64_t now_ms,
    struct store_user *u)
{
	sqlite3_stmt *st;
	enum op_txn txn;
	bool match = false;
	int rc, r;

	if ((rc = sq_op_begin(s, OP_READ, &txn)) != STORE_OK)
		return rc;
	if ((rc = store_user_get(s, user, u)) != STORE_OK)
		goto out;
	rc = STORE_ERROR;
	if ((st = sq_stmt(s, ST_TOKEN_LIST)) == NULL ||
	    sqlite3_bind_int64(st, 1, u->id) != SQLITE_OK)
		goto out;
	/* Every token of the user is compared, each in constant time. */
	while ((r = sq_step(s, st)) == SQLITE_ROW) {
		const void *h = sqlite3_column_blob(st, 0);

		if (h != NULL && sqlite3_column_bytes(st, 0) ==
		    STORE_TOKEN_HASH_BYTES &&
		    sodium_memcmp(h, hash, STORE_TOKEN_HASH_BYTES) == 0 &&
		    sqlite3_column_int64(st, 1) > now_ms)
			match = true;
	}
	if (r < 0)
		goto out;
	sq_done(st);
	rc = match && !u->locked ? STORE_OK : STORE_NOT_FOUND;
out:
	return sq_op_end(s, txn, rc);
}

int
store_token_revoke(struct store *s, const char *user, unsigned *count)
{
	sqlite3_stmt *st;
	enum op_txn txn;
	int64_t uid;
	int rc;

	if ((rc = sq_op_begin(s, OP_WRITE, &txn)) != STORE_OK)
		return rc;
	if ((rc = sq_lookup_id(s, ST_USER_ID, user, &uid)) != STORE_OK)
		goto out;
	rc = STORE_ERROR;
	if ((st = sq_stmt(s, ST_TOKEN_DEL_USER)) == NULL ||
	    sqlite3_bind_int64(st, 1, uid) != SQLITE_OK)
		goto out;
	rc = run_rc(s, st);
	if (rc == STORE_OK && count != NULL)
		*count = (unsigned)sqlite3_changes(s->db);
out:
	return sq_op_end(s, txn, rc);
}

int
store_key_set(struct store *s, const char *user,
    const uint8_t key[STORE_PUBKEY_BYTES], int64_t now_ms)
{
	sqlite3_stmt *st;
	enum op_txn txn;
	int64_t uid;
	int rc;

	if ((rc = sq_op_begin(s, OP_WRITE, &txn)) != STORE_OK)
		return rc;
	if ((rc = sq_lookup_id(s, ST_USER_ID, user, &uid)) != STORE_OK)
		goto out;
	rc = STORE_ERROR;
	if ((st = sq_stmt(s, ST_KEY_SET)) == NULL ||
	    sqlite3_bind_int64(st, 1, uid) != SQLITE_OK ||
	    sqlite3_bind_blob(st, 2, key, STORE_PUBKEY_BYTES, SQLITE_STATIC) !=
	    SQLITE_OK || sqlite3_bind_int64(st, 3, now_ms) != SQLITE_OK) {
		sq_fail(s);
		goto out;
	}
	rc = run_rc(s, st);
out:
	return sq_op_end(s, txn, rc);
}

int
store_key_get(struct store *s, const char *user,
    uint8_t key[STORE_PUBKEY_BYTES])
{
	sqlite3_stmt *st;
	enum op_txn txn;
	int64_t uid;
	int rc;

	if ((rc = sq_op_begin(s, OP_READ, &txn)) != STORE_OK)
		return rc;
	if ((rc = sq_lookup_id(s, ST_USER_ID, user, &uid)) != STORE_OK)
		goto out;
	rc = STORE_ERROR;
	if ((st = sq_stmt(s, ST_KEY_GET)) == NULL ||
	    sqlite3_bind_int64(st, 1, uid) != SQLITE_OK)
		goto out;
	switch (sq_step(s, st)) {
	case SQLITE_ROW:
		if (sqlite3_column_bytes(st, 0) == STORE_PUBKEY_BYTES) {
			memcpy(key, sqlite3_column_blob(st, 0),
			    STORE_PUBKEY_BYTES);
			rc = STORE_OK;
		} else {
			rc = STORE_NO_KEY;
		}
		sq_done(st);
		break;
	case SQLITE_DONE:
		rc = STORE_NO_KEY;
		sq_done(st);
		break;
	default:
		break;
	}
out:
	return sq_op_end(s, txn, rc);
}

int
store_counts(struct store *s, struct store_counts *c)
{
	sqlite3_stmt *st;
	enum op_txn txn;
	int rc;

	if ((rc = sq_op_begin(s, OP_READ, &txn)) != STORE_OK)
		return rc;
	rc = STORE_ERROR;
	if ((st = sq_stmt(s, ST_COUNTS)) == NULL)
		goto out;
	if (sq_step(s, st) == SQLITE_ROW) {
		c->users = (uint64_t)sqlite3_column_int64(st, 0);
		c->rooms = (uint64_t)sqlite3_column_int64(st, 1);
		c->last_msg_id = (uint64_t)sqlite3_column_int64(st, 2);
		sq_done(st);
		rc = STORE_OK;
	}
out:
	return sq_op_end(s, txn, rc);
}
