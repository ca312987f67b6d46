/*
 * Abuse tests, HARDENING.md "TLS": renegotiation, a KeyUpdate flood,
 * SIGHUP with bad and good certificates, and the memory cost of many idle
 * authenticated connections. (The testssl/sslscan scan is the shell test
 * tests/shell/test_abuse_tls_scan.sh.)
 */
#include "abuse.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/err.h>

/* Whether the socket has seen EOF or a reset (nothing is consumed). */
static int
peer_gone(int fd)
{
	char b;
	ssize_t r = recv(fd, &b, 1, MSG_DONTWAIT | MSG_PEEK);

	return r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR);
}

/* ---- TLS 1.2 renegotiation ----------------------------------------- */

#define RENEG_TRIES	20

/*
 * Ask for a renegotiation and drive it for up to timeout_ms. Returns 1 if
 * it completed (the server agreed), 0 if it was refused: an alert, a
 * close, or the server simply went on without it.
 */
static int
try_renegotiate(struct ab_tls *t, int timeout_ms)
{
	SSL *ssl = ab_tls_ssl(t);
	int64_t end = hs_now_ms() + timeout_ms;
	int r, e;

	ERR_clear_error();
	if (SSL_renegotiate(ssl) != 1)
		return 0;
	while (hs_now_ms() < end) {
		struct pollfd p = { ab_tls_fd(t), POLLIN, 0 };

		ERR_clear_error();
		r = SSL_do_handshake(ssl);
		if (r == 1)
			return SSL_renegotiate_pending(ssl) ? 0 : 1;
		e = SSL_get_error(ssl, r);
		if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
			return 0;
		(void)poll(&p, 1, 50);
	}
	ERR_clear_error();
	return 0;
}

static void
renegotiation(void **state)
{
	const char *row = "renegotiation";
	struct ab_ctx *x = ab_start(row, NULL);
	struct ab_tls_opts o;
	int i, refused = 0, tries = 0, closed = 0;

	*state = x;
	assert_non_null(x);
	memset(&o, 0, sizeof(o));
	o.src = AB_ATTACKER;
	o.max_version = TLS1_2_VERSION;
	for (i = 0; i < RENEG_TRIES; i++) {
		struct ab_tls *t = ab_tls_connect(x->s, &o);
		const char *l;

		if (t == NULL) {
			ab_note(row, "connect: %s", ab_tls_error());
			continue;
		}
		tries++;
		l = ab_tls_line(t, 2000);
		if (l == NULL || strncmp(l, "HELLO ", 6) != 0)
			ab_note(row, "no greeting over TLS 1.2");
		if (!try_renegotiate(t, 1000))
			refused++;
		else
			ab_note(row, "try %d: the renegotiation completed", i);
		if (ab_tls_pump(t, 0) < 0 || ab_tls_closed(t))
			closed++;
		ab_tls_free(t, 1);
	}
	ab_figure(AB_EXACT, tries == RENEG_TRIES && refused == tries, row,
	    "refused", "100 %", "%.0f %% (%d of %d; %d connections closed "
	    "by the server)", tries ? 100.0 * refused / tries : 0.0, refused,
	    tries, closed);
	ab_verdict();
}

/* ---- TLS 1.3 KeyUpdate flood --------------------------------------- */

/*
 * Send one KeyUpdate (update_requested) with no application data. The
 * server owes its own KeyUpdate only before its next application data
 * (RFC 8446 4.6.3), so nothing comes back. Returns 0 or -1.
 */
static int
key_update_send(struct ab_tls *t)
{
	SSL *ssl = ab_tls_ssl(t);
	int r, e;

	ERR_clear_error();
	if (SSL_key_update(ssl, SSL_KEY_UPDATE_REQUESTED) != 1)
		return -1;
	ERR_clear_error();
	r = SSL_do_handshake(ssl);
	if (r == 1)
		return 0;
	e = SSL_get_error(ssl, r);
	return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE ? 0 : -1;
}

/* Wait up to wait_ms for the server to close; 1 when it has. */
static int
closed_by_server(struct ab_tls *t, int wait_ms)
{
	struct pollfd p = { ab_tls_fd(t), POLLIN, 0 };

	if (poll(&p, 1, wait_ms) <= 0)
		return 0;
	/* Whatever came (a BYE, an alert, EOF): drain it. */
	while (ab_tls_pump(t, 0) == 1)
		;
	return ab_tls_closed(t) || peer_gone(ab_tls_fd(t));
}

