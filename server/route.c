/*
 * route: the in-memory picture of who is online, their sessions, and the
 * rooms they are in — what fan-out and presence need without asking the
 * store.
 *
 * Only online users are here. A user entry lives from their first session
 * to their last; it links to the rooms they are a member of (loaded from
 * the store at their first login, kept current by JOIN and LEAVE), and a
 * room entry lives while at least one member is online. Lookups by name go
 * through hash tables (uthash, header-only, Debian's uthash-dev).
 *
 * The store stays the authority on accounts and memberships: a room SEND
 * is checked there; this module only decides who hears about it now.
 */
#include "route.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <uthash.h>

#include "conn.h"
#include "log.h"
#include "server.h"

struct session {
	struct conn *c;
	struct ruser *user;
	LIST_ENTRY(session) link;
};

/* A membership of an online user in a room. */
struct rmember {
	struct rroom *room;
	struct ruser *user;
	LIST_ENTRY(rmember) in_room;
	LIST_ENTRY(rmember) in_user;
};

struct ruser {
	char name[NAMES_USER_MAX + 1];
	unsigned nsessions;
	unsigned mark;                  /* presence fan-out de-duplication */
	LIST_HEAD(, session) sessions;
	LIST_HEAD(, rmember) rooms;
	UT_hash_handle hh;
};

struct rroom {
	char name[NAMES_ROOM_MAX + 1];
	LIST_HEAD(, rmember) members;   /* online members only */
	UT_hash_handle hh;
};

static struct ruser *users;
static struct rroom *rooms;
static unsigned nusers;
static unsigned nsessions;
static unsigned mark_gen;

static struct ruser *
find_user(const char *name)
{
	struct ruser *u;

	HASH_FIND_STR(users, name, u);
	return u;
}

static struct rroom *
find_room(const char *name)
{
	struct rroom *r;

	HASH_FIND_STR(rooms, name, r);
	return r;
}

/* Send line to every session of u except `except`. */
static unsigned
to_user(struct ruser *u, struct conn *except, const char *line, size_t len)
{
	struct session *s;
	unsigned n = 0;

	LIST_FOREACH(s, &u->sessions, link)
		if (s->c != except && conn_write(s->c, line, len) == 0)
			n++;
	return n;
}

/*
 * Tell everyone who shares a room with u, once each. Writes never close a
 * session synchronously (conn.h), so the tables hold still meanwhile.
 */
static void
presence(struct ruser *u, const char *state)
{
	struct rmember *m, *o;
	char line[NAMES_USER_MAX + 32];
	int len;

	len = snprintf(line, sizeof(line), "PRESENCE %s %s\n", u->name, state);
	mark_gen++;
	u->mark = mark_gen;
	LIST_FOREACH(m, &u->rooms, in_user) {
		LIST_FOREACH(o, &m->room->members, in_room) {
			if (o->user->mark == mark_gen)
				continue;
			o->user->mark = mark_gen;
			to_user(o->user, NULL, line, (size_t)len);
		}
	}
}

static struct rmember *
add_member(struct ruser *u, const char *room)
{
	struct rroom *r = find_room(room);
	struct rmember *m;

	if (r == NULL) {
		r = calloc(1, sizeof(*r));
		if (r == NULL)
			return NULL;
		snprintf(r->name, sizeof(r->name), "%s", room);
		LIST_INIT(&r->members);
		HASH_ADD_STR(rooms, name, r);
	} else {
		LIST_FOREACH(m, &r->members, in_room)
			if (m->user == u)
				return m;
	}
	m = calloc(1, sizeof(*m));
	if (m == NULL) {
		if (LIST_EMPTY(&r->members)) {
			HASH_DEL(rooms, r);
			free(r);
		}
		return NULL;
	}
	m->room = r;
	m->user = u;
	LIST_INSERT_HEAD(&r->members, m, in_room);
	LIST_INSERT_HEAD(&u->rooms, m, in_user);
	return m;
}

static void
del_member(struct rmember *m)
{
	struct rroom *r = m->room;

	LIST_REMOVE(m, in_room);
	LIST_REMOVE(m, in_user);
	free(m);
	if (LIST_EMPTY(&r->members)) {
		HASH_DEL(rooms, r);
		free(r);
	}
}

int
route_session_add(struct conn *c, const char (*names)[NAMES_ROOM_MAX + 1],
    size_t nnames)
{
	struct ruser *u = find_user(conn_user(c));
	struct session *s;
	size_t i;

	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return -1;
	s->c = c;
	if (u != NULL) {
		nsessions++;
		s->user = u;
		LIST_INSERT_HEAD(&u->sessions, s, link);
		u->nsessions++;
		conn_set_session(c, s);
		return 0;
	}
	u = calloc(1, sizeof(*u));
	if (u == NULL) {
		free(s);
		return -1;
	}
	snprintf(u->name, sizeof(u->name), "%s", conn_user(c));
	LIST_INIT(&u->sessions);
	LIST_INIT(&u->rooms);
	for (i = 0; i < nnames; i++) {
		if (add_member(u, names[i]) == NULL) {
			while (!LIST_EMPTY(&u->rooms))
				del_member(LIST_FIRST(&u->rooms));
			free(u);
			free(s);
			return -1;
		}
	}
	HASH_ADD_STR(users, name, u);
	nusers++;
	s->user = u;
	LIST_INSERT_HEAD(&u->sessions, s, link);
	u->nsessions = 1;
	nsessions++;
	conn_set_session(c, s);
	presence(u, "online");
	return 1;
}

