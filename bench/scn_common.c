/*
 * scn_common: what the scenarios share — user names, logging everyone in,
 * one command round on many connections, the timestamped payload, and
 * progress messages.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"

uint64_t
bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * BENCH_NS_PER_S + (uint64_t)ts.tv_nsec;
}

void
bench_info(const struct bench_opts *o, const char *fmt, ...)
{
	va_list ap;

	if (o->quiet)
		return;
	fputs("parley-bench: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void
bench_err(const char *fmt, ...)
{
	va_list ap;

	fputs("parley-bench: error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void
bench_user(const struct bench_opts *o, unsigned i, char *out, size_t cap)
{
	snprintf(out, cap, "%s%u", o->user_prefix, i);
}

/* ---- log everyone in ---- */

struct login_wait {
	const struct bench_opts *o;
	struct net *net;
	unsigned want, ready, failed;
	uint64_t next_note;
	uint64_t start;
};

static void
lw_ready(struct bconn *c)
{
	struct login_wait *w = c->net->hooks.arg;

	w->ready++;
}

static void
lw_closed(struct bconn *c, const char *why)
{
	struct login_wait *w = c->net->hooks.arg;

	(void)why;
	w->failed++;
}

static bool
lw_step(void *arg, uint64_t now)
{
	struct login_wait *w = arg;

	if (w->failed > 0 || w->ready >= w->want)
		return true;
	if (now >= w->next_note) {
		if (w->next_note != 0)
			bench_info(w->o, "set-up: %u of %u logged in "
			    "(%.0f/s, %" PRIu64 " login retries)", w->ready,
			    w->want, w->ready / ((double)(now - w->start) / 1e9),
			    w->net->retries);
		w->next_note = now + 5 * BENCH_NS_PER_S;
	}
	return false;
}

int
bench_login_all(struct net *net, struct bconn **conns, unsigned n,
    double timeout_s)
{
	struct net_hooks saved = net->hooks;
	struct login_wait w;
	unsigned i;

	memset(&w, 0, sizeof(w));
	w.o = net->o;
	w.net = net;
	w.want = n;
	w.start = bench_now_ns();
	net->hooks.ready = lw_ready;
	net->hooks.closed = lw_closed;
	net->hooks.line = NULL;
	net->hooks.arg = &w;
	for (i = 0; i < n; i++)
		bconn_open(conns[i]);
	net_run(net, w.start + (uint64_t)(timeout_s * 1e9), lw_step, &w);
	net->hooks = saved;
	if (w.failed > 0)
		return -1;
	if (w.ready < n) {
		snprintf(net->last_error, sizeof(net->last_error),
		    "set-up timed out after %.0f s: %u of %u connections "
		    "logged in", timeout_s, w.ready, n);
		return -1;
	}
	return 0;
}

/* ---- one command on many connections ---- */

struct rt_wait {
	const char *expect;
	size_t elen;
	unsigned want, done, failed;
	unsigned char *state;           /* per connection: 1 waiting, 2 done */
	struct bconn **conns;
	unsigned n;
};

static unsigned
rt_index(struct rt_wait *w, struct bconn *c)
{
	unsigned i;

	/* Callers index conns by c->idx when they can; else search. */
	if (c->idx < w->n && w->conns[c->idx] == c)
		return c->idx;
	for (i = 0; i < w->n; i++)
		if (w->conns[i] == c)
			return i;
	return UINT32_MAX;
}

static void
rt_line(struct bconn *c, char *line, size_t len)
{
	struct rt_wait *w = c->net->hooks.arg;
	unsigned i = rt_index(w, c);

	if (i == UINT32_MAX || w->state[i] != 1)
		return;
	if (len >= w->elen && memcmp(line, w->expect, w->elen) == 0) {
		w->state[i] = 2;
		w->done++;
	} else if (len >= 4 && memcmp(line, "ERR ", 4) == 0) {
		w->state[i] = 2;
		w->failed++;
		snprintf(c->net->last_error, sizeof(c->net->last_error),
		    "%s: %s", c->user ? c->user : "?", line);
	}
}

static void
rt_closed(struct bconn *c, const char *why)
{
	struct rt_wait *w = c->net->hooks.arg;

	(void)why;
	w->failed++;
}

static bool
rt_step(void *arg, uint64_t now)
{
	struct rt_wait *w = arg;

	(void)now;
	return w->failed > 0 || w->done >= w->want;
}

int
bench_roundtrip(struct net *net, struct bconn **conns, unsigned n,
    bench_cmd_fn fmt, void *arg, const char *expect, double timeout_s)
{
	struct net_hooks saved = net->hooks;
	struct rt_wait w;
	char cmd[1024];
	unsigned i;

	memset(&w, 0, sizeof(w));
	w.expect = expect;
	w.elen = strlen(expect);
	w.want = n;
	w.conns = conns;
	w.n = n;
	if ((w.state = calloc(n ? n : 1, 1)) == NULL) {
		snprintf(net->last_error, sizeof(net->last_error),
		    "out of memory");
		return -1;
	}
	net->hooks.line = rt_line;
	net->hooks.closed = rt_closed;
	net->hooks.ready = NULL;
	net->hooks.arg = &w;
	for (i = 0; i < n; i++) {
		fmt(i, cmd, sizeof(cmd), arg);
		w.state[i] = 1;
		if (bconn_printf(conns[i], "%s", cmd) != 0)
			break;
	}
	net_run(net, bench_now_ns() + (uint64_t)(timeout_s * 1e9), rt_step,
	    &w);
	net->hooks = saved;
	free(w.state);
	if (w.failed > 0)
		return -1;
	if (w.done < n) {
		snprintf(net->last_error, sizeof(net->last_error),
		    "timed out waiting for '%s': %u of %u answered", expect,
		    w.done, n);
		return -1;
	}
	return 0;
}

/* ---- payload ---- */

size_t
bench_payload(char *out, unsigned size, uint64_t ns, uint64_t seq)
{
	int n = snprintf(out, (size_t)size + 1, "b %" PRIu64 " %" PRIu64,
	    ns, seq);

	if (n < 0)
		return 0;
	if ((unsigned)n >= size)
		return (size_t)n > size ? size : (size_t)n;
	out[n++] = ' ';
	while ((unsigned)n < size)
		out[n++] = 'x';
	out[n] = '\0';
	return (size_t)n;
}

bool
bench_payload_parse(const char *text, size_t len, uint64_t *ns, uint64_t *seq)
{
	char *end;

	if (len < 5 || text[0] != 'b' || text[1] != ' ')
		return false;
	errno = 0;
	*ns = strtoull(text + 2, &end, 10);
	if (errno != 0 || *end != ' ')
		return false;
	*seq = strtoull(end + 1, &end, 10);
	return errno == 0 && (*end == ' ' || *end == '\0');
}

bool
bench_msg_text(const char *line, size_t len, uint64_t *id, const char **text,
    size_t *tlen)
{
	const char *p = line + 4, *end = line + len;
	char *e;
	int i;

	if (len < 4 || memcmp(line, "MSG ", 4) != 0)
		return false;
	*id = strtoull(p, &e, 10);
	p = e;
	/* Skip " <time> <from> <to>", then the one space before the text. */
	for (i = 0; i < 4; i++) {
		if (p >= end || *p != ' ')
			return false;
		p++;
		if (i < 3) {
			p = memchr(p, ' ', (size_t)(end - p));
			if (p == NULL)
				return false;
		}
	}
	*text = p;
	*tlen = (size_t)(end - p);
	return true;
}