static void
keyupdate_flood(void **state)
{
	const char *row = "keyupdate-flood";
	struct ab_ctx *x = ab_start(row, NULL);
	struct ab_victim_stats vs;
	struct ab_sampler *sp;
	struct ab_tls *t = NULL;
	int attempts = ab_sanitized ? 2000 : 10000, sent = 0, conns = 0;
	int closed = 0, max_per_conn = 0, min_per_conn = INT_MAX, cur = 0;
	int kept = 0, i, lock_max = 0, lock_min = INT_MAX;
	int burst_n = 0, burst_closed = 0;
	double burst_cpu_ms = 0;
	long rss0, peak;
	int64_t t0;

	*state = x;
	assert_non_null(x);

	/*
	 * The threshold, in lockstep: one KeyUpdate, then 5 ms for the server
	 * to act, on a few connections.
	 */
	for (i = 0; i < 3; i++) {
		t = ab_tls_hello(x->s, AB_ATTACKER);
		assert_non_null(t);
		for (cur = 0; cur < 1000; cur++) {
			if (closed_by_server(t, 5) || ab_tls_closed(t))
				break;
			if (key_update_send(t) != 0)
				break;
		}
		if (cur > lock_max)
			lock_max = cur;
		if (cur < lock_min)
			lock_min = cur;
		ab_tls_free(t, 1);
		t = NULL;
	}

	/*
	 * A burst: 2,000 KeyUpdates written back to back without reading,
	 * so that many reach the server in one read. Reported: how many
	 * could be written and how much CPU the server spent on them.
	 */
	t = ab_tls_hello(x->s, AB_ATTACKER);
	assert_non_null(t);
	{
		int64_t c0 = ab_cpu_ns(x->pid), c1;
		int n;

		for (n = 0; n < 2000; n++)
			if (key_update_send(t) != 0)
				break;
		(void)closed_by_server(t, 1000);
		hs_sleep_ms(200);
		c1 = ab_cpu_ns(x->pid);
		burst_cpu_ms = (double)(c1 - c0) / 1e6;
		burst_closed = ab_tls_closed(t) || peer_gone(ab_tls_fd(t));
		burst_n = n;
	}
	ab_tls_free(t, 1);
	t = NULL;

	assert_int_equal(ab_victim_start(x->s), 0);
	hs_sleep_ms(200);
	rss0 = ab_rss_kib(x->pid);
	sp = ab_sampler_start(x->pid, 5);
	t0 = hs_now_ms();
	while (sent < attempts && hs_now_ms() - t0 < 60000) {
		int gone;

		if (t == NULL) {
			t = ab_tls_hello(x->s, AB_ATTACKER);
			if (t == NULL) {
				ab_note(row, "connect: %s", ab_tls_error());
				break;
			}
			conns++;
			cur = 0;
		}
		if (key_update_send(t) == 0) {
			sent++;
			cur++;
		}
		/* Give the server a moment now and then to act on them. */
		gone = closed_by_server(t, cur % 8 == 0 ? 2 : 0);
		if (!gone && !ab_tls_closed(t))
			continue;
		closed++;
		if (cur > max_per_conn)
			max_per_conn = cur;
		if (cur < min_per_conn)
			min_per_conn = cur;
		ab_tls_free(t, 1);
		t = NULL;
	}
	if (t != NULL) {
		if (cur > max_per_conn)
			max_per_conn = cur;
		ab_tls_free(t, 1);
	}
	ab_note(row, "%d KeyUpdates on %d connections in %lld ms", sent, conns,
	    (long long)(hs_now_ms() - t0));
	hs_sleep_ms(200);
	peak = ab_sampler_stop(sp);
	ab_victim_stop(&vs);

	/* KeyUpdates with application data between them are fine. */
	t = ab_tls_login(x->s, AB_ATTACKER, AB_ATTACKER_USER, AB_ATTACKER_PW);
	assert_non_null(t);
	for (i = 0; i < 100; i++) {
		const char *l;

		if (key_update_send(t) != 0 ||
		    ab_tls_send(t, "PING ku%d", i) != 0 ||
		    (l = ab_tls_line(t, 2000)) == NULL ||
		    strncmp(l, "OK PING ku", 10) != 0)
			break;
		kept++;
	}
	ab_tls_free(t, 0);

	ab_figure(AB_EXACT, lock_max <= 64 && lock_min >= 16, row,
	    "keyupdates-before-close", "~32 (16..64) without data, then closed",
	    "%d..%d (one at a time, 3 connections)", lock_min, lock_max);
	/*
	 * The cap holds within one read too: the server stops taking input
	 * past it, instead of working through the whole burst (~2,000: about
	 * 14 ms of CPU) before it looks.
	 */
	ab_figure(AB_PERF, burst_closed && burst_cpu_ms < 5, row,
	    "burst-cpu-ms", "< 5, connection closed",
	    "%.1f for %d KeyUpdates written back to back (%s)", burst_cpu_ms,
	    burst_n, burst_closed ? "closed" : "still open");
	ab_note(row, "flood: %d..%d KeyUpdates sent per connection before the "
	    "close was seen (%d connections closed)", closed > 0 ?
	    min_per_conn : 0, max_per_conn, closed);
	ab_figure(AB_EXACT, kept == 100, row, "with-data-kept-open",
	    "100 KeyUpdates each followed by PING", "%d of 100", kept);
	ab_figure(AB_PERF, peak - rss0 < 1024, row, "rss-growth-kib",
	    "< 1024", "%ld (%d attempts; baseline %ld KiB)", peak - rss0,
	    sent, rss0);
	ab_victim_report(row, &vs);
	ab_verdict();
}

