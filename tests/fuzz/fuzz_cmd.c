/*
 * libFuzzer target for the command dispatcher (server/cmd*.c) and what it
 * drives: route, session, throttle, token and stats are linked as they
 * are; conn, storage and auth are replaced by in-memory fakes defined
 * here, which keep the contracts of conn.h, storage.h and auth.h.
 *
 *  - conn: a struct conn per simulated peer. Its "socket" is a byte queue
 *    read through the real line framer (common/line.h) the way conn.c
 *    does: lines are only taken while the connection is not busy and not
 *    over the output high-water mark. Output is not sent anywhere: every
 *    queued line is checked against the protocol (below) and counted
 *    against max_output_bytes; a peer reads it all at the end of each
 *    loop turn unless the input made it stop reading. Closing, slow
 *    consumers (doom, then close in the flush pass), conn_when_writable
 *    and freeing once the handles are closed and the last reference is
 *    gone all follow conn.c, so a job that outlives its connection is a
 *    use after free ASan reports.
 *  - storage: a FIFO of jobs run on a private ":memory:" store (fresh for
 *    every input) in batches, one transaction per batch with the same
 *    one-by-one retry as storage.c, each done() after the batch commits.
 *    The input decides when batches run, so completions interleave with
 *    other connections' commands as they do with the storage thread.
 *  - auth: the pipeline of auth.c (lookup job, hash, session_start or the
 *    same failure answer, throttling, PASSWD revoking the other sessions)
 *    with argon2 replaced by an unsalted BLAKE2b and the thread pool by a
 *    FIFO the input drains. Accounts made at the start of every input:
 *    alice (admin), bob, carol and dave (locked), each with the password
 *    "pw-<name>".
 *
 * Checked on every line queued for a peer (abort() on failure): the chunk
 * ends with LF; each line is non-empty, valid UTF-8 and plain text (no C0
 * but TAB, no DEL, C1 or bidi controls); its first word is a known final
 * (OK, ERR), data (HELP ROOM MEMBER HIST STAT) or event (HELLO MSG JOINED
 * LEFT PRESENCE BYE) keyword. Every final answers the oldest unanswered
 * command of that connection, an OK names its command, an ERR carries a
 * SPEC code; data lines belong to the command being answered, come right
 * before its final with nothing in between, and their number is the count
 * in that final; HIST lines are in id order and SYNC's last-id is the last
 * one. OK SEND ids strictly increase; a MSG is never delivered to the
 * connection that sent it, nor twice to one connection, nor a direct
 * message to anyone but its two parties; events reach logged-in sessions
 * only. Whenever a connection is open, not busy and not doomed, every
 * command it was given has had exactly one final line. A connection runs
 * one asynchronous command at a time (busy is 0 or 1, resumed once),
 * refs never go below zero, CLOSING is final and a session is never
 * demoted. Whenever no job is in flight, route agrees with the store: a
 * probe sent to each room reaches exactly the sessions of its members.
 * At the end of an input nobody is left busy or unanswered, and once
 * everyone has disconnected every connection, job and route entry is gone.
 *
 * FUZZ_CMD_TRACE=1 in the environment prints every line in and out
 * ("<conn id>< line", "<conn id>> line") and the server's debug log, to
 * read a reproducer by.
 *
 * Input layout:
 *   [0]   bit 0: auth.allow_register; bit 1: three peers (else two);
 *         bit 2: max_line_bytes 512 (else 8192); bit 3: max_output_bytes
 *         16 KiB (else 1 MiB); bit 4: all peers from one address;
 *         bit 5: max_failed_logins 2 (else 5)
 *   [1]   the account each peer logs in as before the first event, two
 *         bits per peer from bit 0: none, alice, bob, carol
 *   rest  events, one per LF-separated record: the first byte b picks the
 *         peer (b % 3, modulo the number of peers) and an action
 *         ((b / 3) % 8, applied after the record's bytes are queued):
 *           0 ('0' '1' '2')  run the loop until nothing is left to do
 *           1 ('3' '4' '5')  one loop turn; store and hashes wait
 *           2 ('6' '7' '8')  one turn, then one storage batch
 *           3 ('9' ':' ';')  one turn, then one hash completes
 *           4 ('<' '=' '>')  the clock advances 1 s, then as 0
 *           5 ('?' '@' 'A')  the peer stops (or starts again) reading its
 *                            output, then as 0
 *           6 ('B' 'C' 'D')  one turn, then the peer drops the connection
 *           7 ('E' 'F' 'G')  one turn, then one storage batch that fails
 *         The other bytes plus an LF go to that peer's socket, with "$T"
 *         replaced by the last token an OK TOKEN line handed out. A peer
 *         whose connection has closed connects again.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <unistd.h>
#include <sodium.h>

#include "auth.h"
#include "clock.h"
#include "cmd.h"
#include "config.h"
#include "conn.h"
#include "line.h"
#include "log.h"
#include "names.h"
#include "parley_limits.h"
#include "pwhash.h"
#include "route.h"
#include "server.h"
#include "session.h"
#include "storage.h"
#include "store.h"
#include "throttle.h"
#include "token.h"
#include "utf8.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

#define PEERS_MAX       3
#define WAIT_MAX        64      /* unanswered commands per connection */
#define KW_MAX          16      /* as cmd_dispatch's keyword buffer */

/* ---- the fake connection ---- */

struct conn {
	uint64_t id;
	enum conn_state state;
	struct line_framer in;
	uint8_t *sock;                  /* bytes the peer sent, not yet read */
	size_t sock_len, sock_pos, sock_cap;
	size_t out_len;                 /* queued, not yet read by the peer */
	bool stalled;                   /* the peer does not read */
	const char *doomed;             /* close reason for the flush pass */
	bool handles_closed;
	unsigned refs;
	unsigned busy;
	unsigned sends;                 /* SENDs in the store */
	unsigned failed_logins;
	int role;
	struct session *session;
	conn_writable_fn wcb;
	void *warg;
	int64_t rate_milli;
	uint64_t rate_at;
	unsigned char ipkey[16];
	char peer[32];
	char user[NAMES_USER_MAX + 1];

	/* What the checker knows about this connection's output. */
	char wait[WAIT_MAX][KW_MAX];    /* commands without a final line */
	unsigned whead, nwait;
	bool in_data;                   /* inside a command's data lines */
	unsigned ndata;
	uint64_t last_hist;
	uint8_t *seen;                  /* MSG ids this connection got */
	size_t seen_cap;
	bool probed;                    /* reached by a route probe */

