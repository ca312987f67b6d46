/*
 * HISTORY and SYNC over real TLS (SPEC §3): the HIST lines of a room and
 * of a direct conversation (both directions), paging back with before-id
 * without gaps or overlaps, the limit's default, clamp and refusals,
 * NOT_MEMBER / NO_SUCH_ROOM / NO_SUCH_USER; SYNC paging forward with a
 * small limit over mixed traffic, returning exactly what the caller may
 * see (their direct messages both ways and the rooms they are in now),
 * and the last-id rule that makes the paging loop work.
 *
 * MSG events caused by the traffic pile up on the other sessions; the
 * harness keeps them apart from data lines and these tests ignore them.
 */
#include "harness.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ALICE_PW	"alice-Meadow-Harpoon-5530"
#define BOB_PW		"bob-Glacier-Thimble-1184"
#define CAROL_PW	"carol-Walnut-Beacon-6072"
#define DAVE_PW		"dave-Pewter-Sparrow-2299"

static const char *const overrides[] = {
	/* Hundreds of messages go out back to back. */
	"limits.messages_per_second=100000",
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
	    hs_user_add(s, "carol", CAROL_PW, 0) == -1 ||
	    hs_user_add(s, "dave", DAVE_PW, 0) == -1)
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

/*
 * Send a command and collect its answer; the final line must be exactly
 * want, or start with want when want ends with a space.
 */
HS_FMT(4, 5) static void
run(struct hs_client *c, struct hs_reply *r, const char *want,
    const char *fmt, ...)
{
	char *line = NULL;
	size_t wl = strlen(want);
	va_list ap;
	int ok;

	va_start(ap, fmt);
	if (vasprintf(&line, fmt, ap) == -1)
		line = NULL;
	va_end(ap);
	assert_non_null(line);
	if (hs_command(c, r, "%s", line) != 0)
		fail_msg("%s: no final line (%s)", line, hs_error());
	ok = wl > 0 && want[wl - 1] == ' ' ?
	    strncmp(r->final, want, wl) == 0 : strcmp(r->final, want) == 0;
	if (!ok)
		fail_msg("sent \"%s\": expected \"%s\", got \"%s\"", line, want,
		    r->final);
	free(line);
}

/* run() for a command without data lines. */
HS_FMT(3, 4) static void
ok(struct hs_client *c, const char *want, const char *fmt, ...)
{
	struct hs_reply r;
	char *line = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&line, fmt, ap) == -1)
		line = NULL;
	va_end(ap);
	assert_non_null(line);
	run(c, &r, want, "%s", line);
	if (r.ndata != 0)
		fail_msg("sent \"%s\": unexpected data line \"%s\"", line,
		    r.data[0]);
	hs_reply_free(&r);
	free(line);
}

/* A message as the test sent it. */
struct sent {
	uint64_t	 id;
	const char	*from;
	const char	*to;
	char		 text[48];
	int		 kind;		/* the plan entry that made it */
};

static uint64_t
send_ok(struct hs_client *c, const char *to, const char *text)
{
	struct hs_reply r;
	uint64_t id;

	run(c, &r, "OK SEND ", "SEND %s %s", to, text);
	if (hs_parse_send_id(r.final, &id) != 0)
		fail_msg("SEND %s %s: got \"%s\"", to, text, r.final);
	hs_reply_free(&r);
	return id;
}

/*
 * Pipeline n SENDs of "<prefix> <i>" to one target and read the n
 * answers; the ids go to ids[0..n), which must increase.
 */
static void
send_batch(struct hs_client *c, const char *to, const char *prefix, size_t n,
    uint64_t *ids)
{
	char *buf, *p;
	size_t i, cap = n * (strlen(to) + strlen(prefix) + 32) + 1;
	const char *l;

	buf = malloc(cap);
	assert_non_null(buf);
	p = buf;
	for (i = 0; i < n; i++)
		p += sprintf(p, "SEND %s %s %zu\n", to, prefix, i);
	assert_int_equal(hs_send_raw(c, buf, (size_t)(p - buf)), 0);
	free(buf);
	for (i = 0; i < n; i++) {
		l = hs_expect(c, "OK SEND ", HS_SKIP_EVENTS, HS_TIMEOUT_MS);
		if (l == NULL || hs_parse_send_id(l, &ids[i]) != 0)
			fail_msg("SEND %s %s %zu: %s", to, prefix, i,
			    hs_error());
		if (i > 0 && ids[i] <= ids[i - 1])
			fail_msg("id %llu after %llu",
			    (unsigned long long)ids[i],
			    (unsigned long long)ids[i - 1]);
	}
}

