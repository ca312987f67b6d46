/*
 * Admin commands and the message rate over real TLS (SPEC §3, §5): KICK
 * ending every session of a user with "BYE kicked[: text]" and counting
 * them, FORBIDDEN for everyone else; STATS with its counters and
 * plausible values; and limits.messages_per_second with its 2x burst,
 * per connection, on the commands it covers.
 */
#include "harness.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROOT_PW		"root-Obsidian-Falcon-1001"
#define ALICE_PW	"alice-Brindle-Canopy-2002"
#define BOB_PW		"bob-Cobble-Lagoon-3003"
#define CAROL_PW	"carol-Dapple-Meridian-4004"
#define WRONG_PW	"wrong-Ferrous-Lilac-5005"

#define RATE		5	/* messages_per_second for the rate test */

static int
start(void **state, const char *const *overrides)
{
	struct hs_server *s = hs_server_start_new(overrides);

	if (s == NULL)
		return -1;
	*state = s;
	if (hs_user_add(s, "root", ROOT_PW, 1) == -1 ||
	    hs_user_add(s, "alice", ALICE_PW, 0) == -1 ||
	    hs_user_add(s, "bob", BOB_PW, 0) == -1 ||
	    hs_user_add(s, "carol", CAROL_PW, 0) == -1)
		return -1;
	return 0;
}

static int
setup(void **state)
{
	return start(state, NULL);
}

static int
setup_rate(void **state)
{
	static const char *const o[] = {
		"limits.messages_per_second=5",
		NULL
	};

	return start(state, o);
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

/*
 * Send a line; the next line must be exactly want, or start with want
 * when want ends with a space.
 */
HS_FMT(3, 4) static void
expect(struct hs_client *c, const char *want, const char *fmt, ...)
{
	char *line = NULL;
	size_t wl = strlen(want);
	const char *l;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&line, fmt, ap) == -1)
		line = NULL;
	va_end(ap);
	assert_non_null(line);
	assert_int_equal(hs_send(c, "%s", line), 0);
	l = hs_line(c);
	if (l == NULL)
		fail_msg("sent \"%s\": no answer (%s), expected \"%s\"", line,
		    hs_error(), want);
	if (wl > 0 && want[wl - 1] == ' ' ? strncmp(l, want, wl) != 0 :
	    strcmp(l, want) != 0)
		fail_msg("sent \"%s\": expected \"%s\", got \"%s\"", line, want,
		    l);
	free(line);
}

/* The next line is `bye`, then a clean close. */
static void
expect_bye(struct hs_client *c, const char *bye)
{
	int n;

	HS_ASSERT_LINE(c, bye);
	assert_int_equal(hs_wait_close(c, 5000, &n), HS_CLOSE_NOTIFY);
	assert_int_equal(n, 0);
	hs_close(c);
}

/* ---- KICK ---- */

