/*
 * session: the client's connection to parleyd.
 *
 * The socket is non-blocking for its whole life; every wait is a poll()
 * with a deadline, so a silent server can delay the client by at most one
 * timeout and never hang it. OpenSSL drives the socket directly
 * (SSL_set_fd); reads always continue until OpenSSL wants more input, so
 * no plaintext is left inside OpenSSL (SSL_pending) when the caller goes
 * back to poll() on the socket. Complete lines wait in the line framer,
 * which callers empty with session_pump() before they poll.
 *
 * Verification has no off switch: the context from tlsctx_client_new()
 * verifies the chain, and this file adds the host name (or IP address)
 * check for every connection.
 */
#include "session.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sodium.h>

#include "display.h"
#include "line.h"
#include "names.h"
#include "password.h"
#include "tlsctx.h"
#include "utf8.h"

#define HOST_MAX        255
#define BYE_MAX         255
#define QUIT_TIMEOUT_MS 5000

struct session {
	int fd;
	SSL_CTX *ctx;
	SSL *ssl;
	struct line_framer in;
	char *wbuf;                     /* one outgoing line, wiped after use */
	session_line_cb *on_event;
	void *arg;
	int64_t last_send;              /* monotonic ms of the last line sent */
	bool gone;                      /* connection lost, already reported */
	bool expect_close;              /* QUIT sent: a close is no news */
	char host[HOST_MAX + 1];        /* without IPv6 brackets */
	char bye[BYE_MAX + 1];          /* reason of a BYE seen, raw */
	size_t bye_len;
};

void
session_errorf(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fflush(stdout);
	fprintf(stderr, "parley: %s\n", msg);
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t
deadline_in(int timeout_ms)
{
	return timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
}

/* Milliseconds left until deadline for poll(): -1 forever, 0 expired. */
static int
remaining(int64_t deadline)
{
	int64_t left;

	if (deadline < 0)
		return -1;
	left = deadline - now_ms();
	if (left <= 0)
		return 0;
	return left > INT_MAX ? INT_MAX : (int)left;
}

/*
 * Wait until fd is ready for events or the deadline passes. Returns 1
 * ready (or error/hangup pending, which the next I/O call reports), 0 on
 * timeout, -1 on a poll() failure.
 */
static int
wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd p;
	int r;

	for (;;) {
		p.fd = fd;
		p.events = events;
		p.revents = 0;
		r = poll(&p, 1, remaining(deadline));
		if (r > 0)
			return 1;
		if (r == 0)
			return 0;
		if (errno != EINTR)
			return -1;
	}
}

/* Report the loss of the connection once; later calls stay quiet. */
static void
lost(struct session *s, const char *why)
{
	if (s->gone)
		return;
	s->gone = true;
	if (s->expect_close && s->bye_len == 0)
		return;
	fflush(stdout);
	if (s->bye_len > 0) {
		fputs("parley: connection closed by the server: ", stderr);
		display_put(stderr, s->bye, s->bye_len);
		fputc('\n', stderr);
	} else {
		fprintf(stderr, "parley: connection lost: %s\n", why);
	}
}

/* ---- connecting ---------------------------------------------------- */

/*
 * Connect one address with a deadline. Returns the socket, or -1 with the
 * reason in *err (an errno value).
 */
