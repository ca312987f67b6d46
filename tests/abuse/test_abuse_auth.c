/*
 * Abuse tests, HARDENING.md "Authentication": brute force and lockout,
 * user enumeration, a login flood, the password policy, secrets in logs
 * and the argon2 parameter upgrade.
 */
#include "abuse.h"

#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define AUTH_FAILED_LINE "ERR AUTH_FAILED invalid username or password"
#define PASSWORD_MIN	15	/* auth.min_password_length default */

/* Timeouts large enough that a fast server clock closes nothing. */
#define SLOW_TIMEOUTS \
	"limits.handshake_timeout=3600", "limits.login_timeout=86400", \
	"limits.idle_timeout=604800"

/* The n-th address of a /16 that no other test uses: 127.B.x.y. */
static void
nth_addr(char out[32], int b, unsigned n)
{
	snprintf(out, 32, "127.%d.%u.%u", b, (n / 250) % 250 + 1,
	    n % 250 + 1);
}

/* ---- attackers ------------------------------------------------------ */

struct slot {
	const char	*user;		/* account under attack */
	int		 rotate;	/* new address per connection */
	const char	*fixed;		/* else this address */
	struct ab_tls	*t;
	unsigned	 seq;
};

struct attack {
	struct slot	 slot[16];
	int		 nslots;
	unsigned	 next_addr;
	unsigned long	 attempts, auth_failed, limited, unavailable, other;
	unsigned long	 conns;
};

static void
attack_step(struct ab_ctx *x, struct attack *a, int i)
{
	struct slot *s = &a->slot[i];
	const char *l;
	char src[32];

	if (s->t == NULL) {
		if (s->rotate)
			nth_addr(src, 1, a->next_addr++);
		else
			snprintf(src, sizeof(src), "%s", s->fixed);
		s->t = ab_tls_hello(x->s, src);
		if (s->t == NULL)
			return;
		a->conns++;
	}
	if (ab_tls_send(s->t, "LOGIN %s wrong-guess-%u-%lu", s->user, s->seq++,
	    a->attempts) != 0) {
		ab_tls_free(s->t, 1);
		s->t = NULL;
		return;
	}
	a->attempts++;
	l = ab_tls_line(s->t, 10000);
	if (l == NULL || strncmp(l, "BYE ", 4) == 0) {
		ab_tls_free(s->t, 1);
		s->t = NULL;
		return;
	}
	if (strcmp(l, AUTH_FAILED_LINE) == 0)
		a->auth_failed++;
	else if (strncmp(l, "ERR RATE_LIMITED", 16) == 0)
		a->limited++;
	else if (strncmp(l, "ERR UNAVAILABLE", 15) == 0)
		a->unavailable++;
	else
		a->other++;
}

static void
attack_free(struct attack *a)
{
	int i;

	for (i = 0; i < a->nslots; i++)
		ab_tls_free(a->slot[i].t, 1);
}

/* Log lines of password verifications that failed for user. */
static size_t
verifications(const struct hs_server *s, const char *user)
{
	char needle[96];

	snprintf(needle, sizeof(needle), "user=%s reason=bad-password", user);
	return ab_log_count(s, 0, needle);
}

/* ---- brute force ---------------------------------------------------- */

/*
 * Server-clock seconds between the failed verifications of user, from
 * the log's timestamps. Returns how many gaps were written (at most max).
 */
static int
verification_gaps(const struct hs_server *s, const char *user, double *gaps,
    int max)
{
	char needle[96], *log = hs_server_log(s), *p, *nl;
	double prev = -1;
	int n = 0;

	if (log == NULL)
		return 0;
	snprintf(needle, sizeof(needle), "user=%s reason=bad-password", user);
	for (p = log; p != NULL && *p != '\0' && n < max; p = nl) {
		int d, h, m, sec, ms;
		double t;

		nl = strchr(p, '\n');
		if (nl != NULL)
			*nl++ = '\0';
		if (strstr(p, needle) == NULL ||
		    sscanf(p, "%*d-%*d-%dT%d:%d:%d.%dZ", &d, &h, &m, &sec,
		    &ms) != 5)
			continue;
		t = (((double)d * 24 + h) * 60 + m) * 60 + sec + ms / 1000.0;
		if (prev >= 0)
			gaps[n++] = t - prev;
		prev = t;
	}
	free(log);
	return n;
}

