/*
 * Rooms over real TLS (SPEC §3): JOIN, LEAVE, ROOMS and WHO with their
 * exact lines; the JOINED, LEFT and PRESENCE events reaching exactly the
 * sessions they should; room SEND fan-out to every session of every
 * member except the sending session; NOT_MEMBER and NO_SUCH_ROOM;
 * case-insensitive room names; memberships kept across a restart and a
 * SIGKILL; message ids strictly increasing across rooms and direct
 * messages.
 *
 * Absence of an event is proven with hs_sync(): the server queues an
 * event before it answers the command that caused it, so once the actor
 * has its final line, a PING from the observer comes back behind any
 * event meant for it. Where the cause is a disconnect (no final line to
 * wait for), a short bounded wait comes first.
 */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ALICE_PW	"alice-Lantern-Pebble-4471"
#define BOB_PW		"bob-Saffron-Kettle-9012"
#define CAROL_PW	"carol-Orchid-Falcon-3388"
#define DAVE_PW		"dave-Copper-Willow-7765"

/* How long a disconnect may take to reach the other sessions. */
#define SETTLE_MS	300

static const char *const overrides[] = {
	/* The rate limit has its own test (test_admin). */
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
 * want, or start with want when want ends with a space. Events seen
 * meanwhile are a failure: every test knows which events it causes.
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
	if (r->nevents != 0)
		fail_msg("sent \"%s\": unexpected event \"%s\"", line,
		    r->events[0]);
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

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The data lines, in any order, must be exactly want[0..n). */
static void
assert_data_set(struct hs_reply *r, const char *const *want, size_t n)
{
	const char **w;
	size_t i;

	if (r->ndata != n) {
		for (i = 0; i < r->ndata; i++)
			print_error("  data: %s\n", r->data[i]);
		fail_msg("expected %zu data lines before \"%s\", got %zu", n,
		    r->final, r->ndata);
	}
	w = calloc(n + 1, sizeof(*w));
	assert_non_null(w);
	if (n > 0)
		memcpy(w, want, n * sizeof(*w));
	if (n > 0) {
		qsort(w, n, sizeof(*w), cmp_str);
		qsort(r->data, r->ndata, sizeof(*r->data), cmp_str);
	}
	for (i = 0; i < n; i++)
		if (strcmp(r->data[i], w[i]) != 0)
			fail_msg("data line \"%s\", expected \"%s\"",
			    r->data[i], w[i]);
	free(w);
}

/* Nothing is pending for c. */
#define QUIET(c) do {							\
	int n_ = hs_sync(c);						\
	if (n_ != 0)							\
		fail_msg("%d unexpected line(s) pending (see above)", n_); \
} while (0)

/* SEND and return the id. */
static uint64_t
send_ok(struct hs_client *c, const char *to, const char *text)
{
	struct hs_reply r;
	uint64_t id;

	run(c, &r, "OK SEND ", "SEND %s %s", to, text);
	if (hs_parse_send_id(r.final, &id) != 0)
		fail_msg("SEND %s %s: got \"%s\"", to, text, r.final);
	assert_int_equal(r.ndata, 0);
	hs_reply_free(&r);
	return id;
}

/* The next line must be this MSG. */
static void
expect_msg(struct hs_client *c, uint64_t id, const char *from, const char *to,
    const char *text)
{
	const char *l = HS_ASSERT_PREFIX(c, "MSG ");
	struct hs_msg m;

	if (hs_parse_msg(l, &m) != 0)
		fail_msg("malformed MSG line \"%s\"", l);
	if (m.id != id || strcmp(m.from, from) != 0 ||
	    strcmp(m.to, to) != 0 || strcmp(m.text, text) != 0)
		fail_msg("got \"%s\", expected MSG %llu <time> %s %s %s", l,
		    (unsigned long long)id, from, to, text);
	if (!hs_is_rfc3339_ms(m.time))
		fail_msg("MSG time \"%s\" is not RFC 3339 with ms", m.time);
	hs_msg_free(&m);
}

