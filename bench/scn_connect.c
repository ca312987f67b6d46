/*
 * scn_connect: a reconnect storm.
 *
 * `storm` connections each connect, handshake, log in and close, over and
 * over. The figure is completed connects per second of server CPU time
 * (all its threads), so a load generator that cannot saturate the server
 * does not flatter or spoil it.
 *
 *   --mode password   LOGIN user password: one argon2 verify each. The
 *                     ideal rate is the server's cores / one verify's time
 *                     (timed here with the server's parameters); the
 *                     report gives the fraction of it reached.
 *   --mode token      RESUME user token, full TLS handshakes.
 *   --mode resume     RESUME user token over resumed TLS sessions (the
 *                     ticket of each connection is offered by the next).
 *
 * Tokens come from TOKEN on a password login first; a server without
 * TOKEN or RESUME (ERR BAD_COMMAND) makes the scenario skip.
 *
 * Meanwhile `pingers` logged-in connections send PING every
 * `ping_interval`; their round-trip percentiles show what the storm does
 * to users already online.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "pwhash.h"

#define TOKEN_MAX 256

enum storm_mode { M_PASSWORD, M_TOKEN, M_RESUME };

struct pinger {
	uint64_t next, t_sent;
	bool outstanding;
};

struct storm {
	const struct bench_opts *o;
	enum storm_mode mode;
	struct net net;
	struct bconn *conns;            /* slots, then pingers */
	struct bconn **ptrs;
	struct pinger *pg;
	unsigned nslots, npingers, ntok;
	char (*tokens)[TOKEN_MAX];
	unsigned tok_done, tok_failed;
	bool measuring, stopping, failed;
	uint64_t t_meas, t_end;
	uint64_t completed, completed_window, resumed_window;
	uint64_t pings_sent, pings_window;
	struct hist conn_lat, ping_lat;
	struct proc_sample pa, pb;
	char names[];
};

/* ---- tokens ---- */

static void
token_line(struct bconn *c, char *line, size_t len)
{
	struct storm *s = c->net->hooks.arg;
	char *tok, *end;

	if (len > 9 && memcmp(line, "OK TOKEN ", 9) == 0) {
		tok = line + 9;
		end = strchr(tok, ' ');
		if (end != NULL)
			*end = '\0';
		if (strlen(tok) >= TOKEN_MAX) {
			snprintf(s->net.last_error, sizeof(s->net.last_error),
			    "token longer than %d bytes", TOKEN_MAX - 1);
			s->tok_failed++;
			return;
		}
		snprintf(s->tokens[c->idx], TOKEN_MAX, "%s", tok);
		s->tok_done++;
	} else if (len >= 4 && memcmp(line, "ERR ", 4) == 0) {
		if (len >= 15 && memcmp(line, "ERR BAD_COMMAND", 15) == 0)
			s->net.auth_unsupported = true;
		snprintf(s->net.last_error, sizeof(s->net.last_error),
		    "TOKEN: %s", line);
		s->tok_failed++;
	}
}

static void
token_closed(struct bconn *c, const char *why)
{
	struct storm *s = c->net->hooks.arg;

	(void)why;
	s->tok_failed++;
}

static bool
tokens_step(void *arg, uint64_t now)
{
	struct storm *s = arg;

	(void)now;
	return s->tok_failed > 0 || s->tok_done >= s->ntok;
}

/* Log ntok connections in with passwords and ask each for a token. */
static int
get_tokens(struct storm *s)
{
	unsigned i;

	if (bench_login_all(&s->net, s->ptrs, s->ntok,
	    s->o->setup_timeout) != 0)
		return -1;
	s->net.hooks.line = token_line;
	s->net.hooks.closed = token_closed;
	s->net.hooks.ready = NULL;
	s->net.hooks.arg = s;
	for (i = 0; i < s->ntok; i++)
		bconn_printf(&s->conns[i], "TOKEN");
	net_run(&s->net, bench_now_ns() + (uint64_t)(s->o->setup_timeout *
	    1e9), tokens_step, s);
	memset(&s->net.hooks, 0, sizeof(s->net.hooks));
	for (i = 0; i < s->ntok; i++)
		bconn_close(&s->conns[i], true);
	if (s->tok_failed > 0)
		return -1;
	if (s->tok_done < s->ntok) {
		snprintf(s->net.last_error, sizeof(s->net.last_error),
		    "timed out waiting for tokens (%u of %u)", s->tok_done,
		    s->ntok);
		return -1;
	}
	return 0;
}

