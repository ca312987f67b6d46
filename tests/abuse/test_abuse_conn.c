/*
 * Abuse tests, HARDENING.md "Connections": silent and flooding TCP peers,
 * descriptor exhaustion, a reader that never reads, half-close, resets in
 * the middle of large writes, and bytes that are not TLS at all.
 */
#include "abuse.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Whether fd has been closed by the peer (EOF or reset); reads it dry. */
static int
peer_closed(int fd)
{
	char buf[4096];
	ssize_t r;

	for (;;) {
		r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (r > 0)
			continue;
		if (r == 0)
			return 1;
		return errno == EAGAIN || errno == EINTR ? 0 : 1;
	}
}

/* Wait up to timeout_ms for the peer to close fd; ms taken or -1. */
static int64_t
wait_peer_close(int fd, int timeout_ms)
{
	int64_t t0 = hs_now_ms(), left;
	struct pollfd p;

	for (;;) {
		if (peer_closed(fd))
			return hs_now_ms() - t0;
		left = t0 + timeout_ms - hs_now_ms();
		if (left <= 0)
			return -1;
		p.fd = fd;
		p.events = POLLIN;
		p.revents = 0;
		(void)poll(&p, 1, (int)left);
	}
}

/* ---- 500 TCP connections that never send a ClientHello ------------- */

#define SILENT_CONNS		500
#define SILENT_TIMEOUT_S	10

static void
silent_tcp(void **state)
{
	static const char *const overrides[] = {
		"limits.max_connections_per_ip=1000", NULL
	};
	const char *row = "silent-tcp";
	struct ab_ctx *x;
	struct pollfd *pfd;
	int64_t *t_open, *t_closed, t0, next_login, worst_login = 0;
	int i, open_fds = 0, closed = 0, logins = 0, login_fails = 0;
	int peak_fds = 0;
	double first = 1e9, last = 0;

	assert_int_equal(ab_raise_nofile(4096), 0);
	x = ab_start(row, overrides);
	*state = x;
	assert_non_null(x);
	pfd = calloc(SILENT_CONNS, sizeof(*pfd));
	t_open = calloc(SILENT_CONNS, sizeof(*t_open));
	t_closed = calloc(SILENT_CONNS, sizeof(*t_closed));
	assert_true(pfd != NULL && t_open != NULL && t_closed != NULL);

	for (i = 0; i < SILENT_CONNS; i++) {
		pfd[i].fd = ab_tcp(x->s, AB_ATTACKER, 2000);
		pfd[i].events = POLLIN;
		t_open[i] = hs_now_ms();
		open_fds += pfd[i].fd >= 0;
	}
	ab_note(row, "%d of %d connections open in %lld ms", open_fds,
	    SILENT_CONNS, (long long)(hs_now_ms() - t_open[0]));
	t0 = hs_now_ms();
	next_login = t0;
	while (closed < open_fds &&
	    hs_now_ms() - t0 < (SILENT_TIMEOUT_S + 5) * 1000) {
		int n, fds;

		/* The victim logs in afresh every 500 ms throughout. */
		if (hs_now_ms() >= next_login) {
			struct hs_client_opts o;
			struct hs_client *v;
			int64_t l0 = hs_now_ms();

			memset(&o, 0, sizeof(o));
			o.src = AB_VICTIM;
			v = hs_login_new(x->s, &o, AB_VICTIM_USER,
			    AB_VICTIM_PW);
			if (v == NULL)
				login_fails++;
			else if (hs_now_ms() - l0 > worst_login)
				worst_login = hs_now_ms() - l0;
			logins++;
			hs_close(v);
			next_login += 500;
		}
		fds = ab_fd_count(x->pid);
		if (fds > peak_fds)
			peak_fds = fds;
		n = poll(pfd, SILENT_CONNS, 20);
		if (n <= 0)
			continue;
		for (i = 0; i < SILENT_CONNS; i++) {
			if (pfd[i].fd < 0 || pfd[i].revents == 0)
				continue;
			if (peer_closed(pfd[i].fd)) {
				double s;

				t_closed[i] = hs_now_ms();
				s = (double)(t_closed[i] - t_open[i]) / 1000.0;
				if (s < first)
					first = s;
				if (s > last)
					last = s;
				close(pfd[i].fd);
				pfd[i].fd = -1;
				closed++;
			}
		}
	}
	for (i = 0; i < SILENT_CONNS; i++)
		if (pfd[i].fd >= 0)
			close(pfd[i].fd);

	ab_figure(AB_EXACT, closed == SILENT_CONNS, row, "closed",
	    "all 500", "%d of %d", closed, SILENT_CONNS);
	ab_figure(AB_PERF, closed > 0 && first >= SILENT_TIMEOUT_S - 1 &&
	    last <= SILENT_TIMEOUT_S + 1, row, "closed-at-s", "10 +- 1",
	    "%.2f .. %.2f", closed > 0 ? first : -1.0,
	    closed > 0 ? last : -1.0);
	ab_figure(AB_PERF, login_fails == 0 && worst_login < 1000, row,
	    "victim-login-max-ms", "< 1000", "%lld (%d logins, %d failed)",
	    (long long)worst_login, logins, login_fails);
	ab_note(row, "server fds peaked at %d (baseline %d)", peak_fds,
	    x->base_fds);
	free(pfd);
	free(t_open);
	free(t_closed);
	ab_verdict();
}