static void
t_join_leave_lines(void **state)
{
	struct hs_server *s = *state;
	struct hs_client *a, *b, *c, *d;
	struct hs_reply r;
	char room64[80], cmd[128];

	a = login(s, "alice", ALICE_PW);
	b = login(s, "bob", BOB_PW);
	c = login(s, "carol", CAROL_PW);

	/* No rooms yet. */
	run(c, &r, "OK ROOMS 0", "ROOMS");
	assert_data_set(&r, NULL, 0);
	hs_reply_free(&r);

	/* JOIN creates the room; again is a no-op with the same answer. */
	ok(a, "OK JOIN #lobby", "JOIN #lobby");
	QUIET(b);
	QUIET(c);
	ok(a, "OK JOIN #lobby", "JOIN #lobby");
	run(c, &r, "OK ROOMS 1", "ROOMS");
	assert_data_set(&r, (const char *const[]){ "ROOM #lobby 1" }, 1);
	hs_reply_free(&r);
	run(c, &r, "OK WHO 1", "WHO #lobby");
	assert_data_set(&r,
	    (const char *const[]){ "MEMBER #lobby alice online" }, 1);
	hs_reply_free(&r);

	/* bob joins: alice hears it, bob and carol do not. */
	ok(b, "OK JOIN #lobby", "JOIN #lobby");
	HS_ASSERT_LINE(a, "JOINED #lobby bob");
	QUIET(a);
	QUIET(b);
	QUIET(c);
	/* A repeated JOIN is no news. */
	ok(b, "OK JOIN #lobby", "JOIN #lobby");
	QUIET(a);

	run(c, &r, "OK ROOMS 1", "ROOMS");
	assert_data_set(&r, (const char *const[]){ "ROOM #lobby 2" }, 1);
	hs_reply_free(&r);
	run(c, &r, "OK WHO 2", "WHO #lobby");
	assert_data_set(&r, (const char *const[]){
	    "MEMBER #lobby alice online", "MEMBER #lobby bob online" }, 2);
	hs_reply_free(&r);

	/* bob leaves: alice hears it; leaving again is NOT_MEMBER. */
	ok(b, "OK LEAVE #lobby", "LEAVE #lobby");
	HS_ASSERT_LINE(a, "LEFT #lobby bob");
	QUIET(a);
	QUIET(b);
	QUIET(c);
	ok(b, "ERR NOT_MEMBER ", "LEAVE #lobby");
	ok(b, "ERR NO_SUCH_ROOM ", "LEAVE #nosuch");
	ok(c, "ERR NO_SUCH_ROOM ", "WHO #nosuch");
	run(c, &r, "OK ROOMS 1", "ROOMS");
	assert_data_set(&r, (const char *const[]){ "ROOM #lobby 1" }, 1);
	hs_reply_free(&r);

	/* A second room; ROOMS lists every room, member or not. */
	ok(a, "OK JOIN #second", "JOIN #second");
	run(c, &r, "OK ROOMS 2", "ROOMS");
	assert_data_set(&r, (const char *const[]){
	    "ROOM #lobby 1", "ROOM #second 1" }, 2);
	hs_reply_free(&r);

	/* An offline member is listed as such and still counted. */
	d = login(s, "dave", DAVE_PW);
	ok(d, "OK JOIN #lobby", "JOIN #lobby");
	HS_ASSERT_LINE(a, "JOINED #lobby dave");
	hs_close(d);
	HS_ASSERT_LINE(a, "PRESENCE dave offline");
	QUIET(a);
	run(c, &r, "OK WHO 2", "WHO #lobby");
	assert_data_set(&r, (const char *const[]){
	    "MEMBER #lobby alice online", "MEMBER #lobby dave offline" }, 2);
	hs_reply_free(&r);

	/* The last online member leaves; the room stays with dave. */
	ok(a, "OK LEAVE #lobby", "LEAVE #lobby");
	run(c, &r, "OK ROOMS 2", "ROOMS");
	assert_data_set(&r, (const char *const[]){
	    "ROOM #lobby 1", "ROOM #second 1" }, 2);
	hs_reply_free(&r);
	run(c, &r, "OK WHO 1", "WHO #lobby");
	assert_data_set(&r,
	    (const char *const[]){ "MEMBER #lobby dave offline" }, 1);
	hs_reply_free(&r);

	/* The longest room name is fine, one more is not. */
	memset(room64, 'r', 64);
	room64[64] = '\0';
	snprintf(cmd, sizeof(cmd), "OK JOIN #%s", room64);
	ok(c, cmd, "JOIN #%s", room64);
	ok(c, "ERR BAD_ARGS ", "JOIN #%sr", room64);

	/* Malformed arguments. */
	ok(c, "ERR BAD_ARGS ", "JOIN lobby");
	ok(c, "ERR BAD_ARGS ", "JOIN #");
	ok(c, "ERR BAD_ARGS ", "JOIN #-dash-first");
	ok(c, "ERR BAD_ARGS ", "JOIN #bad!name");
	ok(c, "ERR BAD_ARGS ", "JOIN");
	ok(c, "ERR BAD_ARGS ", "JOIN #lobby #second");
	ok(c, "ERR BAD_ARGS ", "LEAVE lobby");
	ok(c, "ERR BAD_ARGS ", "LEAVE");
	ok(c, "ERR BAD_ARGS ", "WHO");
	ok(c, "ERR BAD_ARGS ", "WHO alice");
	ok(c, "ERR BAD_ARGS ", "ROOMS extra");
	QUIET(a);
	QUIET(b);

	hs_close(a);
	hs_close(b);
	hs_close(c);
}

