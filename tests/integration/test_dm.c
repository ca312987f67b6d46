/*
 * Direct messages over real TLS (SPEC §2-4): SEND to an online user and
 * the MSG event it makes, the copy to the sender's other sessions, text
 * kept verbatim, increasing ids, argument errors, offline delivery at the
 * next login exactly once, and durability across SIGTERM and SIGKILL.
 */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ALICE_PW	"alice-Harbor-Thistle-61"
#define BOB_PW		"bob-Juniper-Canyon-2048"
#define CAROL_PW	"carol-Meteor-Pickle-9931"

static int
setup(void **state)
{
	struct hs_server *s = hs_server_start_new(NULL);

	if (s == NULL)
		return -1;
	*state = s;
	if (hs_user_add(s, "alice", ALICE_PW, 0) == -1 ||
	    hs_user_add(s, "bob", BOB_PW, 0) == -1 ||
	    hs_user_add(s, "carol", CAROL_PW, 0) == -1)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	int rc = hs_server_finish(*state);

	*state = NULL;
	return rc;
}

static struct hs_client *
login(struct hs_server *s, const char *user, const char *pw)
{
	struct hs_client *c = hs_login_new(s, NULL, user, pw);

	if (c == NULL)
		fail_msg("login %s: %s", user, hs_error());
	return c;
}

/* SEND and return the id from "OK SEND <id>". */
static uint64_t
send_ok(struct hs_client *c, const char *to, const char *text)
{
	struct hs_reply r;
	uint64_t id;

	if (hs_command(c, &r, "SEND %s %s", to, text) != 0)
		fail_msg("SEND %s: no final line (%s)", to, hs_error());
	if (hs_parse_send_id(r.final, &id) != 0)
		fail_msg("SEND %s %s: got \"%s\"", to, text, r.final);
	assert_int_equal(r.ndata, 0);
	hs_reply_free(&r);
	return id;
}

/* The next line must be a MSG with these fields; returns its time. */
static int64_t
expect_msg(struct hs_client *c, uint64_t id, const char *from, const char *to,
    const char *text)
{
	struct hs_msg m;
	const char *l = HS_ASSERT_PREFIX(c, "MSG ");
	int64_t t;

	if (hs_parse_msg(l, &m) != 0)
		fail_msg("malformed MSG line \"%s\"", l);
	assert_int_equal(m.id, id);
	if (!hs_is_rfc3339_ms(m.time))
		fail_msg("MSG time \"%s\" is not RFC 3339 UTC with ms",
		    m.time);
	assert_string_equal(m.from, from);
	assert_string_equal(m.to, to);
	assert_string_equal(m.text, text);
	t = hs_rfc3339_ms(m.time);
	hs_msg_free(&m);
	return t;
}

static int64_t
wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
t_send_online(void **state)
{
	struct hs_server *s = *state;
	struct hs_client *a1, *a2, *b;
	char *bline;
	uint64_t id;
	int64_t before, t;

	a1 = login(s, "alice", ALICE_PW);
	a2 = login(s, "alice", ALICE_PW);
	b = login(s, "bob", BOB_PW);

	before = wall_ms();
	id = send_ok(a1, "bob", "hello bob");
	/* The recipient. */
	t = expect_msg(b, id, "alice", "bob", "hello bob");
	assert_true(t >= before - 2000 && t <= wall_ms() + 2000);
	bline = strdup(HS_ASSERT_PREFIX(a2, "MSG "));
	assert_non_null(bline);
	/* The sender's other session gets the very same line ... */
	{
		struct hs_msg m;

		assert_int_equal(hs_parse_msg(bline, &m), 0);
		assert_int_equal(m.id, id);
		assert_string_equal(m.from, "alice");
		assert_string_equal(m.to, "bob");
		assert_string_equal(m.text, "hello bob");
		hs_msg_free(&m);
	}
	free(bline);
	/* ... the sending session none, and nobody gets it twice. */
	assert_int_equal(hs_sync(a1), 0);
	assert_int_equal(hs_sync(a2), 0);
	assert_int_equal(hs_sync(b), 0);

	/* And back: bob's reply reaches both of alice's sessions. */
	id = send_ok(b, "alice", "hi alice");
	expect_msg(a1, id, "bob", "alice", "hi alice");
	expect_msg(a2, id, "bob", "alice", "hi alice");
	assert_int_equal(hs_sync(b), 0);

	hs_close(a1);
	hs_close(a2);
	hs_close(b);
}

