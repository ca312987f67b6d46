/*
 * Client certificates (SPEC §3 "LOGIN <user>", §5 [tls] client_ca, and
 * the keys added under [tls]: crl, client_auth).
 *
 * The server trusts a copy of the test CA (DIR/pki) for client
 * certificates and checks them against the CRL certs/gen-certs.sh keeps
 * there. A verified certificate logs its user in without a password; a
 * revoked one fails the handshake, also when it is revoked while parleyd
 * runs (the CRL file changes, parleyd reloads it by itself); sessions
 * already open are not cut. client_auth = required refuses clients
 * without a certificate. --check-config catches every bad combination.
 */
#include "harness.h"
#include "test_ops_probe.h"

#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ALICE_PW	"alice-Sparrow-Beacon-404"
#define BOB_PW		"bob-Tangerine-Rocket-77"
#define MALLORY_PW	"mallory-Quartz-Harbour-31"

static const char *const optional_conf[] = {
	"tls.client_ca=@DIR/pki/ca.crt",
	"tls.crl=@DIR/pki/ca.crl",
	NULL
};

static const char *const required_conf[] = {
	"tls.client_ca=@DIR/pki/ca.crt",
	"tls.crl=@DIR/pki/ca.crl",
	"tls.client_auth=required",
	NULL
};

/* DIR/x.crt and DIR/x.key of a user's certificate kept outside pki/. */
static void
cert_paths(const struct hs_server *s, const char *user, char *crt,
    char *key)
{
	snprintf(crt, PATH_MAX, "%s/%s.crt", hs_server_dir(s), user);
	snprintf(key, PATH_MAX, "%s/%s.key", hs_server_dir(s), user);
}

/*
 * DIR/pki: the test CA, certificates for alice and mallory (copied to
 * DIR/), mallory revoked; then start and add the users.
 */
static struct hs_server *
start(const char *const *conf)
{
	struct hs_server *s = hs_server_new(conf);
	const char *d;

	if (s == NULL || hs_certdir() == NULL)
		return NULL;
	d = hs_server_dir(s);
	if (op_sh("cd '%s' && mkdir pki && cp '%s/ca.crt' '%s/ca.key' pki/ "
	    "&& '%s' --out pki --client alice --client mallory >/dev/null && "
	    "cp pki/alice.crt pki/alice.key pki/mallory.crt pki/mallory.key . "
	    "&& '%s' --out pki --revoke mallory >/dev/null", d, hs_certdir(),
	    hs_certdir(), GEN_CERTS_PATH, GEN_CERTS_PATH) != 0 ||
	    hs_server_start(s) != 0 ||
	    hs_user_add(s, "alice", ALICE_PW, 0) != 0 ||
	    hs_user_add(s, "bob", BOB_PW, 0) != 0 ||
	    hs_user_add(s, "mallory", MALLORY_PW, 0) != 0) {
		hs_server_free(s);
		return NULL;
	}
	return s;
}

static int
setup_optional(void **state)
{
	return (*state = start(optional_conf)) != NULL ? 0 : -1;
}

static int
setup_required(void **state)
{
	return (*state = start(required_conf)) != NULL ? 0 : -1;
}

static int
teardown(void **state)
{
	int rc = hs_server_finish(*state);

	*state = NULL;
	return rc;
}

/* Send a command and return its final line (OK/ERR), skipping events. */
static const char *
command(struct op_conn *c, const char *line)
{
	const char *l;

	if (op_send(c, line) != 0)
		return NULL;
	while ((l = op_line(c)) != NULL)
		if (strncmp(l, "OK ", 3) == 0 || strncmp(l, "ERR ", 4) == 0)
			return l;
	return NULL;
}

/*
 * Whether a client with this certificate is turned away: the handshake
 * fails, or (TLS 1.3, where the client finishes first) the server's
 * alert arrives instead of the greeting.
 */
static int
refused(int port, const char *crt, const char *key)
{
	struct op_conn *c = op_handshake(port, crt, key);
	int r;

	if (c == NULL)
		return strncmp(op_why, "handshake", 9) == 0;
	r = op_expect(c, "HELLO ") == NULL &&
	    strncmp(op_why, "read", 4) == 0;
	op_close(c);
	return r;
}