static void
t_presence(void **state)
{
	struct hs_server *s = *state;
	struct hs_client *a, *b1, *b2, *c;

	a = login(s, "alice", ALICE_PW);
	ok(a, "OK JOIN #p1", "JOIN #p1");
	ok(a, "OK JOIN #p2", "JOIN #p2");
	c = login(s, "carol", CAROL_PW);
	ok(c, "OK JOIN #elsewhere", "JOIN #elsewhere");

	/* bob is in no room yet: his login tells nobody. */
	b1 = login(s, "bob", BOB_PW);
	QUIET(a);
	QUIET(c);
	ok(b1, "OK JOIN #p1", "JOIN #p1");
	ok(b1, "OK JOIN #p2", "JOIN #p2");
	HS_ASSERT_LINE(a, "JOINED #p1 bob");
	HS_ASSERT_LINE(a, "JOINED #p2 bob");
	QUIET(a);

	/* Two shared rooms, one PRESENCE line. */
	hs_close(b1);
	HS_ASSERT_LINE(a, "PRESENCE bob offline");
	hs_sleep_ms(SETTLE_MS);
	QUIET(a);
	QUIET(c);

	/* First session: everyone sharing a room hears it, once. */
	b1 = login(s, "bob", BOB_PW);
	HS_ASSERT_LINE(a, "PRESENCE bob online");
	QUIET(a);
	QUIET(b1);
	QUIET(c);

	/* A second session changes nothing. */
	b2 = login(s, "bob", BOB_PW);
	QUIET(a);
	QUIET(b1);
	QUIET(c);

	/* Neither does ending one of two. */
	hs_close(b1);
	hs_sleep_ms(SETTLE_MS);
	QUIET(a);
	QUIET(b2);
	QUIET(c);

	/* The last one does. */
	hs_close(b2);
	HS_ASSERT_LINE(a, "PRESENCE bob offline");
	hs_sleep_ms(SETTLE_MS);
	QUIET(a);
	QUIET(c);

	/* alice going offline reaches nobody: nobody shares her rooms now. */
	hs_close(a);
	hs_sleep_ms(SETTLE_MS);
	QUIET(c);
	hs_close(c);
}