static void
brute_force(void **state)
{
	static const char *const overrides[] = { SLOW_TIMEOUTS, NULL };
	static const char *const users[] = {
		"carol:carol-Lighthouse-Pebble-12", NULL
	};
	const char *row = "brute-force";
	struct attack a;
	struct ab_ctx *x;
	int speed = ab_long ? 1 : 120, no_clock = 0, i;
	int64_t t0, real_ms;
	size_t v_many, v_one;
	double hours;

	x = ab_start_fast(row, overrides, users, speed, &no_clock);
	if (x == NULL && no_clock) {
		/* No fast clock here: ten real seconds, not judged. */
		speed = 1;
		x = ab_start_with(row, overrides, users);
	}
	*state = x;
	assert_non_null(x);
	real_ms = speed > 1 ? 3600 * 1000 / speed : ab_long ? 3600 * 1000 :
	    10 * 1000;
	memset(&a, 0, sizeof(a));
	/* Many addresses against the victim, one address against carol. */
	for (i = 0; i < 6; i++) {
		a.slot[i].user = AB_VICTIM_USER;
		a.slot[i].rotate = 1;
	}
	for (; i < 8; i++) {
		a.slot[i].user = "carol";
		a.slot[i].fixed = AB_ATTACKER;
	}
	a.nslots = 8;
	t0 = hs_now_ms();
	while (hs_now_ms() - t0 < real_ms)
		for (i = 0; i < a.nslots; i++)
			attack_step(x, &a, i);
	attack_free(&a);
	hours = (double)(hs_now_ms() - t0) * speed / 3600000.0;
	hs_sleep_ms(100);
	v_many = verifications(x->s, AB_VICTIM_USER);
	v_one = verifications(x->s, "carol");
	ab_note(row, "%lu attempts over %lu connections in %.2f server hours: "
	    "%lu AUTH_FAILED, %lu RATE_LIMITED, %lu UNAVAILABLE, %lu other",
	    a.attempts, a.conns, hours, a.auth_failed, a.limited,
	    a.unavailable, a.other);
	ab_figure(speed > 1 || ab_long ? AB_EXACT : AB_PERF,
	    hours >= 0.99 && v_many <= 100, row,
	    "failed-verifications-per-hour-many-addresses", "<= 100",
	    "%zu (in %.2f server hours)", v_many, hours);
	ab_figure(speed > 1 || ab_long ? AB_EXACT : AB_PERF,
	    hours >= 0.99 && v_one <= 100, row,
	    "failed-verifications-per-hour-one-address", "<= 100",
	    "%zu (in %.2f server hours)", v_one, hours);
	ab_figure(AB_EXACT, a.limited > 0 && a.other == 0, row,
	    "throttled-answers", "ERR RATE_LIMITED, nothing else",
	    "%lu RATE_LIMITED, %lu other", a.limited, a.other);
	{
		double gaps[32];
		char text[400];
		int ng = verification_gaps(x->s, "carol", gaps, 32), k, o = 0;
		int grows = ng >= 8;
		double top = 0;

		for (k = 0; k < ng && o < (int)sizeof(text) - 16; k++)
			o += snprintf(text + o, sizeof(text) - (size_t)o,
			    "%s%.1f", k ? " " : "", gaps[k]);
		text[o] = '\0';
		/*
		 * The gaps never shrink once past 10 s and reach minutes.
		 * Shorter ones are not compared: at this clock speed one turn
		 * of the attack loop (a hash is 10 real ms) is seconds.
		 */
		for (k = 1; grows && k < ng; k++) {
			if (gaps[k - 1] >= 10)
				grows = gaps[k] >= 0.8 * gaps[k - 1];
			if (gaps[k] > top)
				top = gaps[k];
		}
		grows = grows && top >= 256;
		ab_figure(speed > 1 || ab_long ? AB_EXACT : AB_PERF, grows, row,
		    "delay-grows-one-address", "growing gaps between "
		    "verifications", "gaps (server s): %s", ng ? text : "none");
	}
	if (no_clock)
		ab_note(row, "libfaketime missing or sanitizer build: ran 10 "
		    "real seconds; the hourly figures are not judged");
	ab_verdict();
}

/* ---- lockout used against a victim ---------------------------------- */

static void
victim_lockout(void **state)
{
	const char *row = "victim-lockout";
	struct ab_ctx *x = ab_start(row, NULL);
	struct attack a;
	int64_t t0, next_login, worst = 0;
	int i, logins = 0, failed = 0, fresh_ok = 0, fresh = 0;

	*state = x;
	assert_non_null(x);
	memset(&a, 0, sizeof(a));
	for (i = 0; i < 4; i++) {
		a.slot[i].user = AB_VICTIM_USER;
		a.slot[i].rotate = 1;
	}
	for (; i < 6; i++) {
		a.slot[i].user = AB_VICTIM_USER;
		a.slot[i].fixed = AB_ATTACKER;
	}
	a.nslots = 6;
	t0 = hs_now_ms();
	next_login = t0 + 1000;
	while (hs_now_ms() - t0 < 10000) {
		for (i = 0; i < a.nslots; i++)
			attack_step(x, &a, i);
		if (hs_now_ms() < next_login)
			continue;
		next_login += 500;
		/* The owner, from the address it always uses. */
		{
			struct ab_tls *v;
			int64_t l0 = hs_now_ms();

			v = ab_tls_login(x->s, AB_VICTIM, AB_VICTIM_USER,
			    AB_VICTIM_PW);
			logins++;
			if (v == NULL)
				failed++;
			else if (hs_now_ms() - l0 > worst)
				worst = hs_now_ms() - l0;
			ab_tls_free(v, 0);
		}
		/* The owner from an address never seen before (reported). */
		if (logins % 4 == 0) {
			struct ab_tls *v;
			char src[32];

			nth_addr(src, 9, (unsigned)fresh);
			v = ab_tls_login(x->s, src, AB_VICTIM_USER,
			    AB_VICTIM_PW);
			fresh++;
			fresh_ok += v != NULL;
			ab_tls_free(v, 0);
		}
	}
	attack_free(&a);
	ab_note(row, "attack: %lu attempts, %lu AUTH_FAILED, %lu RATE_LIMITED",
	    a.attempts, a.auth_failed, a.limited);
	ab_figure(AB_EXACT, failed == 0 && logins > 0, row,
	    "victim-logins-refused", "0", "%d of %d", failed, logins);
	ab_figure(AB_PERF, failed == 0 && worst < 1000, row,
	    "victim-login-max-ms", "< 1000", "%lld", (long long)worst);
	ab_note(row, "the owner from never-seen addresses: %d of %d logins "
	    "succeeded during the attack", fresh_ok, fresh);
	ab_verdict();
}

