/*
 * tlsctx: the TLS policy of SPEC §1, applied to OpenSSL contexts.
 *
 * Everything that decides how parley speaks TLS lives here, so the server,
 * the client and the tests cannot drift apart: versions, suites, groups,
 * renegotiation, compression, ALPN and verification.
 */
#include "tlsctx.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "parley_limits.h"

/* ECDHE key exchange with AEAD ciphers only; ECDSA first (our certs). */
static const char tls12_ciphers[] =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-CHACHA20-POLY1305";
static const char tls13_suites[] =
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:"
    "TLS_CHACHA20_POLY1305_SHA256";
static const char groups[] = "X25519:P-256:P-384";

/* ALPN wire format: length-prefixed protocol names. */
static const unsigned char alpn_wire[] = "\x08" PARLEY_ALPN;

char *
tlsctx_error(char *err, size_t errlen, const char *fallback)
{
	unsigned long e = ERR_peek_last_error();
	char buf[256];

	if (e != 0) {
		ERR_error_string_n(e, buf, sizeof(buf));
		snprintf(err, errlen, "%s: %s", fallback, buf);
	} else {
		snprintf(err, errlen, "%s", fallback);
	}
	ERR_clear_error();
	return err;
}

/*
 * A client that offers ALPN must offer parley/1; one that offers nothing
 * (openssl s_client by default) is served anyway.
 */
static int
alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
    const unsigned char *in, unsigned int inlen, void *arg)
{
	unsigned char *sel;

	(void)ssl;
	(void)arg;
	if (SSL_select_next_proto(&sel, outlen, alpn_wire,
	    sizeof(alpn_wire) - 1, in, inlen) != OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	*out = sel;
	return SSL_TLSEXT_ERR_OK;
}

static int
common_policy(SSL_CTX *ctx, int min_version, char *err, size_t errlen)
{
	if (!SSL_CTX_set_min_proto_version(ctx, min_version) ||
	    !SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION)) {
		tlsctx_error(err, errlen, "cannot set TLS versions");
		return -1;
	}
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION |
	    SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
	/* Idle connections give their 34 KiB of record buffers back. */
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	if (!SSL_CTX_set_cipher_list(ctx, tls12_ciphers) ||
	    !SSL_CTX_set_ciphersuites(ctx, tls13_suites) ||
	    !SSL_CTX_set1_groups_list(ctx, groups)) {
		tlsctx_error(err, errlen, "cannot set TLS ciphers");
		return -1;
	}
	return 0;
}

SSL_CTX *
tlsctx_server_new(const char *cert, const char *key, const char *client_ca,
    int min_version, char *err, size_t errlen)
{
	static const unsigned char sid_ctx[] = "parley";
	SSL_CTX *ctx;
	char what[PATH_MAX + 64];

	ERR_clear_error();
	ctx = SSL_CTX_new(TLS_server_method());
	if (ctx == NULL) {
		tlsctx_error(err, errlen, "cannot create TLS context");
		return NULL;
	}
	if (common_policy(ctx, min_version, err, errlen) != 0)
		goto fail;
	SSL_CTX_set_max_early_data(ctx, 0);
	/* One resumption ticket per handshake is enough for a chat client. */
	SSL_CTX_set_num_tickets(ctx, 1);
	SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof(sid_ctx) - 1);
	SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);

	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		snprintf(what, sizeof(what), "cannot load certificate %s", cert);
		tlsctx_error(err, errlen, what);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		snprintf(what, sizeof(what), "cannot load private key %s", key);
		tlsctx_error(err, errlen, what);
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		tlsctx_error(err, errlen,
		    "private key does not match the certificate");
		goto fail;
	}
	if (client_ca != NULL && client_ca[0] != '\0') {
		STACK_OF(X509_NAME) *names;

		if (SSL_CTX_load_verify_locations(ctx, client_ca, NULL) != 1) {
			snprintf(what, sizeof(what), "cannot load client CA %s",
			    client_ca);
			tlsctx_error(err, errlen, what);
			goto fail;
		}
		names = SSL_load_client_CA_file(client_ca);
		if (names == NULL) {
			snprintf(what, sizeof(what), "no CA names in %s",
			    client_ca);
			tlsctx_error(err, errlen, what);
			goto fail;
		}
		SSL_CTX_set_client_CA_list(ctx, names);
		/* Certificates are optional: password login still works. */
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

SSL_CTX *
tlsctx_client_new(const char *cafile, const char *cert, const char *key,
    char *err, size_t errlen)
{
	SSL_CTX *ctx;
	char what[PATH_MAX + 64];

	ERR_clear_error();
	ctx = SSL_CTX_new(TLS_client_method());
	if (ctx == NULL) {
		tlsctx_error(err, errlen, "cannot create TLS context");
		return NULL;
	}
	if (common_policy(ctx, TLS1_2_VERSION, err, errlen) != 0)
		goto fail;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (cafile != NULL && cafile[0] != '\0') {
		if (SSL_CTX_load_verify_locations(ctx, cafile, NULL) != 1) {
			snprintf(what, sizeof(what), "cannot load CA file %s",
			    cafile);
			tlsctx_error(err, errlen, what);
			goto fail;
		}
	} else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
		tlsctx_error(err, errlen, "cannot load the system CA store");
		goto fail;
	}
	if (SSL_CTX_set_alpn_protos(ctx, alpn_wire, sizeof(alpn_wire) - 1)) {
		tlsctx_error(err, errlen, "cannot set ALPN");
		goto fail;
	}
	if (cert != NULL && cert[0] != '\0') {
		if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
			snprintf(what, sizeof(what),
			    "cannot load certificate %s", cert);
			tlsctx_error(err, errlen, what);
			goto fail;
		}
		if (SSL_CTX_use_PrivateKey_file(ctx, key ? key : cert,
		    SSL_FILETYPE_PEM) != 1 ||
		    SSL_CTX_check_private_key(ctx) != 1) {
			snprintf(what, sizeof(what), "cannot use key %s",
			    key ? key : cert);
			tlsctx_error(err, errlen, what);
			goto fail;
		}
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}
