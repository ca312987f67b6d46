/*
 * Unit tests for common/store.c: accounts, rooms, direct messages and the
 * offline queue, HISTORY and SYNC paging and visibility, transactions and
 * the schema checks at open. Each test gets a fresh database in its own
 * temporary folder, removed afterwards.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "store.h"

#define HASH "$argon2id$v=19$m=65536,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g"
#define T0   1700000000000LL

struct fixture {
	char dir[64];
	char path[128];
	struct store *s;
};

/* Remove the database and its WAL side files, then the folder. */
static void
remove_db(struct fixture *f)
{
	static const char *const sfx[] = { "", "-wal", "-shm", "-journal" };
	char p[160];
	size_t i;

	for (i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", f->path, sfx[i]);
		unlink(p);
	}
}

static struct store *
open_db(struct fixture *f, unsigned flags)
{
	char err[256];
	struct store *s = store_open(f->path, flags, 1000, err, sizeof(err));

	if (s == NULL)
		fail_msg("store_open: %s", err);
	return s;
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_store.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/parley.db", f->dir);
	f->s = open_db(f, STORE_CREATE);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	store_close(f->s);
	remove_db(f);
	rmdir(f->dir);
	free(f);
	return 0;
}

static void
add_user(struct store *s, const char *name)
{
	assert_int_equal(store_user_add(s, name, HASH, STORE_ROLE_USER, T0),
	    STORE_OK);
}

static uint64_t
dm(struct store *s, const char *from, const char *to, const char *text)
{
	uint64_t id = 0;

	assert_int_equal(store_dm_append(s, from, to, text, strlen(text),
	    T0 + 1, &id), STORE_OK);
	assert_true(id > 0);
	return id;
}

static uint64_t
say(struct store *s, const char *from, const char *room, const char *text)
{
	uint64_t id = 0;

	assert_int_equal(store_room_append(s, from, room, text, strlen(text),
	    T0 + 2, &id), STORE_OK);
	assert_true(id > 0);
	return id;
}

static void
join(struct store *s, const char *room, const char *user)
{
	assert_int_equal(store_room_join(s, room, user, T0, NULL, NULL),
	    STORE_OK);
}

struct msgs;
static int collect(void *ctx, const struct store_msg *m);

/* Deliver a whole queue as a login does: bound, list, acknowledge. */
static int
take(struct store *s, const char *user, struct msgs *c)
{
	uint64_t max = 0;
	int rc;

	if ((rc = store_pending_max(s, user, &max)) != STORE_OK)
		return rc;
	if (max == 0)
		return STORE_OK;
	if ((rc = store_pending_list(s, user, 0, max, 500, collect, c)) !=
	    STORE_OK)
		return rc;
	return store_pending_ack(s, user, max);
}

/* Messages collected from a store_msg_cb. */
#define MAXMSG 64
struct msgs {
	size_t n;
	size_t stop_after;      /* 0: never stop */
	uint64_t id[MAXMSG];
	int64_t time[MAXMSG];
	char from[MAXMSG][40];
	char to[MAXMSG][80];
	char text[MAXMSG][128];
};

static int
collect(void *ctx, const struct store_msg *m)
{
	struct msgs *c = ctx;

	assert_true(c->n < MAXMSG);
	assert_true(m->text_len < sizeof(c->text[0]));
	c->id[c->n] = m->id;
	c->time[c->n] = m->time_ms;
	snprintf(c->from[c->n], sizeof(c->from[0]), "%s", m->from);
	snprintf(c->to[c->n], sizeof(c->to[0]), "%s", m->to);
	memcpy(c->text[c->n], m->text, m->text_len);
	c->text[c->n][m->text_len] = '\0';
	c->n++;
	return c->stop_after != 0 && c->n >= c->stop_after;
}

static void
assert_ascending(const struct msgs *c)
{
	size_t i;

	for (i = 1; i < c->n; i++)
		assert_true(c->id[i - 1] < c->id[i]);
}

/* ---- users ---- */

struct names {
	size_t n;
	size_t stop_after;
	char name[8][40];
	int role[8];
	bool locked[8];
	unsigned count[8];
};

static int
user_cb(void *ctx, const struct store_user *u)
{
	struct names *c = ctx;

	assert_true(c->n < 8);
	snprintf(c->name[c->n], sizeof(c->name[0]), "%s", u->name);
	c->role[c->n] = u->role;
	c->locked[c->n] = u->locked;
	c->n++;
	return c->stop_after != 0 && c->n >= c->stop_after;
}

