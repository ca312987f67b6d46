/*
 * Abuse tests, HARDENING.md "Input and framing": oversized and unended
 * lines, invalid UTF-8, terminal control sequences, and a flood of
 * pipelined commands from a peer that never reads.
 */
#include "abuse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- 1 MiB line without LF, then LF ------------------------------- */

#define LONG_LINE_BYTES	(1024 * 1024)
#define LONG_LINE_ROUNDS 5

static void
long_line(void **state)
{
	const char *row = "long-line";
	struct ab_ctx *x = ab_start(row, NULL);
	struct hs_client *c, *warm;
	struct ab_sampler *sp;
	struct hs_reply r;
	int64_t t0, t_lf, worst_reply = 0, worst_total = 0;
	long rss0, rss1, peak;
	int round, usable = 0, one_err = 0;
	char *big;

	*state = x;
	assert_non_null(x);
	c = hs_login_new(x->s, NULL, AB_ATTACKER_USER, AB_ATTACKER_PW);
	assert_non_null(c);
	assert_int_equal(hs_sync(c), 0);
	big = malloc(LONG_LINE_BYTES);
	assert_non_null(big);
	memset(big, 'A', LONG_LINE_BYTES);
	memcpy(big, "SEND victim ", 12);
	/*
	 * One line first on another connection, so that the process's static
	 * buffers (the 64 KiB read buffer, the command scratch) have been
	 * touched: their first use is not growth.
	 */
	rss0 = ab_rss_kib(x->pid);
	warm = hs_login_new(x->s, NULL, AB_ATTACKER_USER, AB_ATTACKER_PW);
	assert_non_null(warm);
	assert_int_equal(hs_send_raw(warm, big, LONG_LINE_BYTES), 0);
	assert_int_equal(hs_send_raw(warm, "\n", 1), 0);
	assert_non_null(hs_expect(warm, "ERR LINE_TOO_LONG", 0, 5000));
	hs_close(warm);
	hs_sleep_ms(100);
	ab_note(row, "first line in the process: VmRSS +%ld KiB (static "
	    "buffers touched once)", ab_rss_kib(x->pid) - rss0);
	rss0 = ab_rss_kib(x->pid);
	sp = ab_sampler_start(x->pid, 2);

	for (round = 0; round < LONG_LINE_ROUNDS; round++) {
		const char *l;

		t0 = hs_now_ms();
		if (hs_send_raw(c, big, LONG_LINE_BYTES) != 0)
			break;
		t_lf = hs_now_ms();
		if (hs_send_raw(c, "\n", 1) != 0)
			break;
		l = hs_line(c);
		if (l == NULL)
			break;
		if (hs_now_ms() - t_lf > worst_reply)
			worst_reply = hs_now_ms() - t_lf;
		if (hs_now_ms() - t0 > worst_total)
			worst_total = hs_now_ms() - t0;
		if (strncmp(l, "ERR LINE_TOO_LONG", 17) != 0) {
			ab_note(row, "round %d: got \"%.80s\"", round, l);
			break;
		}
		/* Exactly one ERR, and the connection still works. */
		if (hs_command(c, &r, "PING after-%d", round) == 0 &&
		    r.ndata == 0 && r.nevents == 0) {
			char want[32];

			snprintf(want, sizeof(want), "OK PING after-%d", round);
			if (strcmp(r.final, want) == 0) {
				usable++;
				one_err++;
			}
		}
		hs_reply_free(&r);
	}
	hs_sleep_ms(100);
	rss1 = ab_rss_kib(x->pid);
	peak = ab_sampler_stop(sp);
	free(big);

	ab_figure(AB_EXACT, one_err == LONG_LINE_ROUNDS, row,
	    "line-too-long-replies", "one ERR LINE_TOO_LONG per line",
	    "%d of %d", one_err, LONG_LINE_ROUNDS);
	ab_figure(AB_EXACT, usable == LONG_LINE_ROUNDS, row,
	    "usable-after", "PING answered after every line", "%d of %d",
	    usable, LONG_LINE_ROUNDS);
	ab_figure(AB_PERF, worst_reply < 100, row, "reply-ms", "< 100",
	    "%lld (after the LF; %lld from the first byte)",
	    (long long)worst_reply, (long long)worst_total);
	ab_figure(AB_PERF, rss1 - rss0 < 64 && peak - rss0 < 64, row,
	    "rss-growth-kib", "< 64", "%ld (peak %ld, baseline %ld KiB)",
	    rss1 - rss0, peak - rss0, rss0);
	hs_close(c);
	ab_verdict();
}