static int
connect_addr(const struct addrinfo *ai, int64_t deadline, int *err)
{
	socklen_t elen = sizeof(*err);
	int fd, one = 1;

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, ai->ai_protocol);
	if (fd < 0) {
		*err = errno;
		return -1;
	}
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
		if (errno != EINPROGRESS) {
			*err = errno;
			goto fail;
		}
		switch (wait_fd(fd, POLLOUT, deadline)) {
		case 0:
			*err = ETIMEDOUT;
			goto fail;
		case -1:
			*err = errno;
			goto fail;
		default:
			break;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, err, &elen) != 0)
			*err = errno;
		if (*err != 0)
			goto fail;
	}
	/* Interactive lines should not wait for Nagle. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
fail:
	close(fd);
	return -1;
}

/* Resolve host and connect to the first address that answers. */
static int
connect_host(struct session *s, const char *port)
{
	struct addrinfo hints, *res, *ai;
	int r, err = 0;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	r = getaddrinfo(s->host, port, &hints, &res);
	if (r != 0) {
		session_errorf("cannot resolve %s: %s", s->host,
		    r == EAI_SYSTEM ? strerror(errno) : gai_strerror(r));
		return SESSION_EXIT_CONNECT;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		/* Each address gets the full timeout: one dead address
		 * must not use up the time of the next. */
		s->fd = connect_addr(ai,
		    deadline_in(SESSION_CONNECT_TIMEOUT_MS), &err);
		if (s->fd >= 0)
			break;
	}
	freeaddrinfo(res);
	if (s->fd < 0) {
		if (err == ETIMEDOUT)
			session_errorf("cannot connect to %s port %s: "
			    "timed out after %d s", s->host, port,
			    SESSION_CONNECT_TIMEOUT_MS / 1000);
		else
			session_errorf("cannot connect to %s port %s: %s",
			    s->host, port, strerror(err));
		return SESSION_EXIT_CONNECT;
	}
	return SESSION_EXIT_OK;
}

/* ---- TLS ------------------------------------------------------------ */

/* A readable reason for a certificate verification result. */
static const char *
verify_reason(long v)
{
	switch (v) {
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_CERT_UNTRUSTED:
	case X509_V_ERR_CERT_SIGNATURE_FAILURE:
		return "unknown CA: the server certificate is not signed by a "
		    "trusted CA (see --cafile)";
	case X509_V_ERR_HOSTNAME_MISMATCH:
		return "host name mismatch: the server certificate is not for "
		    "this host name";
	case X509_V_ERR_IP_ADDRESS_MISMATCH:
		return "host name mismatch: the server certificate is not for "
		    "this IP address";
	case X509_V_ERR_CERT_HAS_EXPIRED:
		return "certificate expired";
	case X509_V_ERR_CERT_NOT_YET_VALID:
		return "certificate not yet valid (check the clock)";
	case X509_V_ERR_CERT_REVOKED:
		return "certificate revoked";
	default:
		return X509_verify_cert_error_string(v);
	}
}

/* True when host is an IPv4 or IPv6 address literal. */
static bool
is_ip_literal(const char *host)
{
	unsigned char a[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, host, a) == 1 ||
	    inet_pton(AF_INET6, host, a) == 1;
}

/*
 * Set up SSL on the connected socket with the peer name to check, and run
 * the handshake to its end.
 */
