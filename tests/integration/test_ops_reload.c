/*
 * Certificate reloads (HARDENING "TLS": SIGHUP with a good and with bad
 * certificates; the operations issue: reload when the files change).
 *
 * Each test runs parleyd with its certificate and key in a folder of its
 * own (DIR/tls, or DIR/live -> DIR/archive laid out like an ACME client's),
 * changes the files, and watches what a fresh handshake sees: the
 * server's SHA-256 fingerprint. A good new pair must be served to new
 * connections within 1 s of SIGHUP, and about 0.5 s (the debounce) after
 * the files change - rewritten in place, or swapped by symlink the way
 * ACME clients and Kubernetes do - while a session opened before goes on. A bad one
 * (garbage, a key that does not match, an expired certificate, a missing,
 * directory or FIFO file) must leave the old certificate serving, with no
 * failed handshake in a probe every 100 ms, and the reason logged.
 */
#include "harness.h"
#include "test_ops_probe.h"

#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ALICE_PW	"alice-Sparrow-Beacon-404"
/* Probes of a bad-certificate round: 1 per 100 ms, past the debounce. */
#define BAD_PROBES	15
#define PROBE_EVERY_MS	100

static const char *const tls_conf[] = {
	"tls.certificate=@DIR/tls/server.crt",
	"tls.private_key=@DIR/tls/server.key",
	NULL
};

static const char *const acme_conf[] = {
	"tls.certificate=@DIR/live/server.crt",
	"tls.private_key=@DIR/live/server.key",
	NULL
};

/*
 * Issue a server certificate and key for localhost, signed by the test
 * CA, into the folder out (created).
 */
static int
issue(const char *out)
{
	const char *ca = hs_certdir();

	if (ca == NULL)
		return -1;
	return op_sh("mkdir -p '%s' && cp '%s/ca.crt' '%s/ca.key' '%s/' && "
	    "'%s' --out '%s' >/dev/null", out, ca, ca, out, GEN_CERTS_PATH,
	    out);
}

/* Replace dst by a copy of src in one rename, as a careful tool would. */
static int
replace(const char *src, const char *dst)
{
	return op_sh("cp '%s' '%s.new' && mv -f '%s.new' '%s'", src, dst, dst,
	    dst);
}

/* A server whose certificate lives in DIR/tls, issued into DIR/pki1. */
static int
setup(void **state)
{
	struct hs_server *s = hs_server_new(tls_conf);
	char path[PATH_MAX];
	const char *d;

	if (s == NULL)
		return -1;
	*state = s;
	d = hs_server_dir(s);
	snprintf(path, sizeof(path), "%s/pki1", d);
	if (issue(path) != 0 || op_sh("cd '%s' && mkdir tls && "
	    "cp pki1/server.crt pki1/server.key tls/", d) != 0)
		return -1;
	if (hs_server_start(s) != 0)
		return -1;
	return hs_user_add(s, "alice", ALICE_PW, 0);
}

static int
teardown(void **state)
{
	int rc = hs_server_finish(*state);

	*state = NULL;
	return rc;
}

/* Probe until the fingerprint differs from old; ms taken, or -1. */
static int64_t
wait_new_fp(struct hs_server *s, const char *old, char fp[96],
    int timeout_ms, int every_ms)
{
	int64_t t0 = hs_now_ms();

	for (;;) {
		if (op_probe(hs_server_port(s), fp) == 0 &&
		    strcmp(fp, old) != 0)
			return hs_now_ms() - t0;
		if (hs_now_ms() - t0 > timeout_ms)
			return -1;
		hs_sleep_ms(every_ms);
	}
}

static void
t_sighup_good(void **state)
{
	struct hs_server *s = *state;
	char fp0[96], fp1[96], want[96], path[PATH_MAX], path2[PATH_MAX];
	struct hs_client *a;
	struct hs_reply r;
	int64_t ms;

	assert_int_equal(op_probe(hs_server_port(s), fp0), 0);
	a = hs_login_new(s, NULL, "alice", ALICE_PW);
	assert_non_null(a);

	snprintf(path, sizeof(path), "%s/pki2", hs_server_dir(s));
	assert_int_equal(issue(path), 0);
	snprintf(path, sizeof(path), "%s/pki2/server.crt", hs_server_dir(s));
	assert_int_equal(op_cert_fp(path, want), 0);
	assert_string_not_equal(want, fp0);
	snprintf(path2, sizeof(path2), "%s/tls/server.key", hs_server_dir(s));
	snprintf(path, sizeof(path), "%s/pki2/server.key", hs_server_dir(s));
	assert_int_equal(replace(path, path2), 0);
	snprintf(path2, sizeof(path2), "%s/tls/server.crt", hs_server_dir(s));
	snprintf(path, sizeof(path), "%s/pki2/server.crt", hs_server_dir(s));
	assert_int_equal(replace(path, path2), 0);

	assert_int_equal(hs_server_signal(s, SIGHUP), 0);
	ms = wait_new_fp(s, fp0, fp1, 1000, 10);
	if (ms < 0)
		fail_msg("no new certificate within 1 s of SIGHUP");
	assert_string_equal(fp1, want);
	fprintf(stderr, "ops: SIGHUP to new fingerprint: %lld ms\n",
	    (long long)ms);
	assert_int_equal(op_wait_log(s, "reload (SIGHUP): certificate", 1,
	    2000), 0);
	assert_int_equal(op_log_count(s, "keeping the current certificate"),
	    0);

	/* The session from before the reload goes on. */
	assert_int_equal(hs_command(a, &r, "PING still-here"), 0);
	assert_string_equal(r.final, "OK PING still-here");
	hs_reply_free(&r);
	hs_close(a);
}

