/*
 * conn: the per-connection TLS pump and session state machine.
 *
 * Input:  socket -> sslbio (the read callback's buffer, lent) -> SSL_read
 *         -> line framer -> cmd_dispatch().
 * Output: conn_write() -> plaintext buffer -> (once per loop turn, in the
 *         uv_check callback) SSL_write -> sslbio tx -> uv_try_write, and
 *         one uv_write for whatever the socket did not take.
 *
 * At most one uv_write is in flight per connection; what is queued
 * meanwhile is encrypted and sent together when it completes. Pending
 * output is the plaintext buffer plus the ciphertext in flight; above half
 * the cap the connection stops reading and processing commands, at the cap
 * it is closed with "BYE slow consumer". Commands are processed at most
 * CONN_COMMANDS_PER_TURN per loop turn, the rest on later turns (the work
 * list, driven by a uv_idle handle), so one pipelining peer cannot starve
 * the others.
 *
 * This module never touches the store or a password: cmd.c and auth.c do.
 */
#include "conn.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <openssl/err.h>

#include "buf.h"
#include "cmd.h"
#include "line.h"
#include "listener.h"
#include "log.h"
#include "route.h"
#include "server.h"
#include "sslbio.h"
#include "tlsctx.h"

/* Ciphertext kept unread before we stop reading the socket. */
#define RBIO_HIGH          (64 * 1024)
/* One read callback's worth on top of that. */
#define RBIO_MAX           (RBIO_HIGH + 64 * 1024)
/* Plaintext encrypted per flush, so one flush cannot hog the loop. */
#define FLUSH_CHUNK        (256 * 1024)
/* TLS record payload per SSL_write. */
#define RECORD_MAX         16384
/* How long a closing connection may take to flush its last bytes. */
#define CLOSE_GRACE_MS     3000
/* Room kept past max_output_bytes for the BYE line itself. */
#define OUT_SLACK          256
/* Ciphertext of one flush (records add at most ~1 %) plus alerts. */
#define TX_MAX             (FLUSH_CHUNK + 4 * RECORD_MAX)

struct conn {
	uv_tcp_t tcp;
	uv_timer_t timer;
	uint64_t id;
	enum conn_state state;
	SSL *ssl;
	struct sslbio io;               /* ciphertext both ways */
	struct line_framer in;
	struct buf out;                 /* plaintext waiting for SSL_write */
	size_t wr_inflight;             /* ciphertext bytes in the uv_write */
	uint64_t login_deadline;        /* loop ms */
	uint64_t last_line;             /* loop ms of the last complete line */
	struct listener_slot *slot;
	struct session *session;
	conn_writable_fn wcb;           /* conn_when_writable */
	void *warg;
	unsigned handles;               /* open libuv handles */
	unsigned refs;                  /* jobs holding the struct */
	unsigned busy;                  /* async commands running */
	unsigned sends;                 /* pipelined SENDs in the store */
	bool sends_capped;              /* busy because sends hit the cap */
	char *held;                     /* a line waiting for the SENDs before it */
	size_t held_len;
	unsigned failed_logins;
	int role;
	bool reading;
	bool dirty;                     /* on the flush list */
	bool queued;                    /* on the work list */
	bool peer_eof;
	bool out_paused;                /* input waits for output to drain */
	bool shutdown_sent;             /* close_notify written */
	bool freed_handles;             /* uv_close called */
	const char *doomed;             /* BYE reason of a deferred close */
	int64_t rate_milli;             /* messages_per_second bucket */
	uint64_t rate_at;
	unsigned key_updates;           /* since the last application data */
	char peer[64];
	unsigned char ipkey[16];        /* listener_addr_key() */
	char user[NAMES_USER_MAX + 1];
	TAILQ_ENTRY(conn) all_link;
	TAILQ_ENTRY(conn) dirty_link;
	TAILQ_ENTRY(conn) work_link;
};

struct write_req {
	uv_write_t req;
	struct conn *c;
	size_t len;
	char data[];
};

TAILQ_HEAD(connq, conn);

static struct {
	uv_loop_t *loop;
	uv_check_t flush_check;         /* output queued by I/O callbacks */
	uv_prepare_t flush_prepare;     /* output queued by the work pass */
	uv_idle_t work_idle;
	uv_idle_t flush_idle;           /* keeps the loop from blocking */
	struct connq all;
	struct connq dirty;
	struct connq work;
	unsigned count;
	unsigned preauth;               /* not logged in yet (not closing) */
	uint64_t next_id;
	char rdbuf[64 * 1024];          /* one read at a time on this thread */
} cs;

