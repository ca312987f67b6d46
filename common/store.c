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

static void
set_err(struct store *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
set_err(struct store *s, const char *fmt, ...)
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
static int
fail(struct store *s)
{
	set_err(s, "%s", sqlite3_errmsg(s->db));
	return STORE_ERROR;
}

/* The cached statement id, prepared on first use; NULL on error. */
static sqlite3_stmt *
stmt(struct store *s, enum st id)
{
	int rc;

	assert(id < ST__COUNT && st_sql[id] != NULL);
	if (s->st[id] != NULL)
		return s->st[id];
	rc = sqlite3_prepare_v3(s->db, st_sql[id], -1,
	    SQLITE_PREPARE_PERSISTENT, &s->st[id], NULL);
	if (rc != SQLITE_OK) {
		fail(s);
		s->st[id] = NULL;
	}
	return s->st[id];
}

/* Return a statement to the cache: no read lock held, no bindings kept. */
static void
done(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

/*
 * Step st once. Returns SQLITE_ROW or SQLITE_DONE (st left as is), or -1
 * with the error recorded and st reset.
 */
static int
step(struct store *s, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW || rc == SQLITE_DONE)
		return rc;
	fail(s);
	done(st);
	return -1;
}

/* Run a statement that returns no rows. 0 or -1. */
static int
run(struct store *s, sqlite3_stmt *st)
{
	int rc = step(s, st);

	if (rc < 0)
		return -1;
	done(st);
	if (rc != SQLITE_DONE) {
		set_err(s, "statement returned rows");
		return -1;
	}
	return 0;
}

/* Run a cached statement without parameters (transaction control). */
static int
run_id(struct store *s, enum st id)
{
	sqlite3_stmt *st = stmt(s, id);

	return st == NULL ? -1 : run(s, st);
}

/* Bind text of known length; 0, or -1 with the error recorded. */
static int
bind_text(struct store *s, sqlite3_stmt *st, int i, const char *p, size_t len)
{
	if (sqlite3_bind_text64(st, i, p, len, SQLITE_STATIC, SQLITE_UTF8) !=
	    SQLITE_OK)
		return fail(s);
	return 0;
}

/* Bind a NUL-terminated name. */
static int
bind_name(struct store *s, sqlite3_stmt *st, int i, const char *name)
{
	return bind_text(s, st, i, name, strlen(name));
}

/* Message ids are uint64 on the wire and int64 in SQLite: clamp. */
static int64_t
id_bound(uint64_t id)
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
static int
op_begin(struct store *s, enum op_kind kind, enum op_txn *txn)
{
	*txn = OP_TXN_NONE;
	/* Nested in another operation of this module: join its transaction. */
	if (!s->in_txn && !sqlite3_get_autocommit(s->db)) {
		if (kind == OP_MULTI) {
			if (run_id(s, ST_SAVEPOINT) < 0)
				return STORE_ERROR;
			*txn = OP_TXN_SAVE;
		}
		return STORE_OK;
	}
	if (s->in_txn) {
		if (sqlite3_get_autocommit(s->db)) {
			set_err(s, "transaction was rolled back after an "
			    "earlier error");
			return STORE_ERROR;
		}
		if (kind == OP_MULTI) {
			if (run_id(s, ST_SAVEPOINT) < 0)
				return STORE_ERROR;
			*txn = OP_TXN_SAVE;
		}
		return STORE_OK;
	}
	if (run_id(s, kind == OP_READ ? ST_BEGIN : ST_BEGIN_WRITE) < 0)
		return STORE_ERROR;
	*txn = OP_TXN_OWN;
	return STORE_OK;
}

/*
 * End an operation begun with op_begin(): keep its work when rc is not
 * STORE_ERROR, undo it otherwise. Returns rc, or STORE_ERROR when the
 * commit itself failed (then nothing of the operation remains).
 */
static int
op_end(struct store *s, enum op_txn txn, int rc)
{
	bool open = !sqlite3_get_autocommit(s->db);

	switch (txn) {
	case OP_TXN_NONE:
		break;
	case OP_TXN_OWN:
		if (rc != STORE_ERROR) {
			if (run_id(s, ST_COMMIT) == 0)
				break;
			rc = STORE_ERROR;
			open = !sqlite3_get_autocommit(s->db);
		}
		if (open)
			(void)run_id(s, ST_ROLLBACK);
		break;
	case OP_TXN_SAVE:
		if (!open)
			break;  /* SQLite already rolled everything back */
		if (rc == STORE_ERROR)
			(void)run_id(s, ST_ROLLBACK_TO);
		if (run_id(s, ST_RELEASE) < 0)
			rc = STORE_ERROR;
		break;
	}
	return rc;
}

/*
 * Look a name up with a one-column id query (ST_USER_ID, ST_ROOM_ID).
 * STORE_OK with *id, STORE_NOT_FOUND, or STORE_ERROR.
 */
static int
lookup_id(struct store *s, enum st id, const char *name, int64_t *out)
{
	sqlite3_stmt *st = stmt(s, id);
	int rc;

	if (st == NULL || bind_name(s, st, 1, name) < 0)
		return STORE_ERROR;
	rc = step(s, st);
	if (rc < 0)
		return STORE_ERROR;
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(st, 0);
	done(st);
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
		set_err(s, "transaction already open");
		return STORE_ERROR;
	}
	if (run_id(s, ST_BEGIN_WRITE) < 0)
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
		set_err(s, "no transaction open");
		return STORE_ERROR;
	}
	s->in_txn = false;
	if (sqlite3_get_autocommit(s->db)) {
		set_err(s, "transaction was rolled back after an earlier "
		    "error");
		return STORE_ERROR;
	}
	if (run_id(s, ST_COMMIT) < 0) {
		rc = STORE_ERROR;
		if (!sqlite3_get_autocommit(s->db))
			(void)run_id(s, ST_ROLLBACK);
	}
	return rc;
}

