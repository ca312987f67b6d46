/*
 * Durability (SPEC §4): "OK SEND <id>" only after the commit, so a server
 * killed with SIGKILL in the middle of a stream of pipelined SENDs still
 * has every acknowledged message afterwards — in SYNC, with its text, and
 * in the recipient's offline queue. And a direct message to an offline
 * user is delivered exactly once across SIGKILL and restart.
 *
 * The stream keeps a window of SENDs in flight, so at the moment of the
 * kill there are commands read but not answered, answers in the sockets,
 * and lines the server never read.
 */
#include "harness.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ALICE_PW	"alice-Anchor-Tundra-8113"
#define BOB_PW		"bob-Cinder-Marmot-4420"
#define CAROL_PW	"carol-Juniper-Quill-6657"

#define STREAM_TOTAL	400	/* SENDs the client means to send */
#define STREAM_WINDOW	100	/* at most this many unanswered */
#define KILL_AFTER	150	/* acknowledgements before SIGKILL */

static const char *const overrides[] = {
	"storage.sync=normal",
	"limits.messages_per_second=1000000",
	NULL
};

static int
setup(void **state)
{
	struct hs_server *s = hs_server_start_new(overrides);

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

static uint64_t
send_ok(struct hs_client *c, const char *to, const char *text)
{
	struct hs_reply r;
	uint64_t id;

	if (hs_command(c, &r, "SEND %s %s", to, text) != 0 ||
	    hs_parse_send_id(r.final, &id) != 0)
		fail_msg("SEND %s %s: got \"%s\"", to, text,
		    r.final != NULL ? r.final : hs_error());
	hs_reply_free(&r);
	return id;
}

/* The i-th message of the stream. */
static const char *
stream_target(size_t i)
{
	static const char *const t[] = { "#dur", "bob", "carol" };

	return t[i % 3];
}

struct acked {
	uint64_t	id;
	size_t		i;		/* stream index */
	bool		found;
};

static void
t_sigkill_mid_stream(void **state)
{
	struct hs_server *s = *state;
	struct hs_client *a, *c, *b;
	struct acked acks[STREAM_TOTAL];
	bool seen[STREAM_TOTAL] = { false };
	size_t nsent = 0, nacked = 0, at_kill = 0, lost = 0, stored = 0, i;
	bool killed = false;
	uint64_t since = 0, prev = 0, id;
	const char *l;
	char text[32];

	/* carol is in the room too, and offline during the stream. */
	c = login(s, "carol", CAROL_PW);
	assert_int_equal(hs_send(c, "JOIN #dur"), 0);
	HS_ASSERT_LINE(c, "OK JOIN #dur");
	hs_close(c);
	a = login(s, "alice", ALICE_PW);
	assert_int_equal(hs_send(a, "JOIN #dur"), 0);
	HS_ASSERT_LINE(a, "OK JOIN #dur");

	while (nsent < STREAM_WINDOW) {
		assert_int_equal(hs_send(a, "SEND %s dur %zu",
		    stream_target(nsent), nsent), 0);
		nsent++;
	}
	/* Final lines come in command order: the k-th is the k-th SEND. */
	while ((l = hs_line_timeout(a, killed ? 3000 : HS_TIMEOUT_MS)) !=
	    NULL) {
		if (hs_is_event(l))
			fail_msg("unexpected event \"%s\"", l);
		if (hs_parse_send_id(l, &id) != 0)
			fail_msg("SEND %s dur %zu: got \"%s\"",
			    stream_target(nacked), nacked, l);
		if (nacked > 0 && id <= acks[nacked - 1].id)
			fail_msg("id %llu after %llu", (unsigned long long)id,
			    (unsigned long long)acks[nacked - 1].id);
		acks[nacked].id = id;
		acks[nacked].i = nacked;
		acks[nacked].found = false;
		nacked++;
		if (killed)
			continue;
		if (nacked == KILL_AFTER) {
			hs_server_kill(s);
			killed = true;
			at_kill = nsent;
			continue;
		}
		if (nsent < STREAM_TOTAL) {
			assert_int_equal(hs_send(a, "SEND %s dur %zu",
			    stream_target(nsent), nsent), 0);
			nsent++;
		}
	}
	if (!killed)
		fail_msg("the stream ended after %zu answers: %s", nacked,
		    hs_error());
	hs_abort(a);
	print_message("sent %zu SENDs, killed after %d answers with %zu "
	    "unanswered; %zu answers in all\n", at_kill, KILL_AFTER,
	    at_kill - KILL_AFTER, nacked);
	assert_true(nacked >= KILL_AFTER && nacked <= at_kill);

	/* Everything acknowledged is there, once, with its text. */
	assert_int_equal(hs_server_start(s), 0);
	a = login(s, "alice", ALICE_PW);
	for (;;) {
		struct hs_reply r;
		struct hs_msg m;
		uint64_t last;
		unsigned n;
		size_t j, k;

		assert_int_equal(hs_command(a, &r, "SYNC %llu 500",
		    (unsigned long long)since), 0);
		if (r.final == NULL || sscanf(r.final, "OK SYNC %u %llu", &n,
		    (unsigned long long *)&last) != 2 || n != r.ndata)
			fail_msg("SYNC %llu 500: got \"%s\"",
			    (unsigned long long)since,
			    r.final != NULL ? r.final : "(nothing)");
		for (j = 0; j < r.ndata; j++) {
			if (hs_parse_msg(r.data[j], &m) != 0 ||
			    sscanf(m.text, "dur %zu", &k) != 1 ||
			    k >= at_kill)
				fail_msg("SYNC: unexpected line \"%s\"",
				    r.data[j]);
			if (m.id <= prev)
				fail_msg("SYNC: id %llu after %llu",
				    (unsigned long long)m.id,
				    (unsigned long long)prev);
			prev = m.id;
			if (seen[k])
				fail_msg("SYNC: \"%s\" a second time",
				    r.data[j]);
			seen[k] = true;
			stored++;
			if (strcmp(m.from, "alice") != 0 ||
			    strcmp(m.to, stream_target(k)) != 0)
				fail_msg("SYNC: \"%s\" is not alice -> %s",
				    r.data[j], stream_target(k));
			/* An acknowledged one must carry its id. */
			if (k < nacked) {
				if (acks[k].id != m.id)
					fail_msg("\"%s\": acknowledged as "
					    "id %llu", r.data[j],
					    (unsigned long long)acks[k].id);
				acks[k].found = true;
			}
			hs_msg_free(&m);
		}
		since = last;
		hs_reply_free(&r);
		if (n < 500)
			break;
	}
	for (i = 0; i < nacked; i++) {
		if (acks[i].found)
			continue;
		lost++;
		print_error("lost: id %llu \"SEND %s dur %zu\"\n",
		    (unsigned long long)acks[i].id, stream_target(i), i);
	}
	print_message("durability: acked=%zu lost=%zu (stored %zu of %zu "
	    "sent)\n", nacked, lost, stored, at_kill);
	assert_int_equal(lost, 0);

	/* bob was offline: each acknowledged DM to him waits, once. */
	b = login(s, "bob", BOB_PW);
	prev = 0;
	for (i = 0; i < nacked; i++) {
		struct hs_msg m;
		const char *ml;

		if (strcmp(stream_target(i), "bob") != 0)
			continue;
		/* The acknowledged ones first, in order, each once. */
		ml = HS_ASSERT_PREFIX(b, "MSG ");
		assert_int_equal(hs_parse_msg(ml, &m), 0);
		snprintf(text, sizeof(text), "dur %zu", i);
		if (m.id != acks[i].id || strcmp(m.text, text) != 0)
			fail_msg("bob got \"%s\", expected id %llu \"%s\"", ml,
			    (unsigned long long)acks[i].id, text);
		assert_true(m.id > prev);
		prev = m.id;
		hs_msg_free(&m);
	}
	/* Whatever else is queued is a committed, unanswered DM to bob. */
	{
		struct hs_reply r;
		struct hs_msg m;
		size_t j, k;

		assert_int_equal(hs_command(b, &r, "PING end"), 0);
		assert_string_equal(r.final, "OK PING end");
		for (j = 0; j < r.nevents; j++) {
			assert_int_equal(hs_parse_msg(r.events[j], &m), 0);
			if (sscanf(m.text, "dur %zu", &k) != 1 ||
			    k < nacked || k >= at_kill ||
			    strcmp(stream_target(k), "bob") != 0 ||
			    m.id <= prev)
				fail_msg("bob: unexpected \"%s\"",
				    r.events[j]);
			prev = m.id;
			hs_msg_free(&m);
		}
		hs_reply_free(&r);
	}
	hs_close(b);
	hs_close(a);
}

static void
t_offline_dm_once_across_sigkill(void **state)
{
	struct hs_server *s = *state;
	struct hs_client *a, *b;
	struct hs_reply r;
	uint64_t id1, id2;
	char want[96];

	/* Queued for offline bob, then the server dies. */
	a = login(s, "alice", ALICE_PW);
	id1 = send_ok(a, "bob", "while you were out");
	hs_server_kill(s);
	hs_abort(a);
	assert_int_equal(hs_server_start(s), 0);

	/* Delivered at the next login... */
	b = login(s, "bob", BOB_PW);
	snprintf(want, sizeof(want), "MSG %llu ", (unsigned long long)id1);
	{
		const char *l = HS_ASSERT_PREFIX(b, want);
		struct hs_msg m;

		assert_int_equal(hs_parse_msg(l, &m), 0);
		assert_string_equal(m.from, "alice");
		assert_string_equal(m.to, "bob");
		assert_string_equal(m.text, "while you were out");
		hs_msg_free(&m);
	}
	assert_int_equal(hs_sync(b), 0);
	/*
	 * A store round trip: the acknowledgement of the delivery was
	 * queued before it, so it is committed once this is answered.
	 */
	assert_int_equal(hs_command(b, &r, "HISTORY alice 1"), 0);
	assert_string_equal(r.final, "OK HISTORY 1");
	hs_reply_free(&r);

	/* ... and not again after another SIGKILL. */
	hs_server_kill(s);
	hs_abort(b);
	assert_int_equal(hs_server_start(s), 0);
	b = login(s, "bob", BOB_PW);
	assert_int_equal(hs_sync(b), 0);

	/* Delivered live: not queued again either. */
	a = login(s, "alice", ALICE_PW);
	id2 = send_ok(a, "bob", "live one");
	snprintf(want, sizeof(want), "MSG %llu ", (unsigned long long)id2);
	HS_ASSERT_PREFIX(b, want);
	assert_int_equal(hs_command(b, &r, "HISTORY alice 2"), 0);
	assert_string_equal(r.final, "OK HISTORY 2");
	hs_reply_free(&r);
	hs_server_kill(s);
	hs_abort(a);
	hs_abort(b);
	assert_int_equal(hs_server_start(s), 0);
	b = login(s, "bob", BOB_PW);
	assert_int_equal(hs_sync(b), 0);
	/* Both are still in the conversation's history. */
	assert_int_equal(hs_command(b, &r, "HISTORY alice"), 0);
	assert_string_equal(r.final, "OK HISTORY 2");
	assert_int_equal(r.ndata, 2);
	hs_reply_free(&r);
	hs_close(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(t_sigkill_mid_stream, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    t_offline_dm_once_across_sigkill, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