static void
test_users(void **state)
{
	struct fixture *f = *state;
	struct store_user u;
	struct names l = { 0 };

	assert_int_equal(store_user_add(f->s, "bob", HASH, STORE_ROLE_USER,
	    T0), STORE_OK);
	assert_int_equal(store_user_add(f->s, "alice", HASH, STORE_ROLE_ADMIN,
	    T0 + 5), STORE_OK);
	assert_int_equal(store_user_add(f->s, "bob", "other", STORE_ROLE_USER,
	    T0), STORE_EXISTS);

	assert_int_equal(store_user_get(f->s, "alice", &u), STORE_OK);
	assert_string_equal(u.name, "alice");
	assert_string_equal(u.hash, HASH);
	assert_int_equal(u.role, STORE_ROLE_ADMIN);
	assert_false(u.locked);
	assert_int_equal(u.created_ms, T0 + 5);
	assert_true(u.id > 0);
	assert_int_equal(store_user_get(f->s, "carol", &u), STORE_NOT_FOUND);
	/* names are stored as given: callers normalise */
	assert_int_equal(store_user_get(f->s, "Alice", &u), STORE_NOT_FOUND);

	assert_int_equal(store_user_set_locked(f->s, "bob", true), STORE_OK);
	assert_int_equal(store_user_set_role(f->s, "bob", STORE_ROLE_ADMIN),
	    STORE_OK);
	assert_int_equal(store_user_set_hash(f->s, "bob", "$new$hash"),
	    STORE_OK);
	assert_int_equal(store_user_get(f->s, "bob", &u), STORE_OK);
	assert_true(u.locked);
	assert_int_equal(u.role, STORE_ROLE_ADMIN);
	assert_string_equal(u.hash, "$new$hash");
	assert_int_equal(store_user_set_locked(f->s, "bob", false), STORE_OK);
	assert_int_equal(store_user_get(f->s, "bob", &u), STORE_OK);
	assert_false(u.locked);

	assert_int_equal(store_user_set_locked(f->s, "carol", true),
	    STORE_NOT_FOUND);
	assert_int_equal(store_user_set_role(f->s, "carol", STORE_ROLE_USER),
	    STORE_NOT_FOUND);
	assert_int_equal(store_user_set_hash(f->s, "carol", HASH),
	    STORE_NOT_FOUND);
	assert_int_equal(store_user_set_role(f->s, "bob", 7), STORE_ERROR);
	assert_int_equal(store_user_add(f->s, "dave", HASH, 2, T0),
	    STORE_ERROR);

	add_user(f->s, "carol");
	assert_int_equal(store_user_list(f->s, user_cb, &l), STORE_OK);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.name[0], "alice");
	assert_string_equal(l.name[1], "bob");
	assert_string_equal(l.name[2], "carol");
	assert_int_equal(l.role[0], STORE_ROLE_ADMIN);
	assert_int_equal(l.role[2], STORE_ROLE_USER);

	/* a callback may stop the walk early */
	memset(&l, 0, sizeof(l));
	l.stop_after = 2;
	assert_int_equal(store_user_list(f->s, user_cb, &l), STORE_OK);
	assert_int_equal(l.n, 2);

	assert_int_equal(store_user_del(f->s, "bob"), STORE_OK);
	assert_int_equal(store_user_del(f->s, "bob"), STORE_NOT_FOUND);
	assert_int_equal(store_user_get(f->s, "bob", &u), STORE_NOT_FOUND);
	memset(&l, 0, sizeof(l));
	assert_int_equal(store_user_list(f->s, user_cb, &l), STORE_OK);
	assert_int_equal(l.n, 2);
	/* the name is free again */
	add_user(f->s, "bob");
}

/* ---- direct messages and the offline queue ---- */