enum bad_kind { BAD_GARBAGE, BAD_MISMATCH, BAD_EXPIRED, BAD_MISSING,
	BAD_DIRECTORY, BAD_FIFO, BAD_MODE000 };

static const struct {
	enum bad_kind kind;
	const char *name;
	const char *reason;             /* in the logged error */
} bads[] = {
	{ BAD_GARBAGE, "garbage certificate", "certificate " },
	{ BAD_MISMATCH, "key of another certificate", "does not match" },
	{ BAD_EXPIRED, "expired certificate", "expired on" },
	{ BAD_MISSING, "missing certificate", "No such file" },
	{ BAD_DIRECTORY, "directory instead of a certificate",
	  "not a regular file" },
	{ BAD_FIFO, "FIFO instead of a key", "not a regular file" },
	{ BAD_MODE000, "unreadable certificate (mode 000)",
	  "Permission denied" },
};

/* Break DIR/tls the given way. */
static int
break_tls(const char *d, enum bad_kind k)
{
	switch (k) {
	case BAD_GARBAGE:
		return op_sh("cd '%s/tls' && printf 'not a certificate\\n' "
		    ">x && mv -f x server.crt", d);
	case BAD_MISMATCH:
		return op_sh("cd '%s' && cp pki2/server.key tls/x && "
		    "mv -f tls/x tls/server.key", d);
	case BAD_EXPIRED:
		/* Same key, so that only the dates are wrong. */
		return op_sh("cd '%s' && openssl req -new -key tls/server.key "
		    "-subj /CN=localhost -out x.csr 2>/dev/null && "
		    "openssl x509 -req -in x.csr -CA pki1/ca.crt -CAkey "
		    "pki1/ca.key -days -1 -out tls/x 2>/dev/null && "
		    "mv -f tls/x tls/server.crt", d);
	case BAD_MISSING:
		return op_sh("rm -f '%s/tls/server.crt'", d);
	case BAD_DIRECTORY:
		return op_sh("cd '%s/tls' && rm -f server.crt && "
		    "mkdir server.crt", d);
	case BAD_FIFO:
		return op_sh("cd '%s/tls' && rm -f server.key && "
		    "mkfifo server.key", d);
	case BAD_MODE000:
		return op_sh("chmod 000 '%s/tls/server.crt'", d);
	}
	return -1;
}