static void
t_kick(void **state)
{
	struct hs_server *s = *state;
	struct hs_client *r, *r2, *b1, *b2, *b3, *c, *a;

	r = login(s, "root", ROOT_PW);
	r2 = login(s, "root", ROOT_PW);
	a = login(s, "alice", ALICE_PW);
	b1 = login(s, "bob", BOB_PW);
	b2 = login(s, "bob", BOB_PW);
	b3 = login(s, "bob", BOB_PW);
	c = login(s, "carol", CAROL_PW);

	/* Every session of the user, with the text verbatim. */
	expect(r, "OK KICK bob 3", "KICK bob  go away, \"now\"");
	expect_bye(b1, "BYE kicked:  go away, \"now\"");
	expect_bye(b2, "BYE kicked:  go away, \"now\"");
	expect_bye(b3, "BYE kicked:  go away, \"now\"");
	assert_int_equal(hs_sync(c), 0);
	assert_int_equal(hs_sync(a), 0);
	assert_int_equal(hs_sync(r2), 0);

	/* The name is case-insensitive. */
	expect(r, "OK KICK carol 1", "KICK Carol bye carol");
	expect_bye(c, "BYE kicked: bye carol");

	/* Nobody online: nothing to end. Unknown and malformed names. */
	expect(r, "OK KICK bob 0", "KICK bob not here");
	expect(r, "ERR NO_SUCH_USER ", "KICK nosuchuser who is that");
	expect(r, "ERR BAD_ARGS ", "KICK 9bad");
	expect(r, "ERR BAD_ARGS ", "KICK");

	/* Kicked users can come back. */
	b1 = login(s, "bob", BOB_PW);
	expect(b1, "OK WHOAMI bob user", "WHOAMI");
	expect(r, "OK WHOAMI root admin", "WHOAMI");
	assert_int_equal(hs_sync(a), 0);
	assert_int_equal(hs_sync(r2), 0);

	/* Without a text the BYE is just "kicked". */
	expect(r, "OK KICK bob 1", "KICK bob");
	expect_bye(b1, "BYE kicked");
	expect(r, "OK KICK bob 0", "KICK bob");
	expect(r, "ERR NO_SUCH_USER ", "KICK nosuchuser");
	assert_int_equal(hs_sync(a), 0);
	hs_close(a);
	hs_close(r);
	hs_close(r2);
}

static void
t_kick_forbidden(void **state)
{
	struct hs_server *s = *state;
	struct hs_client *a, *b;

	a = login(s, "alice", ALICE_PW);
	b = login(s, "bob", BOB_PW);
	expect(a, "ERR FORBIDDEN ", "KICK bob");
	expect(a, "ERR FORBIDDEN ", "KICK bob bye now");
	expect(a, "ERR FORBIDDEN ", "KICK nosuchuser");
	expect(a, "ERR FORBIDDEN ", "KICK alice");
	expect(a, "ERR FORBIDDEN ", "STATS");
	/* Nobody was kicked. */
	assert_int_equal(hs_sync(b), 0);
	expect(b, "OK WHOAMI bob user", "WHOAMI");
	expect(a, "OK WHOAMI alice user", "WHOAMI");
	hs_close(a);
	hs_close(b);
}

/* ---- STATS ---- */

struct statv {
	char			name[64];
	unsigned long long	value;
};

/* STATS: the counters, checked for form; returns how many. */
static size_t
stats(struct hs_client *c, struct statv *out, size_t max)
{
	struct hs_reply r;
	size_t i, n;
	char rest[8];

	assert_int_equal(hs_command(c, &r, "STATS"), 0);
	if (sscanf(r.final, "OK STATS %zu", &n) != 1)
		fail_msg("STATS: got \"%s\"", r.final);
	if (n != r.ndata || n > max)
		fail_msg("\"%s\" after %zu data lines", r.final, r.ndata);
	for (i = 0; i < n; i++) {
		if (sscanf(r.data[i], "STAT %63s %llu %7s", out[i].name,
		    &out[i].value, rest) != 2 ||
		    strncmp(r.data[i], "STAT ", 5) != 0)
			fail_msg("STATS: malformed \"%s\"", r.data[i]);
	}
	hs_reply_free(&r);
	return n;
}

static unsigned long long
stat_get(const struct statv *v, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(v[i].name, name) == 0)
			return v[i].value;
	fail_msg("STATS has no \"%s\"", name);
	return 0;
}