static void
t_room_fanout(void **state)
{
	struct hs_server *s = *state;
	struct hs_client *a1, *a2, *b1, *b2, *c;
	uint64_t id;

	a1 = login(s, "alice", ALICE_PW);
	a2 = login(s, "alice", ALICE_PW);
	b1 = login(s, "bob", BOB_PW);
	b2 = login(s, "bob", BOB_PW);
	c = login(s, "carol", CAROL_PW);

	ok(a1, "OK JOIN #fan", "JOIN #fan");
	ok(b1, "OK JOIN #fan", "JOIN #fan");
	/* Every session of the other members, none of the joiner's own. */
	HS_ASSERT_LINE(a1, "JOINED #fan bob");
	HS_ASSERT_LINE(a2, "JOINED #fan bob");
	QUIET(b1);
	QUIET(b2);
	QUIET(c);

	/* To every session of every member but the sending one. */
	id = send_ok(a1, "#fan", "hello room");
	expect_msg(a2, id, "alice", "#fan", "hello room");
	expect_msg(b1, id, "alice", "#fan", "hello room");
	expect_msg(b2, id, "alice", "#fan", "hello room");
	QUIET(a1);
	QUIET(a2);
	QUIET(b1);
	QUIET(b2);
	QUIET(c);

	id = send_ok(b2, "#fan", "a reply");
	expect_msg(a1, id, "bob", "#fan", "a reply");
	expect_msg(a2, id, "bob", "#fan", "a reply");
	expect_msg(b1, id, "bob", "#fan", "a reply");
	QUIET(b2);
	QUIET(c);

	/* Outsiders cannot post, and nothing leaks. */
	ok(c, "ERR NOT_MEMBER ", "SEND #fan let me in");
	ok(c, "ERR NO_SUCH_ROOM ", "SEND #nope anyone?");
	ok(c, "ERR BAD_ARGS ", "SEND #fan");
	ok(c, "ERR BAD_ARGS ", "SEND #fan ");
	QUIET(a1);
	QUIET(a2);
	QUIET(b1);
	QUIET(b2);

	/* After LEAVE, bob's sessions get no more room traffic. */
	ok(b1, "OK LEAVE #fan", "LEAVE #fan");
	HS_ASSERT_LINE(a1, "LEFT #fan bob");
	HS_ASSERT_LINE(a2, "LEFT #fan bob");
	QUIET(b2);
	id = send_ok(a2, "#fan", "bob is gone");
	expect_msg(a1, id, "alice", "#fan", "bob is gone");
	QUIET(a2);
	QUIET(b1);
	QUIET(b2);
	ok(b2, "ERR NOT_MEMBER ", "SEND #fan still here?");
	QUIET(a1);

	hs_close(a1);
	hs_close(a2);
	hs_close(b1);
	hs_close(b2);
	hs_close(c);
}

static void
t_case_insensitive(void **state)
{
	struct hs_server *s = *state;
	struct hs_client *a, *b;
	struct hs_reply r;
	uint64_t id;

	a = login(s, "alice", ALICE_PW);
	b = login(s, "bob", BOB_PW);
	ok(a, "OK JOIN #mixedcase", "JOIN #MixedCase");
	ok(b, "OK JOIN #mixedcase", "join #MIXEDCASE");
	HS_ASSERT_LINE(a, "JOINED #mixedcase bob");
	QUIET(a);

	/* One room, not two. */
	run(a, &r, "OK ROOMS 1", "ROOMS");
	assert_data_set(&r, (const char *const[]){ "ROOM #mixedcase 2" }, 1);
	hs_reply_free(&r);
	run(a, &r, "OK WHO 2", "WHO #MiXeDcAsE");
	assert_data_set(&r, (const char *const[]){
	    "MEMBER #mixedcase alice online",
	    "MEMBER #mixedcase bob online" }, 2);
	hs_reply_free(&r);

	id = send_ok(a, "#mIxEdCaSe", "same room");
	expect_msg(b, id, "alice", "#mixedcase", "same room");

	ok(b, "OK LEAVE #mixedcase", "LEAVE #MixedCASE");
	HS_ASSERT_LINE(a, "LEFT #mixedcase bob");
	ok(b, "ERR NOT_MEMBER ", "LEAVE #mixedCase");
	QUIET(a);
	QUIET(b);
	hs_close(a);
	hs_close(b);
}

