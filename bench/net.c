/*
 * net: parley-bench's client engine — many TLS connections on one epoll.
 *
 * Each struct bconn walks QUEUED -> CONNECTING -> TLS -> HELLO ->
 * AUTH_WAIT -> AUTH -> READY. Two windows keep the set-up from tripping
 * the server's own limits: at most `parallel` connections are between
 * connect() and a completed login, and at most `auth_window` logins are
 * in flight (a
 * LOGIN costs the server one argon2 verify and its hash queue is bounded;
 * ERR UNAVAILABLE is retried after a pause, a bounded number of times).
 *
 * Sockets are non-blocking and OpenSSL reads and writes them directly
 * (SSL_set_fd). Epoll is level-triggered. Output is queued as plaintext
 * and written once per loop turn, so commands issued in one turn share
 * TLS records and syscalls, as a real pipelining client's would.
 *
 * A hook may close or re-open any connection. Buffers belong to the
 * struct and survive a close, and a re-open only takes effect at the start
 * of the next loop turn, so an event still in the current epoll batch for
 * a closed connection finds it idle and is dropped.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <openssl/err.h>

#include "bench.h"
#include "tlsctx.h"

#define IN_INIT        4096
#define IN_MAX         (1024 * 1024 + 16384)   /* longest line we accept */
#define OUT_INIT       1024
#define OUT_MAX        (8 * 1024 * 1024)       /* server not reading us */
#define RECORD_MAX     16384
#define READS_PER_TURN 32
#define RETRY_NS       (20 * BENCH_NS_PER_MS)
#define RETRY_MAX      500
#define EVENTS_MAX     1024

/*
 * Everything between connect() and a successful login counts against the
 * connect window: a server that caps connections not yet logged in sees
 * at most `parallel` of them, as it would from well-behaved clients.
 */
static bool
is_connecting(enum bconn_state s)
{
	return s >= BC_CONNECTING && s < BC_READY;
}

static void
set_state(struct bconn *c, enum bconn_state s)
{
	struct net *n = c->net;

	if (is_connecting(c->state))
		n->connecting--;
	else if (c->state == BC_AUTH)
		n->authing--;
	else if (c->state == BC_READY)
		n->ready--;
	if (c->state >= BC_CONNECTING)
		n->open--;
	c->state = s;
	if (is_connecting(s))
		n->connecting++;
	else if (s == BC_AUTH)
		n->authing++;
	else if (s == BC_READY)
		n->ready++;
	if (s >= BC_CONNECTING)
		n->open++;
}

static int
new_session_cb(SSL *ssl, SSL_SESSION *sess)
{
	struct bconn *c = SSL_get_app_data(ssl);

	if (c == NULL || !c->want_session)
		return 0;
	if (c->sess_new != NULL)
		SSL_SESSION_free(c->sess_new);
	c->sess_new = sess;
	return 1;                       /* we keep the reference */
}