/* ---- partial line, never ended ------------------------------------ */

#define PARTIAL_TIMEOUT_S	3

struct trickler {
	const char	*what;
	struct ab_tls	*t;
	int64_t		 t_start;	/* handshake or last complete line */
	int64_t		 t_bye;
	int64_t		 t_closed;
	char		 bye[80];
	size_t		 sent;
	size_t		 max;		/* bytes to send in total */
	int		 too_long;	/* ERR LINE_TOO_LONG seen */
	int		 other;		/* other lines seen */
};

static void
trickle_step(struct trickler *t)
{
	const char *l;
	size_t n = t->max / 30 + 1;
	char *p;

	if (t->t_closed != 0)
		return;
	while ((l = ab_tls_line(t->t, 0)) != NULL) {
		if (strncmp(l, "BYE ", 4) == 0) {
			t->t_bye = hs_now_ms();
			snprintf(t->bye, sizeof(t->bye), "%s", l);
		} else if (strncmp(l, "ERR LINE_TOO_LONG", 17) == 0) {
			t->too_long++;
		} else {
			t->other++;
		}
	}
	if (ab_tls_closed(t->t)) {
		t->t_closed = hs_now_ms();
		return;
	}
	if (t->sent >= t->max || (p = malloc(n)) == NULL)
		return;
	/* The first bytes look like a command; the rest continue it. */
	memset(p, 'a', n);
	if (t->sent == 0)
		memcpy(p, "PING ", n < 5 ? n : 5);
	if (ab_tls_write(t->t, p, n, 1000) == (ssize_t)n)
		t->sent += n;
	free(p);
}

static void
partial_line(void **state)
{
	static const char *const overrides[] = {
		"limits.login_timeout=3", "limits.idle_timeout=3", NULL
	};
	const char *row = "partial-line";
	struct ab_ctx *x = ab_start(row, overrides);
	struct trickler t[3];
	int64_t end;
	int i, n = 3;

	*state = x;
	assert_non_null(x);
	memset(t, 0, sizeof(t));
	/* Greeted, never logs in: login_timeout (counted from the handshake). */
	t[0].what = "login";
	t[0].t = ab_tls_hello(x->s, AB_ATTACKER);
	t[0].t_start = hs_now_ms();
	assert_non_null(t[0].t);
	t[0].max = 4000;
	/* Logged in, then only a partial line: idle_timeout. */
	t[1].what = "idle";
	t[1].t = ab_tls_login(x->s, AB_ATTACKER, AB_ATTACKER_USER,
	    AB_ATTACKER_PW);
	t[1].t_start = hs_now_ms();
	assert_non_null(t[1].t);
	t[1].max = 4000;
	/* Logged in, a partial line past the cap: one ERR, same timeout. */
	t[2].what = "idle-over-cap";
	t[2].t = ab_tls_login(x->s, AB_ATTACKER, AB_ATTACKER_USER,
	    AB_ATTACKER_PW);
	t[2].t_start = hs_now_ms();
	assert_non_null(t[2].t);
	t[2].max = 12000;

	end = hs_now_ms() + (PARTIAL_TIMEOUT_S + 4) * 1000;
	while (hs_now_ms() < end) {
		int open = 0;

		for (i = 0; i < n; i++) {
			trickle_step(&t[i]);
			open += t[i].t_closed == 0;
		}
		if (open == 0)
			break;
		hs_sleep_ms(100);
	}
	for (i = 0; i < n; i++) {
		int64_t at = t[i].t_bye != 0 ? t[i].t_bye : t[i].t_closed;
		double s = at != 0 ? (double)(at - t[i].t_start) / 1000.0 : -1;
		char fig[64];

		snprintf(fig, sizeof(fig), "%s-closed-after-s", t[i].what);
		ab_figure(AB_PERF, at != 0 && s >= PARTIAL_TIMEOUT_S - 1 &&
		    s <= PARTIAL_TIMEOUT_S + 1, row, fig, "3 +- 1",
		    "%.2f (%zu bytes trickled, \"%s\")", s, t[i].sent,
		    t[i].bye[0] ? t[i].bye : "no BYE");
		ab_tls_free(t[i].t, 0);
	}
	ab_figure(AB_EXACT, t[0].too_long == 0 && t[1].too_long == 0 &&
	    t[2].too_long == 1 && t[0].other == 0 && t[1].other == 0 &&
	    t[2].other == 0, row, "replies", "one ERR LINE_TOO_LONG past the "
	    "cap, nothing else", "%d/%d/%d LINE_TOO_LONG, %d other",
	    t[0].too_long, t[1].too_long, t[2].too_long,
	    t[0].other + t[1].other + t[2].other);
	ab_figure(AB_EXACT, strcmp(t[0].bye, "BYE login timeout") == 0 &&
	    strcmp(t[1].bye, "BYE idle timeout") == 0 &&
	    strcmp(t[2].bye, "BYE idle timeout") == 0, row, "bye-reasons",
	    "login timeout, idle timeout", "\"%s\", \"%s\", \"%s\"",
	    t[0].bye, t[1].bye, t[2].bye);
	ab_verdict();
}

