/*
 * abuse: figures, /proc probes, the server context with its liveness
 * check, and small helpers for the abuse tests (abuse.h). The victim
 * process is in abuse_victim.c, the raw TLS client in abuse_tls.c.
 *
 * The server lifecycle, users and ordinary clients come from the
 * integration harness; this adds what an attack needs on top: the
 * figures and their verdicts, measurements of the parleyd process from the
 * outside (VmRSS, /proc/PID/fd, schedstat), and the end-of-test checks.
 */
#include "abuse.h"

#include <dirent.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int ab_long;
int ab_sanitized;

static int figures_failed;

static int
remaining_ms(int64_t deadline_ms)
{
	int64_t left = deadline_ms - hs_now_ms();

	if (left <= 0)
		return 0;
	return left > INT_MAX ? INT_MAX : (int)left;
}

/* ------------------------------------------------------------------ */
/* Running                                                             */

int
ab_main(int argc, char **argv, const char *group,
    const struct CMUnitTest *tests, size_t ntests)
{
	const char *v = getenv("PARLEY_ABUSE_LONG");
	size_t i;

	ab_long = v != NULL && *v != '\0' && strcmp(v, "0") != 0;
#ifdef AB_SANITIZED
	ab_sanitized = 1;
#endif
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	if (argc > 2) {
		fprintf(stderr, "usage: %s [test-name]\n", argv[0]);
		return 2;
	}
	if (argc == 2) {
		for (i = 0; i < ntests; i++)
			if (strcmp(tests[i].name, argv[1]) == 0)
				break;
		if (i == ntests) {
			fprintf(stderr, "%s: no test named \"%s\"\n", argv[0],
			    argv[1]);
			return 2;
		}
		cmocka_set_test_filter(argv[1]);
	}
	printf("abuse: %s: %s mode%s\n", group, ab_long ? "long" : "short",
	    ab_sanitized ? ", sanitizer build (timing and memory figures "
	    "are not judged)" : "");
	return _cmocka_run_group_tests(group, tests, ntests, NULL, NULL);
}

int
ab_figure(enum ab_kind kind, int pass, const char *row, const char *figure,
    const char *target, const char *fmt, ...)
{
	char value[256];
	const char *verdict;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(value, sizeof(value), fmt, ap);
	va_end(ap);
	if (pass)
		verdict = "PASS";
	else if (kind == AB_PERF && ab_sanitized)
		verdict = "INFO (sanitizer build: not judged)";
	else {
		verdict = "FAIL";
		figures_failed++;
	}
	printf("abuse: %s: %s=%s (target %s) %s\n", row, figure, value, target,
	    verdict);
	fflush(stdout);
	return pass;
}