int
net_init(struct net *n, const struct bench_opts *o, bool keep_sessions)
{
	struct in_addr a;
	char err[512];

	memset(n, 0, sizeof(*n));
	n->epfd = -1;
	n->o = o;
	if (inet_pton(AF_INET, o->host, &a) != 1 ||
	    (ntohl(a.s_addr) >> 24) != 127) {
		bench_err("--host %s: must be an IPv4 address in 127.0.0.0/8",
		    o->host);
		return -1;
	}
	n->dst = a.s_addr;
	if (strlen(o->servername) >= sizeof(n->servername)) {
		bench_err("--servername: too long");
		return -1;
	}
	/* A copy OpenSSL's SNI macro may take without a cast. */
	snprintf(n->servername, sizeof(n->servername), "%s", o->servername);
	n->dport = htons((uint16_t)o->port);
	n->ctx = tlsctx_client_new(o->cafile, NULL, NULL, err, sizeof(err));
	if (n->ctx == NULL) {
		bench_err("%s", err);
		return -1;
	}
	SSL_CTX_set_mode(n->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	n->keep_sessions = keep_sessions;
	if (keep_sessions) {
		SSL_CTX_set_session_cache_mode(n->ctx, SSL_SESS_CACHE_CLIENT |
		    SSL_SESS_CACHE_NO_INTERNAL_STORE);
		SSL_CTX_sess_set_new_cb(n->ctx, new_session_cb);
	} else {
		SSL_CTX_set_session_cache_mode(n->ctx, SSL_SESS_CACHE_OFF);
	}
	n->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (n->epfd < 0) {
		bench_err("epoll_create1: %s", strerror(errno));
		SSL_CTX_free(n->ctx);
		n->ctx = NULL;
		return -1;
	}
	n->max_connecting = o->parallel ? o->parallel : 1;
	n->max_auth = o->auth_window ? o->auth_window : 1;
	n->poll_ms = 10;
	return 0;
}

void
net_fini(struct net *n)
{
	if (n->epfd >= 0)
		close(n->epfd);
	SSL_CTX_free(n->ctx);
	n->epfd = -1;
	n->ctx = NULL;
}

int
bconn_init(struct bconn *c, struct net *n, unsigned idx)
{
	memset(c, 0, sizeof(*c));
	c->net = n;
	c->idx = idx;
	c->fd = -1;
	c->in = malloc(IN_INIT);
	c->out = malloc(OUT_INIT);
	if (c->in == NULL || c->out == NULL) {
		free(c->in);
		free(c->out);
		c->in = c->out = NULL;
		return -1;
	}
	c->in_cap = IN_INIT;
	c->out_cap = OUT_INIT;
	return 0;
}

void
bconn_free(struct bconn *c)
{
	if (c->net == NULL)
		return;
	bconn_close(c, false);
	SSL_SESSION_free(c->sess_offer);
	SSL_SESSION_free(c->sess_new);
	free(c->in);
	free(c->out);
	c->in = c->out = NULL;
	c->sess_offer = c->sess_new = NULL;
	c->net = NULL;
}

/* ---- queues ---- */

static void
q_push(struct bconn **head, struct bconn **tail, struct bconn *c)
{
	c->qnext = NULL;
	if (*tail != NULL)
		(*tail)->qnext = c;
	else
		*head = c;
	*tail = c;
}

static struct bconn *
q_pop(struct bconn **head, struct bconn **tail)
{
	struct bconn *c = *head;

	if (c != NULL) {
		*head = c->qnext;
		if (*head == NULL)
			*tail = NULL;
		c->qnext = NULL;
	}
	return c;
}

static void
q_remove(struct bconn **head, struct bconn **tail, struct bconn *c)
{
	struct bconn *p = NULL, *x;

	for (x = *head; x != NULL; p = x, x = x->qnext) {
		if (x != c)
			continue;
		if (p != NULL)
			p->qnext = x->qnext;
		else
			*head = x->qnext;
		if (*tail == x)
			*tail = p;
		x->qnext = NULL;
		return;
	}
}

/* ---- closing ---- */

void
bconn_close(struct bconn *c, bool graceful)
{
	struct net *n = c->net;

	switch (c->state) {
	case BC_IDLE:
		return;
	case BC_QUEUED:
		q_remove(&n->openq_head, &n->openq_tail, c);
		break;
	case BC_AUTH_WAIT:
		q_remove(&n->authq_head, &n->authq_tail, c);
		break;
	default:
		break;
	}
	if (c->ssl != NULL) {
		if (graceful && c->state >= BC_HELLO) {
			ERR_clear_error();
			SSL_shutdown(c->ssl);   /* close_notify; no wait */
		}
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	if (c->fd >= 0) {
		close(c->fd);           /* also leaves the epoll set */
		c->fd = -1;
	}
	set_state(c, BC_IDLE);
	c->gen++;
	c->in_epoll = false;
	c->ev = 0;
	c->in_len = 0;
	c->out_off = c->out_len = 0;
	c->wr_chunk = 0;
	c->want_out = false;
}

static void record_error(struct net *n, const struct bconn *c,
    const char *fmt, va_list ap) __attribute__((format(printf, 3, 0)));

static void
record_error(struct net *n, const struct bconn *c, const char *fmt, va_list ap)
{
	char msg[200];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	snprintf(n->last_error, sizeof(n->last_error), "%s%s%s", msg,
	    c->user ? " user=" : "", c->user ? c->user : "");
}

/* The connection broke: close it, count it, tell the scenario. */
static void fail(struct bconn *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
fail(struct bconn *c, const char *fmt, ...)
{
	struct net *n = c->net;
	char why[256];
	va_list ap;

	va_start(ap, fmt);
	record_error(n, c, fmt, ap);
	va_end(ap);
	snprintf(why, sizeof(why), "%s", n->last_error);
	n->failures++;
	bconn_close(c, false);
	if (n->hooks.closed != NULL)
		n->hooks.closed(c, why);
}

static const char *
ssl_reason(void)
{
	static char buf[160];
	unsigned long e = ERR_get_error();

	if (e == 0)
		return "unknown error";
	ERR_error_string_n(e, buf, sizeof(buf));
	ERR_clear_error();
	return buf;
}

/* ---- output ---- */

static void
update_events(struct bconn *c)
{
	uint32_t want = EPOLLIN;
	struct epoll_event ev;

	if (c->fd < 0)
		return;
	if (c->want_out || c->state == BC_CONNECTING)
		want |= EPOLLOUT;
	if (c->in_epoll && want == c->ev)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.events = want;
	ev.data.ptr = c;
	if (epoll_ctl(c->net->epfd, c->in_epoll ? EPOLL_CTL_MOD : EPOLL_CTL_ADD,
	    c->fd, &ev) != 0) {
		fail(c, "epoll_ctl: %s", strerror(errno));
		return;
	}
	c->in_epoll = true;
	c->ev = want;
}

static void
mark_dirty(struct bconn *c)
{
	if (!c->dirty) {
		c->dirty = true;
		c->dnext = c->net->dirty;
		c->net->dirty = c;
	}
}

int
bconn_write(struct bconn *c, const void *data, size_t len)
{
	size_t need;

	if (c->state < BC_CONNECTING)
		return -1;
	if (c->out_off > 0) {
		/* Moving a pending retry is allowed (ACCEPT_MOVING_WRITE_BUFFER). */
		memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
		c->out_len -= c->out_off;
		c->out_off = 0;
	}
	need = c->out_len + len;
	if (need > c->out_cap) {
		size_t cap = c->out_cap;
		char *p;

		while (cap < need)
			cap *= 2;
		if (cap > OUT_MAX) {
			fail(c, "output backlog over %d bytes: the server "
			    "stopped reading", OUT_MAX);
			return -1;
		}
		if ((p = realloc(c->out, cap)) == NULL) {
			fail(c, "out of memory");
			return -1;
		}
		c->out = p;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, data, len);
	c->out_len += len;
	mark_dirty(c);
	return 0;
}

int
bconn_printf(struct bconn *c, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line) - 1) {
		fail(c, "internal: command too long");
		return -1;
	}
	line[n++] = '\n';
	return bconn_write(c, line, (size_t)n);
}

static void
flush(struct bconn *c)
{
	int r, e;

	if (c->state < BC_HELLO)
		return;
	c->want_out = false;
	while (c->out_off < c->out_len) {
		size_t chunk = c->wr_chunk;

		if (chunk == 0) {
			chunk = c->out_len - c->out_off;
			if (chunk > RECORD_MAX)
				chunk = RECORD_MAX;
		}
		ERR_clear_error();
		errno = 0;
		r = SSL_write(c->ssl, c->out + c->out_off, (int)chunk);
		if (r > 0) {
			c->out_off += (size_t)r;
			c->net->bytes_out += (uint64_t)r;
			c->wr_chunk = 0;
			continue;
		}
		e = SSL_get_error(c->ssl, r);
		if (e != SSL_ERROR_WANT_WRITE && e != SSL_ERROR_WANT_READ) {
			fail(c, "write: %s", errno && r < 0 ?
			    strerror(errno) : ssl_reason());
			return;
		}
		c->want_out = e == SSL_ERROR_WANT_WRITE;
		c->wr_chunk = chunk;            /* retry with the same length */
		break;
	}
	if (c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
	update_events(c);
}

static void
flush_dirty(struct net *n)
{
	struct bconn *c = n->dirty, *next;

	n->dirty = NULL;
	for (; c != NULL; c = next) {
		next = c->dnext;
		c->dirty = false;
		if (c->state >= BC_HELLO)
			flush(c);
	}
}

/* ---- login ---- */

char *
bench_quote(char *out, size_t cap, const char *s)
{
	size_t o = 0;

	if (cap == 0)
		return out;
	if (s[0] != '\0' && strpbrk(s, " \t\"\\") == NULL) {
		snprintf(out, cap, "%s", s);
		return out;
	}
	if (o + 1 < cap)
		out[o++] = '"';
	for (; *s && o + 3 < cap; s++) {
		if (*s == '"' || *s == '\\')
			out[o++] = '\\';
		out[o++] = *s;
	}
	if (o + 1 < cap)
		out[o++] = '"';
	out[o] = '\0';
	return out;
}

static void
send_auth(struct bconn *c)
{
	char user[128], secret[600];

	bench_quote(user, sizeof(user), c->user);
	bench_quote(secret, sizeof(secret), c->secret ? c->secret : "");
	set_state(c, BC_AUTH);
	if (c->auth == BA_TOKEN)
		bconn_printf(c, "RESUME %s %s", user, secret);
	else
		bconn_printf(c, "LOGIN %s %s", user, secret);
}

static void
pump_auth(struct net *n, uint64_t now)
{
	struct bconn *c;

	while (n->authing < n->max_auth && n->authq_head != NULL &&
	    n->authq_head->retry_at <= now) {
		c = q_pop(&n->authq_head, &n->authq_tail);
		send_auth(c);
	}
}

static void
logged_in(struct bconn *c)
{
	struct net *n = c->net;

	set_state(c, BC_READY);
	c->t_ready = bench_now_ns();
	n->logins++;
	if (n->hooks.ready != NULL)
		n->hooks.ready(c);
}

static bool
starts(const char *line, size_t len, const char *prefix)
{
	size_t pl = strlen(prefix);

	return len >= pl && memcmp(line, prefix, pl) == 0;
}

/* One received line, by state. The hooks may close c. */
static void
handle_line(struct bconn *c, char *line, size_t len)
{
	struct net *n = c->net;

	c->net->lines_in++;
	switch (c->state) {
	case BC_HELLO:
		if (starts(line, len, "BYE ")) {
			fail(c, "server said %s", line);
			break;
		}
		if (!starts(line, len, "HELLO "))
			break;
		if (c->auth == BA_NONE) {
			set_state(c, BC_READY);
			c->t_ready = bench_now_ns();
			if (n->hooks.ready != NULL)
				n->hooks.ready(c);
			break;
		}
		set_state(c, BC_AUTH_WAIT);
		c->retry_at = 0;
		q_push(&n->authq_head, &n->authq_tail, c);
		pump_auth(n, 0);
		break;
	case BC_AUTH:
		if (starts(line, len, "OK LOGIN") ||
		    starts(line, len, "OK RESUME")) {
			logged_in(c);
		} else if (starts(line, len, "ERR UNAVAILABLE")) {
			n->retries++;
			if (++c->retries > RETRY_MAX) {
				fail(c, "login: %s (after %d retries)", line,
				    RETRY_MAX);
				break;
			}
			set_state(c, BC_AUTH_WAIT);
			c->retry_at = bench_now_ns() + RETRY_NS;
			q_push(&n->authq_head, &n->authq_tail, c);
		} else if (starts(line, len, "ERR ")) {
			if (starts(line, len, "ERR BAD_COMMAND"))
				n->auth_unsupported = true;
			fail(c, "login refused: %s", line);
		} else if (starts(line, len, "BYE ")) {
			fail(c, "server said %s", line);
		}
		break;
	case BC_READY:
		if (n->hooks.line != NULL)
			n->hooks.line(c, line, len);
		break;
	default:
		break;
	}
}

/* ---- input ---- */

static void
process_lines(struct bconn *c)
{
	unsigned gen = c->gen;
	size_t start = 0;
	char *nl;

	while (start < c->in_len &&
	    (nl = memchr(c->in + start, '\n', c->in_len - start)) != NULL) {
		char *line = c->in + start;
		size_t len = (size_t)(nl - line);

		start += len + 1;
		if (len > 0 && line[len - 1] == '\r')
			len--;
		line[len] = '\0';
		handle_line(c, line, len);
		if (c->gen != gen)
			return;         /* closed: the buffer was reset */
	}
	if (start > 0) {
		memmove(c->in, c->in + start, c->in_len - start);
		c->in_len -= start;
	}
}

static void
do_read(struct bconn *c)
{
	unsigned gen = c->gen, i;
	int r;

	for (i = 0; i < READS_PER_TURN; i++) {
		if (c->in_cap - c->in_len < 2048) {
			size_t cap = c->in_cap * 2;
			char *p;

			if (cap > IN_MAX) {
				fail(c, "read: line longer than %d bytes",
				    IN_MAX);
				return;
			}
			if ((p = realloc(c->in, cap)) == NULL) {
				fail(c, "out of memory");
				return;
			}
			c->in = p;
			c->in_cap = cap;
		}
		ERR_clear_error();
		errno = 0;
		r = SSL_read(c->ssl, c->in + c->in_len,
		    (int)(c->in_cap - c->in_len - 1));
		if (r > 0) {
			c->in_len += (size_t)r;
			c->net->bytes_in += (uint64_t)r;
			process_lines(c);
			if (c->gen != gen)
				return;
			continue;
		}
		switch (SSL_get_error(c->ssl, r)) {
		case SSL_ERROR_WANT_READ:
			return;
		case SSL_ERROR_WANT_WRITE:
			c->want_out = true;
			update_events(c);
			return;
		case SSL_ERROR_ZERO_RETURN:
			fail(c, "the server closed the connection");
			return;
		case SSL_ERROR_SYSCALL:
			fail(c, "read: %s", errno ? strerror(errno) :
			    "connection closed by the server");
			return;
		default:
			fail(c, "tls: %s", ssl_reason());
			return;
		}
	}
}

static void
do_handshake(struct bconn *c)
{
	struct net *n = c->net;
	int r;

	ERR_clear_error();
	errno = 0;
	r = SSL_connect(c->ssl);
	if (r == 1) {
		n->handshakes++;
		c->resumed = SSL_session_reused(c->ssl) == 1;
		if (c->resumed)
			n->resumed++;
		set_state(c, BC_HELLO);
		c->want_out = false;
		update_events(c);
		if (c->state == BC_HELLO)
			do_read(c);     /* HELLO may have come with it */
		return;
	}
	switch (SSL_get_error(c->ssl, r)) {
	case SSL_ERROR_WANT_READ:
		c->want_out = false;
		update_events(c);
		return;
	case SSL_ERROR_WANT_WRITE:
		c->want_out = true;
		update_events(c);
		return;
	case SSL_ERROR_SYSCALL:
		fail(c, "tls handshake: %s", errno ? strerror(errno) :
		    "connection closed by the server");
		return;
	default:
		fail(c, "tls handshake: %s", ssl_reason());
		return;
	}
}

static void
on_event(struct bconn *c, uint32_t events)
{
	int err = 0;
	socklen_t len = sizeof(err);

	switch (c->state) {
	case BC_IDLE:
	case BC_QUEUED:
		return;                 /* closed earlier in this batch */
	case BC_CONNECTING:
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
			err = errno;
		if (err != 0) {
			fail(c, "connect: %s", strerror(err));
			return;
		}
		if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
			return;
		set_state(c, BC_TLS);
		do_handshake(c);
		return;
	case BC_TLS:
		do_handshake(c);
		return;
	default:
		if ((events & EPOLLOUT) && c->out_off < c->out_len) {
			unsigned gen = c->gen;

			flush(c);
			if (c->gen != gen)
				return;
		}
		if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
			do_read(c);
		return;
	}
}

/* ---- connecting ---- */

static void
start_connect(struct bconn *c)
{
	struct net *n = c->net;
	const struct bench_opts *o = n->o;
	struct sockaddr_in sa;
	int one = 1, fd;

	c->t_open = bench_now_ns();
	c->resumed = false;
	c->retries = 0;
	n->opened++;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		set_state(c, BC_CONNECTING);
		fail(c, "socket: %s", strerror(errno));
		return;
	}
	c->fd = fd;
	set_state(c, BC_CONNECTING);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (o->src_count > 0) {
		memset(&sa, 0, sizeof(sa));
		sa.sin_family = AF_INET;
		sa.sin_addr.s_addr = htonl(o->src_first +
		    n->next_src++ % o->src_count);
		/* The port is picked at connect(): the full 4-tuple counts. */
		setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one,
		    sizeof(one));
		if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
			fail(c, "bind %s: %s", inet_ntoa(sa.sin_addr),
			    strerror(errno));
			return;
		}
	}
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = n->dst;
	sa.sin_port = n->dport;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 &&
	    errno != EINPROGRESS) {
		fail(c, "connect: %s", strerror(errno));
		return;
	}
	c->ssl = SSL_new(n->ctx);
	if (c->ssl == NULL || SSL_set_fd(c->ssl, fd) != 1) {
		fail(c, "SSL_new: %s", ssl_reason());
		return;
	}
	SSL_set_app_data(c->ssl, c);
	if (SSL_set1_host(c->ssl, o->servername) != 1 ||
	    SSL_set_tlsext_host_name(c->ssl, n->servername) != 1) {
		fail(c, "cannot set the server name: %s", ssl_reason());
		return;
	}
	if (c->sess_offer != NULL && SSL_set_session(c->ssl, c->sess_offer) != 1) {
		fail(c, "cannot offer the TLS session: %s", ssl_reason());
		return;
	}
	SSL_set_connect_state(c->ssl);
	update_events(c);
}

