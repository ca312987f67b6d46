/*
 * store: parley's SQLite database. It owns the schema and its migrations,
 * one connection per struct store, and a cache of prepared statements so
 * the message path never parses SQL. It knows nothing of sockets, sessions
 * or the protocol: callers pass normalised names and validated text, and
 * decide what a result means for a client.
 *
 * Durability is SQLite's: WAL journal, synchronous NORMAL (survives a
 * process crash) or FULL (survives power loss). Throughput comes from the
 * caller grouping many calls between store_begin() and store_commit(), so
 * one fsync covers a batch of messages.
 *
 * Users and direct messages are tied together by user id, never by name:
 * user ids are AUTOINCREMENT too, so a user created later under a deleted
 * user's name gets a new id and cannot read the old user's conversations.
 * Message rows keep the names as they were when sent, for display.
 *
 * This file holds the schema, the statements and the helpers that run
 * them, opening, transactions and checkpoints; store_accounts.c and
 * store_messages.c the queries (store_int.h says what they share).
 */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sqlite3.h>

#include "store.h"
#include "store_int.h"

/* PRAGMA application_id: "PRLY", so a foreign SQLite file is refused. */
#define STORE_APP_ID 0x50524c59

/*
 * Schema migrations: step i takes the database from user_version i to
 * i + 1. Later versions append steps here and never edit earlier ones;
 * store_open() runs the missing steps in one transaction.
 *
 * Room for what comes next: session tokens and public keys will be new
 * tables keyed by users(id) ON DELETE CASCADE, so deleting a user keeps
 * removing everything personal while messages stay for the other party.
 */
static const char *const migrations[] = {
	/* 0 -> 1: accounts, rooms, messages, offline queue. */
	"CREATE TABLE users ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  name TEXT NOT NULL UNIQUE,"
	"  hash TEXT NOT NULL,"
	"  role INTEGER NOT NULL DEFAULT 0 CHECK (role IN (0, 1)),"
	"  locked INTEGER NOT NULL DEFAULT 0 CHECK (locked IN (0, 1)),"
	"  created_ms INTEGER NOT NULL"
	");"
	"CREATE TABLE rooms ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  name TEXT NOT NULL UNIQUE,"
	"  created_ms INTEGER NOT NULL"
	");"
	"CREATE TABLE members ("
	"  room_id INTEGER NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,"
	"  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
	"  joined_ms INTEGER NOT NULL,"
	"  PRIMARY KEY (room_id, user_id)"
	") WITHOUT ROWID;"
	"CREATE INDEX members_user ON members(user_id, room_id);"
	/*
	 * A message goes either to a room (room_id) or to a user
	 * (recipient_id). sender_id and recipient_id carry no foreign key:
	 * the rows outlive a deleted account as the other party's history.
	 */
	"CREATE TABLE messages ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  time_ms INTEGER NOT NULL,"
	"  sender TEXT NOT NULL,"
	"  target TEXT NOT NULL,"
	"  sender_id INTEGER NOT NULL,"
	"  room_id INTEGER REFERENCES rooms(id),"
	"  recipient_id INTEGER,"
	"  body TEXT NOT NULL,"
	"  CHECK ((room_id IS NULL) <> (recipient_id IS NULL))"
	");"
	/*
	 * Every index ends in the rowid (the message id), so each one below
	 * is a stream in id order: HISTORY and SYNC read them as range scans
	 * and stop after `limit` rows, however large the table grows.
	 */
	"CREATE INDEX messages_room ON messages(room_id)"
	"  WHERE room_id IS NOT NULL;"
	"CREATE INDEX messages_dm_from ON messages(sender_id)"
	"  WHERE recipient_id IS NOT NULL;"
	"CREATE INDEX messages_dm_to ON messages(recipient_id)"
	"  WHERE recipient_id IS NOT NULL;"
	/* One conversation, both directions: the unordered pair of ids. */
	"CREATE INDEX messages_dm_pair ON messages("
	"  min(sender_id, recipient_id), max(sender_id, recipient_id))"
	"  WHERE recipient_id IS NOT NULL;"
	"CREATE TABLE pending ("
	"  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
	"  msg_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,"
	"  PRIMARY KEY (user_id, msg_id)"
	") WITHOUT ROWID;",
	/*
	 * 1 -> 2: resume tokens (only their keyed hash) and public keys for
	 * end-to-end encryption; both go with the account.
	 */
	"CREATE TABLE tokens ("
	"  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
	"  hash BLOB NOT NULL,"
	"  created_ms INTEGER NOT NULL,"
	"  expires_ms INTEGER NOT NULL,"
	"  PRIMARY KEY (user_id, hash)"
	") WITHOUT ROWID;"
	"CREATE TABLE pubkeys ("
	"  user_id INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,"
	"  pubkey BLOB NOT NULL,"
	"  set_ms INTEGER NOT NULL"
	");",
};