static void
test_dm_pending(void **state)
{
	struct fixture *f = *state;
	struct msgs c = { 0 };
	uint64_t a, b, d, e, id, max;
	const char *q = "he said \"hi\" \\ tab\there, caf\xc3\xa9 \xf0\x9f\x99\x82";

	add_user(f->s, "alice");
	add_user(f->s, "bob");
	a = dm(f->s, "alice", "bob", "one");
	b = dm(f->s, "alice", "bob", q);
	d = dm(f->s, "bob", "alice", "to alice");
	assert_true(a < b && b < d);

	assert_int_equal(store_dm_append(f->s, "alice", "nobody", "x", 1, T0,
	    &id), STORE_NOT_FOUND);
	assert_int_equal(store_dm_append(f->s, "nobody", "bob", "x", 1, T0,
	    &id), STORE_NOT_FOUND);

	/* text is stored by length, not up to a NUL */
	id = 0;
	assert_int_equal(store_dm_append(f->s, "alice", "bob", "abcdef", 3,
	    T0 + 9, &id), STORE_OK);

	assert_int_equal(take(f->s, "bob", &c),
	    STORE_OK);
	assert_int_equal(c.n, 3);
	assert_int_equal(c.id[0], a);
	assert_int_equal(c.id[1], b);
	assert_int_equal(c.id[2], id);
	assert_string_equal(c.from[0], "alice");
	assert_string_equal(c.to[0], "bob");
	assert_string_equal(c.text[0], "one");
	assert_string_equal(c.text[1], q);
	assert_string_equal(c.text[2], "abc");
	assert_int_equal(c.time[2], T0 + 9);

	/* taken once */
	memset(&c, 0, sizeof(c));
	assert_int_equal(take(f->s, "bob", &c),
	    STORE_OK);
	assert_int_equal(c.n, 0);

	/* delivered live: no longer queued */
	assert_int_equal(store_pending_done(f->s, "alice", d), STORE_OK);
	assert_int_equal(store_pending_done(f->s, "alice", d), STORE_OK);
	assert_int_equal(take(f->s, "alice", &c),
	    STORE_OK);
	assert_int_equal(c.n, 0);

	/* paged delivery: nothing leaves the queue before the ack */
	a = dm(f->s, "alice", "bob", "p1");
	b = dm(f->s, "alice", "bob", "p2");
	d = dm(f->s, "alice", "bob", "p3");
	assert_int_equal(store_pending_max(f->s, "bob", &max), STORE_OK);
	assert_int_equal(max, d);
	e = dm(f->s, "alice", "bob", "after the bound");
	memset(&c, 0, sizeof(c));
	assert_int_equal(store_pending_list(f->s, "bob", 0, max, 2, collect,
	    &c), STORE_OK);
	assert_int_equal(c.n, 2);
	assert_int_equal(c.id[0], a);
	assert_int_equal(c.id[1], b);
	memset(&c, 0, sizeof(c));
	assert_int_equal(store_pending_list(f->s, "bob", b, max, 2, collect,
	    &c), STORE_OK);
	assert_int_equal(c.n, 1);
	assert_int_equal(c.id[0], d);
	/* a connection lost here: the whole queue is still there */
	memset(&c, 0, sizeof(c));
	assert_int_equal(store_pending_list(f->s, "bob", 0, 0, 50, collect,
	    &c), STORE_OK);
	assert_int_equal(c.n, 4);
	assert_int_equal(c.id[3], e);
	/* a callback may stop early */
	memset(&c, 0, sizeof(c));
	c.stop_after = 1;
	assert_int_equal(store_pending_list(f->s, "bob", 0, 0, 50, collect,
	    &c), STORE_OK);
	assert_int_equal(c.n, 1);
	/* acknowledging up to the bound leaves what came after */
	assert_int_equal(store_pending_ack(f->s, "bob", max), STORE_OK);
	assert_int_equal(store_pending_ack(f->s, "bob", max), STORE_OK);
	assert_int_equal(store_pending_max(f->s, "bob", &max), STORE_OK);
	assert_int_equal(max, e);
	memset(&c, 0, sizeof(c));
	assert_int_equal(take(f->s, "bob", &c), STORE_OK);
	assert_int_equal(c.n, 1);
	assert_int_equal(c.id[0], e);
	assert_int_equal(store_pending_max(f->s, "bob", &max), STORE_OK);
	assert_int_equal(max, 0);

	assert_int_equal(store_pending_max(f->s, "nobody", &max),
	    STORE_NOT_FOUND);
	assert_int_equal(store_pending_list(f->s, "nobody", 0, 0, 5, collect,
	    &c), STORE_NOT_FOUND);
	assert_int_equal(store_pending_ack(f->s, "nobody", 5),
	    STORE_NOT_FOUND);
	assert_int_equal(take(f->s, "nobody", &c),
	    STORE_NOT_FOUND);
}

static void
test_ids_increase(void **state)
{
	struct fixture *f = *state;
	uint64_t last = 0, id;
	int i;

	add_user(f->s, "alice");
	add_user(f->s, "bob");
	join(f->s, "#r", "alice");
	for (i = 0; i < 50; i++) {
		id = (i % 2) ? dm(f->s, "alice", "bob", "d") :
		    say(f->s, "alice", "#r", "r");
		assert_true(id > last);
		last = id;
	}
	/* in a group transaction too */
	assert_int_equal(store_begin(f->s), STORE_OK);
	for (i = 0; i < 50; i++) {
		id = say(f->s, "alice", "#r", "batch");
		assert_true(id > last);
		last = id;
	}
	assert_int_equal(store_commit(f->s), STORE_OK);
}

/* ---- rooms ---- */

static int
room_cb(void *ctx, const char *room, unsigned members)
{
	struct names *c = ctx;

	assert_true(c->n < 8);
	snprintf(c->name[c->n], sizeof(c->name[0]), "%s", room);
	c->count[c->n] = members;
	c->n++;
	return c->stop_after != 0 && c->n >= c->stop_after;
}

static int
member_cb(void *ctx, const char *user)
{
	struct names *c = ctx;

	assert_true(c->n < 8);
	snprintf(c->name[c->n], sizeof(c->name[0]), "%s", user);
	c->n++;
	return 0;
}

