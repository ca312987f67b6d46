/*
 * Accounts over real TLS (SPEC §3, §6): REGISTER on and off, TOKEN and
 * RESUME (with the offline backlog), one failure answer for every bad
 * token, PASSWD ending the user's other sessions and tokens, and the
 * admin tool's account changes (token revoke, user lock, user passwd,
 * user del) taking effect on a running server; SETKEY and GETKEY; and
 * what is refused before login.
 *
 * Token expiry itself is not waited for (auth.token_ttl is at least 60
 * seconds); the expiry time a token is given is checked instead.
 */
#include "harness.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ALICE_PW	"alice-Harvest-Zephyr-3141"
#define ALICE_PW2	"alice-Second-Compass-2718"
#define ALICE_PW3	"alice-Third-Lighthouse-1618"
#define BOB_PW		"bob-Mosaic-Tangerine-7070"
#define CAROL_PW	"carol-Velvet-Ember-4242"
#define CAROL_PW2	"carol-Granite-Nebula-9191"
#define DAVE_PW		"dave-Tundra-Pelican-5858"
#define ERIN_PW		"erin-Sundial-Bramble-6363"
#define WRONG_PW	"wrong-Mistral-Oyster-1212"
#define COMMON_PW	"123456789012345"	/* long, but on the list */

#define AUTH_FAILED	"ERR AUTH_FAILED invalid username or password"
#define TOKEN_TTL	3600

/* 32 bytes, standard base64 with padding; and wrong lengths. */
#define KEY1	"AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA="
#define KEY2	"yMnKy8zNzs/Q0dLT1NXW19jZ2tvc3d7f4OHi4+Tl5uc="
#define KEY31	"AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHw=="
#define KEY33	"AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAh"
#define KEYURL	"-__7__v_-__7__v_-__7__v_-__7__v_-__7__v_-_8="

static int
start(void **state, const char *const *overrides)
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
setup(void **state)
{
	static const char *const o[] = {
		"auth.token_ttl=3600",
		"limits.messages_per_second=100000",
		NULL
	};

	return start(state, o);
}