/* The command's final line must start with prefix. */
static void
expect_final(struct op_conn *c, const char *line, const char *prefix)
{
	const char *l = command(c, line);

	if (l == NULL || strncmp(l, prefix, strlen(prefix)) != 0)
		fail_msg("%s: got \"%s\", want \"%s...\" (%s)", line,
		    l != NULL ? l : "(nothing)", prefix, op_why);
}

static void
t_cert_login(void **state)
{
	struct hs_server *s = *state;
	char crt[PATH_MAX], key[PATH_MAX];
	struct op_conn *c;

	cert_paths(s, "alice", crt, key);
	c = op_handshake(hs_server_port(s), crt, key);
	if (c == NULL)
		fail_msg("handshake with alice's certificate: %s", op_why);
	assert_non_null(op_expect(c, "HELLO "));
	expect_final(c, "LOGIN alice", "OK LOGIN alice");
	expect_final(c, "WHOAMI", "OK WHOAMI alice user");
	op_close(c);

	/* The certificate names alice, not bob. */
	c = op_handshake(hs_server_port(s), crt, key);
	assert_non_null(c);
	assert_non_null(op_expect(c, "HELLO "));
	expect_final(c, "LOGIN bob", "ERR AUTH_FAILED");
	op_close(c);
}

static void
t_optional_without_cert(void **state)
{
	struct hs_server *s = *state;
	struct op_conn *c;
	char line[256];

	c = op_handshake(hs_server_port(s), NULL, NULL);
	if (c == NULL)
		fail_msg("handshake without a certificate: %s", op_why);
	assert_non_null(op_expect(c, "HELLO "));
	/* No certificate, no password-less login... */
	expect_final(c, "LOGIN alice", "ERR AUTH_FAILED");
	/* ... but passwords work. */
	snprintf(line, sizeof(line), "LOGIN bob %s", BOB_PW);
	expect_final(c, line, "OK LOGIN bob");
	op_close(c);
}

static void
t_revoked_refused(void **state)
{
	struct hs_server *s = *state;
	char crt[PATH_MAX], key[PATH_MAX];
	struct hs_client *m;

	cert_paths(s, "mallory", crt, key);
	assert_true(refused(hs_server_port(s), crt, key));
	/* The handshake failure is logged (the reason, when conn.c adds it). */
	assert_int_equal(op_wait_log(s, "certificate verify failed", 1, 2000),
	    0);
	/* Her password still works without the certificate. */
	m = hs_login_new(s, NULL, "mallory", MALLORY_PW);
	assert_non_null(m);
	hs_close(m);
}

/*
 * Revoking while parleyd runs: the CRL file changes, the next handshake
 * with that certificate is refused; the session it opened goes on.
 */
static void
t_revoke_live(void **state)
{
	struct hs_server *s = *state;
	const char *d = hs_server_dir(s);
	char crt[PATH_MAX], key[PATH_MAX];
	struct op_conn *c;
	int64_t t0, ms;

	cert_paths(s, "alice", crt, key);
	c = op_handshake(hs_server_port(s), crt, key);
	assert_non_null(c);
	assert_non_null(op_expect(c, "HELLO "));
	expect_final(c, "LOGIN alice", "OK LOGIN alice");

	assert_int_equal(op_sh("'%s' --out '%s/pki' --revoke alice >/dev/null",
	    GEN_CERTS_PATH, d), 0);
	t0 = hs_now_ms();
	while (!refused(hs_server_port(s), crt, key)) {
		if (hs_now_ms() - t0 > 5000)
			fail_msg("alice's revoked certificate still accepted "
			    "after 5 s");
		hs_sleep_ms(20);
	}
	ms = hs_now_ms() - t0;
	fprintf(stderr, "ops: revocation effective after %lld ms\n",
	    (long long)ms);
	assert_int_equal(op_wait_log(s, "reload (files changed): certificate",
	    1, 2000), 0);

	expect_final(c, "PING open-session", "OK PING open-session");
	op_close(c);
}

static void
t_required(void **state)
{
	struct hs_server *s = *state;
	char crt[PATH_MAX], key[PATH_MAX];
	struct op_conn *c;

	assert_true(refused(hs_server_port(s), NULL, NULL));
	cert_paths(s, "mallory", crt, key);
	assert_true(refused(hs_server_port(s), crt, key));

	cert_paths(s, "alice", crt, key);
	c = op_handshake(hs_server_port(s), crt, key);
	if (c == NULL)
		fail_msg("handshake with alice's certificate: %s", op_why);
	assert_non_null(op_expect(c, "HELLO "));
	expect_final(c, "LOGIN alice", "OK LOGIN alice");
	op_close(c);
}

