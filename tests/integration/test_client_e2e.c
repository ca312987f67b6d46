/*
 * End-to-end encrypted direct messages between the real parley client and
 * the envelope code in common/e2e.c (docs/E2E.md), over a real parleyd:
 *
 *  - what `parley send --e2e` puts on the wire is an envelope that
 *    e2e_open() opens with the recipient's secret key (read from the key
 *    file `parley keygen` wrote) and the sender's public key from GETKEY;
 *    the server's HISTORY holds only the envelope;
 *  - an envelope made here with e2e_seal() from the sender's key file is
 *    opened by `parley listen`, and control characters in its plaintext —
 *    which the server cannot refuse inside ciphertext — come out escaped,
 *    in plain and JSON output alike;
 *  - an envelope sealed for another key pair is shown as not decryptable.
 *
 * Each user has a configuration folder of their own under the server's
 * temporary directory.
 */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "e2e.h"

static const char *const users[] = { "alice", "bob", "carol" };

static const char *
password(const char *user)
{
	static char pw[64];

	snprintf(pw, sizeof(pw), "%s-Copper-Lantern-5521", user);
	return pw;
}

static int
setup(void **state)
{
	struct hs_server *s;
	size_t i;

	if (sodium_init() < 0)
		return -1;
	s = hs_server_start_new(NULL);
	if (s == NULL)
		return -1;
	*state = s;
	for (i = 0; i < sizeof(users) / sizeof(users[0]); i++)
		if (hs_user_add(s, users[i], password(users[i]), 0) == -1)
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

/*
 * Run parley as user with args (a shell fragment), the password on stdin
 * and the user's own configuration folder. Output (stdout and stderr,
 * unless args redirect) into *out (may be NULL). Returns the exit status.
 */
static int
parley(struct hs_server *s, const char *user, char **out, const char *args)
{
	char input[80];

	snprintf(input, sizeof(input), "%s\n", password(user));
	return hs_run(input, out, 30000,
	    "HOME='%s' XDG_CONFIG_HOME='%s/cfg-%s' '%s' --host %s --port %d "
	    "--cafile '%s' --user %s --password-stdin %s", hs_server_dir(s),
	    hs_server_dir(s), user, PARLEY_PATH, "localhost",
	    hs_server_port(s), hs_cafile(), user, args);
}

static void
keygen(struct hs_server *s, const char *user)
{
	char *out = NULL;
	int rc = parley(s, user, &out, "keygen");

	if (rc != 0)
		fail_msg("parley keygen as %s: exit %d: %s", user, rc,
		    out != NULL ? out : "");
	free(out);
}

/* The secret key from the key file keygen wrote. */
static void
secret_key(struct hs_server *s, const char *user, uint8_t sk[E2E_KEY_BYTES])
{
	char path[4096], line[256];
	size_t n = 0;
	FILE *f;
	bool found = false;

	snprintf(path, sizeof(path),
	    "%s/cfg-%s/parley/keys/%s@localhost:%d.key", hs_server_dir(s),
	    user, user, hs_server_port(s));
	f = fopen(path, "r");
	if (f == NULL)
		fail_msg("cannot open %s", path);
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if (strncmp(line, "secret ", 7) == 0 &&
		    sodium_base642bin(sk, E2E_KEY_BYTES, line + 7,
		    strlen(line + 7), NULL, &n, NULL,
		    sodium_base64_VARIANT_ORIGINAL) == 0 && n == E2E_KEY_BYTES)
			found = true;
	}
	sodium_memzero(line, sizeof(line));
	fclose(f);
	if (!found)
		fail_msg("no secret key in %s", path);
}

/* A user's public key as the server gives it (GETKEY). */
static void
public_key(struct hs_client *c, const char *user, uint8_t pk[E2E_KEY_BYTES])
{
	struct hs_reply r;
	char want[64];
	const char *b64;
	size_t n = 0;

	if (hs_command(c, &r, "GETKEY %s", user) != 0)
		fail_msg("GETKEY %s: no answer", user);
	snprintf(want, sizeof(want), "OK GETKEY %s ", user);
	if (strncmp(r.final, want, strlen(want)) != 0)
		fail_msg("GETKEY %s: got \"%s\"", user, r.final);
	b64 = r.final + strlen(want);
	if (sodium_base642bin(pk, E2E_KEY_BYTES, b64, strlen(b64), NULL, &n,
	    NULL, sodium_base64_VARIANT_ORIGINAL) != 0 || n != E2E_KEY_BYTES)
		fail_msg("GETKEY %s: bad key \"%s\"", user, b64);
	hs_reply_free(&r);
}

