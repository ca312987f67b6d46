/*
 * scn_store: committed messages per second.
 *
 * Through the server (default): `senders` connections, each the only
 * member online of its own room #bench-store-<i>, keep `window` SENDs
 * unacknowledged. Nothing is delivered to anyone, so the figure is what
 * the SEND path and the store's group commit sustain; each OK SEND means
 * committed. Latency is SEND queued to OK SEND received.
 *
 * --direct DB: the store module alone, in this process: batches of
 * `batch` room messages per transaction, as the server's storage thread
 * would group them, with synchronous = normal (or --sync full). This is
 * the ceiling the server's path is compared against.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "store.h"

#define DRAIN_S 5.0

struct sconn {
	uint64_t sent, answered;
	uint64_t *ring;                 /* send times of unanswered SENDs */
};

struct st {
	const struct bench_opts *o;
	struct net net;
	struct bconn *conns;
	struct bconn **ptrs;
	struct sconn *sc;
	unsigned n, window;
	bool measuring, failed;
	uint64_t t_meas, t_end, seq;
	uint64_t acks, acks_window, errs;
	struct hist lat;
	struct proc_sample pa, pb;
	char err_line[200];
	char payload[8200];
	char names[];
};

static void
join_cmd(unsigned i, char *buf, size_t cap, void *arg)
{
	(void)arg;
	snprintf(buf, cap, "JOIN #bench-store-%u", i);
}

static void
send_one(struct st *s, unsigned i, uint64_t now)
{
	struct sconn *c = &s->sc[i];
	size_t len = bench_payload(s->payload, s->o->size, now, ++s->seq);
	char line[8300];
	int n;

	n = snprintf(line, sizeof(line), "SEND #bench-store-%u %.*s\n", i,
	    (int)len, s->payload);
	if (bconn_write(&s->conns[i], line, (size_t)n) == 0) {
		c->ring[c->sent % s->window] = now;
		c->sent++;
	}
}

static void
on_line(struct bconn *b, char *line, size_t len)
{
	struct st *s = b->net->hooks.arg;
	struct sconn *c = &s->sc[b->idx];
	uint64_t now;
	bool ok;

	ok = len >= 8 && memcmp(line, "OK SEND ", 8) == 0;
	if (!ok && !(len >= 4 && memcmp(line, "ERR ", 4) == 0))
		return;
	if (c->answered >= c->sent)
		return;                 /* not ours */
	if (!ok) {
		s->errs++;
		snprintf(s->err_line, sizeof(s->err_line), "%s", line);
	}
	if (ok && s->measuring) {
		now = bench_now_ns();
		s->acks_window++;
		hist_add(&s->lat, now - c->ring[c->answered % s->window]);
	}
	if (ok)
		s->acks++;
	c->answered++;
}

static void
on_closed(struct bconn *c, const char *why)
{
	struct st *s = c->net->hooks.arg;

	(void)why;
	s->failed = true;
}

static bool
step(void *arg, uint64_t now)
{
	struct st *s = arg;
	unsigned i;

	if (s->failed)
		return true;
	if (!s->measuring && now >= s->t_meas && now < s->t_end) {
		s->measuring = true;
		proc_sample(s->o->pid, &s->pa);
		s->pa.wall_ns = now;
	}
	if (now >= s->t_end) {
		s->measuring = false;
		proc_sample(s->o->pid, &s->pb);
		s->pb.wall_ns = now;
		return true;
	}
	for (i = 0; i < s->n; i++)
		while (s->sc[i].sent - s->sc[i].answered < s->window)
			send_one(s, i, now);
	return false;
}

static bool
drained(void *arg, uint64_t now)
{
	struct st *s = arg;
	unsigned i;

	(void)now;
	if (s->failed)
		return true;
	for (i = 0; i < s->n; i++)
		if (s->sc[i].answered < s->sc[i].sent)
			return false;
	return true;
}

