/*
 * abuse_tls: a raw TLS client for the abuse tests (abuse.h).
 *
 * The harness client hides its OpenSSL objects; attacks need them: to
 * send KeyUpdates and renegotiation requests, to read the server's
 * certificate, to write megabytes without waiting, to reset a connection
 * in the middle of a write. Sockets are non-blocking and every wait has a
 * deadline. One client context per process, loaded with the test CA.
 */
#include "abuse.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

static char tls_err[512];

static int
remaining_ms(int64_t deadline_ms)
{
	int64_t left = deadline_ms - hs_now_ms();

	if (left <= 0)
		return 0;
	return left > INT_MAX ? INT_MAX : (int)left;
}

/* ------------------------------------------------------------------ */
/* Raw TLS client                                                      */

#define TLS_INPUT_CAP	(64u * 1024 * 1024)

struct ab_tls {
	int		 fd;
	SSL		*ssl;
	int		 closed;
	unsigned	 keyupdates;
	char		*in;
	size_t		 rpos, len, cap;
	char		*line;
	size_t		 linecap;
};

static SSL_CTX *client_ctx;

static void
tls_seterr(const char *what)
{
	unsigned long e = ERR_get_error();
	char buf[256];

	if (e != 0)
		ERR_error_string_n(e, buf, sizeof(buf));
	else
		snprintf(buf, sizeof(buf), "%s", errno ? strerror(errno) :
		    "no error detail");
	snprintf(tls_err, sizeof(tls_err), "%s: %s", what, buf);
	ERR_clear_error();
}

const char *
ab_tls_error(void)
{
	return tls_err;
}

static void
msg_cb(int write_p, int version, int content_type, const void *buf,
    size_t len, SSL *ssl, void *arg)
{
	struct ab_tls *t = arg;

	(void)version;
	(void)ssl;
	if (!write_p && content_type == SSL3_RT_HANDSHAKE && len > 0 &&
	    ((const unsigned char *)buf)[0] == SSL3_MT_KEY_UPDATE)
		t->keyupdates++;
}

static SSL_CTX *
get_ctx(void)
{
	const char *ca;

	if (client_ctx != NULL)
		return client_ctx;
	if ((ca = hs_cafile()) == NULL)
		return NULL;
	client_ctx = SSL_CTX_new(TLS_client_method());
	if (client_ctx == NULL)
		return NULL;
	if (SSL_CTX_load_verify_locations(client_ctx, ca, NULL) != 1) {
		SSL_CTX_free(client_ctx);
		client_ctx = NULL;
		return NULL;
	}
	SSL_CTX_set_mode(client_ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	/* The attacks want the session live, not resumed. */
	SSL_CTX_set_session_cache_mode(client_ctx, SSL_SESS_CACHE_OFF);
	return client_ctx;
}

static int
wait_io(int fd, short ev, int64_t deadline)
{
	struct pollfd p = { fd, ev, 0 };
	int r;

	do {
		r = poll(&p, 1, remaining_ms(deadline));
	} while (r == -1 && errno == EINTR);
	return r;
}

/* A connected non-blocking socket; rcvbuf > 0 shrinks its receive buffer. */
static int
tcp_open(const struct hs_server *s, const char *src, int timeout_ms,
    int rcvbuf)
{
	struct sockaddr_in sa, la;
	int64_t deadline = hs_now_ms() + timeout_ms;
	socklen_t sl;
	int fd, err;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)hs_server_port(s));
	if (inet_pton(AF_INET, hs_server_host(s), &sa.sin_addr) != 1)
		return -1;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	/* Before connect, so that the window is small from the start. */
	if (rcvbuf > 0 && setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf,
	    sizeof(rcvbuf)) == -1)
		goto fail;
	if (src != NULL) {
		memset(&la, 0, sizeof(la));
		la.sin_family = AF_INET;
		if (inet_pton(AF_INET, src, &la.sin_addr) != 1 ||
		    bind(fd, (struct sockaddr *)&la, sizeof(la)) == -1)
			goto fail;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
		if (errno != EINPROGRESS)
			goto fail;
		if (wait_io(fd, POLLOUT, deadline) != 1)
			goto fail;
		sl = sizeof(err);
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &sl) == -1 ||
		    err != 0)
			goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

int
ab_tcp(const struct hs_server *s, const char *src, int timeout_ms)
{
	return tcp_open(s, src, timeout_ms, 0);
}

void
ab_rst_close(int fd)
{
	struct linger l = { 1, 0 };

	if (fd < 0)
		return;
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	close(fd);
}