/* ---- invalid UTF-8 ------------------------------------------------- */

struct bad_case {
	const char	*name;
	const char	*bytes;
	size_t		 len;
};

#define BC(n, s)	{ n, s, sizeof(s) - 1 }

static const struct bad_case bad_utf8[] = {
	BC("nul", "a\0b"),
	BC("overlong-c0af", "\xc0\xaf"),
	BC("overlong-c1bf", "\xc1\xbf"),
	BC("overlong-e080af", "\xe0\x80\xaf"),
	BC("overlong-f08080af", "\xf0\x80\x80\xaf"),
	BC("surrogate-eda080", "\xed\xa0\x80"),
	BC("surrogate-edbfbf", "\xed\xbf\xbf"),
	BC("above-max-f4908080", "\xf4\x90\x80\x80"),
	BC("lone-80", "\x80"),
	BC("lone-bf", "x\xbfy"),
	BC("truncated-e282", "\xe2\x82"),
	BC("truncated-f09f98", "\xf0\x9f\x98"),
	BC("truncated-then-ascii", "\xe2\x82z"),
	BC("f5", "\xf5\x80\x80\x80"),
	BC("five-byte-f888808080", "\xf8\x88\x80\x80\x80"),
	BC("fe", "\xfe"),
	BC("ff", "\xff"),
};

static int
expect_final(struct hs_client *c, const char *prefix, const void *line,
    size_t len, char *got, size_t gotlen)
{
	struct hs_reply r;
	int ok;

	got[0] = '\0';
	if (hs_send_raw(c, line, len) != 0)
		return 0;
	if (hs_collect(c, &r, HS_TIMEOUT_MS) != 0) {
		snprintf(got, gotlen, "%s", r.final ? r.final : "(nothing)");
		hs_reply_free(&r);
		return 0;
	}
	snprintf(got, gotlen, "%s", r.final);
	ok = strncmp(r.final, prefix, strlen(prefix)) == 0;
	hs_reply_free(&r);
	return ok;
}

static int
history_count(struct hs_client *c, const char *target)
{
	struct hs_reply r;
	int n = -1;

	if (hs_command(c, &r, "HISTORY %s 500", target) == 0 &&
	    strncmp(r.final, "OK HISTORY ", 11) == 0)
		n = (int)r.ndata;
	hs_reply_free(&r);
	return n;
}