#define SCHEMA_VERSION ((int)(sizeof(migrations) / sizeof(migrations[0])))

static const char *const st_sql[ST__COUNT] = {
	[ST_BEGIN] = "BEGIN",
	[ST_BEGIN_WRITE] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_SAVEPOINT] = "SAVEPOINT store_op",
	[ST_RELEASE] = "RELEASE store_op",
	[ST_ROLLBACK_TO] = "ROLLBACK TO store_op",

	[ST_USER_ID] = "SELECT id FROM users WHERE name = ?1",
	[ST_USER_ADD] = "INSERT INTO users (name, hash, role, created_ms)"
	    " VALUES (?1, ?2, ?3, ?4) ON CONFLICT (name) DO NOTHING",
	[ST_USER_GET] = "SELECT id, name, hash, role, locked, created_ms"
	    " FROM users WHERE name = ?1",
	[ST_USER_DEL] = "DELETE FROM users WHERE name = ?1",
	[ST_USER_SET_HASH] = "UPDATE users SET hash = ?2 WHERE name = ?1",
	[ST_USER_SET_LOCKED] = "UPDATE users SET locked = ?2 WHERE name = ?1",
	[ST_USER_SET_ROLE] = "UPDATE users SET role = ?2 WHERE name = ?1",
	[ST_USER_LIST] = "SELECT id, name, hash, role, locked, created_ms"
	    " FROM users ORDER BY name",

	[ST_DM_ADD] = "INSERT INTO messages"
	    " (time_ms, sender, target, sender_id, recipient_id, body)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[ST_PENDING_ADD] = "INSERT OR IGNORE INTO pending (user_id, msg_id)"
	    " VALUES (?1, ?2)",
	[ST_PENDING_MAX] = "SELECT msg_id FROM pending WHERE user_id = ?1"
	    " ORDER BY msg_id DESC LIMIT 1",
	[ST_PENDING_LIST] = "SELECT m.id, m.time_ms, m.sender, m.target, m.body"
	    " FROM pending p JOIN messages m ON m.id = p.msg_id"
	    " WHERE p.user_id = ?1 AND p.msg_id > ?2 AND p.msg_id <= ?3"
	    " ORDER BY p.msg_id LIMIT ?4",
	[ST_PENDING_ACK] = "DELETE FROM pending"
	    " WHERE user_id = ?1 AND msg_id <= ?2",
	[ST_PENDING_DONE] = "DELETE FROM pending WHERE msg_id = ?2"
	    " AND user_id = (SELECT id FROM users WHERE name = ?1)",

	[ST_ROOM_ADD] = "INSERT INTO rooms (name, created_ms) VALUES (?1, ?2)"
	    " ON CONFLICT (name) DO NOTHING",
	[ST_ROOM_ID] = "SELECT id FROM rooms WHERE name = ?1",
	/* Room id, sender id (NULL: no such user), sender is a member. */
	[ST_ROOM_SENDER] = "SELECT r.id, u.id, EXISTS (SELECT 1 FROM members m"
	    " WHERE m.room_id = r.id AND m.user_id = u.id)"
	    " FROM rooms r LEFT JOIN users u ON u.name = ?2 WHERE r.name = ?1",
	[ST_ROOM_MSG_ADD] = "INSERT INTO messages"
	    " (time_ms, sender, target, sender_id, room_id, body)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[ST_MEMBER_ADD] = "INSERT INTO members (room_id, user_id, joined_ms)"
	    " VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
	[ST_MEMBER_DEL] = "DELETE FROM members WHERE room_id = ?1"
	    " AND user_id = (SELECT id FROM users WHERE name = ?2)",
	[ST_ROOM_LIST] = "SELECT r.name, (SELECT count(*) FROM members m"
	    " WHERE m.room_id = r.id) FROM rooms r ORDER BY r.name",
	[ST_USER_ROOMS] = "SELECT r.name, (SELECT count(*) FROM members c"
	    " WHERE c.room_id = r.id)"
	    " FROM members m JOIN rooms r ON r.id = m.room_id"
	    " WHERE m.user_id = ?1 ORDER BY r.name",
	[ST_ROOM_MEMBERS] = "SELECT u.name FROM members m"
	    " JOIN users u ON u.id = m.user_id"
	    " WHERE m.room_id = ?1 ORDER BY u.name",

	/* Newest `limit` below the bound, handed out oldest first. */
	[ST_HIST_ROOM] = "SELECT * FROM (SELECT " MSG_COLS " FROM messages"
	    " WHERE room_id = ?1 AND id < ?2 ORDER BY id DESC LIMIT ?3)"
	    " ORDER BY id",
	/* The expressions match messages_dm_pair so the index is used. */
	[ST_HIST_DM] = "SELECT * FROM (SELECT " MSG_COLS " FROM messages"
	    " WHERE recipient_id IS NOT NULL"
	    " AND min(sender_id, recipient_id) = ?1"
	    " AND max(sender_id, recipient_id) = ?2"
	    " AND id < ?3 ORDER BY id DESC LIMIT ?4) ORDER BY id",

	/* SYNC streams: ids in (?2, ?3), ascending, at most ?4. */
	[ST_SYNC_ROOMS] = "SELECT room_id FROM members WHERE user_id = ?1",
	[ST_SYNC_ROOM] = "SELECT id FROM messages WHERE room_id = ?1"
	    " AND id > ?2 AND id < ?3 ORDER BY id LIMIT ?4",
	[ST_SYNC_DM_FROM] = "SELECT id FROM messages WHERE sender_id = ?1"
	    " AND recipient_id IS NOT NULL"
	    " AND id > ?2 AND id < ?3 ORDER BY id LIMIT ?4",
	[ST_SYNC_DM_TO] = "SELECT id FROM messages WHERE recipient_id = ?1"
	    " AND id > ?2 AND id < ?3 ORDER BY id LIMIT ?4",
	[ST_MSG_GET] = "SELECT " MSG_COLS " FROM messages WHERE id = ?1",
	[ST_TOKEN_ADD] = "INSERT INTO tokens (user_id, hash, created_ms,"
	    " expires_ms) VALUES (?1, ?2, ?3, ?4)",
	[ST_TOKEN_LIST] = "SELECT hash, expires_ms FROM tokens WHERE user_id = ?1",
	[ST_TOKEN_DEL_USER] = "DELETE FROM tokens WHERE user_id = ?1",
	[ST_TOKEN_PURGE] = "DELETE FROM tokens WHERE user_id = ?1"
	    " AND expires_ms <= ?2",
	[ST_KEY_SET] = "INSERT INTO pubkeys (user_id, pubkey, set_ms)"
	    " VALUES (?1, ?2, ?3) ON CONFLICT (user_id) DO UPDATE"
	    " SET pubkey = excluded.pubkey, set_ms = excluded.set_ms",
	[ST_KEY_GET] = "SELECT pubkey FROM pubkeys WHERE user_id = ?1",
	[ST_COUNTS] = "SELECT (SELECT count(*) FROM users),"
	    " (SELECT count(*) FROM rooms), (SELECT max(id) FROM messages)",
};