struct ab_tls *
ab_tls_connect(const struct hs_server *s, const struct ab_tls_opts *o)
{
	static const struct ab_tls_opts none;
	int64_t deadline;
	struct ab_tls *t;
	SSL_CTX *ctx;
	int r, e;

	if (o == NULL)
		o = &none;
	deadline = hs_now_ms() + (o->timeout_ms > 0 ? o->timeout_ms :
	    HS_TIMEOUT_MS);
	ERR_clear_error();
	if ((ctx = get_ctx()) == NULL) {
		tls_seterr("client context");
		return NULL;
	}
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	t->fd = tcp_open(s, o->src, remaining_ms(deadline), o->rcvbuf);
	if (t->fd == -1) {
		snprintf(tls_err, sizeof(tls_err), "connect: %s",
		    strerror(errno));
		free(t);
		return NULL;
	}
	if ((t->ssl = SSL_new(ctx)) == NULL)
		goto sslfail;
	SSL_set_msg_callback(t->ssl, msg_cb);
	SSL_set_msg_callback_arg(t->ssl, t);
	if ((o->min_version != 0 &&
	    SSL_set_min_proto_version(t->ssl, o->min_version) != 1) ||
	    (o->max_version != 0 &&
	    SSL_set_max_proto_version(t->ssl, o->max_version) != 1))
		goto sslfail;
	SSL_set_verify(t->ssl, o->no_verify ? SSL_VERIFY_NONE :
	    SSL_VERIFY_PEER, NULL);
	if (SSL_set1_host(t->ssl, "localhost") != 1 ||
	    SSL_set_tlsext_host_name(t->ssl, "localhost") != 1 ||
	    SSL_set_fd(t->ssl, t->fd) != 1)
		goto sslfail;
	for (;;) {
		ERR_clear_error();
		errno = 0;
		r = SSL_connect(t->ssl);
		if (r == 1)
			break;
		e = SSL_get_error(t->ssl, r);
		if ((e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) &&
		    wait_io(t->fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT,
		    deadline) == 1)
			continue;
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
			snprintf(tls_err, sizeof(tls_err), "handshake timeout");
			goto fail;
		}
		goto sslfail;
	}
	return t;
sslfail:
	tls_seterr("TLS");
fail:
	ab_tls_free(t, 1);
	return NULL;
}

SSL *
ab_tls_ssl(struct ab_tls *t)
{
	return t->ssl;
}

int
ab_tls_fd(struct ab_tls *t)
{
	return t->fd;
}

unsigned
ab_tls_keyupdates_seen(const struct ab_tls *t)
{
	return t->keyupdates;
}

int
ab_tls_closed(const struct ab_tls *t)
{
	return t->closed;
}

ssize_t
ab_tls_write(struct ab_tls *t, const void *p, size_t len, int timeout_ms)
{
	int64_t deadline = hs_now_ms() + timeout_ms;
	size_t off = 0, n;
	int r, e;

	while (off < len) {
		ERR_clear_error();
		r = SSL_write_ex(t->ssl, (const char *)p + off, len - off, &n);
		if (r == 1) {
			off += n;
			continue;
		}
		e = SSL_get_error(t->ssl, r);
		if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) {
			if (wait_io(t->fd, e == SSL_ERROR_WANT_READ ? POLLIN :
			    POLLOUT, deadline) == 1)
				continue;
			break;
		}
		tls_seterr("write");
		t->closed = 1;
		return off > 0 ? (ssize_t)off : -1;
	}
	return (ssize_t)off;
}

int
ab_tls_send(struct ab_tls *t, const char *fmt, ...)
{
	char *s = NULL;
	va_list ap;
	int n;
	ssize_t w;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	s[n] = '\n';
	w = ab_tls_write(t, s, (size_t)n + 1, HS_TIMEOUT_MS);
	free(s);
	return w == (ssize_t)n + 1 ? 0 : -1;
}