static void
t_stats(void **state)
{
	static const char *const names[] = {
		"connections", "sessions", "users_online", "users", "rooms",
		"messages_routed", "messages_stored", "logins_ok",
		"logins_failed", "hash_queue", "bytes_in", "bytes_out",
		"uptime", NULL
	};
	struct hs_server *s = *state;
	struct hs_client *r, *a1, *a2, *b, *x;
	struct statv v[64];
	size_t n, i, j;
	int k;

	r = login(s, "root", ROOT_PW);
	a1 = login(s, "alice", ALICE_PW);
	a2 = login(s, "alice", ALICE_PW);
	b = login(s, "bob", BOB_PW);
	/* One failed login, on a connection that stays open. */
	x = hs_connect(s, NULL);
	assert_non_null(x);
	HS_ASSERT_PREFIX(x, "HELLO ");
	expect(x, "ERR AUTH_FAILED ", "LOGIN carol %s", WRONG_PW);
	expect(a1, "OK JOIN #stats", "JOIN #stats");
	expect(b, "OK JOIN #stats", "JOIN #stats");
	HS_ASSERT_LINE(a1, "JOINED #stats bob");
	HS_ASSERT_LINE(a2, "JOINED #stats bob");
	/* Room messages: b and a2 each get one MSG per SEND. */
	for (k = 0; k < 3; k++) {
		expect(a1, "OK SEND ", "SEND #stats number %d", k);
		HS_ASSERT_PREFIX(b, "MSG ");
		HS_ASSERT_PREFIX(a2, "MSG ");
	}
	expect(b, "OK SEND ", "SEND carol offline note");

	n = stats(r, v, sizeof(v) / sizeof(v[0]));
	for (i = 0; names[i] != NULL; i++)
		(void)stat_get(v, n, names[i]);
	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++)
			if (strcmp(v[i].name, v[j].name) == 0)
				fail_msg("STAT %s twice", v[i].name);

	/* Five connections, four of them logged in, three users online. */
	assert_int_equal(stat_get(v, n, "connections"), 5);
	assert_int_equal(stat_get(v, n, "sessions"), 4);
	assert_int_equal(stat_get(v, n, "users_online"), 3);
	assert_int_equal(stat_get(v, n, "users"), 4);
	assert_int_equal(stat_get(v, n, "rooms"), 1);
	assert_true(stat_get(v, n, "logins_ok") >= 4);
	assert_true(stat_get(v, n, "logins_failed") >= 1);
	assert_true(stat_get(v, n, "messages_stored") >= 4);
	assert_true(stat_get(v, n, "messages_routed") >= 6);
	assert_int_equal(stat_get(v, n, "hash_queue"), 0);
	assert_true(stat_get(v, n, "bytes_in") > 0);
	assert_true(stat_get(v, n, "bytes_out") > 0);
	assert_true(stat_get(v, n, "uptime") < 3600);

	/* Counters move the right way. */
	{
		struct statv w[64];
		size_t m;

		hs_close(x);
		x = login(s, "carol", CAROL_PW);
		expect(a1, "OK SEND ", "SEND #stats one more");
		HS_ASSERT_PREFIX(b, "MSG ");
		HS_ASSERT_PREFIX(a2, "MSG ");
		m = stats(r, w, sizeof(w) / sizeof(w[0]));
		assert_int_equal(stat_get(w, m, "logins_ok"),
		    stat_get(v, n, "logins_ok") + 1);
		assert_int_equal(stat_get(w, m, "messages_stored"),
		    stat_get(v, n, "messages_stored") + 1);
		assert_true(stat_get(w, m, "messages_routed") >=
		    stat_get(v, n, "messages_routed") + 2);
		assert_int_equal(stat_get(w, m, "users_online"), 4);
		assert_true(stat_get(w, m, "bytes_in") >
		    stat_get(v, n, "bytes_in"));
		assert_true(stat_get(w, m, "bytes_out") >
		    stat_get(v, n, "bytes_out"));
	}

	expect(r, "ERR BAD_ARGS ", "STATS extra");
	hs_close(x);
	hs_close(a1);
	hs_close(a2);
	hs_close(b);
	hs_close(r);
}

/* ---- messages_per_second ---- */

/* Read one final line per command sent: the i-th must start with want[i]. */
static void
finals(struct hs_client *c, const char **want, size_t n)
{
	const char *l;
	size_t i;

	for (i = 0; i < n; i++) {
		do
			l = hs_line(c);
		while (l != NULL && hs_is_event(l));
		if (l == NULL)
			fail_msg("command %zu: no answer (%s)", i + 1,
			    hs_error());
		if (strncmp(l, want[i], strlen(want[i])) != 0)
			fail_msg("command %zu of the burst: expected \"%s\", "
			    "got \"%s\"", i + 1, want[i], l);
	}
}