void
sq_set_err(struct store *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->err, sizeof(s->err), fmt, ap);
	va_end(ap);
}

/*
 * Record SQLite's message for the failure that just happened and return
 * STORE_ERROR. Called before any rollback, which would overwrite it.
 */
int
sq_fail(struct store *s)
{
	sq_set_err(s, "%s", sqlite3_errmsg(s->db));
	return STORE_ERROR;
}

/* The cached statement id, prepared on first use; NULL on error. */
sqlite3_stmt *
sq_stmt(struct store *s, enum st id)
{
	int rc;

	assert(id < ST__COUNT && st_sql[id] != NULL);
	if (s->st[id] != NULL)
		return s->st[id];
	rc = sqlite3_prepare_v3(s->db, st_sql[id], -1,
	    SQLITE_PREPARE_PERSISTENT, &s->st[id], NULL);
	if (rc != SQLITE_OK) {
		sq_fail(s);
		s->st[id] = NULL;
	}
	return s->st[id];
}

/* Return a statement to the cache: no read lock held, no bindings kept. */
void
sq_done(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

/*
 * Step st once. Returns SQLITE_ROW or SQLITE_DONE (st left as is), or -1
 * with the error recorded and st reset.
 */
int
sq_step(struct store *s, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW || rc == SQLITE_DONE)
		return rc;
	sq_fail(s);
	sq_done(st);
	return -1;
}