/* Undo the caller's transaction; harmless when none is open. */
void
store_rollback(struct store *s)
{
	s->in_txn = false;
	if (!sqlite3_get_autocommit(s->db))
		(void)run_id(s, ST_ROLLBACK);
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
		set_err(s, "checkpoint: %s", sqlite3_errmsg(s->db));
		return STORE_ERROR;
	}
	return STORE_OK;
}

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
		set_err(s, "malformed user row");
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
		set_err(s, "invalid user fields");
		return STORE_ERROR;
	}
	if ((rc = op_begin(s, OP_WRITE, &txn)) != STORE_OK)
		return rc;
	rc = STORE_ERROR;
	if ((st = stmt(s, ST_USER_ADD)) == NULL ||
	    bind_name(s, st, 1, name) < 0 || bind_name(s, st, 2, hash) < 0)
		goto out;
	sqlite3_bind_int(st, 3, role);
	sqlite3_bind_int64(st, 4, now_ms);
	if (run(s, st) < 0)
		goto out;
	rc = sqlite3_changes(s->db) == 0 ? STORE_EXISTS : STORE_OK;
out:
	return op_end(s, txn, rc);
}

/* Fetch a user; see store.h. */
int
store_user_get(struct store *s, const char *name, struct store_user *u)
{
	sqlite3_stmt *st;
	enum op_txn txn;
	int rc;

	if ((rc = op_begin(s, OP_READ, &txn)) != STORE_OK)
		return rc;
	rc = STORE_ERROR;
	if ((st = stmt(s, ST_USER_GET)) == NULL || bind_name(s, st, 1, name) < 0)
		goto out;
	switch (step(s, st)) {
	case SQLITE_ROW:
		rc = row_user(s, st, u) < 0 ? STORE_ERROR : STORE_OK;
		break;
	case SQLITE_DONE:
		rc = STORE_NOT_FOUND;
		break;
	default:
		goto out;
	}
	done(st);
out:
	return op_end(s, txn, rc);
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

	if ((rc = op_begin(s, OP_WRITE, &txn)) != STORE_OK)
		return rc;
	rc = STORE_ERROR;
	if ((st = stmt(s, id)) == NULL || bind_name(s, st, 1, name) < 0)
		goto out;
	if (text != NULL) {
		if (bind_name(s, st, 2, text) < 0)
			goto out;
	} else if (sqlite3_bind_parameter_count(st) >= 2) {
		sqlite3_bind_int64(st, 2, num);
	}
	if (run(s, st) < 0)
		goto out;
	rc = sqlite3_changes(s->db) == 0 ? STORE_NOT_FOUND : STORE_OK;
out:
	return op_end(s, txn, rc);
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
		set_err(s, "hash too long");
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
	if ((rc = op_begin(s, OP_MULTI, &txn)) != STORE_OK)
		return rc;
	rc = user_change(s, ST_USER_SET_LOCKED, name, NULL, 1);
	if (rc == STORE_OK)
		rc = store_token_revoke(s, name, NULL);
	return op_end(s, txn, rc);
}

