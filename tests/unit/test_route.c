/*
 * Unit tests for server/route.c: the registry of online users, their
 * sessions and rooms, fan-out and presence.
 *
 * route.c talks to connections only through conn.h; this file provides
 * those functions over a fake connection that records what it was sent,
 * so the registry is tested without sockets or a loop (the static
 * library's conn.o is then never linked in).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "conn.h"
#include "route.h"

struct conn {
	char user[NAMES_USER_MAX + 1];
	struct session *session;
	char out[8192];
	size_t outlen;
	bool closing;
	char bye[128];
	bool full;                      /* refuse writes, like a slow consumer */
};

/* ---- the conn.h functions route.c uses ---- */

const char *
conn_user(const struct conn *c)
{
	return c->user;
}

struct session *
conn_session(struct conn *c)
{
	return c->session;
}

void
conn_set_session(struct conn *c, struct session *s)
{
	c->session = s;
}

int
conn_write(struct conn *c, const void *data, size_t len)
{
	if (c->closing || c->full || c->outlen + len >= sizeof(c->out))
		return -1;
	memcpy(c->out + c->outlen, data, len);
	c->outlen += len;
	c->out[c->outlen] = '\0';
	return 0;
}

void
conn_close(struct conn *c, const char *reason)
{
	if (c->closing)
		return;
	c->closing = true;
	snprintf(c->bye, sizeof(c->bye), "%s", reason ? reason : "");
	route_session_remove(c);
}

/* ---- helpers ---- */

static struct conn *
login(const char *user, const char (*rooms)[NAMES_ROOM_MAX + 1], size_t n,
    int expect_first)
{
	struct conn *c = calloc(1, sizeof(*c));

	assert_non_null(c);
	snprintf(c->user, sizeof(c->user), "%s", user);
	assert_int_equal(route_session_add(c, rooms, n), expect_first);
	return c;
}

static void
logout(struct conn *c)
{
	route_session_remove(c);
	free(c);
}

/* Take what c received so far. */
static const char *
take(struct conn *c)
{
	static char copy[sizeof(c->out)];

	memcpy(copy, c->out, c->outlen + 1);
	c->outlen = 0;
	c->out[0] = '\0';
	return copy;
}

static const char general[][NAMES_ROOM_MAX + 1] = { "#general" };
static const char two_rooms[][NAMES_ROOM_MAX + 1] = { "#general", "#dev" };

/* ---- tests ---- */

static void
test_sessions_and_users(void **state)
{
	struct conn *a1, *a2, *b;

	(void)state;
	assert_int_equal(route_users_online(), 0);
	a1 = login("alice", NULL, 0, 1);
	a2 = login("alice", NULL, 0, 0);
	b = login("bob", NULL, 0, 1);
	assert_int_equal(route_users_online(), 2);
	assert_int_equal(route_sessions(), 3);
	assert_int_equal(route_user_sessions("alice"), 2);
	assert_true(route_user_online("bob"));
	assert_false(route_user_online("carol"));

	logout(a1);
	assert_int_equal(route_user_sessions("alice"), 1);
	assert_true(route_user_online("alice"));
	logout(a2);
	assert_false(route_user_online("alice"));
	assert_int_equal(route_users_online(), 1);
	logout(b);
	assert_int_equal(route_sessions(), 0);
}

static void
test_to_user_skips_sender_session(void **state)
{
	struct conn *a1 = login("alice", NULL, 0, 1);
	struct conn *a2 = login("alice", NULL, 0, 0);
	struct conn *b = login("bob", NULL, 0, 1);
	const char line[] = "MSG 1 t alice bob hi\n";

	(void)state;
	assert_int_equal(route_to_user("bob", NULL, line, strlen(line)), 1);
	assert_int_equal(route_to_user("alice", a1, line, strlen(line)), 1);
	assert_string_equal(take(b), line);
	assert_string_equal(take(a2), line);
	assert_string_equal(take(a1), "");
	assert_int_equal(route_to_user("carol", NULL, line, strlen(line)), 0);
	logout(a1);
	logout(a2);
	logout(b);
}

static void
test_presence_once_per_user(void **state)
{
	struct conn *b1 = login("bob", two_rooms, 2, 1);
	struct conn *b2 = login("bob", two_rooms, 2, 0);
	struct conn *c = login("carol", NULL, 0, 1);
	struct conn *a;

	(void)state;
	/* alice shares two rooms with bob: bob hears of her once per session. */
	a = login("alice", two_rooms, 2, 1);
	assert_string_equal(take(b1), "PRESENCE alice online\n");
	assert_string_equal(take(b2), "PRESENCE alice online\n");
	assert_string_equal(take(c), "");       /* shares no room */
	assert_string_equal(take(a), "");       /* not told about herself */

	/* A second session of alice is no news. */
	{
		struct conn *a2 = login("alice", two_rooms, 2, 0);

		assert_string_equal(take(b1), "");
		logout(a2);
		assert_string_equal(take(b1), "");
	}
	logout(a);
	assert_string_equal(take(b1), "PRESENCE alice offline\n");
	assert_string_equal(take(b2), "PRESENCE alice offline\n");
	logout(b1);
	logout(b2);
	logout(c);
}