/* ---- certificates for the SIGHUP tests ----------------------------- */

struct certs {
	char	dir[64];	/* the server's certificate and key live here */
	char	crt[PATH_MAX];
	char	key[PATH_MAX];
	char	good_fp[65];
	char	ov_crt[PATH_MAX + 32];
	char	ov_key[PATH_MAX + 32];
	const char *ov[4];
};

static int
certs_init(struct certs *c)
{
	char tmpl[] = "/tmp/parley-abuse-certs.XXXXXX";
	const char *src = hs_certdir();
	int rc;

	if (src == NULL || mkdtemp(tmpl) == NULL)
		return -1;
	snprintf(c->dir, sizeof(c->dir), "%s", tmpl);
	snprintf(c->crt, sizeof(c->crt), "%s/server.crt", c->dir);
	snprintf(c->key, sizeof(c->key), "%s/server.key", c->dir);
	rc = hs_run(NULL, NULL, 10000, "cp '%s/server.crt' '%s/server.key' "
	    "'%s/ca.crt' '%s/ca.key' '%s/'", src, src, src, src, c->dir);
	if (rc != 0 || ab_file_fingerprint(c->crt, c->good_fp) != 0)
		return -1;
	snprintf(c->ov_crt, sizeof(c->ov_crt), "tls.certificate=%s", c->crt);
	snprintf(c->ov_key, sizeof(c->ov_key), "tls.private_key=%s", c->key);
	c->ov[0] = c->ov_crt;
	c->ov[1] = c->ov_key;
	c->ov[2] = NULL;
	return 0;
}

static void
certs_free(struct certs *c)
{
	if (c->dir[0] != '\0' && strncmp(c->dir, "/tmp/parley-abuse-certs.",
	    24) == 0)
		(void)hs_run(NULL, NULL, 10000, "rm -rf '%s'", c->dir);
}

/* Run a shell snippet in the certificate folder; 0 or -1. */
static int
in_certs(const struct certs *c, const char *script)
{
	char *out = NULL;
	int rc = hs_run(NULL, &out, 30000, "cd '%s' && %s", c->dir, script);

	if (rc != 0)
		fprintf(stderr, "abuse: certificate step failed (%d): %s\n%s",
		    rc, script, out != NULL ? out : "");
	free(out);
	return rc == 0 ? 0 : -1;
}

/*
 * The probe: a process that does a fresh, verified handshake every
 * 100 ms and reports, per handshake, 0 (ok, expected fingerprint), 1
 * (handshake or verification failed) or 2 (another certificate).
 */
struct probe {
	pid_t	pid;
	int	data;
	int	ctl;
};

