/*
 * Session layer of parleyd over real TLS (SPEC §1-3): the greeting, TLS
 * versions and ALPN, PING/HELP/QUIT, what is allowed before login, line
 * framing (limits, UTF-8, empty lines, CRLF, pipelining).
 */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ssl.h>

#define GREETING	"HELLO parley/1 parley-test"
#define ALICE_PW	"session-Granite-Willow-73"

static struct hs_server *srv;

static int
group_setup(void **state)
{
	(void)state;
	if ((srv = hs_server_start_new(NULL)) == NULL)
		return -1;
	if (hs_user_add(srv, "alice", ALICE_PW, 0) == -1)
		return -1;
	return 0;
}

static int
group_teardown(void **state)
{
	int rc;

	(void)state;
	rc = hs_server_finish(srv);
	srv = NULL;
	return rc;
}

/* A connected client that has read the greeting. */
static struct hs_client *
greeted(struct hs_server *s, const struct hs_client_opts *o)
{
	struct hs_client *c = hs_connect(s, o);

	if (c == NULL)
		fail_msg("connect: %s", hs_error());
	HS_ASSERT_LINE(c, GREETING);
	return c;
}

static void
t_greeting(void **state)
{
	struct hs_client *c;

	(void)state;
	c = hs_connect(srv, NULL);
	assert_non_null(c);
	HS_ASSERT_LINE(c, GREETING);
	assert_false(hs_line_had_cr(c));
	assert_string_equal(hs_client_alpn(c), "parley/1");
	hs_close(c);
}

static void
t_tls_versions(void **state)
{
	struct hs_client_opts o;
	struct hs_client *c;

	(void)state;
	memset(&o, 0, sizeof(o));
	o.min_version = o.max_version = TLS1_3_VERSION;
	c = greeted(srv, &o);
	assert_int_equal(hs_client_version(c), TLS1_3_VERSION);
	assert_int_equal(hs_sync(c), 0);
	hs_close(c);

	o.min_version = o.max_version = TLS1_2_VERSION;
	c = greeted(srv, &o);
	assert_int_equal(hs_client_version(c), TLS1_2_VERSION);
	assert_int_equal(hs_sync(c), 0);
	hs_close(c);

	/* TLS 1.1 and 1.0: the client is made willing, the server refuses. */
	o.ciphers = "DEFAULT:@SECLEVEL=0";
	o.min_version = o.max_version = TLS1_1_VERSION;
	c = hs_connect(srv, &o);
	assert_null(c);
	o.min_version = o.max_version = TLS1_VERSION;
	c = hs_connect(srv, &o);
	assert_null(c);

	/* The server still serves afterwards. */
	c = greeted(srv, NULL);
	hs_close(c);
}

static void
t_tls_min_version_13(void **state)
{
	static const char *const ov[] = { "tls.min_version=1.3", NULL };
	struct hs_server *s;
	struct hs_client_opts o;
	struct hs_client *c;

	(void)state;
	s = hs_server_start_new(ov);
	assert_non_null(s);
	memset(&o, 0, sizeof(o));
	o.min_version = o.max_version = TLS1_2_VERSION;
	c = hs_connect(s, &o);
	assert_null(c);
	o.min_version = o.max_version = TLS1_3_VERSION;
	c = greeted(s, &o);
	assert_int_equal(hs_client_version(c), TLS1_3_VERSION);
	hs_close(c);
	assert_int_equal(hs_server_finish(s), 0);
}

static void
t_alpn(void **state)
{
	struct hs_client_opts o;
	struct hs_client *c;

	(void)state;
	memset(&o, 0, sizeof(o));

	o.alpn = "parley/1";
	c = greeted(srv, &o);
	assert_string_equal(hs_client_alpn(c), "parley/1");
	hs_close(c);

	/* No ALPN at all, like openssl s_client: served. */
	o.alpn = "";
	c = greeted(srv, &o);
	assert_string_equal(hs_client_alpn(c), "");
	assert_int_equal(hs_sync(c), 0);
	hs_close(c);

	/* parley/1 among others: chosen. */
	o.alpn = "h2,parley/1,http/1.1";
	c = greeted(srv, &o);
	assert_string_equal(hs_client_alpn(c), "parley/1");
	hs_close(c);

	/* Only other protocols: the handshake fails. */
	o.alpn = "h2";
	c = hs_connect(srv, &o);
	assert_null(c);
	o.alpn = "h2,http/1.1";
	c = hs_connect(srv, &o);
	assert_null(c);
}