/* Run a statement that returns no rows. 0 or -1. */
int
sq_run(struct store *s, sqlite3_stmt *st)
{
	int rc = sq_step(s, st);

	if (rc < 0)
		return -1;
	sq_done(st);
	if (rc != SQLITE_DONE) {
		sq_set_err(s, "statement returned rows");
		return -1;
	}
	return 0;
}

/* Run a cached statement without parameters (transaction control). */
int
sq_run_id(struct store *s, enum st id)
{
	sqlite3_stmt *st = sq_stmt(s, id);

	return st == NULL ? -1 : sq_run(s, st);
}

/* Bind text of known length; 0, or -1 with the error recorded. */
int
sq_bind_text(struct store *s, sqlite3_stmt *st, int i, const char *p, size_t len)
{
	if (sqlite3_bind_text64(st, i, p, len, SQLITE_STATIC, SQLITE_UTF8) !=
	    SQLITE_OK)
		return sq_fail(s);
	return 0;
}

/* Bind a NUL-terminated name. */
int
sq_bind_name(struct store *s, sqlite3_stmt *st, int i, const char *name)
{
	return sq_bind_text(s, st, i, name, strlen(name));
}

/* Message ids are uint64 on the wire and int64 in SQLite: clamp. */
int64_t
sq_id_bound(uint64_t id)
{
	return id > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)id;
}

/*
 * Start one operation. Outside a caller's transaction, reads get a
 * deferred transaction (one consistent snapshot) and writes an immediate
 * one: taking the write lock up front means the busy timeout applies,
 * where upgrading a read snapshot could fail at once with SQLITE_BUSY.
 * Inside the caller's transaction only several writes need a savepoint,
 * so a failure half-way undoes this operation and not the whole batch.
 *
 * SQLite may have rolled the caller's transaction back by itself after
 * SQLITE_FULL, IOERR or NOMEM; running on in autocommit mode would then
 * commit the rest of the batch piecemeal, so every later call fails until
 * the caller ends the transaction.
 */