static void
t_rate_limited(void **state)
{
	/* Commands that send something to others draw on the budget... */
	static const char *const rated[] = {
		"JOIN #other", "LEAVE #rate", NULL
	};
	/* ...reads do not (a reconnecting client's catch-up must not stall). */
	static const char *const unrated[][2] = {
		{ "WHO #nope", "ERR NO_SUCH_ROOM " },
		{ "SYNC 999999999", "OK SYNC 0 999999999" },
		{ "HISTORY nobodyhere", "ERR NO_SUCH_USER " },
		{ "GETKEY bob", "ERR NO_KEY " }, { NULL, NULL },
	};
	struct hs_server *s = *state;
	struct hs_client *a, *a2, *b;
	const char *want[64];
	char buf[4096];
	size_t n = 0, len = 0, i;

	a = login(s, "alice", ALICE_PW);
	b = login(s, "bob", BOB_PW);
	/* A quiet second refills the bucket the JOIN took from. */
	expect(a, "OK JOIN #rate", "JOIN #rate");
	expect(b, "OK JOIN #rate", "JOIN #rate");
	HS_ASSERT_LINE(a, "JOINED #rate bob");
	hs_sleep_ms(1100);

	/*
	 * One write: a burst of 2 x RATE is fine, the rest is refused, and
	 * so is every other rated command; PING is not rated.
	 */
	for (i = 0; i < 2 * RATE + 4; i++) {
		len += (size_t)snprintf(buf + len, sizeof(buf) - len,
		    "SEND #rate burst %zu\n", i);
		want[n++] = i < 2 * RATE ? "OK SEND " : "ERR RATE_LIMITED ";
	}
	for (i = 0; rated[i] != NULL; i++) {
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s\n",
		    rated[i]);
		want[n++] = "ERR RATE_LIMITED ";
	}
	for (i = 0; unrated[i][0] != NULL; i++) {
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s\n",
		    unrated[i][0]);
		want[n++] = unrated[i][1];
	}
	len += (size_t)snprintf(buf + len, sizeof(buf) - len,
	    "PING unrated\nWHOAMI\n");
	want[n++] = "OK PING unrated";
	want[n++] = "OK WHOAMI alice user";
	assert_int_equal(hs_send_raw(a, buf, len), 0);
	finals(a, want, n);

	/* Only the accepted ones went out. */
	{
		struct hs_reply r;

		assert_int_equal(hs_command(b, &r, "PING count"), 0);
		assert_string_equal(r.final, "OK PING count");
		if (r.nevents != 2 * RATE)
			fail_msg("bob got %zu messages, expected %d",
			    r.nevents, 2 * RATE);
		for (i = 0; i < r.nevents; i++) {
			char tail[48];

			snprintf(tail, sizeof(tail), " #rate burst %zu", i);
			if (strstr(r.events[i], tail) == NULL)
				fail_msg("bob's message %zu is \"%s\"", i,
				    r.events[i]);
		}
		hs_reply_free(&r);
	}

	/* Per connection: another session of alice is not limited. */
	a2 = login(s, "alice", ALICE_PW);
	expect(a2, "OK SEND ", "SEND #rate from the other session");
	HS_ASSERT_PREFIX(b, "MSG ");
	HS_ASSERT_PREFIX(a, "MSG ");

	/* After a second the bucket has RATE messages again. */
	hs_sleep_ms(1100);
	for (i = 0; i < RATE; i++)
		expect(a, "OK SEND ", "SEND #rate later %zu", i);
	hs_close(a);
	hs_close(a2);
	hs_close(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(t_kick, setup, teardown),
		cmocka_unit_test_setup_teardown(t_kick_forbidden, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(t_stats, setup, teardown),
		cmocka_unit_test_setup_teardown(t_rate_limited, setup_rate,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