/* The data line must be HIST for this message. */
static void
assert_hist(const char *line, uint64_t id, const char *from, const char *to,
    const char *text)
{
	struct hs_msg m;

	if (strncmp(line, "HIST ", 5) != 0 || hs_parse_msg(line, &m) != 0)
		fail_msg("not a HIST line: \"%s\"", line);
	if (m.id != id || strcmp(m.from, from) != 0 ||
	    strcmp(m.to, to) != 0 || strcmp(m.text, text) != 0)
		fail_msg("got \"%s\", expected HIST %llu <time> %s %s %s",
		    line, (unsigned long long)id, from, to, text);
	if (!hs_is_rfc3339_ms(m.time))
		fail_msg("HIST time \"%s\" is not RFC 3339 with ms", m.time);
	hs_msg_free(&m);
}

/* HISTORY must answer exactly the messages want[0..n), oldest first. */
static void
assert_history(struct hs_client *c, const char *args,
    const struct sent *want, size_t n)
{
	struct hs_reply r;
	char final[64];
	size_t i;

	snprintf(final, sizeof(final), "OK HISTORY %zu", n);
	run(c, &r, final, "HISTORY %s", args);
	if (r.ndata != n)
		fail_msg("HISTORY %s: %zu data lines, expected %zu", args,
		    r.ndata, n);
	for (i = 0; i < n; i++)
		assert_hist(r.data[i], want[i].id, want[i].from, want[i].to,
		    want[i].text);
	hs_reply_free(&r);
}

/*
 * HISTORY of a room whose messages are "<prefix> <i>" from `from` with
 * ids[i]: the answer must be exactly ids[lo..hi), oldest first.
 */
static void
assert_history_range(struct hs_client *c, const char *args, const char *from,
    const char *room, const char *prefix, const uint64_t *ids, size_t lo,
    size_t hi)
{
	struct hs_reply r;
	char final[64], text[64];
	size_t i;

	snprintf(final, sizeof(final), "OK HISTORY %zu", hi - lo);
	run(c, &r, final, "HISTORY %s", args);
	if (r.ndata != hi - lo)
		fail_msg("HISTORY %s: %zu data lines, expected %zu", args,
		    r.ndata, hi - lo);
	for (i = lo; i < hi; i++) {
		snprintf(text, sizeof(text), "%s %zu", prefix, i);
		assert_hist(r.data[i - lo], ids[i], from, room, text);
	}
	hs_reply_free(&r);
}