	TAILQ_ENTRY(conn) link;
};

static TAILQ_HEAD(, conn) conns = TAILQ_HEAD_INITIALIZER(conns);
static unsigned nconns;
static uint64_t next_conn_id;
static uint64_t now_ms;                 /* the fake loop clock */
static bool probing;                    /* conn_write only marks c->probed */
static bool trace;                      /* FUZZ_CMD_TRACE set: print lines */
static unsigned progress;               /* bumped whenever work was done */

/* Per input: what the checker tracks across connections. */
static uint64_t last_send_id;
static uint64_t *sender;                /* message id -> sending conn id */
static size_t sender_cap;
static char last_token[TOKEN_TEXT_MAX];

/* Make the zero-filled array *pp (*cap elements) hold index need. */
static void
grow(void *pp, size_t *cap, size_t need, size_t elem)
{
	void **p = pp;
	size_t n = *cap ? *cap : 64;
	void *q;

	if (need < *cap)
		return;
	while (n <= need)
		n *= 2;
	q = realloc(*p, n * elem);
	CHECK(q != NULL);
	memset((char *)q + *cap * elem, 0, (n - *cap) * elem);
	*p = q;
	*cap = n;
}

/* ---- the output checker ---- */

struct words {
	const char *w[6];
	size_t len[6];
	size_t n;
	const char *rest;               /* after the fifth word: message text */
	size_t rest_len;
};

/* Split at single spaces; the sixth field is the rest of the line. */
static void
split(const char *s, size_t len, struct words *ws)
{
	size_t i = 0;

	memset(ws, 0, sizeof(*ws));
	while (ws->n < 6 && i <= len) {
		const char *sp;
		size_t l;

		if (ws->n == 5) {
			ws->w[5] = ws->rest = s + i;
			ws->len[5] = ws->rest_len = len - i;
			ws->n++;
			break;
		}
		sp = memchr(s + i, ' ', len - i);
		l = sp ? (size_t)(sp - (s + i)) : len - i;
		ws->w[ws->n] = s + i;
		ws->len[ws->n] = l;
		ws->n++;
		if (sp == NULL)
			break;
		i += l + 1;
	}
}

static bool
is(const char *w, size_t len, const char *lit)
{
	return len == strlen(lit) && memcmp(w, lit, len) == 0;
}

static uint64_t
number(const char *w, size_t len)
{
	uint64_t n = 0;
	size_t i;

	CHECK(len > 0 && len <= 20);
	for (i = 0; i < len; i++) {
		CHECK(w[i] >= '0' && w[i] <= '9');
		n = n * 10 + (uint64_t)(w[i] - '0');
	}
	return n;
}

static void
check_user(const char *w, size_t len)
{
	char norm[NAMES_USER_MAX + 1];

	CHECK(names_user_norm(w, len, norm) == 0);
	CHECK(memcmp(norm, w, len) == 0);       /* sent lowercase */
}

static void
check_target(const char *w, size_t len)
{
	char norm[NAMES_ROOM_MAX + 1];

	if (len > 0 && w[0] == '#') {
		CHECK(names_room_norm(w, len, norm) == 0);
		CHECK(memcmp(norm, w, len) == 0);
	} else {
		check_user(w, len);
	}
}

/* MSG and HIST: <kw> <id> <time> <from> <to> <text>. Returns the id. */
static uint64_t
check_message(const struct conn *c, const struct words *ws)
{
	uint64_t id;

	CHECK(ws->n == 6 && ws->rest_len > 0);
	id = number(ws->w[1], ws->len[1]);
	CHECK(id > 0);
	CHECK(ws->len[2] == CLOCK_RFC3339_LEN - 1 && ws->w[2][23] == 'Z');
	check_user(ws->w[3], ws->len[3]);
	check_target(ws->w[4], ws->len[4]);
	/* A direct message is for its two parties only. */
	if (ws->w[4][0] != '#')
		CHECK(is(ws->w[3], ws->len[3], c->user) ||
		    is(ws->w[4], ws->len[4], c->user));
	return id;
}

static const char *const err_codes[] = {
	"BAD_COMMAND", "BAD_ARGS", "NOT_AUTHENTICATED", "ALREADY_AUTHENTICATED",
	"AUTH_FAILED", "RATE_LIMITED", "NO_SUCH_USER", "NO_SUCH_ROOM",
	"NOT_MEMBER", "NO_KEY", "FORBIDDEN", "LINE_TOO_LONG", "BAD_UTF8",
	"TOO_MANY", "UNAVAILABLE", "INTERNAL",
};

/* The data keyword a command's listing uses ("" for none). */
static const char *
data_kind_of(const char *kw)
{
	if (strcmp(kw, "HELP") == 0)
		return "HELP";
	if (strcmp(kw, "ROOMS") == 0)
		return "ROOM";
	if (strcmp(kw, "WHO") == 0)
		return "MEMBER";
	if (strcmp(kw, "HISTORY") == 0 || strcmp(kw, "SYNC") == 0)
		return "HIST";
	if (strcmp(kw, "STATS") == 0)
		return "STAT";
	return "";
}

static void
check_final(struct conn *c, const struct words *ws, bool ok)
{
	const char *kw;
	size_t i;

	/* Exactly one final line per command, in command order. */
	CHECK(c->nwait > 0);
	kw = c->wait[c->whead];
	if (!ok) {
		bool known = false;

		CHECK(ws->n >= 3 && ws->len[2] > 0);    /* code and text */
		for (i = 0; i < sizeof(err_codes) / sizeof(err_codes[0]); i++)
			known |= is(ws->w[1], ws->len[1], err_codes[i]);
		CHECK(known);
	} else {
		CHECK(kw[0] != '\0' && ws->n >= 2 && is(ws->w[1], ws->len[1], kw));
		if (data_kind_of(kw)[0] != '\0') {
			CHECK(ws->n >= 3);
			CHECK(number(ws->w[2], ws->len[2]) == c->ndata);
		}
		if (strcmp(kw, "SYNC") == 0) {
			CHECK(ws->n >= 4);
			if (c->ndata > 0)
				CHECK(number(ws->w[3], ws->len[3]) == c->last_hist);
		} else if (strcmp(kw, "SEND") == 0) {
			uint64_t id;

			CHECK(ws->n == 3);
			id = number(ws->w[2], ws->len[2]);
			CHECK(id > last_send_id);
			last_send_id = id;
			grow(&sender, &sender_cap, id, sizeof(*sender));
			sender[id] = c->id;
		} else if (strcmp(kw, "LOGIN") == 0 ||
		    strcmp(kw, "RESUME") == 0 || strcmp(kw, "REGISTER") == 0 ||
		    strcmp(kw, "WHOAMI") == 0) {
			CHECK(ws->n >= 3 && is(ws->w[2], ws->len[2], c->user));
			CHECK(c->state == CONN_S_READY);
		} else if (strcmp(kw, "TOKEN") == 0) {
			CHECK(ws->n >= 4 && ws->len[2] < sizeof(last_token));
			memcpy(last_token, ws->w[2], ws->len[2]);
			last_token[ws->len[2]] = '\0';
		}
	}
	c->whead = (c->whead + 1) % WAIT_MAX;
	c->nwait--;
	c->in_data = false;
	c->ndata = 0;
	c->last_hist = 0;
}