/* ---- enumeration by message and by timing --------------------------- */

#define ENUM_TRIES	300
#define ENUM_ACCOUNTS	60

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* One LOGIN on a fresh connection from src; ms in *ms, reply copied. */
static int
timed_login(struct ab_ctx *x, const char *src, const char *user,
    const char *pw, double *ms, char *reply, size_t rlen)
{
	struct ab_tls *t = ab_tls_hello(x->s, src);
	struct timespec a, b;
	const char *l;

	reply[0] = '\0';
	if (t == NULL)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &a);
	if (ab_tls_send(t, "LOGIN %s %s", user, pw) != 0 ||
	    (l = ab_tls_line(t, 10000)) == NULL) {
		ab_tls_free(t, 1);
		return -1;
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	*ms = (double)(b.tv_sec - a.tv_sec) * 1e3 +
	    (double)(b.tv_nsec - a.tv_nsec) / 1e6;
	snprintf(reply, rlen, "%s", l);
	ab_tls_free(t, 1);
	return 0;
}

static void
enumeration(void **state)
{
	static const char *const overrides[] = {
		"auth.allow_register=true", NULL
	};
	const char *row = "enumeration";
	struct ab_ctx *x = ab_start(row, overrides);
	double known[ENUM_TRIES], unknown[ENUM_TRIES], dk, du;
	char reply[256], first[256] = "", src[32], name[32], pw[64];
	int i, nk = 0, nu = 0, texts_differ = 0, locked_same = 0;
	unsigned addr = 0;
	struct hs_reply r;

	*state = x;
	assert_non_null(x);
	/* The known accounts, registered over the protocol. */
	for (i = 0; i < ENUM_ACCOUNTS; i++) {
		struct hs_client *c;

		snprintf(name, sizeof(name), "known%02d", i);
		snprintf(pw, sizeof(pw), "known-Account-Secret-%02d-xyz", i);
		c = hs_connect(x->s, NULL);
		assert_non_null(c);
		assert_non_null(hs_expect(c, "HELLO ", 0, 5000));
		assert_int_equal(hs_command(c, &r, "REGISTER %s %s", name, pw),
		    0);
		assert_int_equal(strncmp(r.final, "OK REGISTER ", 12), 0);
		hs_reply_free(&r);
		hs_close(c);
	}
	assert_int_equal(hs_ctl(x->s, NULL, NULL, "user lock known00"), 0);

	/* Alternate known and unknown names; one attempt per address. */
	for (i = 0; i < 2 * ENUM_TRIES; i++) {
		double ms;
		int is_known = i % 2 == 0;

		if (is_known)
			snprintf(name, sizeof(name), "known%02d",
			    1 + (i / 2) % (ENUM_ACCOUNTS - 1));
		else
			snprintf(name, sizeof(name), "nobody%02d",
			    (i / 2) % (ENUM_ACCOUNTS - 1));
		nth_addr(src, 2, addr++);
		if (timed_login(x, src, name, "not-the-right-password-at-all",
		    &ms, reply, sizeof(reply)) != 0)
			continue;
		if (first[0] == '\0')
			snprintf(first, sizeof(first), "%s", reply);
		if (strcmp(reply, first) != 0) {
			if (texts_differ++ < 3)
				ab_note(row, "%s: \"%s\"", name, reply);
		}
		if (is_known)
			known[nk++] = ms;
		else
			unknown[nu++] = ms;
	}
	/* A locked account answers the same, even with its password. */
	for (i = 0; i < 5; i++) {
		double ms;

		nth_addr(src, 2, addr++);
		if (timed_login(x, src, "known00",
		    "known-Account-Secret-00-xyz", &ms, reply,
		    sizeof(reply)) == 0 && strcmp(reply, AUTH_FAILED_LINE) == 0)
			locked_same++;
	}
	qsort(known, (size_t)nk, sizeof(double), cmp_double);
	qsort(unknown, (size_t)nu, sizeof(double), cmp_double);
	dk = nk > 0 ? known[nk / 2] : 0;
	du = nu > 0 ? unknown[nu / 2] : 0;

	ab_figure(AB_EXACT, texts_differ == 0 &&
	    strcmp(first, AUTH_FAILED_LINE) == 0 && locked_same == 5, row,
	    "reply-texts", "identical", "%d differ; locked account: %d of 5 "
	    "the same (\"%s\")", texts_differ, locked_same, first);
	ab_figure(AB_PERF, nk >= ENUM_TRIES * 9 / 10 && nu >= ENUM_TRIES * 9 /
	    10 && (dk > du ? dk - du : du - dk) <= 2.0, row,
	    "median-difference-ms", "<= 2", "%.2f (known %.2f ms over %d, "
	    "unknown %.2f ms over %d)", dk > du ? dk - du : du - dk, dk, nk,
	    du, nu);
	for (i = 0; i < ENUM_ACCOUNTS; i++) {
		static char pws[ENUM_ACCOUNTS][64];

		snprintf(pws[i], sizeof(pws[i]), "known-Account-Secret-%02d-xyz",
		    i);
		ab_secret(x, pws[i]);
	}
	ab_verdict();
}