/* Set a user's role (enum store_role). STORE_NOT_FOUND if unknown. */
int
store_user_set_role(struct store *s, const char *name, int role)
{
	if (role != STORE_ROLE_USER && role != STORE_ROLE_ADMIN) {
		set_err(s, "invalid role %d", role);
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

	if ((rc = op_begin(s, OP_READ, &txn)) != STORE_OK)
		return rc;
	rc = STORE_ERROR;
	if ((st = stmt(s, ST_USER_LIST)) == NULL)
		goto out;
	while ((r = step(s, st)) == SQLITE_ROW) {
		if (row_user(s, st, &u) < 0) {
			done(st);
			goto out;
		}
		if (cb(ctx, &u) != 0)
			break;
	}
	if (r < 0)
		goto out;
	done(st);
	rc = STORE_OK;
out:
	return op_end(s, txn, rc);
}

/* ---- messages ---- */

/* Hand the current row (MSG_COLS) of st to cb; returns cb's result. */
static int
row_msg(sqlite3_stmt *st, store_msg_cb cb, void *ctx)
{
	struct store_msg m;

	m.id = (uint64_t)sqlite3_column_int64(st, 0);
	m.time_ms = sqlite3_column_int64(st, 1);
	m.from = (const char *)sqlite3_column_text(st, 2);
	m.to = (const char *)sqlite3_column_text(st, 3);
	m.text = (const char *)sqlite3_column_text(st, 4);
	m.text_len = (size_t)sqlite3_column_bytes(st, 4);
	if (m.from == NULL)
		m.from = "";
	if (m.to == NULL)
		m.to = "";
	if (m.text == NULL)
		m.text = "";
	return cb(ctx, &m);
}

/*
 * Hand every row of a prepared, bound message query to cb. STORE_OK when
 * the rows ran out or cb stopped; st is reset either way.
 */
static int
each_msg(struct store *s, sqlite3_stmt *st, store_msg_cb cb, void *ctx)
{
	int r;

	while ((r = step(s, st)) == SQLITE_ROW)
		if (row_msg(st, cb, ctx) != 0)
			break;
	if (r < 0)
		return STORE_ERROR;
	done(st);
	return STORE_OK;
}

/*
 * Store a direct message and queue it for the recipient, in one
 * savepoint so the message never exists without its queue entry.
 * STORE_NOT_FOUND if either user does not exist.
 */
int
store_dm_append(struct store *s, const char *from, const char *to,
    const char *text, size_t len, int64_t now_ms, uint64_t *id)
{
	sqlite3_stmt *st;
	enum op_txn txn;
	int64_t from_id, to_id, msg_id;
	int rc;

	if ((rc = op_begin(s, OP_MULTI, &txn)) != STORE_OK)
		return rc;
	if ((rc = lookup_id(s, ST_USER_ID, to, &to_id)) != STORE_OK ||
	    (rc = lookup_id(s, ST_USER_ID, from, &from_id)) != STORE_OK)
		goto out;
	rc = STORE_ERROR;
	if ((st = stmt(s, ST_DM_ADD)) == NULL ||
	    bind_name(s, st, 2, from) < 0 || bind_name(s, st, 3, to) < 0 ||
	    bind_text(s, st, 6, text, len) < 0)
		goto out;
	sqlite3_bind_int64(st, 1, now_ms);
	sqlite3_bind_int64(st, 4, from_id);
	sqlite3_bind_int64(st, 5, to_id);
	if (run(s, st) < 0)
		goto out;
	msg_id = sqlite3_last_insert_rowid(s->db);

	if ((st = stmt(s, ST_PENDING_ADD)) == NULL)
		goto out;
	sqlite3_bind_int64(st, 1, to_id);
	sqlite3_bind_int64(st, 2, msg_id);
	if (run(s, st) < 0)
		goto out;
	*id = (uint64_t)msg_id;
	rc = STORE_OK;
out:
	return op_end(s, txn, rc);
}

/*
 * The newest queued message id of user, 0 when the queue is empty: the
 * upper bound a login pages up to, so messages queued meanwhile (which
 * the new session also gets live) are not sent twice.
 */
int
store_pending_max(struct store *s, const char *user, uint64_t *max_id)
{
	sqlite3_stmt *st;
	enum op_txn txn;
	int64_t uid;
	int rc, r;

	if ((rc = op_begin(s, OP_READ, &txn)) != STORE_OK)
		return rc;
	if ((rc = lookup_id(s, ST_USER_ID, user, &uid)) != STORE_OK)
		goto out;
	rc = STORE_ERROR;
	if ((st = stmt(s, ST_PENDING_MAX)) == NULL)
		goto out;
	sqlite3_bind_int64(st, 1, uid);
	if ((r = step(s, st)) < 0)
		goto out;
	*max_id = r == SQLITE_ROW ? (uint64_t)sqlite3_column_int64(st, 0) : 0;
	done(st);
	rc = STORE_OK;
out:
	return op_end(s, txn, rc);
}

/*
 * One page of user's queue: ids in (after_id, upto_id], oldest first, at
 * most limit, to cb. Nothing is removed; see store_pending_ack().
 */
int
store_pending_list(struct store *s, const char *user, uint64_t after_id,
    uint64_t upto_id, unsigned limit, store_msg_cb cb, void *ctx)
{
	sqlite3_stmt *st;
	enum op_txn txn;
	int64_t uid;
	int rc;

	if ((rc = op_begin(s, OP_READ, &txn)) != STORE_OK)
		return rc;
	if ((rc = lookup_id(s, ST_USER_ID, user, &uid)) != STORE_OK)
		goto out;
	rc = STORE_ERROR;
	if ((st = stmt(s, ST_PENDING_LIST)) == NULL)
		goto out;
	sqlite3_bind_int64(st, 1, uid);
	sqlite3_bind_int64(st, 2, id_bound(after_id));
	sqlite3_bind_int64(st, 3, upto_id == 0 ? INT64_MAX : id_bound(upto_id));
	sqlite3_bind_int64(st, 4, limit);
	rc = each_msg(s, st, cb, ctx);
out:
	return op_end(s, txn, rc);
}

/*
 * Remove user's queued messages up to and including upto_id, once the
 * client has them. Acknowledging nothing new is not an error.
 */
int
store_pending_ack(struct store *s, const char *user, uint64_t upto_id)
{
	sqlite3_stmt *st;
	enum op_txn txn;
	int64_t uid;
	int rc;

	if ((rc = op_begin(s, OP_WRITE, &txn)) != STORE_OK)
		return rc;
	if ((rc = lookup_id(s, ST_USER_ID, user, &uid)) != STORE_OK)
		goto out;
	rc = STORE_ERROR;
	if ((st = stmt(s, ST_PENDING_ACK)) == NULL)
		goto out;
	sqlite3_bind_int64(st, 1, uid);
	sqlite3_bind_int64(st, 2, id_bound(upto_id));
	if (run(s, st) < 0)
		goto out;
	rc = STORE_OK;
out:
	return op_end(s, txn, rc);
}

/*
 * Drop one message from user's queue after live delivery. STORE_OK also
 * when it was not queued (already taken), so callers need not track it.
 */
int
store_pending_done(struct store *s, const char *user, uint64_t msg_id)
{
	sqlite3_stmt *st;
	enum op_txn txn;
	int rc;

	if ((rc = op_begin(s, OP_WRITE, &txn)) != STORE_OK)
		return rc;
	rc = STORE_ERROR;
	if ((st = stmt(s, ST_PENDING_DONE)) == NULL ||
	    bind_name(s, st, 1, user) < 0)
		goto out;
	sqlite3_bind_int64(st, 2, id_bound(msg_id));
	if (run(s, st) < 0)
		goto out;
	rc = STORE_OK;
out:
	return op_end(s, txn, rc);
}

/* ---- rooms ---- */

/* Join (and maybe create) a room; see store.h. */
int
store_room_join(struct store *s, const char *room, const char *user,
    int64_t now_ms, bool *created, bool *was_member)
{
	sqlite3_stmt *st;
	enum op_txn txn;
	int64_t uid, rid;
	bool made;
	int rc;

	if ((rc = op_begin(s, OP_MULTI, &txn)) != STORE_OK)
		return rc;
	if ((rc = lookup_id(s, ST_USER_ID, user, &uid)) != STORE_OK)
		goto out;
	rc = STORE_ERROR;
	if ((st = stmt(s, ST_ROOM_ADD)) == NULL || bind_name(s, st, 1, room) < 0)
		goto out;
	sqlite3_bind_int64(st, 2, now_ms);
	if (run(s, st) < 0)
		goto out;
	made = sqlite3_changes(s->db) != 0;
	if (made)
		rid = sqlite3_last_insert_rowid(s->db);
	else if (lookup_id(s, ST_ROOM_ID, room, &rid) != STORE_OK)
		goto out;       /* it was there a moment ago: corrupt */

	if ((st = stmt(s, ST_MEMBER_ADD)) == NULL)
		goto out;
	sqlite3_bind_int64(st, 1, rid);
	sqlite3_bind_int64(st, 2, uid);
	sqlite3_bind_int64(st, 3, now_ms);
	if (run(s, st) < 0)
		goto out;
	if (created != NULL)
		*created = made;
	if (was_member != NULL)
		*was_member = sqlite3_changes(s->db) == 0;
	rc = STORE_OK;
out:
	return op_end(s, txn, rc);
}

/* Leave a room; see store.h. The room stays, possibly empty. */
int
store_room_leave(struct store *s, const char *room, const char *user)
{
	sqlite3_stmt *st;
	enum op_txn txn;
	int64_t rid;
	int rc;

	if ((rc = op_begin(s, OP_WRITE, &txn)) != STORE_OK)
		return rc;
	if ((rc = lookup_id(s, ST_ROOM_ID, room, &rid)) != STORE_OK)
		goto out;
	rc = STORE_ERROR;
	if ((st = stmt(s, ST_MEMBER_DEL)) == NULL ||
	    bind_name(s, st, 2, user) < 0)
		goto out;
	sqlite3_bind_int64(st, 1, rid);
	if (run(s, st) < 0)
		goto out;
	rc = sqlite3_changes(s->db) == 0 ? STORE_NOT_MEMBER : STORE_OK;
out:
	return op_end(s, txn, rc);
}

/*
 * Room id and whether user is in it: STORE_OK, STORE_NOT_FOUND (no such
 * room) or STORE_NOT_MEMBER (including an unknown user).
 */
static int
room_access(struct store *s, const char *room, const char *user,
    int64_t *rid, int64_t *uid)
{
	sqlite3_stmt *st;
	int rc;

	if ((st = stmt(s, ST_ROOM_SENDER)) == NULL ||
	    bind_name(s, st, 1, room) < 0 || bind_name(s, st, 2, user) < 0)
		return STORE_ERROR;
	switch (step(s, st)) {
	case SQLITE_ROW:
		*rid = sqlite3_column_int64(st, 0);
		*uid = sqlite3_column_int64(st, 1);
		rc = sqlite3_column_type(st, 1) == SQLITE_NULL ||
		    sqlite3_column_int(st, 2) == 0 ? STORE_NOT_MEMBER :
		    STORE_OK;
		break;
	case SQLITE_DONE:
		rc = STORE_NOT_FOUND;
		break;
	default:
		return STORE_ERROR;
	}
	done(st);
	return rc;
}

/* Store a room message; see store.h. */
int
store_room_append(struct store *s, const char *from, const char *room,
    const char *text, size_t len, int64_t now_ms, uint64_t *id)
{
	sqlite3_stmt *st;
	enum op_txn txn;
	int64_t rid, uid;
	int rc;

	if ((rc = op_begin(s, OP_WRITE, &txn)) != STORE_OK)
		return rc;
	if ((rc = room_access(s, room, from, &rid, &uid)) != STORE_OK)
		goto out;
	rc = STORE_ERROR;
	if ((st = stmt(s, ST_ROOM_MSG_ADD)) == NULL ||
	    bind_name(s, st, 2, from) < 0 || bind_name(s, st, 3, room) < 0 ||
	    bind_text(s, st, 6, text, len) < 0)
		goto out;
	sqlite3_bind_int64(st, 1, now_ms);
	sqlite3_bind_int64(st, 4, uid);
	sqlite3_bind_int64(st, 5, rid);
	if (run(s, st) < 0)
		goto out;
	*id = (uint64_t)sqlite3_last_insert_rowid(s->db);
	rc = STORE_OK;
out:
	return op_end(s, txn, rc);
}

/* Hand each (name, count) row of a bound room query to cb. */
static int
each_room(struct store *s, sqlite3_stmt *st, store_room_cb cb, void *ctx)
{
	int r;

	while ((r = step(s, st)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);
		int64_t n = sqlite3_column_int64(st, 1);

		if (cb(ctx, name != NULL ? name : "",
		    n > UINT32_MAX ? UINT32_MAX : (unsigned)n) != 0)
			break;
	}
	if (r < 0)
		return STORE_ERROR;
	done(st);
	return STORE_OK;
}

/* Every room with its member count; see store.h. */
int
store_room_list(struct store *s, store_room_cb cb, void *ctx)
{
	sqlite3_stmt *st;
	enum op_txn txn;
	int rc;

	if ((rc = op_begin(s, OP_READ, &txn)) != STORE_OK)
		return rc;
	rc = STORE_ERROR;
	if ((st = stmt(s, ST_ROOM_LIST)) != NULL)
		rc = each_room(s, st, cb, ctx);
	return op_end(s, txn, rc);
}

/* The rooms user is in; STORE_NOT_FOUND for an unknown user. */
int
store_user_rooms(struct store *s, const char *user, store_room_cb cb,
    void *ctx)
{
	sqlite3_stmt *st;
	enum op_txn txn;
	int64_t uid;
	int rc;

	if ((rc = op_begin(s, OP_READ, &txn)) != STORE_OK)
		return rc;
	if ((rc = lookup_id(s, ST_USER_ID, user, &uid)) != STORE_OK)
		goto out;
	rc = STORE_ERROR;
	if ((st = stmt(s, ST_USER_ROOMS)) == NULL)
		goto out;
	sqlite3_bind_int64(st, 1, uid);
	rc = each_room(s, st, cb, ctx);
out:
	return op_end(s, txn, rc);
}

/* The members of a room; see store.h. */
int
store_room_members(struct store *s, const char *room, store_member_cb cb,
    void *ctx)
{
	sqlite3_stmt *st;
	enum op_txn txn;
	int64_t rid;
	int rc, r;

	if ((rc = op_begin(s, OP_READ, &txn)) != STORE_OK)
		return rc;
	if ((rc = lookup_id(s, ST_ROOM_ID, room, &rid)) != STORE_OK)
		goto out;
	rc = STORE_ERROR;
	if ((st = stmt(s, ST_ROOM_MEMBERS)) == NULL)
		goto out;
	sqlite3_bind_int64(st, 1, rid);
	while ((r = step(s, st)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);

		if (cb(ctx, name != NULL ? name : "") != 0)
			break;
	}
	if (r < 0)
		goto out;
	done(st);
	rc = STORE_OK;
out:
	return op_end(s, txn, rc);
}

/* ---- HISTORY and SYNC ---- */

/* HISTORY of a room or a conversation; see store.h. */
int
store_history(struct store *s, const char *user, const char *target,
    unsigned limit, uint64_t before_id, store_msg_cb cb, void *ctx)
{
	sqlite3_stmt *st;
	enum op_txn txn;
	int64_t before, a, b;
	int rc;

	before = before_id == 0 ? INT64_MAX : id_bound(before_id);
	if ((rc = op_begin(s, OP_READ, &txn)) != STORE_OK)
		return rc;
	if (target[0] == '#') {
		if ((rc = room_access(s, target, user, &a, &b)) != STORE_OK)
			goto out;
		rc = STORE_ERROR;
		if ((st = stmt(s, ST_HIST_ROOM)) == NULL)
			goto out;
		sqlite3_bind_int64(st, 1, a);
		sqlite3_bind_int64(st, 2, before);
		sqlite3_bind_int64(st, 3, limit);
	} else {
		if ((rc = lookup_id(s, ST_USER_ID, target, &a)) != STORE_OK ||
		    (rc = lookup_id(s, ST_USER_ID, user, &b)) != STORE_OK)
			goto out;
		rc = STORE_ERROR;
		if ((st = stmt(s, ST_HIST_DM)) == NULL)
			goto out;
		sqlite3_bind_int64(st, 1, a < b ? a : b);
		sqlite3_bind_int64(st, 2, a < b ? b : a);
		sqlite3_bind_int64(st, 3, before);
		sqlite3_bind_int64(st, 4, limit);
	}
	rc = each_msg(s, st, cb, ctx);
out:
	return op_end(s, txn, rc);
}

/*
 * SYNC merges several id-ordered streams (the user's sent and received
 * direct messages, and one per room they are in) without sorting the
 * union: it keeps the `limit` smallest ids seen so far, and each stream is
 * read only up to that page's current upper bound. Every stream read is an
 * index range scan of at most `limit` rows, so a page costs
 * O(streams * limit) whatever the size of the table; then the page's rows
 * are fetched by primary key.
 */
struct idpage {
	int64_t *ids;           /* the page: ascending, no duplicates */
	int64_t *in;            /* one stream's ids */
	int64_t *out;           /* merge scratch, swapped with ids */
	size_t n, cap;
};

/* Read one bound stream statement (?1 key) and merge it into the page. */
static int
page_merge(struct store *s, sqlite3_stmt *st, int64_t key, int64_t since,
    struct idpage *p)
{
	size_t k = 0, i = 0, j = 0, n = 0;
	int64_t *t;
	int r;

	sqlite3_bind_int64(st, 1, key);
	sqlite3_bind_int64(st, 2, since);
	sqlite3_bind_int64(st, 3, p->n == p->cap ? p->ids[p->n - 1] :
	    INT64_MAX);
	sqlite3_bind_int64(st, 4, (int64_t)p->cap);
	while ((r = step(s, st)) == SQLITE_ROW && k < p->cap)
		p->in[k++] = sqlite3_column_int64(st, 0);
	if (r < 0)
		return -1;
	done(st);

	while (n < p->cap && (i < p->n || j < k)) {
		if (j == k || (i < p->n && p->ids[i] < p->in[j])) {
			p->out[n++] = p->ids[i++];
		} else {
			/* the same DM can come from both DM streams */
			if (i < p->n && p->ids[i] == p->in[j])
				i++;
			p->out[n++] = p->in[j++];
		}
	}
	t = p->ids;
	p->ids = p->out;
	p->out = t;
	p->n = n;
	return 0;
}

/* Fill p with the ids SYNC returns: see struct idpage. */
static int
sync_ids(struct store *s, int64_t uid, int64_t since, struct idpage *p)
{
	sqlite3_stmt *rooms, *st;
	int r;

	if ((st = stmt(s, ST_SYNC_DM_FROM)) == NULL ||
	    page_merge(s, st, uid, since, p) < 0 ||
	    (st = stmt(s, ST_SYNC_DM_TO)) == NULL ||
	    page_merge(s, st, uid, since, p) < 0)
		return -1;
	if ((rooms = stmt(s, ST_SYNC_ROOMS)) == NULL ||
	    (st = stmt(s, ST_SYNC_ROOM)) == NULL)
		return -1;
	sqlite3_bind_int64(rooms, 1, uid);
	while ((r = step(s, rooms)) == SQLITE_ROW) {
		if (page_merge(s, st, sqlite3_column_int64(rooms, 0), since,
		    p) < 0) {
			done(rooms);
			return -1;
		}
	}
	if (r < 0)
		return -1;
	done(rooms);
	return 0;
}

/*
 * SYNC; see store.h. limit is capped at SYNC_LIMIT_MAX, which keeps the
 * page buffer small; paging on the last id returned still reaches all.
 */
int
store_sync(struct store *s, const char *user, uint64_t since_id,
    unsigned limit, store_msg_cb cb, void *ctx)
{
	struct idpage p = { 0 };
	int64_t *mem = NULL;
	sqlite3_stmt *st;
	enum op_txn txn;
	int64_t uid, since = id_bound(since_id);
	size_t i;
	int rc, r;

	if ((rc = op_begin(s, OP_READ, &txn)) != STORE_OK)
		return rc;
	if ((rc = lookup_id(s, ST_USER_ID, user, &uid)) != STORE_OK)
		goto out;
	rc = STORE_OK;
	if (limit == 0 || since == INT64_MAX)
		goto out;
	rc = STORE_ERROR;
	p.cap = limit > SYNC_LIMIT_MAX ? SYNC_LIMIT_MAX : limit;
	if ((mem = calloc(3 * p.cap, sizeof(*mem))) == NULL) {
		set_err(s, "out of memory");
		goto out;
	}
	p.ids = mem;
	p.in = mem + p.cap;
	p.out = mem + 2 * p.cap;
	if (sync_ids(s, uid, since, &p) < 0)
		goto out;

	if ((st = stmt(s, ST_MSG_GET)) == NULL)
		goto out;
	for (i = 0; i < p.n; i++) {
		sqlite3_bind_int64(st, 1, p.ids[i]);
		if ((r = step(s, st)) < 0)
			goto out;
		r = r == SQLITE_ROW ? row_msg(st, cb, ctx) : 0;
		done(st);
		if (r != 0)
			break;
	}
	rc = STORE_OK;
out:
	free(mem);
	return op_end(s, txn, rc);
}

/* ---- resume tokens and public keys ---- */

/* Run st (bound already) that returns no rows; rc for op_end. */
static int
run_rc(struct store *s, sqlite3_stmt *st)
{
	return run(s, st) < 0 ? STORE_ERROR : STORE_OK;
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

	if ((rc = op_begin(s, OP_MULTI, &txn)) != STORE_OK)
		return rc;
	if ((rc = lookup_id(s, ST_USER_ID, user, &uid)) != STORE_OK)
		goto out;
	rc = STORE_ERROR;
	/* Expired tokens of this user go as new ones come: no sweeper. */
	if ((st = stmt(s, ST_TOKEN_PURGE)) == NULL ||
	    sqlite3_bind_int64(st, 1, uid) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 2, now_ms) != SQLITE_OK ||
	    run(s, st) < 0)
		goto out;
	if ((st = stmt(s, ST_TOKEN_ADD)) == NULL ||
	    sqlite3_bind_int64(st, 1, uid) != SQLITE_OK ||
	    sqlite3_bind_blob(st, 2, hash, STORE_TOKEN_HASH_BYTES,
	    SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 3, now_ms) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 4, expires_ms) != SQLITE_OK) {
		fail(s);
		goto out;
	}
	rc = run_rc(s, st);