void
route_session_remove(struct conn *c)
{
	struct session *s = conn_session(c);
	struct ruser *u;

	if (s == NULL)
		return;
	u = s->user;
	nsessions--;
	LIST_REMOVE(s, link);
	conn_set_session(c, NULL);
	free(s);
	if (--u->nsessions > 0)
		return;
	presence(u, "offline");
	HASH_DEL(users, u);
	nusers--;
	while (!LIST_EMPTY(&u->rooms))
		del_member(LIST_FIRST(&u->rooms));
	free(u);
}

bool
route_user_online(const char *user)
{
	return find_user(user) != NULL;
}

unsigned
route_to_user(const char *user, struct conn *except, const char *line,
    size_t len)
{
	struct ruser *u = find_user(user);
	unsigned n;

	if (u == NULL)
		return 0;
	n = to_user(u, except, line, len);
	srv.stats.msgs_routed += n;
	return n;
}

/* Send to the room's online members other than `skip` (a user). */
static unsigned
to_room(struct rroom *r, struct ruser *skip, struct conn *except,
    const char *line, size_t len)
{
	struct rmember *m;
	unsigned sent = 0;

	LIST_FOREACH(m, &r->members, in_room)
		if (m->user != skip)
			sent += to_user(m->user, except, line, len);
	return sent;
}

int
route_room_join(const char *room, const char *user)
{
	struct ruser *u = find_user(user);
	struct rroom *r;
	char line[NAMES_ROOM_MAX + NAMES_USER_MAX + 16];
	int len;

	if (u == NULL)
		return 0;
	/* Already in (another session joined first): nothing to announce. */
	r = find_room(room);
	if (r != NULL) {
		struct rmember *m;

		LIST_FOREACH(m, &u->rooms, in_user)
			if (m->room == r)
				return 0;
	}
	if (add_member(u, room) == NULL)
		return -1;
	r = find_room(room);
	len = snprintf(line, sizeof(line), "JOINED %s %s\n", room, user);
	to_room(r, u, NULL, line, (size_t)len);
	return 0;
}

void
route_room_leave(const char *room, const char *user)
{
	struct ruser *u = find_user(user);
	struct rroom *r = find_room(room);
	struct rmember *m;
	char line[NAMES_ROOM_MAX + NAMES_USER_MAX + 16];
	int len;

	if (u == NULL || r == NULL)
		return;
	LIST_FOREACH(m, &u->rooms, in_user)
		if (m->room == r)
			break;
	if (m == NULL)
		return;
	len = snprintf(line, sizeof(line), "LEFT %s %s\n", room, user);
	to_room(r, u, NULL, line, (size_t)len);
	del_member(m);
}

unsigned
route_to_room(const char *room, struct conn *except, const char *line,
    size_t len)
{
	struct rroom *r = find_room(room);
	unsigned n;

	if (r == NULL)
		return 0;
	n = to_room(r, NULL, except, line, len);
	srv.stats.msgs_routed += n;
	return n;
}

unsigned
route_user_sessions(const char *user)
{
	struct ruser *u = find_user(user);

	return u ? u->nsessions : 0;
}

unsigned
route_users_online(void)
{
	return nusers;
}

unsigned
route_sessions(void)
{
	return nsessions;
}

unsigned
route_rooms_online(void)
{
	return HASH_COUNT(rooms);
}

unsigned
route_close_user(const char *user, struct conn *except, const char *reason)
{
	struct ruser *u = find_user(user);
	struct session *s, *next;
	unsigned n = 0, left;

	if (u == NULL)
		return 0;
	/* Closing the last session frees u: count first, stop when done. */
	left = u->nsessions;
	for (s = LIST_FIRST(&u->sessions); s != NULL && left > 0; s = next) {
		next = LIST_NEXT(s, link);
		left--;
		if (s->c == except)
			continue;
		conn_close(s->c, reason);
		n++;
	}
	return n;
}

size_t
route_list_users(size_t from, struct route_user_info *out, size_t max)
{
	struct ruser *u;
	size_t i = 0, n = 0;

	for (u = users; u != NULL && n < max; u = u->hh.next, i++) {
		if (i < from)
			continue;
		memcpy(out[n].name, u->name, sizeof(out[n].name));
		out[n].sessions = u->nsessions;
		n++;
	}
	return n;
}