/* ---- the storm ---- */

static void
storm_ready(struct bconn *c)
{
	struct storm *s = c->net->hooks.arg;

	if (c->idx >= s->nslots)
		return;                 /* a pinger */
	s->completed++;
	if (s->measuring) {
		s->completed_window++;
		hist_add(&s->conn_lat, c->t_ready - c->t_open);
		if (c->resumed)
			s->resumed_window++;
	}
	if (s->o->max_count && s->completed >= s->o->max_count)
		s->stopping = true;
	if (c->sess_new != NULL) {
		SSL_SESSION_free(c->sess_offer);
		c->sess_offer = c->sess_new;
		c->sess_new = NULL;
	}
	bconn_close(c, true);
	if (!s->stopping)
		bconn_open(c);
}

static void
storm_line(struct bconn *c, char *line, size_t len)
{
	struct storm *s = c->net->hooks.arg;
	struct pinger *p;
	uint64_t now;

	if (c->idx < s->nslots)
		return;
	p = &s->pg[c->idx - s->nslots];
	if (len >= 7 && memcmp(line, "OK PING", 7) == 0 && p->outstanding) {
		now = bench_now_ns();
		p->outstanding = false;
		if (s->measuring) {
			s->pings_window++;
			hist_add(&s->ping_lat, now - p->t_sent);
		}
	}
}

static void
storm_closed(struct bconn *c, const char *why)
{
	struct storm *s = c->net->hooks.arg;

	(void)why;
	s->failed = true;
}

static bool
storm_step(void *arg, uint64_t now)
{
	struct storm *s = arg;
	uint64_t iv = (uint64_t)(s->o->ping_interval * 1e9);
	unsigned i;

	if (s->failed)
		return true;
	if (!s->measuring && now >= s->t_meas && !s->stopping) {
		s->measuring = true;
		proc_sample(s->o->pid, &s->pa);
		s->pa.wall_ns = now;
	}
	if (now >= s->t_end || (s->stopping && s->measuring)) {
		s->measuring = false;
		proc_sample(s->o->pid, &s->pb);
		s->pb.wall_ns = now;
		return true;
	}
	for (i = 0; i < s->npingers; i++) {
		struct pinger *p = &s->pg[i];

		if (p->outstanding || now < p->next)
			continue;
		p->outstanding = true;
		p->t_sent = now;
		p->next += iv;
		if (p->next < now)
			p->next = now;
		s->pings_sent++;
		bconn_printf(&s->conns[s->nslots + i], "PING p%" PRIu64,
		    s->pings_sent);
	}
	return false;
}

/* Median time of one argon2 verify with the server's parameters, in s. */
static double
verify_time(const struct bench_opts *o)
{
	struct pwhash_params pp = { o->pwhash_ops,
	    (size_t)o->pwhash_mem_kib * 1024 };
	char hash[PWHASH_STR_BYTES];
	double t[5], x;
	size_t len = strlen(o->password);
	int i, j;

	if (pwhash_hash(hash, o->password, len, &pp) != 0)
		return 0;
	for (i = 0; i < 5; i++) {
		uint64_t a = bench_now_ns();

		if (pwhash_verify(hash, o->password, len) != 0)
			return 0;
		t[i] = (double)(bench_now_ns() - a) / 1e9;
	}
	for (i = 1; i < 5; i++)
		for (j = i; j > 0 && t[j - 1] > t[j]; j--) {
			x = t[j];
			t[j] = t[j - 1];
			t[j - 1] = x;
		}
	return t[2];
}