static void
t_text_verbatim(void **state)
{
	static const char *const texts[] = {
		"say \"hi\"  to \\ you",
		"\"quoted at the start\"",
		"tab\there",
		"emoji \xF0\x9F\x98\x80 \xC3\xBC\xC3\xB1\xC3\xAF",
		"a  b   c",
		"x",
		"LOGIN alice looks-like-a-command",
		NULL
	};
	struct hs_server *s = *state;
	struct hs_client *a, *b;
	uint64_t id;
	size_t i;

	a = login(s, "alice", ALICE_PW);
	b = login(s, "bob", BOB_PW);
	for (i = 0; texts[i] != NULL; i++) {
		id = send_ok(a, "bob", texts[i]);
		expect_msg(b, id, "alice", "bob", texts[i]);
	}
	/* A user name is matched case-insensitively and shown lowercase. */
	id = send_ok(a, "BoB", "case");
	expect_msg(b, id, "alice", "bob", "case");
	assert_int_equal(hs_sync(b), 0);
	hs_close(a);
	hs_close(b);
}

static void
t_ids_increasing(void **state)
{
	struct hs_server *s = *state;
	struct hs_client *a, *b, *c;
	uint64_t ids[12], prev = 0;
	char text[32];
	int i;

	a = login(s, "alice", ALICE_PW);
	b = login(s, "bob", BOB_PW);
	c = login(s, "carol", CAROL_PW);
	/* Two senders interleaved; ids follow acceptance order. */
	for (i = 0; i < 12; i++) {
		snprintf(text, sizeof(text), "number %d", i);
		ids[i] = send_ok(i % 2 ? c : a, "bob", text);
		if (i > 0 && ids[i] <= prev)
			fail_msg("id %llu after %llu",
			    (unsigned long long)ids[i],
			    (unsigned long long)prev);
		prev = ids[i];
	}
	/* The recipient sees them in that order, each once. */
	for (i = 0; i < 12; i++) {
		snprintf(text, sizeof(text), "number %d", i);
		expect_msg(b, ids[i], i % 2 ? "carol" : "alice", "bob", text);
	}
	assert_int_equal(hs_sync(b), 0);
	hs_close(a);
	hs_close(b);
	hs_close(c);
}

static void
t_send_errors(void **state)
{
	static const char *const bad_args[] = {
		"SEND 9bob hi", "SEND b@d hi", "SEND bob! hi",
		/* 33 characters */
		"SEND abcdefghijklmnopqrstuvwxyz0123456 hi",
		"SEND bob", "SEND bob ", "SEND", "SEND #",
		NULL
	};
	static const char *const bad_text[] = {
		"esc \x1b[31mred",		/* ESC */
		"osc \x1b]52;c;aGk=\x07",	/* OSC 52 */
		"del \x7f here",		/* DEL */
		"c1 \xC2\x85 nel",		/* U+0085 */
		"csi \xC2\x9B 31m",		/* U+009B */
		"bidi \xE2\x80\xAE evil",	/* U+202E */
		"bell \x07",
		"cr \r inside",
		NULL
	};
	struct hs_server *s = *state;
	struct hs_client *a, *b;
	uint64_t id;
	size_t i;

	a = login(s, "alice", ALICE_PW);
	b = login(s, "bob", BOB_PW);
	assert_int_equal(hs_send(a, "SEND nosuchuser hello"), 0);
	HS_ASSERT_PREFIX(a, "ERR NO_SUCH_USER ");
	for (i = 0; bad_args[i] != NULL; i++) {
		assert_int_equal(hs_send(a, "%s", bad_args[i]), 0);
		HS_ASSERT_PREFIX(a, "ERR BAD_ARGS ");
	}
	for (i = 0; bad_text[i] != NULL; i++) {
		assert_int_equal(hs_send(a, "SEND bob %s", bad_text[i]), 0);
		HS_ASSERT_PREFIX(a, "ERR BAD_ARGS ");
	}
	/* None of it reached bob. */
	assert_int_equal(hs_sync(b), 0);
	/* The connection is fine afterwards. */
	id = send_ok(a, "bob", "after the errors");
	expect_msg(b, id, "alice", "bob", "after the errors");
	hs_close(a);
	hs_close(b);
}