static void
t_history_room_and_dm(void **state)
{
	struct hs_server *s = *state;
	struct hs_client *a, *b, *c;
	struct sent m[7] = {
		{ 0, "alice", "#h", "room one", 0 },
		{ 0, "bob", "#h", "room two", 0 },
		{ 0, "alice", "#h", "room  three \"quoted\"", 0 },
		{ 0, "alice", "bob", "dm from alice", 0 },
		{ 0, "bob", "alice", "dm from bob", 0 },
		{ 0, "alice", "carol", "alice to carol", 0 },
		{ 0, "carol", "bob", "carol to bob", 0 },
	};
	struct hs_client *by[7];
	char args[64];
	size_t i;

	a = login(s, "alice", ALICE_PW);
	b = login(s, "bob", BOB_PW);
	c = login(s, "carol", CAROL_PW);
	by[0] = a; by[1] = b; by[2] = a; by[3] = a; by[4] = b; by[5] = a;
	by[6] = c;
	ok(a, "OK JOIN #h", "JOIN #h");
	ok(b, "OK JOIN #h", "JOIN #h");
	for (i = 0; i < 7; i++)
		m[i].id = send_ok(by[i], m[i].to, m[i].text);

	/* The room, for either member, oldest first. */
	assert_history(a, "#h", m, 3);
	assert_history(b, "#H", m, 3);
	/* The newest two; then those before the newest. */
	assert_history(a, "#h 2", m + 1, 2);
	snprintf(args, sizeof(args), "#h 50 %llu", (unsigned long long)m[2].id);
	assert_history(a, args, m, 2);
	snprintf(args, sizeof(args), "#h 1 %llu", (unsigned long long)m[2].id);
	assert_history(a, args, m + 1, 1);

	/* Not a member, no such room. */
	ok(c, "ERR NOT_MEMBER ", "HISTORY #h");
	ok(c, "ERR NOT_MEMBER ", "HISTORY #h 10");
	ok(a, "ERR NO_SUCH_ROOM ", "HISTORY #nosuch");

	/* A conversation is both directions, seen from either side. */
	assert_history(a, "bob", m + 3, 2);
	assert_history(b, "alice", m + 3, 2);
	assert_history(b, "ALICE", m + 3, 2);
	assert_history(a, "carol", m + 5, 1);
	assert_history(c, "alice", m + 5, 1);
	assert_history(b, "carol", m + 6, 1);
	assert_history(a, "bob 1", m + 4, 1);
	snprintf(args, sizeof(args), "bob 10 %llu", (unsigned long long)m[4].id);
	assert_history(a, args, m + 3, 1);
	/* A user with no conversation, a user that does not exist. */
	assert_history(a, "dave", NULL, 0);
	ok(a, "ERR NO_SUCH_USER ", "HISTORY nosuchuser");

	hs_close(a);
	hs_close(b);
	hs_close(c);
}

static void
t_history_paging(void **state)
{
	struct hs_server *s = *state;
	struct hs_client *a, *b;
	uint64_t ids[120];
	char args[64];

	a = login(s, "alice", ALICE_PW);
	b = login(s, "bob", BOB_PW);
	ok(a, "OK JOIN #page", "JOIN #page");
	ok(b, "OK JOIN #page", "JOIN #page");
	send_batch(a, "#page", "page", 120, ids);

	/* Default limit 50: the newest 50. */
	assert_history_range(b, "#page", "alice", "#page", "page", ids, 70, 120);
	/* Back through everything, 50 at a time: 70-119, 20-69, 0-19. */
	assert_history_range(b, "#page 50", "alice", "#page", "page", ids, 70,
	    120);
	snprintf(args, sizeof(args), "#page 50 %llu",
	    (unsigned long long)ids[70]);
	assert_history_range(b, args, "alice", "#page", "page", ids, 20, 70);
	snprintf(args, sizeof(args), "#page 50 %llu",
	    (unsigned long long)ids[20]);
	assert_history_range(b, args, "alice", "#page", "page", ids, 0, 20);
	snprintf(args, sizeof(args), "#page 50 %llu",
	    (unsigned long long)ids[0]);
	assert_history_range(b, args, "alice", "#page", "page", ids, 0, 0);
	/* before-id need not be an id of the room. */
	snprintf(args, sizeof(args), "#page 3 %llu",
	    (unsigned long long)ids[119] + 1000);
	assert_history_range(b, args, "alice", "#page", "page", ids, 117, 120);

	/* The same with a direct conversation. */
	send_batch(b, "alice", "dm", 120, ids);
	assert_history_range(a, "bob 50", "bob", "alice", "dm", ids, 70, 120);
	snprintf(args, sizeof(args), "bob 50 %llu", (unsigned long long)ids[70]);
	assert_history_range(a, args, "bob", "alice", "dm", ids, 20, 70);
	snprintf(args, sizeof(args), "bob 50 %llu", (unsigned long long)ids[20]);
	assert_history_range(a, args, "bob", "alice", "dm", ids, 0, 20);
	hs_close(a);
	hs_close(b);
}

