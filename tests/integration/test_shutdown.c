/*
 * Orderly shutdown (SPEC §5, HARDENING "SIGTERM with clients connected"):
 * every client gets "BYE server shutting down" and a close_notify, the
 * server exits 0 within 5 s, and the database it leaves opens again.
 */
#include "harness.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ALICE_PW	"alice-Sparrow-Beacon-404"
#define BOB_PW		"bob-Tangerine-Rocket-77"
#define CAROL_PW	"carol-Pebble-Lighthouse-12"

#define SHUTDOWN_MS	5000

static int
setup(void **state)
{
	struct hs_server *s = hs_server_start_new(NULL);

	if (s == NULL)
		return -1;
	*state = s;
	if (hs_user_add(s, "alice", ALICE_PW, 0) == -1 ||
	    hs_user_add(s, "bob", BOB_PW, 0) == -1)
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

/* The client's next line is the shutdown BYE, then a clean close. */
static void
expect_bye(struct hs_client *c, int64_t deadline)
{
	int n = -1;

	HS_ASSERT_LINE(c, "BYE server shutting down");
	assert_int_equal(hs_wait_close(c, (int)(deadline - hs_now_ms()), &n),
	    HS_CLOSE_NOTIFY);
	assert_int_equal(n, 0);
}

static void
shutdown_with_clients(struct hs_server *s, int sig)
{
	struct hs_client *a, *b, *g;
	struct hs_client_opts o;
	int64_t t0, deadline, took;
	size_t nbytes;
	int tcp, st;

	a = hs_login_new(s, NULL, "alice", ALICE_PW);
	assert_non_null(a);
	memset(&o, 0, sizeof(o));
	o.src = "127.0.0.2";
	b = hs_login_new(s, &o, "bob", BOB_PW);
	assert_non_null(b);
	/* Greeted, not logged in. */
	g = hs_connect(s, NULL);
	assert_non_null(g);
	HS_ASSERT_PREFIX(g, "HELLO parley/1 ");
	/* TCP only, the handshake never started. */
	tcp = hs_tcp_connect(s, "127.0.0.3", 2000);
	assert_true(tcp >= 0);
	/* Everyone is in place before the signal. */
	assert_int_equal(hs_sync(a), 0);
	assert_int_equal(hs_sync(b), 0);
	assert_int_equal(hs_sync(g), 0);

	t0 = hs_now_ms();
	deadline = t0 + SHUTDOWN_MS;
	assert_int_equal(hs_server_signal(s, sig), 0);
	expect_bye(a, deadline);
	expect_bye(b, deadline);
	expect_bye(g, deadline);
	assert_int_equal(hs_fd_wait_close(tcp, (int)(deadline - hs_now_ms()),
	    &nbytes), 1);
	assert_int_equal(nbytes, 0);
	st = hs_server_wait(s, (int)(deadline - hs_now_ms()));
	took = hs_now_ms() - t0;
	print_message("exit status %d after %lld ms\n", st, (long long)took);
	assert_int_equal(st, 0);
	assert_true(took < SHUTDOWN_MS);

	close(tcp);
	hs_close(a);
	hs_close(b);
	hs_close(g);
}

static void
t_sigterm(void **state)
{
	shutdown_with_clients(*state, SIGTERM);
}

static void
t_sigint(void **state)
{
	shutdown_with_clients(*state, SIGINT);
}

static void
t_sigterm_idle(void **state)
{
	struct hs_server *s = *state;
	int64_t t0 = hs_now_ms();

	assert_int_equal(hs_server_stop(s), 0);
	assert_true(hs_now_ms() - t0 < SHUTDOWN_MS);
}

static void
t_restart_after_sigterm(void **state)
{
	struct hs_server *s = *state;
	struct hs_client *a, *c;
	struct hs_reply r;
	uint64_t id;

	/* carol stays offline until after the restart. */
	assert_int_equal(hs_user_add(s, "carol", CAROL_PW, 0), 0);
	a = hs_login_new(s, NULL, "alice", ALICE_PW);
	assert_non_null(a);
	assert_int_equal(hs_command(a, &r, "SEND carol kept across shutdown"),
	    0);
	assert_int_equal(hs_parse_send_id(r.final, &id), 0);
	hs_reply_free(&r);
	shutdown_with_clients(s, SIGTERM);
	hs_close(a);

	assert_int_equal(hs_server_start(s), 0);
	c = hs_login_new(s, NULL, "carol", CAROL_PW);
	assert_non_null(c);
	{
		struct hs_msg m;
		const char *l = HS_ASSERT_PREFIX(c, "MSG ");

		assert_int_equal(hs_parse_msg(l, &m), 0);
		assert_int_equal(m.id, id);
		assert_string_equal(m.from, "alice");
		assert_string_equal(m.to, "carol");
		assert_string_equal(m.text, "kept across shutdown");
		hs_msg_free(&m);
	}
	assert_int_equal(hs_sync(c), 0);
	hs_close(c);
	assert_int_equal(hs_server_stop(s), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(t_sigterm, setup, teardown),
		cmocka_unit_test_setup_teardown(t_sigint, setup, teardown),
		cmocka_unit_test_setup_teardown(t_sigterm_idle, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(t_restart_after_sigterm,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
