/*
 * store_int: what the store's files share — the connection, the ids of
 * the prepared statements and the helpers that run them. Only the
 * store*.c files include it; they are the only ones that see sqlite3.h.
 *
 *   store.c           schema, statements, helpers, open/close, transactions,
 *                     WAL checkpoints
 *   store_accounts.c  users, resume tokens, public keys, counts
 *   store_messages.c  messages, the offline queue, rooms, HISTORY and SYNC
 */
#ifndef PARLEY_STORE_INT_H
#define PARLEY_STORE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "store.h"

/* Columns every message query returns, in this order. */
#define MSG_COLS "id, time_ms, sender, target, body"

/* The prepared statements, made on first use and kept until close. */
enum st {
	ST_BEGIN,
	ST_BEGIN_WRITE,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_SAVEPOINT,
	ST_RELEASE,
	ST_ROLLBACK_TO,
	ST_USER_ID,
	ST_USER_ADD,
	ST_USER_GET,
	ST_USER_DEL,
	ST_USER_SET_HASH,
	ST_USER_SET_LOCKED,
	ST_USER_SET_ROLE,
	ST_USER_LIST,
	ST_DM_ADD,
	ST_PENDING_ADD,
	ST_PENDING_MAX,
	ST_PENDING_LIST,
	ST_PENDING_ACK,
	ST_PENDING_DONE,
	ST_ROOM_ADD,
	ST_ROOM_ID,
	ST_ROOM_SENDER,
	ST_ROOM_MSG_ADD,
	ST_MEMBER_ADD,
	ST_MEMBER_DEL,
	ST_ROOM_LIST,
	ST_USER_ROOMS,
	ST_ROOM_MEMBERS,
	ST_HIST_ROOM,
	ST_HIST_DM,
	ST_SYNC_ROOMS,
	ST_SYNC_ROOM,
	ST_SYNC_DM_FROM,
	ST_SYNC_DM_TO,
	ST_MSG_GET,
	ST_TOKEN_ADD,
	ST_TOKEN_LIST,
	ST_TOKEN_DEL_USER,
	ST_TOKEN_PURGE,
	ST_KEY_SET,
	ST_KEY_GET,
	ST_COUNTS,
	ST__COUNT
};

struct store {
	sqlite3 *db;
	sqlite3_stmt *st[ST__COUNT];
	bool in_txn;                    /* between store_begin and commit */
	char err[256];                  /* why the last STORE_ERROR */
	store_wal_fn wal_fn;            /* store_wal_watch() */
	void *wal_arg;
};

/* How one operation keeps its statements atomic: see op_begin(). */
enum op_kind {
	OP_READ,        /* reads only */
	OP_WRITE,       /* reads, then at most one writing statement */
	OP_MULTI,       /* several writing statements */
};

enum op_txn {
	OP_TXN_NONE,    /* inside the caller's transaction, nothing to undo */
	OP_TXN_OWN,     /* our own BEGIN ... COMMIT */
	OP_TXN_SAVE,    /* a savepoint inside the caller's transaction */
};

/* ---- helpers, in store.c ---- */

/* Record why the current call fails (store_errmsg). */
void sq_set_err(struct store *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Record SQLite's last message; returns STORE_ERROR. */
int sq_fail(struct store *s);
/* The cached statement id, prepared on first use; NULL on error. */
sqlite3_stmt *sq_stmt(struct store *s, enum st id);
/* Return a statement to the cache: reset, bindings cleared. */
void sq_done(sqlite3_stmt *st);
/* Step once: SQLITE_ROW, SQLITE_DONE, or -1 (recorded, st reset). */
int sq_step(struct store *s, sqlite3_stmt *st);
/* Run a statement that returns no rows: 0 or -1. */
int sq_run(struct store *s, sqlite3_stmt *st);
/* Run a cached statement without parameters. */
int sq_run_id(struct store *s, enum st id);
/* Bind text of known length, or a NUL-terminated name: 0 or -1. */
int sq_bind_text(struct store *s, sqlite3_stmt *st, int i, const char *p,
    size_t len);
int sq_bind_name(struct store *s, sqlite3_stmt *st, int i, const char *name);
/* Message ids are uint64 on the wire and int64 in SQLite: clamp. */
int64_t sq_id_bound(uint64_t id);
/* One operation's transaction or savepoint; see store.c. */
int sq_op_begin(struct store *s, enum op_kind kind, enum op_txn *txn);
int sq_op_end(struct store *s, enum op_txn txn, int rc);
/* A one-column id query by name: STORE_OK, STORE_NOT_FOUND, STORE_ERROR. */
int sq_lookup_id(struct store *s, enum st id, const char *name,
    int64_t *out);

#endif