static const char *const state_names[] = {
	"HANDSHAKE", "GREETED", "AUTHENTICATING", "READY", "CLOSING",
};

static void conn_process(struct conn *c);
static void conn_flush(struct conn *c);
static void update_reading(struct conn *c);
static void output_drained(struct conn *c);
static void close_handles(struct conn *c);
static void on_work_idle(uv_idle_t *h);
static void on_flush_idle(uv_idle_t *h);

uint64_t conn_id(const struct conn *c) { return c->id; }
enum conn_state conn_state(const struct conn *c) { return c->state; }
const char *conn_peer(const struct conn *c) { return c->peer; }
const char *conn_user(const struct conn *c) { return c->user; }
int conn_role(const struct conn *c) { return c->role; }
bool conn_closing(const struct conn *c) { return c->state == CONN_S_CLOSING; }
void *conn_ssl(struct conn *c) { return c->ssl; }
struct session *conn_session(struct conn *c) { return c->session; }
void conn_set_session(struct conn *c, struct session *s) { c->session = s; }
unsigned conn_count(void) { return cs.count; }

unsigned
conn_failed_login(struct conn *c)
{
	return ++c->failed_logins;
}

static size_t
pending_output(const struct conn *c)
{
	return buf_len(&c->out) + c->wr_inflight;
}

static bool
over_high_water(const struct conn *c)
{
	return pending_output(c) > srv.cfg.max_output_bytes / 2;
}

static void
mark_dirty(struct conn *c)
{
	if (!c->dirty && c->handles > 0) {
		c->dirty = true;
		TAILQ_INSERT_TAIL(&cs.dirty, c, dirty_link);
	}
}

static void
queue_work(struct conn *c)
{
	if (!c->queued && c->state != CONN_S_CLOSING) {
		c->queued = true;
		TAILQ_INSERT_TAIL(&cs.work, c, work_link);
		if (!uv_is_active((uv_handle_t *)&cs.work_idle))
			uv_idle_start(&cs.work_idle, on_work_idle);
	}
}

static void
timer_after(struct conn *c, uint64_t ms, uv_timer_cb cb)
{
	uv_timer_start(&c->timer, cb, ms, 0);
}

static void on_timer(uv_timer_t *t);

static bool
is_preauth(enum conn_state s)
{
	return s == CONN_S_HANDSHAKE || s == CONN_S_GREETED ||
	    s == CONN_S_AUTHENTICATING;
}

void
conn_enter_state(struct conn *c, enum conn_state s)
{
	log_debug("conn %llu: %s -> %s", (unsigned long long)c->id,
	    state_names[c->state], state_names[s]);
	if (is_preauth(c->state) && !is_preauth(s))
		cs.preauth--;
	else if (!is_preauth(c->state) && is_preauth(s))
		cs.preauth++;
	c->state = s;
}

const unsigned char *
conn_ipkey(const struct conn *c)
{
	return c->ipkey;
}