static void
check_data(struct conn *c, const struct words *ws, const char *kind)
{
	CHECK(c->nwait > 0);
	CHECK(strcmp(data_kind_of(c->wait[c->whead]), kind) == 0);
	CHECK(c->ndata == 0 || c->in_data);
	c->in_data = true;
	c->ndata++;
	if (strcmp(kind, "HIST") == 0) {
		uint64_t id = check_message(c, ws);

		CHECK(id > c->last_hist);       /* oldest first */
		c->last_hist = id;
	}
}

static void
check_event(struct conn *c, const struct words *ws)
{
	/* Never inside a command's data lines. */
	CHECK(!c->in_data);
	if (is(ws->w[0], ws->len[0], "HELLO") || is(ws->w[0], ws->len[0], "BYE"))
		return;
	/* The rest are for sessions only. */
	CHECK(c->state == CONN_S_READY && c->user[0] != '\0');
	if (is(ws->w[0], ws->len[0], "MSG")) {
		uint64_t id = check_message(c, ws);

		CHECK(id >= sender_cap || sender[id] != c->id);
		grow(&c->seen, &c->seen_cap, id, 1);
		CHECK(!c->seen[id]);
		c->seen[id] = 1;
	} else if (is(ws->w[0], ws->len[0], "PRESENCE")) {
		CHECK(ws->n == 3);
		check_user(ws->w[1], ws->len[1]);
		CHECK(is(ws->w[2], ws->len[2], "online") ||
		    is(ws->w[2], ws->len[2], "offline"));
	} else {
		CHECK(ws->n == 3);
		check_target(ws->w[1], ws->len[1]);
		CHECK(ws->w[1][0] == '#');
		check_user(ws->w[2], ws->len[2]);
	}
}

static void
check_line(struct conn *c, const char *s, size_t len)
{
	static const char *const data_kw[] = {
		"HELP", "ROOM", "MEMBER", "HIST", "STAT",
	};
	static const char *const event_kw[] = {
		"HELLO", "MSG", "JOINED", "LEFT", "PRESENCE", "BYE",
	};
	struct words ws;
	size_t i;

	CHECK(len > 0);
	CHECK(utf8_valid(s, len) && utf8_text_ok(s, len));
	split(s, len, &ws);
	if (is(ws.w[0], ws.len[0], "OK") || is(ws.w[0], ws.len[0], "ERR")) {
		check_final(c, &ws, ws.w[0][0] == 'O');
		return;
	}
	for (i = 0; i < sizeof(data_kw) / sizeof(data_kw[0]); i++) {
		if (is(ws.w[0], ws.len[0], data_kw[i])) {
			check_data(c, &ws, data_kw[i]);
			return;
		}
	}
	for (i = 0; i < sizeof(event_kw) / sizeof(event_kw[0]); i++) {
		if (is(ws.w[0], ws.len[0], event_kw[i])) {
			check_event(c, &ws);
			return;
		}
	}
	abort();        /* a line no client could classify */
}

static void
check_chunk(struct conn *c, const char *p, size_t len)
{
	const char *end = p + len;

	CHECK(len > 0 && p[len - 1] == '\n');
	if (trace)
		fprintf(stderr, "%llu> %.*s", (unsigned long long)c->id,
		    (int)len, p);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		check_line(c, p, (size_t)(nl - p));
		p = nl + 1;
	}
}

/* A command the connection now owes one final line for. */
static void
expect_final(struct conn *c, const char *line, size_t len)
{
	struct line_cursor lc;
	char kw[KW_MAX];
	size_t kwlen, i;

	CHECK(c->nwait < WAIT_MAX);
	kw[0] = '\0';
	if (line != NULL) {
		line_cursor_init(&lc, line, len);
		if (line_token(&lc, kw, sizeof(kw), &kwlen) != 1)
			kw[0] = '\0';
		for (i = 0; kw[i] != '\0'; i++)
			if (kw[i] >= 'a' && kw[i] <= 'z')
				kw[i] = (char)(kw[i] - 'a' + 'A');
	}
	memcpy(c->wait[(c->whead + c->nwait) % WAIT_MAX], kw, sizeof(kw));
	c->nwait++;
	progress++;
}

/* ---- conn.h ---- */

uint64_t conn_id(const struct conn *c) { return c->id; }
enum conn_state conn_state(const struct conn *c) { return c->state; }
const char *conn_peer(const struct conn *c) { return c->peer; }
const char *conn_user(const struct conn *c) { return c->user; }
int conn_role(const struct conn *c) { return c->role; }
bool conn_closing(const struct conn *c) { return c->state == CONN_S_CLOSING; }
void *conn_ssl(struct conn *c) { (void)c; return NULL; }
struct session *conn_session(struct conn *c) { return c->session; }
unsigned conn_count(void) { return nconns; }
const unsigned char *conn_ipkey(const struct conn *c) { return c->ipkey; }

void
conn_set_session(struct conn *c, struct session *s)
{
	/* One session per connection: no silent replacement. */
	CHECK(s == NULL || c->session == NULL);
	c->session = s;
}

unsigned
conn_failed_login(struct conn *c)
{
	return ++c->failed_logins;
}

static bool
over_high_water(const struct conn *c)
{
	return c->out_len > srv.cfg.max_output_bytes / 2;
}

static bool
writable(const struct conn *c)
{
	return c->out_len <= srv.cfg.max_output_bytes / 4;
}

void
conn_enter_state(struct conn *c, enum conn_state s)
{
	/* Nothing leaves CLOSING; a session is never demoted. */
	CHECK(c->state != CONN_S_CLOSING);
	CHECK(c->state != CONN_S_READY || s == CONN_S_CLOSING);
	c->state = s;
}