static void
bad_utf8_input(void **state)
{
	const char *row = "bad-utf8";
	struct ab_ctx *x = ab_start(row, NULL);
	struct hs_client *c, *pre;
	char line[256], got[256];
	size_t i, n = sizeof(bad_utf8) / sizeof(bad_utf8[0]), rejected = 0;
	size_t total = 0, good = 0;
	int stored;
	static const char *const good_texts[] = {
		"emoji \xf0\x9f\x98\x80 grinning",
		"euro \xe2\x82\xac and e-acute \xc3\xa9",
		"max \xf4\x8f\xbf\xbf code point",
	};

	*state = x;
	assert_non_null(x);
	c = hs_login_new(x->s, NULL, AB_ATTACKER_USER, AB_ATTACKER_PW);
	assert_non_null(c);
	pre = hs_connect(x->s, NULL);
	assert_non_null(pre);
	assert_non_null(hs_expect(pre, "HELLO ", 0, 2000));

	for (i = 0; i < n; i++) {
		const struct bad_case *b = &bad_utf8[i];
		size_t len;
		int ok;

		/* As message text, as a PING token, before login. */
		len = (size_t)snprintf(line, sizeof(line), "SEND victim x");
		memcpy(line + len, b->bytes, b->len);
		len += b->len;
		line[len++] = '\n';
		ok = expect_final(c, "ERR BAD_UTF8", line, len, got,
		    sizeof(got));
		total++;
		rejected += ok;
		if (!ok)
			ab_note(row, "SEND with %s: got \"%.60s\"", b->name,
			    got);

		len = (size_t)snprintf(line, sizeof(line), "PING t");
		memcpy(line + len, b->bytes, b->len);
		len += b->len;
		line[len++] = '\n';
		ok = expect_final(c, "ERR BAD_UTF8", line, len, got,
		    sizeof(got));
		total++;
		rejected += ok;
		if (!ok)
			ab_note(row, "PING with %s: got \"%.60s\"", b->name,
			    got);

		len = (size_t)snprintf(line, sizeof(line), "LOGIN victim \"p");
		memcpy(line + len, b->bytes, b->len);
		len += b->len;
		len += (size_t)snprintf(line + len, sizeof(line) - len,
		    "assword-long-enough\"\n");
		ok = expect_final(pre, "ERR BAD_UTF8", line, len, got,
		    sizeof(got));
		total++;
		rejected += ok;
		if (!ok)
			ab_note(row, "LOGIN with %s: got \"%.60s\"", b->name,
			    got);
	}
	for (i = 0; i < sizeof(good_texts) / sizeof(good_texts[0]); i++) {
		struct hs_reply r;

		if (hs_command(c, &r, "SEND victim %s", good_texts[i]) == 0 &&
		    strncmp(r.final, "OK SEND ", 8) == 0)
			good++;
		else
			ab_note(row, "valid text %zu refused: \"%s\"", i,
			    r.final ? r.final : "(nothing)");
		hs_reply_free(&r);
	}
	stored = history_count(c, AB_VICTIM_USER);

	ab_figure(AB_EXACT, rejected == total, row, "rejected",
	    "100 %", "%.1f %% (%zu of %zu)", 100.0 * (double)rejected /
	    (double)total, rejected, total);
	ab_figure(AB_EXACT, good == 3, row, "valid-4-byte-accepted",
	    "emoji accepted", "%zu of 3", good);
	ab_figure(AB_EXACT, stored == (int)good, row, "stored",
	    "only the valid messages", "%d (valid %zu)", stored, good);
	hs_close(c);
	hs_close(pre);
	ab_verdict();
}

/* ---- terminal control sequences ------------------------------------ */

static const struct bad_case controls[] = {
	BC("esc-csi", "\x1b[31mred\x1b[0m"),
	BC("esc-clear", "\x1b[2J\x1b[H"),
	BC("osc52-bel", "\x1b]52;c;c2VjcmV0\x07"),
	BC("osc52-st", "\x1b]52;c;c2VjcmV0\x1b\\"),
	BC("osc-title", "\x1b]0;pwned\x07"),
	BC("c1-csi-u009b", "\xc2\x9b" "31mred"),
	BC("c1-osc-u009d", "\xc2\x9d" "52;c;c2VjcmV0\xc2\x9c"),
	BC("c1-nel-u0085", "a\xc2\x85" "b"),
	BC("c1-u0080", "a\xc2\x80" "b"),
	BC("c1-u009f", "a\xc2\x9f" "b"),
	BC("del", "a\x7f" "b"),
	BC("bel", "a\x07" "b"),
	BC("backspace", "abc\x08\x08\x08xyz"),
	BC("cr-inside", "fake\rline"),
	BC("vt", "a\x0b" "b"),
	BC("bidi-lre-u202a", "a\xe2\x80\xaa" "b"),
	BC("bidi-rle-u202b", "a\xe2\x80\xab" "b"),
	BC("bidi-pdf-u202c", "a\xe2\x80\xac" "b"),
	BC("bidi-lro-u202d", "a\xe2\x80\xad" "b"),
	BC("bidi-rlo-u202e", "txt.\xe2\x80\xae" "exe"),
	BC("bidi-lri-u2066", "a\xe2\x81\xa6" "b"),
	BC("bidi-rli-u2067", "a\xe2\x81\xa7" "b"),
	BC("bidi-fsi-u2068", "a\xe2\x81\xa8" "b"),
	BC("bidi-pdi-u2069", "a\xe2\x81\xa9" "b"),
	BC("bidi-lrm-u200e", "a\xe2\x80\x8e" "b"),
	BC("bidi-rlm-u200f", "a\xe2\x80\x8f" "b"),
	BC("bidi-alm-u061c", "a\xd8\x9c" "b"),
};

