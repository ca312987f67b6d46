/*
 * tlsctx: parley's TLS policy in one place (SPEC §1).
 *
 * Server: TLS 1.3, and 1.2 with ECDHE + AEAD suites only when allowed;
 * groups X25519, P-256, P-384; server cipher order; no renegotiation,
 * compression or 0-RTT; ALPN "parley/1" accepted when offered, a client
 * offering only other protocols refused; optional client certificates.
 * Client: the same versions, verification of the peer chain and host name
 * always on.
 */
#ifndef PARLEY_TLSCTX_H
#define PARLEY_TLSCTX_H

#include <stddef.h>
#include <openssl/ssl.h>

/*
 * Build a server context from a certificate chain and key (PEM), checking
 * that they match. client_ca may be NULL or "" (no client certificates).
 * Returns the context, or NULL with a one-line reason in err.
 */
SSL_CTX *tlsctx_server_new(const char *cert, const char *key,
    const char *client_ca, int min_version, char *err, size_t errlen);

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