static void
test_rooms(void **state)
{
	struct fixture *f = *state;
	struct names l = { 0 };
	bool created = false, was = true;

	add_user(f->s, "alice");
	add_user(f->s, "bob");
	add_user(f->s, "carol");

	assert_int_equal(store_room_join(f->s, "#b", "bob", T0, &created,
	    &was), STORE_OK);
	assert_true(created);
	assert_false(was);
	assert_int_equal(store_room_join(f->s, "#b", "bob", T0, &created,
	    &was), STORE_OK);
	assert_false(created);
	assert_true(was);
	assert_int_equal(store_room_join(f->s, "#b", "alice", T0, &created,
	    &was), STORE_OK);
	assert_false(created);
	assert_false(was);
	join(f->s, "#a", "carol");
	join(f->s, "#c", "bob");
	assert_int_equal(store_room_join(f->s, "#d", "nobody", T0, &created,
	    &was), STORE_NOT_FOUND);

	assert_int_equal(store_room_list(f->s, room_cb, &l), STORE_OK);
	assert_int_equal(l.n, 3);       /* #d was not made */
	assert_string_equal(l.name[0], "#a");
	assert_int_equal(l.count[0], 1);
	assert_string_equal(l.name[1], "#b");
	assert_int_equal(l.count[1], 2);
	assert_string_equal(l.name[2], "#c");
	assert_int_equal(l.count[2], 1);

	memset(&l, 0, sizeof(l));
	assert_int_equal(store_user_rooms(f->s, "bob", room_cb, &l), STORE_OK);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.name[0], "#b");
	assert_int_equal(l.count[0], 2);
	assert_string_equal(l.name[1], "#c");
	assert_int_equal(store_user_rooms(f->s, "nobody", room_cb, &l),
	    STORE_NOT_FOUND);

	memset(&l, 0, sizeof(l));
	assert_int_equal(store_room_members(f->s, "#b", member_cb, &l),
	    STORE_OK);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.name[0], "alice");
	assert_string_equal(l.name[1], "bob");
	assert_int_equal(store_room_members(f->s, "#zz", member_cb, &l),
	    STORE_NOT_FOUND);

	assert_int_equal(store_room_leave(f->s, "#b", "bob"), STORE_OK);
	assert_int_equal(store_room_leave(f->s, "#b", "bob"),
	    STORE_NOT_MEMBER);
	assert_int_equal(store_room_leave(f->s, "#zz", "bob"),
	    STORE_NOT_FOUND);
	assert_int_equal(store_room_leave(f->s, "#b", "nobody"),
	    STORE_NOT_MEMBER);
	memset(&l, 0, sizeof(l));
	assert_int_equal(store_room_members(f->s, "#b", member_cb, &l),
	    STORE_OK);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.name[0], "alice");

	/* deleting a user removes their memberships; empty rooms stay */
	assert_int_equal(store_user_del(f->s, "carol"), STORE_OK);
	memset(&l, 0, sizeof(l));
	assert_int_equal(store_room_list(f->s, room_cb, &l), STORE_OK);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.name[0], "#a");
	assert_int_equal(l.count[0], 0);
}

static void
test_room_append(void **state)
{
	struct fixture *f = *state;
	struct msgs c = { 0 };
	uint64_t id = 0;

	add_user(f->s, "alice");
	add_user(f->s, "bob");
	join(f->s, "#r", "alice");
	assert_int_equal(store_room_append(f->s, "bob", "#r", "x", 1, T0, &id),
	    STORE_NOT_MEMBER);
	assert_int_equal(store_room_append(f->s, "alice", "#nope", "x", 1, T0,
	    &id), STORE_NOT_FOUND);
	assert_int_equal(store_room_append(f->s, "nobody", "#r", "x", 1, T0,
	    &id), STORE_NOT_MEMBER);
	id = say(f->s, "alice", "#r", "hello \"all\"");

	assert_int_equal(store_history(f->s, "alice", "#r", 10, 0, collect,
	    &c), STORE_OK);
	assert_int_equal(c.n, 1);
	assert_int_equal(c.id[0], id);
	assert_string_equal(c.from[0], "alice");
	assert_string_equal(c.to[0], "#r");
	assert_string_equal(c.text[0], "hello \"all\"");
	assert_int_equal(c.time[0], T0 + 2);
}

/* ---- HISTORY ---- */