bool
conn_rate_ok(struct conn *c)
{
	uint64_t now = uv_now(cs.loop);
	int64_t cap = (int64_t)srv.cfg.messages_per_second * 2 * 1000;

	/* Token bucket in milli-messages: rate per second, burst of 2x. */
	if (now > c->rate_at) {
		c->rate_milli += (int64_t)(now - c->rate_at) *
		    (int64_t)srv.cfg.messages_per_second;
		if (c->rate_milli > cap)
			c->rate_milli = cap;
		c->rate_at = now;
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

static bool
writable(const struct conn *c)
{
	return pending_output(c) <= srv.cfg.max_output_bytes / 4;
}

static void
call_writable(struct conn *c)
{
	conn_writable_fn fn = c->wcb;

	if (fn != NULL) {
		c->wcb = NULL;
		fn(c, c->warg);
	}
}

void
conn_when_writable(struct conn *c, conn_writable_fn fn, void *arg)
{
	c->wcb = fn;
	c->warg = arg;
	if (c->state == CONN_S_CLOSING) {
		call_writable(c);
		return;
	}
	queue_work(c);
}

static void
maybe_free(struct conn *c)
{
	if (c->handles > 0 || c->refs > 0)
		return;
	if (c->dirty)
		TAILQ_REMOVE(&cs.dirty, c, dirty_link);
	if (c->queued)
		TAILQ_REMOVE(&cs.work, c, work_link);
	TAILQ_REMOVE(&cs.all, c, all_link);
	cs.count--;
	listener_release(c->slot);
	SSL_free(c->ssl);               /* frees the BIO */
	sslbio_free(&c->io);
	free(c->held);
	line_free(&c->in);
	buf_free(&c->out);
	free(c);
}

void
conn_unref(struct conn *c)
{
	c->refs--;
	maybe_free(c);
}

static void
on_handle_closed(uv_handle_t *h)
{
	struct conn *c = h->data;

	c->handles--;
	maybe_free(c);
}

static void
close_handles(struct conn *c)
{
	if (c->freed_handles)
		return;
	c->freed_handles = true;
	if (c->state != CONN_S_CLOSING)
		conn_enter_state(c, CONN_S_CLOSING);
	uv_close((uv_handle_t *)&c->timer, on_handle_closed);
	uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
}

/* Leave the routing tables and stop input; output may still drain. */
static void
begin_close(struct conn *c, const char *why)
{
	/* Handshake failures were logged where they happened: one line. */
	if (c->state != CONN_S_HANDSHAKE)
		log_info("conn %llu: closing (%s) %s%s",
		    (unsigned long long)c->id, why,
		    c->user[0] ? "user=" : "from ",
		    c->user[0] ? c->user : c->peer);
	if (c->session != NULL)
		route_session_remove(c);
	conn_enter_state(c, CONN_S_CLOSING);
	if (c->reading) {
		uv_read_stop((uv_stream_t *)&c->tcp);
		c->reading = false;
	}
	if (c->queued) {
		TAILQ_REMOVE(&cs.work, c, work_link);
		c->queued = false;
	}
	timer_after(c, CLOSE_GRACE_MS, on_timer);
	call_writable(c);
}

void
conn_close(struct conn *c, const char *bye_reason)
{
	if (c->state == CONN_S_CLOSING)
		return;
	if (c->state == CONN_S_HANDSHAKE) {
		/* No session to say BYE to. */
		begin_close(c, bye_reason ? bye_reason : "handshake");
		close_handles(c);
		return;
	}
	if (bye_reason != NULL) {
		char line[256];
		int n = snprintf(line, sizeof(line), "BYE %s\n", bye_reason);

		if (n < 0 || (size_t)n >= sizeof(line))
			n = (int)strlen(strcpy(line, "BYE closing\n"));
		/* The BYE goes out even if the output is full: drop the rest. */
		if (buf_append(&c->out, line, (size_t)n) != 0) {
			buf_consume(&c->out, buf_len(&c->out));
			if (buf_append(&c->out, line, (size_t)n) != 0)
				log_debug("conn %llu: BYE dropped",
				    (unsigned long long)c->id);
		}
	}
	begin_close(c, bye_reason ? bye_reason : "closed");
	mark_dirty(c);
}

/* Close once the queued output is out, without a BYE. */
static void
close_after_flush(struct conn *c, const char *why)
{
	if (c->state == CONN_S_CLOSING)
		return;
	begin_close(c, why);
	mark_dirty(c);
}

void
conn_quit(struct conn *c)
{
	close_after_flush(c, "quit");
}

/* Hard close on a broken socket: nothing more can be sent. */
static void
conn_abort(struct conn *c, const char *why)
{
	if (c->state != CONN_S_CLOSING)
		begin_close(c, why);
	close_handles(c);
}

/*
 * Close later, from the flush pass: conn_write() is called while route
 * walks its tables, which a close would change under it.
 */
static void
doom(struct conn *c, const char *reason)
{
	if (c->doomed == NULL) {
		c->doomed = reason;
		buf_consume(&c->out, buf_len(&c->out));
		mark_dirty(c);
	}
}

int
conn_write(struct conn *c, const void *data, size_t len)
{
	if (c->state == CONN_S_CLOSING || c->state == CONN_S_HANDSHAKE ||
	    c->doomed != NULL)
		return -1;
	if (pending_output(c) + len > srv.cfg.max_output_bytes ||
	    buf_append(&c->out, data, len) != 0) {
		doom(c, "slow consumer");
		return -1;
	}
	mark_dirty(c);
	return 0;
}

int
conn_printf(struct conn *c, const char *fmt, ...)
{
	char line[1024];
	char *p = line;
	va_list ap;
	int n;
	int r;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	if ((size_t)n >= sizeof(line) - 1) {
		/* Long lines (message text) take a heap buffer. */
		p = malloc((size_t)n + 2);
		if (p == NULL) {
			doom(c, "out of memory");
			return -1;
		}
		va_start(ap, fmt);
		vsnprintf(p, (size_t)n + 1, fmt, ap);
		va_end(ap);
	}
	p[n] = '\n';
	r = conn_write(c, p, (size_t)n + 1);
	if (p != line)
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
	c->busy++;
	update_reading(c);
}

void
conn_resume(struct conn *c)
{
	c->busy--;
	queue_work(c);
}

void
conn_send_begin(struct conn *c)
{
	if (++c->sends >= CONN_MAX_INFLIGHT_SENDS && !c->sends_capped) {
		c->sends_capped = true;
		conn_busy(c);
	}
}

void
conn_send_end(struct conn *c)
{
	c->sends--;
	if (c->sends_capped && c->sends < CONN_MAX_INFLIGHT_SENDS) {
		c->sends_capped = false;
		c->busy--;
	}
	/* A held line, or the lines after the cap, may go now. */
	queue_work(c);
}

unsigned
conn_sends(const struct conn *c)
{
	return c->sends;
}

void
conn_set_user(struct conn *c, const char *user, int role)
{
	snprintf(c->user, sizeof(c->user), "%s", user);
	c->role = role;
	conn_enter_state(c, CONN_S_READY);
	c->last_line = uv_now(cs.loop);
	timer_after(c, (uint64_t)srv.cfg.idle_timeout * 1000, on_timer);
}

static void
on_timer(uv_timer_t *t)
{
	struct conn *c = t->data;
	uint64_t now = uv_now(cs.loop), idle;

	switch (c->state) {
	case CONN_S_HANDSHAKE:
		log_info("conn %llu: handshake timeout", (unsigned long long)c->id);
		conn_abort(c, "handshake timeout");
		break;
	case CONN_S_GREETED:
	case CONN_S_AUTHENTICATING:
		conn_close(c, "login timeout");
		break;
	case CONN_S_READY:
		/* Re-armed lazily: lines only update last_line. */
		idle = (uint64_t)srv.cfg.idle_timeout * 1000;
		if (now - c->last_line < idle)
			timer_after(c, idle - (now - c->last_line), on_timer);
		else
			conn_close(c, "idle timeout");
		break;
	case CONN_S_CLOSING:
		log_debug("conn %llu: close grace over", (unsigned long long)c->id);
		close_handles(c);
		break;
	}
}

/*
 * TLS 1.3 lets a peer send KeyUpdate messages without limit and OpenSSL
 * 3.0 answers each one; count them between application records and cut
 * off a peer that only churns keys.
 */
static void
on_tls_msg(int write_p, int version, int content_type, const void *buf,
    size_t len, SSL *ssl, void *arg)
{
	struct conn *c = arg;

	(void)version;
	(void)ssl;
	if (!write_p && content_type == SSL3_RT_HANDSHAKE && len > 0 &&
	    ((const unsigned char *)buf)[0] == SSL3_MT_KEY_UPDATE &&
	    ++c->key_updates > CONN_KEY_UPDATES_MAX) {
		/*
		 * One SSL_read goes on through every record it can read: a
		 * 64 KiB burst is ~2,000 KeyUpdates. Starve it of input so it
		 * returns, and the check after it closes the connection.
		 */
		c->io.hold = true;
	}
}

static void
on_handshake_done(struct conn *c)
{
	const unsigned char *alpn;
	unsigned alpn_len;

	SSL_get0_alpn_selected(c->ssl, &alpn, &alpn_len);
	/* At info level the login line carries this: one line less per connect. */
	log_debug("conn %llu: %s %s %s%s%s", (unsigned long long)c->id, c->peer,
	    SSL_get_version(c->ssl), SSL_get_cipher_name(c->ssl),
	    SSL_session_reused(c->ssl) ? " resumed" : "",
	    alpn_len ? " alpn=parley/1" : "");
	conn_enter_state(c, CONN_S_GREETED);
	c->login_deadline = uv_now(cs.loop) +
	    (uint64_t)srv.cfg.login_timeout * 1000;
	timer_after(c, (uint64_t)srv.cfg.login_timeout * 1000, on_timer);
	conn_printf(c, "HELLO parley/1 %s", srv.cfg.name);
}

/*
 * The SSL call failed: log it once and decide. Returns -1 to stop.
 *
 * SSL_get_error() reads this thread's error queue, so it must be empty
 * before every SSL call. Clearing it before each call costs a walk over
 * all its slots per record (8 % of fan-out's instructions); instead every
 * failure empties it here, where it is read, and the prepare pass clears
 * it once per loop turn in case other code left something behind.
 */
static int
ssl_failed(struct conn *c, int r, const char *what)
{
	int e = SSL_get_error(c->ssl, r);
	char msg[256];

	switch (e) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		return 0;
	case SSL_ERROR_ZERO_RETURN:
		c->peer_eof = true;
		ERR_clear_error();
		return -1;
	default:
		tlsctx_error(msg, sizeof(msg), what);   /* empties the queue */
		if (c->state == CONN_S_HANDSHAKE) {
			long v = SSL_get_verify_result(c->ssl);

			/* Say why a client certificate was refused (revoked...). */
			log_info("conn %llu: %s: %s%s%s", (unsigned long long)c->id,
			    c->peer, msg, v != X509_V_OK ? ": " : "",
			    v != X509_V_OK ? X509_verify_cert_error_string(v) :
			    "");
			/* Send the alert the failure produced, then close. */
			begin_close(c, "handshake failed");
			mark_dirty(c);
		} else {
			log_info("conn %llu: %s", (unsigned long long)c->id, msg);
			conn_abort(c, "tls error");
		}
		return -1;
	}
}

static void
conn_process(struct conn *c)
{
	unsigned budget = CONN_COMMANDS_PER_TURN;
	char *line;
	size_t len;
	int r;

	if (c->state == CONN_S_HANDSHAKE) {
		r = SSL_do_handshake(c->ssl);
		if (buf_len(&c->io.tx) > 0)
			mark_dirty(c);
		if (r != 1) {
			ssl_failed(c, r, "handshake");
			update_reading(c);
			return;
		}
		on_handshake_done(c);
	}
	if (c->wcb != NULL && writable(c))
		call_writable(c);

	while (c->state != CONN_S_CLOSING && c->busy == 0 &&
	    !over_high_water(c)) {
		if (budget == 0) {
			queue_work(c);
			break;
		}
		if (c->held != NULL) {
			char *h = c->held;

			/* It waits until the SENDs before it are answered. */
			if (c->sends > 0)
				break;
			c->held = NULL;
			budget--;
			cmd_dispatch(c, h, c->held_len);
			free(h);
			continue;
		}
		switch (line_next(&c->in, &line, &len)) {
		case LINE_OK:
			budget--;
			c->last_line = uv_now(cs.loop);
			/*
			 * SENDs are pipelined: many may wait for the store
			 * at once. Any other command waits for them, so
			 * final lines keep the order of the commands.
			 */
			if (c->sends > 0 && !cmd_pipelines(line, len)) {
				c->held = malloc(len + 1);
				if (c->held == NULL) {
					conn_close(c, "out of memory");
					break;
				}
				memcpy(c->held, line, len);
				c->held[len] = '\0';
				c->held_len = len;
				continue;
			}
			cmd_dispatch(c, line, len);
			continue;
		case LINE_TOO_LONG:
			budget--;
			cmd_err_ordered(c, "LINE_TOO_LONG", "line too long");
			continue;
		case LINE_BAD_UTF8:
			budget--;
			c->last_line = uv_now(cs.loop);
			cmd_err_ordered(c, "BAD_UTF8", "line is not valid UTF-8");
			continue;
		case LINE_NEED_MORE:
			break;
		}
		{
			size_t avail;
			uint8_t *p = line_wptr(&c->in, &avail);

			if (p == NULL) {
				conn_close(c, "out of memory");
				break;
			}
			r = SSL_read(c->ssl, p, (int)(avail > INT32_MAX ?
			    INT32_MAX : avail));
			if (c->key_updates > CONN_KEY_UPDATES_MAX) {
				log_warn("conn %llu: %s: too many TLS key updates",
				    (unsigned long long)c->id, c->peer);
				conn_abort(c, "key update flood");
				break;
			}
			if (r > 0) {
				c->key_updates = 0;
				line_produced(&c->in, (size_t)r);
				continue;
			}
			if (buf_len(&c->io.tx) > 0)
				mark_dirty(c);
			ssl_failed(c, r, "read");
			break;
		}
	}
	if (buf_len(&c->io.tx) > 0)
		mark_dirty(c);
	/* Only then does a completed write need to run this again. */
	c->out_paused = c->state != CONN_S_CLOSING && over_high_water(c);
	/* A peer that has finished sending is closed once answered. */
	if (c->peer_eof && c->busy == 0 && c->state != CONN_S_CLOSING &&
	    !c->queued && !over_high_water(c))
		close_after_flush(c, "peer closed");
	else if (c->state != CONN_S_CLOSING && c->busy == 0 && !c->queued)
		line_shrink(&c->in);
	update_reading(c);
}

static void
on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
	(void)h;
	(void)suggested;
	b->base = cs.rdbuf;
	b->len = sizeof(cs.rdbuf);
}