bool
conn_rate_ok(struct conn *c)
{
	int64_t cap = (int64_t)srv.cfg.messages_per_second * 2 * 1000;

	if (now_ms > c->rate_at) {
		c->rate_milli += (int64_t)(now_ms - c->rate_at) *
		    (int64_t)srv.cfg.messages_per_second;
		if (c->rate_milli > cap)
			c->rate_milli = cap;
		c->rate_at = now_ms;
	}
	if (c->rate_milli < 1000)
		return false;
	c->rate_milli -= 1000;
	return true;
}

void
conn_ref(struct conn *c)
{
	c->refs++;
}

static void
maybe_free(struct conn *c)
{
	if (!c->handles_closed || c->refs > 0)
		return;
	TAILQ_REMOVE(&conns, c, link);
	nconns--;
	line_free(&c->in);
	free(c->sock);
	free(c->seen);
	free(c);
}

void
conn_unref(struct conn *c)
{
	CHECK(c->refs > 0);
	c->refs--;
	maybe_free(c);
}

static void
call_writable(struct conn *c)
{
	conn_writable_fn fn = c->wcb;

	if (fn != NULL) {
		c->wcb = NULL;
		progress++;
		fn(c, c->warg);
	}
}

void
conn_when_writable(struct conn *c, conn_writable_fn fn, void *arg)
{
	CHECK(fn != NULL && c->wcb == NULL);    /* one callback at a time */
	c->wcb = fn;
	c->warg = arg;
	if (c->state == CONN_S_CLOSING)
		call_writable(c);
}

static void
begin_close(struct conn *c)
{
	if (c->session != NULL)
		route_session_remove(c);
	conn_enter_state(c, CONN_S_CLOSING);
	call_writable(c);
}

void
conn_close(struct conn *c, const char *bye_reason)
{
	if (c->state == CONN_S_CLOSING)
		return;
	if (bye_reason != NULL) {
		char line[256];
		int n = snprintf(line, sizeof(line), "BYE %s\n", bye_reason);

		if (n < 0 || (size_t)n >= sizeof(line))
			n = (int)strlen(strcpy(line, "BYE closing\n"));
		/* Goes out even past the cap (conn.c keeps slack for it). */
		check_chunk(c, line, (size_t)n);
		c->out_len += (size_t)n;
	}
	begin_close(c);
}

void
conn_quit(struct conn *c)
{
	if (c->state != CONN_S_CLOSING)
		begin_close(c);
}

/* The peer went away: no BYE, nothing more is sent. */
static void
conn_abort(struct conn *c)
{
	if (c->state != CONN_S_CLOSING)
		begin_close(c);
	c->handles_closed = true;
}

int
conn_write(struct conn *c, const void *data, size_t len)
{
	if (c->state == CONN_S_CLOSING || c->state == CONN_S_HANDSHAKE ||
	    c->doomed != NULL)
		return -1;
	if (probing) {
		c->probed = true;
		return 0;
	}
	if (c->out_len + len > srv.cfg.max_output_bytes) {
		/* conn.c drops what is queued and closes in the flush pass. */
		c->doomed = "slow consumer";
		c->out_len = 0;
		return -1;
	}
	check_chunk(c, data, len);
	c->out_len += len;
	return 0;
}

int
conn_printf(struct conn *c, const char *fmt, ...)
{
	va_list ap;
	char *p;
	int n, r;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	CHECK(n >= 0);
	p = malloc((size_t)n + 2);
	CHECK(p != NULL);
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	p[n] = '\n';
	r = conn_write(c, p, (size_t)n + 1);
	free(p);
	return r;
}

void
conn_err(struct conn *c, const char *code, const char *text)
{
	conn_printf(c, "ERR %s %s", code, text);
}

void
conn_busy(struct conn *c)
{
	/* One asynchronous command at a time: lines wait meanwhile. */
	CHECK(c->busy == 0);
	c->busy++;
}

void
conn_resume(struct conn *c)
{
	CHECK(c->busy > 0);
	c->busy--;
}

/*
 * The real connection pipelines SENDs; here each one holds the
 * connection busy, one of the orders the real one may produce (the
 * ordering checks above hold for both).
 */
void
conn_send_begin(struct conn *c)
{
	c->sends++;
	conn_busy(c);
}

void
conn_send_end(struct conn *c)
{
	CHECK(c->sends > 0);
	c->sends--;
	if (c->busy > 0)
		c->busy--;
}

unsigned
conn_sends(const struct conn *c)
{
	return c->sends;
}

void
conn_set_user(struct conn *c, const char *user, int role)
{
	CHECK(c->state == CONN_S_GREETED || c->state == CONN_S_AUTHENTICATING);
	snprintf(c->user, sizeof(c->user), "%s", user);
	c->role = role;
	conn_enter_state(c, CONN_S_READY);
}

static struct conn *
conn_new(unsigned slot, bool shared_addr)
{
	struct conn *c = calloc(1, sizeof(*c));

	CHECK(c != NULL);
	c->id = ++next_conn_id;
	c->state = CONN_S_GREETED;
	line_init(&c->in, srv.cfg.max_line_bytes);
	c->rate_milli = (int64_t)srv.cfg.messages_per_second * 2 * 1000;
	c->rate_at = now_ms;
	c->ipkey[15] = shared_addr ? 1 : (unsigned char)(1 + slot);
	snprintf(c->peer, sizeof(c->peer), "127.0.0.%u:%llu", c->ipkey[15],
	    (unsigned long long)(40000 + c->id));
	TAILQ_INSERT_TAIL(&conns, c, link);
	nconns++;
	conn_printf(c, "HELLO parley/1 %s", srv.cfg.name);
	return c;
}

static void
sock_append(struct conn *c, const void *p, size_t len)
{
	grow(&c->sock, &c->sock_cap, c->sock_len + len, 1);
	memcpy(c->sock + c->sock_len, p, len);
	c->sock_len += len;
}