/* ---- 500 simultaneous LOGINs ---------------------------------------- */

#define FLOOD_LOGINS	500
#define HASH_MEM_KIB	65536
#define HASH_WORKERS	2

static void
login_flood(void **state)
{
	static const char *const overrides[] = {
		"limits.max_connections_per_ip=1000",
		"auth.pwhash_ops=2", "auth.pwhash_mem_kib=65536",
		"auth.max_concurrent_hashes=2",
		NULL
	};
	const char *row = "login-flood";
	struct ab_ctx *x;
	struct ab_victim_stats vs;
	struct ab_sampler *sp;
	struct ab_tls **t;
	struct pollfd *pfd;
	int i, open = 0, answered = 0, ok = 0, failed = 0, unavailable = 0;
	int limited = 0, other = 0, max_running = 0;
	long rss0, peak, bound;
	int64_t t0;
	char src[32];

	assert_int_equal(ab_raise_nofile(FLOOD_LOGINS + 512), 0);
	x = ab_start(row, overrides);
	*state = x;
	assert_non_null(x);
	t = calloc(FLOOD_LOGINS, sizeof(*t));
	pfd = calloc(FLOOD_LOGINS, sizeof(*pfd));
	assert_true(t != NULL && pfd != NULL);
	for (i = 0; i < FLOOD_LOGINS; i++) {
		nth_addr(src, 3, (unsigned)i);
		t[i] = ab_tls_hello(x->s, src);
		open += t[i] != NULL;
	}
	assert_int_equal(ab_victim_start(x->s), 0);
	hs_sleep_ms(300);
	rss0 = ab_rss_kib(x->pid);
	sp = ab_sampler_start(x->pid, 2);
	t0 = hs_now_ms();
	/* Unknown names from distinct addresses: nothing is throttled. */
	for (i = 0; i < FLOOD_LOGINS; i++)
		if (t[i] != NULL)
			(void)ab_tls_send(t[i], "LOGIN flood%03d "
			    "flood-Password-Guess-%03d", i, i);
	while (answered < open && hs_now_ms() - t0 < 120000) {
		int running = ab_running_threads(x->pid);

		if (running > max_running)
			max_running = running;
		for (i = 0; i < FLOOD_LOGINS; i++) {
			pfd[i].fd = t[i] != NULL ? ab_tls_fd(t[i]) : -1;
			pfd[i].events = POLLIN;
			pfd[i].revents = 0;
		}
		if (poll(pfd, FLOOD_LOGINS, 20) <= 0)
			continue;
		for (i = 0; i < FLOOD_LOGINS; i++) {
			const char *l;

			if (t[i] == NULL || pfd[i].revents == 0)
				continue;
			if ((l = ab_tls_line(t[i], 0)) == NULL) {
				if (!ab_tls_closed(t[i]))
					continue;
				other++;
			} else if (strncmp(l, "OK LOGIN", 8) == 0)
				ok++;
			else if (strcmp(l, AUTH_FAILED_LINE) == 0)
				failed++;
			else if (strncmp(l, "ERR UNAVAILABLE", 15) == 0)
				unavailable++;
			else if (strncmp(l, "ERR RATE_LIMITED", 16) == 0)
				limited++;
			else
				other++;
			answered++;
			ab_tls_free(t[i], 1);
			t[i] = NULL;
		}
	}
	ab_note(row, "%d answered in %lld ms: %d AUTH_FAILED, %d UNAVAILABLE, "
	    "%d RATE_LIMITED, %d OK, %d other; at most %d threads running "
	    "at once", answered, (long long)(hs_now_ms() - t0), failed,
	    unavailable, limited, ok, other, max_running);
	peak = ab_sampler_stop(sp);
	ab_victim_stop(&vs);
	for (i = 0; i < FLOOD_LOGINS; i++)
		ab_tls_free(t[i], 1);
	free(t);
	free(pfd);

	bound = (long)HASH_WORKERS * HASH_MEM_KIB + 32 * 1024;
	ab_figure(AB_EXACT, open == FLOOD_LOGINS && answered == open, row,
	    "answered", "all 500", "%d of %d", answered, open);
	ab_figure(AB_EXACT, unavailable > 0 && failed <= HASH_WORKERS * 17,
	    row, "queue-bounded", "hashed <= 2 x (1 + 16), the rest ERR "
	    "UNAVAILABLE", "%d hashed, %d UNAVAILABLE", failed, unavailable);
	ab_figure(AB_PERF, peak - rss0 <= bound, row, "peak-rss-growth-kib",
	    "<= concurrency x memlimit + 32 MiB", "%ld (bound %ld; baseline "
	    "%ld KiB)", peak - rss0, bound, rss0);
	ab_victim_report(row, &vs);
	ab_verdict();
}