static void
probe_main(const struct hs_server *s, const char *fp, int out, int ctl)
{
	int64_t next = hs_now_ms();

	for (;;) {
		struct pollfd p = { ctl, POLLIN, 0 };
		int64_t left = next - hs_now_ms();
		struct ab_tls_opts o;
		struct ab_tls *t;
		char got[65];
		char v;

		if (poll(&p, 1, left > 0 ? (int)left : 0) != 0)
			return;
		next += 100;
		memset(&o, 0, sizeof(o));
		o.src = AB_VICTIM;
		o.timeout_ms = 2000;
		t = ab_tls_connect(s, &o);
		if (t == NULL)
			v = 1;
		else if (ab_tls_fingerprint(t, got) != 0 ||
		    strcmp(got, fp) != 0)
			v = 2;
		else
			v = 0;
		ab_tls_free(t, 0);
		if (write(out, &v, 1) != 1)
			return;
	}
}

static int
probe_start(struct probe *pr, const struct hs_server *s, const char *fp)
{
	int data[2], ctl[2];

	if (pipe2(data, O_CLOEXEC) == -1 || pipe2(ctl, O_CLOEXEC) == -1)
		return -1;
	fflush(NULL);
	if ((pr->pid = fork()) == -1)
		return -1;
	if (pr->pid == 0) {
		close(data[0]);
		close(ctl[1]);
		fcntl(data[1], F_SETFL, O_NONBLOCK);
		probe_main(s, fp, data[1], ctl[0]);
		_exit(0);
	}
	close(data[1]);
	close(ctl[0]);
	pr->data = data[0];
	pr->ctl = ctl[1];
	return 0;
}

/* Stop the probe; counts of ok, failed and other-certificate results. */
static void
probe_stop(struct probe *pr, int *ok, int *failed, int *other)
{
	char v;
	int st;

	close(pr->ctl);
	waitpid(pr->pid, &st, 0);
	*ok = *failed = *other = 0;
	while (read(pr->data, &v, 1) == 1) {
		if (v == 0)
			(*ok)++;
		else if (v == 1)
			(*failed)++;
		else
			(*other)++;
	}
	close(pr->data);
}

/* A fresh handshake's certificate fingerprint; 0 or -1. */
static int
current_fp(struct ab_ctx *x, char fp[65])
{
	struct ab_tls_opts o;
	struct ab_tls *t;
	int rc;

	memset(&o, 0, sizeof(o));
	o.no_verify = 1;
	if ((t = ab_tls_connect(x->s, &o)) == NULL)
		return -1;
	rc = ab_tls_fingerprint(t, fp);
	ab_tls_free(t, 0);
	return rc;
}

/* ---- SIGHUP with a bad certificate ---------------------------------- */

/* Make the expired certificate (same key, same CA). */
static const char make_expired[] =
    "openssl req -new -key server.key -subj /CN=localhost -out exp.csr "
    "2>/dev/null && "
    "printf '%s\\n' '[ca]' 'default_ca = c' '[c]' 'database = index.txt' "
    "'new_certs_dir = .' 'serial = serial' 'default_md = sha256' "
    "'policy = p' '[p]' 'commonName = supplied' '[ext]' "
    "'subjectAltName = DNS:localhost,IP:127.0.0.1' "
    "'extendedKeyUsage = serverAuth' > ca.cnf && : > index.txt && "
    "echo 01 > serial && openssl ca -batch -config ca.cnf -cert ca.crt "
    "-keyfile ca.key -in exp.csr -out expired.crt -notext "
    "-startdate 20200101000000Z -enddate 20200102000000Z -extensions ext "
    ">/dev/null 2>&1";

struct bad_cert {
	const char	*name;
	const char	*install;	/* shell, in the certificate folder */
};