/* Raw terminal controls in s: ESC, C1 (UTF-8 C2 80..9F), bidi. */
static size_t
raw_controls(const char *s, size_t len)
{
	size_t i, n = 0;
	const unsigned char *p = (const unsigned char *)s;

	for (i = 0; i < len; i++) {
		if (p[i] == 0x1b || p[i] == 0x9b)
			n++;
		else if (p[i] == 0xc2 && i + 1 < len && p[i + 1] >= 0x80 &&
		    p[i + 1] <= 0x9f)
			n++;
		else if (p[i] == 0xe2 && i + 2 < len && p[i + 1] == 0x80 &&
		    (p[i + 2] == 0x8e || p[i + 2] == 0x8f ||
		    (p[i + 2] >= 0xaa && p[i + 2] <= 0xae)))
			n++;
		else if (p[i] == 0xe2 && i + 2 < len && p[i + 1] == 0x81 &&
		    p[i + 2] >= 0xa6 && p[i + 2] <= 0xa9)
			n++;
		else if (p[i] == 0xd8 && i + 1 < len && p[i + 1] == 0x9c)
			n++;
	}
	return n;
}

static void
control_chars(void **state)
{
	const char *row = "control-chars";
	struct ab_ctx *x = ab_start(row, NULL);
	struct hs_client *c, *v, *pre;
	struct hs_client_opts vo;
	struct hs_reply r;
	char line[256], got[256], *log;
	size_t i, n = sizeof(controls) / sizeof(controls[0]);
	size_t rejected = 0, total = 0, in_victim = 0, in_log = 0;
	int tab_ok = 0, stored;

	*state = x;
	assert_non_null(x);
	memset(&vo, 0, sizeof(vo));
	vo.src = AB_VICTIM;
	v = hs_login_new(x->s, &vo, AB_VICTIM_USER, AB_VICTIM_PW);
	assert_non_null(v);
	c = hs_login_new(x->s, NULL, AB_ATTACKER_USER, AB_ATTACKER_PW);
	assert_non_null(c);
	pre = hs_connect(x->s, NULL);
	assert_non_null(pre);
	assert_non_null(hs_expect(pre, "HELLO ", 0, 2000));

	for (i = 0; i < n; i++) {
		const struct bad_case *b = &controls[i];
		size_t len;
		int ok;

		len = (size_t)snprintf(line, sizeof(line), "SEND victim ");
		memcpy(line + len, b->bytes, b->len);
		len += b->len;
		line[len++] = '\n';
		ok = expect_final(c, "ERR BAD_ARGS", line, len, got,
		    sizeof(got));
		total++;
		rejected += ok;
		if (!ok)
			ab_note(row, "SEND with %s: got \"%.60s\"", b->name,
			    got);
		/* The same bytes where the server might log them. */
		len = (size_t)snprintf(line, sizeof(line), "LOGIN ");
		memcpy(line + len, b->bytes, b->len);
		len += b->len;
		len += (size_t)snprintf(line + len, sizeof(line) - len,
		    " not-the-password-at-all\n");
		(void)expect_final(pre, "ERR", line, len, got, sizeof(got));
		len = 0;
		memcpy(line, b->bytes, b->len);
		len += b->len;
		line[len++] = '\n';
		(void)expect_final(c, "ERR", line, len, got, sizeof(got));
	}
	if (hs_command(c, &r, "SEND victim tab\tinside is fine") == 0 &&
	    strncmp(r.final, "OK SEND ", 8) == 0)
		tab_ok = 1;
	hs_reply_free(&r);
	stored = history_count(c, AB_VICTIM_USER);

	/* Whatever reached the victim, raw. */
	if (hs_command(v, &r, "PING done") == 0) {
		for (i = 0; i < r.nevents; i++)
			in_victim += raw_controls(r.events[i],
			    strlen(r.events[i]));
		for (i = 0; i < r.ndata; i++)
			in_victim += raw_controls(r.data[i], strlen(r.data[i]));
	}
	hs_reply_free(&r);
	log = hs_server_log(x->s);
	if (log != NULL)
		in_log = raw_controls(log, strlen(log));
	free(log);

	ab_figure(AB_EXACT, rejected == total, row, "rejected",
	    "100 % ERR BAD_ARGS", "%.1f %% (%zu of %zu)",
	    100.0 * (double)rejected / (double)total, rejected, total);
	ab_figure(AB_EXACT, tab_ok && stored == 1, row, "tab-accepted",
	    "TAB allowed, only it stored", "%s, %d stored",
	    tab_ok ? "yes" : "no", stored);
	ab_figure(AB_EXACT, in_victim == 0, row, "raw-controls-at-recipient",
	    "0", "%zu", in_victim);
	ab_figure(AB_EXACT, in_log == 0, row, "raw-controls-in-log", "0",
	    "%zu", in_log);
	hs_close(c);
	hs_close(v);
	hs_close(pre);
	ab_verdict();
}

