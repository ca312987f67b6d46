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
 * check for every connection. Each way a handshake can fail that a user
 * can act on (unknown CA, wrong name, expired certificate, no common TLS
 * version, client certificate refused) gets its own message and exit code.
 *
 * Logging in asks creds.c for each line to try: RESUME with a stored
 * token, then LOGIN with the certificate or password when the token is
 * refused (one refused RESUME stays far below the server's limit of
 * failed logins per connection). Afterwards it asks the server for a new
 * token when creds.c says so.
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
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sodium.h>

#include "creds.h"
#include "display.h"
#include "line.h"
#include "tlsctx.h"

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
	int64_t logged_in;              /* monotonic ms of OK LOGIN */
	bool gone;                      /* connection lost, already reported */
	bool expect_close;              /* QUIT sent: a close is no news */
	bool has_cert;                  /* a client certificate was offered */
	int fail_code;                  /* exit code once gone */
	char host[HOST_MAX + 1];        /* without IPv6 brackets */
	char bye[BYE_MAX + 1];          /* reason of a BYE seen, raw */
	size_t bye_len;
};

static session_report_fn *reporter;

void
session_set_reporter(session_report_fn *fn)
{
	reporter = fn;
}

static void
report(const char *msg)
{
	if (reporter != NULL) {
		reporter(msg);
		return;
	}
	fflush(stdout);
	fprintf(stderr, "parley: %s\n", msg);
}