static void
on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
	struct conn *c = s->data;

	if (nread == 0)
		return;
	if (nread < 0) {
		if (nread == UV_EOF) {
			c->peer_eof = true;
			uv_read_stop(s);
			c->reading = false;
			if (c->state == CONN_S_HANDSHAKE) {
				log_info("conn %llu: %s: eof during handshake",
				    (unsigned long long)c->id, c->peer);
				conn_abort(c, "eof during handshake");
			} else {
				conn_process(c);
			}
		} else {
			conn_abort(c, uv_strerror((int)nread));
		}
		return;
	}
	srv.stats.bytes_in += (uint64_t)nread;
	/* TLS reads the shared buffer in place; only a remainder is copied. */
	sslbio_lend(&c->io, b->base, (size_t)nread);
	conn_process(c);
	if (sslbio_keep(&c->io) != 0 && c->state != CONN_S_CLOSING)
		conn_abort(c, "out of memory");
}

static void
update_reading(struct conn *c)
{
	bool want = c->state != CONN_S_CLOSING && !c->peer_eof &&
	    c->busy == 0 && !over_high_water(c) &&
	    sslbio_rx_len(&c->io) < RBIO_HIGH;

	if (want == c->reading)
		return;
	if (want) {
		if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) == 0)
			c->reading = true;
	} else {
		uv_read_stop((uv_stream_t *)&c->tcp);
		c->reading = false;
	}
}