static void
sighup_bad_cert(void **state)
{
	static const struct bad_cert bad[] = {
		{ "garbage-cert", "head -c 2048 /dev/urandom > new.crt && "
		  "mv new.crt server.crt" },
		{ "empty-cert", ": > new.crt && mv new.crt server.crt" },
		{ "garbage-key", "head -c 512 /dev/urandom > new.key && "
		  "mv new.key server.key" },
		{ "key-mismatch", "openssl genpkey -algorithm EC -pkeyopt "
		  "ec_paramgen_curve:P-256 -out new.key 2>/dev/null && "
		  "mv new.key server.key" },
		{ "expired", "cp expired.crt new.crt && mv new.crt server.crt" },
		{ "missing-cert", "rm -f server.crt" },
		{ "cert-is-a-folder", "rm -f server.crt && mkdir server.crt" },
		/* root reads a mode-000 file: a dangling link instead. */
		{ "unreadable-key", NULL },
	};
	const char *row = "sighup-bad-cert";
	struct certs c;
	struct ab_ctx *x;
	struct probe pr = { 0, -1, -1 };
	size_t i, n = sizeof(bad) / sizeof(bad[0]);
	int kept = 0, logged = 0, ok, failed, other;
	char fp[65];

	memset(&c, 0, sizeof(c));
	assert_int_equal(certs_init(&c), 0);
	assert_int_equal(in_certs(&c, make_expired), 0);
	assert_int_equal(in_certs(&c, "cp server.crt good.crt && "
	    "cp server.key good.key"), 0);
	x = ab_start(row, c.ov);
	*state = x;
	assert_non_null(x);
	assert_int_equal(probe_start(&pr, x->s, c.good_fp), 0);
	hs_sleep_ms(300);

	for (i = 0; i < n; i++) {
		size_t log0 = ab_log_size(x->s), errs;
		int same;

		if (in_certs(&c, bad[i].install != NULL ? bad[i].install :
		    geteuid() == 0 ? "rm -f server.key && "
		    "ln -s /nonexistent/server.key server.key" :
		    "chmod 000 server.key") != 0)
			continue;
		assert_int_equal(hs_server_signal(x->s, SIGHUP), 0);
		hs_sleep_ms(500);
		same = current_fp(x, fp) == 0 && strcmp(fp, c.good_fp) == 0;
		errs = ab_log_count(x->s, log0, "error") +
		    ab_log_count(x->s, log0, "warn");
		kept += same;
		logged += errs > 0;
		ab_note(row, "%s: %s, %s", bad[i].name,
		    same ? "old certificate kept" : "CERTIFICATE CHANGED",
		    errs > 0 ? "error logged" : "NOTHING LOGGED");
		/* Put the good pair back (without a reload) for the next. */
		assert_int_equal(in_certs(&c, "rm -rf server.crt server.key && "
		    "cp good.crt server.crt && cp good.key server.key"), 0);
	}
	hs_sleep_ms(200);
	probe_stop(&pr, &ok, &failed, &other);

	ab_figure(AB_EXACT, kept == (int)n, row, "fingerprint-unchanged",
	    "every bad reload", "%d of %zu", kept, n);
	ab_figure(AB_EXACT, logged == (int)n, row, "error-logged",
	    "every bad reload", "%d of %zu", logged, n);
	ab_figure(AB_EXACT, failed == 0 && other == 0 && ok > 0, row,
	    "probe-failed-handshakes", "0", "%d (of %d; %d with another "
	    "certificate)", failed, ok + failed + other, other);
	certs_free(&c);
	ab_verdict();
}

/* ---- SIGHUP with a good certificate --------------------------------- */

static void
sighup_good_cert(void **state)
{
	const char *row = "sighup-good-cert";
	struct certs c;
	struct ab_ctx *x;
	struct hs_client_opts o;
	struct hs_client *live;
	struct hs_reply r;
	char new_fp[65], fp[65];
	int64_t t0, took = -1;
	int alive = 0;

	memset(&c, 0, sizeof(c));
	assert_int_equal(certs_init(&c), 0);
	/* A second server certificate from the same CA, staged. */
	assert_int_equal(in_certs(&c, "mkdir next && cp ca.crt ca.key next/ "
	    "&& '" GEN_CERTS_PATH "' --out next >/dev/null"), 0);
	{
		char path[PATH_MAX + 16];

		snprintf(path, sizeof(path), "%s/next/server.crt", c.dir);
		assert_int_equal(ab_file_fingerprint(path, new_fp), 0);
	}
	x = ab_start(row, c.ov);
	*state = x;
	assert_non_null(x);
	memset(&o, 0, sizeof(o));
	o.src = AB_VICTIM;
	live = hs_login_new(x->s, &o, AB_VICTIM_USER, AB_VICTIM_PW);
	assert_non_null(live);
	assert_int_equal(current_fp(x, fp), 0);
	assert_string_equal(fp, c.good_fp);

	assert_int_equal(in_certs(&c, "cp next/server.key new.key && "
	    "cp next/server.crt new.crt && mv new.key server.key && "
	    "mv new.crt server.crt"), 0);
	t0 = hs_now_ms();
	assert_int_equal(hs_server_signal(x->s, SIGHUP), 0);
	while (hs_now_ms() - t0 < 3000) {
		if (current_fp(x, fp) == 0 && strcmp(fp, new_fp) == 0) {
			took = hs_now_ms() - t0;
			break;
		}
		hs_sleep_ms(20);
	}
	/* The session from before the reload lives on. */
	if (hs_command(live, &r, "PING still-here") == 0 &&
	    strcmp(r.final, "OK PING still-here") == 0)
		alive = 1;
	hs_reply_free(&r);
	hs_close(live);

	ab_figure(AB_PERF, took >= 0 && took < 1000, row, "new-fingerprint-ms",
	    "< 1000", "%lld", (long long)took);
	ab_figure(AB_EXACT, alive, row, "existing-session", "lives on", "%s",
	    alive ? "yes" : "no");
	certs_free(&c);
	ab_verdict();
}