static int
tls_handshake(struct session *s, const struct session_opts *o)
{
	char err[256];
	const unsigned char *alpn;
	unsigned int alpn_len;
	int64_t deadline;
	long v;
	int r, e, w;

	s->ctx = tlsctx_client_new(o->cafile, o->cert, o->key, err,
	    sizeof(err));
	if (s->ctx == NULL) {
		session_errorf("TLS set-up failed: %s", err);
		return SESSION_EXIT_TLS;
	}
	ERR_clear_error();
	s->ssl = SSL_new(s->ctx);
	if (s->ssl == NULL || SSL_set_fd(s->ssl, s->fd) != 1) {
		session_errorf("TLS set-up failed: %s",
		    tlsctx_error(err, sizeof(err), "SSL_new"));
		return SESSION_EXIT_TLS;
	}
	/* Whatever the context says, this connection verifies its peer. */
	SSL_set_verify(s->ssl, SSL_VERIFY_PEER, NULL);
	if (is_ip_literal(s->host)) {
		r = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(s->ssl),
		    s->host);
	} else {
		SSL_set_hostflags(s->ssl,
		    X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		r = SSL_set1_host(s->ssl, s->host) == 1 &&
		    SSL_set_tlsext_host_name(s->ssl, s->host) == 1;
	}
	if (r != 1) {
		session_errorf("TLS set-up failed: cannot check the name %s",
		    s->host);
		return SESSION_EXIT_TLS;
	}
	SSL_set_connect_state(s->ssl);

	deadline = deadline_in(SESSION_HANDSHAKE_TIMEOUT_MS);
	for (;;) {
		ERR_clear_error();
		r = SSL_do_handshake(s->ssl);
		if (r == 1)
			break;
		e = SSL_get_error(s->ssl, r);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
			w = wait_fd(s->fd, e == SSL_ERROR_WANT_READ ? POLLIN :
			    POLLOUT, deadline);
			if (w == 1)
				continue;
			if (w == 0) {
				session_errorf("TLS handshake with %s timed "
				    "out after %d s", s->host,
				    SESSION_HANDSHAKE_TIMEOUT_MS / 1000);
				return SESSION_EXIT_CONNECT;
			}
			session_errorf("TLS handshake with %s failed: %s",
			    s->host, strerror(errno));
			return SESSION_EXIT_TLS;
		}
		v = SSL_get_verify_result(s->ssl);
		if (v != X509_V_OK) {
			session_errorf("certificate verification failed "
			    "for %s: %s", s->host, verify_reason(v));
			return SESSION_EXIT_TLS;
		}
		if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) {
			session_errorf("TLS handshake with %s failed: %s",
			    s->host, errno != 0 ? strerror(errno) :
			    "the server closed the connection");
			return SESSION_EXIT_TLS;
		}
		session_errorf("TLS handshake with %s failed: %s", s->host,
		    tlsctx_error(err, sizeof(err), "protocol error"));
		return SESSION_EXIT_TLS;
	}

	/* Belt and braces: never proceed without a verified certificate. */
	v = SSL_get_verify_result(s->ssl);
	if (SSL_get0_peer_certificate(s->ssl) == NULL || v != X509_V_OK) {
		session_errorf("certificate verification failed for %s: %s",
		    s->host, v != X509_V_OK ? verify_reason(v) :
		    "no certificate");
		return SESSION_EXIT_TLS;
	}
	SSL_get0_alpn_selected(s->ssl, &alpn, &alpn_len);
	if (alpn_len != 0 && (alpn_len != strlen(PARLEY_ALPN) ||
	    memcmp(alpn, PARLEY_ALPN, alpn_len) != 0)) {
		session_errorf("%s does not speak %s", s->host, PARLEY_ALPN);
		return SESSION_EXIT_TLS;
	}
	return SESSION_EXIT_OK;
}

/* ---- lines ---------------------------------------------------------- */

bool
session_keyword_is(const char *line, size_t len, const char *kw)
{
	size_t k = strlen(kw);

	return len >= k && strncasecmp(line, kw, k) == 0 &&
	    (len == k || line[k] == ' ');
}

bool
session_is_final(const char *line, size_t len)
{
	return session_keyword_is(line, len, "OK") ||
	    session_keyword_is(line, len, "ERR");
}

bool
session_is_event(const char *line, size_t len)
{
	static const char *const events[] = {
		"HELLO", "MSG", "JOINED", "LEFT", "PRESENCE", "BYE",
	};
	size_t i;

	for (i = 0; i < sizeof(events) / sizeof(events[0]); i++)
		if (session_keyword_is(line, len, events[i]))
			return true;
	return false;
}

/* Keep a BYE's reason for the report when the connection then ends. */
static void
note_bye(struct session *s, const char *line, size_t len)
{
	if (!session_keyword_is(line, len, "BYE"))
		return;
	if (len > 4) {
		line += 4;
		len -= 4;
	} else {
		line = "(no reason given)";
		len = strlen(line);
	}
	s->bye_len = len < BYE_MAX ? len : BYE_MAX;
	memcpy(s->bye, line, s->bye_len);
	s->bye[s->bye_len] = '\0';
}

int
session_read_line(struct session *s, int timeout_ms, char **line,
    size_t *len)
{
	int64_t deadline = deadline_in(timeout_ms);
	char err[256];
	uint8_t *p;
	size_t avail;
	int n, e, w;

	if (s->gone)
		return -1;
	for (;;) {
		switch (line_next(&s->in, line, len)) {
		case LINE_OK:
			(*line)[*len] = '\0';
			note_bye(s, *line, *len);
			return 1;
		case LINE_TOO_LONG:
		case LINE_BAD_UTF8:
			/* The server should not send these; skip the line. */
			continue;
		case LINE_NEED_MORE:
			break;
		}
		p = line_wptr(&s->in, &avail);
		if (p == NULL) {
			lost(s, "out of memory");
			return -1;
		}
		ERR_clear_error();
		n = SSL_read(s->ssl, p, avail > INT_MAX ? INT_MAX : (int)avail);
		if (n > 0) {
			line_produced(&s->in, (size_t)n);
			continue;
		}
		e = SSL_get_error(s->ssl, n);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
			w = wait_fd(s->fd, e == SSL_ERROR_WANT_READ ? POLLIN :
			    POLLOUT, deadline);
			if (w == 1)
				continue;
			if (w == 0)
				return 0;
			lost(s, strerror(errno));
			return -1;
		}
		if (e == SSL_ERROR_ZERO_RETURN ||
		    (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0 &&
		    (n == 0 || errno == 0)))
			lost(s, "the server closed the connection");
		else if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)
			lost(s, strerror(errno));
		else
			lost(s, tlsctx_error(err, sizeof(err), "TLS error"));
		return -1;
	}
}