out:
	return op_end(s, txn, rc);
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

	if ((rc = op_begin(s, OP_READ, &txn)) != STORE_OK)
		return rc;
	if ((rc = store_user_get(s, user, u)) != STORE_OK)
		goto out;
	rc = STORE_ERROR;
	if ((st = stmt(s, ST_TOKEN_LIST)) == NULL ||
	    sqlite3_bind_int64(st, 1, u->id) != SQLITE_OK)
		goto out;
	/* Every token of the user is compared, each in constant time. */
	while ((r = step(s, st)) == SQLITE_ROW) {
		const void *h = sqlite3_column_blob(st, 0);

		if (h != NULL && sqlite3_column_bytes(st, 0) ==
		    STORE_TOKEN_HASH_BYTES &&
		    sodium_memcmp(h, hash, STORE_TOKEN_HASH_BYTES) == 0 &&
		    sqlite3_column_int64(st, 1) > now_ms)
			match = true;
	}
	if (r < 0)
		goto out;
	done(st);
	rc = match && !u->locked ? STORE_OK : STORE_NOT_FOUND;
out:
	return op_end(s, txn, rc);
}

int
store_token_revoke(struct store *s, const char *user, unsigned *count)
{
	sqlite3_stmt *st;
	enum op_txn txn;
	int64_t uid;
	int rc;

	if ((rc = op_begin(s, OP_WRITE, &txn)) != STORE_OK)
		return rc;
	if ((rc = lookup_id(s, ST_USER_ID, user, &uid)) != STORE_OK)
		goto out;
	rc = STORE_ERROR;
	if ((st = stmt(s, ST_TOKEN_DEL_USER)) == NULL ||
	    sqlite3_bind_int64(st, 1, uid) != SQLITE_OK)
		goto out;
	rc = run_rc(s, st);
	if (rc == STORE_OK && count != NULL)
		*count = (unsigned)sqlite3_changes(s->db);
out:
	return op_end(s, txn, rc);
}