/* ---- 100k pipelined PING, never reading ---------------------------- */

#define PIPELINE_PINGS	100000

/*
 * One round: a fresh attacker writes 100k PINGs at once and does not read
 * until the server has gone idle (it has taken what it could and stopped
 * reading); then it drains. Returns 0 when every complete PING the server
 * took was answered in order (or it said BYE slow consumer), else -1.
 */
static int
pipeline_round(struct ab_ctx *x, const char *row, const char *buf, size_t len,
    int round, long *peak)
{
	struct ab_sampler *sp;
	struct ab_tls *t;
	long rss;
	size_t answered = 0;
	char bye[128] = "";
	const char *l;
	int64_t t0, idle;
	ssize_t w;
	int rc;

	t = ab_tls_login(x->s, AB_ATTACKER, AB_ATTACKER_USER, AB_ATTACKER_PW);
	if (t == NULL) {
		ab_note(row, "round %d: login failed: %s", round,
		    ab_tls_error());
		return -1;
	}
	/* The login's argon2 memory is not part of this attack. */
	hs_sleep_ms(50);
	sp = ab_sampler_start(x->pid, 2);
	t0 = hs_now_ms();
	w = ab_tls_write(t, buf, len, 5000);
	idle = ab_wait_cpu_idle(x->pid, 5.0, 200, 20000);
	if (round == 0)
		ab_note(row, "round 0: wrote %zd of %zu bytes in %lld ms, "
		    "server idle %lld ms later", w, len,
		    (long long)(hs_now_ms() - t0), (long long)idle);
	while ((l = ab_tls_line(t, 3000)) != NULL) {
		if (strcmp(l, "OK PING") == 0) {
			if (++answered == (size_t)w / 5)
				break;
			continue;
		}
		snprintf(bye, sizeof(bye), "%s", l);
		break;
	}
	rss = ab_sampler_stop(sp);
	if (rss > *peak)
		*peak = rss;
	rc = (w > 0 && answered == (size_t)w / 5 && bye[0] == '\0') ||
	    strcmp(bye, "BYE slow consumer") == 0 ? 0 : -1;
	if (rc != 0)
		ab_note(row, "round %d: %zu of %zd answered%s%s", round,
		    answered, w / 5, bye[0] ? ", then " : "", bye);
	ab_tls_free(t, 0);
	return rc;
}

