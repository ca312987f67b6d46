/*
 * link: reconnect, catch up, never show a message twice.
 *
 * The link owns at most one session at a time and is the session's event
 * handler, so every MSG passes through shown() before the caller sees it;
 * HIST lines from a catch-up pass through the same filter. The filter is
 * a ring of the last LINK_RECENT ids shown: a catch-up only returns ids
 * above the highest one seen, so only messages that raced with it (sent
 * while the SYNC ran, or pushed again at login) can repeat, and those are
 * all recent.
 *
 * Catch-up pages with "SYNC <since> 500" until a page comes back empty:
 * the server may end a page early when it is large in bytes, so a short
 * page does not mean the end.
 */
#include "link.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <sodium.h>

#include "creds.h"
#include "display.h"
#include "line.h"

#define SYNC_PAGE 500
/* Waiting out ERR RATE_LIMITED on a SYNC: up to about 20 s in all. */
#define SYNC_RETRIES        12
#define SYNC_RETRY_FIRST_MS 50
#define SYNC_RETRY_MAX_MS   2000
/* Search steps start this far above the oldest visible id. */
#define PROBE_FIRST_STEP 1024

struct link {
	const struct session_opts *o;
	struct creds *cr;
	struct link_hooks h;
	void *arg;
	bool reconnect;
	bool can_sync;                  /* the server answers SYNC */
	struct session *s;              /* NULL while disconnected */
	uint64_t high;                  /* catch up from here */
	uint64_t recent[LINK_RECENT];   /* ring of ids shown */
	unsigned recent_pos, recent_n;
	unsigned attempt;               /* failures since a stable session */
	int64_t next_at;                /* monotonic ms of the next attempt */
};

int
link_parse_id(const char *s, uint64_t *id)
{
	char *end;

	if (s[0] < '0' || s[0] > '9')
		return -1;
	errno = 0;
	*id = strtoull(s, &end, 10);
	return (errno != 0 || *end != '\0') ? -1 : 0;
}

static void
notice(struct link *l, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
notice(struct link *l, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (l->h.on_notice != NULL)
		l->h.on_notice(l->arg, msg);
	else
		session_errorf("%s", msg);
}

/* ---- the filter of ids shown ------------------------------------ */

static bool
was_shown(const struct link *l, uint64_t id)
{
	unsigned i;

	for (i = 0; i < l->recent_n; i++)
		if (l->recent[i] == id)
			return true;
	return false;
}

void
link_note_shown(struct link *l, uint64_t id)
{
	if (was_shown(l, id))
		return;
	l->recent[l->recent_pos] = id;
	l->recent_pos = (l->recent_pos + 1) % LINK_RECENT;
	if (l->recent_n < LINK_RECENT)
		l->recent_n++;
}

/*
 * Pass a MSG or HIST line to on_msg unless its id was shown already.
 * Returns 1 shown, 0 skipped, -1 malformed.
 */
static int
deliver(struct link *l, const char *line, size_t len, bool caught_up)
{
	struct proto_msg m;
	char esc[256];
	uint64_t id;

	if (proto_parse_msg(line, len, &m) != 0 ||
	    link_parse_id(m.id, &id) != 0) {
		display_escape(esc, sizeof(esc), line, len);
		session_errorf("ignoring a malformed line from the server: %s",
		    esc);
		return -1;
	}
	if (was_shown(l, id))
		return 0;
	link_note_shown(l, id);
	/* Only messages that reached us move the catch-up point. */
	if (id > l->high)
		l->high = id;
	if (l->h.on_msg != NULL)
		l->h.on_msg(l->arg, &m, caught_up);
	return 1;
}

static void
link_event(void *arg, const char *line, size_t len)
{
	struct link *l = arg;

	if (proto_keyword_is(line, len, "MSG"))
		(void)deliver(l, line, len, false);
	else if (l->h.on_event != NULL)
		l->h.on_event(l->arg, line, len);
}

/* ---- SYNC ------------------------------------------------------- */

struct page {
	struct link *l;
	bool show;                      /* catch-up: deliver; probe: no */
	unsigned long shown;
};

static void
page_line(void *arg, const char *line, size_t len)
{
	struct page *p = arg;

	if (p->show && proto_keyword_is(line, len, "HIST") &&
	    deliver(p->l, line, len, true) == 1)
		p->shown++;
}

static void
sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		continue;
}