void
ab_note(const char *row, const char *fmt, ...)
{
	char text[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	printf("abuse: %s: note: %s\n", row, text);
	fflush(stdout);
}

void
ab_verdict(void)
{
	int n = figures_failed;

	figures_failed = 0;
	if (n > 0)
		fail_msg("%d figure(s) missed their target (see the FAIL lines)",
		    n);
}

/* ------------------------------------------------------------------ */
/* /proc                                                               */

long
ab_rss_kib(pid_t pid)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	if ((f = fopen(path, "re")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

int
ab_fd_count(pid_t pid)
{
	char path[64];
	struct dirent *d;
	DIR *dir;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%ld/fd", (long)pid);
	if ((dir = opendir(path)) == NULL)
		return -1;
	while ((d = readdir(dir)) != NULL)
		if (d->d_name[0] != '.')
			n++;
	closedir(dir);
	return n;
}

/* Call fn for every thread of pid; returns how many were visited. */
static int
each_task(pid_t pid, void (*fn)(const char *dir, void *arg), void *arg)
{
	char path[64], tdir[64 + 256];
	struct dirent *d;
	DIR *dir;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%ld/task", (long)pid);
	if ((dir = opendir(path)) == NULL)
		return -1;
	while ((d = readdir(dir)) != NULL) {
		if (d->d_name[0] == '.')
			continue;
		snprintf(tdir, sizeof(tdir), "%s/%s", path, d->d_name);
		fn(tdir, arg);
		n++;
	}
	closedir(dir);
	return n;
}

static void
add_schedstat(const char *dir, void *arg)
{
	long long *sum = arg, ns;
	char path[400];
	FILE *f;

	snprintf(path, sizeof(path), "%s/schedstat", dir);
	if ((f = fopen(path, "re")) == NULL)
		return;
	if (fscanf(f, "%lld", &ns) == 1)
		*sum += ns;
	fclose(f);
}

int64_t
ab_cpu_ns(pid_t pid)
{
	long long sum = 0;

	if (each_task(pid, add_schedstat, &sum) < 0)
		return -1;
	return sum;
}

static void
count_running(const char *dir, void *arg)
{
	int *n = arg;
	char path[400], buf[512], *p;
	size_t len;
	FILE *f;

	snprintf(path, sizeof(path), "%s/stat", dir);
	if ((f = fopen(path, "re")) == NULL)
		return;
	len = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[len] = '\0';
	/* "tid (comm) S ...": the state follows the last ')'. */
	if ((p = strrchr(buf, ')')) != NULL && p[1] == ' ' && p[2] == 'R')
		(*n)++;
}

int
ab_running_threads(pid_t pid)
{
	int n = 0;

	if (each_task(pid, count_running, &n) < 0)
		return -1;
	return n;
}

int
ab_raise_nofile(rlim_t n)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return -1;
	if (rl.rlim_cur >= n)
		return 0;
	rl.rlim_cur = n < rl.rlim_max ? n : rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
		return -1;
	return rl.rlim_cur >= n ? 0 : -1;
}

struct ab_sampler {
	pthread_t	th;
	pid_t		pid;
	int		interval_ms;
	atomic_int	stop;
	atomic_long	peak;
};

static void *
sampler_main(void *arg)
{
	struct ab_sampler *sp = arg;

	while (!atomic_load(&sp->stop)) {
		long rss = ab_rss_kib(sp->pid);

		if (rss > atomic_load(&sp->peak))
			atomic_store(&sp->peak, rss);
		hs_sleep_ms(sp->interval_ms);
	}
	return NULL;
}

struct ab_sampler *
ab_sampler_start(pid_t pid, int interval_ms)
{
	struct ab_sampler *sp = calloc(1, sizeof(*sp));

	if (sp == NULL)
		return NULL;
	sp->pid = pid;
	sp->interval_ms = interval_ms;
	atomic_init(&sp->stop, 0);
	atomic_init(&sp->peak, ab_rss_kib(pid));
	if (pthread_create(&sp->th, NULL, sampler_main, sp) != 0) {
		free(sp);
		return NULL;
	}
	return sp;
}

long
ab_sampler_stop(struct ab_sampler *sp)
{
	long peak, rss;

	if (sp == NULL)
		return -1;
	atomic_store(&sp->stop, 1);
	pthread_join(sp->th, NULL);
	peak = atomic_load(&sp->peak);
	rss = ab_rss_kib(sp->pid);
	if (rss > peak)
		peak = rss;
	free(sp);
	return peak;
}

int64_t
ab_wait_cpu_idle(pid_t pid, double pct, int window_ms, int timeout_ms)
{
	enum { STEP_MS = 10, MAXS = 4096 };
	static int64_t ts[MAXS], cpu[MAXS];
	int64_t start = hs_now_ms();
	size_t n = 0, i;

	while (n < MAXS) {
		ts[n] = hs_now_ms();
		cpu[n] = ab_cpu_ns(pid);
		if (cpu[n] < 0)
			return -1;
		/* The oldest sample at least window_ms back. */
		for (i = n; i > 0 && ts[n] - ts[i] < window_ms; i--)
			;
		if (ts[n] - ts[i] >= window_ms) {
			double used = (double)(cpu[n] - cpu[i]) / 1e6;
			double span = (double)(ts[n] - ts[i]);

			if (used * 100.0 / span < pct)
				return ts[i] - start;
		}
		if (ts[n] - start >= timeout_ms)
			return -1;
		n++;
		hs_sleep_ms(STEP_MS);
	}
	return -1;
}

/* ------------------------------------------------------------------ */
/* Server context                                                      */

static int
stable_fd_count(pid_t pid)
{
	int prev = -2, cur = -1, i;

	/* Two equal readings 50 ms apart, at most 2 s. */
	for (i = 0; i < 40; i++) {
		cur = ab_fd_count(pid);
		if (cur == prev)
			return cur;
		prev = cur;
		hs_sleep_ms(50);
	}
	return cur;
}

void
ab_rebaseline(struct ab_ctx *x)
{
	x->pid = hs_server_pid(x->s);
	x->base_fds = stable_fd_count(x->pid);
	x->base_rss = ab_rss_kib(x->pid);
}

void
ab_secret(struct ab_ctx *x, const char *pw)
{
	size_t i;

	for (i = 0; i < x->nsecrets; i++)
		if (strcmp(x->secrets[i], pw) == 0)
			return;
	if (x->nsecrets < sizeof(x->secrets) / sizeof(x->secrets[0]))
		x->secrets[x->nsecrets++] = pw;
}

struct ab_ctx *
ab_start_with(const char *row, const char *const *overrides,
    const char *const *users)
{
	struct hs_client_opts o;
	struct hs_client *c;
	struct ab_ctx *x;
	size_t i;

	if ((x = calloc(1, sizeof(*x))) == NULL)
		return NULL;
	x->row = row;
	ab_secret(x, AB_VICTIM_PW);
	ab_secret(x, AB_ATTACKER_PW);
	if ((x->s = hs_server_new(overrides)) == NULL)
		goto fail;
	if (hs_server_start(x->s) != 0)
		goto fail;
	if (hs_user_add(x->s, AB_VICTIM_USER, AB_VICTIM_PW, 0) != 0 ||
	    hs_user_add(x->s, AB_ATTACKER_USER, AB_ATTACKER_PW, 0) != 0)
		goto fail;
	for (i = 0; users != NULL && users[i] != NULL; i++) {
		char name[64];
		const char *colon = strchr(users[i], ':');

		if (colon == NULL || (size_t)(colon - users[i]) >= sizeof(name))
			goto fail;
		memcpy(name, users[i], (size_t)(colon - users[i]));
		name[colon - users[i]] = '\0';
		ab_secret(x, colon + 1);
		if (hs_user_add(x->s, name, colon + 1, 0) != 0)
			goto fail;
	}
	/* Warm up: the store and the TLS context have done their first work. */
	memset(&o, 0, sizeof(o));
	o.src = AB_VICTIM;
	c = hs_login_new(x->s, &o, AB_VICTIM_USER, AB_VICTIM_PW);
	if (c == NULL)
		goto fail;
	if (hs_sync(c) != 0) {
		hs_close(c);
		goto fail;
	}
	hs_close(c);
	hs_sleep_ms(100);
	ab_rebaseline(x);
	ab_note(row, "baseline: pid %ld, %d fds, VmRSS %ld KiB",
	    (long)x->pid, x->base_fds, x->base_rss);
	return x;
fail:
	fprintf(stderr, "abuse: %s: server set-up failed: %s\n", row,
	    hs_error());
	if (x->s != NULL)
		hs_server_free(x->s);
	free(x);
	return NULL;
}

struct ab_ctx *
ab_start(const char *row, const char *const *overrides)
{
	return ab_start_with(row, overrides, NULL);
}

#define FAKETIME_LIB	"/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1"

struct ab_ctx *
ab_start_fast(const char *row, const char *const *overrides,
    const char *const *users, int speed, int *no_clock)
{
	struct ab_ctx *x;
	char spec[32];

	*no_clock = 0;
	if (speed <= 1)
		return ab_start_with(row, overrides, users);
	if (ab_sanitized || access(FAKETIME_LIB, R_OK) != 0) {
		*no_clock = 1;
		return NULL;
	}
	/* The certificates are made on the real clock, before. */
	if (hs_certdir() == NULL)
		return NULL;
	/* Inherited by parleyd (and parleyctl, harmlessly) at exec. */
	snprintf(spec, sizeof(spec), "+0 x%d", speed);
	setenv("LD_PRELOAD", FAKETIME_LIB, 1);
	setenv("FAKETIME", spec, 1);
	x = ab_start_with(row, overrides, users);
	unsetenv("LD_PRELOAD");
	unsetenv("FAKETIME");
	if (x != NULL)
		ab_note(row, "server clock runs %dx faster (libfaketime)",
		    speed);
	return x;
}

int
ab_wait_fds(struct ab_ctx *x, int timeout_ms, int64_t *took_ms)
{
	int64_t t0 = hs_now_ms(), deadline = t0 + timeout_ms;
	int n;

	for (;;) {
		n = ab_fd_count(x->pid);
		if (n <= x->base_fds || remaining_ms(deadline) == 0)
			break;
		hs_sleep_ms(10);
	}
	if (took_ms != NULL)
		*took_ms = hs_now_ms() - t0;
	return n;
}

/* Occurrences of needle in hay (non-overlapping). */
static size_t
count_in(const char *hay, const char *needle)
{
	size_t n = 0, l = strlen(needle);
	const char *p = hay;

	if (l == 0)
		return 0;
	while ((p = strstr(p, needle)) != NULL) {
		n++;
		p += l;
	}
	return n;
}

void
ab_finish(struct ab_ctx *x)
{
	struct hs_client_opts o;
	struct hs_client *c;
	int64_t t0, dt, took;
	size_t i, hits = 0;
	char *log;
	int fds, rc;

	if (x == NULL)
		return;
	if (hs_server_pid(x->s) > 0) {
		x->pid = hs_server_pid(x->s);
		memset(&o, 0, sizeof(o));
		o.src = AB_VICTIM;
		t0 = hs_now_ms();
		c = hs_login_new(x->s, &o, AB_VICTIM_USER, AB_VICTIM_PW);
		dt = hs_now_ms() - t0;
		if (c == NULL)
			ab_figure(AB_EXACT, 0, x->row, "liveness-login",
			    "a login from " AB_VICTIM, "failed (%s)",
			    hs_error());
		else
			ab_figure(AB_PERF, dt < AB_LIVE_LOGIN_MS, x->row,
			    "liveness-login-ms", "< 1000", "%lld",
			    (long long)dt);
		hs_close(c);
		fds = ab_wait_fds(x, AB_FDS_SETTLE_MS, &took);
		ab_figure(AB_EXACT, fds >= 0 && fds <= x->base_fds, x->row,
		    "fds-after", "baseline", "%d (baseline %d, settled in "
		    "%lld ms)", fds, x->base_fds, (long long)took);
	} else {
		ab_figure(AB_EXACT, 0, x->row, "server-alive",
		    "running at the end", "no");
	}
	if ((log = hs_server_log(x->s)) != NULL) {
		for (i = 0; i < x->nsecrets; i++)
			hits += count_in(log, x->secrets[i]);
		free(log);
	}
	ab_figure(AB_EXACT, hits == 0, x->row, "password-hits-in-log", "0",
	    "%zu (%zu passwords checked)", hits, x->nsecrets);
	rc = hs_server_finish(x->s);
	ab_figure(AB_EXACT, rc == 0, x->row, "clean-exit",
	    "SIGTERM exit 0, 0 sanitizer reports", "%s",
	    rc == 0 ? "yes" : "no");
	free(x);
}

int
ab_teardown(void **state)
{
	int before = figures_failed;

	ab_finish(*state);
	*state = NULL;
	if (figures_failed > before) {
		figures_failed = 0;
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Small helpers                                                       */

size_t
ab_log_size(const struct hs_server *s)
{
	char *log = hs_server_log(s);
	size_t n = log != NULL ? strlen(log) : 0;

	free(log);
	return n;
}

size_t
ab_log_count(const struct hs_server *s, size_t from, const char *needle)
{
	char *log = hs_server_log(s);
	size_t n = 0;

	if (log == NULL)
		return 0;
	if (from < strlen(log))
		n = count_in(log + from, needle);
	free(log);
	return n;
}

int
ab_sync_all(struct hs_client *c, struct hs_msg **msgs, size_t *n)
{
	unsigned long long since = 0, cnt, last;
	struct hs_msg *v = NULL, *nv;
	size_t len = 0, cap = 0, i;
	struct hs_reply r;
	int pages;

	for (pages = 0; pages < 10000; pages++) {
		if (hs_command(c, &r, "SYNC %llu 500", since) != 0 ||
		    sscanf(r.final, "OK SYNC %llu %llu", &cnt, &last) != 2) {
			hs_reply_free(&r);
			ab_msgs_free(v, len);
			return -1;
		}
		for (i = 0; i < r.ndata; i++) {
			if (len == cap) {
				cap = cap ? cap * 2 : 1024;
				nv = realloc(v, cap * sizeof(*v));
				if (nv == NULL) {
					hs_reply_free(&r);
					ab_msgs_free(v, len);
					return -1;
				}
				v = nv;
			}
			if (hs_parse_msg(r.data[i], &v[len]) == 0)
				len++;
		}
		hs_reply_free(&r);
		if (cnt == 0)
			break;
		since = last;
	}
	*msgs = v;
	*n = len;
	return 0;
}

void
ab_msgs_free(struct hs_msg *msgs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		hs_msg_free(&msgs[i]);
	free(msgs);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double
ab_percentile(double *v, size_t n, double pct)
{
	size_t idx;

	if (n == 0)
		return 0.0;
	qsort(v, n, sizeof(*v), cmp_double);
	idx = (size_t)ceil(pct / 100.0 * (double)n);
	if (idx > 0)
		idx--;
	if (idx >= n)
		idx = n - 1;
	return v[idx];
}