static void
t_sighup_bad(void **state)
{
	struct hs_server *s = *state;
	const char *d = hs_server_dir(s);
	char fp0[96], fp[96], path[PATH_MAX];
	struct hs_client *a;
	struct hs_reply r;
	size_t i;

	assert_int_equal(op_probe(hs_server_port(s), fp0), 0);
	snprintf(path, sizeof(path), "%s/pki2", d);
	assert_int_equal(issue(path), 0);
	a = hs_login_new(s, NULL, "alice", ALICE_PW);
	assert_non_null(a);

	for (i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		int errors0, failed = 0, changed = 0, n;
		char *log, *p;

		if (bads[i].kind == BAD_MODE000 && geteuid() == 0) {
			fprintf(stderr, "ops: skipping \"%s\": root reads "
			    "any file\n", bads[i].name);
			continue;
		}
		errors0 = op_log_count(s, "keeping the current certificate");
		assert_int_equal(break_tls(d, bads[i].kind), 0);
		assert_int_equal(hs_server_signal(s, SIGHUP), 0);
		/* 1.5 s: the SIGHUP and the file watcher's debounce. */
		for (n = 0; n < BAD_PROBES; n++) {
			if (op_probe(hs_server_port(s), fp) != 0)
				failed++;
			else if (strcmp(fp, fp0) != 0)
				changed++;
			hs_sleep_ms(PROBE_EVERY_MS);
		}
		fprintf(stderr, "ops: %s: %d probes, %d failed, %d with "
		    "another certificate\n", bads[i].name, n, failed, changed);
		if (failed != 0 || changed != 0)
			fail_msg("%s: %d failed handshakes, %d changed "
			    "fingerprints (%s)", bads[i].name, failed, changed,
			    op_why);
		if (op_log_count(s, "keeping the current certificate") <=
		    errors0)
			fail_msg("%s: no reload error logged", bads[i].name);
		/* The newest error names the reason. */
		log = hs_server_log(s);
		assert_non_null(log);
		p = strstr(log, "keeping the current certificate");
		while (p != NULL && strstr(p + 1,
		    "keeping the current certificate") != NULL)
			p = strstr(p + 1, "keeping the current certificate");
		assert_non_null(p);
		while (p > log && p[-1] != '\n')
			p--;
		if (strstr(p, bads[i].reason) == NULL)
			fail_msg("%s: expected \"%s\" in the log line: %.300s",
			    bads[i].name, bads[i].reason, p);
		free(log);

		/* Put the good pair back; it loads again. */
		assert_int_equal(op_sh("cd '%s/tls' && chmod -f 644 "
		    "server.crt; rm -rf server.crt server.key && "
		    "cp ../pki1/server.crt ../pki1/server.key .", d), 0);
		errors0 = op_log_count(s, "reload (SIGHUP): certificate");
		assert_int_equal(hs_server_signal(s, SIGHUP), 0);
		assert_int_equal(op_wait_log(s, "reload (SIGHUP): certificate",
		    errors0 + 1, 2000), 0);
		assert_int_equal(op_probe(hs_server_port(s), fp), 0);
		assert_string_equal(fp, fp0);
	}

	/* Through all of it, the old session lived. */
	assert_int_equal(hs_command(a, &r, "PING survived"), 0);
	assert_string_equal(r.final, "OK PING survived");
	hs_reply_free(&r);
	hs_close(a);
}

/*
 * No SIGHUP: an ACME client's renewal (new files in archive/, symlinks in
 * live/ replaced by rename) is picked up by the file watcher alone.
 */
static void
t_file_change_acme(void **state)
{
	struct hs_server *s = hs_server_new(acme_conf);
	char fp0[96], fp1[96], want[96], path[PATH_MAX];
	const char *d;
	struct hs_client *a;
	struct hs_reply r;
	int64_t ms;

	(void)state;
	assert_non_null(s);
	d = hs_server_dir(s);
	snprintf(path, sizeof(path), "%s/pki1", d);
	assert_int_equal(issue(path), 0);
	snprintf(path, sizeof(path), "%s/pki2", d);
	assert_int_equal(issue(path), 0);
	assert_int_equal(op_sh("cd '%s' && mkdir archive live && "
	    "cp pki1/server.crt archive/server1.crt && "
	    "cp pki1/server.key archive/server1.key && "
	    "ln -s ../archive/server1.crt live/server.crt && "
	    "ln -s ../archive/server1.key live/server.key", d), 0);
	assert_int_equal(hs_server_start(s), 0);
	assert_int_equal(hs_user_add(s, "alice", ALICE_PW, 0), 0);
	assert_int_equal(op_probe(hs_server_port(s), fp0), 0);
	a = hs_login_new(s, NULL, "alice", ALICE_PW);
	assert_non_null(a);
	snprintf(path, sizeof(path), "%s/pki2/server.crt", d);
	assert_int_equal(op_cert_fp(path, want), 0);

	/* What certbot does: write archive/N, then swap the symlinks. */
	assert_int_equal(op_sh("cd '%s' && "
	    "cp pki2/server.crt archive/server2.crt && "
	    "cp pki2/server.key archive/server2.key && "
	    "ln -s ../archive/server2.key live/k.new && "
	    "mv -T live/k.new live/server.key && "
	    "ln -s ../archive/server2.crt live/c.new && "
	    "mv -T live/c.new live/server.crt", d), 0);
	ms = wait_new_fp(s, fp0, fp1, 5000, 20);
	if (ms < 0)
		fail_msg("the renewed certificate was not picked up in 5 s");
	assert_string_equal(fp1, want);
	fprintf(stderr, "ops: files changed (symlink swap) to new "
	    "fingerprint: %lld ms\n", (long long)ms);
	assert_true(ms < 2000);
	assert_int_equal(op_wait_log(s, "reload (files changed): certificate",
	    1, 2000), 0);
	assert_int_equal(op_log_count(s, "keeping the current certificate"),
	    0);

	assert_int_equal(hs_command(a, &r, "PING after-renewal"), 0);
	assert_string_equal(r.final, "OK PING after-renewal");
	hs_reply_free(&r);
	hs_close(a);
	assert_int_equal(hs_server_finish(s), 0);
}