/* conn.c's conn_process() without TLS: frame, dispatch, stop when busy. */
static void
conn_process(struct conn *c)
{
	char *line;
	size_t len;

	if (c->wcb != NULL && writable(c))
		call_writable(c);
	while (c->state != CONN_S_CLOSING && c->busy == 0 &&
	    !over_high_water(c)) {
		size_t avail, n;
		uint8_t *p;

		switch (line_next(&c->in, &line, &len)) {
		case LINE_OK:
			if (trace)
				fprintf(stderr, "%llu< %.*s\n",
				    (unsigned long long)c->id, (int)len, line);
			expect_final(c, line, len);
			cmd_dispatch(c, line, len);
			continue;
		case LINE_TOO_LONG:
			expect_final(c, NULL, 0);
			conn_err(c, "LINE_TOO_LONG", "line too long");
			continue;
		case LINE_BAD_UTF8:
			expect_final(c, NULL, 0);
			conn_err(c, "BAD_UTF8", "line is not valid UTF-8");
			continue;
		case LINE_NEED_MORE:
			break;
		}
		if (c->sock_pos == c->sock_len)
			break;
		p = line_wptr(&c->in, &avail);
		CHECK(p != NULL && avail > 0);
		n = c->sock_len - c->sock_pos;
		if (n > avail)
			n = avail;
		memcpy(p, c->sock + c->sock_pos, n);
		line_produced(&c->in, n);
		c->sock_pos += n;
	}
}

/* ---- storage.h ---- */

STAILQ_HEAD(jobq, storage_job);

static struct {
	struct store *store;
	struct jobq todo;
	unsigned pending;
} st = { .todo = STAILQ_HEAD_INITIALIZER(st.todo) };

void
storage_submit(struct storage_job *j)
{
	CHECK(j->run != NULL && j->done != NULL);
	j->rc = STORE_ERROR;
	st.pending++;
	STAILQ_INSERT_TAIL(&st.todo, j, link);
}

unsigned
storage_pending(void)
{
	return st.pending;
}

static void
run_alone(struct storage_job *j)
{
	if (store_begin(st.store) != STORE_OK) {
		j->rc = STORE_ERROR;
		return;
	}
	j->rc = j->run(st.store, j);
	if (j->rc == STORE_ERROR)
		store_rollback(st.store);
	else if (store_commit(st.store) != STORE_OK) {
		store_rollback(st.store);
		j->rc = STORE_ERROR;
	}
}

/* One batch: what is queued now, in one transaction, then every done(). */
static void
storage_batch(bool fail)
{
	struct jobq batch;
	struct storage_job *j;
	bool failed = fail;

	STAILQ_INIT(&batch);
	STAILQ_CONCAT(&batch, &st.todo);
	if (STAILQ_EMPTY(&batch))
		return;
	progress++;
	if (fail) {
		/* The store is failing (disk full, locked): nothing is done. */
		STAILQ_FOREACH(j, &batch, link)
			j->rc = STORE_ERROR;
	} else if (store_begin(st.store) != STORE_OK) {
		failed = true;
	} else {
		STAILQ_FOREACH(j, &batch, link) {
			j->rc = j->run(st.store, j);
			if (j->rc == STORE_ERROR) {
				failed = true;
				break;
			}
		}
		if (!failed && store_commit(st.store) != STORE_OK)
			failed = true;
		if (failed)
			store_rollback(st.store);
	}
	if (failed && !fail)
		STAILQ_FOREACH(j, &batch, link)
			run_alone(j);
	/* done() may free or resubmit its job: unlink it first. */
	while ((j = STAILQ_FIRST(&batch)) != NULL) {
		STAILQ_REMOVE_HEAD(&batch, link);
		CHECK(st.pending > 0);
		st.pending--;
		j->done(j);
	}
}

/* ---- auth.h: auth.c's pipeline with a stand-in for argon2 ---- */

enum auth_kind {
	AUTH_PASSWORD,
	AUTH_REGISTER,
	AUTH_CERT,
	AUTH_RESUME,
	AUTH_PASSWD,
};

struct auth_job {
	struct storage_job sj;
	enum auth_kind kind;
	struct conn *c;
	char user[NAMES_USER_MAX + 1];
	char pw[PASSWORD_MAX_BYTES];
	size_t pwlen;
	char newpw[PASSWORD_MAX_BYTES];
	size_t newpwlen;
	uint8_t token_hash[STORE_TOKEN_HASH_BYTES];
	struct store_user rec;
	bool found;
	bool ok;
	char newhash[PWHASH_STR_BYTES];
	TAILQ_ENTRY(auth_job) link;
};

static struct {
	unsigned jobs;
	TAILQ_HEAD(, auth_job) pool;    /* waiting for a "hash" */
} as = { .pool = TAILQ_HEAD_INITIALIZER(as.pool) };

static const char auth_failed[] = "invalid username or password";

/* Not a password hash: a fixed, fast, testable stand-in for one. */
static void
fake_hash(char out[PWHASH_STR_BYTES], const char *pw, size_t len)
{
	unsigned char h[16];

	crypto_generichash(h, sizeof(h), (const unsigned char *)pw, len,
	    NULL, 0);
	memcpy(out, "$fake$", 6);
	sodium_bin2hex(out + 6, PWHASH_STR_BYTES - 6, h, sizeof(h));
}

int
auth_init(void)
{
	return 0;
}

unsigned
auth_queue_depth(void)
{
	return as.jobs;
}

static void
job_free(struct auth_job *j)
{
	CHECK(as.jobs > 0);
	as.jobs--;
	conn_unref(j->c);
	sodium_memzero(j, sizeof(*j));
	free(j);
}

/* auth.c's on_work(), on the loop: the "hash" costs nothing here. */
static void
fake_work(struct auth_job *j)
{
	char h[PWHASH_STR_BYTES];
	bool match;

	if (j->kind == AUTH_REGISTER) {
		fake_hash(j->newhash, j->pw, j->pwlen);
		j->ok = true;
		return;
	}
	fake_hash(h, j->pw, j->pwlen);
	match = j->found && strcmp(h, j->rec.hash) == 0;
	if (j->kind == AUTH_PASSWD) {
		j->ok = match;
		if (j->ok)
			fake_hash(j->newhash, j->newpw, j->newpwlen);
		return;
	}
	j->ok = match && !j->rec.locked;
}

static void
start_hash(struct auth_job *j)
{
	TAILQ_INSERT_TAIL(&as.pool, j, link);
}

static int
run_add_user(struct store *s, struct storage_job *sj)
{
	struct auth_job *j = (struct auth_job *)sj;

	return store_user_add(s, j->user, j->newhash, STORE_ROLE_USER,
	    clock_now_ms());
}

static void
add_user_done(struct storage_job *sj)
{
	struct auth_job *j = (struct auth_job *)sj;
	struct conn *c = j->c;

	if (!conn_closing(c)) {
		if (sj->rc == STORE_OK) {
			session_start(c, j->user, STORE_ROLE_USER, "REGISTER");
		} else {
			conn_enter_state(c, CONN_S_GREETED);
			if (sj->rc == STORE_EXISTS)
				conn_err(c, "FORBIDDEN", "user name taken");
			else
				conn_err(c, "UNAVAILABLE",
				    "accounts unavailable, try again");
			conn_resume(c);
		}
	}
	job_free(j);
}