static int
setup_register(void **state)
{
	static const char *const o[] = {
		"auth.allow_register=true",
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

/* Connected and greeted, not logged in. */
static struct hs_client *
greeted(struct hs_server *s)
{
	struct hs_client *c = hs_connect(s, NULL);

	if (c == NULL)
		fail_msg("connect: %s", hs_error());
	HS_ASSERT_PREFIX(c, "HELLO parley/1 ");
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

/* A LOGIN on a fresh connection must fail with the one failure answer. */
static void
login_fails(struct hs_server *s, const char *user, const char *pw)
{
	struct hs_client *c = greeted(s);

	expect(c, AUTH_FAILED, "LOGIN %s %s", user, pw);
	hs_close(c);
}

/* RESUME on a fresh connection must fail; returns the answer. */
static char *
resume_fails(struct hs_server *s, const char *user, const char *token)
{
	struct hs_client *c = greeted(s);
	const char *l;
	char *copy;

	assert_int_equal(hs_send(c, "RESUME %s %s", user, token), 0);
	l = hs_line(c);
	if (l == NULL)
		fail_msg("RESUME %s: no answer (%s)", user, hs_error());
	if (strcmp(l, AUTH_FAILED) != 0)
		fail_msg("RESUME %s %s: expected \"%s\", got \"%s\"", user,
		    token, AUTH_FAILED, l);
	copy = strdup(l);
	assert_non_null(copy);
	/* Still a working, unauthenticated connection. */
	expect(c, "ERR NOT_AUTHENTICATED ", "WHOAMI");
	hs_close(c);
	return copy;
}

static struct hs_client *
resume_ok(struct hs_server *s, const char *user, const char *token)
{
	struct hs_client *c = greeted(s);
	char want[64];

	snprintf(want, sizeof(want), "OK RESUME %s", user);
	expect(c, want, "RESUME %s %s", user, token);
	return c;
}

static int64_t
wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* TOKEN: returns the token (malloc'd), checks the expiry time. */
static char *
get_token(struct hs_client *c)
{
	char tok[256], exp[64], extra[8];
	int64_t t0 = wall_ms(), t1, e;
	const char *l;
	size_t i;

	assert_int_equal(hs_send(c, "TOKEN"), 0);
	l = hs_expect(c, "OK TOKEN ", HS_SKIP_EVENTS, HS_TIMEOUT_MS);
	if (l == NULL)
		fail_msg("TOKEN: %s", hs_error());
	t1 = wall_ms();
	if (sscanf(l, "OK TOKEN %255s %63s %7s", tok, exp, extra) != 2)
		fail_msg("TOKEN: malformed \"%s\"", l);
	/* 256 bits take at least 43 characters of base64. */
	if (strlen(tok) < 43)
		fail_msg("TOKEN: \"%s\" is too short for 256 bits", tok);
	for (i = 0; tok[i] != '\0'; i++)
		if (tok[i] <= ' ' || tok[i] == '"' || tok[i] == '\\' ||
		    tok[i] > '~')
			fail_msg("TOKEN: \"%s\" is not one bare word", tok);
	if (!hs_is_rfc3339_ms(exp))
		fail_msg("TOKEN: expiry \"%s\" is not RFC 3339 with ms", exp);
	e = hs_rfc3339_ms(exp);
	/* now + auth.token_ttl, give or take the clocks' seconds. */
	if (e < t0 + TOKEN_TTL * 1000LL - 2000 ||
	    e > t1 + TOKEN_TTL * 1000LL + 2000)
		fail_msg("TOKEN: expires %s, expected about now + %d s", exp,
		    TOKEN_TTL);
	return strdup(tok);
}

/* ---- REGISTER ---- */

static void
t_register_disabled(void **state)
{
	struct hs_server *s = *state;
	struct hs_client *c = greeted(s);

	expect(c, "ERR FORBIDDEN ", "REGISTER erin %s", ERIN_PW);
	expect(c, "ERR FORBIDDEN ", "REGISTER alice %s", ERIN_PW);
	expect(c, "OK PING still-here", "PING still-here");
	expect(c, "ERR NOT_AUTHENTICATED ", "WHOAMI");
	hs_close(c);
	/* Nothing was created. */
	login_fails(s, "erin", ERIN_PW);
}

static void
t_register(void **state)
{
	struct hs_server *s = *state;
	struct hs_client *c, *a;
	const char *l;

	c = greeted(s);
	/* Refusals leave the connection as it was. */
	expect(c, "ERR FORBIDDEN ", "REGISTER alice %s", ERIN_PW);
	expect(c, "ERR FORBIDDEN ", "REGISTER ALICE %s", ERIN_PW);
	expect(c, "ERR BAD_ARGS password too short: use at least 15 "
	    "characters", "REGISTER erin short-pw");
	expect(c, "ERR BAD_ARGS ", "REGISTER erin %s", COMMON_PW);
	expect(c, "ERR BAD_ARGS ", "REGISTER 9erin %s", ERIN_PW);
	expect(c, "ERR BAD_ARGS ", "REGISTER erin");
	expect(c, "ERR BAD_ARGS ", "REGISTER");
	expect(c, "ERR BAD_ARGS ", "REGISTER erin %s extra", ERIN_PW);
	expect(c, "ERR NOT_AUTHENTICATED ", "WHOAMI");

	/* Success logs the new user in. */
	expect(c, "OK REGISTER erin", "REGISTER Erin %s", ERIN_PW);
	expect(c, "OK WHOAMI erin user", "WHOAMI");
	expect(c, "ERR ALREADY_AUTHENTICATED ", "REGISTER zed %s", ERIN_PW);
	a = login(s, "alice", ALICE_PW);
	expect(c, "OK SEND ", "SEND alice welcome me");
	l = HS_ASSERT_PREFIX(a, "MSG ");
	assert_non_null(strstr(l, " erin alice welcome me"));
	hs_close(c);

	/* The account is real: password login, and the name is taken. */
	c = login(s, "erin", ERIN_PW);
	hs_close(c);
	c = greeted(s);
	expect(c, "ERR FORBIDDEN ", "REGISTER erin %s", ALICE_PW2);
	hs_close(c);
	login_fails(s, "erin", ALICE_PW2);
	/* alice's account was not touched by the refused REGISTERs. */
	c = login(s, "alice", ALICE_PW);
	hs_close(c);
	hs_close(a);
}

/* ---- TOKEN and RESUME ---- */

static void
t_token_resume(void **state)
{
	struct hs_server *s = *state;
	struct hs_client *a, *c;
	char *tok, *tok2, *ans, bad[300];
	size_t len, i;

	a = login(s, "alice", ALICE_PW);
	tok = get_token(a);
	tok2 = get_token(a);
	assert_string_not_equal(tok, tok2);
	len = strlen(tok);

	/* A token logs in like the password does. */
	c = resume_ok(s, "alice", tok);
	expect(c, "OK WHOAMI alice user", "WHOAMI");
	expect(c, "ERR ALREADY_AUTHENTICATED ", "RESUME alice %s", tok);
	assert_int_equal(hs_sync(c), 0);
	hs_close(c);
	c = resume_ok(s, "alice", tok2);
	hs_close(c);
	c = greeted(s);
	expect(c, "OK RESUME alice", "RESUME ALICE %s", tok);
	hs_close(c);

	/* Every bad token gets the answer a wrong password gets. */
	ans = resume_fails(s, "bob", tok);
	free(ans);
	snprintf(bad, sizeof(bad), "%s", tok);
	bad[len / 2] = bad[len / 2] == 'A' ? 'B' : 'A';
	free(resume_fails(s, "alice", bad));
	snprintf(bad, sizeof(bad), "%s", tok);
	bad[0] = bad[0] == 'x' ? 'y' : 'x';
	free(resume_fails(s, "alice", bad));
	snprintf(bad, sizeof(bad), "%.*s", (int)len - 4, tok);
	free(resume_fails(s, "alice", bad));
	snprintf(bad, sizeof(bad), "%sQ", tok);
	free(resume_fails(s, "alice", bad));
	free(resume_fails(s, "alice", "not-a-token"));
	free(resume_fails(s, "alice", ALICE_PW));
	free(resume_fails(s, "nosuchuser", tok));
	/* Same text as LOGIN's failure (login_fails checks it). */
	login_fails(s, "alice", WRONG_PW);

	expect(a, "ERR BAD_ARGS ", "TOKEN extra");
	c = greeted(s);
	expect(c, "ERR BAD_ARGS ", "RESUME alice");
	expect(c, "ERR BAD_ARGS ", "RESUME");
	/* Failures count towards the per-connection cap like LOGIN's. */
	for (i = 0; i < 5; i++) {
		snprintf(bad, sizeof(bad), "%s", tok);
		bad[i] = bad[i] == 'z' ? 'y' : 'z';
		assert_int_equal(hs_send(c, "RESUME alice %s", bad), 0);
		HS_ASSERT_LINE(c, AUTH_FAILED);
	}
	HS_ASSERT_LINE(c, "BYE too many failed logins");
	assert_int_equal(hs_wait_close(c, 5000, NULL), HS_CLOSE_NOTIFY);
	hs_close(c);

	/* The good tokens still work after all that. */
	c = resume_ok(s, "alice", tok);
	hs_close(c);
	free(tok);
	free(tok2);
	hs_close(a);
}

static void
t_resume_pushes_backlog(void **state)
{
	struct hs_server *s = *state;
	struct hs_client *a, *b;
	struct hs_reply r;
	uint64_t id1, id2;
	char *tok, want[64];

	a = login(s, "alice", ALICE_PW);
	tok = get_token(a);
	hs_close(a);

	b = login(s, "bob", BOB_PW);
	assert_int_equal(hs_command(b, &r, "SEND alice first while away"), 0);
	assert_int_equal(hs_parse_send_id(r.final, &id1), 0);
	hs_reply_free(&r);
	assert_int_equal(hs_command(b, &r, "SEND alice second while away"),
	    0);
	assert_int_equal(hs_parse_send_id(r.final, &id2), 0);
	hs_reply_free(&r);

	a = resume_ok(s, "alice", tok);
	snprintf(want, sizeof(want), "MSG %llu ", (unsigned long long)id1);
	assert_non_null(strstr(HS_ASSERT_PREFIX(a, want),
	    " bob alice first while away"));
	snprintf(want, sizeof(want), "MSG %llu ", (unsigned long long)id2);
	assert_non_null(strstr(HS_ASSERT_PREFIX(a, want),
	    " bob alice second while away"));
	assert_int_equal(hs_sync(a), 0);
	hs_close(a);
	/* Delivered once. */
	a = resume_ok(s, "alice", tok);
	assert_int_equal(hs_sync(a), 0);
	hs_close(a);
	hs_close(b);
	free(tok);
}

/* ---- PASSWD ---- */

static void
t_passwd(void **state)
{
	struct hs_server *s = *state;
	struct hs_client *a1, *a2, *a3, *b;
	char *tok, *tok2;
	int n;

	a1 = login(s, "alice", ALICE_PW);
	a2 = login(s, "alice", ALICE_PW);
	b = login(s, "bob", BOB_PW);
	tok = get_token(a2);

	/* Refusals change nothing. */
	expect(a1, "ERR AUTH_FAILED ", "PASSWD %s %s", WRONG_PW, ALICE_PW2);
	expect(a1, "ERR BAD_ARGS ", "PASSWD %s short-pw", ALICE_PW);
	expect(a1, "ERR BAD_ARGS ", "PASSWD %s %s", ALICE_PW, COMMON_PW);
	expect(a1, "ERR BAD_ARGS ", "PASSWD %s", ALICE_PW);
	expect(a1, "ERR BAD_ARGS ", "PASSWD");
	expect(a1, "ERR BAD_ARGS ", "PASSWD %s %s extra", ALICE_PW,
	    ALICE_PW2);
	assert_int_equal(hs_sync(a2), 0);
	a3 = resume_ok(s, "alice", tok);
	hs_close(a3);

	/* The change ends alice's other sessions, not this one. */
	expect(a1, "OK PASSWD", "PASSWD %s \"%s\"", ALICE_PW, ALICE_PW2);
	HS_ASSERT_LINE(a2, "BYE password changed");
	assert_int_equal(hs_wait_close(a2, 5000, &n), HS_CLOSE_NOTIFY);
	assert_int_equal(n, 0);
	hs_close(a2);
	expect(a1, "OK WHOAMI alice user", "WHOAMI");
	assert_int_equal(hs_sync(b), 0);

	/* Her tokens are void, the old password too; the new one works. */
	free(resume_fails(s, "alice", tok));
	login_fails(s, "alice", ALICE_PW);
	a2 = login(s, "alice", ALICE_PW2);

	/* A token made afterwards is good, until the next change. */
	tok2 = get_token(a2);
	a3 = resume_ok(s, "alice", tok2);
	expect(a3, "OK PASSWD", "PASSWD %s %s", ALICE_PW2, ALICE_PW3);
	HS_ASSERT_LINE(a1, "BYE password changed");
	HS_ASSERT_LINE(a2, "BYE password changed");
	free(resume_fails(s, "alice", tok2));
	login_fails(s, "alice", ALICE_PW2);
	hs_close(a1);
	hs_close(a2);
	hs_close(a3);
	a1 = login(s, "alice", ALICE_PW3);
	hs_close(a1);
	hs_close(b);
	free(tok);
	free(tok2);
}

/* ---- the admin tool on a running server ---- */

/* parleyctl ARGS must succeed; its output must hold `has` (may be NULL). */
static void
ctl_ok(struct hs_server *s, const char *input, const char *has,
    const char *args)
{
	char *out = NULL;
	int rc = hs_ctl(s, input, &out, "%s", args);

	if (rc != 0 || (has != NULL && strstr(out, has) == NULL))
		fail_msg("parleyctl %s: exit %d, output \"%s\" (expected exit "
		    "0 and \"%s\")", args, rc, out != NULL ? out : "",
		    has != NULL ? has : "");
	free(out);
}

/* The next line is `bye`, then a clean close. */
static void
expect_bye(struct hs_client *c, const char *bye)
{
	HS_ASSERT_LINE(c, bye);
	assert_int_equal(hs_wait_close(c, 5000, NULL), HS_CLOSE_NOTIFY);
	hs_close(c);
}

static void
t_ctl_revocations(void **state)
{
	struct hs_server *s = *state;
	struct hs_client *a, *b, *c, *d, *x;
	char *tok, *out = NULL;

	/* token revoke: tokens go, sessions stay. */
	a = login(s, "alice", ALICE_PW);
	tok = get_token(a);
	x = resume_ok(s, "alice", tok);
	hs_close(x);
	ctl_ok(s, NULL, "alice", "token revoke alice");
	free(resume_fails(s, "alice", tok));
	free(tok);
	expect(a, "OK WHOAMI alice user", "WHOAMI");
	assert_int_equal(hs_sync(a), 0);
	tok = get_token(a);
	x = resume_ok(s, "alice", tok);
	hs_close(x);
	free(tok);
	assert_int_not_equal(hs_ctl(s, NULL, &out, "token revoke nosuchuser"),
	    0);
	free(out);

	/* user lock: sessions end, tokens go, and they stay gone. */
	b = login(s, "bob", BOB_PW);
	tok = get_token(b);
	ctl_ok(s, NULL, NULL, "user lock bob");
	expect_bye(b, "BYE account locked");
	free(resume_fails(s, "bob", tok));
	login_fails(s, "bob", BOB_PW);
	ctl_ok(s, NULL, NULL, "user unlock bob");
	b = login(s, "bob", BOB_PW);
	free(resume_fails(s, "bob", tok));
	free(tok);
	hs_close(b);

	/* user passwd: sessions end, tokens go, the old password too. */
	c = login(s, "carol", CAROL_PW);
	tok = get_token(c);
	ctl_ok(s, CAROL_PW2 "\n", NULL, "user passwd carol --password-stdin");
	expect_bye(c, "BYE password changed");
	free(resume_fails(s, "carol", tok));
	free(tok);
	login_fails(s, "carol", CAROL_PW);
	c = login(s, "carol", CAROL_PW2);
	hs_close(c);

	/* user del: sessions end, nothing lets the name in again. */
	d = login(s, "dave", DAVE_PW);
	tok = get_token(d);
	ctl_ok(s, NULL, NULL, "user del dave");
	expect_bye(d, "BYE account deleted");
	free(resume_fails(s, "dave", tok));
	free(tok);
	login_fails(s, "dave", DAVE_PW);
	expect(a, "ERR NO_SUCH_USER ", "SEND dave are you there");

	/* None of it touched alice. */
	assert_int_equal(hs_sync(a), 0);
	hs_close(a);
}

/* ---- SETKEY and GETKEY ---- */

static void
t_keys(void **state)
{
	struct hs_server *s = *state;
	struct hs_client *a, *b;

	a = login(s, "alice", ALICE_PW);
	b = login(s, "bob", BOB_PW);

	expect(b, "ERR NO_KEY ", "GETKEY alice");
	expect(a, "OK SETKEY", "SETKEY %s", KEY1);
	expect(b, "OK GETKEY alice " KEY1, "GETKEY alice");
	expect(b, "OK GETKEY alice " KEY1, "GETKEY ALICE");
	expect(a, "OK GETKEY alice " KEY1, "GETKEY alice");
	/* A new key replaces the old one. */
	expect(a, "OK SETKEY", "SETKEY %s", KEY2);
	expect(b, "OK GETKEY alice " KEY2, "GETKEY alice");

	expect(a, "ERR NO_KEY ", "GETKEY bob");
	expect(a, "ERR NO_SUCH_USER ", "GETKEY nosuchuser");
	expect(a, "ERR BAD_ARGS ", "GETKEY 9bad");
	expect(a, "ERR BAD_ARGS ", "GETKEY");
	expect(a, "ERR BAD_ARGS ", "GETKEY bob carol");

	/* Wrong lengths, wrong alphabet, not base64 at all. */
	expect(a, "ERR BAD_ARGS ", "SETKEY %s", KEY31);
	expect(a, "ERR BAD_ARGS ", "SETKEY %s", KEY33);
	expect(a, "ERR BAD_ARGS ", "SETKEY %s", KEYURL);
	expect(a, "ERR BAD_ARGS ", "SETKEY not*base64!");
	expect(a, "ERR BAD_ARGS ", "SETKEY");
	expect(a, "ERR BAD_ARGS ", "SETKEY %s %s", KEY1, KEY1);
	/* None of that changed the key. */
	expect(b, "OK GETKEY alice " KEY2, "GETKEY alice");

	/* Keys outlive the session and a restart. */
	hs_close(a);
	hs_close(b);
	assert_int_equal(hs_server_restart(s), 0);
	b = login(s, "bob", BOB_PW);
	expect(b, "OK GETKEY alice " KEY2, "GETKEY alice");
	hs_close(b);
}

/* ---- before login ---- */

static void
t_before_login(void **state)
{
	static const char *const refused[] = {
		"TOKEN", "PASSWD " ALICE_PW " " ALICE_PW2, "SETKEY " KEY1,
		"GETKEY alice", "KICK bob", "KICK bob go away", "STATS",
		"WHOAMI", "SEND bob hi", "SEND #r hi", "JOIN #r", "LEAVE #r",
		"ROOMS", "WHO #r", "HISTORY bob", "SYNC 0",
		NULL
	};
	struct hs_server *s = *state;
	struct hs_client *c, *b;
	size_t i;

	b = login(s, "bob", BOB_PW);
	c = greeted(s);
	for (i = 0; refused[i] != NULL; i++)
		expect(c, "ERR NOT_AUTHENTICATED ", "%s", refused[i]);
	expect(c, "OK PING x", "PING x");
	assert_int_equal(hs_send(c, "HELP"), 0);
	assert_non_null(hs_expect(c, "OK HELP ", HS_SKIP_ANY, HS_TIMEOUT_MS));
	/* None of it had an effect. */
	assert_int_equal(hs_sync(b), 0);
	assert_int_equal(hs_login(c, "alice", ALICE_PW), 0);
	expect(c, "ERR NO_KEY ", "GETKEY alice");
	hs_close(c);
	hs_close(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(t_register_disabled, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(t_register, setup_register,
		    teardown),
		cmocka_unit_test_setup_teardown(t_token_resume, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(t_resume_pushes_backlog, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(t_passwd, setup, teardown),
		cmocka_unit_test_setup_teardown(t_ctl_revocations, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(t_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(t_before_login, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