/* Write all of p[0..len), waiting for the socket up to a deadline. */
static int
write_all(struct session *s, const char *p, size_t len)
{
	int64_t deadline = deadline_in(SESSION_ANSWER_TIMEOUT_MS);
	char err[256];
	int n, e, w;

	while (len > 0) {
		ERR_clear_error();
		n = SSL_write(s->ssl, p, len > INT_MAX ? INT_MAX : (int)len);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		e = SSL_get_error(s->ssl, n);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
			w = wait_fd(s->fd, e == SSL_ERROR_WANT_READ ? POLLIN :
			    POLLOUT, deadline);
			if (w == 1)
				continue;
			lost(s, w == 0 ? "the server stopped reading" :
			    strerror(errno));
			return -1;
		}
		if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)
			lost(s, errno != 0 ? strerror(errno) :
			    "the server closed the connection");
		else
			lost(s, tlsctx_error(err, sizeof(err), "TLS error"));
		return -1;
	}
	return 0;
}

/* Send the len bytes at the start of wbuf plus an LF, then wipe them. */
static int
send_wbuf(struct session *s, size_t len)
{
	int r;

	/* One buffer, so line and LF go out in one TLS record. */
	s->wbuf[len] = '\n';
	r = write_all(s, s->wbuf, len + 1);
	/* The line may have held a password. */
	sodium_memzero(s->wbuf, len + 1);
	s->last_send = now_ms();
	return r == 0 ? SESSION_EXIT_OK : SESSION_EXIT_LOST;
}

int
session_send(struct session *s, const char *line, size_t len)
{
	if (s->gone)
		return SESSION_EXIT_LOST;
	if (len >= SESSION_LINE_MAX) {
		session_errorf("line too long to send (%zu bytes)", len);
		return SESSION_EXIT_USAGE;
	}
	memcpy(s->wbuf, line, len);
	return send_wbuf(s, len);
}

int
session_sendf(struct session *s, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (s->gone)
		return SESSION_EXIT_LOST;
	va_start(ap, fmt);
	n = vsnprintf(s->wbuf, SESSION_LINE_MAX, fmt, ap);
	va_end(ap);
	if (n < 0 || n >= SESSION_LINE_MAX) {
		sodium_memzero(s->wbuf, SESSION_LINE_MAX);
		session_errorf("line too long to send");
		return SESSION_EXIT_USAGE;
	}
	return send_wbuf(s, (size_t)n);
}

static int
await_until(struct session *s, int timeout_ms, session_line_cb *on_data,
    void *arg, char **line, size_t *len)
{
	int64_t deadline = deadline_in(timeout_ms);
	char why[64];
	int r;

	for (;;) {
		r = session_read_line(s, remaining(deadline), line, len);
		if (r < 0)
			return SESSION_EXIT_LOST;
		if (r == 0) {
			snprintf(why, sizeof(why), "no answer from the server "
			    "within %d s", timeout_ms / 1000);
			lost(s, why);
			return SESSION_EXIT_LOST;
		}
		if (session_is_final(*line, *len))
			return SESSION_EXIT_OK;
		if (session_is_event(*line, *len)) {
			if (s->on_event != NULL)
				s->on_event(s->arg, *line, *len);
		} else if (on_data != NULL) {
			on_data(arg, *line, *len);
		}
	}
}

int
session_await(struct session *s, session_line_cb *on_data, void *arg,
    char **line, size_t *len)
{
	return await_until(s, SESSION_ANSWER_TIMEOUT_MS, on_data, arg, line,
	    len);
}

