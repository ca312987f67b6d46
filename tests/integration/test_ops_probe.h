/*
 * test_ops_probe: a small TLS client for the operations tests.
 *
 * The harness's client hides the server's certificate and only talks to a
 * server the harness started itself. The operations tests need both: the
 * fingerprint a fresh handshake sees (certificate reloads), and servers
 * started by hand (socket activation, sd_notify) on a port the test
 * chose. Everything here is blocking with socket timeouts, verifies the
 * server against the test CA, and returns NULL or -1 on failure with the
 * reason in op_why. Header-only (static functions) because the test
 * build links each test_*.c with the harness alone.
 */
#ifndef PARLEY_TEST_OPS_PROBE_H
#define PARLEY_TEST_OPS_PROBE_H

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "harness.h"

#define OP_TIMEOUT_MS	5000
/* Not every test file uses every helper. */
#define OP_FN		static __attribute__((unused))

struct op_conn {
	int fd;
	SSL_CTX *ctx;
	SSL *ssl;
	char fp[96];            /* SHA-256 of the server's certificate */
	char line[8192];
	char in[16384];
	size_t inlen;
};

static char op_why[512];

OP_FN void
op_set_timeout(int fd, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* A blocking TCP socket connected to 127.0.0.1:port, or -1. */
OP_FN int
op_tcp_connect(int port, int timeout_ms)
{
	struct sockaddr_in sin;
	struct pollfd pfd;
	socklen_t sl;
	int fd, fl, err = 0;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd == -1) {
		snprintf(op_why, sizeof(op_why), "socket: %s", strerror(errno));
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
		if (errno != EINPROGRESS) {
			err = errno;
			goto fail;
		}
		pfd.fd = fd;
		pfd.events = POLLOUT;
		if (poll(&pfd, 1, timeout_ms) != 1) {
			err = ETIMEDOUT;
			goto fail;
		}
		sl = sizeof(err);
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &sl) == -1 ||
		    err != 0)
			goto fail;
	}
	fl = fcntl(fd, F_GETFL);
	fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	fl = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &fl, sizeof(fl));
	op_set_timeout(fd, timeout_ms);
	return fd;
fail:
	snprintf(op_why, sizeof(op_why), "connect to port %d: %s", port,
	    strerror(err != 0 ? err : errno));
	close(fd);
	return -1;
}

OP_FN void
op_close(struct op_conn *c)
{
	if (c == NULL)
		return;
	if (c->ssl != NULL) {
		SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
	}
	SSL_CTX_free(c->ctx);
	if (c->fd != -1)
		close(c->fd);
	free(c);
}

OP_FN void
op_ssl_why(const char *what)
{
	unsigned long e = ERR_get_error();
	char buf[256] = "";

	if (e != 0)
		ERR_error_string_n(e, buf, sizeof(buf));
	snprintf(op_why, sizeof(op_why), "%s: %s", what,
	    buf[0] != '\0' ? buf : strerror(errno));
	ERR_clear_error();
}

/*
 * TLS handshake over a connected socket (taken over, closed on failure),
 * verifying the server against the test CA for "localhost", optionally
 * presenting a client certificate. NULL on failure.
 */
OP_FN struct op_conn *
op_handshake_fd(int fd, const char *cert, const char *key)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;
	struct op_conn *c;
	X509 *peer;
	size_t o = 0;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		close(fd);
		return NULL;
	}
	c->fd = fd;
	ERR_clear_error();
	if ((c->ctx = SSL_CTX_new(TLS_client_method())) == NULL ||
	    SSL_CTX_load_verify_locations(c->ctx, hs_cafile(), NULL) != 1) {
		op_ssl_why("client context");
		goto fail;
	}
	SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
	if (cert != NULL &&
	    (SSL_CTX_use_certificate_chain_file(c->ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(c->ctx, key, SSL_FILETYPE_PEM) != 1)) {
		op_ssl_why("client certificate");
		goto fail;
	}
	if ((c->ssl = SSL_new(c->ctx)) == NULL ||
	    SSL_set1_host(c->ssl, "localhost") != 1 ||
	    SSL_set_tlsext_host_name(c->ssl, "localhost") != 1 ||
	    SSL_set_fd(c->ssl, fd) != 1) {
		op_ssl_why("SSL_new");
		goto fail;
	}
	if (SSL_connect(c->ssl) != 1) {
		op_ssl_why("handshake");
		goto fail;
	}
	peer = SSL_get0_peer_certificate(c->ssl);
	if (peer == NULL || X509_digest(peer, EVP_sha256(), md, &mdlen) != 1) {
		op_ssl_why("peer certificate");
		goto fail;
	}
	for (i = 0; i < mdlen; i++)
		o += (size_t)snprintf(c->fp + o, sizeof(c->fp) - o, "%s%02X",
		    i > 0 ? ":" : "", md[i]);
	return c;
fail:
	op_close(c);
	return NULL;
}

/* Connect to 127.0.0.1:port and hand-shake; NULL on failure. */
OP_FN struct op_conn *
op_handshake(int port, const char *cert, const char *key)
{
	int fd = op_tcp_connect(port, OP_TIMEOUT_MS);

	if (fd == -1)
		return NULL;
	return op_handshake_fd(fd, cert, key);
}