static void
t_ping(void **state)
{
	struct hs_client *c;

	(void)state;
	c = greeted(srv, NULL);
	assert_int_equal(hs_send(c, "PING"), 0);
	HS_ASSERT_LINE(c, "OK PING");
	assert_false(hs_line_had_cr(c));
	assert_int_equal(hs_send(c, "PING abc"), 0);
	HS_ASSERT_LINE(c, "OK PING abc");
	/* Tokens are separated by one or more spaces. */
	assert_int_equal(hs_send(c, "PING    xyz"), 0);
	HS_ASSERT_LINE(c, "OK PING xyz");
	/* A line split across writes is one line. */
	assert_int_equal(hs_send_raw(c, "PI", 2), 0);
	hs_sleep_ms(50);
	assert_int_equal(hs_send_raw(c, "NG split\n", 9), 0);
	HS_ASSERT_LINE(c, "OK PING split");
	hs_close(c);
}

/* Check one HELP answer: n data lines "HELP <syntax> - <description>". */
static void
check_help(struct hs_client *c, const char *cmd)
{
	struct hs_reply r;
	unsigned long n;
	char *end;
	size_t i;
	int saw_ping = 0, saw_login = 0;

	assert_int_equal(hs_command(c, &r, "%s", cmd), 0);
	if (strncmp(r.final, "OK HELP ", 8) != 0)
		fail_msg("HELP final line \"%s\"", r.final);
	n = strtoul(r.final + 8, &end, 10);
	assert_true(*end == '\0' || *end == ' ');
	assert_true(n > 0);
	assert_int_equal(r.ndata, n);
	assert_int_equal(r.nevents, 0);
	for (i = 0; i < r.ndata; i++) {
		if (strncmp(r.data[i], "HELP ", 5) != 0 ||
		    strstr(r.data[i], " - ") == NULL)
			fail_msg("bad HELP data line \"%s\"", r.data[i]);
		if (strncmp(r.data[i], "HELP PING", 9) == 0)
			saw_ping = 1;
		if (strncmp(r.data[i], "HELP LOGIN", 10) == 0)
			saw_login = 1;
	}
	assert_true(saw_ping);
	assert_true(saw_login);
	hs_reply_free(&r);
}

static void
t_help(void **state)
{
	struct hs_client *c;

	(void)state;
	c = greeted(srv, NULL);
	check_help(c, "HELP");
	assert_int_equal(hs_login(c, "alice", ALICE_PW), 0);
	check_help(c, "HELP");
	hs_close(c);
}

static void
t_quit(void **state)
{
	struct hs_client *c;
	int n = -1;

	(void)state;
	c = greeted(srv, NULL);
	assert_int_equal(hs_send(c, "QUIT"), 0);
	HS_ASSERT_LINE(c, "OK QUIT");
	assert_int_equal(hs_wait_close(c, 5000, &n), HS_CLOSE_NOTIFY);
	assert_int_equal(n, 0);
	hs_close(c);

	/* After login too. */
	c = greeted(srv, NULL);
	assert_int_equal(hs_login(c, "alice", ALICE_PW), 0);
	assert_int_equal(hs_send(c, "QUIT"), 0);
	HS_ASSERT_LINE(c, "OK QUIT");
	assert_int_equal(hs_wait_close(c, 5000, &n), HS_CLOSE_NOTIFY);
	assert_int_equal(n, 0);
	hs_close(c);
}

static void
t_not_authenticated(void **state)
{
	/* The foundation's commands; later ones join this list. */
	static const char *const cmds[] = {
		"SEND alice hello", "SEND #room hello", "JOIN #room",
		"LEAVE #room", "ROOMS", "WHO #room", "HISTORY alice",
		"SYNC 0", "WHOAMI", "whoami", "send alice lowercase", NULL
	};
	struct hs_client *c;
	size_t i;

	(void)state;
	c = greeted(srv, NULL);
	for (i = 0; cmds[i] != NULL; i++) {
		assert_int_equal(hs_send(c, "%s", cmds[i]), 0);
		HS_ASSERT_PREFIX(c, "ERR NOT_AUTHENTICATED ");
	}
	/* Still usable, and still not logged in. */
	assert_int_equal(hs_send(c, "PING still-here"), 0);
	HS_ASSERT_LINE(c, "OK PING still-here");
	assert_int_equal(hs_login(c, "alice", ALICE_PW), 0);
	assert_int_equal(hs_send(c, "WHOAMI"), 0);
	HS_ASSERT_LINE(c, "OK WHOAMI alice user");
	hs_close(c);
}