/*
 * Files rewritten in place, the key 200 ms after the certificate: the
 * debounce waits for both, so no half-updated pair is ever tried.
 */
static void
t_file_change_in_place(void **state)
{
	struct hs_server *s = *state;
	const char *d = hs_server_dir(s);
	char fp0[96], fp1[96], want[96], path[PATH_MAX];
	int64_t ms;

	assert_int_equal(op_probe(hs_server_port(s), fp0), 0);
	snprintf(path, sizeof(path), "%s/pki2", d);
	assert_int_equal(issue(path), 0);
	snprintf(path, sizeof(path), "%s/pki2/server.crt", d);
	assert_int_equal(op_cert_fp(path, want), 0);

	assert_int_equal(op_sh("cat '%s/pki2/server.crt' >'%s/tls/server.crt'",
	    d, d), 0);
	hs_sleep_ms(200);
	assert_int_equal(op_sh("cat '%s/pki2/server.key' >'%s/tls/server.key'",
	    d, d), 0);
	ms = wait_new_fp(s, fp0, fp1, 5000, 20);
	if (ms < 0)
		fail_msg("the rewritten certificate was not picked up in 5 s");
	assert_string_equal(fp1, want);
	fprintf(stderr, "ops: files changed (in place) to new fingerprint: "
	    "%lld ms after the last write\n", (long long)ms);
	assert_int_equal(op_log_count(s, "keeping the current certificate"),
	    0);
	assert_int_equal(op_log_count(s, "reload (files changed): certificate"),
	    1);
}

/*
 * The layout of a Kubernetes secret volume: the files are symlinks through
 * "..data", itself a symlink to a timestamped folder that an update swaps
 * in one rename.
 */
static const char *const k8s_conf[] = {
	"tls.certificate=@DIR/k8s/server.crt",
	"tls.private_key=@DIR/k8s/server.key",
	NULL
};

static void
t_file_change_k8s(void **state)
{
	struct hs_server *s = hs_server_new(k8s_conf);
	char fp0[96], fp1[96], want[96], path[PATH_MAX];
	const char *d;
	int64_t ms;

	(void)state;
	assert_non_null(s);
	d = hs_server_dir(s);
	snprintf(path, sizeof(path), "%s/pki1", d);
	assert_int_equal(issue(path), 0);
	snprintf(path, sizeof(path), "%s/pki2", d);
	assert_int_equal(issue(path), 0);
	assert_int_equal(op_sh("cd '%s' && mkdir -p k8s/..v1 && "
	    "cp pki1/server.crt pki1/server.key k8s/..v1/ && cd k8s && "
	    "ln -s ..v1 ..data && ln -s ..data/server.crt server.crt && "
	    "ln -s ..data/server.key server.key", d), 0);
	assert_int_equal(hs_server_start(s), 0);
	assert_int_equal(op_probe(hs_server_port(s), fp0), 0);
	snprintf(path, sizeof(path), "%s/pki2/server.crt", d);
	assert_int_equal(op_cert_fp(path, want), 0);

	assert_int_equal(op_sh("cd '%s' && mkdir k8s/..v2 && "
	    "cp pki2/server.crt pki2/server.key k8s/..v2/ && cd k8s && "
	    "ln -s ..v2 ..data_tmp && mv -T ..data_tmp ..data && rm -rf ..v1",
	    d), 0);
	ms = wait_new_fp(s, fp0, fp1, 5000, 20);
	if (ms < 0)
		fail_msg("the swapped secret was not picked up in 5 s");
	assert_string_equal(fp1, want);
	fprintf(stderr, "ops: files changed (..data swap) to new fingerprint: "
	    "%lld ms\n", (long long)ms);
	assert_int_equal(op_log_count(s, "keeping the current certificate"),
	    0);
	assert_int_equal(hs_server_finish(s), 0);
}

/* Other files coming and going in the folder cause no reload. */
static void
t_unrelated_change(void **state)
{
	struct hs_server *s = *state;
	const char *d = hs_server_dir(s);
	int i;

	for (i = 0; i < 5; i++) {
		assert_int_equal(op_sh("cd '%s/tls' && echo %d >notes.txt && "
		    "touch other.pem && rm other.pem", d, i), 0);
		hs_sleep_ms(50);
	}
	hs_sleep_ms(1500);
	assert_int_equal(op_log_count(s, "reload ("), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(t_sighup_good, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(t_sighup_bad, setup, teardown),
		cmocka_unit_test(t_file_change_acme),
		cmocka_unit_test(t_file_change_k8s),
		cmocka_unit_test_setup_teardown(t_file_change_in_place, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(t_unrelated_change, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