int
sq_op_begin(struct store *s, enum op_kind kind, enum op_txn *txn)
{
	*txn = OP_TXN_NONE;
	/* Nested in another operation of this module: join its transaction. */
	if (!s->in_txn && !sqlite3_get_autocommit(s->db)) {
		if (kind == OP_MULTI) {
			if (sq_run_id(s, ST_SAVEPOINT) < 0)
				return STORE_ERROR;
			*txn = OP_TXN_SAVE;
		}
		return STORE_OK;
	}
	if (s->in_txn) {
		if (sqlite3_get_autocommit(s->db)) {
			sq_set_err(s, "transaction was rolled back after an "
			    "earlier error");
			return STORE_ERROR;
		}
		if (kind == OP_MULTI) {
			if (sq_run_id(s, ST_SAVEPOINT) < 0)
				return STORE_ERROR;
			*txn = OP_TXN_SAVE;
		}
		return STORE_OK;
	}
	if (sq_run_id(s, kind == OP_READ ? ST_BEGIN : ST_BEGIN_WRITE) < 0)
		return STORE_ERROR;
	*txn = OP_TXN_OWN;
	return STORE_OK;
}

/*
 * End an operation begun with sq_op_begin(): keep its work when rc is not
 * STORE_ERROR, undo it otherwise. Returns rc, or STORE_ERROR when the
 * commit itself failed (then nothing of the operation remains).
 */
int
sq_op_end(struct store *s, enum op_txn txn, int rc)
{
	bool open = !sqlite3_get_autocommit(s->db);

	switch (txn) {
	case OP_TXN_NONE:
		break;
	case OP_TXN_OWN:
		if (rc != STORE_ERROR) {
			if (sq_run_id(s, ST_COMMIT) == 0)
				break;
			rc = STORE_ERROR;
			open = !sqlite3_get_autocommit(s->db);
		}
		if (open)
			(void)sq_run_id(s, ST_ROLLBACK);
		break;
	case OP_TXN_SAVE:
		if (!open)
			break;  /* SQLite already rolled everything back */
		if (rc == STORE_ERROR)
			(void)sq_run_id(s, ST_ROLLBACK_TO);
		if (sq_run_id(s, ST_RELEASE) < 0)
			rc = STORE_ERROR;
		break;
	}
	return rc;
}

/*
 * Look a name up with a one-column id query (ST_USER_ID, ST_ROOM_ID).
 * STORE_OK with *id, STORE_NOT_FOUND, or STORE_ERROR.
 */
int
sq_lookup_id(struct store *s, enum st id, const char *name, int64_t *out)
{
	sqlite3_stmt *st = sq_stmt(s, id);
	int rc;

	if (st == NULL || sq_bind_name(s, st, 1, name) < 0)
		return STORE_ERROR;
	rc = sq_step(s, st);
	if (rc < 0)
		return STORE_ERROR;
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(st, 0);
	sq_done(st);
	return rc == SQLITE_ROW ? STORE_OK : STORE_NOT_FOUND;
}

/* ---- opening and closing ---- */

/* One integer from a PRAGMA query; 0 or -1 with err set. */
static int
pragma_int(sqlite3 *db, const char *sql, int64_t *out)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(st, 0);
	else if (rc == SQLITE_DONE)
		*out = 0;
	rc = (rc == SQLITE_ROW || rc == SQLITE_DONE) ? 0 : -1;
	/* finalize keeps the error message of a failed step */
	sqlite3_finalize(st);
	return rc;
}

/*
 * Switch to WAL and check it took: it cannot on some file systems. An
 * in-memory database (tests, fuzzing) keeps its "memory" journal.
 */
static int
set_wal(sqlite3 *db, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	const char *mode;
	int rc, ret = -1;

	if (sqlite3_prepare_v2(db, "PRAGMA journal_mode = WAL", -1, &st,
	    NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s", sqlite3_errmsg(db));
		return -1;
	}
	rc = sqlite3_step(st);
	mode = rc == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 0) :
	    NULL;
	if (rc != SQLITE_ROW)
		snprintf(err, errlen, "%s", sqlite3_errmsg(db));
	else if (mode == NULL || (sqlite3_stricmp(mode, "wal") != 0 &&
	    sqlite3_stricmp(mode, "memory") != 0))
		snprintf(err, errlen, "cannot use WAL journal mode");
	else
		ret = 0;
	sqlite3_finalize(st);
	return ret;
}

