/*
 * scn_fanout: one sender, a room of receivers.
 *
 * Connections 0..senders-1 send to #bench-fanout, the next `receivers`
 * connections only receive; all of them have joined the room. Without
 * --rate each sender keeps `window` SENDs unacknowledged (the server runs
 * one connection's SENDs one after another, so a window of a few keeps it
 * busy); with --rate the senders are paced to that many deliveries per
 * second in total. Deliveries are MSG lines received by the receivers,
 * counted and timed (payload timestamp to arrival) in the measuring
 * window. After the window the senders stop and everything in flight is
 * drained, so lost deliveries can be counted.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

#define ROOM            "#bench-fanout"
#define DRAIN_S         5.0
#define RATE_WINDOW_MAX 4096    /* unacknowledged SENDs when paced */

struct fan {
	const struct bench_opts *o;
	struct net net;
	struct bconn *conns;
	struct bconn **ptrs;
	unsigned nconns, nsenders;
	uint64_t *sent, *answered;      /* per sender */
	uint64_t t0, t_meas, t_end;
	unsigned window;
	bool measuring, stopped, failed;
	double msgs_per_ns;             /* per sender, paced mode */
	uint64_t seq;
	uint64_t acks, errs, acks_window;
	uint64_t deliv, deliv_window, foreign;
	struct hist lat;
	struct proc_sample pa, pb;
	char err_line[200];
	char payload[8200];
	char user_names[];
};

static void
join_cmd(unsigned i, char *buf, size_t cap, void *arg)
{
	(void)i;
	(void)arg;
	snprintf(buf, cap, "JOIN %s", ROOM);
}

static void
send_one(struct fan *f, unsigned s, uint64_t now)
{
	size_t len = bench_payload(f->payload, f->o->size, now, ++f->seq);
	char line[8300];
	int n;

	n = snprintf(line, sizeof(line), "SEND %s %.*s\n", ROOM, (int)len,
	    f->payload);
	if (bconn_write(&f->conns[s], line, (size_t)n) == 0)
		f->sent[s]++;
}

static void
on_line(struct bconn *c, char *line, size_t len)
{
	struct fan *f = c->net->hooks.arg;
	const char *text;
	uint64_t id, ns, seq, now;
	size_t tlen;

	if (c->idx < f->nsenders) {
		if (len >= 8 && memcmp(line, "OK SEND ", 8) == 0) {
			f->answered[c->idx]++;
			f->acks++;
			if (f->measuring)
				f->acks_window++;
		} else if (len >= 4 && memcmp(line, "ERR ", 4) == 0) {
			f->answered[c->idx]++;
			f->errs++;
			snprintf(f->err_line, sizeof(f->err_line), "%s", line);
		}
		return;                 /* other senders' messages: not counted */
	}
	if (!bench_msg_text(line, len, &id, &text, &tlen))
		return;
	if (!bench_payload_parse(text, tlen, &ns, &seq)) {
		f->foreign++;
		return;
	}
	f->deliv++;
	if (f->measuring) {
		now = bench_now_ns();
		f->deliv_window++;
		hist_add(&f->lat, now > ns ? now - ns : 0);
	}
}

static void
on_closed(struct bconn *c, const char *why)
{
	struct fan *f = c->net->hooks.arg;

	(void)why;
	f->failed = true;
}

static bool
step(void *arg, uint64_t now)
{
	struct fan *f = arg;
	unsigned s;

	if (f->failed)
		return true;
	if (!f->measuring && now >= f->t_meas) {
		f->measuring = true;
		proc_sample(f->o->pid, &f->pa);
		f->pa.wall_ns = now;
	}
	if (now >= f->t_end) {
		f->measuring = false;
		proc_sample(f->o->pid, &f->pb);
		f->pb.wall_ns = now;
		return true;
	}
	for (s = 0; s < f->nsenders; s++) {
		uint64_t out = f->sent[s] - f->answered[s];

		if (f->o->rate <= 0) {
			while (out < f->window) {
				send_one(f, s, now);
				out++;
			}
		} else {
			uint64_t due = (uint64_t)((double)(now - f->t0) *
			    f->msgs_per_ns);

			while (f->sent[s] < due && out < RATE_WINDOW_MAX) {
				send_one(f, s, now);
				out++;
			}
		}
	}
	return false;
}

static bool
drained(void *arg, uint64_t now)
{
	struct fan *f = arg;
	unsigned s;

	(void)now;
	if (f->failed)
		return true;
	for (s = 0; s < f->nsenders; s++)
		if (f->answered[s] < f->sent[s])
			return false;
	return f->deliv >= f->acks * (f->nconns - f->nsenders);
}