static void
test_room_fanout_and_membership(void **state)
{
	struct conn *a = login("alice", general, 1, 1);
	struct conn *b = login("bob", NULL, 0, 1);
	struct conn *b2 = login("bob", NULL, 0, 0);
	const char line[] = "MSG 5 t alice #general hello\n";

	(void)state;
	assert_int_equal(route_rooms_online(), 1);
	/* bob is not a member yet: nothing reaches him. */
	assert_int_equal(route_to_room("#general", a, line, strlen(line)), 0);
	assert_string_equal(take(b), "");

	assert_int_equal(route_room_join("#general", "bob"), 0);
	assert_string_equal(take(a), "JOINED #general bob\n");
	assert_string_equal(take(b), "");       /* not to the joiner */

	/* Every member session but the sender's. */
	assert_int_equal(route_to_room("#general", a, line, strlen(line)), 2);
	assert_string_equal(take(b), line);
	assert_string_equal(take(b2), line);
	assert_string_equal(take(a), "");
	assert_int_equal(route_to_room("#general", b, line, strlen(line)), 2);
	assert_string_equal(take(a), line);
	assert_string_equal(take(b2), line);

	/* Joining twice changes nothing and tells nobody. */
	assert_int_equal(route_room_join("#general", "bob"), 0);
	assert_string_equal(take(a), "");

	route_room_leave("#general", "bob");
	assert_string_equal(take(a), "LEFT #general bob\n");
	assert_int_equal(route_to_room("#general", a, line, strlen(line)), 0);
	assert_string_equal(take(b), "");

	/* The last online member leaving drops the room from memory. */
	logout(a);
	assert_int_equal(route_rooms_online(), 0);
	assert_int_equal(route_to_room("#general", NULL, line,
	    strlen(line)), 0);
	logout(b);
	logout(b2);
}

static void
test_slow_session_does_not_stop_fanout(void **state)
{
	struct conn *a = login("alice", general, 1, 1);
	struct conn *b = login("bob", general, 1, 1);
	struct conn *c = login("carol", general, 1, 1);
	const char line[] = "MSG 9 t alice #general x\n";

	(void)state;
	take(a);
	b->full = true;
	assert_int_equal(route_to_room("#general", a, line, strlen(line)), 1);
	assert_string_equal(take(c), line);
	logout(a);
	logout(b);
	logout(c);
}

static void
test_close_user(void **state)
{
	struct conn *b1 = login("bob", NULL, 0, 1);
	struct conn *b2 = login("bob", NULL, 0, 0);
	struct conn *b3 = login("bob", NULL, 0, 0);

	(void)state;
	/* Closing frees the user with its last session: count stays right. */
	assert_int_equal(route_close_user("bob", b2, "kicked"), 2);
	assert_true(b1->closing);
	assert_false(b2->closing);
	assert_true(b3->closing);
	assert_string_equal(b1->bye, "kicked");
	assert_int_equal(route_user_sessions("bob"), 1);
	assert_int_equal(route_close_user("nobody", NULL, "kicked"), 0);
	logout(b2);
	free(b1);
	free(b3);
	assert_false(route_user_online("bob"));
}

static void
test_list_users_pages(void **state)
{
	struct route_user_info info[3];
	struct conn *c[7];
	char name[16];
	size_t i, n, total = 0, from = 0;

	(void)state;
	for (i = 0; i < 7; i++) {
		snprintf(name, sizeof(name), "user%zu", i);
		c[i] = login(name, NULL, 0, 1);
	}
	do {
		n = route_list_users(from, info, 3);
		for (size_t k = 0; k < n; k++)
			assert_int_equal(info[k].sessions, 1);
		from += n;
		total += n;
	} while (n == 3);
	assert_int_equal(total, 7);
	for (i = 0; i < 7; i++)
		logout(c[i]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sessions_and_users),
		cmocka_unit_test(test_to_user_skips_sender_session),
		cmocka_unit_test(test_presence_once_per_user),
		cmocka_unit_test(test_room_fanout_and_membership),
		cmocka_unit_test(test_slow_session_does_not_stop_fanout),
		cmocka_unit_test(test_close_user),
		cmocka_unit_test(test_list_users_pages),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