/* Send one line (LF appended). Returns 0 or -1. */
OP_FN int
op_send(struct op_conn *c, const char *line)
{
	char buf[8192];
	int n = snprintf(buf, sizeof(buf), "%s\n", line);

	ERR_clear_error();
	if (n <= 0 || (size_t)n >= sizeof(buf) ||
	    SSL_write(c->ssl, buf, n) != n) {
		op_ssl_why("write");
		return -1;
	}
	return 0;
}

/* The next line without its LF, or NULL (timeout, close, TLS alert). */
OP_FN const char *
op_line(struct op_conn *c)
{
	for (;;) {
		char *nl = memchr(c->in, '\n', c->inlen);
		int r;

		if (nl != NULL) {
			size_t l = (size_t)(nl - c->in);

			if (l >= sizeof(c->line))
				l = sizeof(c->line) - 1;
			memcpy(c->line, c->in, l);
			c->line[l] = '\0';
			if (l > 0 && c->line[l - 1] == '\r')
				c->line[l - 1] = '\0';
			c->inlen -= (size_t)(nl - c->in) + 1;
			memmove(c->in, nl + 1, c->inlen);
			return c->line;
		}
		if (c->inlen == sizeof(c->in)) {
			snprintf(op_why, sizeof(op_why), "line too long");
			return NULL;
		}
		ERR_clear_error();
		r = SSL_read(c->ssl, c->in + c->inlen, (int)(sizeof(c->in) -
		    c->inlen));
		if (r <= 0) {
			op_ssl_why("read");
			return NULL;
		}
		c->inlen += (size_t)r;
	}
}

/* Read lines until one starts with prefix (events are skipped). */
OP_FN const char *
op_expect(struct op_conn *c, const char *prefix)
{
	const char *l;

	while ((l = op_line(c)) != NULL)
		if (strncmp(l, prefix, strlen(prefix)) == 0)
			return l;
	return NULL;
}

/*
 * Hand-shake, read the greeting and disconnect: the fingerprint the
 * server shows new connections. Returns 0 and fills fp, or -1.
 */
OP_FN int
op_probe(int port, char fp[96])
{
	struct op_conn *c = op_handshake(port, NULL, NULL);

	if (c == NULL)
		return -1;
	if (op_expect(c, "HELLO ") == NULL) {
		op_close(c);
		return -1;
	}
	memcpy(fp, c->fp, sizeof(c->fp));
	op_close(c);
	return 0;
}

/* Whether the file at path contains needle. */
OP_FN int
op_file_has(const char *path, const char *needle)
{
	FILE *f = fopen(path, "r");
	char *buf;
	size_t n;
	int found = 0;

	if (f == NULL)
		return 0;
	buf = malloc(8u << 20);
	if (buf != NULL) {
		n = fread(buf, 1, (8u << 20) - 1, f);
		buf[n] = '\0';
		found = strstr(buf, needle) != NULL;
		free(buf);
	}
	fclose(f);
	return found;
}

/* Count the occurrences of needle in the server's log. */
OP_FN int
op_log_count(const struct hs_server *s, const char *needle)
{
	char *log = hs_server_log(s), *p;
	int n = 0;

	if (log == NULL)
		return -1;
	for (p = log; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	free(log);
	return n;
}

/*
 * Run a shell command (formatted); print its output if it fails.
 * Returns its exit status, or -1.
 */
OP_FN int
op_sh(const char *fmt, ...) HS_FMT(1, 2);
OP_FN int
op_sh(const char *fmt, ...)
{
	char *cmd = NULL, *out = NULL;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	if (vasprintf(&cmd, fmt, ap) == -1)
		cmd = NULL;
	va_end(ap);
	if (cmd == NULL)
		return -1;
	rc = hs_run(NULL, &out, 60000, "%s", cmd);
	if (rc != 0)
		fprintf(stderr, "ops: command failed (%d): %s\n%s", rc, cmd,
		    out != NULL ? out : "");
	free(out);
	free(cmd);
	return rc;
}

/* SHA-256 fingerprint ("AB:CD:...") of the first certificate in a file. */
OP_FN int
op_cert_fp(const char *path, char fp[96])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;
	FILE *f = fopen(path, "r");
	X509 *x;
	size_t o = 0;

	if (f == NULL)
		return -1;
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (x == NULL || X509_digest(x, EVP_sha256(), md, &mdlen) != 1) {
		X509_free(x);
		return -1;
	}
	X509_free(x);
	fp[0] = '\0';
	for (i = 0; i < mdlen; i++)
		o += (size_t)snprintf(fp + o, 96 - o, "%s%02X", i > 0 ? ":" : "",
		    md[i]);
	return 0;
}

/*
 * Wait up to timeout_ms until needle occurs at least count times in the
 * server's log. Returns 0, or -1 on timeout.
 */
OP_FN int
op_wait_log(const struct hs_server *s, const char *needle, int count,
    int timeout_ms)
{
	int64_t deadline = hs_now_ms() + timeout_ms;

	for (;;) {
		if (op_log_count(s, needle) >= count)
			return 0;
		if (hs_now_ms() >= deadline)
			return -1;
		hs_sleep_ms(20);
	}
}

#endif