static void
test_history_room(void **state)
{
	struct fixture *f = *state;
	struct msgs c = { 0 };
	uint64_t ids[10];
	int i;

	add_user(f->s, "alice");
	add_user(f->s, "bob");
	join(f->s, "#r", "alice");
	join(f->s, "#other", "alice");
	for (i = 0; i < 10; i++) {
		char t[8];

		snprintf(t, sizeof(t), "m%d", i);
		ids[i] = say(f->s, "alice", "#r", t);
		(void)say(f->s, "alice", "#other", "noise");
	}

	/* newest three, oldest first */
	assert_int_equal(store_history(f->s, "alice", "#r", 3, 0, collect, &c),
	    STORE_OK);
	assert_int_equal(c.n, 3);
	assert_int_equal(c.id[0], ids[7]);
	assert_int_equal(c.id[1], ids[8]);
	assert_int_equal(c.id[2], ids[9]);
	assert_string_equal(c.text[0], "m7");

	/* the page before, then the rest */
	memset(&c, 0, sizeof(c));
	assert_int_equal(store_history(f->s, "alice", "#r", 3, ids[7], collect,
	    &c), STORE_OK);
	assert_int_equal(c.n, 3);
	assert_int_equal(c.id[0], ids[4]);
	assert_int_equal(c.id[2], ids[6]);
	memset(&c, 0, sizeof(c));
	assert_int_equal(store_history(f->s, "alice", "#r", 50, ids[4],
	    collect, &c), STORE_OK);
	assert_int_equal(c.n, 4);
	assert_int_equal(c.id[0], ids[0]);
	assert_int_equal(c.id[3], ids[3]);
	memset(&c, 0, sizeof(c));
	assert_int_equal(store_history(f->s, "alice", "#r", 50, ids[0],
	    collect, &c), STORE_OK);
	assert_int_equal(c.n, 0);

	/* whole room, a huge bound, limit 0 */
	assert_int_equal(store_history(f->s, "alice", "#r", 500, UINT64_MAX,
	    collect, &c), STORE_OK);
	assert_int_equal(c.n, 10);
	assert_ascending(&c);
	memset(&c, 0, sizeof(c));
	assert_int_equal(store_history(f->s, "alice", "#r", 0, 0, collect, &c),
	    STORE_OK);
	assert_int_equal(c.n, 0);

	/* callback stops */
	c.stop_after = 2;
	assert_int_equal(store_history(f->s, "alice", "#r", 5, 0, collect, &c),
	    STORE_OK);
	assert_int_equal(c.n, 2);

	assert_int_equal(store_history(f->s, "bob", "#r", 5, 0, collect, &c),
	    STORE_NOT_MEMBER);
	assert_int_equal(store_history(f->s, "alice", "#none", 5, 0, collect,
	    &c), STORE_NOT_FOUND);
}

static void
test_history_dm(void **state)
{
	struct fixture *f = *state;
	struct msgs c = { 0 };
	uint64_t a1, b1, a2, b2;

	add_user(f->s, "alice");
	add_user(f->s, "bob");
	add_user(f->s, "carol");
	a1 = dm(f->s, "alice", "bob", "a1");
	(void)dm(f->s, "alice", "carol", "not for bob");
	b1 = dm(f->s, "bob", "alice", "b1");
	(void)dm(f->s, "carol", "bob", "carol to bob");
	a2 = dm(f->s, "alice", "bob", "a2");
	b2 = dm(f->s, "bob", "alice", "b2");

	/* both directions, from either side */
	assert_int_equal(store_history(f->s, "alice", "bob", 50, 0, collect,
	    &c), STORE_OK);
	assert_int_equal(c.n, 4);
	assert_int_equal(c.id[0], a1);
	assert_int_equal(c.id[1], b1);
	assert_int_equal(c.id[2], a2);
	assert_int_equal(c.id[3], b2);
	assert_string_equal(c.from[1], "bob");
	assert_string_equal(c.to[1], "alice");
	memset(&c, 0, sizeof(c));
	assert_int_equal(store_history(f->s, "bob", "alice", 2, b2, collect,
	    &c), STORE_OK);
	assert_int_equal(c.n, 2);
	assert_int_equal(c.id[0], b1);
	assert_int_equal(c.id[1], a2);

	memset(&c, 0, sizeof(c));
	assert_int_equal(store_history(f->s, "carol", "alice", 50, 0, collect,
	    &c), STORE_OK);
	assert_int_equal(c.n, 1);
	assert_string_equal(c.text[0], "not for bob");

	/* a conversation with oneself */
	memset(&c, 0, sizeof(c));
	(void)dm(f->s, "alice", "alice", "note");
	assert_int_equal(store_history(f->s, "alice", "alice", 50, 0, collect,
	    &c), STORE_OK);
	assert_int_equal(c.n, 1);
	assert_string_equal(c.text[0], "note");

	assert_int_equal(store_history(f->s, "alice", "nobody", 50, 0, collect,
	    &c), STORE_NOT_FOUND);
}

/* ---- SYNC ---- */

/* Page through SYNC in steps of `limit` as a client would. */
static void
sync_all(struct store *s, const char *user, uint64_t since, unsigned limit,
    struct msgs *all)
{
	struct msgs page;

	memset(all, 0, sizeof(*all));
	for (;;) {
		size_t i;

		memset(&page, 0, sizeof(page));
		assert_int_equal(store_sync(s, user, since, limit, collect,
		    &page), STORE_OK);
		assert_true(page.n <= limit);
		assert_ascending(&page);
		if (page.n == 0)
			break;
		assert_true(page.id[0] > since);
		for (i = 0; i < page.n; i++) {
			assert_true(all->n < MAXMSG);
			all->id[all->n] = page.id[i];
			memcpy(all->text[all->n], page.text[i],
			    sizeof(page.text[i]));
			all->n++;
		}
		since = page.id[page.n - 1];
	}
	assert_ascending(all);
}