static void
pipelined_ping(void **state)
{
	const char *row = "pipelined-ping";
	struct ab_ctx *x = ab_start(row, NULL);
	struct ab_victim_stats vs;
	size_t len = (size_t)PIPELINE_PINGS * 5, i;
	int rounds = AB_COUNT(20, 100), round, good = 0;
	long rss0, peak;
	char *buf;

	*state = x;
	assert_non_null(x);
	buf = malloc(len);
	assert_non_null(buf);
	for (i = 0; i < PIPELINE_PINGS; i++)
		memcpy(buf + i * 5, "PING\n", 5);
	assert_int_equal(ab_victim_start(x->s), 0);
	hs_sleep_ms(300);
	rss0 = peak = ab_rss_kib(x->pid);
	for (round = 0; round < rounds; round++)
		good += pipeline_round(x, row, buf, len, round, &peak) == 0;
	ab_victim_stop(&vs);
	free(buf);

	ab_victim_report(row, &vs);
	ab_figure(AB_PERF, peak - rss0 < 2048, row, "rss-growth-kib",
	    "< 2048", "%ld (peak over the attacks, logins excluded; baseline "
	    "%ld KiB)", peak - rss0, rss0);
	ab_figure(AB_EXACT, good == rounds, row, "rounds-answered",
	    "all taken PINGs answered in order, or BYE slow consumer",
	    "%d of %d rounds", good, rounds);
	ab_verdict();
}

/* ---- messages_per_second (not a HARDENING row: the limit itself) ---- */

#define RATE		50	/* limits.messages_per_second default */
#define RATE_SENDS	300

static void
message_rate(void **state)
{
	const char *row = "message-rate";
	struct ab_ctx *x = ab_start(row, NULL);
	struct ab_tls *t;
	struct hs_client *c;
	struct hs_reply r;
	int i, ok = 0, limited = 0, other = 0, stored, again = 0;
	int64_t t0, elapsed;
	const char *l;

	*state = x;
	assert_non_null(x);
	t = ab_tls_login(x->s, AB_ATTACKER, AB_ATTACKER_USER, AB_ATTACKER_PW);
	assert_non_null(t);
	/* Let the bucket fill, then send as fast as the server answers. */
	hs_sleep_ms(2100);
	t0 = hs_now_ms();
	for (i = 0; i < RATE_SENDS; i++)
		if (ab_tls_send(t, "SEND victim rate-%d", i) != 0)
			break;
	for (i = 0; i < RATE_SENDS && (l = ab_tls_line(t, 10000)) != NULL;
	    i++) {
		if (strncmp(l, "OK SEND ", 8) == 0)
			ok++;
		else if (strncmp(l, "ERR RATE_LIMITED", 16) == 0)
			limited++;
		else
			other++;
	}
	elapsed = hs_now_ms() - t0;
	/* A full bucket again after a pause. */
	hs_sleep_ms(2100);
	if (ab_tls_send(t, "SEND victim rate-after") == 0 &&
	    (l = ab_tls_line(t, 5000)) != NULL && strncmp(l, "OK SEND ", 8) == 0)
		again = 1;
	ab_tls_free(t, 0);
	c = hs_login_new(x->s, NULL, AB_ATTACKER_USER, AB_ATTACKER_PW);
	assert_non_null(c);
	stored = -1;
	if (hs_command(c, &r, "HISTORY victim 500") == 0 &&
	    strncmp(r.final, "OK HISTORY ", 11) == 0)
		stored = (int)r.ndata;
	hs_reply_free(&r);
	hs_close(c);

	ab_figure(AB_EXACT, limited > 0 && other == 0 &&
	    ok <= 2 * RATE + RATE * (int)(elapsed / 1000 + 1) + 2, row,
	    "accepted", "<= 2 x rate burst + rate per second, the rest ERR "
	    "RATE_LIMITED", "%d OK, %d RATE_LIMITED, %d other in %lld ms",
	    ok, limited, other, (long long)elapsed);
	ab_figure(AB_EXACT, stored == ok + again, row, "stored",
	    "only the accepted", "%d (accepted %d)", stored, ok + again);
	ab_figure(AB_EXACT, again, row, "refills", "SEND accepted after 2 s",
	    "%s", again ? "yes" : "no");
	ab_verdict();
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test_teardown(message_rate, ab_teardown),
	cmocka_unit_test_teardown(long_line, ab_teardown),
	cmocka_unit_test_teardown(partial_line, ab_teardown),
	cmocka_unit_test_teardown(bad_utf8_input, ab_teardown),
	cmocka_unit_test_teardown(control_chars, ab_teardown),
	cmocka_unit_test_teardown(pipelined_ping, ab_teardown),
};

AB_MAIN("abuse-input", tests)