static int
run_passwd(struct store *s, struct storage_job *sj)
{
	struct auth_job *j = (struct auth_job *)sj;
	int rc = store_user_set_hash(s, j->user, j->newhash);

	return rc == STORE_OK ? store_token_revoke(s, j->user, NULL) : rc;
}

static void
passwd_done(struct storage_job *sj)
{
	struct auth_job *j = (struct auth_job *)sj;
	struct conn *c = j->c;

	if (sj->rc == STORE_OK)
		route_close_user(j->user, c, "password changed");
	if (!conn_closing(c)) {
		if (sj->rc == STORE_OK)
			conn_printf(c, "OK PASSWD");
		else
			conn_err(c, "UNAVAILABLE", "password not changed, try again");
		conn_resume(c);
	}
	job_free(j);
}

static void
passwd_hashed(struct auth_job *j)
{
	struct conn *c = j->c;

	throttle_result(j->user, conn_ipkey(c), j->ok, now_ms);
	if (!j->ok) {
		if (!conn_closing(c)) {
			conn_err(c, "AUTH_FAILED", "wrong password");
			conn_resume(c);
		}
		job_free(j);
		return;
	}
	j->sj.run = run_passwd;
	j->sj.done = passwd_done;
	storage_submit(&j->sj);
}

static void
login_ok(struct auth_job *j)
{
	struct conn *c = j->c;

	srv.stats.logins_ok++;
	if (conn_closing(c))
		return;
	session_start(c, j->user, j->rec.role,
	    j->kind == AUTH_RESUME ? "RESUME" : "LOGIN");
}

static void
login_failed(struct auth_job *j)
{
	struct conn *c = j->c;

	srv.stats.logins_failed++;
	if (conn_closing(c))
		return;
	conn_enter_state(c, CONN_S_GREETED);
	conn_err(c, "AUTH_FAILED", auth_failed);
	if (conn_failed_login(c) >= srv.cfg.max_failed_logins)
		conn_close(c, "too many failed logins");
	else
		conn_resume(c);
}

static void
hash_done(struct auth_job *j)
{
	if (j->kind == AUTH_PASSWD) {
		passwd_hashed(j);
		return;
	}
	if (j->kind == AUTH_REGISTER) {
		if (!j->ok || conn_closing(j->c)) {
			if (!conn_closing(j->c)) {
				conn_enter_state(j->c, CONN_S_GREETED);
				conn_err(j->c, "UNAVAILABLE", "out of memory");
				conn_resume(j->c);
			}
			job_free(j);
			return;
		}
		j->sj.run = run_add_user;
		j->sj.done = add_user_done;
		storage_submit(&j->sj);
		return;
	}
	throttle_result(j->user, conn_ipkey(j->c), j->ok, now_ms);
	if (j->ok)
		login_ok(j);
	else
		login_failed(j);
	job_free(j);
}

/* One worker finishes: the oldest hash in the pool. */
static void
pool_complete(void)
{
	struct auth_job *j = TAILQ_FIRST(&as.pool);

	if (j == NULL)
		return;
	progress++;
	TAILQ_REMOVE(&as.pool, j, link);
	fake_work(j);
	hash_done(j);
}

static int
run_lookup(struct store *s, struct storage_job *sj)
{
	struct auth_job *j = (struct auth_job *)sj;
	int rc = store_user_get(s, j->user, &j->rec);

	j->found = rc == STORE_OK;
	return rc == STORE_NOT_FOUND ? STORE_OK : rc;
}

static int
run_token_check(struct store *s, struct storage_job *sj)
{
	struct auth_job *j = (struct auth_job *)sj;
	int rc = store_token_check(s, j->user, j->token_hash, clock_now_ms(),
	    &j->rec);

	j->found = rc == STORE_OK;
	return rc == STORE_NOT_FOUND ? STORE_OK : rc;
}

static void
lookup_done(struct storage_job *sj)
{
	struct auth_job *j = (struct auth_job *)sj;

	if (sj->rc != STORE_OK) {
		if (!conn_closing(j->c)) {
			if (j->kind != AUTH_PASSWD)
				conn_enter_state(j->c, CONN_S_GREETED);
			conn_err(j->c, "UNAVAILABLE",
			    "accounts unavailable, try again");
			conn_resume(j->c);
		}
		job_free(j);
		return;
	}
	if (conn_closing(j->c)) {
		job_free(j);
		return;
	}
	if (j->kind == AUTH_CERT || j->kind == AUTH_RESUME) {
		if (j->found && !j->rec.locked)
			login_ok(j);
		else
			login_failed(j);
		job_free(j);
		return;
	}
	start_hash(j);
}

static bool
queue_full(void)
{
	return as.jobs >= srv.cfg.max_concurrent_hashes *
	    (1 + AUTH_QUEUE_PER_WORKER);
}

static struct auth_job *
job_new(struct conn *c, enum auth_kind kind, const char *user,
    const char *pw, size_t len)
{
	struct auth_job *j;

	if (queue_full() || len > sizeof(j->pw))
		return NULL;
	j = calloc(1, sizeof(*j));
	CHECK(j != NULL);
	as.jobs++;
	j->kind = kind;
	j->c = c;
	conn_ref(c);
	snprintf(j->user, sizeof(j->user), "%s", user);
	if (len > 0)
		memcpy(j->pw, pw, len);
	j->pwlen = len;
	conn_busy(c);
	if (kind != AUTH_PASSWD)
		conn_enter_state(c, CONN_S_AUTHENTICATING);
	return j;
}

int
auth_login(struct conn *c, const char *user, const char *pw, size_t len)
{
	struct auth_job *j;

	if (queue_full())
		return -1;
	if (!throttle_attempt(user, conn_ipkey(c), now_ms)) {
		srv.stats.logins_failed++;
		conn_err(c, "RATE_LIMITED", "too many attempts, try later");
		if (conn_failed_login(c) >= srv.cfg.max_failed_logins)
			conn_close(c, "too many failed logins");
		return 0;
	}
	j = job_new(c, AUTH_PASSWORD, user, pw, len);
	if (j == NULL)
		return -1;
	j->sj.run = run_lookup;
	j->sj.done = lookup_done;
	storage_submit(&j->sj);
	return 0;
}