static void
t_membership_survives_restart(void **state)
{
	struct hs_server *s = *state;
	struct hs_client *a, *b, *c;
	struct hs_reply r;
	uint64_t id;

	a = login(s, "alice", ALICE_PW);
	b = login(s, "bob", BOB_PW);
	c = login(s, "carol", CAROL_PW);
	ok(a, "OK JOIN #keep", "JOIN #keep");
	ok(a, "OK JOIN #solo", "JOIN #solo");
	ok(b, "OK JOIN #keep", "JOIN #keep");
	HS_ASSERT_LINE(a, "JOINED #keep bob");
	ok(c, "OK JOIN #keep", "JOIN #keep");
	HS_ASSERT_LINE(a, "JOINED #keep carol");
	HS_ASSERT_LINE(b, "JOINED #keep carol");
	ok(c, "OK LEAVE #keep", "LEAVE #keep");
	HS_ASSERT_LINE(a, "LEFT #keep carol");
	HS_ASSERT_LINE(b, "LEFT #keep carol");
	QUIET(a);
	QUIET(b);
	hs_close(a);
	hs_close(b);
	hs_close(c);

	assert_int_equal(hs_server_restart(s), 0);

	a = login(s, "alice", ALICE_PW);
	run(a, &r, "OK ROOMS 2", "ROOMS");
	assert_data_set(&r, (const char *const[]){
	    "ROOM #keep 2", "ROOM #solo 1" }, 2);
	hs_reply_free(&r);
	/* The login loaded bob's rooms: alice hears him come online. */
	b = login(s, "bob", BOB_PW);
	HS_ASSERT_LINE(a, "PRESENCE bob online");
	c = login(s, "carol", CAROL_PW);
	QUIET(a);
	QUIET(b);

	id = send_ok(a, "#keep", "after the restart");
	expect_msg(b, id, "alice", "#keep", "after the restart");
	QUIET(c);
	ok(c, "ERR NOT_MEMBER ", "SEND #keep not mine");
	run(c, &r, "OK WHO 2", "WHO #keep");
	assert_data_set(&r, (const char *const[]){
	    "MEMBER #keep alice online", "MEMBER #keep bob online" }, 2);
	hs_reply_free(&r);

	/* A JOIN acknowledged right before SIGKILL is kept too. */
	ok(b, "OK JOIN #late", "JOIN #late");
	hs_server_kill(s);
	hs_abort(a);
	hs_abort(b);
	hs_abort(c);
	assert_int_equal(hs_server_start(s), 0);

	a = login(s, "alice", ALICE_PW);
	run(a, &r, "OK ROOMS 3", "ROOMS");
	assert_data_set(&r, (const char *const[]){
	    "ROOM #keep 2", "ROOM #late 1", "ROOM #solo 1" }, 3);
	hs_reply_free(&r);
	b = login(s, "bob", BOB_PW);
	HS_ASSERT_LINE(a, "PRESENCE bob online");
	ok(a, "OK JOIN #late", "JOIN #late");
	HS_ASSERT_LINE(b, "JOINED #late alice");
	id = send_ok(b, "#late", "kept through SIGKILL");
	expect_msg(a, id, "bob", "#late", "kept through SIGKILL");
	QUIET(a);
	QUIET(b);
	hs_close(a);
	hs_close(b);
}

/* Lines a client received, in arrival order. */
struct seen {
	char	**line;
	size_t	  n;
};

static void
seen_add(struct seen *v, char **lines, size_t n)
{
	size_t i;

	v->line = realloc(v->line, (v->n + n + 1) * sizeof(*v->line));
	assert_non_null(v->line);
	for (i = 0; i < n; i++) {
		v->line[v->n] = strdup(lines[i]);
		assert_non_null(v->line[v->n]);
		v->n++;
	}
}

static void
seen_free(struct seen *v)
{
	size_t i;

	for (i = 0; i < v->n; i++)
		free(v->line[i]);
	free(v->line);
	memset(v, 0, sizeof(*v));
}