void
session_errorf(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	report(msg);
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
session_now_ms(void)
{
	return now_ms();
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
	char esc[BYE_MAX * 4 + 1];

	if (s->gone)
		return;
	s->gone = true;
	if (s->expect_close && s->bye_len == 0)
		return;
	if (s->bye_len > 0) {
		display_escape(esc, sizeof(esc), s->bye, s->bye_len);
		session_errorf("connection closed by the server: %s", esc);
	} else {
		session_errorf("connection lost: %s", why);
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

/*
 * A readable reason for a certificate verification result, and the exit
 * code that goes with it.
 */
static const char *
verify_reason(long v, int *code)
{
	*code = SESSION_EXIT_TLS;
	switch (v) {
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_CERT_UNTRUSTED:
	case X509_V_ERR_CERT_SIGNATURE_FAILURE:
		*code = SESSION_EXIT_UNKNOWN_CA;
		return "unknown CA: the server certificate is not signed by a "
		    "trusted CA (see --cafile)";
	case X509_V_ERR_HOSTNAME_MISMATCH:
		*code = SESSION_EXIT_NAME_MISMATCH;
		return "host name mismatch: the server certificate is not for "
		    "this host name";
	case X509_V_ERR_IP_ADDRESS_MISMATCH:
		*code = SESSION_EXIT_NAME_MISMATCH;
		return "host name mismatch: the server certificate is not for "
		    "this IP address";
	case X509_V_ERR_CERT_HAS_EXPIRED:
		*code = SESSION_EXIT_EXPIRED;
		return "certificate expired";
	case X509_V_ERR_CERT_NOT_YET_VALID:
		*code = SESSION_EXIT_EXPIRED;
		return "certificate not yet valid (check the clock)";
	case X509_V_ERR_CERT_REVOKED:
		return "certificate revoked";
	default:
		return X509_verify_cert_error_string(v);
	}
}

/* OpenSSL reasons that mean "no TLS version in common". */
static bool
is_version_error(int reason)
{
	switch (reason) {
	case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION:
	case SSL_R_UNSUPPORTED_PROTOCOL:
	case SSL_R_NO_PROTOCOLS_AVAILABLE:
	case SSL_R_VERSION_TOO_LOW:
	case SSL_R_VERSION_TOO_HIGH:
	case SSL_R_UNSUPPORTED_SSL_VERSION:
		return true;
	default:
		return false;
	}
}

/* Alerts a server sends when it does not accept the client certificate. */
static bool
is_cert_refusal(int reason)
{
	switch (reason) {
	case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
	case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
	case SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED:
	case SSL_R_SSLV3_ALERT_CERTIFICATE_REVOKED:
	case SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN:
	case SSL_R_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE:
	case SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED:
	case SSL_R_TLSV1_ALERT_ACCESS_DENIED:
	case SSL_R_TLSV1_ALERT_DECRYPT_ERROR:
		return true;
	default:
		return false;
	}
}

/*
 * Report a TLS failure from the OpenSSL error queue (which is cleared)
 * and return its exit code. Called for handshake failures and for a TLS
 * error on the first read (TLS 1.3 servers reject a client certificate
 * only after the client's side of the handshake is done).
 */
static int
tls_failure(struct session *s, const char *during)
{
	char err[256];
	unsigned long e = ERR_peek_error();
	int reason = ERR_GET_LIB(e) == ERR_LIB_SSL ? ERR_GET_REASON(e) : 0;

	tlsctx_error(err, sizeof(err), "protocol error");
	if (is_version_error(reason)) {
		session_errorf("TLS version mismatch: %s and this client "
		    "(TLS 1.2 or 1.3) have no TLS version in common (%s)",
		    s->host, err);
		return SESSION_EXIT_TLS_VERSION;
	}
	if (!s->has_cert &&
	    reason == SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED) {
		session_errorf("authentication failed: %s requires a client "
		    "certificate (see --cert and --key)", s->host);
		return SESSION_EXIT_AUTH;
	}
	if (s->has_cert && is_cert_refusal(reason)) {
		session_errorf("authentication failed: %s refused the client "
		    "certificate (%s)", s->host, err);
		return SESSION_EXIT_AUTH;
	}
	if (reason == SSL_R_TLSV1_ALERT_NO_APPLICATION_PROTOCOL) {
		session_errorf("%s does not speak %s", s->host, PARLEY_ALPN);
		return SESSION_EXIT_TLS;
	}
	if (reason == SSL_R_WRONG_VERSION_NUMBER) {
		session_errorf("TLS %s with %s failed: the server does not "
		    "speak TLS (%s)", during, s->host, err);
		return SESSION_EXIT_TLS;
	}
	session_errorf("TLS %s with %s failed: %s", during, s->host, err);
	return SESSION_EXIT_TLS;
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
	int r, e, w, code;

	s->has_cert = o->cert != NULL;
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
			ERR_clear_error();
			session_errorf("certificate verification failed "
			    "for %s: %s", s->host, verify_reason(v, &code));
			return code;
		}
		if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) {
			session_errorf("TLS handshake with %s failed: %s",
			    s->host, errno != 0 ? strerror(errno) :
			    "the server closed the connection");
			return SESSION_EXIT_TLS;
		}
		return tls_failure(s, "handshake");
	}

	/* Belt and braces: never proceed without a verified certificate. */
	v = SSL_get_verify_result(s->ssl);
	if (SSL_get0_peer_certificate(s->ssl) == NULL || v != X509_V_OK) {
		code = SESSION_EXIT_TLS;
		session_errorf("certificate verification failed for %s: %s",
		    s->host, v != X509_V_OK ? verify_reason(v, &code) :
		    "no certificate");
		return code;
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

/* Keep a BYE's reason for the report when the connection then ends. */
static void
note_bye(struct session *s, const char *line, size_t len)
{
	if (!proto_keyword_is(line, len, "BYE"))
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
	/* Nothing follows a BYE but the close (SPEC §2): do not wait. */
	if (s->bye_len > 0) {
		lost(s, "closed");
		return -1;
	}
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
		else if (s->logged_in == 0 && !s->gone) {
			/* Before the login: say what the handshake means. */
			s->gone = true;
			s->fail_code = tls_failure(s, "session");
		} else
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
		if (proto_is_final(*line, *len))
			return SESSION_EXIT_OK;
		if (proto_is_event(*line, *len)) {
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
		if (proto_is_event(line, len)) {
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
			return s->fail_code;
		if (r == 0) {
			lost(s, "no greeting from the server");
			return SESSION_EXIT_LOST;
		}
		if (proto_keyword_is(line, len, "HELLO"))
			return SESSION_EXIT_OK;
		if (proto_keyword_is(line, len, "ERR")) {
			proto_report_err("the server refused the connection",
			    line, len);
			return SESSION_EXIT_REFUSED;
		}
	}
}

/*
 * Ask for a new resume token and hand the answer to creds.c. Any answer
 * but a lost connection is fine: a server that gives no token only means
 * the next run logs in the old way.
 */
static int
fetch_token(struct session *s, struct creds *cr)
{
	char *line;
	size_t len;
	int rc;

	if (!creds_want_token(cr))
		return SESSION_EXIT_OK;
	rc = session_sendf(s, "TOKEN");
	if (rc == SESSION_EXIT_OK)
		rc = session_await(s, NULL, NULL, &line, &len);
	if (rc != SESSION_EXIT_OK)
		return rc;
	creds_token_answer(cr, line, len);
	/* The line held the token. */
	sodium_memzero(line, len);
	return SESSION_EXIT_OK;
}

/*
 * Log in: creds.c provides each line (RESUME with a stored token; LOGIN
 * with a client certificate or a password), which is wiped after
 * sending. A refused token is followed by the next way on the same
 * connection. ERR RATE_LIMITED and UNAVAILABLE mean "not now" and give
 * SESSION_EXIT_REFUSED so a reconnecting caller tries again later; any
 * other ERR is a refusal (SESSION_EXIT_AUTH).
 */
static int
login(struct session *s, struct creds *cr)
{
	char cmd[CREDS_LINE_MAX];
	char *line;
	size_t len, n;
	int rc;

	creds_begin(cr);
	for (;;) {
		rc = creds_login_line(cr, cmd, sizeof(cmd), &n);
		if (rc != SESSION_EXIT_OK)
			return rc;
		rc = session_send(s, cmd, n);
		sodium_memzero(cmd, sizeof(cmd));
		if (rc != SESSION_EXIT_OK)
			return rc;
		rc = session_await(s, NULL, NULL, &line, &len);
		if (rc != SESSION_EXIT_OK)
			return s->fail_code != SESSION_EXIT_LOST ?
			    s->fail_code : rc;
		if (proto_keyword_is(line, len, "OK")) {
			creds_accepted(cr);
			s->logged_in = now_ms();
			return fetch_token(s, cr);
		}
		if (proto_keyword_is(line, len, "ERR RATE_LIMITED") ||
		    proto_keyword_is(line, len, "ERR UNAVAILABLE")) {
			proto_report_err("cannot log in now", line, len);
			return SESSION_EXIT_REFUSED;
		}
		if (creds_refused(cr))
			continue;
		proto_report_err("authentication failed", line, len);
		return SESSION_EXIT_AUTH;
	}
}

int
session_start(const struct session_opts *o, struct creds *cr,
    session_line_cb *on_event, void *arg, struct session **out)
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
	s->fail_code = SESSION_EXIT_LOST;
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
	if ((rc = login(s, cr)) != SESSION_EXIT_OK)
		goto fail;
	*out = s;
	return SESSION_EXIT_OK;
fail:
	session_free(s);
	return rc;
}

const char *
session_bye(const struct session *s)
{
	return s->bye_len > 0 ? s->bye : NULL;
}

int64_t
session_age_ms(const struct session *s)
{
	return s->logged_in == 0 ? 0 : now_ms() - s->logged_in;
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