int
auth_register(struct conn *c, const char *user, const char *pw, size_t len)
{
	struct auth_job *j = job_new(c, AUTH_REGISTER, user, pw, len);

	if (j == NULL)
		return -1;
	start_hash(j);
	return 0;
}

int
auth_resume(struct conn *c, const char *user, const char *token, size_t len)
{
	struct auth_job *j = job_new(c, AUTH_RESUME, user, NULL, 0);

	if (j == NULL)
		return -1;
	if (token_hash(token, len, j->token_hash) != 0) {
		login_failed(j);
		job_free(j);
		return 0;
	}
	j->sj.run = run_token_check;
	j->sj.done = lookup_done;
	storage_submit(&j->sj);
	return 0;
}

int
auth_passwd(struct conn *c, const char *oldpw, size_t oldlen,
    const char *newpw, size_t newlen)
{
	struct auth_job *j;

	if (queue_full() || newlen > sizeof(j->newpw))
		return -1;
	if (!throttle_attempt(conn_user(c), conn_ipkey(c), now_ms)) {
		conn_err(c, "RATE_LIMITED", "too many attempts, try later");
		return 0;
	}
	j = job_new(c, AUTH_PASSWD, conn_user(c), oldpw, oldlen);
	if (j == NULL)
		return -1;
	memcpy(j->newpw, newpw, newlen);
	j->newpwlen = newlen;
	j->sj.run = run_lookup;
	j->sj.done = lookup_done;
	storage_submit(&j->sj);
	return 0;
}

int
auth_cert_login(struct conn *c, const char *user)
{
	struct auth_job fake = { .c = c };

	/* No tls.client_ca here, so never a verified certificate. */
	snprintf(fake.user, sizeof(fake.user), "%s", user);
	conn_busy(c);
	login_failed(&fake);
	return 0;
}

/* ---- the loop ---- */

/* Every connection with lines to take (or a writable callback) gets a go. */
static void
work_pass(void)
{
	struct conn *c;

	TAILQ_FOREACH(c, &conns, link) {
		conn_ref(c);
		conn_process(c);
		c->refs--;      /* freed only in the flush pass */
	}
}

/* conn.c's flush pass: doomed ones close, readers drain, closed ones go. */
static void
flush_pass(void)
{
	struct conn *c, *next;

	for (c = TAILQ_FIRST(&conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, link);
		if (c->doomed != NULL && c->state != CONN_S_CLOSING)
			conn_close(c, c->doomed);
		if (!c->stalled)
			c->out_len = 0;
		if (c->state == CONN_S_CLOSING)
			c->handles_closed = true;
		maybe_free(c);
	}
}

/*
 * Where no job is left to finish a command, every command has had its
 * final line.
 */
static void
check_idle(void)
{
	struct conn *c;

	TAILQ_FOREACH(c, &conns, link) {
		CHECK(c->busy <= 1);
		if (c->state != CONN_S_CLOSING && c->doomed == NULL &&
		    c->busy == 0)
			CHECK(c->nwait == 0 && !c->in_data);
	}
}

static void
turn(void)
{
	work_pass();
	flush_pass();
	check_idle();
}

struct names {
	char (*v)[NAMES_ROOM_MAX + 1];
	size_t n, cap;
};

static int
add_name(struct names *ns, const char *name)
{
	grow(&ns->v, &ns->cap, ns->n, sizeof(ns->v[0]));
	snprintf(ns->v[ns->n++], sizeof(ns->v[0]), "%s", name);
	return 0;
}

static bool
has_name(const struct names *ns, const char *name)
{
	size_t i;

	for (i = 0; i < ns->n; i++)
		if (strcmp(ns->v[i], name) == 0)
			return true;
	return false;
}

static int
collect_room(void *ctx, const char *room, unsigned members)
{
	(void)members;
	return add_name(ctx, room);
}

static int
collect_member(void *ctx, const char *user)
{
	return add_name(ctx, user);
}

/*
 * With no job in flight, route's picture of the rooms must be the store's:
 * a probe sent to each room reaches exactly the sessions of its members
 * (route.h), so nobody hears a room they are not in or misses one they are.
 */
static void
check_route(void)
{
	struct names rooms = { 0 }, members = { 0 };
	uint64_t routed = srv.stats.msgs_routed;
	unsigned sessions = 0, active = 0;
	struct conn *c;
	size_t i;

	TAILQ_FOREACH(c, &conns, link) {
		CHECK(c->session == NULL || c->state == CONN_S_READY);
		sessions += c->session != NULL;
	}
	CHECK(route_sessions() == sessions);
	CHECK(store_room_list(st.store, collect_room, &rooms) == STORE_OK);
	for (i = 0; i < rooms.n; i++) {
		bool online = false;

		members.n = 0;
		CHECK(store_room_members(st.store, rooms.v[i], collect_member,
		    &members) == STORE_OK);
		TAILQ_FOREACH(c, &conns, link)
			c->probed = false;
		probing = true;
		route_to_room(rooms.v[i], NULL, "-\n", 2);
		probing = false;
		TAILQ_FOREACH(c, &conns, link) {
			bool member = c->session != NULL &&
			    has_name(&members, c->user);

			online |= member;
			CHECK(c->probed == (member && c->doomed == NULL));
		}
		active += online;
	}
	CHECK(route_rooms_online() == active);
	srv.stats.msgs_routed = routed;
	free(rooms.v);
	free(members.v);
}

/* Run until nothing moves: no job, no hash, no line anyone may take. */
static void
run_all(void)
{
	unsigned before;

	for (;;) {
		before = progress;
		turn();
		if (!STAILQ_EMPTY(&st.todo))
			storage_batch(false);
		else if (!TAILQ_EMPTY(&as.pool))
			pool_complete();
		turn();
		if (progress == before)
			break;
	}
	check_route();
}

/* ---- the harness ---- */

static const char *const accounts[] = { "alice", "bob", "carol", "dave" };
static char keydir[] = "/tmp/parley-fuzz-cmd.XXXXXX";
static uint64_t rng_state;

/* Deterministic randomness, so a crash replays the same way. */
static uint32_t
rng_next(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return (uint32_t)((z ^ (z >> 31)) >> 32);
}

static const char *rng_name(void) { return "fuzz_cmd"; }
static uint32_t rng_random(void) { return rng_next(); }
static void rng_stir(void) { }

static void
rng_buf(void *p, size_t n)
{
	unsigned char *b = p;

	while (n-- > 0)
		*b++ = (unsigned char)rng_next();
}