static int
store_direct(const struct bench_opts *o, struct report *r)
{
	static const char room[] = "#bench-store";
	static const char user[] = "benchstore";
	char err[512], text[8200];
	struct proc_sample pa, pb;
	struct store *st;
	struct hist lat;
	uint64_t t0, t_meas, t_end, now, seq = 0, done = 0, id;
	bool created, was;
	unsigned i;
	size_t len;
	int rc = BENCH_EXIT_FAIL;

	hist_init(&lat);
	st = store_open(o->direct, STORE_CREATE |
	    (o->sync_full ? STORE_SYNC_FULL : 0), 5000, err, sizeof(err));
	if (st == NULL) {
		bench_err("store: %s", err);
		report_str(r, "error", "%s", err);
		return BENCH_EXIT_FAIL;
	}
	/* A placeholder hash: this account never logs in. */
	if (store_user_add(st, user, "$argon2id$v=19$m=8,t=1,p=1$x$x",
	    STORE_ROLE_USER, 0) == STORE_ERROR ||
	    store_room_join(st, room, user, 0, &created, &was) != STORE_OK) {
		bench_err("store set-up: %s", store_errmsg(st));
		report_str(r, "error", "%s", store_errmsg(st));
		goto out;
	}
	report_str(r, "path", "direct");
	report_str(r, "sync", o->sync_full ? "full" : "normal");
	report_u64(r, "batch", o->batch);
	report_u64(r, "size", o->size);
	t0 = bench_now_ns();
	t_meas = t0 + (uint64_t)(o->warmup * 1e9);
	t_end = t_meas + (uint64_t)(o->duration * 1e9);
	memset(&pa, 0, sizeof(pa));
	/* Bounded by t_end. */
	while ((now = bench_now_ns()) < t_end) {
		bool counted = now >= t_meas;

		if (counted && pa.wall_ns == 0)
			proc_sample(getpid(), &pa);
		if (store_begin(st) != STORE_OK)
			goto fail;
		for (i = 0; i < o->batch; i++) {
			len = bench_payload(text, o->size, now, ++seq);
			if (store_room_append(st, user, room, text, len,
			    (int64_t)(now / BENCH_NS_PER_MS), &id) != STORE_OK)
				goto fail;
		}
		if (store_commit(st) != STORE_OK)
			goto fail;
		if (counted) {
			done += o->batch;
			hist_add(&lat, bench_now_ns() - now);
		}
	}
	proc_sample(getpid(), &pb);
	report_f(r, "duration_s", (double)(pb.wall_ns - pa.wall_ns) / 1e9, 2);
	report_f(r, "msgs_per_s", (double)done /
	    ((double)(pb.wall_ns - pa.wall_ns) / 1e9), 0);
	report_hist(r, "commit", &lat);
	report_u64(r, "committed", done);
	if (pa.ok && pb.ok)
		report_f(r, "bench_cpu_s", (double)(pb.cpu_ns - pa.cpu_ns) / 1e9,
		    3);
	rc = BENCH_EXIT_OK;
	goto out;
fail:
	bench_err("store: %s", store_errmsg(st));
	report_str(r, "error", "%s", store_errmsg(st));
	store_rollback(st);
out:
	store_close(st);
	return rc;
}