static void
t_limits_and_errors(void **state)
{
	struct hs_server *s = *state;
	struct hs_client *a;
	uint64_t ids[510];
	char want[80];

	a = login(s, "alice", ALICE_PW);
	ok(a, "OK JOIN #big", "JOIN #big");
	send_batch(a, "#big", "big", 510, ids);

	/* At most 500, whatever was asked for. */
	assert_history_range(a, "#big 1000", "alice", "#big", "big", ids, 10,
	    510);
	assert_history_range(a, "#big 501", "alice", "#big", "big", ids, 10,
	    510);
	assert_history_range(a, "#big 500", "alice", "#big", "big", ids, 10,
	    510);
	assert_history_range(a, "#big 499", "alice", "#big", "big", ids, 11,
	    510);
	assert_history_range(a, "#big 1", "alice", "#big", "big", ids, 509,
	    510);

	/* SYNC: default and maximum limit 500. */
	{
		struct hs_reply r;

		snprintf(want, sizeof(want), "OK SYNC 500 %llu",
		    (unsigned long long)ids[499]);
		run(a, &r, want, "SYNC 0");
		assert_int_equal(r.ndata, 500);
		assert_hist(r.data[0], ids[0], "alice", "#big", "big 0");
		assert_hist(r.data[499], ids[499], "alice", "#big", "big 499");
		hs_reply_free(&r);
		run(a, &r, want, "SYNC 0 100000");
		assert_int_equal(r.ndata, 500);
		hs_reply_free(&r);
		snprintf(want, sizeof(want), "OK SYNC 10 %llu",
		    (unsigned long long)ids[509]);
		run(a, &r, want, "SYNC %llu", (unsigned long long)ids[499]);
		assert_int_equal(r.ndata, 10);
		assert_hist(r.data[9], ids[509], "alice", "#big", "big 509");
		hs_reply_free(&r);
	}
	hs_close(a);
}

/*
 * Each malformed line gets exactly one final line, ERR BAD_ARGS, and
 * nothing after it.
 */
static void
t_bad_args(void **state)
{
	static const char *const bad[] = {
		"HISTORY #r 0", "HISTORY #r abc", "HISTORY #r -5",
		"HISTORY #r 1.5", "HISTORY #r 10 abc", "HISTORY #r 10 -1",
		"HISTORY #r 10 5 9", "HISTORY", "HISTORY big!",
		"HISTORY #", "HISTORY #r 99999999999999999999999",
		"HISTORY bob 0", "HISTORY bob x",
		"SYNC", "SYNC 0 0", "SYNC 0 abc", "SYNC 0 5 extra",
		"SYNC 0 -3", "SYNC abc", "SYNC -1", "SYNC 1.5",
		NULL
	};
	struct hs_server *s = *state;
	struct hs_client *a;
	size_t i;
	int n;

	a = login(s, "alice", ALICE_PW);
	ok(a, "OK JOIN #r", "JOIN #r");
	for (i = 0; bad[i] != NULL; i++) {
		assert_int_equal(hs_send(a, "%s", bad[i]), 0);
		HS_ASSERT_PREFIX(a, "ERR BAD_ARGS ");
		/* -1: the PING met another final line first. */
		if ((n = hs_sync(a)) != 0)
			fail_msg("sent \"%s\": more than its one final line "
			    "(harness line above), expected exactly one",
			    bad[i]);
	}
	hs_close(a);
}

/* ---- SYNC over mixed traffic ---- */

/* Who sends what to whom, repeated. Users: 0 alice 1 bob 2 carol 3 dave. */
static const struct {
	int		 from;
	const char	*to;
} plan[] = {
	{ 0, "#s1" },		/* 0: alice's room */
	{ 1, "#s1" },		/* 1 */
	{ 2, "#s2" },		/* 2: a room alice is never in */
	{ 0, "bob" },		/* 3: alice's DMs, both ways */
	{ 1, "alice" },		/* 4 */
	{ 1, "carol" },		/* 5: somebody else's DM */
	{ 2, "alice" },		/* 6 */
	{ 3, "#s3" },		/* 7: a room alice leaves later */
	{ 0, "#s3" },		/* 8 */
	{ 2, "#s4" },		/* 9: a room alice joins later */
	{ 3, "carol" },		/* 10: somebody else's DM */
	{ 0, "alice" },		/* 11: a note to herself */
};
#define NPLAN	(sizeof(plan) / sizeof(plan[0]))
#define ROUNDS	4
static const char *const users[] = { "alice", "bob", "carol", "dave" };

/* Whether alice may see a message of plan entry k. */
struct view {
	bool	in_s3;
	bool	in_s4;
};