/*
 * Create or update the schema. The first check runs without a lock so a
 * current database costs one read; the real one is repeated under the
 * write lock, since another process may be migrating at the same time.
 */
static int
migrate(sqlite3 *db, const char *path, char *err, size_t errlen)
{
	int64_t ver, app, tables;
	char sql[96];
	int i;

	if (pragma_int(db, "PRAGMA user_version", &ver) < 0 ||
	    pragma_int(db, "PRAGMA application_id", &app) < 0)
		goto sqlerr;
	if (ver == SCHEMA_VERSION && app == STORE_APP_ID)
		return 0;

	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		goto sqlerr;
	if (pragma_int(db, "PRAGMA user_version", &ver) < 0 ||
	    pragma_int(db, "PRAGMA application_id", &app) < 0 ||
	    pragma_int(db, "SELECT count(*) FROM sqlite_schema", &tables) < 0)
		goto sqlerr_rollback;
	if (app != STORE_APP_ID && (app != 0 || ver != 0 || tables != 0)) {
		snprintf(err, errlen, "database %s is not a parley database",
		    path);
		goto rollback;
	}
	if (ver > SCHEMA_VERSION) {
		snprintf(err, errlen, "database %s has schema version %" PRId64
		    ", newer than this program knows (%d)", path, ver,
		    SCHEMA_VERSION);
		goto rollback;
	}
	for (i = (int)ver; i < SCHEMA_VERSION; i++)
		if (sqlite3_exec(db, migrations[i], NULL, NULL, NULL) !=
		    SQLITE_OK)
			goto sqlerr_rollback;
	/* PRAGMAs take no parameters; both values are our own integers. */
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d; "
	    "PRAGMA application_id = %d", SCHEMA_VERSION, STORE_APP_ID);
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		goto sqlerr_rollback;
	return 0;

sqlerr_rollback:
	snprintf(err, errlen, "database %s: %s", path, sqlite3_errmsg(db));
rollback:
	if (!sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
sqlerr:
	snprintf(err, errlen, "database %s: %s", path, sqlite3_errmsg(db));
	return -1;
}

/*
 * Open the database at path; see store.h. The file is opened without
 * SQLITE_OPEN_CREATE unless asked, so a mistyped path in parleyctl is an
 * error rather than a new empty database.
 */