int
scn_store(const struct bench_opts *o, struct report *r)
{
	struct st *s;
	unsigned i, n = o->senders ? o->senders : 50;
	double win;
	int rc = BENCH_EXIT_FAIL;

	if (o->direct != NULL)
		return store_direct(o, r);
	if (o->users < n) {
		bench_err("store: %u senders need %u distinct users (--users)",
		    n, n);
		return BENCH_EXIT_USAGE;
	}
	s = calloc(1, sizeof(*s) + (size_t)n * NAMES_LEN);
	if (s == NULL)
		return BENCH_EXIT_FAIL;
	s->o = o;
	s->n = n;
	s->window = o->window ? o->window : 16;
	hist_init(&s->lat);
	if (net_init(&s->net, o, false) != 0) {
		free(s);
		return BENCH_EXIT_FAIL;
	}
	s->conns = calloc(n, sizeof(*s->conns));
	s->ptrs = calloc(n, sizeof(*s->ptrs));
	s->sc = calloc(n, sizeof(*s->sc));
	if (s->conns == NULL || s->ptrs == NULL || s->sc == NULL)
		goto out;
	for (i = 0; i < n; i++) {
		char *name = s->names + (size_t)i * NAMES_LEN;

		if (bconn_init(&s->conns[i], &s->net, i) != 0 ||
		    (s->sc[i].ring = calloc(s->window, sizeof(uint64_t))) ==
		    NULL)
			goto out;
		bench_user(o, i, name, NAMES_LEN);
		s->conns[i].user = name;
		s->conns[i].secret = o->password;
		s->conns[i].auth = BA_PASSWORD;
		s->ptrs[i] = &s->conns[i];
	}
	report_str(r, "path", "server");
	report_u64(r, "senders", n);
	report_u64(r, "window", s->window);
	report_u64(r, "size", o->size);

	bench_info(o, "store: logging in %u senders", n);
	if (bench_login_all(&s->net, s->ptrs, n, o->setup_timeout) != 0 ||
	    bench_roundtrip(&s->net, s->ptrs, n, join_cmd, NULL, "OK JOIN",
	    o->setup_timeout) != 0) {
		bench_err("set-up: %s", s->net.last_error);
		report_str(r, "error", "%s", s->net.last_error);
		goto out;
	}
	s->net.hooks.line = on_line;
	s->net.hooks.closed = on_closed;
	s->net.hooks.ready = NULL;
	s->net.hooks.arg = s;
	s->t_meas = bench_now_ns() + (uint64_t)(o->warmup * 1e9);
	s->t_end = s->t_meas + (uint64_t)(o->duration * 1e9);
	bench_info(o, "store: %u senders, window %u, for %.1f s after %.1f s "
	    "warm-up", n, s->window, o->duration, o->warmup);
	net_run(&s->net, s->t_end + BENCH_NS_PER_S, step, s);
	net_run(&s->net, bench_now_ns() + (uint64_t)(DRAIN_S * 1e9), drained,
	    s);

	win = (double)(s->pb.wall_ns - s->pa.wall_ns) / 1e9;
	if (win <= 0)
		win = o->duration;
	report_f(r, "duration_s", win, 2);
	report_f(r, "msgs_per_s", (double)s->acks_window / win, 0);
	report_hist(r, "ack", &s->lat);
	report_u64(r, "committed", s->acks);
	report_u64(r, "errors", s->errs);
	report_proc(r, &s->pa, &s->pb);
	if (s->failed) {
		bench_err("a connection failed: %s", s->net.last_error);
		report_str(r, "error", "%s", s->net.last_error);
		goto out;
	}
	if (s->errs > 0) {
		bench_err("%" PRIu64 " SENDs refused, last: %s%s", s->errs,
		    s->err_line, strstr(s->err_line, "RATE_LIMITED") ?
		    " (raise [limits] messages_per_second)" : "");
		report_str(r, "error", "%s", s->err_line);
		goto out;
	}
	if (!drained(s, 0)) {
		report_str(r, "error", "SENDs unanswered %.0f s after the run",
		    DRAIN_S);
		goto out;
	}
	if (s->acks_window == 0) {
		report_str(r, "error", "nothing committed");
		goto out;
	}
	rc = BENCH_EXIT_OK;
out:
	if (s->conns != NULL)
		for (i = 0; i < n; i++) {
			bconn_free(&s->conns[i]);
			free(s->sc ? s->sc[i].ring : NULL);
		}
	net_fini(&s->net);
	free(s->conns);
	free(s->ptrs);
	free(s->sc);
	free(s);
	return rc;
}