/* ---- 5,000 connects in 10 s from one address ----------------------- */

#define FLOOD_CONNS	5000
#define FLOOD_MS	10000
#define FLOOD_PER_IP	100
#define FLOOD_TOTAL	250
#define FLOOD_SAMPLES	40

static void
connect_flood(void **state)
{
	static const char *const overrides[] = {
		"limits.max_connections_per_ip=100",
		"limits.max_connections=250",
		NULL
	};
	const char *row = "connect-flood";
	struct ab_ctx *x;
	struct ab_victim_stats vs;
	struct ab_tls *others[2 * FLOOD_PER_IP];
	int *fds, extra[20];
	int64_t t0, worst_excess = 0, idle;
	int i, peak = 0, failed = 0, samples = 0, unclosed = 0, nothers = 0;
	int per_ip_refused = 0;
	size_t log0, refusals;

	assert_int_equal(ab_raise_nofile(FLOOD_CONNS + 1024), 0);
	x = ab_start(row, overrides);
	*state = x;
	assert_non_null(x);
	fds = calloc(FLOOD_CONNS, sizeof(*fds));
	assert_non_null(fds);
	assert_int_equal(ab_victim_start(x->s), 0);

	/*
	 * Two other addresses fill their per-address cap with sessions
	 * (logged in, so the cap on connections not logged in yet does not
	 * apply): 1 + 100 + 100 of the 250. One more from either is refused.
	 */
	for (i = 0; i < 2 * FLOOD_PER_IP; i++) {
		others[i] = ab_tls_login(x->s, i < FLOOD_PER_IP ? "127.0.0.3" :
		    "127.0.0.4", AB_ATTACKER_USER, AB_ATTACKER_PW);
		nothers += others[i] != NULL;
	}
	for (i = 0; i < 20; i++) {
		extra[i] = ab_tcp(x->s, "127.0.0.3", 2000);
		per_ip_refused += extra[i] >= 0 &&
		    wait_peer_close(extra[i], 300) >= 0;
	}
	log0 = ab_log_size(x->s);
	t0 = hs_now_ms();
	for (i = 0; i < FLOOD_CONNS; i++) {
		int64_t due = t0 + (int64_t)i * FLOOD_MS / FLOOD_CONNS;
		int n;

		while (hs_now_ms() < due)
			hs_sleep_ms(1);
		fds[i] = ab_tcp(x->s, AB_ATTACKER, 2000);
		if (fds[i] < 0) {
			failed++;
			continue;
		}
		if (i % 20 == 0 && (n = ab_fd_count(x->pid)) > peak)
			peak = n;
		/* Some of the excess: closed at once? */
		if (i >= 2 * FLOOD_PER_IP && i % 100 == 0 &&
		    samples < FLOOD_SAMPLES) {
			int64_t ms = wait_peer_close(fds[i], 300);

			samples++;
			if (ms < 0)
				unclosed++;
			else if (ms > worst_excess)
				worst_excess = ms;
		}
	}
	ab_note(row, "%d sessions from 127.0.0.3/.4; %d connects in %lld ms "
	    "(%d failed at the client)", nothers, FLOOD_CONNS,
	    (long long)(hs_now_ms() - t0), failed);
	if ((i = ab_fd_count(x->pid)) > peak)
		peak = i;
	for (i = 0; i < FLOOD_CONNS; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	for (i = 0; i < 20; i++)
		if (extra[i] >= 0)
			close(extra[i]);
	for (i = 0; i < 2 * FLOOD_PER_IP; i++)
		ab_tls_free(others[i], 1);
	idle = ab_wait_cpu_idle(x->pid, 5.0, 200, 10000);
	ab_victim_stop(&vs);
	refusals = ab_log_count(x->s, log0, "connection limit");

	ab_figure(AB_EXACT, peak - x->base_fds <= FLOOD_TOTAL + 16, row,
	    "fds-peak-over-baseline", "<= cap + 16 (cap 250)",
	    "%d (peak %d, baseline %d)", peak - x->base_fds, peak,
	    x->base_fds);
	ab_figure(AB_EXACT, nothers == 2 * FLOOD_PER_IP && per_ip_refused == 20,
	    row, "per-address-cap", "the 101st from one address closed",
	    "%d sessions held, %d of 20 more closed at once", nothers,
	    per_ip_refused);
	ab_figure(AB_PERF, unclosed == 0 && worst_excess < 100, row,
	    "excess-closed-ms", "< 100 (at once)",
	    "%lld (worst of %d sampled, %d not closed in 300 ms)",
	    (long long)worst_excess, samples, unclosed);
	ab_figure(AB_PERF, idle >= 0 && idle < 2000, row, "cpu-idle-after-ms",
	    "< 2000", "%lld", (long long)idle);
	ab_note(row, "victim p99 %.1f ms (%zu pings, %zu unanswered); %zu "
	    "\"connection limit\" log lines", vs.p99_ms, vs.n, vs.fails,
	    refusals);
	free(fds);
	ab_verdict();
}

/* ---- descriptor exhaustion ----------------------------------------- */

#define FDX_LIMIT	128
#define FDX_CONNS	200
#define FDX_SATURATED_MS 3000

static void
fd_exhaustion(void **state)
{
	static const char *const overrides[] = {
		"limits.max_connections_per_ip=1000",
		"limits.handshake_timeout=60",
		NULL
	};
	const char *row = "fd-exhaustion";
	struct ab_ctx *x;
	struct ab_victim_stats vs;
	struct hs_client_opts o;
	struct hs_client *v;
	int fds[FDX_CONNS], extra[200];
	int64_t t0, c0, t1, c1, tr;
	int i, n = 0, nextra = 0, rc, peak = 0, accepted_after = 0;
	size_t log0, lines;
	double cpu_pct;
	char *out = NULL;

	assert_int_equal(ab_raise_nofile(4096), 0);
	x = ab_start(row, overrides);
	*state = x;
	assert_non_null(x);
	assert_int_equal(ab_victim_start(x->s), 0);
	rc = hs_run(NULL, &out, 5000, "prlimit --pid %ld --nofile=%d:%d",
	    (long)x->pid, FDX_LIMIT, FDX_LIMIT);
	free(out);
	assert_int_equal(rc, 0);

	for (i = 0; i < FDX_CONNS; i++) {
		fds[i] = ab_tcp(x->s, AB_ATTACKER, 1000);
		n += fds[i] >= 0;
	}
	hs_sleep_ms(300);
	peak = ab_fd_count(x->pid);
	ab_note(row, "%d attacker connections; server at %d fds (limit %d)",
	    n, peak, FDX_LIMIT);

	/* Saturated: keep knocking while measuring CPU and the log. */
	log0 = ab_log_size(x->s);
	t0 = hs_now_ms();
	c0 = ab_cpu_ns(x->pid);
	while (hs_now_ms() - t0 < FDX_SATURATED_MS) {
		int fd = ab_tcp(x->s, AB_ATTACKER, 200);

		if (fd >= 0 && nextra < (int)(sizeof(extra) / sizeof(extra[0])))
			extra[nextra++] = fd;
		else if (fd >= 0)
			close(fd);
		hs_sleep_ms(20);
	}
	t1 = hs_now_ms();
	c1 = ab_cpu_ns(x->pid);
	cpu_pct = (double)(c1 - c0) / 1e6 * 100.0 / (double)(t1 - t0);
	lines = ab_log_count(x->s, log0, "\n");

	/* Release, then time until the server accepts and serves again. */
	for (i = 0; i < FDX_CONNS; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	for (i = 0; i < nextra; i++)
		close(extra[i]);
	tr = hs_now_ms();
	memset(&o, 0, sizeof(o));
	o.src = AB_VICTIM;
	o.timeout_ms = 500;
	v = NULL;
	while (hs_now_ms() - tr < 5000) {
		v = hs_login_new(x->s, &o, AB_VICTIM_USER, AB_VICTIM_PW);
		if (v != NULL)
			break;
		hs_sleep_ms(20);
	}
	accepted_after = v != NULL ? (int)(hs_now_ms() - tr) : -1;
	hs_close(v);
	ab_victim_stop(&vs);
	rc = hs_run(NULL, &out, 5000, "prlimit --pid %ld --nofile=4096:4096",
	    (long)x->pid);
	free(out);

	ab_figure(AB_PERF, cpu_pct < 50.0, row, "cpu-saturated-pct", "< 50",
	    "%.1f (over %lld ms)", cpu_pct, (long long)(t1 - t0));
	ab_figure(AB_EXACT, lines <= (size_t)FDX_SATURATED_MS / 1000 + 2, row,
	    "log-lines-saturated", "rate-limited (<= 1/s)",
	    "%zu in %lld ms", lines, (long long)(t1 - t0));
	ab_figure(AB_PERF, accepted_after >= 0 && accepted_after < 1000, row,
	    "serves-again-ms", "< 1000", "%d", accepted_after);
	ab_note(row, "victim p99 %.1f ms (%zu pings, %zu unanswered)",
	    vs.p99_ms, vs.n, vs.fails);
	ab_verdict();
}

/* ---- a reader that never reads ------------------------------------- */

#define SLOW_MSGS	10000
#define SLOW_SENDERS	4
#define SLOW_TEXT	1024
#define SLOW_WINDOW	16
#define SLOW_WARMUP_ROUNDS 4

struct sender {
	struct ab_tls	*t;
	int		 next;		/* next message number to send */
	int		 end;		/* one past the last */
	int		 inflight;
	int		 acked;
	int		 errors;
};

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* SYNC from 0 until the end; the ids seen go into *ids (malloc'd). */
static int
sync_all(struct hs_client *c, uint64_t **ids, size_t *nids)
{
	uint64_t since = 0, *v = NULL;
	size_t n = 0, cap = 0, i;
	struct hs_reply r;
	int pages;

	for (pages = 0; pages < 1000; pages++) {
		unsigned long long cnt, last;

		if (hs_command(c, &r, "SYNC %llu 500",
		    (unsigned long long)since) != 0 ||
		    sscanf(r.final, "OK SYNC %llu %llu", &cnt, &last) != 2) {
			hs_reply_free(&r);
			free(v);
			return -1;
		}
		for (i = 0; i < r.ndata; i++) {
			struct hs_msg m;

			if (hs_parse_msg(r.data[i], &m) != 0)
				continue;
			if (n == cap) {
				uint64_t *nv;

				cap = cap ? cap * 2 : 1024;
				if ((nv = realloc(v, cap * sizeof(*v))) ==
				    NULL) {
					hs_msg_free(&m);
					hs_reply_free(&r);
					free(v);
					return -1;
				}
				v = nv;
			}
			v[n++] = m.id;
			hs_msg_free(&m);
		}
		hs_reply_free(&r);
		if (cnt == 0)
			break;
		since = last;
	}
	*ids = v;
	*nids = n;
	return 0;
}

/*
 * Send SLOW_MSGS messages of SLOW_TEXT bytes to `to` over the senders,
 * SLOW_WINDOW in flight on each. Acked ids go into acked (may be NULL).
 * Returns the number acked.
 */
static size_t
run_senders(struct sender *snd, const char *to, uint64_t *acked,
    const char *text)
{
	int64_t t0 = hs_now_ms();
	size_t nacked = 0;
	const char *l;
	int s, done;

	do {
		done = 1;
		for (s = 0; s < SLOW_SENDERS; s++) {
			struct sender *d = &snd[s];

			while (d->next < d->end && d->inflight < SLOW_WINDOW) {
				if (ab_tls_send(d->t, "SEND %s %06d %s", to,
				    d->next, text + 7) != 0)
					break;
				d->next++;
				d->inflight++;
			}
			while ((l = ab_tls_line(d->t, d->inflight > 0 ? 1 : 0))
			    != NULL) {
				uint64_t id;

				if (hs_parse_send_id(l, &id) == 0) {
					if (acked != NULL)
						acked[nacked] = id;
					nacked++;
					d->acked++;
				} else if (strncmp(l, "ERR ", 4) == 0) {
					d->errors++;
				} else {
					continue;
				}
				d->inflight--;
			}
			if (d->next < d->end || d->inflight > 0)
				done = 0;
		}
	} while (!done && hs_now_ms() - t0 < 120000);
	return nacked;
}

/* Each sender takes its share of SLOW_MSGS again, from scratch. */
static void
reset_senders(struct sender *snd)
{
	int s;

	for (s = 0; s < SLOW_SENDERS; s++) {
		snd[s].next = s * (SLOW_MSGS / SLOW_SENDERS);
		snd[s].end = (s + 1) * (SLOW_MSGS / SLOW_SENDERS);
		snd[s].acked = snd[s].errors = snd[s].inflight = 0;
	}
}

static void
slow_reader(void **state)
{
	static const char *const overrides[] = {
		"limits.messages_per_second=1000000", NULL
	};
	static const char *const users[] = {
		"rita:rita-Never-Reads-Anything-31",
		"wendy:wendy-Offline-Warmup-Target-77", NULL
	};
	const char *row = "slow-reader";
	struct ab_ctx *x = ab_start_with(row, overrides, users);
	struct sender snd[SLOW_SENDERS];
	struct ab_sampler *sp;
	struct ab_tls *rita;
	struct hs_client *again;
	uint64_t *acked, *seen = NULL;
	size_t nacked = 0, nseen = 0, lost = 0, i, msgs_read = 0;
	int64_t t0;
	long rss0, peak;
	char text[SLOW_TEXT + 1], bye[80] = "";
	const char *l;
	int s, round;

	*state = x;
	assert_non_null(x);
	acked = calloc(SLOW_MSGS, sizeof(*acked));
	assert_non_null(acked);
	memset(text, 'x', SLOW_TEXT);
	text[SLOW_TEXT] = '\0';

	rita = ab_tls_login(x->s, "127.0.0.3", "rita",
	    "rita-Never-Reads-Anything-31");
	assert_non_null(rita);
	memset(snd, 0, sizeof(snd));
	for (s = 0; s < SLOW_SENDERS; s++) {
		snd[s].t = ab_tls_login(x->s, AB_ATTACKER, AB_ATTACKER_USER,
		    AB_ATTACKER_PW);
		assert_non_null(snd[s].t);
	}
	/*
	 * Warm-up: the same traffic to another user (offline), round after
	 * round until a round no longer grows the server, so that SQLite's
	 * page cache (16 MiB cap, more than one round's data) and the
	 * allocator's arenas have reached their working size; what grows
	 * after that is the slow reader's.
	 */
	rss0 = ab_rss_kib(x->pid);
	for (round = 1; round <= SLOW_WARMUP_ROUNDS; round++) {
		long grew;

		reset_senders(snd);
		(void)run_senders(snd, "wendy", NULL, text);
		hs_sleep_ms(300);
		grew = ab_rss_kib(x->pid) - rss0;
		rss0 += grew;
		ab_note(row, "warm-up round %d (10k x 1 KiB to another user): "
		    "VmRSS +%ld KiB", round, grew);
		if (grew < 1024)
			break;
	}
	reset_senders(snd);
	sp = ab_sampler_start(x->pid, 5);
	t0 = hs_now_ms();
	nacked = run_senders(snd, "rita", acked, text);
	ab_note(row, "%zu of %d sends acked in %lld ms", nacked, SLOW_MSGS,
	    (long long)(hs_now_ms() - t0));
	hs_sleep_ms(500);
	peak = ab_sampler_stop(sp);

	/* What rita's socket holds: MSG lines, then the BYE. */
	while ((l = ab_tls_line(rita, 3000)) != NULL) {
		if (strncmp(l, "MSG ", 4) == 0) {
			msgs_read++;
			continue;
		}
		snprintf(bye, sizeof(bye), "%s", l);
		if (strncmp(l, "BYE ", 4) == 0)
			break;
	}
	ab_tls_free(rita, 0);
	for (s = 0; s < SLOW_SENDERS; s++)
		ab_tls_free(snd[s].t, 0);

	/* Reconnect: everything acked is there. */
	again = hs_login_new(x->s, NULL, "rita", "rita-Never-Reads-Anything-31");
	assert_non_null(again);
	assert_int_equal(sync_all(again, &seen, &nseen), 0);
	hs_close(again);
	qsort(seen, nseen, sizeof(*seen), cmp_u64);
	for (i = 0; i < nacked; i++)
		if (bsearch(&acked[i], seen, nseen, sizeof(*seen),
		    cmp_u64) == NULL)
			lost++;

	ab_figure(AB_EXACT, strcmp(bye, "BYE slow consumer") == 0, row,
	    "disconnect", "BYE slow consumer", "\"%s\" after %zu MSG lines",
	    bye, msgs_read);
	ab_figure(AB_PERF, peak - rss0 < 2048, row, "rss-growth-kib", "< 2048",
	    "%ld (baseline %ld KiB)", peak - rss0, rss0);
	ab_figure(AB_EXACT, nacked == SLOW_MSGS, row, "acked", "10000",
	    "%zu", nacked);
	ab_figure(AB_EXACT, lost == 0, row, "lost", "0 (SYNC after reconnect)",
	    "%zu (of %zu acked; SYNC returned %zu)", lost, nacked, nseen);
	free(acked);
	free(seen);
	ab_verdict();
}

/* ---- half-close after a command ------------------------------------ */

#define HALF_CLOSE_ROUNDS 10

static void
half_close(void **state)
{
	const char *row = "half-close";
	struct ab_ctx *x = ab_start(row, NULL);
	int64_t worst = 0;
	int round, kind, replies = 0, total = 0, freed = 0;

	*state = x;
	assert_non_null(x);
	for (round = 0; round < HALF_CLOSE_ROUNDS; round++) {
		for (kind = 0; kind < 3; kind++) {
			struct ab_tls *t;
			const char *l, *want;
			int64_t t0, took;

			total++;
			if (kind == 2)
				t = ab_tls_login(x->s, AB_ATTACKER,
				    AB_ATTACKER_USER, AB_ATTACKER_PW);
			else
				t = ab_tls_hello(x->s, AB_ATTACKER);
			if (t == NULL)
				continue;
			if (kind == 2) {
				want = "OK HISTORY 0";
				(void)ab_tls_send(t, "HISTORY victim 10");
			} else {
				want = "OK PING hc";
				(void)ab_tls_send(t, "PING hc");
			}
			/* kind 1: close_notify first, then FIN. */
			if (kind == 1)
				(void)SSL_shutdown(ab_tls_ssl(t));
			shutdown(ab_tls_fd(t), SHUT_WR);
			t0 = hs_now_ms();
			l = ab_tls_line(t, 2000);
			if (l != NULL && strcmp(l, want) == 0)
				replies++;
			else
				ab_note(row, "kind %d: got \"%s\"", kind,
				    l ? l : "(nothing)");
			/* The server's fd goes once it has answered. */
			while (ab_fd_count(x->pid) > x->base_fds &&
			    hs_now_ms() - t0 < 3000)
				hs_sleep_ms(2);
			took = hs_now_ms() - t0;
			if (ab_fd_count(x->pid) <= x->base_fds)
				freed++;
			if (took > worst)
				worst = took;
			ab_tls_free(t, 0);
		}
	}
	ab_figure(AB_EXACT, replies == total, row, "replies", "all",
	    "%d of %d", replies, total);
	ab_figure(AB_PERF, freed == total && worst < 1000, row,
	    "fd-freed-ms", "< 1000", "%lld (worst; %d of %d freed)",
	    (long long)worst, freed, total);
	ab_verdict();
}

/* ---- RST in the middle of a large write ---------------------------- */

#define RST_TOKEN	8000
#define RST_PINGS	64

static int
server_alive(pid_t pid)
{
	char path[64], buf[256], *p;
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((f = fopen(path, "re")) == NULL)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p != NULL && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
}

static void
rst_storm(void **state)
{
	const char *row = "rst-storm";
	struct ab_ctx *x = ab_start(row, NULL);
	int iterations = AB_COUNT(2000, 10000), i, done = 0, alive = 1;
	size_t len = 0, k;
	struct hs_client *c;
	struct hs_reply r;
	int64_t t0;
	char *burst;

	*state = x;
	assert_non_null(x);
	/* A history large enough that HISTORY is a large write too. */
	c = hs_login_new(x->s, NULL, AB_ATTACKER_USER, AB_ATTACKER_PW);
	assert_non_null(c);
	burst = malloc((size_t)RST_PINGS * (RST_TOKEN + 8));
	assert_non_null(burst);
	memset(burst, 'h', 1000);
	burst[1000] = '\0';
	for (i = 0; i < 200; i++) {
		assert_int_equal(hs_command(c, &r, "SEND victim %d %s", i,
		    burst), 0);
		hs_reply_free(&r);
	}
	hs_close(c);
	for (k = 0; k < RST_PINGS; k++) {
		memcpy(burst + len, "PING ", 5);
		len += 5;
		memset(burst + len, 'a' + (int)(k % 26), RST_TOKEN);
		len += RST_TOKEN;
		burst[len++] = '\n';
	}

	t0 = hs_now_ms();
	for (i = 0; i < iterations && alive; i++) {
		struct ab_tls *t;

		if (i % 10 == 9) {
			/* A store job whose answer finds the peer gone. */
			t = ab_tls_login(x->s, AB_ATTACKER, AB_ATTACKER_USER,
			    AB_ATTACKER_PW);
			if (t != NULL) {
				(void)ab_tls_send(t, "HISTORY victim 500");
				if (i % 20 == 19)
					(void)ab_tls_pump(t, 5);
			}
		} else {
			/* 512 KiB of PING echoes; reset after the first. */
			t = ab_tls_hello(x->s, AB_ATTACKER);
			if (t != NULL) {
				(void)ab_tls_write(t, burst, len, 2000);
				if (i % 2 == 0)
					(void)ab_tls_pump(t, 20);
			}
		}
		if (t != NULL)
			done++;
		ab_tls_free(t, 1);
		if (i % 100 == 99)
			alive = server_alive(x->pid);
	}
	alive = alive && server_alive(x->pid);
	ab_note(row, "%d of %d iterations in %lld ms", done, iterations,
	    (long long)(hs_now_ms() - t0));
	free(burst);
	ab_figure(AB_EXACT, alive && done == iterations, row, "crashes",
	    "0", "%d (server %s, %d of %d iterations ran)", alive ? 0 : 1,
	    alive ? "alive" : "dead", done, iterations);
	ab_verdict();
}

/* ---- plaintext or random bytes on the TLS port --------------------- */

struct junk {
	const char	*name;
	const char	*bytes;
	size_t		 len;
};

#define JK(n, s)	{ n, s, sizeof(s) - 1 }

static void
garbage_bytes(void **state)
{
	static const struct junk junk[] = {
		JK("plain-ping", "PING\r\n"),
		JK("plain-login", "LOGIN victim password-in-clear\n"),
		JK("http", "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"),
		JK("ssh", "SSH-2.0-OpenSSH_9.2p1\r\n"),
		/* SSLv2 CLIENT-HELLO: 46-byte body, 7 cipher specs, 16-byte
		 * challenge. */
		JK("sslv2-hello", "\x80\x2e\x01\x00\x02\x00\x15\x00\x00\x00"
		    "\x10\x07\x00\xc0\x05\x00\x80\x03\x00\x80\x01\x00\x80\x08"
		    "\x00\x80\x06\x00\x40\x04\x00\x80"
		    "0123456789abcdef"),
		JK("record-too-long", "\x16\x03\x01\xff\xff\x01\x00\xff\xfb"),
		JK("alert-record", "\x15\x03\x03\x00\x02\x02\x28"),
		JK("appdata-first", "\x17\x03\x03\x00\x05hello"),
		JK("zeros", "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"),
	};
	const char *row = "garbage-bytes";
	struct ab_ctx *x = ab_start(row, NULL);
	size_t i, worst_lines = 0, n = sizeof(junk) / sizeof(junk[0]);
	int64_t worst_ms = 0;
	int rep, closed = 0, total = 0;
	unsigned char rnd[1024];

	*state = x;
	assert_non_null(x);
	srand(1234);
	for (i = 0; i < sizeof(rnd); i++)
		rnd[i] = (unsigned char)(rand() & 0xff);
	for (rep = 0; rep < 3; rep++) {
		for (i = 0; i <= n; i++) {
			const void *p = i < n ? (const void *)junk[i].bytes :
			    (const void *)rnd;
			size_t len = i < n ? junk[i].len : sizeof(rnd);
			const char *name = i < n ? junk[i].name : "random-1k";
			size_t log0, lines;
			int64_t ms;
			int fd;

			total++;
			log0 = ab_log_size(x->s);
			fd = ab_tcp(x->s, AB_ATTACKER, 2000);
			if (fd < 0)
				continue;
			(void)hs_fd_write(fd, p, len, 1000);
			ms = wait_peer_close(fd, 2000);
			close(fd);
			hs_sleep_ms(50);
			lines = ab_log_count(x->s, log0, "\n");
			if (ms >= 0)
				closed++;
			else
				ab_note(row, "%s: still open after 2 s", name);
			if (ms > worst_ms)
				worst_ms = ms;
			if (lines > worst_lines)
				worst_lines = lines;
			if (rep == 0)
				ab_note(row, "%s: closed in %lld ms, %zu log "
				    "line(s)", name, (long long)ms, lines);
		}
	}
	ab_figure(AB_EXACT, closed == total, row, "closed", "all",
	    "%d of %d", closed, total);
	ab_figure(AB_PERF, closed == total && worst_ms < 100, row, "close-ms",
	    "< 100", "%lld (worst)", (long long)worst_ms);
	ab_figure(AB_EXACT, worst_lines <= 1, row, "log-lines-per-connection",
	    "<= 1", "%zu (worst)", worst_lines);
	ab_verdict();
}

/* ---- connections not logged in yet (not a HARDENING row) ---------- */

#define PREAUTH_MAX	100	/* max_connections / 4 */
#define PREAUTH_TRIES	300

static void
preauth_cap(void **state)
{
	static const char *const overrides[] = {
		"limits.max_connections=400",
		"limits.max_connections_per_ip=1000",
		NULL
	};
	const char *row = "preauth-cap";
	struct ab_ctx *x;
	struct hs_client_opts o;
	struct hs_client *v;
	struct hs_reply r;
	int fds[PREAUTH_TRIES], i, held = 0, alive = 0;
	int64_t worst = 0;

	assert_int_equal(ab_raise_nofile(2048), 0);
	x = ab_start(row, overrides);
	*state = x;
	assert_non_null(x);
	memset(&o, 0, sizeof(o));
	o.src = AB_VICTIM;
	v = hs_login_new(x->s, &o, AB_VICTIM_USER, AB_VICTIM_PW);
	assert_non_null(v);
	for (i = 0; i < PREAUTH_TRIES; i++) {
		fds[i] = ab_tcp(x->s, AB_ATTACKER, 2000);
		/* Past the cap, the server closes at once. */
		if (fds[i] >= 0 && i >= PREAUTH_MAX + 10 && i % 20 == 0) {
			int64_t ms = wait_peer_close(fds[i], 500);

			if (ms < 0 || ms > worst)
				worst = ms < 0 ? 500 : ms;
		}
	}
	hs_sleep_ms(500);
	for (i = 0; i < PREAUTH_TRIES; i++) {
		if (fds[i] < 0)
			continue;
		held += !peer_closed(fds[i]);
	}
	/* A logged-in session does not count and goes on working. */
	if (hs_command(v, &r, "PING still-here") == 0 &&
	    strcmp(r.final, "OK PING still-here") == 0)
		alive = 1;
	hs_reply_free(&r);
	hs_close(v);
	for (i = 0; i < PREAUTH_TRIES; i++)
		if (fds[i] >= 0)
			close(fds[i]);

	ab_figure(AB_EXACT, held <= PREAUTH_MAX, row, "held-not-logged-in",
	    "<= max_connections / 4 (100)", "%d of %d", held, PREAUTH_TRIES);
	ab_figure(AB_PERF, worst < 100, row, "excess-closed-ms", "< 100",
	    "%lld (worst sampled)", (long long)worst);
	ab_figure(AB_EXACT, alive, row, "session-unaffected",
	    "a logged-in session answers", "%s", alive ? "yes" : "no");
	ab_verdict();
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test_teardown(preauth_cap, ab_teardown),
	cmocka_unit_test_teardown(silent_tcp, ab_teardown),
	cmocka_unit_test_teardown(connect_flood, ab_teardown),
	cmocka_unit_test_teardown(fd_exhaustion, ab_teardown),
	cmocka_unit_test_teardown(slow_reader, ab_teardown),
	cmocka_unit_test_teardown(half_close, ab_teardown),
	cmocka_unit_test_teardown(rst_storm, ab_teardown),
	cmocka_unit_test_teardown(garbage_bytes, ab_teardown),
};

AB_MAIN("abuse-conn", tests)