int
session_pump(struct session *s, session_line_cb *on_line, void *arg)
{
	char *line;
	size_t len;
	int r;

	for (;;) {
		r = session_read_line(s, 0, &line, &len);
		if (r < 0)
			return SESSION_EXIT_LOST;
		if (r == 0)
			return SESSION_EXIT_OK;
		if (session_is_event(line, len)) {
			if (s->on_event != NULL)
				s->on_event(s->arg, line, len);
		} else if (on_line != NULL) {
			on_line(arg, line, len);
		}
	}
}

void
session_expect_close(struct session *s)
{
	s->expect_close = true;
}

int
session_fd(const struct session *s)
{
	return s->fd;
}

int
session_idle_ms(const struct session *s)
{
	int64_t d = now_ms() - s->last_send;

	return d > INT_MAX ? INT_MAX : (int)d;
}

/* ---- parsing -------------------------------------------------------- */

int
session_parse_msg(const char *line, size_t len, struct session_msg *m)
{
	struct line_cursor c;
	char kw[8];
	size_t n, i;

	line_cursor_init(&c, line, len);
	if (line_token(&c, kw, sizeof(kw), &n) != 1 ||
	    (strcasecmp(kw, "MSG") != 0 && strcasecmp(kw, "HIST") != 0))
		return -1;
	if (line_token(&c, m->id, sizeof(m->id), &n) != 1 || n == 0)
		return -1;
	for (i = 0; i < n; i++)
		if (m->id[i] < '0' || m->id[i] > '9')
			return -1;
	if (line_token(&c, m->time, sizeof(m->time), &n) != 1)
		return -1;
	if (line_token(&c, m->from, sizeof(m->from), &n) != 1 ||
	    !names_user_valid(m->from, n))
		return -1;
	if (line_token(&c, m->to, sizeof(m->to), &n) != 1 ||
	    !(names_user_valid(m->to, n) || names_room_valid(m->to, n)))
		return -1;
	if (line_rest(&c, &m->text, &m->text_len) != 1)
		return -1;
	return 0;
}

void
session_report_err(const char *what, const char *line, size_t len)
{
	struct line_cursor c;
	char code[32];
	const char *text;
	size_t n, tlen;

	fflush(stdout);
	line_cursor_init(&c, line, len);
	if (line_token(&c, code, sizeof(code), &n) != 1 ||
	    line_token(&c, code, sizeof(code), &n) != 1) {
		fprintf(stderr, "parley: %s: ", what);
		display_put(stderr, line, len);
		fputc('\n', stderr);
		return;
	}
	fprintf(stderr, "parley: %s: ", what);
	if (line_rest(&c, &text, &tlen) == 1) {
		display_put(stderr, text, tlen);
		fputs(" (", stderr);
		display_put(stderr, code, n);
		fputs(")\n", stderr);
	} else {
		display_put(stderr, code, n);
		fputc('\n', stderr);
	}
}

/* ---- log in --------------------------------------------------------- */

/* Read the greeting: HELLO, possibly after unknown events. */
static int
await_hello(struct session *s)
{
	int64_t deadline = deadline_in(SESSION_ANSWER_TIMEOUT_MS);
	char *line;
	size_t len;
	int r;

	for (;;) {
		r = session_read_line(s, remaining(deadline), &line, &len);
		if (r < 0)
			return SESSION_EXIT_LOST;
		if (r == 0) {
			lost(s, "no greeting from the server");
			return SESSION_EXIT_LOST;
		}
		if (session_keyword_is(line, len, "HELLO"))
			return SESSION_EXIT_OK;
		if (session_keyword_is(line, len, "ERR")) {
			session_report_err("the server refused the connection",
			    line, len);
			return SESSION_EXIT_REFUSED;
		}
	}
}

/*
 * Send LOGIN with the password as a quoted token (SPEC §1: \" and \\ are
 * the only escapes). Both the password and the command line are wiped.
 */
