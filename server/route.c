/*
 * route: the in-memory directory of online users and their sessions.
 *
 * Users are found by name in a hash table (uthash, header-only, Debian's
 * uthash-dev); each holds the list of its sessions. The table only knows
 * who is connected now; accounts live in the store.
 */
#include "route.h"

#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <uthash.h>

#include "conn.h"
#include "log.h"
#include "parley_limits.h"
#include "server.h"

struct session {
	struct conn *c;
	struct ruser *user;
	LIST_ENTRY(session) link;
};

struct ruser {
	char name[NAMES_USER_MAX + 1];
	unsigned nsessions;
	LIST_HEAD(, session) sessions;
	UT_hash_handle hh;
};

static struct ruser *users;
static unsigned nusers;

static struct ruser *
find_user(const char *name)
{
	struct ruser *u;

	HASH_FIND_STR(users, name, u);
	return u;
}

int
route_session_add(struct conn *c)
{
	struct ruser *u = find_user(conn_user(c));
	struct session *s;
	int first = 0;

	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return -1;
	if (u == NULL) {
		u = calloc(1, sizeof(*u));
		if (u == NULL) {
			free(s);
			return -1;
		}
		snprintf(u->name, sizeof(u->name), "%s", conn_user(c));
		LIST_INIT(&u->sessions);
		HASH_ADD_STR(users, name, u);
		nusers++;
		first = 1;
	}
	s->c = c;
	s->user = u;
	LIST_INSERT_HEAD(&u->sessions, s, link);
	u->nsessions++;
	conn_set_session(c, s);
	return first;
}

void
route_session_remove(struct conn *c)
{
	struct session *s = conn_session(c);
	struct ruser *u;

	if (s == NULL)
		return;
	u = s->user;
	LIST_REMOVE(s, link);
	conn_set_session(c, NULL);
	free(s);
	if (--u->nsessions == 0) {
		HASH_DEL(users, u);
		nusers--;
		free(u);
	}
}

unsigned
route_to_user(const char *user, struct conn *except, const char *line,
    size_t len)
{
	struct ruser *u = find_user(user);
	struct session *s, *next;
	unsigned n = 0;

	if (u == NULL)
		return 0;
	/* A write may close a slow session, which unlinks it: walk safely. */
	for (s = LIST_FIRST(&u->sessions); s != NULL; s = next) {
		next = LIST_NEXT(s, link);
		if (s->c == except)
			continue;
		if (conn_write(s->c, line, len) == 0) {
			n++;
			srv.stats.msgs_routed++;
		}
	}
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