static void
test_sync(void **state)
{
	struct fixture *f = *state;
	struct msgs all, c = { 0 };
	uint64_t first, left_id;
	unsigned limit;
	int i;

	add_user(f->s, "alice");
	add_user(f->s, "bob");
	add_user(f->s, "carol");
	join(f->s, "#a", "alice");
	join(f->s, "#b", "alice");
	join(f->s, "#b", "bob");
	join(f->s, "#c", "carol");

	first = say(f->s, "alice", "#a", "a0");
	for (i = 0; i < 4; i++) {
		(void)say(f->s, "bob", "#b", "b");
		(void)dm(f->s, "alice", "bob", "to bob");
		(void)dm(f->s, "carol", "alice", "from carol");
		(void)say(f->s, "carol", "#c", "carol's room");
		(void)dm(f->s, "bob", "carol", "not alice's");
		(void)say(f->s, "alice", "#a", "a");
	}
	(void)dm(f->s, "alice", "alice", "self");

	/* alice sees #a (5), #b (4), her DMs (4 + 4 + 1 to herself, once) */
	for (limit = 1; limit <= 20; limit += 3) {
		sync_all(f->s, "alice", 0, limit, &all);
		assert_int_equal(all.n, 18);
		assert_int_equal(all.id[0], first);
		for (i = 0; i < (int)all.n; i++) {
			assert_string_not_equal(all.text[i], "not alice's");
			assert_string_not_equal(all.text[i], "carol's room");
		}
	}
	/* bob: #b (4), 4 from alice, 4 to carol */
	sync_all(f->s, "bob", 0, 5, &all);
	assert_int_equal(all.n, 12);

	/* since-id in the middle */
	sync_all(f->s, "alice", first, 500, &all);
	assert_int_equal(all.n, 17);
	assert_true(all.id[0] > first);

	/* a room left is no longer visible, even its old messages */
	assert_int_equal(store_room_leave(f->s, "#b", "alice"), STORE_OK);
	sync_all(f->s, "alice", 0, 7, &all);
	assert_int_equal(all.n, 14);
	for (i = 0; i < (int)all.n; i++)
		assert_string_not_equal(all.text[i], "b");
	left_id = say(f->s, "bob", "#b", "after leave");
	sync_all(f->s, "alice", 0, 500, &all);
	assert_int_equal(all.n, 14);
	assert_true(all.id[all.n - 1] < left_id);

	/* rejoining makes the room's whole history visible again */
	join(f->s, "#b", "alice");
	sync_all(f->s, "alice", 0, 500, &all);
	assert_int_equal(all.n, 19);

	/* limit 0, past the end, callback stop, unknown user */
	assert_int_equal(store_sync(f->s, "alice", 0, 0, collect, &c),
	    STORE_OK);
	assert_int_equal(c.n, 0);
	assert_int_equal(store_sync(f->s, "alice", UINT64_MAX, 10, collect,
	    &c), STORE_OK);
	assert_int_equal(c.n, 0);
	c.stop_after = 3;
	assert_int_equal(store_sync(f->s, "alice", 0, 10, collect, &c),
	    STORE_OK);
	assert_int_equal(c.n, 3);
	assert_int_equal(store_sync(f->s, "nobody", 0, 10, collect, &c),
	    STORE_NOT_FOUND);
}

static int
count_cb(void *ctx, const struct store_msg *m)
{
	(void)m;
	(*(unsigned *)ctx)++;
	return 0;
}

/* A limit above SYNC_LIMIT_MAX is capped; paging still reaches all. */
static void
test_sync_cap(void **state)
{
	struct fixture *f = *state;
	unsigned n = 0;
	int i;

	add_user(f->s, "alice");
	join(f->s, "#r", "alice");
	assert_int_equal(store_begin(f->s), STORE_OK);
	for (i = 0; i < SYNC_LIMIT_MAX + 20; i++)
		(void)say(f->s, "alice", "#r", "x");
	assert_int_equal(store_commit(f->s), STORE_OK);
	assert_int_equal(store_sync(f->s, "alice", 0, 100000, count_cb, &n),
	    STORE_OK);
	assert_int_equal(n, SYNC_LIMIT_MAX);
}