static int
send_password_login(struct session *s, const struct session_opts *o)
{
	char pw[PASSWORD_MAX_BYTES + 2];
	char cmd[sizeof("LOGIN  \"\"") + NAMES_USER_MAX +
	    2 * (PASSWORD_MAX_BYTES + 1)];
	size_t n, i, pwlen;
	int rc;

	if (password_read(o->password_stdin, o->user, pw, sizeof(pw)) != 0)
		return SESSION_EXIT_USAGE;
	pwlen = strlen(pw);
	if (!utf8_valid(pw, pwlen)) {
		sodium_memzero(pw, sizeof(pw));
		session_errorf("the password is not valid UTF-8");
		return SESSION_EXIT_USAGE;
	}
	n = (size_t)snprintf(cmd, sizeof(cmd), "LOGIN %s \"", o->user);
	for (i = 0; i < pwlen; i++) {
		if (pw[i] == '"' || pw[i] == '\\')
			cmd[n++] = '\\';
		cmd[n++] = pw[i];
	}
	cmd[n++] = '"';
	sodium_memzero(pw, sizeof(pw));
	rc = session_send(s, cmd, n);
	sodium_memzero(cmd, sizeof(cmd));
	return rc;
}

static int
login(struct session *s, const struct session_opts *o)
{
	char *line;
	size_t len;
	int rc;

	if (o->cert != NULL && !o->password_stdin)
		rc = session_sendf(s, "LOGIN %s", o->user);
	else
		rc = send_password_login(s, o);
	if (rc != SESSION_EXIT_OK)
		return rc;
	rc = session_await(s, NULL, NULL, &line, &len);
	if (rc != SESSION_EXIT_OK)
		return rc;
	if (!session_keyword_is(line, len, "OK")) {
		session_report_err("authentication failed", line, len);
		return SESSION_EXIT_AUTH;
	}
	return SESSION_EXIT_OK;
}

int
session_start(const struct session_opts *o, session_line_cb *on_event,
    void *arg, struct session **out)
{
	struct session *s;
	const char *host = o->host;
	size_t hl;
	int rc;

	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (s == NULL || (s->wbuf = malloc(SESSION_LINE_MAX + 1)) == NULL) {
		free(s);
		session_errorf("out of memory");
		return SESSION_EXIT_CONNECT;
	}
	s->fd = -1;
	s->on_event = on_event;
	s->arg = arg;
	line_init(&s->in, SESSION_LINE_MAX);

	/* "[::1]" names the address ::1. */
	hl = strlen(host);
	if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
		host++;
		hl -= 2;
	}
	if (hl == 0 || hl > HOST_MAX) {
		session_errorf("bad host name");
		rc = SESSION_EXIT_USAGE;
		goto fail;
	}
	memcpy(s->host, host, hl);
	s->host[hl] = '\0';

	if ((rc = connect_host(s, o->port)) != SESSION_EXIT_OK)
		goto fail;
	if ((rc = tls_handshake(s, o)) != SESSION_EXIT_OK)
		goto fail;
	s->last_send = now_ms();
	if ((rc = await_hello(s)) != SESSION_EXIT_OK)
		goto fail;
	if ((rc = login(s, o)) != SESSION_EXIT_OK)
		goto fail;
	*out = s;
	return SESSION_EXIT_OK;
fail:
	session_free(s);
	return rc;
}

int
session_quit(struct session *s)
{
	char *line;
	size_t len;
	int rc;

	if (s->gone)
		return SESSION_EXIT_LOST;
	s->expect_close = true;
	rc = session_sendf(s, "QUIT");
	if (rc != SESSION_EXIT_OK)
		return rc;
	return await_until(s, QUIT_TIMEOUT_MS, NULL, NULL, &line, &len);
}

void
session_free(struct session *s)
{
	if (s == NULL)
		return;
	if (s->ssl != NULL) {
		/* Send close_notify if we can; do not wait for the reply. */
		if (!s->gone && SSL_is_init_finished(s->ssl)) {
			ERR_clear_error();
			(void)SSL_shutdown(s->ssl);
		}
		SSL_free(s->ssl);
	}
	SSL_CTX_free(s->ctx);
	ERR_clear_error();
	if (s->fd >= 0)
		close(s->fd);
	line_free(&s->in);
	if (s->wbuf != NULL) {
		sodium_memzero(s->wbuf, SESSION_LINE_MAX + 1);
		free(s->wbuf);
	}
	free(s);
}