/* ---- 1,000 idle authenticated connections --------------------------- */

#define IDLE_CONNS	1000
#define IDLE_USERS	10

static void
idle_connections(void **state)
{
	static const char *const overrides[] = {
		"limits.max_connections_per_ip=2000",
		/* Cheap hashes: the logins are set-up, not the subject. */
		"auth.pwhash_mem_kib=64",
		NULL
	};
	static const char *const users[] = {
		"idle0:idle-Password-Zero-0000", "idle1:idle-Password-One-1111",
		"idle2:idle-Password-Two-2222", "idle3:idle-Password-Three-333",
		"idle4:idle-Password-Four-4444", "idle5:idle-Password-Five-5555",
		"idle6:idle-Password-Six-66666", "idle7:idle-Password-Seven-777",
		"idle8:idle-Password-Eight-888", "idle9:idle-Password-Nine-9999",
		NULL
	};
	const char *row = "idle-connections";
	struct ab_ctx *x;
	struct ab_tls **t;
	int i, open = 0, pinged = 0;
	long rss0, rss1;
	int64_t t0;

	assert_int_equal(ab_raise_nofile(IDLE_CONNS + 512), 0);
	x = ab_start_with(row, overrides, users);
	*state = x;
	assert_non_null(x);
	t = calloc(IDLE_CONNS, sizeof(*t));
	assert_non_null(t);
	rss0 = ab_rss_kib(x->pid);
	t0 = hs_now_ms();
	for (i = 0; i < IDLE_CONNS; i++) {
		const char *u = users[i % IDLE_USERS];
		char name[16];

		snprintf(name, sizeof(name), "%.*s", (int)(strchr(u, ':') - u),
		    u);
		t[i] = ab_tls_login(x->s, AB_ATTACKER, name, strchr(u, ':') + 1);
		open += t[i] != NULL;
	}
	for (i = 0; i < IDLE_CONNS; i++) {
		const char *l;

		if (t[i] == NULL || ab_tls_send(t[i], "PING idle") != 0)
			continue;
		while ((l = ab_tls_line(t[i], 2000)) != NULL)
			if (strcmp(l, "OK PING idle") == 0) {
				pinged++;
				break;
			}
	}
	ab_note(row, "%d connections logged in and pinged in %lld ms", open,
	    (long long)(hs_now_ms() - t0));
	hs_sleep_ms(1000);
	rss1 = ab_rss_kib(x->pid);
	for (i = 0; i < IDLE_CONNS; i++)
		ab_tls_free(t[i], 0);
	free(t);

	ab_figure(AB_EXACT, open == IDLE_CONNS && pinged == IDLE_CONNS, row,
	    "connections", "1000 authenticated", "%d open, %d answered", open,
	    pinged);
	ab_figure(AB_PERF, open > 0 && (rss1 - rss0) / open <= 64, row,
	    "rss-per-connection-kib", "<= 64", "%.1f (VmRSS +%ld KiB for %d)",
	    open > 0 ? (double)(rss1 - rss0) / open : 0.0, rss1 - rss0, open);
	ab_verdict();
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test_teardown(renegotiation, ab_teardown),
	cmocka_unit_test_teardown(keyupdate_flood, ab_teardown),
	cmocka_unit_test_teardown(sighup_bad_cert, ab_teardown),
	cmocka_unit_test_teardown(sighup_good_cert, ab_teardown),
	cmocka_unit_test_teardown(idle_connections, ab_teardown),
};

AB_MAIN("abuse-tls", tests)