static void
on_write(uv_write_t *req, int status)
{
	struct write_req *w = (struct write_req *)req;
	struct conn *c = w->c;

	c->wr_inflight = 0;
	free(w);
	if (status < 0) {
		if (!c->freed_handles)
			conn_abort(c, uv_strerror(status));
		conn_unref(c);
		return;
	}
	if (!c->freed_handles) {
		conn_flush(c);
		output_drained(c);
	}
	conn_unref(c);
}

/*
 * Output went out (a write completed, or the socket took it at once):
 * take input, or a backlog, again — only if it waited for this, not after
 * every write.
 */
static void
output_drained(struct conn *c)
{
	if (c->state == CONN_S_CLOSING || c->freed_handles)
		return;
	if ((c->out_paused && !over_high_water(c)) ||
	    (c->wcb != NULL && writable(c))) {
		c->out_paused = false;
		queue_work(c);
	}
	update_reading(c);
}

static void
conn_flush(struct conn *c)
{
	struct write_req *w;
	size_t done = 0, pending;
	bool wrote = false;
	uv_buf_t ub;
	int r;

	if (c->doomed != NULL && c->state != CONN_S_CLOSING)
		conn_close(c, c->doomed);
	if (c->wr_inflight > 0 || c->freed_handles)
		return;
	if (c->state != CONN_S_HANDSHAKE || SSL_is_init_finished(c->ssl)) {
		while (buf_len(&c->out) > 0 && done < FLUSH_CHUNK) {
			size_t n = buf_len(&c->out);

			if (n > RECORD_MAX)
				n = RECORD_MAX;
			r = SSL_write(c->ssl, buf_rptr(&c->out), (int)n);
			if (r <= 0) {
				ERR_clear_error();
				conn_abort(c, "tls write error");
				return;
			}
			buf_consume(&c->out, (size_t)r);
			done += (size_t)r;
		}
		if (buf_len(&c->out) > 0)
			mark_dirty(c);  /* the rest on the next turn */
		else
			buf_shrink(&c->out);
	}
	if (c->state == CONN_S_CLOSING && buf_len(&c->out) == 0 &&
	    !c->shutdown_sent && SSL_is_init_finished(c->ssl)) {
		c->shutdown_sent = true;
		if (SSL_shutdown(c->ssl) < 0)
			ERR_clear_error();
	}
	pending = buf_len(&c->io.tx);
	if (pending > 0) {
		/*
		 * Usually the socket takes it all: no request, no callback,
		 * no re-arming of the poll watcher.
		 */
		ub = uv_buf_init((char *)buf_rptr(&c->io.tx), (unsigned)pending);
		r = uv_try_write((uv_stream_t *)&c->tcp, &ub, 1);
		if (r < 0 && r != UV_EAGAIN) {
			conn_abort(c, uv_strerror(r));
			return;
		}
		if (r > 0) {
			wrote = true;
			buf_consume(&c->io.tx, (size_t)r);
			srv.stats.bytes_out += (uint64_t)r;
			pending -= (size_t)r;
		}
	}
	if (pending == 0) {
		buf_shrink(&c->io.tx);
		if (c->state == CONN_S_CLOSING && buf_len(&c->out) == 0)
			close_handles(c);
		else if (wrote)
			output_drained(c);  /* no on_write will say so */
		return;
	}
	/* The rest waits in a request of its own: tx keeps filling. */
	w = malloc(sizeof(*w) + pending);
	if (w == NULL) {
		conn_abort(c, "out of memory");
		return;
	}
	w->c = c;
	w->len = pending;
	memcpy(w->data, buf_rptr(&c->io.tx), pending);
	buf_consume(&c->io.tx, pending);
	buf_shrink(&c->io.tx);
	ub = uv_buf_init(w->data, (unsigned)w->len);
	r = uv_write(&w->req, (uv_stream_t *)&c->tcp, &ub, 1, on_write);
	if (r != 0) {
		free(w);
		conn_abort(c, uv_strerror(r));
		return;
	}
	srv.stats.bytes_out += w->len;
	c->wr_inflight = w->len;
	conn_ref(c);
}