/* Write DIR/check.conf from the lines given and run --check-config. */
static int
check_config(const struct hs_server *s, char **out, const char *body)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/check.conf", hs_server_dir(s));
	if ((f = fopen(path, "w")) == NULL)
		return -1;
	fprintf(f, "[tls]\ncertificate = %s/server.crt\n"
	    "private_key = %s/server.key\n%s\n[storage]\ndatabase = "
	    "check.db\n", hs_certdir(), hs_certdir(), body);
	fclose(f);
	return hs_run(NULL, out, 30000, "'%s' -c '%s' --check-config",
	    PARLEYD_PATH, path);
}

static void
want_check(const struct hs_server *s, const char *body, int ok,
    const char *needle)
{
	char *out = NULL;
	int rc = check_config(s, &out, body);

	if ((ok && rc != 0) || (!ok && rc <= 0) ||
	    (needle != NULL && strstr(out, needle) == NULL))
		fail_msg("--check-config with \"%s\": status %d, want %s and "
		    "\"%s\"; output: %s", body, rc, ok ? "0" : "non-zero",
		    needle != NULL ? needle : "", out);
	free(out);
}

static void
t_check_config(void **state)
{
	struct hs_server *s = *state;
	const char *d = hs_server_dir(s);
	char body[PATH_MAX * 3];

	snprintf(body, sizeof(body), "client_ca = %s/pki/ca.crt\n"
	    "crl = %s/pki/ca.crl\nclient_auth = required", d, d);
	want_check(s, body, 1, "required");
	want_check(s, body, 1, "configuration ok");

	snprintf(body, sizeof(body), "crl = %s/pki/ca.crl", d);
	want_check(s, body, 0, "client_ca");
	want_check(s, "client_auth = required", 0, "client_ca");
	snprintf(body, sizeof(body), "client_ca = %s/pki/ca.crt\n"
	    "client_auth = maybe", d);
	want_check(s, body, 0, "expected optional or required");

	/* A CRL that is not one, one of another CA, one out of date. */
	assert_int_equal(op_sh("cd '%s' && echo garbage >bad.crl && "
	    "mkdir other && '%s' --out other >/dev/null && "
	    "printf '[ca]\\ndefault_ca = c\\n[c]\\ndatabase = idx\\n"
	    "crlnumber = num\\ncertificate = pki/ca.crt\\n"
	    "private_key = pki/ca.key\\ndefault_md = sha256\\n' >old.cnf && "
	    ": >idx && echo 01 >num && openssl ca -batch -config old.cnf "
	    "-gencrl -crl_lastupdate 200101000000Z -crl_nextupdate "
	    "200102000000Z -out old.crl 2>/dev/null", d, GEN_CERTS_PATH), 0);
	snprintf(body, sizeof(body), "client_ca = %s/pki/ca.crt\n"
	    "crl = %s/bad.crl", d, d);
	want_check(s, body, 0, "CRL");
	snprintf(body, sizeof(body), "client_ca = %s/pki/ca.crt\n"
	    "crl = %s/other/ca.crl", d, d);
	want_check(s, body, 0, "not signed by a CA in client_ca");
	snprintf(body, sizeof(body), "client_ca = %s/pki/ca.crt\n"
	    "crl = %s/old.crl", d, d);
	want_check(s, body, 0, "out of date");
	snprintf(body, sizeof(body), "client_ca = %s/missing.crt", d);
	want_check(s, body, 0, "No such file");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(t_cert_login, setup_optional,
		    teardown),
		cmocka_unit_test_setup_teardown(t_optional_without_cert,
		    setup_optional, teardown),
		cmocka_unit_test_setup_teardown(t_revoked_refused,
		    setup_optional, teardown),
		cmocka_unit_test_setup_teardown(t_revoke_live, setup_optional,
		    teardown),
		cmocka_unit_test_setup_teardown(t_required, setup_required,
		    teardown),
		cmocka_unit_test_setup_teardown(t_check_config,
		    setup_optional, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
