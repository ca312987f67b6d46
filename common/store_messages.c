/*
 * store_messages: room and direct messages, the offline queue, rooms and
 * their members, HISTORY and SYNC. See store.h for what each call means.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "store_int.h"

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

	while ((r = sq_step(s, st)) == SQLITE_ROW)
		if (row_msg(st, cb, ctx) != 0)
			break;
	if (r < 0)
		return STORE_ERROR;
	sq_done(st);
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

	if ((rc = sq_op_begin(s, OP_MULTI, &txn)) != STORE_OK)
		return rc;
	if ((rc = sq_lookup_id(s, ST_USER_ID, to, &to_id)) != STORE_OK ||
	    (rc = sq_lookup_id(s, ST_USER_ID, from, &from_id)) != STORE_OK)
		goto out;
	rc = STORE_ERROR;
	if ((st = sq_stmt(s, ST_DM_ADD)) == NULL ||
	    sq_bind_name(s, st, 2, from) < 0 || sq_bind_name(s, st, 3, to) < 0 ||
	    sq_bind_text(s, st, 6, text, len) < 0)
		goto out;
	sqlite3_bind_int64(st, 1, now_ms);
	sqlite3_bind_int64(st, 4, from_id);
	sqlite3_bind_int64(st, 5, to_id);
	if (sq_run(s, st) < 0)
		goto out;
	msg_id = sqlite3_last_insert_rowid(s->db);

	if ((st = sq_stmt(s, ST_PENDING_ADD)) == NULL)
		goto out;
	sqlite3_bind_int64(st, 1, to_id);
	sqlite3_bind_int64(st, 2, msg_id);
	if (sq_run(s, st) < 0)
		goto out;
	*id = (uint64_t)msg_id;
	rc = STORE_OK;
out:
	return sq_op_end(s, txn, rc);
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

	if ((rc = sq_op_begin(s, OP_READ, &txn)) != STORE_OK)
		return rc;
	if ((rc = sq_lookup_id(s, ST_USER_ID, user, &uid)) != STORE_OK)
		goto out;
	rc = STORE_ERROR;
	if ((st = sq_stmt(s, ST_PENDING_MAX)) == NULL)
		goto out;
	sqlite3_bind_int64(st, 1, uid);
	if ((r = sq_step(s, st)) < 0)
		goto out;
	*max_id = r == SQLITE_ROW ? (uint64_t)sqlite3_column_int64(st, 0) : 0;
	sq_done(st);
	rc = STORE_OK;
out:
	return sq_op_end(s, txn, rc);
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

	if ((rc = sq_op_begin(s, OP_READ, &txn)) != STORE_OK)
		return rc;
	if ((rc = sq_lookup_id(s, ST_USER_ID, user, &uid)) != STORE_OK)
		goto out;
	rc = STORE_ERROR;
	if ((st = sq_stmt(s, ST_PENDING_LIST)) == NULL)
		goto out;
	sqlite3_bind_int64(st, 1, uid);
	sqlite3_bind_int64(st, 2, sq_id_bound(after_id));
	sqlite3_bind_int64(st, 3, upto_id == 0 ? INT64_MAX : sq_id_bound(upto_id));
	sqlite3_bind_int64(st, 4, limit);
	rc = each_msg(s, st, cb, ctx);
out:
	return sq_op_end(s, txn, rc);
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

	if ((rc = sq_op_begin(s, OP_WRITE, &txn)) != STORE_OK)
		return rc;
	if ((rc = sq_lookup_id(s, ST_USER_ID, user, &uid)) != STORE_OK)
		goto out;
	rc = STORE_ERROR;
	if ((st = sq_stmt(s, ST_PENDING_ACK)) == NULL)
		goto out;
	sqlite3_bind_int64(st, 1, uid);
	sqlite3_bind_int64(st, 2, sq_id_bound(upto_id));
	if (sq_run(s, st) < 0)
		goto out;
	rc = STORE_OK;
out:
	return sq_op_end(s, txn, rc);
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

	if ((rc = sq_op_begin(s, OP_WRITE, &txn)) != STORE_OK)
		return rc;
	rc = STORE_ERROR;
	if ((st = sq_stmt(s, ST_PENDING_DONE)) == NULL ||
	    sq_bind_name(s, st, 1, user) < 0)
		goto out;
	sqlite3_bind_int64(st, 2, sq_id_bound(msg_id));
	if (sq_run(s, st) < 0)
		goto out;
	rc = STORE_OK;
out:
	return sq_op_end(s, txn, rc);
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

	if ((rc = sq_op_begin(s, OP_MULTI, &txn)) != STORE_OK)
		return rc;
	if ((rc = sq_lookup_id(s, ST_USER_ID, user, &uid)) != STORE_OK)
		goto out;
	rc = STORE_ERROR;
	if ((st = sq_stmt(s, ST_ROOM_ADD)) == NULL || sq_bind_name(s, st, 1, room) < 0)
		goto out;
	sqlite3_bind_int64(st, 2, now_ms);
	if (sq_run(s, st) < 0)
		goto out;
	made = sqlite3_changes(s->db) != 0;
	if (made)
		rid = sqlite3_last_insert_rowid(s->db);
	else if (sq_lookup_id(s, ST_ROOM_ID, room, &rid) != STORE_OK)
		goto out;       /* it was there a moment ago: corrupt */

	if ((st = sq_stmt(s, ST_MEMBER_ADD)) == NULL)
		goto out;
	sqlite3_bind_int64(st, 1, rid);
	sqlite3_bind_int64(st, 2, uid);
	sqlite3_bind_int64(st, 3, now_ms);
	if (sq_run(s, st) < 0)
		goto out;
	if (created != NULL)
		*created = made;
	if (was_member != NULL)
		*was_member = sqlite3_changes(s->db) == 0;
	rc = STORE_OK;