static bool
visible(int k, const struct view *v)
{
	switch (k) {
	case 0: case 1: case 3: case 4: case 6: case 11:
		return true;
	case 7: case 8:
		return v->in_s3;
	case 9:
		return v->in_s4;
	default:
		return false;
	}
}

/*
 * Page through SYNC from `since` with `limit` until a short page, and
 * check the union is exactly the messages of all[0..n) that v allows.
 */
static void
sync_all(struct hs_client *c, uint64_t since, unsigned limit,
    const struct sent *all, size_t n, const struct view *v)
{
	struct hs_reply r;
	size_t want = 0, pages = 0, i, j;
	uint64_t last, prev = since;
	char fin[64];
	int nread;

	/* The expected messages, in id order (all[] is in id order). */
	for (i = 0; i < n; i++)
		if (all[i].id > since && visible(all[i].kind, v))
			want++;
	i = 0;
	for (;;) {
		assert_int_equal(hs_command(c, &r, "SYNC %llu %u",
		    (unsigned long long)prev, limit), 0);
		if (r.final == NULL || sscanf(r.final, "OK SYNC %d %llu",
		    &nread, (unsigned long long *)&last) != 2)
			fail_msg("SYNC %llu %u: got \"%s\"",
			    (unsigned long long)prev, limit,
			    r.final != NULL ? r.final : "(nothing)");
		if (nread < 0 || (size_t)nread != r.ndata ||
		    (unsigned)nread > limit)
			fail_msg("\"%s\" with %zu data lines (limit %u)",
			    r.final, r.ndata, limit);
		for (j = 0; j < r.ndata; j++, i++) {
			/* Skip what alice may not see; the next must match. */
			while (i < n && (all[i].id <= since ||
			    !visible(all[i].kind, v)))
				i++;
			if (i == n)
				fail_msg("SYNC returned an extra line \"%s\"",
				    r.data[j]);
			assert_hist(r.data[j], all[i].id, all[i].from,
			    all[i].to, all[i].text);
		}
		/* last-id: the last line's id, or since-id when none. */
		snprintf(fin, sizeof(fin), "OK SYNC %zu %llu", r.ndata,
		    (unsigned long long)(r.ndata > 0 ? all[i - 1].id : prev));
		if (strcmp(r.final, fin) != 0)
			fail_msg("got \"%s\", expected \"%s\"", r.final, fin);
		pages++;
		prev = last;
		hs_reply_free(&r);
		if ((unsigned)nread < limit)
			break;
		if (pages > n + 2)
			fail_msg("SYNC paging does not end");
	}
	while (i < n && (all[i].id <= since || !visible(all[i].kind, v)))
		i++;
	if (i != n)
		fail_msg("SYNC never returned id %llu (%s -> %s \"%s\")",
		    (unsigned long long)all[i].id, all[i].from, all[i].to,
		    all[i].text);
	print_message("SYNC from %llu: %zu messages in %zu pages of %u\n",
	    (unsigned long long)since, want, pages, limit);
}