/*
 * Send "SYNC since limit" and wait for its answer. Sets *n and *last from
 * "OK SYNC <n> <last-id>". SYNC counts against the server's command rate,
 * so RATE_LIMITED (and UNAVAILABLE) are waited out, a few times. Returns
 * SESSION_EXIT_OK, SESSION_EXIT_REFUSED for another ERR (the server
 * cannot SYNC), or SESSION_EXIT_LOST.
 */
static int
sync_page(struct link *l, struct page *p, uint64_t since, unsigned limit,
    uint64_t *n, uint64_t *last)
{
	struct line_cursor c;
	char tok[32], *line;
	size_t len, tl;
	int rc, tries, delay = SYNC_RETRY_FIRST_MS;

	for (tries = 0;; tries++) {
		rc = session_sendf(l->s, "SYNC %llu %u",
		    (unsigned long long)since, limit);
		if (rc != SESSION_EXIT_OK)
			return SESSION_EXIT_LOST;
		rc = session_await(l->s, page_line, p, &line, &len);
		if (rc != SESSION_EXIT_OK)
			return SESSION_EXIT_LOST;
		if (tries >= SYNC_RETRIES ||
		    !(proto_keyword_is(line, len, "ERR RATE_LIMITED") ||
		    proto_keyword_is(line, len, "ERR UNAVAILABLE")))
			break;
		sleep_ms(delay);
		delay = delay * 2 > SYNC_RETRY_MAX_MS ? SYNC_RETRY_MAX_MS :
		    delay * 2;
	}
	if (!proto_keyword_is(line, len, "OK")) {
		proto_report_err("SYNC failed", line, len);
		return SESSION_EXIT_REFUSED;
	}
	line_cursor_init(&c, line, len);
	if (line_token(&c, tok, sizeof(tok), &tl) != 1 ||
	    line_token(&c, tok, sizeof(tok), &tl) != 1 ||
	    line_token(&c, tok, sizeof(tok), &tl) != 1 ||
	    link_parse_id(tok, n) != 0 ||
	    line_token(&c, tok, sizeof(tok), &tl) != 1 ||
	    link_parse_id(tok, last) != 0) {
		session_errorf("malformed answer to SYNC");
		return SESSION_EXIT_REFUSED;
	}
	return SESSION_EXIT_OK;
}

/*
 * The smallest visible id above x into *found (0: none): with limit 1,
 * last-id is the id of the one line.
 */
static int
probe(struct link *l, uint64_t x, uint64_t *found)
{
	struct page p = { l, false, 0 };
	uint64_t n, last;
	int rc;

	rc = sync_page(l, &p, x, 1, &n, &last);
	*found = (rc == SESSION_EXIT_OK && n > 0) ? last : 0;
	return rc;
}

/*
 * Find the newest message id visible now, the starting point of later
 * catch-ups. Invariant of the second loop: lo is a visible id (or 0) and
 * no visible id is above hi.
 */
static int
find_start(struct link *l)
{
	uint64_t lo, hi, mid, r, step = PROBE_FIRST_STEP;
	int rc;

	if ((rc = probe(l, 0, &lo)) != SESSION_EXIT_OK)
		return rc;
	if (lo == 0)
		goto done;
	for (;;) {
		hi = lo > UINT64_MAX - step ? UINT64_MAX : lo + step;
		if ((rc = probe(l, hi, &r)) != SESSION_EXIT_OK)
			return rc;
		if (r == 0 || hi == UINT64_MAX)
			break;
		lo = r;
		if (step < UINT64_MAX / 2)
			step *= 2;
	}
	while (lo < hi) {
		mid = lo + (hi - lo) / 2 + 1;   /* lo < mid <= hi */
		if ((rc = probe(l, mid - 1, &r)) != SESSION_EXIT_OK)
			return rc;
		if (r == 0) {
			hi = mid - 1;
		} else {
			lo = r;
			if (r > hi)             /* a new message meanwhile */
				hi = r;
		}
	}
done:
	if (lo > l->high)
		l->high = lo;
	return SESSION_EXIT_OK;
}

/* SYNC from the highest id seen until a page comes back empty. */
static int
catch_up(struct link *l, unsigned long *shown)
{
	struct page p = { l, true, 0 };
	uint64_t n, since = l->high, last;
	int rc;

	for (;;) {
		rc = sync_page(l, &p, since, SYNC_PAGE, &n, &last);
		if (rc != SESSION_EXIT_OK)
			break;
		if (last > l->high)
			l->high = last;
		if (n == 0 || last <= since)
			break;
		since = last;
	}
	*shown = p.shown;
	return rc;
}