out:
	return sq_op_end(s, txn, rc);
}

/* Leave a room; see store.h. The room stays, possibly empty. */
int
store_room_leave(struct store *s, const char *room, const char *user)
{
	sqlite3_stmt *st;
	enum op_txn txn;
	int64_t rid;
	int rc;

	if ((rc = sq_op_begin(s, OP_WRITE, &txn)) != STORE_OK)
		return rc;
	if ((rc = sq_lookup_id(s, ST_ROOM_ID, room, &rid)) != STORE_OK)
		goto out;
	rc = STORE_ERROR;
	if ((st = sq_stmt(s, ST_MEMBER_DEL)) == NULL ||
	    sq_bind_name(s, st, 2, user) < 0)
		goto out;
	sqlite3_bind_int64(st, 1, rid);
	if (sq_run(s, st) < 0)
		goto out;
	rc = sqlite3_changes(s->db) == 0 ? STORE_NOT_MEMBER : STORE_OK;
out:
	return sq_op_end(s, txn, rc);
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

	if ((st = sq_stmt(s, ST_ROOM_SENDER)) == NULL ||
	    sq_bind_name(s, st, 1, room) < 0 || sq_bind_name(s, st, 2, user) < 0)
		return STORE_ERROR;
	switch (sq_step(s, st)) {
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
	sq_done(st);
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

	if ((rc = sq_op_begin(s, OP_WRITE, &txn)) != STORE_OK)
		return rc;
	if ((rc = room_access(s, room, from, &rid, &uid)) != STORE_OK)
		goto out;
	rc = STORE_ERROR;
	if ((st = sq_stmt(s, ST_ROOM_MSG_ADD)) == NULL ||
	    sq_bind_name(s, st, 2, from) < 0 || sq_bind_name(s, st, 3, room) < 0 ||
	    sq_bind_text(s, st, 6, text, len) < 0)
		goto out;
	sqlite3_bind_int64(st, 1, now_ms);
	sqlite3_bind_int64(st, 4, uid);
	sqlite3_bind_int64(st, 5, rid);
	if (sq_run(s, st) < 0)
		goto out;
	*id = (uint64_t)sqlite3_last_insert_rowid(s->db);
	rc = STORE_OK;
out:
	return sq_op_end(s, txn, rc);
}

/* Hand each (name, count) row of a bound room query to cb. */
static int
each_room(struct store *s, sqlite3_stmt *st, store_room_cb cb, void *ctx)
{
	int r;

	while ((r = sq_step(s, st)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);
		int64_t n = sqlite3_column_int64(st, 1);

		if (cb(ctx, name != NULL ? name : "",
		    n > UINT32_MAX ? UINT32_MAX : (unsigned)n) != 0)
			break;
	}
	if (r < 0)
		return STORE_ERROR;
	sq_done(st);
	return STORE_OK;
}

/* Every room with its member count; see store.h. */
int
store_room_list(struct store *s, store_room_cb cb, void *ctx)
{
	sqlite3_stmt *st;
	enum op_txn txn;
	int rc;

	if ((rc = sq_op_begin(s, OP_READ, &txn)) != STORE_OK)
		return rc;
	rc = STORE_ERROR;
	if ((st = sq_stmt(s, ST_ROOM_LIST)) != NULL)
		rc = each_room(s, st, cb, ctx);
	return sq_op_end(s, txn, rc);
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

	if ((rc = sq_op_begin(s, OP_READ, &txn)) != STORE_OK)
		return rc;
	if ((rc = sq_lookup_id(s, ST_USER_ID, user, &uid)) != STORE_OK)
		goto out;
	rc = STORE_ERROR;
	if ((st = sq_stmt(s, ST_USER_ROOMS)) == NULL)
		goto out;
	sqlite3_bind_int64(st, 1, uid);
	rc = each_room(s, st, cb, ctx);
out:
	return sq_op_end(s, txn, rc);
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

	if ((rc = sq_op_begin(s, OP_READ, &txn)) != STORE_OK)
		return rc;
	if ((rc = sq_lookup_id(s, ST_ROOM_ID, room, &rid)) != STORE_OK)
		goto out;
	rc = STORE_ERROR;
	if ((st = sq_stmt(s, ST_ROOM_MEMBERS)) == NULL)
		goto out;
	sqlite3_bind_int64(st, 1, rid);
	while ((r = sq_step(s, st)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);

		if (cb(ctx, name != NULL ? name : "") != 0)
			break;
	}
	if (r < 0)
		goto out;
	sq_done(st);
	rc = STORE_OK;
out:
	return sq_op_end(s, txn, rc);
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

	before = before_id == 0 ? INT64_MAX : sq_id_bound(before_id);
	if ((rc = sq_op_begin(s, OP_READ, &txn)) != STORE_OK)
		return rc;
	if (target[0] == '#') {
		if ((rc = room_access(s, target, user, &a, &b)) != STORE_OK)
			goto out;
		rc = STORE_ERROR;
		if ((st = sq_stmt(s, ST_HIST_ROOM)) == NULL)
			goto out;
		sqlite3_bind_int64(st, 1, a);
		sqlite3_bind_int64(st, 2, before);
		sqlite3_bind_int64(st, 3, limit);
	} else {
		if ((rc = sq_lookup_id(s, ST_USER_ID, target, &a)) != STORE_OK ||
		    (rc = sq_lookup_id(s, ST_USER_ID, user, &b)) != STORE_OK)
			goto out;
		rc = STORE_ERROR;
		if ((st = sq_stmt(s, ST_HIST_DM)) == NULL)
			goto out;
		sqlite3_bind_int64(st, 1, a < b ? a : b);
		sqlite3_bind_int64(st, 2, a < b ? b : a);
		sqlite3_bind_int64(st, 3, before);
		sqlite3_bind_int64(st, 4, limit);
	}
	rc = each_msg(s, st, cb, ctx);
out:
	return sq_op_end(s, txn, rc);
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
	while ((r = sq_step(s, st)) == SQLITE_ROW && k < p->cap)
		p->in[k++] = sqlite3_column_int64(st, 0);
	if (r < 0)
		return -1;
	sq_done(st);

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

	if ((st = sq_stmt(s, ST_SYNC_DM_FROM)) == NULL ||
	    page_merge(s, st, uid, since, p) < 0 ||
	    (st = sq_stmt(s, ST_SYNC_DM_TO)) == NULL ||
	    page_merge(s, st, uid, since, p) < 0)
		return -1;
	if ((rooms = sq_stmt(s, ST_SYNC_ROOMS)) == NULL ||
	    (st = sq_stmt(s, ST_SYNC_ROOM)) == NULL)
		return -1;
	sqlite3_bind_int64(rooms, 1, uid);
	while ((r = sq_step(s, rooms)) == SQLITE_ROW) {
		if (page_merge(s, st, sqlite3_column_int64(rooms, 0), since,
		    p) < 0) {
			sq_done(rooms);
			return -1;
		}
	}
	if (r < 0)
		return -1;
	sq_done(rooms);
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
	int64_t uid, since = sq_id_bound(since_id);
	size_t i;
	int rc, r;

	if ((rc = sq_op_begin(s, OP_READ, &txn)) != STORE_OK)
		return rc;
	if ((rc = sq_lookup_id(s, ST_USER_ID, user, &uid)) != STORE_OK)
		goto out;
	rc = STORE_OK;
	if (limit == 0 || since == INT64_MAX)
		goto out;
	rc = STORE_ERROR;
	p.cap = limit > SYNC_LIMIT_MAX ? SYNC_LIMIT_MAX : limit;
	if ((mem = calloc(3 * p.cap, sizeof(*mem))) == NULL) {
		sq_set_err(s, "out of memory");
		goto out;
	}
	p.ids = mem;
	p.in = mem + p.cap;
	p.out = mem + 2 * p.cap;
	if (sync_ids(s, uid, since, &p) < 0)
		goto out;

	if ((st = sq_stmt(s, ST_MSG_GET)) == NULL)
		goto out;
	for (i = 0; i < p.n; i++) {
		sqlite3_bind_int64(st, 1, p.ids[i]);
		if ((r = sq_step(s, st)) < 0)
			goto out;
		r = r == SQLITE_ROW ? row_msg(st, cb, ctx) : 0;
		sq_done(st);
		if (r != 0)
			break;
	}
	rc = STORE_OK;
out:
	free(mem);
	return sq_op_end(s, txn, rc);
}