struct store *
store_open(const char *path, unsigned flags, int busy_ms, char *err,
    size_t errlen)
{
	struct store *s = NULL;
	sqlite3 *db = NULL;
	struct stat sb;
	char why[200];
	int64_t fk = 0;
	int oflags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;

	if (flags & STORE_CREATE)
		oflags |= SQLITE_OPEN_CREATE;
	else if (strcmp(path, ":memory:") != 0 && stat(path, &sb) < 0 &&
	    errno == ENOENT)
		goto missing;

	if (sqlite3_open_v2(path, &db, oflags, NULL) != SQLITE_OK) {
		if (!(flags & STORE_CREATE) && stat(path, &sb) < 0 &&
		    errno == ENOENT)
			goto missing;
		snprintf(err, errlen, "database %s: %s", path,
		    db != NULL ? sqlite3_errmsg(db) : "out of memory");
		goto fail;
	}
	sqlite3_extended_result_codes(db, 1);
	sqlite3_busy_timeout(db, busy_ms);
	/* Hardening: no schema tricks through this connection. */
	sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	sqlite3_db_config(db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);

	if (set_wal(db, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "database %s: %s", path, why);
		goto fail;
	}
	if (sqlite3_exec(db, (flags & STORE_SYNC_FULL) ?
	    "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL",
	    NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(db, "PRAGMA foreign_keys = ON", NULL, NULL, NULL) !=
	    SQLITE_OK ||
	    /*
	     * 16 MiB of page cache (the default is 2 MiB): direct messages
	     * write three index leaves each, one per conversation and party,
	     * and that working set outgrows the default at a few hundred
	     * active users (pairs bench: +4 % msgs/s). A cap, not an
	     * allocation.
	     */
	    sqlite3_exec(db, "PRAGMA cache_size = -16384", NULL, NULL, NULL) !=
	    SQLITE_OK ||
	    pragma_int(db, "PRAGMA foreign_keys", &fk) < 0) {
		snprintf(err, errlen, "database %s: %s", path,
		    sqlite3_errmsg(db));
		goto fail;
	}
	if (fk != 1) {
		snprintf(err, errlen, "SQLite was built without foreign keys");
		goto fail;
	}
	if (migrate(db, path, err, errlen) < 0)
		goto fail;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	s->db = db;
	return s;

missing:
	snprintf(err, errlen, "database %s does not exist", path);
fail:
	sqlite3_close_v2(db);
	return NULL;
}

/*
 * Close: roll back an unfinished transaction, release the statements and
 * fold the WAL back into the database (best effort: another process may be
 * reading), so a stopped server leaves one self-contained file.
 */
void
store_close(struct store *s)
{
	int i;

	if (s == NULL)
		return;
	if (!sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	for (i = 0; i < ST__COUNT; i++)
		sqlite3_finalize(s->st[i]);
	sqlite3_exec(s->db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL,
	    NULL);
	sqlite3_close_v2(s->db);
	free(s);
}

/* Why the last call returned STORE_ERROR. */
const char *
store_errmsg(struct store *s)
{
	return s->err[0] != '\0' ? s->err : "no error";
}

/*
 * Start a caller's transaction. It takes the write lock at once (waiting
 * up to the busy timeout), so its statements cannot fail later on a lock.
 */
int
store_begin(struct store *s)
{
	if (s->in_txn) {
		sq_set_err(s, "transaction already open");
		return STORE_ERROR;
	}
	if (sq_run_id(s, ST_BEGIN_WRITE) < 0)
		return STORE_ERROR;
	s->in_txn = true;
	return STORE_OK;
}

/*
 * Commit the caller's transaction. On failure it is rolled back, so either
 * every call made since store_begin() is durable or none is.
 */
int
store_commit(struct store *s)
{
	int rc = STORE_OK;

	if (!s->in_txn) {
		sq_set_err(s, "no transaction open");
		return STORE_ERROR;
	}
	s->in_txn = false;
	if (sqlite3_get_autocommit(s->db)) {
		sq_set_err(s, "transaction was rolled back after an earlier "
		    "error");
		return STORE_ERROR;
	}
	if (sq_run_id(s, ST_COMMIT) < 0) {
		rc = STORE_ERROR;
		if (!sqlite3_get_autocommit(s->db))
			(void)sq_run_id(s, ST_ROLLBACK);
	}
	return rc;
}

/* Undo the caller's transaction; harmless when none is open. */
void
store_rollback(struct store *s)
{
	s->in_txn = false;
	if (!sqlite3_get_autocommit(s->db))
		(void)sq_run_id(s, ST_ROLLBACK);
}

/* ---- WAL checkpoints ---- */

static int
wal_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
	struct store *s = arg;

	(void)db;
	(void)name;
	s->wal_fn(s->wal_arg, pages);
	return SQLITE_OK;
}

/* Replaces SQLite's automatic checkpoint; see store.h. */
void
store_wal_watch(struct store *s, store_wal_fn fn, void *arg)
{
	s->wal_fn = fn;
	s->wal_arg = arg;
	sqlite3_wal_hook(s->db, fn != NULL ? wal_hook : NULL, s);
	if (fn == NULL)
		sqlite3_wal_autocheckpoint(s->db, 1000);
}

int
store_checkpoint(struct store *s, int *wal_pages, int *copied)
{
	int rc = sqlite3_wal_checkpoint_v2(s->db, NULL,
	    SQLITE_CHECKPOINT_PASSIVE, wal_pages, copied);

	if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
		sq_set_err(s, "checkpoint: %s", sqlite3_errmsg(s->db));
		return STORE_ERROR;
	}
	return STORE_OK;
}
