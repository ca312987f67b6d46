/*
 * abuse_victim: the honest client of the abuse tests (abuse.h).
 *
 * A forked process logs in from 127.0.0.2 as the victim and sends PING
 * every 100 ms until the parent closes the control pipe, writing each
 * round-trip time (microseconds, or -1 for no answer) into a pipe. Its own
 * process, so that the attacker's work in the test process does not delay
 * it; the figures are the server's.
 */
#include "abuse.h"

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int
remaining_ms(int64_t deadline_ms)
{
	int64_t left = deadline_ms - hs_now_ms();

	if (left <= 0)
		return 0;
	return left > INT_MAX ? INT_MAX : (int)left;
}

/* ------------------------------------------------------------------ */
/* The victim                                                          */

#define VICTIM_STARTED	(-2)	/* sample value: logged in */
#define VICTIM_FAILED	(-3)	/* sample value: could not log in */
#define VICTIM_MAX_MS	(30 * 60 * 1000)

static pid_t victim_pid;
static int victim_data = -1;
static int victim_ctl = -1;

static struct hs_client *
victim_login(const struct hs_server *s)
{
	struct hs_client_opts o;

	memset(&o, 0, sizeof(o));
	o.src = AB_VICTIM;
	o.timeout_ms = 5000;
	return hs_login_new(s, &o, AB_VICTIM_USER, AB_VICTIM_PW);
}

static void
victim_put(int fd, int32_t v)
{
	/* Non-blocking: a sample that does not fit is dropped. */
	if (write(fd, &v, sizeof(v)) != (ssize_t)sizeof(v))
		return;
}

static void
victim_main(const struct hs_server *s, int out, int ctl)
{
	int64_t start = hs_now_ms(), next;
	struct hs_client *c;
	unsigned seq = 0;

	if ((c = victim_login(s)) == NULL) {
		victim_put(out, VICTIM_FAILED);
		return;
	}
	victim_put(out, VICTIM_STARTED);
	next = hs_now_ms() + 100;
	while (hs_now_ms() - start < VICTIM_MAX_MS) {
		struct pollfd pfd = { ctl, POLLIN, 0 };
		struct hs_reply r;
		char want[32];
		int64_t t0;
		int ok;

		if (poll(&pfd, 1, remaining_ms(next)) != 0)
			break;          /* the parent closed the pipe: stop */
		next += 100;
		if (next < hs_now_ms())
			next = hs_now_ms() + 100;
		if (c == NULL && (c = victim_login(s)) == NULL) {
			victim_put(out, -1);
			continue;
		}
		snprintf(want, sizeof(want), "OK PING v%u", ++seq);
		t0 = now_us();
		ok = hs_command(c, &r, "PING v%u", seq) == 0 &&
		    strcmp(r.final, want) == 0;
		if (ok) {
			int64_t us = now_us() - t0;

			victim_put(out, us > INT32_MAX ? INT32_MAX :
			    (int32_t)us);
		} else {
			victim_put(out, -1);
			hs_close(c);
			c = NULL;
		}
		hs_reply_free(&r);
	}
	hs_close(c);
}

int
ab_victim_start(const struct hs_server *s)
{
	int data[2], ctl[2];
	int32_t v = 0;
	struct pollfd pfd;
	pid_t pid;

	if (pipe2(data, O_CLOEXEC) == -1)
		return -1;
	if (pipe2(ctl, O_CLOEXEC) == -1) {
		close(data[0]);
		close(data[1]);
		return -1;
	}
	fflush(NULL);
	pid = fork();
	if (pid == -1) {
		close(data[0]);
		close(data[1]);
		close(ctl[0]);
		close(ctl[1]);
		return -1;
	}
	if (pid == 0) {
		close(data[0]);
		close(ctl[1]);
		fcntl(data[1], F_SETFL, O_NONBLOCK);
		victim_main(s, data[1], ctl[0]);
		_exit(0);
	}
	close(data[1]);
	close(ctl[0]);
	victim_pid = pid;
	victim_data = data[0];
	victim_ctl = ctl[1];
	pfd.fd = victim_data;
	pfd.events = POLLIN;
	if (poll(&pfd, 1, 15000) == 1 &&
	    read(victim_data, &v, sizeof(v)) == (ssize_t)sizeof(v) &&
	    v == VICTIM_STARTED)
		return 0;
	fprintf(stderr, "abuse: the victim could not log in\n");
	ab_victim_stop(NULL);
	return -1;
}

void
ab_victim_stop(struct ab_victim_stats *st)
{
	double *ms = NULL;
	size_t n = 0, cap = 0, fails = 0;
	int32_t v;
	int status;

	if (victim_pid <= 0)
		return;
	close(victim_ctl);
	victim_ctl = -1;
	/* The victim finishes its current PING (at most 10 s) and exits. */
	for (int i = 0; i < 1500; i++) {
		if (waitpid(victim_pid, &status, WNOHANG) == victim_pid)
			break;
		if (i == 1499) {
			kill(victim_pid, SIGKILL);
			waitpid(victim_pid, &status, 0);
		}
		hs_sleep_ms(10);
	}
	victim_pid = 0;
	while (read(victim_data, &v, sizeof(v)) == (ssize_t)sizeof(v)) {
		if (v == VICTIM_STARTED)
			continue;
		if (v < 0) {
			fails++;
			continue;
		}
		if (n == cap) {
			double *nv;

			cap = cap == 0 ? 256 : cap * 2;
			if ((nv = realloc(ms, cap * sizeof(*ms))) == NULL)
				break;
			ms = nv;
		}
		ms[n++] = (double)v / 1000.0;
	}
	close(victim_data);
	victim_data = -1;
	if (st != NULL) {
		memset(st, 0, sizeof(*st));
		st->n = n;
		st->fails = fails;
		if (n > 0) {
			st->p50_ms = ab_percentile(ms, n, 50);
			st->p99_ms = ab_percentile(ms, n, 99);
			st->max_ms = ab_percentile(ms, n, 100);
		}
	}
	free(ms);
}

void
ab_victim_report(const char *row, const struct ab_victim_stats *st)
{
	ab_figure(AB_PERF, st->n > 0 && st->p99_ms < 50.0, row,
	    "victim-p99-ms", "< 50", "%.1f (p50 %.1f, max %.1f, %zu pings)",
	    st->p99_ms, st->p50_ms, st->max_ms, st->n);
	ab_figure(AB_EXACT, st->fails == 0, row, "victim-pings-unanswered",
	    "0", "%zu", st->fails);
}