/* parley send --e2e → the envelope opens with common/e2e.c. */
static void
test_client_envelope_opens(void **state)
{
	struct hs_server *s = *state;
	static const char text[] = "interop ✓ \"quoted\" and \\ too";
	uint8_t bob_sk[E2E_KEY_BYTES], alice_pk[E2E_KEY_BYTES];
	struct hs_client *bob, *alice;
	struct hs_reply r;
	struct hs_msg m;
	char plain[256], *out = NULL;
	const char *why, *l;
	size_t n = 0;
	int rc;

	keygen(s, "alice");
	keygen(s, "bob");
	rc = parley(s, "alice", &out, "send --e2e bob "
	    "'interop ✓ \"quoted\" and \\ too'");
	if (rc != 0)
		fail_msg("parley send --e2e: exit %d: %s", rc, out);
	free(out);

	/* bob was offline: the envelope is pushed at his login. */
	bob = hs_login_new(s, NULL, "bob", password("bob"));
	assert_non_null(bob);
	l = HS_ASSERT_PREFIX(bob, "MSG ");
	assert_int_equal(hs_parse_msg(l, &m), 0);
	assert_string_equal(m.from, "alice");
	assert_true(e2e_is_envelope(m.text, strlen(m.text)));
	assert_null(strstr(m.text, "interop"));

	secret_key(s, "bob", bob_sk);
	public_key(bob, "alice", alice_pk);
	assert_int_equal(e2e_open(plain, sizeof(plain) - 1, &n, m.text,
	    strlen(m.text), alice_pk, bob_sk, &why), 0);
	plain[n] = '\0';
	assert_string_equal(plain, text);
	sodium_memzero(bob_sk, sizeof(bob_sk));

	/* The server keeps the envelope, never the plaintext. */
	alice = hs_login_new(s, NULL, "alice", password("alice"));
	assert_non_null(alice);
	assert_int_equal(hs_command(alice, &r, "HISTORY bob 1"), 0);
	assert_int_equal(r.ndata, 1);
	assert_non_null(strstr(r.data[0], " alice bob e2e1:"));
	assert_null(strstr(r.data[0], "interop"));
	hs_reply_free(&r);
	hs_msg_free(&m);
	hs_close(alice);
	hs_close(bob);
}

/* Seal text from alice (her key file) to bob and send it as alice. */
static void
send_sealed(struct hs_server *s, const char *text,
    const uint8_t to_pk[E2E_KEY_BYTES])
{
	uint8_t alice_sk[E2E_KEY_BYTES];
	struct hs_client *alice;
	struct hs_reply r;
	char env[1024];

	secret_key(s, "alice", alice_sk);
	assert_true(e2e_seal(env, sizeof(env), text, strlen(text), to_pk,
	    alice_sk) > 0);
	sodium_memzero(alice_sk, sizeof(alice_sk));
	alice = hs_login_new(s, NULL, "alice", password("alice"));
	assert_non_null(alice);
	assert_int_equal(hs_command(alice, &r, "SEND bob %s", env), 0);
	if (strncmp(r.final, "OK SEND ", 8) != 0)
		fail_msg("SEND: got \"%s\"", r.final);
	hs_reply_free(&r);
	hs_close(alice);
}

/* Controls inside ciphertext reach no terminal raw. */
static void
test_hostile_plaintext_escaped(void **state)
{
	struct hs_server *s = *state;
	/* ESC sequences, BEL, a newline with a fake line, C1 CSI, RLO. */
	static const char hostile[] = "a\033]52;c;aGk=\007b\033[31mred\n"
	    "0 2026-01-01T00:00:00.000Z root bob fake \302\233 \342\200\256z";
	uint8_t bob_pk[E2E_KEY_BYTES];
	struct hs_client *c;
	char *out = NULL;
	size_t i;
	int rc;

	keygen(s, "alice");
	keygen(s, "bob");
	c = hs_login_new(s, NULL, "carol", password("carol"));
	assert_non_null(c);
	public_key(c, "bob", bob_pk);
	hs_close(c);
	send_sealed(s, hostile, bob_pk);

	rc = parley(s, "bob", &out, "history alice -n 1 2>/dev/null");
	assert_int_equal(rc, 0);
	assert_non_null(strstr(out, " alice bob [e2e] a\\x1b]52;c;aGk=\\x07b"
	    "\\x1b[31mred\\x0a0 2026"));
	assert_non_null(strstr(out, "\\u{009b} \\u{202e}z"));
	for (i = 0; out[i] != '\0'; i++) {
		unsigned char ch = (unsigned char)out[i];

		if ((ch < 0x20 && ch != '\n' && ch != '\t') || ch == 0x7f)
			fail_msg("raw control 0x%02x in \"%s\"", ch, out);
	}
	/* One line: the newline in the plaintext did not make a second. */
	assert_ptr_equal(strchr(out, '\n'), out + strlen(out) - 1);
	free(out);

	rc = parley(s, "bob", &out, "history alice -n 1 --json 2>/dev/null");
	assert_int_equal(rc, 0);
	assert_non_null(strstr(out, "\"text\":\"a\\u001b]52;c;aGk=\\u0007b"
	    "\\u001b[31mred\\n0 2026"));
	assert_non_null(strstr(out, "\"e2e\":true"));
	assert_null(strchr(out, '\033'));
	free(out);
}

/* Sealed for another key pair: shown, but as not decryptable. */
static void
test_wrong_key_pair(void **state)
{
	struct hs_server *s = *state;
	uint8_t carol_pk[E2E_KEY_BYTES];
	struct hs_client *c;
	char *out = NULL;
	int rc;

	keygen(s, "alice");
	keygen(s, "bob");
	keygen(s, "carol");
	c = hs_login_new(s, NULL, "carol", password("carol"));
	assert_non_null(c);
	public_key(c, "carol", carol_pk);
	hs_close(c);
	/* For carol's key, but sent to bob. */
	send_sealed(s, "meant for carol", carol_pk);

	rc = parley(s, "bob", &out, "listen --count 1 --json 2>/dev/null");
	assert_int_equal(rc, 0);
	assert_non_null(strstr(out, "\"e2e\":true"));
	assert_non_null(strstr(out,
	    "\"e2e_error\":\"forged or not for this key pair\""));
	assert_null(strstr(out, "meant for carol"));
	free(out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_client_envelope_opens,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_plaintext_escaped,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_key_pair, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
