/*
 * tlsctx: parley's TLS policy in one place (SPEC §1).
 *
 * Server: TLS 1.3, and 1.2 with ECDHE + AEAD suites only when allowed;
 * groups X25519, P-256, P-384; server cipher order; no renegotiation,
 * compression or 0-RTT; ALPN "parley/1" accepted when offered, a client
 * offering only other protocols refused; client certificates (optional or
 * required) checked against a CA file and a CRL.
 * Client: the same versions, verification of the peer chain and host name
 * always on.
 */
#ifndef PARLEY_TLSCTX_H
#define PARLEY_TLSCTX_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>
#include <openssl/ssl.h>

/* What a server context is built from. */
struct tlsctx_server_opts {
	const char *cert;               /* PEM chain, leaf first */
	const char *key;                /* PEM private key */
	const char *client_ca;          /* NULL or "": no client certificates */
	const char *crl;                /* NULL or "": none; needs client_ca */
	int min_version;                /* TLS1_2_VERSION or TLS1_3_VERSION */
	bool require_client_cert;       /* fail a handshake without one */
};

/*
 * Build a server context. Every file must be a readable regular file
 * (never a FIFO, which would block the caller); the leaf certificate
 * must be valid now and match the key; a CRL must be current and signed
 * by a certificate in client_ca. With client_ca, peers are asked for a
 * certificate, verified against client_ca (and the CRL when set, leaf
 * checked) during the handshake: a bad certificate fails the handshake.
 * Returns the context (the caller frees it with SSL_CTX_free), or NULL
 * with a one-line reason in err.
 */
SSL_CTX *tlsctx_server_new(const struct tlsctx_server_opts *o, char *err,
    size_t errlen) __attribute__((warn_unused_result));

/* Facts about a server context's own certificate, for logs and STATUS. */
struct tlsctx_cert_info {
	char sha256[96];                /* "AB:CD:...", 32 bytes */
	char subject[256];              /* one line, escaped */
	char not_after[32];             /* "2027-01-31T12:00:00Z" */
	time_t not_after_t;
};

/* Fill info from ctx's certificate. Returns 0, or -1 when it has none. */
int tlsctx_cert_info(SSL_CTX *ctx, struct tlsctx_cert_info *info);

/*
 * Build a client context that verifies the server against cafile (NULL:
 * the system store), offers ALPN parley/1 and, if cert is set, presents a
 * client certificate. Returns NULL with a reason in err.
 */
SSL_CTX *tlsctx_client_new(const char *cafile, const char *cert,
    const char *key, char *err, size_t errlen);

/*
 * Write the latest OpenSSL error queue entry (or fallback) into err and
 * clear the queue. Returns err.
 */
char *tlsctx_error(char *err, size_t errlen, const char *fallback);

#endif
