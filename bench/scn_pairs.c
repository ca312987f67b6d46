/*
 * scn_pairs: ping-pong pairs of direct messages.
 *
 * Connection 2i (user 2i) and 2i+1 (user 2i+1) form a pair. The first
 * sends `inflight` messages to the second; whoever receives a message
 * answers it at once with a new one, so each pair keeps `inflight`
 * messages in the air. A message counts when its MSG line arrives; its
 * latency runs from the payload timestamp (taken when the SEND was
 * queued) to that arrival, so it includes the commit the server makes
 * before it delivers.
 *
 * Afterwards nobody answers any more, every SEND is drained to its final
 * line, and (unless --no-verify) the first of each pair asks HISTORY for
 * the newest message of the conversation: it must be the highest id either
 * side got an OK SEND for — acknowledged means committed.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

#define DRAIN_S  5.0
#define VERIFY_S 10.0

struct pconn {
	uint64_t sent, answered, errs;
	uint64_t max_ack;               /* highest id acknowledged */
	uint64_t hist_id;               /* verify: HIST id seen */
	int verify;                     /* 0 idle, 1 waiting, 2 done, 3 bad */
};

struct pairs {
	const struct bench_opts *o;
	struct net net;
	struct bconn *conns;
	struct bconn **ptrs;
	struct pconn *pc;
	unsigned n;
	bool measuring, stopped, failed, verifying;
	uint64_t t_meas, t_end;
	uint64_t seq, recv_window, recv, errs, foreign;
	unsigned verified, verify_bad, verify_done;
	struct hist lat;
	struct proc_sample pa, pb;
	char err_line[200];
	char payload[8200];
	char names[];
};

static void
send_to_peer(struct pairs *p, struct bconn *c, uint64_t now)
{
	struct bconn *peer = &p->conns[c->idx ^ 1];
	size_t len = bench_payload(p->payload, p->o->size, now, ++p->seq);
	char line[8300];
	int n;

	n = snprintf(line, sizeof(line), "SEND %s %.*s\n", peer->user,
	    (int)len, p->payload);
	if (bconn_write(c, line, (size_t)n) == 0)
		p->pc[c->idx].sent++;
}

static void
verify_line(struct pairs *p, struct bconn *c, char *line, size_t len)
{
	struct pconn *pc = &p->pc[c->idx];

	if (pc->verify != 1)
		return;
	if (len > 5 && memcmp(line, "HIST ", 5) == 0) {
		pc->hist_id = strtoull(line + 5, NULL, 10);
	} else if (len >= 10 && memcmp(line, "OK HISTORY", 10) == 0) {
		uint64_t want = pc->max_ack;

		if (p->pc[c->idx ^ 1].max_ack > want)
			want = p->pc[c->idx ^ 1].max_ack;
		pc->verify = pc->hist_id == want ? 2 : 3;
		if (pc->verify == 3) {
			p->verify_bad++;
			snprintf(p->err_line, sizeof(p->err_line),
			    "%s/%s: newest stored id %" PRIu64 ", acknowledged %"
			    PRIu64, c->user, p->conns[c->idx ^ 1].user,
			    pc->hist_id, want);
		} else {
			p->verified++;
		}
		p->verify_done++;
	} else if (len >= 4 && memcmp(line, "ERR ", 4) == 0) {
		pc->verify = 3;
		p->verify_bad++;
		p->verify_done++;
		snprintf(p->err_line, sizeof(p->err_line), "HISTORY: %s", line);
	}
}

static void
on_line(struct bconn *c, char *line, size_t len)
{
	struct pairs *p = c->net->hooks.arg;
	struct pconn *pc = &p->pc[c->idx];
	const char *text;
	uint64_t id, ns, seq, now;
	size_t tlen;

	if (p->verifying) {
		verify_line(p, c, line, len);
		return;
	}
	if (len >= 8 && memcmp(line, "OK SEND ", 8) == 0) {
		pc->answered++;
		id = strtoull(line + 8, NULL, 10);
		if (id > pc->max_ack)
			pc->max_ack = id;
		return;
	}
	if (len >= 4 && memcmp(line, "ERR ", 4) == 0) {
		pc->answered++;
		pc->errs++;
		p->errs++;
		snprintf(p->err_line, sizeof(p->err_line), "%s", line);
		return;
	}
	if (!bench_msg_text(line, len, &id, &text, &tlen))
		return;
	if (!bench_payload_parse(text, tlen, &ns, &seq)) {
		p->foreign++;
		return;
	}
	now = bench_now_ns();
	p->recv++;
	if (p->measuring) {
		p->recv_window++;
		hist_add(&p->lat, now > ns ? now - ns : 0);
	}
	if (!p->stopped)
		send_to_peer(p, c, now);
}

static void
on_closed(struct bconn *c, const char *why)
{
	struct pairs *p = c->net->hooks.arg;

	(void)why;
	p->failed = true;
}

static bool
step(void *arg, uint64_t now)
{
	struct pairs *p = arg;

	if (p->failed)
		return true;
	if (!p->measuring && !p->stopped && now >= p->t_meas) {
		p->measuring = true;
		proc_sample(p->o->pid, &p->pa);
		p->pa.wall_ns = now;
	}
	if (now >= p->t_end) {
		p->measuring = false;
		p->stopped = true;
		proc_sample(p->o->pid, &p->pb);
		p->pb.wall_ns = now;
		return true;
	}
	return false;
}

static bool
drained(void *arg, uint64_t now)
{
	struct pairs *p = arg;
	unsigned i;

	(void)now;
	if (p->failed)
		return true;
	for (i = 0; i < p->n; i++)
		if (p->pc[i].answered < p->pc[i].sent)
			return false;
	return true;
}

