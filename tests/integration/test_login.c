/*
 * LOGIN over real TLS (SPEC §3): success and roles, case-insensitive
 * names, one indistinguishable failure for unknown user, wrong password
 * and locked account, quoted passwords, the per-connection failure cap,
 * pipelining behind a pending login, and no password in the server log.
 *
 * Each test gets its own server so failure counters and throttling never
 * carry over from one test to the next.
 */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ALICE_PW	"alice-Quartz-Lantern-42"
#define ROOT_PW		"root-Velvet-Harbor-1987"
#define DAVE_PW		"dave-Marble-Orchard-314"
#define WRONG_PW	"wrong-Cobalt-Meadow-555"
#define WRONG_PW2	"other-Saffron-Glacier-808"
/* Spaces, double quotes and a backslash: needs the quoted form. */
#define CAROL_PW	"open \"sesame\" \\ says carol 9"
/* The same password as a LOGIN token. */
#define CAROL_TOKEN	"\"open \\\"sesame\\\" \\\\ says carol 9\""

#define AUTH_FAILED	"ERR AUTH_FAILED invalid username or password"

static int
setup(void **state)
{
	struct hs_server *s = hs_server_start_new(NULL);

	if (s == NULL)
		return -1;
	*state = s;
	if (hs_user_add(s, "alice", ALICE_PW, 0) == -1 ||
	    hs_user_add(s, "root", ROOT_PW, 1) == -1 ||
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

/* Connect (optionally from src) and read the greeting. */
static struct hs_client *
greeted(struct hs_server *s, const char *src)
{
	struct hs_client_opts o;
	struct hs_client *c;

	memset(&o, 0, sizeof(o));
	o.src = src;
	if ((c = hs_connect(s, &o)) == NULL)
		fail_msg("connect: %s", hs_error());
	HS_ASSERT_PREFIX(c, "HELLO parley/1 ");
	return c;
}

static void
t_login_ok(void **state)
{
	struct hs_server *s = *state;
	struct hs_client *c;

	c = greeted(s, NULL);
	assert_int_equal(hs_send(c, "LOGIN alice %s", ALICE_PW), 0);
	HS_ASSERT_LINE(c, "OK LOGIN alice");
	assert_int_equal(hs_send(c, "WHOAMI"), 0);
	HS_ASSERT_LINE(c, "OK WHOAMI alice user");
	hs_close(c);

	c = greeted(s, NULL);
	assert_int_equal(hs_send(c, "LOGIN root %s", ROOT_PW), 0);
	HS_ASSERT_LINE(c, "OK LOGIN root");
	assert_int_equal(hs_send(c, "WHOAMI"), 0);
	HS_ASSERT_LINE(c, "OK WHOAMI root admin");
	hs_close(c);
}

static void
t_login_case_insensitive(void **state)
{
	struct hs_server *s = *state;
	struct hs_client *c;

	c = greeted(s, NULL);
	assert_int_equal(hs_send(c, "LOGIN ALICE %s", ALICE_PW), 0);
	HS_ASSERT_LINE(c, "OK LOGIN alice");
	assert_int_equal(hs_send(c, "WHOAMI"), 0);
	HS_ASSERT_LINE(c, "OK WHOAMI alice user");
	hs_close(c);

	c = greeted(s, NULL);
	assert_int_equal(hs_send(c, "Login Alice %s", ALICE_PW), 0);
	HS_ASSERT_LINE(c, "OK LOGIN alice");
	hs_close(c);
}

/* One failing LOGIN on a fresh connection; returns the answer (malloc'd). */
static char *
failed_login(struct hs_server *s, const char *src, const char *user,
    const char *pw, int *had_cr, int64_t *ms)
{
	struct hs_client *c = greeted(s, src);
	const char *l;
	int64_t t0;
	char *copy;

	t0 = hs_now_ms();
	assert_int_equal(hs_send(c, "LOGIN %s %s", user, pw), 0);
	l = hs_line(c);
	if (l == NULL)
		fail_msg("no answer to LOGIN %s: %s", user, hs_error());
	*ms = hs_now_ms() - t0;
	*had_cr = hs_line_had_cr(c);
	copy = strdup(l);
	assert_non_null(copy);
	/* The connection survives one failure. */
	assert_int_equal(hs_send(c, "PING alive"), 0);
	HS_ASSERT_LINE(c, "OK PING alive");
	hs_close(c);
	return copy;
}

static void
t_auth_failed_identical(void **state)
{
	struct hs_server *s = *state;
	char *wrong, *unknown, *unknown2;
	int cr1, cr2, cr3;
	int64_t ms1, ms2, ms3;

	/* Separate addresses so per-address throttling stays out of it. */
	wrong = failed_login(s, "127.0.0.11", "alice", WRONG_PW, &cr1, &ms1);
	unknown = failed_login(s, "127.0.0.12", "nosuchuser", WRONG_PW, &cr2,
	    &ms2);
	unknown2 = failed_login(s, "127.0.0.13", "zed", ALICE_PW, &cr3, &ms3);
	print_message("wrong password %lld ms, unknown user %lld / %lld ms\n",
	    (long long)ms1, (long long)ms2, (long long)ms3);
	assert_string_equal(wrong, AUTH_FAILED);
	assert_string_equal(unknown, AUTH_FAILED);
	assert_string_equal(unknown2, AUTH_FAILED);
	assert_int_equal(cr1, cr2);
	assert_int_equal(cr1, cr3);
	free(wrong);
	free(unknown);
	free(unknown2);
}

static void
t_quoted_password(void **state)
{
	struct hs_server *s = *state;
	struct hs_client *c;

	c = greeted(s, NULL);
	assert_int_equal(hs_send(c, "LOGIN carol %s", CAROL_TOKEN), 0);
	HS_ASSERT_LINE(c, "OK LOGIN carol");
	assert_int_equal(hs_send(c, "WHOAMI"), 0);
	HS_ASSERT_LINE(c, "OK WHOAMI carol user");
	hs_close(c);

	/* The harness's own quoting agrees. */
	c = greeted(s, NULL);
	assert_int_equal(hs_login(c, "carol", CAROL_PW), 0);
	hs_close(c);

	/* A bare word is a token too, even when quoting is possible. */
	c = greeted(s, NULL);
	assert_int_equal(hs_send(c, "LOGIN alice \"%s\"", ALICE_PW), 0);
	HS_ASSERT_LINE(c, "OK LOGIN alice");
	hs_close(c);
}

static void
t_login_twice(void **state)
{
	struct hs_server *s = *state;
	struct hs_client *c;

	c = greeted(s, NULL);
	assert_int_equal(hs_login(c, "alice", ALICE_PW), 0);
	assert_int_equal(hs_send(c, "LOGIN alice %s", ALICE_PW), 0);
	HS_ASSERT_PREFIX(c, "ERR ALREADY_AUTHENTICATED ");
	assert_int_equal(hs_send(c, "LOGIN root %s", ROOT_PW), 0);
	HS_ASSERT_PREFIX(c, "ERR ALREADY_AUTHENTICATED ");
	assert_int_equal(hs_send(c, "WHOAMI"), 0);
	HS_ASSERT_LINE(c, "OK WHOAMI alice user");
	hs_close(c);
}

static void
t_max_failed_logins(void **state)
{
	struct hs_server *s = *state;
	struct hs_client *c;
	const char *l;
	int i, n = -1;

	c = greeted(s, "127.0.0.21");
	for (i = 1; i <= 5; i++) {
		assert_int_equal(hs_send(c, "LOGIN alice %s-%d", WRONG_PW, i),
		    0);
		l = hs_line(c);
		if (l == NULL)
			fail_msg("no answer to failed LOGIN %d: %s", i,
			    hs_error());
		if (strcmp(l, AUTH_FAILED) != 0)
			fail_msg("failed LOGIN %d: got \"%s\", expected "
			    "\"%s\"", i, l, AUTH_FAILED);
	}
	HS_ASSERT_LINE(c, "BYE too many failed logins");
	assert_int_equal(hs_wait_close(c, 5000, &n), HS_CLOSE_NOTIFY);
	assert_int_equal(n, 0);
	hs_close(c);

	/* Four failures are not enough: the fifth try may succeed. */
	c = greeted(s, "127.0.0.22");
	for (i = 1; i <= 4; i++) {
		assert_int_equal(hs_send(c, "LOGIN root %s", WRONG_PW2), 0);
		HS_ASSERT_LINE(c, AUTH_FAILED);
	}
	assert_int_equal(hs_send(c, "LOGIN root %s", ROOT_PW), 0);
	HS_ASSERT_LINE(c, "OK LOGIN root");
	hs_close(c);
}

static void
t_failures_elsewhere_do_not_lock_out(void **state)
{
	struct hs_server *s = *state;
	struct hs_client *c, *v;
	struct hs_client_opts o;
	int i;

	/* An attacker from 127.0.0.1 burns a connection's worth. */
	c = greeted(s, "127.0.0.1");
	for (i = 1; i <= 5; i++) {
		assert_int_equal(hs_send(c, "LOGIN alice %s", WRONG_PW), 0);
		HS_ASSERT_LINE(c, AUTH_FAILED);
	}
	HS_ASSERT_LINE(c, "BYE too many failed logins");
	hs_close(c);

	/* The victim from 127.0.0.2 still logs in. */
	memset(&o, 0, sizeof(o));
	o.src = "127.0.0.2";
	v = hs_login_new(s, &o, "alice", ALICE_PW);
	assert_non_null(v);
	hs_close(v);
}

static void
t_locked_account(void **state)
{
	struct hs_server *s = *state;
	struct hs_client *c;
	char *out = NULL;
	int rc;

	rc = hs_ctl(s, NULL, &out, "user lock dave");
	if (rc != 0)
		fail_msg("parleyctl user lock dave: status %d: %s", rc, out);
	free(out);

	c = greeted(s, "127.0.0.31");
	assert_int_equal(hs_send(c, "LOGIN dave %s", DAVE_PW), 0);
	HS_ASSERT_LINE(c, AUTH_FAILED);
	assert_int_equal(hs_send(c, "WHOAMI"), 0);
	HS_ASSERT_PREFIX(c, "ERR NOT_AUTHENTICATED ");
	hs_close(c);

	out = NULL;
	rc = hs_ctl(s, NULL, &out, "user unlock dave");
	if (rc != 0)
		fail_msg("parleyctl user unlock dave: status %d: %s", rc, out);
	free(out);
	c = greeted(s, "127.0.0.32");
	assert_int_equal(hs_send(c, "LOGIN dave %s", DAVE_PW), 0);
	HS_ASSERT_LINE(c, "OK LOGIN dave");
	hs_close(c);
}

static void
t_pipelined_after_login(void **state)
{
	struct hs_server *s = *state;
	struct hs_client *c;
	char *buf = NULL;
	int n;

	/* Behind a successful LOGIN. */
	c = greeted(s, NULL);
	n = asprintf(&buf, "LOGIN alice %s\nPING 1\nWHOAMI\nPING 2\n",
	    ALICE_PW);
	assert_true(n > 0);
	assert_int_equal(hs_send_raw(c, buf, (size_t)n), 0);
	free(buf);
	HS_ASSERT_LINE(c, "OK LOGIN alice");
	HS_ASSERT_LINE(c, "OK PING 1");
	HS_ASSERT_LINE(c, "OK WHOAMI alice user");
	HS_ASSERT_LINE(c, "OK PING 2");
	hs_close(c);

	/* Behind a failing one: still in order, still not logged in. */
	c = greeted(s, "127.0.0.41");
	n = asprintf(&buf, "LOGIN alice %s\nWHOAMI\nPING 3\nLOGIN alice %s\n"
	    "WHOAMI\n", WRONG_PW, ALICE_PW);
	assert_true(n > 0);
	assert_int_equal(hs_send_raw(c, buf, (size_t)n), 0);
	free(buf);
	HS_ASSERT_LINE(c, AUTH_FAILED);
	HS_ASSERT_PREFIX(c, "ERR NOT_AUTHENTICATED ");
	HS_ASSERT_LINE(c, "OK PING 3");
	HS_ASSERT_LINE(c, "OK LOGIN alice");
	HS_ASSERT_LINE(c, "OK WHOAMI alice user");
	hs_close(c);
}

static void
t_no_password_in_log(void **state)
{
	static const char *const secrets[] = {
		ALICE_PW, ROOT_PW, DAVE_PW, WRONG_PW, WRONG_PW2, CAROL_PW,
		CAROL_TOKEN, "sesame", "Quartz-Lantern", "Cobalt-Meadow",
		"Saffron-Glacier", NULL
	};
	struct hs_server *s = *state;
	struct hs_client *c;
	char *log;
	size_t i;

	c = greeted(s, "127.0.0.51");
	assert_int_equal(hs_send(c, "LOGIN alice %s", WRONG_PW), 0);
	HS_ASSERT_LINE(c, AUTH_FAILED);
	assert_int_equal(hs_send(c, "LOGIN nosuchuser %s", WRONG_PW2), 0);
	HS_ASSERT_LINE(c, AUTH_FAILED);
	assert_int_equal(hs_send(c, "LOGIN alice %s", ALICE_PW), 0);
	HS_ASSERT_LINE(c, "OK LOGIN alice");
	/* A password after login, and in a malformed LOGIN. */
	assert_int_equal(hs_send(c, "LOGIN root %s", ROOT_PW), 0);
	HS_ASSERT_PREFIX(c, "ERR ALREADY_AUTHENTICATED ");
	hs_close(c);

	c = greeted(s, "127.0.0.52");
	assert_int_equal(hs_send(c, "LOGIN carol %s", CAROL_TOKEN), 0);
	HS_ASSERT_LINE(c, "OK LOGIN carol");
	hs_close(c);

	c = greeted(s, "127.0.0.53");
	assert_int_equal(hs_send(c, "LOGIN dave %s extra-token", DAVE_PW), 0);
	HS_ASSERT_PREFIX(c, "ERR ");
	assert_int_equal(hs_send(c, "LOGIN dave %s", DAVE_PW), 0);
	HS_ASSERT_LINE(c, "OK LOGIN dave");
	hs_close(c);

	/* Stop, so everything the server meant to log is in the file. */
	assert_int_equal(hs_server_stop(s), 0);
	log = hs_server_log(s);
	assert_non_null(log);
	assert_true(strlen(log) > 0);
	for (i = 0; secrets[i] != NULL; i++)
		if (strstr(log, secrets[i]) != NULL)
			fail_msg("the server log holds \"%s\"", secrets[i]);
	free(log);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(t_login_ok, setup, teardown),
		cmocka_unit_test_setup_teardown(t_login_case_insensitive,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(t_auth_failed_identical,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(t_quoted_password, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(t_login_twice, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(t_max_failed_logins, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    t_failures_elsewhere_do_not_lock_out, setup, teardown),
		cmocka_unit_test_setup_teardown(t_locked_account, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(t_pipelined_after_login,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(t_no_password_in_log, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