/* ---- password policy ------------------------------------------------ */

/* n copies of the UTF-8 sequence u. */
static char *
repeat(const char *u, int n)
{
	size_t l = strlen(u);
	char *s = malloc(l * (size_t)n + 1);
	int i;

	if (s == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		memcpy(s + l * (size_t)i, u, l);
	s[l * (size_t)n] = '\0';
	return s;
}

/* REGISTER on a fresh connection; 1 when the server accepted it. */
static int
try_register(struct ab_ctx *x, const char *user, const char *pw,
    char *reply, size_t rlen)
{
	struct hs_client *c = hs_connect(x->s, NULL);
	struct hs_reply r;
	int ok;

	reply[0] = '\0';
	if (c == NULL || hs_expect(c, "HELLO ", 0, 5000) == NULL) {
		hs_close(c);
		return -1;
	}
	if (hs_command(c, &r, "REGISTER %s \"%s\"", user, pw) != 0) {
		hs_reply_free(&r);
		hs_close(c);
		return -1;
	}
	snprintf(reply, rlen, "%s", r.final);
	ok = strncmp(r.final, "OK REGISTER", 11) == 0;
	hs_reply_free(&r);
	hs_close(c);
	return ok;
}

/*
 * REGISTER every password of a list, pipelined on one connection (a
 * refused REGISTER leaves it greeted; an accepted one logs it in, so the
 * next goes on a new connection).
 */
static void
register_list(struct ab_ctx *x, const char *const *pws, size_t n,
    size_t *refused, size_t *accepted)
{
	struct hs_client *c = NULL;
	struct hs_reply r;
	size_t i;

	*refused = *accepted = 0;
	for (i = 0; i < n; i++) {
		int ok;

		if (c == NULL) {
			c = hs_connect(x->s, NULL);
			if (c == NULL || hs_expect(c, "HELLO ", 0, 5000) ==
			    NULL)
				break;
		}
		if (hs_command(c, &r, "REGISTER common%zu \"%s\"", i,
		    pws[i]) != 0) {
			hs_reply_free(&r);
			break;
		}
		ok = strncmp(r.final, "ERR BAD_ARGS", 12) == 0;
		if (ok) {
			(*refused)++;
		} else {
			(*accepted)++;
			if (*accepted <= 3)
				ab_note("password-policy", "common password "
				    "not refused: \"%s\" -> %s", pws[i],
				    r.final);
		}
		hs_reply_free(&r);
		if (!ok) {
			hs_close(c);
			c = NULL;
		}
	}
	hs_close(c);
}

/* Lines of a password list with min..128 code points (no quotes). */
static char **
load_list(const char *path, unsigned min, size_t *n)
{
	char line[512], **v = NULL;
	size_t cap = 0;
	FILE *f = fopen(path, "re");

	*n = 0;
	if (f == NULL)
		return NULL;
	while (fgets(line, sizeof(line), f) != NULL) {
		size_t l = strcspn(line, "\r\n"), cps = 0, i;

		line[l] = '\0';
		if (l == 0 || line[0] == '#' || strchr(line, '"') != NULL ||
		    strchr(line, '\\') != NULL)
			continue;
		for (i = 0; i < l; i++)
			cps += ((unsigned char)line[i] & 0xc0) != 0x80;
		if (cps < min || cps > 128)
			continue;
		if (*n == cap) {
			char **nv;

			cap = cap ? cap * 2 : 256;
			if ((nv = realloc(v, cap * sizeof(*v))) == NULL)
				break;
			v = nv;
		}
		if ((v[*n] = strdup(line)) == NULL)
			break;
		(*n)++;
	}
	fclose(f);
	return v;
}

static void
free_list(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void
password_policy(void **state)
{
	static const char *const overrides[] = {
		"auth.allow_register=true", NULL
	};
	static const char *const overrides8[] = {
		"auth.allow_register=true", "auth.min_password_length=8", NULL
	};
	const char *row = "password-policy";
	struct ab_ctx *x = ab_start(row, overrides), *x8;
	struct {
		const char	*what;
		char		*pw;
		int		 accept;
	} cases[8];
	char reply[256], *p128, *shorter, *longer;
	size_t i, n = 0, good = 0, refused, accepted, nl;
	size_t total_refused = 0, total_common = 0;
	char **list;
	struct hs_client *c;
	int trunc_ok = 0;

	*state = x;
	assert_non_null(x);
	cases[n].what = "14 ASCII";
	cases[n].pw = strdup("abcdefghijkmnp");
	cases[n++].accept = 0;
	cases[n].what = "14 code points, 28 bytes";
	cases[n].pw = repeat("\xc3\xa9", 14);
	cases[n++].accept = 0;
	cases[n].what = "15 code points, 30 bytes";
	cases[n].pw = repeat("\xc3\xa9", 15);
	cases[n++].accept = 1;
	cases[n].what = "15 ASCII";
	cases[n].pw = strdup("qz7-Vw3-Kx9-Tr4");
	cases[n++].accept = 1;
	cases[n].what = "128 code points, 256 bytes";
	cases[n].pw = repeat("\xc3\xbc", 128);
	cases[n++].accept = 1;
	cases[n].what = "129 code points";
	cases[n].pw = repeat("\xc3\xbc", 129);
	cases[n++].accept = 0;
	cases[n].what = "129 ASCII";
	cases[n].pw = repeat("k", 129);
	cases[n++].accept = 0;
	cases[n].what = "128 code points of 4 bytes";
	cases[n].pw = repeat("\xf0\x9f\x94\x91", 128);
	cases[n++].accept = 1;
	for (i = 0; i < n; i++) {
		char user[32];
		int r;

		snprintf(user, sizeof(user), "policy%zu", i);
		r = try_register(x, user, cases[i].pw, reply, sizeof(reply));
		if (r == cases[i].accept)
			good++;
		else
			ab_note(row, "%s: expected %s, got \"%s\"", cases[i].what,
			    cases[i].accept ? "accepted" : "refused", reply);
	}

	/* No truncation: 128 characters, and one less, and one more. */
	p128 = repeat("Tr", 64);
	shorter = strndup(p128, 127);
	assert_true(p128 != NULL && shorter != NULL);
	assert_true(asprintf(&longer, "%sx", p128) > 0);
	assert_int_equal(try_register(x, "trunc", p128, reply, sizeof(reply)),
	    1);
	c = hs_connect(x->s, NULL);
	assert_non_null(c);
	assert_non_null(hs_expect(c, "HELLO ", 0, 5000));
	{
		struct hs_reply r;

		if (hs_command(c, &r, "LOGIN trunc %s", shorter) == 0 &&
		    strcmp(r.final, AUTH_FAILED_LINE) == 0)
			trunc_ok++;
		hs_reply_free(&r);
		if (hs_command(c, &r, "LOGIN trunc %s", longer) == 0 &&
		    strcmp(r.final, AUTH_FAILED_LINE) == 0)
			trunc_ok++;
		hs_reply_free(&r);
		if (hs_command(c, &r, "LOGIN trunc %s", p128) == 0 &&
		    strcmp(r.final, "OK LOGIN trunc") == 0)
			trunc_ok++;
		hs_reply_free(&r);
	}
	hs_close(c);

	/* The shipped list's long entries, at the default minimum. */
	list = load_list(SRCDIR "/common/common-passwords.txt",
	    PASSWORD_MIN, &nl);
	assert_non_null(list);
	register_list(x, (const char *const *)list, nl, &refused, &accepted);
	ab_note(row, "shipped list, >= 15 code points: %zu of %zu refused",
	    refused, nl);
	total_refused += refused;
	total_common += nl;
	free_list(list, nl);

	/* Debian john-data's password.lst, at a minimum of 8. */
	x8 = ab_start("password-policy-min8", overrides8);
	assert_non_null(x8);
	list = load_list("/usr/share/john/password.lst", 8, &nl);
	if (list == NULL || nl == 0) {
		ab_note(row, "/usr/share/john/password.lst not found (john-data)");
	} else {
		register_list(x8, (const char *const *)list, nl, &refused,
		    &accepted);
		ab_note(row, "john-data password.lst, >= 8 code points: %zu of "
		    "%zu refused", refused, nl);
		total_refused += refused;
		total_common += nl;
	}
	free_list(list, nl);
	ab_finish(x8);

	/* parleyctl applies the same rule. */
	{
		char *out = NULL;
		int rc1 = hs_ctl(x->s, "short-pw\n", &out,
		    "user add ctlshort --password-stdin");
		int rc2;

		free(out);
		out = NULL;
		rc2 = hs_ctl(x->s, "abcdefghijklmnopqrstuvwxyz\n", &out,
		    "user add ctlcommon --password-stdin");
		free(out);
		ab_figure(AB_EXACT, rc1 != 0 && rc2 != 0, row,
		    "parleyctl-refuses", "short and common passwords",
		    "short: exit %d, common: exit %d", rc1, rc2);
	}

	ab_figure(AB_EXACT, good == n, row, "length-rule", "100 % as specified",
	    "%zu of %zu", good, n);
	ab_figure(AB_EXACT, trunc_ok == 3, row, "no-truncation",
	    "127 and 129 refused, 128 accepted", "%d of 3", trunc_ok);
	ab_figure(AB_EXACT, total_common > 0 && total_refused == total_common,
	    row, "common-refused", "100 %", "%.1f %% (%zu of %zu)",
	    total_common ? 100.0 * (double)total_refused /
	    (double)total_common : 0.0, total_refused, total_common);
	for (i = 0; i < n; i++)
		free(cases[i].pw);
	free(p128);
	free(shorter);
	free(longer);
	ab_verdict();
}

/* ---- secrets in logs ------------------------------------------------ */

static void
secrets_in_logs(void **state)
{
	static const char *const overrides[] = {
		"auth.allow_register=true", NULL
	};
	static const char *const pws[] = {
		"first-Wrong-Guess-Alpha-71",
		"second wrong guess with spaces 72",
		"third-\\\"quoted\\\"-guess-73",
		"fourth-Pass-Registered-74",
		"fifth-Passwd-New-Secret-75",
		"sixth-Ctl-Password-Stdin-76",
		"seventh-Ctl-Passwd-Changed-77",
	};
	const char *row = "secrets-in-logs";
	struct ab_ctx *x = ab_start(row, overrides);
	struct hs_client *c;
	struct hs_reply r;
	char *out = NULL, *all, *log, token[256] = "", *longpw;
	size_t i, hits = 0, outlen = 0;
	const char *tok_secrets[1];

	*state = x;
	assert_non_null(x);
	for (i = 0; i < sizeof(pws) / sizeof(pws[0]); i++)
		ab_secret(x, pws[i]);
	all = calloc(1, 1);
	assert_non_null(all);

	/* Wrong guesses, with spaces and escapes, and a too long one. */
	c = hs_connect(x->s, NULL);
	assert_non_null(c);
	assert_non_null(hs_expect(c, "HELLO ", 0, 5000));
	(void)hs_command(c, &r, "LOGIN victim %s", pws[0]);
	hs_reply_free(&r);
	(void)hs_command(c, &r, "LOGIN victim \"%s\"", pws[1]);
	hs_reply_free(&r);
	(void)hs_command(c, &r, "LOGIN victim \"%s\"", pws[2]);
	hs_reply_free(&r);
	longpw = malloc(700);
	assert_non_null(longpw);
	memset(longpw, 'L', 699);
	longpw[699] = '\0';
	memcpy(longpw, pws[0], strlen(pws[0]));
	(void)hs_command(c, &r, "LOGIN nosuchuser %s", longpw);
	hs_reply_free(&r);
	hs_close(c);
	free(longpw);

	/* REGISTER, PASSWD, TOKEN and a wrong RESUME. */
	c = hs_connect(x->s, NULL);
	assert_non_null(c);
	assert_non_null(hs_expect(c, "HELLO ", 0, 5000));
	(void)hs_command(c, &r, "REGISTER newbie %s", pws[3]);
	hs_reply_free(&r);
	(void)hs_command(c, &r, "PASSWD %s %s", pws[3], pws[4]);
	hs_reply_free(&r);
	if (hs_command(c, &r, "TOKEN") == 0 &&
	    sscanf(r.final, "OK TOKEN %255s", token) != 1)
		token[0] = '\0';
	hs_reply_free(&r);
	hs_close(c);
	c = hs_connect(x->s, NULL);
	assert_non_null(c);
	assert_non_null(hs_expect(c, "HELLO ", 0, 5000));
	if (token[0] != '\0') {
		(void)hs_command(c, &r, "RESUME newbie %sx", token);
		hs_reply_free(&r);
		(void)hs_command(c, &r, "RESUME newbie %s", token);
		hs_reply_free(&r);
	}
	hs_close(c);
	c = hs_login_new(x->s, NULL, "newbie", pws[4]);
	hs_close(c);

	/* parleyctl: add and passwd with --password-stdin; keep its output. */
	{
		char *in;

		assert_true(asprintf(&in, "%s\n", pws[5]) > 0);
		(void)hs_ctl(x->s, in, &out, "user add ctluser --password-stdin");
		free(in);
		if (out != NULL) {
			outlen += strlen(out);
			all = realloc(all, outlen + 1);
			assert_non_null(all);
			strcat(all, out);
		}
		free(out);
		out = NULL;
		assert_true(asprintf(&in, "%s\n", pws[6]) > 0);
		(void)hs_ctl(x->s, in, &out,
		    "user passwd ctluser --password-stdin");
		free(in);
		if (out != NULL) {
			outlen += strlen(out);
			all = realloc(all, outlen + 1);
			assert_non_null(all);
			strcat(all, out);
		}
		free(out);
	}
	c = hs_login_new(x->s, NULL, "ctluser", pws[6]);
	hs_close(c);

	/* Every password (and the token) against the log and the output. */
	log = hs_server_log(x->s);
	assert_non_null(log);
	tok_secrets[0] = token;
	for (i = 0; i < sizeof(pws) / sizeof(pws[0]); i++) {
		const char *p = pws[i];
		char unq[64];
		size_t k, o = 0;

		/* As typed on the wire and as the server unquotes it. */
		for (k = 0; p[k] != '\0' && o < sizeof(unq) - 1; k++)
			if (p[k] != '\\')
				unq[o++] = p[k];
		unq[o] = '\0';
		if (strstr(log, p) != NULL || strstr(log, unq) != NULL ||
		    strstr(all, p) != NULL || strstr(all, unq) != NULL) {
			hits++;
			ab_note(row, "password %zu found", i);
		}
	}
	if (tok_secrets[0][0] != '\0' && strstr(log, tok_secrets[0]) != NULL) {
		hits++;
		ab_note(row, "the resume token was found in the log");
	}
	ab_figure(AB_EXACT, hits == 0, row, "secret-hits", "0 in every log",
	    "%zu (%zu passwords and %s token checked in the server log and "
	    "parleyctl output)", hits, sizeof(pws) / sizeof(pws[0]),
	    token[0] ? "a" : "no");
	free(log);
	free(all);
	ab_verdict();
}

/* ---- argon2 parameters raised in config ----------------------------- */

/* The stored PHC string of user, via the sqlite3 tool. */
static int
stored_hash(struct ab_ctx *x, const char *user, char *out, size_t len)
{
	char *res = NULL;
	int rc;

	rc = hs_run(NULL, &res, 10000, "sqlite3 '%s/parley.db' "
	    "\"SELECT hash FROM users WHERE name = '%s'\"", hs_server_dir(x->s),
	    user);
	out[0] = '\0';
	if (rc == 0 && res != NULL)
		snprintf(out, len, "%.*s", (int)strcspn(res, "\n"), res);
	free(res);
	return rc == 0 && out[0] == '$' ? 0 : -1;
}

/* The "m=..,t=..,p=.." part of a PHC string. */
static const char *
phc_params(const char *h, char *out, size_t len)
{
	const char *m = strstr(h, "$m=");

	if (m == NULL)
		return "?";
	snprintf(out, len, "%.*s", (int)strcspn(m + 1, "$"), m + 1);
	return out;
}

static void
argon2_upgrade(void **state)
{
	static const char *const users[] = {
		"upg:upg-Password-Upgrade-4242",
		"stay:stay-Password-Unused-4343", NULL
	};
	const char *row = "argon2-upgrade";
	struct ab_ctx *x = ab_start_with(row, NULL, users);
	char before[256], after[256], stay[256], pb[64], pa[64], ps[64];
	char *cmd;
	struct hs_client *c;
	int64_t t0;
	int relog = 0;

	*state = x;
	assert_non_null(x);
	assert_int_equal(stored_hash(x, "upg", before, sizeof(before)), 0);
	/* Raise the parameters and restart. */
	assert_true(asprintf(&cmd, "sed -i -e 's/^pwhash_ops = .*/pwhash_ops = 2/'"
	    " -e 's/^pwhash_mem_kib = .*/pwhash_mem_kib = 16384/' '%s'",
	    hs_server_config(x->s)) > 0);
	assert_int_equal(hs_run(NULL, NULL, 5000, "%s", cmd), 0);
	free(cmd);
	assert_int_equal(hs_server_restart(x->s), 0);
	ab_rebaseline(x);
	/* A wrong password changes nothing. */
	c = hs_connect(x->s, NULL);
	assert_non_null(c);
	{
		struct hs_reply r;

		assert_non_null(hs_expect(c, "HELLO ", 0, 5000));
		(void)hs_command(c, &r, "LOGIN stay wrong-password-for-stay-0");
		hs_reply_free(&r);
	}
	hs_close(c);
	c = hs_login_new(x->s, NULL, "upg", "upg-Password-Upgrade-4242");
	assert_non_null(c);
	hs_close(c);
	t0 = hs_now_ms();
	while (hs_now_ms() - t0 < 5000) {
		if (stored_hash(x, "upg", after, sizeof(after)) == 0 &&
		    strcmp(after, before) != 0)
			break;
		hs_sleep_ms(50);
	}
	assert_int_equal(stored_hash(x, "stay", stay, sizeof(stay)), 0);
	c = hs_login_new(x->s, NULL, "upg", "upg-Password-Upgrade-4242");
	relog = c != NULL;
	hs_close(c);

	ab_note(row, "before: %s; after: %s; untouched account: %s",
	    phc_params(before, pb, sizeof(pb)), phc_params(after, pa,
	    sizeof(pa)), phc_params(stay, ps, sizeof(ps)));
	ab_figure(AB_EXACT, strstr(after, "$m=16384,t=2,") != NULL && relog,
	    row, "stored-phc", "new parameters after the next login",
	    "%s%s", phc_params(after, pa, sizeof(pa)),
	    relog ? ", login still works" : ", LOGIN FAILS AFTERWARDS");
	ab_figure(AB_EXACT, strstr(stay, "$m=8192,t=1,") != NULL, row,
	    "failed-login-unchanged", "old parameters kept", "%s",
	    phc_params(stay, ps, sizeof(ps)));
	ab_verdict();
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test_teardown(brute_force, ab_teardown),
	cmocka_unit_test_teardown(victim_lockout, ab_teardown),
	cmocka_unit_test_teardown(enumeration, ab_teardown),
	cmocka_unit_test_teardown(login_flood, ab_teardown),
	cmocka_unit_test_teardown(password_policy, ab_teardown),
	cmocka_unit_test_teardown(secrets_in_logs, ab_teardown),
	cmocka_unit_test_teardown(argon2_upgrade, ab_teardown),
};

AB_MAIN("abuse-auth", tests)