static void
report_storm(struct storm *s, struct report *r)
{
	double win = (double)(s->pb.wall_ns - s->pa.wall_ns) / 1e9;
	double cpu = (double)(s->pb.cpu_ns - s->pa.cpu_ns) / 1e9;

	if (win <= 0)
		return;
	report_f(r, "duration_s", win, 2);
	report_u64(r, "connects", s->completed_window);
	report_f(r, "connects_per_s", (double)s->completed_window / win, 1);
	if (s->pa.ok && s->pb.ok && cpu > 0)
		report_f(r, "connects_per_cpu_s",
		    (double)s->completed_window / cpu, 1);
	report_f(r, "resumed_pct", s->completed_window ? 100.0 *
	    (double)s->resumed_window / (double)s->completed_window : 0, 1);
	report_hist(r, "conn", &s->conn_lat);
	if (s->npingers > 0)
		report_hist(r, "ping", &s->ping_lat);
	report_u64(r, "login_retries", s->net.retries);
	report_proc(r, &s->pa, &s->pb);
}

int
scn_connect(const struct bench_opts *o, struct report *r)
{
	struct storm *s;
	unsigned i, n, nslots, nusers, cores = 1;
	enum storm_mode mode;
	double vt = 0;
	uint64_t now;
	int rc = BENCH_EXIT_FAIL;

	if (strcmp(o->mode, "password") == 0) {
		mode = M_PASSWORD;
	} else if (strcmp(o->mode, "token") == 0) {
		mode = M_TOKEN;
	} else if (strcmp(o->mode, "resume") == 0) {
		mode = M_RESUME;
	} else {
		bench_err("--mode: expected password, token or resume");
		return BENCH_EXIT_USAGE;
	}
	nslots = o->storm ? o->storm : (mode == M_PASSWORD ? 8 : 32);
	n = nslots + o->pingers;
	nusers = o->users;
	s = calloc(1, sizeof(*s) + (size_t)nusers * NAMES_LEN);
	if (s == NULL)
		return BENCH_EXIT_FAIL;
	s->o = o;
	s->mode = mode;
	s->nslots = nslots;
	s->npingers = o->pingers;
	s->ntok = nslots < nusers ? nslots : nusers;
	hist_init(&s->conn_lat);
	hist_init(&s->ping_lat);
	if (net_init(&s->net, o, mode == M_RESUME) != 0) {
		free(s);
		return BENCH_EXIT_FAIL;
	}
	s->conns = calloc(n, sizeof(*s->conns));
	s->ptrs = calloc(n, sizeof(*s->ptrs));
	s->pg = calloc(o->pingers ? o->pingers : 1, sizeof(*s->pg));
	s->tokens = calloc(s->ntok, sizeof(*s->tokens));
	if (s->conns == NULL || s->ptrs == NULL || s->pg == NULL ||
	    s->tokens == NULL)
		goto out;
	for (i = 0; i < nusers; i++)
		bench_user(o, i, s->names + (size_t)i * NAMES_LEN, NAMES_LEN);
	for (i = 0; i < n; i++) {
		unsigned u = (i < nslots ? i : i - nslots) % nusers;

		if (bconn_init(&s->conns[i], &s->net, i) != 0)
			goto out;
		s->conns[i].user = s->names + (size_t)u * NAMES_LEN;
		s->conns[i].secret = o->password;
		s->conns[i].auth = BA_PASSWORD;
		s->conns[i].want_session = mode == M_RESUME && i < nslots;
		s->ptrs[i] = &s->conns[i];
	}
	report_str(r, "mode", "%s", o->mode);
	report_u64(r, "storm", nslots);
	report_u64(r, "pingers", o->pingers);

	if (mode != M_PASSWORD) {
		bench_info(o, "connect: fetching %u tokens", s->ntok);
		if (get_tokens(s) != 0) {
			if (s->net.auth_unsupported) {
				bench_info(o, "connect --mode %s skipped: the "
				    "server has no TOKEN command yet (%s)",
				    o->mode, s->net.last_error);
				report_str(r, "reason", "server answers TOKEN "
				    "with ERR BAD_COMMAND");
				rc = BENCH_EXIT_SKIP;
				goto out;
			}
			bench_err("tokens: %s", s->net.last_error);
			report_str(r, "error", "%s", s->net.last_error);
			goto out;
		}
		for (i = 0; i < nslots; i++) {
			s->conns[i].auth = BA_TOKEN;
			s->conns[i].user = s->conns[i % s->ntok].user;
			s->conns[i].secret = s->tokens[i % s->ntok];
		}
	}
	if (mode == M_PASSWORD) {
		vt = verify_time(o);
		if ((cores = proc_cpus(o->pid)) == 0)
			cores = 1;
		report_u64(r, "pwhash_ops", o->pwhash_ops);
		report_u64(r, "pwhash_mem_kib", o->pwhash_mem_kib);
		report_f(r, "argon2_verify_ms", vt * 1e3, 2);
		report_u64(r, "server_cores", cores);
		if (vt > 0)
			report_f(r, "login_ideal_per_s", cores / vt, 1);
	}
	if (s->npingers > 0) {
		bench_info(o, "connect: logging in %u pingers", s->npingers);
		if (bench_login_all(&s->net, s->ptrs + nslots, s->npingers,
		    o->setup_timeout) != 0) {
			bench_err("pingers: %s", s->net.last_error);
			report_str(r, "error", "%s", s->net.last_error);
			goto out;
		}
	}

	s->net.hooks.ready = storm_ready;
	s->net.hooks.line = storm_line;
	s->net.hooks.closed = storm_closed;
	s->net.hooks.arg = s;
	s->net.poll_ms = 2;
	now = bench_now_ns();
	for (i = 0; i < s->npingers; i++)
		s->pg[i].next = now + (uint64_t)(o->ping_interval * 1e9 * i /
		    s->npingers);
	s->t_meas = now + (uint64_t)(o->warmup * 1e9);
	s->t_end = s->t_meas + (uint64_t)(o->duration * 1e9);
	bench_info(o, "connect: %u connections reconnecting (%s) for %.1f s "
	    "after %.1f s warm-up", nslots, o->mode, o->duration, o->warmup);
	for (i = 0; i < nslots; i++)
		bconn_open(&s->conns[i]);
	net_run(&s->net, s->t_end + BENCH_NS_PER_S, storm_step, s);
	s->stopping = true;

	report_storm(s, r);
	if (s->failed) {
		if (s->net.auth_unsupported) {
			bench_info(o, "connect --mode %s skipped: the server "
			    "has no RESUME command yet (%s)", o->mode,
			    s->net.last_error);
			report_str(r, "reason", "server answers RESUME with "
			    "ERR BAD_COMMAND");
			rc = BENCH_EXIT_SKIP;
			goto out;
		}
		bench_err("a connection failed: %s", s->net.last_error);
		report_str(r, "error", "%s", s->net.last_error);
		goto out;
	}
	if (mode == M_PASSWORD) {
		double win = (double)(s->pb.wall_ns - s->pa.wall_ns) / 1e9;

		if (vt > 0 && win > 0)
			report_f(r, "login_efficiency_pct", 100.0 *
			    ((double)s->completed_window / win) / (cores / vt),
			    1);
	}
	if (s->completed_window == 0) {
		report_str(r, "error", "no connect completed in the window");
		goto out;
	}
	rc = BENCH_EXIT_OK;
out:
	if (s->conns != NULL)
		for (i = 0; i < n; i++)
			bconn_free(&s->conns[i]);
	net_fini(&s->net);
	free(s->conns);
	free(s->ptrs);
	free(s->pg);
	free(s->tokens);
	free(s);
	return rc;
}