static void
t_offline_delivery(void **state)
{
	struct hs_server *s = *state;
	struct hs_client *a, *b;
	uint64_t ids[3];
	static const char *const texts[] = {
		"offline one", "offline two", "offline three"
	};
	int i;

	a = login(s, "alice", ALICE_PW);
	for (i = 0; i < 3; i++)
		ids[i] = send_ok(a, "bob", texts[i]);

	b = hs_connect(s, NULL);
	assert_non_null(b);
	HS_ASSERT_PREFIX(b, "HELLO parley/1 ");
	assert_int_equal(hs_send(b, "LOGIN bob %s", BOB_PW), 0);
	HS_ASSERT_LINE(b, "OK LOGIN bob");
	for (i = 0; i < 3; i++)
		expect_msg(b, ids[i], "alice", "bob", texts[i]);
	assert_int_equal(hs_sync(b), 0);
	hs_close(b);

	/* Delivered means delivered: the next login gets nothing. */
	b = login(s, "bob", BOB_PW);
	assert_int_equal(hs_sync(b), 0);
	hs_close(b);
	hs_close(a);
}

static void
t_offline_survives_restart(void **state)
{
	struct hs_server *s = *state;
	struct hs_client *a, *b;
	uint64_t id1, id2;

	a = login(s, "alice", ALICE_PW);
	id1 = send_ok(a, "bob", "before restart 1");
	id2 = send_ok(a, "bob", "before restart 2");
	hs_close(a);

	assert_int_equal(hs_server_stop(s), 0);
	assert_int_equal(hs_server_start(s), 0);

	b = login(s, "bob", BOB_PW);
	expect_msg(b, id1, "alice", "bob", "before restart 1");
	expect_msg(b, id2, "alice", "bob", "before restart 2");
	assert_int_equal(hs_sync(b), 0);
	hs_close(b);
}

static void
t_sigkill_after_ok_send(void **state)
{
	struct hs_server *s = *state;
	struct hs_client *a, *b;
	uint64_t id, prev = 0;
	char text[48];
	int round;

	for (round = 0; round < 3; round++) {
		snprintf(text, sizeof(text), "durable %d", round);
		a = login(s, "alice", ALICE_PW);
		id = send_ok(a, "bob", text);
		/* Killed the moment the ack is in. */
		hs_server_kill(s);
		hs_abort(a);
		if (round > 0 && id <= prev)
			fail_msg("id %llu after a restart is not above %llu",
			    (unsigned long long)id, (unsigned long long)prev);
		prev = id;
		assert_int_equal(hs_server_start(s), 0);

		b = login(s, "bob", BOB_PW);
		expect_msg(b, id, "alice", "bob", text);
		assert_int_equal(hs_sync(b), 0);
		hs_close(b);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(t_send_online, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(t_text_verbatim, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(t_ids_increasing, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(t_send_errors, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(t_offline_delivery, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(t_offline_survives_restart,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(t_sigkill_after_ok_send,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