static void
t_unknown_command(void **state)
{
	struct hs_client *c;
	const char *l;

	(void)state;
	c = greeted(srv, NULL);
	/* Before login either code is defensible; it must be an ERR. */
	assert_int_equal(hs_send(c, "FROBNICATE now"), 0);
	l = HS_ASSERT_PREFIX(c, "ERR ");
	assert_true(strncmp(l, "ERR BAD_COMMAND ", 16) == 0 ||
	    strncmp(l, "ERR NOT_AUTHENTICATED ", 22) == 0);
	assert_int_equal(hs_login(c, "alice", ALICE_PW), 0);
	assert_int_equal(hs_send(c, "FROBNICATE now"), 0);
	HS_ASSERT_PREFIX(c, "ERR BAD_COMMAND ");
	assert_int_equal(hs_send(c, "PINGX"), 0);
	HS_ASSERT_PREFIX(c, "ERR BAD_COMMAND ");
	assert_int_equal(hs_send(c, "PING ok"), 0);
	HS_ASSERT_LINE(c, "OK PING ok");
	hs_close(c);
}

static void
t_lowercase(void **state)
{
	struct hs_client *c;
	struct hs_reply r;

	(void)state;
	c = greeted(srv, NULL);
	assert_int_equal(hs_send(c, "ping low"), 0);
	HS_ASSERT_LINE(c, "OK PING low");
	assert_int_equal(hs_send(c, "PiNg mixed"), 0);
	HS_ASSERT_LINE(c, "OK PING mixed");
	assert_int_equal(hs_command(c, &r, "help"), 0);
	assert_true(strncmp(r.final, "OK HELP ", 8) == 0);
	hs_reply_free(&r);
	assert_int_equal(hs_send(c, "login alice %s", ALICE_PW), 0);
	HS_ASSERT_LINE(c, "OK LOGIN alice");
	assert_int_equal(hs_send(c, "whoami"), 0);
	HS_ASSERT_LINE(c, "OK WHOAMI alice user");
	assert_int_equal(hs_send(c, "quit"), 0);
	HS_ASSERT_LINE(c, "OK QUIT");
	assert_int_equal(hs_wait_close(c, 5000, NULL), HS_CLOSE_NOTIFY);
	hs_close(c);
}

static void
t_pipelined(void **state)
{
	struct hs_client *c;
	char *buf, want[32];
	size_t len = 0;
	int i;

	(void)state;
	c = greeted(srv, NULL);
	buf = malloc(200 * 16);
	assert_non_null(buf);
	for (i = 1; i <= 200; i++)
		len += (size_t)sprintf(buf + len, "PING %d\n", i);
	assert_int_equal(hs_send_raw(c, buf, len), 0);
	free(buf);
	for (i = 1; i <= 200; i++) {
		snprintf(want, sizeof(want), "OK PING %d", i);
		HS_ASSERT_LINE(c, want);
	}
	assert_int_equal(hs_sync(c), 0);
	hs_close(c);
}

/*
 * Send a line of exactly total bytes (terminator included) whose content
 * is "PING " and x's, with "\n" or "\r\n".
 */
static void
send_sized_ping(struct hs_client *c, size_t total, int crlf)
{
	size_t term = crlf ? 2 : 1, i;
	char *b = malloc(total);

	assert_non_null(b);
	assert_true(total > 5 + term);
	memcpy(b, "PING ", 5);
	for (i = 5; i < total - term; i++)
		b[i] = 'x';
	if (crlf)
		b[total - 2] = '\r';
	b[total - 1] = '\n';
	assert_int_equal(hs_send_raw(c, b, total), 0);
	free(b);
}

/* Expect "OK PING" with the x's of send_sized_ping. */
static void
expect_sized_pong(struct hs_client *c, size_t total, int crlf)
{
	size_t nx = total - 5 - (crlf ? 2 : 1), i;
	const char *l = HS_ASSERT_PREFIX(c, "OK PING ");

	assert_int_equal(strlen(l), 8 + nx);
	for (i = 0; i < nx; i++)
		assert_true(l[8 + i] == 'x');
}

static void
check_line_limit(struct hs_server *s, size_t max)
{
	struct hs_client *c;
	char *big;
	size_t bigl = 100000, i;

	c = greeted(s, NULL);
	/* max bytes with the LF: accepted. */
	send_sized_ping(c, max, 0);
	expect_sized_pong(c, max, 0);
	/* max bytes with CRLF: accepted. */
	send_sized_ping(c, max, 1);
	expect_sized_pong(c, max, 1);
	/* max + 1: refused, and the connection stays usable. */
	send_sized_ping(c, max + 1, 0);
	HS_ASSERT_PREFIX(c, "ERR LINE_TOO_LONG ");
	assert_int_equal(hs_send(c, "PING after"), 0);
	HS_ASSERT_LINE(c, "OK PING after");

	/* A long line in pieces, then its LF: one error, then usable. */
	big = malloc(bigl);
	assert_non_null(big);
	memcpy(big, "PING ", 5);
	for (i = 5; i < bigl; i++)
		big[i] = 'y';
	for (i = 0; i < bigl; i += 10000)
		assert_int_equal(hs_send_raw(c, big + i,
		    bigl - i < 10000 ? bigl - i : 10000), 0);
	free(big);
	assert_int_equal(hs_send_raw(c, "\nPING again\n", 12), 0);
	HS_ASSERT_PREFIX(c, "ERR LINE_TOO_LONG ");
	HS_ASSERT_LINE(c, "OK PING again");
	assert_int_equal(hs_sync(c), 0);
	hs_close(c);
}