/* A new account under a deleted user's name must not inherit anything. */
static void
test_recreated_user(void **state)
{
	struct fixture *f = *state;
	struct msgs all, c = { 0 };
	struct store_user u1, u2;

	add_user(f->s, "alice");
	add_user(f->s, "bob");
	join(f->s, "#r", "bob");
	assert_int_equal(store_user_get(f->s, "bob", &u1), STORE_OK);
	(void)dm(f->s, "alice", "bob", "secret for old bob");
	(void)dm(f->s, "bob", "alice", "old bob writes");

	assert_int_equal(store_user_del(f->s, "bob"), STORE_OK);
	add_user(f->s, "bob");
	assert_int_equal(store_user_get(f->s, "bob", &u2), STORE_OK);
	assert_true(u2.id != u1.id);

	assert_int_equal(take(f->s, "bob", &c),
	    STORE_OK);
	assert_int_equal(c.n, 0);
	assert_int_equal(store_history(f->s, "bob", "alice", 50, 0, collect,
	    &c), STORE_OK);
	assert_int_equal(c.n, 0);
	sync_all(f->s, "bob", 0, 50, &all);
	assert_int_equal(all.n, 0);
	/* memberships went with the old account */
	assert_int_equal(store_history(f->s, "bob", "#r", 50, 0, collect, &c),
	    STORE_NOT_MEMBER);

	/* the other party keeps the history */
	sync_all(f->s, "alice", 0, 50, &all);
	assert_int_equal(all.n, 2);
	assert_int_equal(take(f->s, "alice", &c),
	    STORE_OK);
	assert_int_equal(c.n, 1);
	assert_string_equal(c.text[0], "old bob writes");
}

/* ---- open, close, transactions ---- */

static void
test_reopen(void **state)
{
	struct fixture *f = *state;
	struct store_user u;
	struct msgs c = { 0 };
	uint64_t id, id2;

	add_user(f->s, "alice");
	join(f->s, "#r", "alice");
	id = say(f->s, "alice", "#r", "kept");
	store_close(f->s);

	/* a plain open finds everything */
	f->s = open_db(f, 0);
	assert_int_equal(store_user_get(f->s, "alice", &u), STORE_OK);
	assert_int_equal(store_history(f->s, "alice", "#r", 10, 0, collect,
	    &c), STORE_OK);
	assert_int_equal(c.n, 1);
	assert_int_equal(c.id[0], id);
	assert_string_equal(c.text[0], "kept");
	id2 = say(f->s, "alice", "#r", "next");
	assert_true(id2 > id);
	store_close(f->s);

	f->s = open_db(f, STORE_CREATE | STORE_SYNC_FULL);
	assert_int_equal(store_user_get(f->s, "alice", &u), STORE_OK);
}

/* A rolled-back append leaves no gap that breaks the ordering. */
static void
test_ids_after_rollback(void **state)
{
	struct fixture *f = *state;
	uint64_t id, id2;

	add_user(f->s, "alice");
	join(f->s, "#r", "alice");
	assert_int_equal(store_begin(f->s), STORE_OK);
	id = say(f->s, "alice", "#r", "rolled back");
	store_rollback(f->s);
	id2 = say(f->s, "alice", "#r", "kept");
	/* a rolled-back id may come back: it was never acknowledged */
	assert_true(id2 >= id);
	id = say(f->s, "alice", "#r", "kept too");
	assert_true(id > id2);
}

static void
test_missing(void **state)
{
	struct fixture *f = *state;
	char path[160], err[256] = "";
	struct store *s;

	snprintf(path, sizeof(path), "%s/nope.db", f->dir);
	s = store_open(path, 0, 100, err, sizeof(err));
	assert_null(s);
	assert_non_null(strstr(err, "does not exist"));
	assert_non_null(strstr(err, path));
	assert_int_equal(access(path, F_OK), -1);

	/* a missing folder with STORE_CREATE fails cleanly too */
	snprintf(path, sizeof(path), "%s/no/such/dir.db", f->dir);
	s = store_open(path, STORE_CREATE, 100, err, sizeof(err));
	assert_null(s);
	assert_true(err[0] != '\0');
}

/* ":memory:" gives a private database, for tests and fuzzing. */
static void
test_memory(void **state)
{
	struct store *s;
	struct msgs c = { 0 };
	char err[256];

	(void)state;
	s = store_open(":memory:", 0, 100, err, sizeof(err));
	if (s == NULL)
		fail_msg("store_open: %s", err);
	add_user(s, "alice");
	join(s, "#r", "alice");
	(void)say(s, "alice", "#r", "in memory");
	assert_int_equal(store_history(s, "alice", "#r", 5, 0, collect, &c),
	    STORE_OK);
	assert_int_equal(c.n, 1);
	store_close(s);
}

/* Overwrite 4 big-endian bytes of the database header at off. */
static void
poke_header(const char *path, long off, uint32_t v)
{
	unsigned char b[4] = { v >> 24, (v >> 16) & 0xff, (v >> 8) & 0xff,
	    v & 0xff };
	FILE *fp = fopen(path, "r+b");

	assert_non_null(fp);
	assert_int_equal(fseek(fp, off, SEEK_SET), 0);
	assert_int_equal(fwrite(b, 1, 4, fp), 4);
	assert_int_equal(fclose(fp), 0);
}