/* ---- connecting ------------------------------------------------- */

struct link *
link_new(const struct session_opts *o, struct creds *cr,
    const struct link_hooks *hooks, void *arg, bool reconnect)
{
	struct link *l = calloc(1, sizeof(*l));

	if (l == NULL) {
		session_errorf("out of memory");
		return NULL;
	}
	l->o = o;
	l->cr = cr;
	l->h = *hooks;
	l->arg = arg;
	l->reconnect = reconnect;
	l->can_sync = reconnect;
	return l;
}

void
link_free(struct link *l)
{
	if (l == NULL)
		return;
	session_free(l->s);
	free(l);
}

struct session *
link_session(const struct link *l)
{
	return l->s;
}

int
link_open(struct link *l)
{
	int rc;

	rc = session_start(l->o, l->cr, link_event, l, &l->s);
	if (rc != SESSION_EXIT_OK || !l->can_sync)
		return rc;
	rc = find_start(l);
	if (rc == SESSION_EXIT_REFUSED) {
		/* An older server: reconnect anyway, without catching up. */
		notice(l, "no starting point for catching up (SYNC failed): "
		    "messages sent while the connection is down will be "
		    "missed");
		l->can_sync = false;
		return SESSION_EXIT_OK;
	}
	return rc;
}

/* Schedule the next attempt: exponential, capped, with jitter. */
static void
schedule(struct link *l)
{
	int64_t delay = LINK_BACKOFF_FIRST_MS;
	unsigned i;

	for (i = 0; i < l->attempt && delay < LINK_BACKOFF_MAX_MS; i++)
		delay *= 2;
	if (delay > LINK_BACKOFF_MAX_MS)
		delay = LINK_BACKOFF_MAX_MS;
	/* Half fixed, half random: clients dropped together spread out. */
	delay = delay / 2 + (int64_t)randombytes_uniform(
	    (uint32_t)(delay / 2) + 1);
	l->attempt++;
	l->next_at = session_now_ms() + delay;
	notice(l, "reconnecting in %.1f s", (double)delay / 1000.0);
}

/* BYE reasons after which coming back would be wrong. */
static bool
final_bye(const char *bye)
{
	return bye != NULL && (strncasecmp(bye, "kicked", 6) == 0 ||
	    strncasecmp(bye, "too many failed logins", 22) == 0);
}

int
link_down(struct link *l)
{
	const char *bye;
	bool final;

	if (l->s == NULL)
		return SESSION_EXIT_OK;
	bye = session_bye(l->s);
	final = final_bye(bye);
	if (session_age_ms(l->s) >= LINK_STABLE_MS)
		l->attempt = 0;
	session_free(l->s);
	l->s = NULL;
	if (final || !l->reconnect)
		return SESSION_EXIT_LOST;
	schedule(l);
	return SESSION_EXIT_OK;
}

int
link_wait_ms(const struct link *l)
{
	int64_t left = l->next_at - session_now_ms();

	return left <= 0 ? 0 : left > 60000 ? 60000 : (int)left;
}

int
link_retry(struct link *l)
{
	unsigned long shown = 0;
	int rc;

	if (l->s != NULL)
		return SESSION_EXIT_OK;
	rc = session_start(l->o, l->cr, link_event, l, &l->s);
	switch (rc) {
	case SESSION_EXIT_OK:
		break;
	case SESSION_EXIT_CONNECT:
	case SESSION_EXIT_TLS:
	case SESSION_EXIT_LOST:
	case SESSION_EXIT_REFUSED:
		/* Down, restarting, overloaded: worth another try. */
		schedule(l);
		return LINK_AGAIN;
	default:
		/* Refused login, certificate problems: final. */
		return rc;
	}
	if (l->can_sync) {
		rc = catch_up(l, &shown);
		if (rc == SESSION_EXIT_LOST) {
			rc = link_down(l);
			return rc == SESSION_EXIT_OK ? LINK_AGAIN : rc;
		}
	}
	notice(l, "reconnected; %lu missed message%s caught up", shown,
	    shown == 1 ? "" : "s");
	return SESSION_EXIT_OK;
}

int
link_reconnect(struct link *l)
{
	int rc;

	for (;;) {
		sleep_ms(link_wait_ms(l));
		rc = link_retry(l);
		if (rc != LINK_AGAIN)
			return rc;
	}
}