/*
 * Encrypt and send what was queued, once per loop turn. Runs in the check
 * phase (after I/O callbacks) and the prepare phase (after the work pass,
 * right before the loop may block in poll).
 */
static void
flush_dirty(void)
{
	unsigned n = 0;
	struct conn *c;

	/* Bounded to those dirty now; re-marked ones wait for the next pass. */
	TAILQ_FOREACH(c, &cs.dirty, dirty_link)
		n++;
	while (n-- > 0 && (c = TAILQ_FIRST(&cs.dirty)) != NULL) {
		TAILQ_REMOVE(&cs.dirty, c, dirty_link);
		c->dirty = false;
		conn_ref(c);
		conn_flush(c);
		conn_unref(c);
	}
	/*
	 * Output left for the next pass (more than FLUSH_CHUNK queued, all
	 * of it taken by the socket) has no write completion to wake the
	 * loop: poll must not block while any is left.
	 */
	if (!TAILQ_EMPTY(&cs.dirty) &&
	    !uv_is_active((uv_handle_t *)&cs.flush_idle))
		uv_idle_start(&cs.flush_idle, on_flush_idle);
}

static void
on_flush_idle(uv_idle_t *h)
{
	if (TAILQ_EMPTY(&cs.dirty))
		uv_idle_stop(h);
}