static void
t_line_too_long_small(void **state)
{
	static const char *const ov[] = { "limits.max_line_bytes=1024", NULL };
	struct hs_server *s;

	(void)state;
	s = hs_server_start_new(ov);
	assert_non_null(s);
	check_line_limit(s, 1024);
	assert_int_equal(hs_server_finish(s), 0);
}

static void
t_line_too_long_default(void **state)
{
	(void)state;
	check_line_limit(srv, 8192);
}

static void
t_bad_utf8(void **state)
{
	static const struct {
		const char	*bytes;
		size_t		 len;
	} bad[] = {
		{ "PING a\0b\n", 9 },			/* NUL */
		{ "PING \xC0\xAF\n", 8 },		/* overlong '/' */
		{ "PING \xED\xA0\x80\n", 9 },		/* surrogate */
		{ "PING \xF4\x90\x80\x80\n", 10 },	/* > U+10FFFF */
		{ "PING \x80\n", 7 },		/* lone continuation */
		{ "PING \xFF\n", 7 },
		{ "PING \xE2\x82\n", 8 },		/* truncated */
		{ "\xC0\xAF\n", 3 },			/* in the keyword */
	};
	struct hs_client *c;
	size_t i;

	(void)state;
	c = greeted(srv, NULL);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(hs_send_raw(c, bad[i].bytes, bad[i].len), 0);
		HS_ASSERT_PREFIX(c, "ERR BAD_UTF8 ");
	}
	/* Valid multi-byte UTF-8 is fine. */
	assert_int_equal(hs_send(c, "PING \xF0\x9F\x98\x80\xC3\xA9"), 0);
	HS_ASSERT_LINE(c, "OK PING \xF0\x9F\x98\x80\xC3\xA9");

	/* After login, in message text, too. */
	assert_int_equal(hs_login(c, "alice", ALICE_PW), 0);
	for (i = 0; i < 5; i++) {
		char line[64];
		size_t n;

		/* "SEND alice " + the bad bytes after "PING ". */
		n = (size_t)snprintf(line, sizeof(line), "SEND alice ");
		memcpy(line + n, bad[i].bytes + 5, bad[i].len - 5);
		assert_int_equal(hs_send_raw(c, line, n + bad[i].len - 5), 0);
		HS_ASSERT_PREFIX(c, "ERR BAD_UTF8 ");
	}
	assert_int_equal(hs_sync(c), 0);
	hs_close(c);
}

static void
t_empty_lines_crlf(void **state)
{
	struct hs_client *c;

	(void)state;
	c = greeted(srv, NULL);
	assert_int_equal(hs_send_raw(c, "\n\n\r\n\n", 5), 0);
	assert_int_equal(hs_send_raw(c, "PING 1\r\n", 8), 0);
	HS_ASSERT_LINE(c, "OK PING 1");
	assert_false(hs_line_had_cr(c));
	assert_int_equal(hs_send_raw(c, "\r\nPING 2\n\n", 10), 0);
	HS_ASSERT_LINE(c, "OK PING 2");
	/* CRLF on a keyword alone. */
	assert_int_equal(hs_send_raw(c, "PING\r\n", 6), 0);
	HS_ASSERT_LINE(c, "OK PING");
	assert_false(hs_line_had_cr(c));
	/* Nothing was answered for the empty lines. */
	assert_int_equal(hs_sync(c), 0);
	/* CRLF after LOGIN: the password does not keep the CR. */
	assert_int_equal(hs_send_raw(c, "LOGIN alice " ALICE_PW "\r\n",
	    strlen("LOGIN alice " ALICE_PW "\r\n")), 0);
	HS_ASSERT_LINE(c, "OK LOGIN alice");
	hs_close(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_greeting),
		cmocka_unit_test(t_tls_versions),
		cmocka_unit_test(t_tls_min_version_13),
		cmocka_unit_test(t_alpn),
		cmocka_unit_test(t_ping),
		cmocka_unit_test(t_help),
		cmocka_unit_test(t_quit),
		cmocka_unit_test(t_not_authenticated),
		cmocka_unit_test(t_unknown_command),
		cmocka_unit_test(t_lowercase),
		cmocka_unit_test(t_pipelined),
		cmocka_unit_test(t_line_too_long_small),
		cmocka_unit_test(t_line_too_long_default),
		cmocka_unit_test(t_bad_utf8),
		cmocka_unit_test(t_empty_lines_crlf),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