void
bconn_open(struct bconn *c)
{
	struct net *n = c->net;

	if (c->state != BC_IDLE)
		return;
	set_state(c, BC_QUEUED);
	q_push(&n->openq_head, &n->openq_tail, c);
}

static void
pump_open(struct net *n)
{
	struct bconn *c;

	while (n->connecting < n->max_connecting && n->openq_head != NULL) {
		c = q_pop(&n->openq_head, &n->openq_tail);
		start_connect(c);
	}
}

bool
net_run(struct net *n, uint64_t deadline, bool (*step)(void *arg,
    uint64_t now), void *arg)
{
	struct epoll_event evs[EVENTS_MAX];
	uint64_t now;
	int k, i, timeout;

	for (;;) {
		now = bench_now_ns();
		if (now >= deadline)
			return false;
		pump_open(n);
		pump_auth(n, now);
		if (step != NULL && step(arg, now)) {
			flush_dirty(n);
			return true;
		}
		flush_dirty(n);
		timeout = n->poll_ms;
		if (n->authq_head != NULL && n->authing < n->max_auth &&
		    timeout > 5)
			timeout = 5;    /* a login retry is due soon */
		if ((deadline - now) / BENCH_NS_PER_MS < (uint64_t)timeout)
			timeout = (int)((deadline - now) / BENCH_NS_PER_MS) + 1;
		k = epoll_wait(n->epfd, evs, EVENTS_MAX, timeout);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			snprintf(n->last_error, sizeof(n->last_error),
			    "epoll_wait: %s", strerror(errno));
			return false;
		}
		for (i = 0; i < k; i++)
			on_event(evs[i].data.ptr, evs[i].events);
	}
}