static void
on_flush_check(uv_check_t *h)
{
	(void)h;
	flush_dirty();
}

static void
on_flush_prepare(uv_prepare_t *h)
{
	(void)h;
	ERR_clear_error();
	flush_dirty();
}

/* Connections with lines left over from an earlier turn. */
static void
on_work_idle(uv_idle_t *h)
{
	unsigned n = 0;
	struct conn *c;

	TAILQ_FOREACH(c, &cs.work, work_link)
		n++;
	while (n-- > 0 && (c = TAILQ_FIRST(&cs.work)) != NULL) {
		TAILQ_REMOVE(&cs.work, c, work_link);
		c->queued = false;
		conn_ref(c);
		conn_process(c);
		conn_unref(c);
	}
	if (TAILQ_EMPTY(&cs.work))
		uv_idle_stop(h);
}

int
conn_init(uv_loop_t *loop)
{
	cs.loop = loop;
	TAILQ_INIT(&cs.all);
	TAILQ_INIT(&cs.dirty);
	TAILQ_INIT(&cs.work);
	if (sslbio_init() != 0)
		return -1;
	if (uv_check_init(loop, &cs.flush_check) != 0 ||
	    uv_prepare_init(loop, &cs.flush_prepare) != 0 ||
	    uv_idle_init(loop, &cs.work_idle) != 0 ||
	    uv_idle_init(loop, &cs.flush_idle) != 0)
		return -1;
	uv_check_start(&cs.flush_check, on_flush_check);
	uv_prepare_start(&cs.flush_prepare, on_flush_prepare);
	/* The flush handles must not keep the loop alive on their own. */
	uv_unref((uv_handle_t *)&cs.flush_check);
	uv_unref((uv_handle_t *)&cs.flush_prepare);
	return 0;
}