int
ab_tls_pump(struct ab_tls *t, int timeout_ms)
{
	int64_t deadline = hs_now_ms() + timeout_ms;
	size_t n;
	int r, e;

	if (t->closed)
		return -1;
	if (t->rpos > 0) {
		memmove(t->in, t->in + t->rpos, t->len - t->rpos);
		t->len -= t->rpos;
		t->rpos = 0;
	}
	if (t->cap - t->len < 16384) {
		size_t ncap = t->cap == 0 ? 65536 : t->cap * 2;
		char *nb;

		if (ncap > TLS_INPUT_CAP || (nb = realloc(t->in, ncap)) == NULL) {
			t->closed = 1;
			return -1;
		}
		t->in = nb;
		t->cap = ncap;
	}
	for (;;) {
		ERR_clear_error();
		errno = 0;
		r = SSL_read_ex(t->ssl, t->in + t->len, t->cap - t->len, &n);
		if (r == 1) {
			t->len += n;
			return 1;
		}
		e = SSL_get_error(t->ssl, r);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
			r = wait_io(t->fd, e == SSL_ERROR_WANT_READ ? POLLIN :
			    POLLOUT, deadline);
			if (r == 1)
				continue;
			return r == 0 ? 0 : -1;
		}
		tls_seterr("read");
		t->closed = 1;
		return -1;
	}
}

const char *
ab_tls_line(struct ab_tls *t, int timeout_ms)
{
	int64_t deadline = hs_now_ms() + timeout_ms;
	char *nl;
	size_t l;

	for (;;) {
		nl = t->len > t->rpos ? memchr(t->in + t->rpos, '\n',
		    t->len - t->rpos) : NULL;
		if (nl != NULL) {
			l = (size_t)(nl - (t->in + t->rpos));
			if (t->linecap < l + 1) {
				char *nb = realloc(t->line, l + 1);

				if (nb == NULL)
					return NULL;
				t->line = nb;
				t->linecap = l + 1;
			}
			memcpy(t->line, t->in + t->rpos, l);
			if (l > 0 && t->line[l - 1] == '\r')
				l--;
			t->line[l] = '\0';
			t->rpos = (size_t)(nl - t->in) + 1;
			return t->line;
		}
		if (ab_tls_pump(t, remaining_ms(deadline)) != 1)
			return NULL;
	}
}

struct ab_tls *
ab_tls_hello(const struct hs_server *s, const char *src)
{
	struct ab_tls_opts o;
	struct ab_tls *t;
	const char *l;

	memset(&o, 0, sizeof(o));
	o.src = src;
	if ((t = ab_tls_connect(s, &o)) == NULL)
		return NULL;
	l = ab_tls_line(t, HS_TIMEOUT_MS);
	if (l == NULL || strncmp(l, "HELLO ", 6) != 0) {
		snprintf(tls_err, sizeof(tls_err), "no greeting (got \"%.60s\")",
		    l != NULL ? l : "nothing");
		ab_tls_free(t, 1);
		return NULL;
	}
	return t;
}

struct ab_tls *
ab_tls_login(const struct hs_server *s, const char *src, const char *user,
    const char *pw)
{
	struct ab_tls *t = ab_tls_hello(s, src);
	const char *l;
	char want[64];

	if (t == NULL)
		return NULL;
	snprintf(want, sizeof(want), "OK LOGIN %s", user);
	if (ab_tls_send(t, "LOGIN %s %s", user, pw) != 0 ||
	    (l = ab_tls_line(t, HS_TIMEOUT_MS)) == NULL ||
	    strcmp(l, want) != 0) {
		snprintf(tls_err, sizeof(tls_err), "LOGIN %s failed", user);
		ab_tls_free(t, 1);
		return NULL;
	}
	return t;
}

int
ab_tls_fingerprint(struct ab_tls *t, char out[65])
{
	X509 *x = SSL_get1_peer_certificate(t->ssl);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0, i;

	if (x == NULL)
		return -1;
	if (X509_digest(x, EVP_sha256(), md, &n) != 1 || n != 32) {
		X509_free(x);
		return -1;
	}
	X509_free(x);
	for (i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	return 0;
}

int
ab_file_fingerprint(const char *pem, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0, i;
	FILE *f = fopen(pem, "re");
	X509 *x;

	if (f == NULL)
		return -1;
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (x == NULL)
		return -1;
	if (X509_digest(x, EVP_sha256(), md, &n) != 1 || n != 32) {
		X509_free(x);
		return -1;
	}
	X509_free(x);
	for (i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	return 0;
}

void
ab_tls_free(struct ab_tls *t, int rst)
{
	if (t == NULL)
		return;
	if (t->ssl != NULL) {
		if (!rst && !t->closed) {
			ERR_clear_error();
			(void)SSL_shutdown(t->ssl);
		}
		ERR_clear_error();
		SSL_free(t->ssl);
	}
	if (t->fd != -1) {
		if (rst)
			ab_rst_close(t->fd);
		else
			close(t->fd);
	}
	free(t->in);
	free(t->line);
	free(t);
}