static void
t_sync_paging(void **state)
{
	struct hs_server *s = *state;
	struct hs_client *u[4];
	struct sent all[NPLAN * ROUNDS];
	struct view v = { true, false };
	struct hs_reply r;
	size_t n = 0, i, round, k;
	uint64_t top;
	char want[64];

	for (i = 0; i < 4; i++)
		u[i] = login(s, users[i], i == 0 ? ALICE_PW : i == 1 ? BOB_PW :
		    i == 2 ? CAROL_PW : DAVE_PW);
	ok(u[0], "OK JOIN #s1", "JOIN #s1");
	ok(u[1], "OK JOIN #s1", "JOIN #s1");
	ok(u[1], "OK JOIN #s2", "JOIN #s2");
	ok(u[2], "OK JOIN #s2", "JOIN #s2");
	ok(u[0], "OK JOIN #s3", "JOIN #s3");
	ok(u[3], "OK JOIN #s3", "JOIN #s3");
	ok(u[2], "OK JOIN #s4", "JOIN #s4");

	for (round = 0; round < ROUNDS; round++)
		for (k = 0; k < NPLAN; k++, n++) {
			all[n].from = users[plan[k].from];
			all[n].to = plan[k].to;
			all[n].kind = (int)k;
			snprintf(all[n].text, sizeof(all[n].text),
			    "round %zu kind %zu", round, k);
			all[n].id = send_ok(u[plan[k].from], all[n].to,
			    all[n].text);
			if (n > 0 && all[n].id <= all[n - 1].id)
				fail_msg("ids not increasing");
		}
	top = all[n - 1].id;

	/* Pages of 7, from the start and from the middle. */
	sync_all(u[0], 0, 7, all, n, &v);
	sync_all(u[0], all[n / 2].id, 7, all, n, &v);
	sync_all(u[0], 0, 1, all, n, &v);
	sync_all(u[0], 0, 500, all, n, &v);

	/* Joining a room shows its past; leaving one hides it. */
	ok(u[0], "OK JOIN #s4", "JOIN #s4");
	v.in_s4 = true;
	sync_all(u[0], 0, 7, all, n, &v);
	ok(u[0], "OK LEAVE #s3", "LEAVE #s3");
	v.in_s3 = false;
	sync_all(u[0], 0, 7, all, n, &v);

	/* Nothing new: n is 0 and last-id is since-id. */
	snprintf(want, sizeof(want), "OK SYNC 0 %llu", (unsigned long long)top);
	ok(u[0], want, "SYNC %llu", (unsigned long long)top);
	ok(u[0], want, "SYNC %llu 7", (unsigned long long)top);
	snprintf(want, sizeof(want), "OK SYNC 0 %llu",
	    (unsigned long long)top + 1000);
	ok(u[0], want, "SYNC %llu", (unsigned long long)top + 1000);
	ok(u[0], "OK SYNC 0 18446744073709551615",
	    "SYNC 18446744073709551615");

	/* dave's view: his room #s3 and his DMs to carol. */
	run(u[3], &r, "OK SYNC ", "SYNC 0");
	k = 0;
	for (i = 0; i < n; i++) {
		if (all[i].kind != 7 && all[i].kind != 8 && all[i].kind != 10)
			continue;
		if (k >= r.ndata)
			fail_msg("dave's SYNC lacks id %llu",
			    (unsigned long long)all[i].id);
		assert_hist(r.data[k], all[i].id, all[i].from, all[i].to,
		    all[i].text);
		k++;
	}
	assert_int_equal(k, r.ndata);
	snprintf(want, sizeof(want), "OK SYNC %zu %llu", k,
	    (unsigned long long)all[n - 2].id);
	assert_string_equal(r.final, want);
	hs_reply_free(&r);

	for (i = 0; i < 4; i++)
		hs_close(u[i]);
}

/*
 * One SYNC page larger than the server encrypts in one flush pass: the
 * rest goes out on later passes, whether or not a write completion is
 * left to wake the loop for them; the whole page must arrive.
 */
static void
t_sync_page_past_one_flush(void **state)
{
	struct hs_server *s = *state;
	struct hs_client *a = login(s, "alice", ALICE_PW);
	struct hs_client *b = login(s, "bob", BOB_PW);
	struct hs_reply r;
	static char text[3001];
	unsigned i, n;
	unsigned long long last = 0, got;
	uint64_t id = 0;

	memset(text, 'x', sizeof(text) - 1);
	/* 160 x 3 KB: past one 256 KiB pass, within half the output cap. */
	for (i = 0; i < 160; i++) {
		text[0] = (char)('a' + i % 26);
		id = send_ok(a, "bob", text);
	}
	assert_int_equal(hs_command(b, &r, "SYNC 0 500"), 0);
	assert_non_null(r.final);
	if (sscanf(r.final, "OK SYNC %u %llu", &n, &got) != 2)
		fail_msg("SYNC 0 500: got \"%s\"", r.final);
	last = got;
	assert_int_equal(n, 160);
	assert_int_equal(r.ndata, 160);
	assert_true(last == id);
	hs_reply_free(&r);
	hs_close(a);
	hs_close(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(t_history_room_and_dm, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(t_history_paging, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(t_limits_and_errors, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(t_sync_paging, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(t_bad_args, setup, teardown),
		cmocka_unit_test_setup_teardown(t_sync_page_past_one_flush, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