void
conn_fini(void)
{
	uv_close((uv_handle_t *)&cs.flush_check, NULL);
	uv_close((uv_handle_t *)&cs.flush_prepare, NULL);
	uv_close((uv_handle_t *)&cs.work_idle, NULL);
	uv_close((uv_handle_t *)&cs.flush_idle, NULL);
}

/* Connections not logged in yet may hold at most a quarter of the slots. */
static unsigned
preauth_max(void)
{
	unsigned m = srv.cfg.max_connections / 4;

	return m < 64 ? 64 : m;
}

int
conn_accept(uv_stream_t *server)
{
	struct sockaddr_storage ss;
	int sslen = sizeof(ss);
	struct conn *c;
	BIO *bio;
	int r;

	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return UV_ENOMEM;
	if ((r = uv_tcp_init(cs.loop, &c->tcp)) != 0) {
		free(c);
		return r;
	}
	c->tcp.data = c;
	c->handles = 1;
	c->id = ++cs.next_id;
	c->state = CONN_S_HANDSHAKE;
	cs.preauth++;
	line_init(&c->in, srv.cfg.max_line_bytes);
	buf_init(&c->out, srv.cfg.max_output_bytes + OUT_SLACK);
	TAILQ_INSERT_TAIL(&cs.all, c, all_link);
	cs.count++;
	srv.stats.conns_total++;
	if ((r = uv_timer_init(cs.loop, &c->timer)) != 0) {
		c->freed_handles = true;
		c->state = CONN_S_CLOSING;
		uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
		return r;
	}
	c->timer.data = c;
	c->handles = 2;

	if ((r = uv_accept(server, (uv_stream_t *)&c->tcp)) != 0) {
		conn_abort(c, uv_strerror(r));
		return r;
	}
	if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &sslen) != 0) {
		conn_abort(c, "no peer address");
		return 0;
	}
	listener_addr_str(&ss, c->peer, sizeof(c->peer));
	listener_addr_key((struct sockaddr *)&ss, c->ipkey);
	c->slot = listener_admit((struct sockaddr *)&ss);
	if (c->slot == NULL || cs.preauth > preauth_max()) {
		static struct log_limit refusals;

		log_limited(&refusals, LOGL_WARN,
		    "conn %llu: %s refused: connection limit",
		    (unsigned long long)c->id, c->peer);
		conn_abort(c, "connection limit");
		return 0;
	}
	uv_tcp_nodelay(&c->tcp, 1);

	c->ssl = SSL_new(srv.ssl_ctx);
	bio = sslbio_new(&c->io, RBIO_MAX, TX_MAX);
	if (c->ssl == NULL || bio == NULL) {
		BIO_free(bio);
		conn_abort(c, "out of memory");
		return 0;
	}
	SSL_set_bio(c->ssl, bio, bio);      /* one reference, for both */
	SSL_set_accept_state(c->ssl);
	SSL_set_msg_callback(c->ssl, on_tls_msg);
	SSL_set_msg_callback_arg(c->ssl, c);
	c->rate_milli = (int64_t)srv.cfg.messages_per_second * 2 * 1000;
	c->rate_at = uv_now(cs.loop);

	log_debug("conn %llu: accepted from %s", (unsigned long long)c->id,
	    c->peer);
	timer_after(c, (uint64_t)srv.cfg.handshake_timeout * 1000, on_timer);
	update_reading(c);
	return 0;
}

void
conn_close_all(const char *reason)
{
	struct conn *c, *next;

	for (c = TAILQ_FIRST(&cs.all); c != NULL; c = next) {
		next = TAILQ_NEXT(c, all_link);
		conn_close(c, reason);
	}
}