int
store_key_set(struct store *s, const char *user,
    const uint8_t key[STORE_PUBKEY_BYTES], int64_t now_ms)
{
	sqlite3_stmt *st;
	enum op_txn txn;
	int64_t uid;
	int rc;

	if ((rc = op_begin(s, OP_WRITE, &txn)) != STORE_OK)
		return rc;
	if ((rc = lookup_id(s, ST_USER_ID, user, &uid)) != STORE_OK)
		goto out;
	rc = STORE_ERROR;
	if ((st = stmt(s, ST_KEY_SET)) == NULL ||
	    sqlite3_bind_int64(st, 1, uid) != SQLITE_OK ||
	    sqlite3_bind_blob(st, 2, key, STORE_PUBKEY_BYTES, SQLITE_STATIC) !=
	    SQLITE_OK || sqlite3_bind_int64(st, 3, now_ms) != SQLITE_OK) {
		fail(s);
		goto out;
	}
	rc = run_rc(s, st);
out:
	return op_end(s, txn, rc);
}

int
store_key_get(struct store *s, const char *user,
    uint8_t key[STORE_PUBKEY_BYTES])
{
	sqlite3_stmt *st;
	enum op_txn txn;
	int64_t uid;
	int rc;

	if ((rc = op_begin(s, OP_READ, &txn)) != STORE_OK)
		return rc;
	if ((rc = lookup_id(s, ST_USER_ID, user, &uid)) != STORE_OK)
		goto out;
	rc = STORE_ERROR;
	if ((st = stmt(s, ST_KEY_GET)) == NULL ||
	    sqlite3_bind_int64(st, 1, uid) != SQLITE_OK)
		goto out;
	switch (step(s, st)) {
	case SQLITE_ROW:
		if (sqlite3_column_bytes(st, 0) == STORE_PUBKEY_BYTES) {
			memcpy(key, sqlite3_column_blob(st, 0),
			    STORE_PUBKEY_BYTES);
			rc = STORE_OK;
		} else {
			rc = STORE_NO_KEY;
		}
		done(st);
		break;
	case SQLITE_DONE:
		rc = STORE_NO_KEY;
		done(st);
		break;
	default:
		break;
	}
out:
	return op_end(s, txn, rc);
}

int
store_counts(struct store *s, struct store_counts *c)
{
	sqlite3_stmt *st;
	enum op_txn txn;
	int rc;

	if ((rc = op_begin(s, OP_READ, &txn)) != STORE_OK)
		return rc;
	rc = STORE_ERROR;
	if ((st = stmt(s, ST_COUNTS)) == NULL)
		goto out;
	if (step(s, st) == SQLITE_ROW) {
		c->users = (uint64_t)sqlite3_column_int64(st, 0);
		c->rooms = (uint64_t)sqlite3_column_int64(st, 1);
		c->last_msg_id = (uint64_t)sqlite3_column_int64(st, 2);
		done(st);
		rc = STORE_OK;
	}
out:
	return op_end(s, txn, rc);
}