static struct randombytes_implementation rng_impl = {
	.implementation_name = rng_name,
	.random = rng_random,
	.stir = rng_stir,
	.buf = rng_buf,
};

static void
remove_keydir(void)
{
	char path[sizeof(keydir) + 16];

	snprintf(path, sizeof(path), "%s/token.key", keydir);
	unlink(path);
	rmdir(keydir);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char path[sizeof(keydir) + 16], err[256];

	(void)argc;
	(void)argv;
	trace = getenv("FUZZ_CMD_TRACE") != NULL;
	log_init("fuzz_cmd", trace ? LOGL_DEBUG : LOGL_ERROR);
	randombytes_set_implementation(&rng_impl);
	if (pwhash_init() != 0)
		abort();
	CHECK(mkdtemp(keydir) != NULL);
	atexit(remove_keydir);
	snprintf(path, sizeof(path), "%s/token.key", keydir);
	if (token_init(path, err, sizeof(err)) != 0) {
		fprintf(stderr, "fuzz_cmd: %s\n", err);
		abort();
	}
	return 0;
}

static void
setup(uint8_t flags)
{
	char err[256], hash[PWHASH_STR_BYTES], pw[16];
	size_t i;

	rng_state = 0;
	now_ms = 1000000;
	next_conn_id = 0;
	last_send_id = 0;
	last_token[0] = '\0';
	memset(&srv.stats, 0, sizeof(srv.stats));
	config_defaults(&srv.cfg);
	srv.cfg.allow_register = (flags & 0x01) != 0;
	if (flags & 0x04)
		srv.cfg.max_line_bytes = LINE_MAX_MIN;
	if (flags & 0x08)
		srv.cfg.max_output_bytes = 16 * 1024;
	if (flags & 0x20)
		srv.cfg.max_failed_logins = 2;
	srv.started_ms = (uint64_t)clock_now_ms();

	st.store = store_open(":memory:", STORE_CREATE, 0, err, sizeof(err));
	if (st.store == NULL) {
		fprintf(stderr, "fuzz_cmd: %s\n", err);
		abort();
	}
	for (i = 0; i < sizeof(accounts) / sizeof(accounts[0]); i++) {
		snprintf(pw, sizeof(pw), "pw-%s", accounts[i]);
		fake_hash(hash, pw, strlen(pw));
		CHECK(store_user_add(st.store, accounts[i], hash,
		    i == 0 ? STORE_ROLE_ADMIN : STORE_ROLE_USER, 0) == STORE_OK);
	}
	CHECK(store_user_set_locked(st.store, "dave", true) == STORE_OK);
}

/* Everyone leaves; every job, session and connection must be gone. */
static void
teardown(void)
{
	struct conn *c;

	TAILQ_FOREACH(c, &conns, link)
		c->stalled = false;
	run_all();
	/* Nobody is stuck: what was sent was answered. */
	TAILQ_FOREACH(c, &conns, link) {
		if (c->state == CONN_S_CLOSING || c->doomed != NULL)
			continue;
		CHECK(c->busy == 0 && c->wcb == NULL && c->nwait == 0);
		CHECK(c->sock_pos == c->sock_len);
	}
	TAILQ_FOREACH(c, &conns, link)
		conn_abort(c);
	run_all();
	CHECK(TAILQ_EMPTY(&conns) && nconns == 0);
	CHECK(STAILQ_EMPTY(&st.todo) && st.pending == 0);
	CHECK(TAILQ_EMPTY(&as.pool) && as.jobs == 0);
	CHECK(route_sessions() == 0 && route_users_online() == 0 &&
	    route_rooms_online() == 0);
	store_close(st.store);
	st.store = NULL;
	throttle_fini();
	free(sender);
	sender = NULL;
	sender_cap = 0;
}

/* The record's bytes with "$T" expanded, plus the LF. */
static void
queue_record(struct conn *c, const uint8_t *p, size_t len)
{
	size_t i, tl = strlen(last_token);

	for (i = 0; i < len; i++) {
		if (p[i] == '$' && i + 1 < len && p[i + 1] == 'T') {
			sock_append(c, last_token, tl);
			i++;
		} else {
			sock_append(c, p + i, 1);
		}
	}
	sock_append(c, "\n", 1);
}

/* The connection with this id, if it still exists. */
static struct conn *
find_conn(uint64_t id)
{
	struct conn *c;

	TAILQ_FOREACH(c, &conns, link)
		if (c->id == id)
			return c;
	return NULL;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t peer[PEERS_MAX] = { 0 };
	unsigned npeers, i;
	bool shared;
	const uint8_t *p, *end;

	if (size < 2)
		return 0;
	setup(data[0]);
	npeers = (data[0] & 0x02) ? 3 : 2;
	shared = (data[0] & 0x10) != 0;

	for (i = 0; i < npeers; i++) {
		unsigned who = (data[1] >> (2 * i)) & 3;
		struct conn *c = conn_new(i, shared);
		char line[64];

		peer[i] = c->id;
		if (who > 0) {
			snprintf(line, sizeof(line), "LOGIN %s pw-%s",
			    accounts[who - 1], accounts[who - 1]);
			queue_record(c, (const uint8_t *)line, strlen(line));
		}
	}
	run_all();

	for (p = data + 2, end = data + size; p < end;) {
		const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = (size_t)((nl ? nl : end) - p);
		unsigned slot, action;
		struct conn *c;

		if (len == 0) {
			p++;
			continue;
		}
		slot = (p[0] % 3) % npeers;
		action = (p[0] / 3) % 8;
		/* A peer whose connection has closed connects again. */
		c = find_conn(peer[slot]);
		if (c == NULL || conn_closing(c)) {
			c = conn_new(slot, shared);
			peer[slot] = c->id;
		}
		if (action == 5)
			c->stalled = !c->stalled;
		queue_record(c, p + 1, len - 1);

		switch (action) {
		case 0:
		case 5:
			run_all();
			break;
		case 4:
			now_ms += 1000;
			run_all();
			break;
		case 1:
			turn();
			break;
		case 2:
			turn();
			storage_batch(false);
			turn();
			break;
		case 3:
			turn();
			pool_complete();
			turn();
			break;
		case 6:
			turn();
			if ((c = find_conn(peer[slot])) != NULL)
				conn_abort(c);
			turn();
			break;
		case 7:
			turn();
			storage_batch(true);
			turn();
			break;
		}
		p += len + (nl != NULL);
	}
	teardown();
	return 0;
}