static void
t_ids_increasing(void **state)
{
	/* sender (0 alice, 1 bob, 2 carol), target */
	static const struct { int from; const char *to; } plan[] = {
		{ 0, "#i1" }, { 1, "#i2" }, { 0, "bob" }, { 2, "#i2" },
		{ 1, "#i1" }, { 2, "alice" }, { 0, "#i1" }, { 1, "carol" },
		{ 2, "bob" }, { 1, "#i1" }, { 0, "carol" }, { 2, "#i2" },
		{ 1, "alice" }, { 0, "#i1" }, { 1, "#i2" }, { 2, "#i2" },
		{ 0, "bob" }, { 1, "#i1" }, { 2, "alice" }, { 0, "#i1" },
	};
	static const char *const names[] = { "alice", "bob", "carol" };
	const size_t n = sizeof(plan) / sizeof(plan[0]);
	struct hs_server *s = *state;
	struct hs_client *u[3];
	struct seen got[3];
	struct hs_reply r;
	uint64_t ids[sizeof(plan) / sizeof(plan[0])], prev;
	char text[32];
	size_t i, k;
	int who;

	memset(got, 0, sizeof(got));
	u[0] = login(s, "alice", ALICE_PW);
	u[1] = login(s, "bob", BOB_PW);
	u[2] = login(s, "carol", CAROL_PW);
	ok(u[0], "OK JOIN #i1", "JOIN #i1");
	ok(u[1], "OK JOIN #i1", "JOIN #i1");
	HS_ASSERT_LINE(u[0], "JOINED #i1 bob");
	ok(u[1], "OK JOIN #i2", "JOIN #i2");
	ok(u[2], "OK JOIN #i2", "JOIN #i2");
	HS_ASSERT_LINE(u[1], "JOINED #i2 carol");

	/* Senders take turns; MSG events they get meanwhile are kept. */
	for (i = 0; i < n; i++) {
		snprintf(text, sizeof(text), "step %zu", i);
		who = plan[i].from;
		if (hs_command(u[who], &r, "SEND %s %s", plan[i].to,
		    text) != 0 || hs_parse_send_id(r.final, &ids[i]) != 0)
			fail_msg("SEND %s %s: got \"%s\"", plan[i].to, text,
			    r.final != NULL ? r.final : hs_error());
		seen_add(&got[who], r.events, r.nevents);
		hs_reply_free(&r);
		if (i > 0 && ids[i] <= ids[i - 1])
			fail_msg("step %zu: id %llu after %llu", i,
			    (unsigned long long)ids[i],
			    (unsigned long long)ids[i - 1]);
	}
	for (who = 0; who < 3; who++) {
		assert_int_equal(hs_command(u[who], &r, "PING drain"), 0);
		assert_string_equal(r.final, "OK PING drain");
		assert_int_equal(r.ndata, 0);
		seen_add(&got[who], r.events, r.nevents);
		hs_reply_free(&r);
	}

	/* Each user got exactly what was meant for them, in id order. */
	for (who = 0; who < 3; who++) {
		struct hs_msg m;

		prev = 0;
		k = 0;
		for (i = 0; i < n; i++) {
			const char *to = plan[i].to;
			int member;

			if (plan[i].from == who)
				continue;
			member = strcmp(to, names[who]) == 0 ||
			    (strcmp(to, "#i1") == 0 && who != 2) ||
			    (strcmp(to, "#i2") == 0 && who != 0);
			if (!member)
				continue;
			if (k >= got[who].n)
				fail_msg("%s: missing MSG for step %zu",
				    names[who], i);
			assert_int_equal(hs_parse_msg(got[who].line[k], &m),
			    0);
			snprintf(text, sizeof(text), "step %zu", i);
			if (m.id != ids[i] || strcmp(m.text, text) != 0 ||
			    strcmp(m.to, to) != 0 ||
			    strcmp(m.from, names[plan[i].from]) != 0)
				fail_msg("%s: got \"%s\", expected step %zu "
				    "with id %llu", names[who],
				    got[who].line[k], i,
				    (unsigned long long)ids[i]);
			if (m.id <= prev)
				fail_msg("%s: id %llu arrived after %llu",
				    names[who], (unsigned long long)m.id,
				    (unsigned long long)prev);
			prev = m.id;
			hs_msg_free(&m);
			k++;
		}
		if (k != got[who].n)
			fail_msg("%s: %zu extra lines, first \"%s\"",
			    names[who], got[who].n - k, got[who].line[k]);
		seen_free(&got[who]);
	}
	for (who = 0; who < 3; who++)
		hs_close(u[who]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(t_join_leave_lines, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(t_presence, setup, teardown),
		cmocka_unit_test_setup_teardown(t_room_fanout, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(t_case_insensitive, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(t_membership_survives_restart,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(t_ids_increasing, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