static bool
verified(void *arg, uint64_t now)
{
	struct pairs *p = arg;

	(void)now;
	return p->failed || p->verify_done >= p->n / 2;
}

int
scn_pairs(const struct bench_opts *o, struct report *r)
{
	struct pairs *p;
	unsigned i, n = o->pairs * 2, k;
	uint64_t sent = 0, now;
	double win;
	int rc = BENCH_EXIT_FAIL;

	if (o->users < n) {
		bench_err("pairs: %u pairs need %u distinct users (--users %u)",
		    o->pairs, n, o->users);
		return BENCH_EXIT_USAGE;
	}
	p = calloc(1, sizeof(*p) + (size_t)n * NAMES_LEN);
	if (p == NULL)
		return BENCH_EXIT_FAIL;
	p->o = o;
	p->n = n;
	hist_init(&p->lat);
	if (net_init(&p->net, o, false) != 0) {
		free(p);
		return BENCH_EXIT_FAIL;
	}
	p->conns = calloc(n, sizeof(*p->conns));
	p->ptrs = calloc(n, sizeof(*p->ptrs));
	p->pc = calloc(n, sizeof(*p->pc));
	if (p->conns == NULL || p->ptrs == NULL || p->pc == NULL)
		goto out;
	for (i = 0; i < n; i++) {
		char *name = p->names + (size_t)i * NAMES_LEN;

		if (bconn_init(&p->conns[i], &p->net, i) != 0)
			goto out;
		bench_user(o, i, name, NAMES_LEN);
		p->conns[i].user = name;
		p->conns[i].secret = o->password;
		p->conns[i].auth = BA_PASSWORD;
		p->ptrs[i] = &p->conns[i];
	}
	report_u64(r, "pairs", o->pairs);
	report_u64(r, "inflight", o->inflight);
	report_u64(r, "size", o->size);

	bench_info(o, "pairs: logging in %u connections", n);
	if (bench_login_all(&p->net, p->ptrs, n, o->setup_timeout) != 0) {
		bench_err("set-up: %s", p->net.last_error);
		report_str(r, "error", "%s", p->net.last_error);
		goto out;
	}
	p->net.hooks.line = on_line;
	p->net.hooks.closed = on_closed;
	p->net.hooks.ready = NULL;
	p->net.hooks.arg = p;
	now = bench_now_ns();
	p->t_meas = now + (uint64_t)(o->warmup * 1e9);
	p->t_end = p->t_meas + (uint64_t)(o->duration * 1e9);
	for (i = 0; i < n; i += 2)
		for (k = 0; k < o->inflight; k++)
			send_to_peer(p, &p->conns[i], now);
	bench_info(o, "pairs: %u pairs for %.1f s after %.1f s warm-up",
	    o->pairs, o->duration, o->warmup);
	net_run(&p->net, p->t_end + BENCH_NS_PER_S, step, p);
	p->stopped = true;
	net_run(&p->net, bench_now_ns() + (uint64_t)(DRAIN_S * 1e9), drained,
	    p);
	for (i = 0; i < n; i++)
		sent += p->pc[i].sent;

	win = (double)(p->pb.wall_ns - p->pa.wall_ns) / 1e9;
	if (win <= 0)
		win = o->duration;
	report_f(r, "duration_s", win, 2);
	report_f(r, "msgs_per_s", (double)p->recv_window / win, 0);
	report_hist(r, "lat", &p->lat);
	report_u64(r, "sent", sent);
	report_u64(r, "errors", p->errs);
	report_proc(r, &p->pa, &p->pb);
	if (p->failed) {
		bench_err("a connection failed: %s", p->net.last_error);
		report_str(r, "error", "%s", p->net.last_error);
		goto out;
	}
	if (!drained(p, 0)) {
		report_str(r, "error", "SENDs still unanswered %.0f s after "
		    "the run", DRAIN_S);
		goto out;
	}
	if (o->verify) {
		char peer[NAMES_LEN + 4];

		p->verifying = true;
		for (i = 0; i < n; i += 2) {
			p->pc[i].verify = 1;
			bench_quote(peer, sizeof(peer), p->conns[i + 1].user);
			bconn_printf(&p->conns[i], "HISTORY %s 1", peer);
		}
		net_run(&p->net, bench_now_ns() + (uint64_t)(VERIFY_S * 1e9),
		    verified, p);
		report_str(r, "verify", p->verified == n / 2 ? "ok" : "fail");
		report_u64(r, "verified_pairs", p->verified);
		if (p->verified != n / 2) {
			bench_err("commit check: %u of %u pairs ok%s%s",
			    p->verified, n / 2, p->err_line[0] ? "; " : "",
			    p->err_line);
			report_str(r, "error", "%s", p->err_line[0] ?
			    p->err_line : "HISTORY check timed out");
			goto out;
		}
	}
	if (p->errs > 0) {
		bench_err("%" PRIu64 " SENDs refused, last: %s%s", p->errs,
		    p->err_line, strstr(p->err_line, "RATE_LIMITED") ?
		    " (raise [limits] messages_per_second)" : "");
		report_str(r, "error", "%s", p->err_line);
		goto out;
	}
	if (p->recv_window == 0) {
		report_str(r, "error", "no messages delivered");
		goto out;
	}
	rc = BENCH_EXIT_OK;
out:
	if (p->conns != NULL)
		for (i = 0; i < n; i++)
			bconn_free(&p->conns[i]);
	net_fini(&p->net);
	free(p->conns);
	free(p->ptrs);
	free(p->pc);
	free(p);
	return rc;
}