static void
test_schema_checks(void **state)
{
	struct fixture *f = *state;
	char err[256] = "";
	struct store *s;
	FILE *fp;

	add_user(f->s, "alice");
	store_close(f->s);      /* checkpointed: the header is in the file */
	f->s = NULL;

	/* user_version (offset 60) newer than this build knows */
	poke_header(f->path, 60, 99);
	s = store_open(f->path, STORE_CREATE, 100, err, sizeof(err));
	assert_null(s);
	assert_non_null(strstr(err, "newer"));

	/* another application's database (application_id, offset 68) */
	poke_header(f->path, 60, 1);
	poke_header(f->path, 68, 0x12345678);
	s = store_open(f->path, STORE_CREATE, 100, err, sizeof(err));
	assert_null(s);
	assert_non_null(strstr(err, "not a parley database"));

	/* not SQLite at all */
	remove_db(f);
	fp = fopen(f->path, "wb");
	assert_non_null(fp);
	fputs("this is not a database, just some text that is long enough "
	    "to fill a header of one hundred bytes, hopefully........", fp);
	fclose(fp);
	s = store_open(f->path, 0, 100, err, sizeof(err));
	assert_null(s);
	assert_true(err[0] != '\0');

	/* an empty file is initialised */
	remove_db(f);
	fp = fopen(f->path, "wb");
	assert_non_null(fp);
	fclose(fp);
	f->s = open_db(f, 0);
	add_user(f->s, "alice");
}

static void
test_transactions(void **state)
{
	struct fixture *f = *state;
	struct store_user u;
	struct msgs c = { 0 };

	add_user(f->s, "alice");
	join(f->s, "#r", "alice");

	assert_int_equal(store_begin(f->s), STORE_OK);
	assert_int_equal(store_begin(f->s), STORE_ERROR);       /* nested */
	add_user(f->s, "bob");
	(void)say(f->s, "alice", "#r", "gone");
	(void)dm(f->s, "alice", "bob", "gone too");
	join(f->s, "#new", "alice");
	store_rollback(f->s);
	store_rollback(f->s);   /* harmless twice */

	assert_int_equal(store_user_get(f->s, "bob", &u), STORE_NOT_FOUND);
	assert_int_equal(store_history(f->s, "alice", "#r", 10, 0, collect,
	    &c), STORE_OK);
	assert_int_equal(c.n, 0);
	assert_int_equal(store_history(f->s, "alice", "#new", 10, 0, collect,
	    &c), STORE_NOT_FOUND);

	/* a failing call inside a group leaves the others in place */
	assert_int_equal(store_begin(f->s), STORE_OK);
	add_user(f->s, "bob");
	assert_int_equal(store_user_add(f->s, "bob", HASH, STORE_ROLE_USER,
	    T0), STORE_EXISTS);
	(void)dm(f->s, "alice", "bob", "kept");
	assert_int_equal(store_commit(f->s), STORE_OK);
	assert_int_equal(take(f->s, "bob", &c),
	    STORE_OK);
	assert_int_equal(c.n, 1);

	assert_int_equal(store_commit(f->s), STORE_ERROR);      /* none open */
	assert_non_null(store_errmsg(f->s));
}

/* Another connection holding the write lock: an error, never a hang. */
static void
test_busy(void **state)
{
	struct fixture *f = *state;
	struct store_user u;
	char err[256];
	struct store *other;

	add_user(f->s, "alice");
	other = store_open(f->path, 0, 50, err, sizeof(err));
	assert_non_null(other);

	assert_int_equal(store_begin(f->s), STORE_OK);
	add_user(f->s, "bob");
	assert_int_equal(store_user_add(other, "carol", HASH, STORE_ROLE_USER,
	    T0), STORE_ERROR);
	assert_non_null(strstr(store_errmsg(other), "locked"));
	assert_int_equal(store_begin(other), STORE_ERROR);
	/* readers are not blocked by the writer (WAL) */
	assert_int_equal(store_user_get(other, "alice", &u), STORE_OK);
	assert_int_equal(store_user_get(other, "bob", &u), STORE_NOT_FOUND);
	assert_int_equal(store_commit(f->s), STORE_OK);

	assert_int_equal(store_user_add(other, "carol", HASH, STORE_ROLE_USER,
	    T0), STORE_OK);
	assert_int_equal(store_user_get(other, "bob", &u), STORE_OK);
	store_close(other);
	assert_int_equal(store_user_get(f->s, "carol", &u), STORE_OK);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_users, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dm_pending, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_ids_increase, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_rooms, setup, teardown),
		cmocka_unit_test_setup_teardown(test_room_append, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_history_room, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_history_dm, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_sync, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sync_cap, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_recreated_user, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ids_after_rollback, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_missing, setup, teardown),
		cmocka_unit_test(test_memory),
		cmocka_unit_test_setup_teardown(test_schema_checks, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_transactions, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_busy, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