int
scn_fanout(const struct bench_opts *o, struct report *r)
{
	struct fan *f;
	unsigned i, nsend = o->senders ? o->senders : 1;
	unsigned n = nsend + o->receivers;
	uint64_t expected;
	double win;
	int rc = BENCH_EXIT_FAIL;

	f = calloc(1, sizeof(*f) + (size_t)n * (NAMES_LEN));
	if (f == NULL)
		return BENCH_EXIT_FAIL;
	f->o = o;
	f->nconns = n;
	f->nsenders = nsend;
	f->window = o->window ? o->window : 32;
	hist_init(&f->lat);
	if (net_init(&f->net, o, false) != 0) {
		free(f);
		return BENCH_EXIT_FAIL;
	}
	f->conns = calloc(n, sizeof(*f->conns));
	f->ptrs = calloc(n, sizeof(*f->ptrs));
	f->sent = calloc(nsend, sizeof(*f->sent));
	f->answered = calloc(nsend, sizeof(*f->answered));
	if (f->conns == NULL || f->ptrs == NULL || f->sent == NULL ||
	    f->answered == NULL)
		goto out;
	for (i = 0; i < n; i++) {
		char *name = f->user_names + (size_t)i * NAMES_LEN;

		if (bconn_init(&f->conns[i], &f->net, i) != 0)
			goto out;
		bench_user(o, i % o->users, name, NAMES_LEN);
		f->conns[i].user = name;
		f->conns[i].secret = o->password;
		f->conns[i].auth = BA_PASSWORD;
		f->ptrs[i] = &f->conns[i];
	}
	if (o->users < n)
		bench_info(o, "note: %u connections share %u users", n,
		    o->users);

	report_u64(r, "senders", nsend);
	report_u64(r, "receivers", o->receivers);
	report_u64(r, "size", o->size);
	report_str(r, "mode", o->rate > 0 ? "paced" : "max");
	if (o->rate > 0)
		report_f(r, "target_deliveries_per_s", o->rate, 0);
	else
		report_u64(r, "window", f->window);

	bench_info(o, "fanout: logging in %u connections", n);
	if (bench_login_all(&f->net, f->ptrs, n, o->setup_timeout) != 0 ||
	    bench_roundtrip(&f->net, f->ptrs, n, join_cmd, NULL, "OK JOIN",
	    o->setup_timeout) != 0) {
		bench_err("set-up: %s", f->net.last_error);
		report_str(r, "error", "%s", f->net.last_error);
		goto out;
	}
	/* Let JOINED and PRESENCE events go by. */
	net_run(&f->net, bench_now_ns() + 200 * BENCH_NS_PER_MS, NULL, NULL);

	f->net.hooks.line = on_line;
	f->net.hooks.closed = on_closed;
	f->net.hooks.ready = NULL;
	f->net.hooks.arg = f;
	f->net.poll_ms = o->rate > 0 ? 1 : 10;
	if (o->rate > 0)
		f->msgs_per_ns = o->rate / o->receivers / nsend / 1e9;
	f->t0 = bench_now_ns();
	f->t_meas = f->t0 + (uint64_t)(o->warmup * 1e9);
	f->t_end = f->t_meas + (uint64_t)(o->duration * 1e9);
	bench_info(o, "fanout: %s for %.1f s after %.1f s warm-up",
	    o->rate > 0 ? "paced" : "full speed", o->duration, o->warmup);
	net_run(&f->net, f->t_end + BENCH_NS_PER_S, step, f);
	f->stopped = true;
	net_run(&f->net, bench_now_ns() + (uint64_t)(DRAIN_S * 1e9), drained,
	    f);

	win = (double)(f->pb.wall_ns - f->pa.wall_ns) / 1e9;
	if (win <= 0)
		win = o->duration;
	expected = f->acks * o->receivers;
	report_f(r, "duration_s", win, 2);
	report_f(r, "deliveries_per_s", (double)f->deliv_window / win, 0);
	report_f(r, "msgs_per_s", (double)f->acks_window / win, 0);
	report_hist(r, "lat", &f->lat);
	report_u64(r, "sent", f->acks + f->errs);
	report_u64(r, "errors", f->errs);
	report_u64(r, "lost", expected > f->deliv ? expected - f->deliv : 0);
	report_proc(r, &f->pa, &f->pb);
	if (f->failed) {
		bench_err("a connection failed: %s", f->net.last_error);
		report_str(r, "error", "%s", f->net.last_error);
		goto out;
	}
	if (f->errs > 0) {
		bench_err("%" PRIu64 " SENDs refused, last: %s%s", f->errs,
		    f->err_line, strstr(f->err_line, "RATE_LIMITED") ?
		    " (raise [limits] messages_per_second)" : "");
		report_str(r, "error", "%s", f->err_line);
		goto out;
	}
	if (f->deliv_window == 0) {
		report_str(r, "error", "no deliveries");
		goto out;
	}
	rc = BENCH_EXIT_OK;
out:
	if (f->conns != NULL)
		for (i = 0; i < n; i++)
			bconn_free(&f->conns[i]);
	net_fini(&f->net);
	free(f->conns);
	free(f->ptrs);
	free(f->sent);
	free(f->answered);
	free(f);
	return rc;
}
