/*
 * tlsctx: the TLS policy of SPEC §1, applied to OpenSSL contexts.
 *
 * Everything that decides how parley speaks TLS lives here, so the server,
 * the client and the tests cannot drift apart: versions, suites, groups,
 * renegotiation, compression, ALPN and verification.
 *
 * Server files are read into memory first (never blocking on a FIFO) and
 * judged as a whole: a context is returned only when the certificate is
 * valid now and matches its key, and the client CA and CRL load cleanly.
 * The caller (parleyd's reload) relies on that to keep its old context
 * whenever anything is wrong. Swapping contexts is the caller's business.
 */
#include "tlsctx.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "log.h"
#include "parley_limits.h"

/* A PEM file larger than this is a mistake (a CA bundle is ~200 KiB). */
#define TLSCTX_FILE_MAX         (16 * 1024 * 1024)
/* Client chains: leaf, intermediates, root. */
#define TLSCTX_VERIFY_DEPTH     4

/* ECDHE key exchange with AEAD ciphers only; ECDSA first (our certs). */
static const char tls12_ciphers[] =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-CHACHA20-POLY1305";
static const char tls13_suites[] =
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:"
    "TLS_CHACHA20_POLY1305_SHA256";
/* Not const: OpenSSL's SSL_CTX_set1_groups_list macro casts it to char *. */
static char groups[] = "X25519:P-256:P-384";

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

/*
 * Read a whole PEM file into a memory BIO. The file is opened without
 * blocking and must be a regular file, so a FIFO or a device put in its
 * place cannot stall the event loop during a reload.
 */
static BIO *
read_pem(const char *what, const char *path, char *err, size_t errlen)
{
	struct stat st;
	BIO *bio = NULL;
	char *data = NULL;
	size_t len = 0;
	int fd;

	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd == -1) {
		snprintf(err, errlen, "cannot read %s %s: %s", what, path,
		    strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) == -1) {
		snprintf(err, errlen, "cannot read %s %s: %s", what, path,
		    strerror(errno));
		goto done;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s %s is not a regular file", what, path);
		goto done;
	}
	if (st.st_size > TLSCTX_FILE_MAX) {
		snprintf(err, errlen, "%s %s is larger than %d bytes", what,
		    path, TLSCTX_FILE_MAX);
		goto done;
	}
	if ((data = malloc((size_t)st.st_size + 1)) == NULL) {
		snprintf(err, errlen, "%s %s: out of memory", what, path);
		goto done;
	}
	while (len < (size_t)st.st_size) {
		ssize_t r = read(fd, data + len, (size_t)st.st_size - len);

		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			snprintf(err, errlen, "cannot read %s %s: %s", what,
			    path, strerror(errno));
			goto done;
		}
		if (r == 0)
			break;                  /* truncated meanwhile */
		len += (size_t)r;
	}
	/* A copy that is wiped when freed: the file may hold the key. */
	bio = BIO_new(BIO_s_secmem());
	if (bio == NULL || (len > 0 && BIO_write(bio, data, (int)len) !=
	    (int)len)) {
		BIO_free(bio);
		bio = NULL;
		snprintf(err, errlen, "%s %s: out of memory", what, path);
	}
done:
	if (data != NULL) {
		OPENSSL_cleanse(data, (size_t)st.st_size);
		free(data);
	}
	close(fd);
	return bio;
}

/* "2027-01-31T12:00:00Z" from an ASN1_TIME; "?" when it cannot be read. */
static void
asn1_time_str(const ASN1_TIME *t, char *out, size_t len, time_t *when)
{
	struct tm tm;

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1) {
		snprintf(out, len, "?");
		if (when != NULL)
			*when = 0;
		return;
	}
	strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (when != NULL)
		*when = timegm(&tm);
}

/*
 * A PEM reader loop stops with "no start line" once the data is used up;
 * that one is the normal end, anything else is a real error.
 */
static bool
pem_clean_end(void)
{
	unsigned long e = ERR_peek_last_error();

	if (ERR_GET_LIB(e) == ERR_LIB_PEM &&
	    ERR_GET_REASON(e) == PEM_R_NO_START_LINE) {
		ERR_clear_error();
		return true;
	}
	return e == 0;
}

/* Leaf first, then the chain; the leaf must be valid now. */
static int
load_cert_chain(SSL_CTX *ctx, const char *path, char *err, size_t errlen)
{
	char what[PATH_MAX + 64], when[32];
	X509 *leaf = NULL, *x;
	BIO *bio;
	int rc = -1;

	if ((bio = read_pem("certificate", path, err, errlen)) == NULL)
		return -1;
	snprintf(what, sizeof(what), "certificate %s", path);
	leaf = PEM_read_bio_X509_AUX(bio, NULL, NULL, NULL);
	if (leaf == NULL) {
		tlsctx_error(err, errlen, what);
		goto done;
	}
	if (X509_cmp_current_time(X509_get0_notAfter(leaf)) <= 0) {
		asn1_time_str(X509_get0_notAfter(leaf), when, sizeof(when),
		    NULL);
		snprintf(err, errlen, "certificate %s expired on %s", path,
		    when);
		goto done;
	}
	if (X509_cmp_current_time(X509_get0_notBefore(leaf)) >= 0) {
		asn1_time_str(X509_get0_notBefore(leaf), when, sizeof(when),
		    NULL);
		snprintf(err, errlen, "certificate %s is not valid before %s",
		    path, when);
		goto done;
	}
	if (SSL_CTX_use_certificate(ctx, leaf) != 1) {
		tlsctx_error(err, errlen, what);
		goto done;
	}
	SSL_CTX_clear_chain_certs(ctx);
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		if (SSL_CTX_add0_chain_cert(ctx, x) != 1) {
			X509_free(x);
			tlsctx_error(err, errlen, what);
			goto done;
		}
	}
	if (!pem_clean_end()) {
		tlsctx_error(err, errlen, what);
		goto done;
	}
	rc = 0;
done:
	X509_free(leaf);
	BIO_free(bio);
	return rc;
}

/* Encrypted keys are refused rather than prompting on a terminal. */
static int
no_password(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

static int
load_key(SSL_CTX *ctx, const char *path, char *err, size_t errlen)
{
	char what[PATH_MAX + 64];
	EVP_PKEY *pkey;
	BIO *bio;
	int rc = -1;

	if ((bio = read_pem("private key", path, err, errlen)) == NULL)
		return -1;
	snprintf(what, sizeof(what), "private key %s", path);
	pkey = PEM_read_bio_PrivateKey(bio, NULL, no_password, NULL);
	if (pkey == NULL) {
		tlsctx_error(err, errlen, what);
		goto done;
	}
	if (SSL_CTX_use_PrivateKey(ctx, pkey) != 1) {
		/* OpenSSL checks the pair here when the certificate is set. */
		tlsctx_error(err, errlen,
		    "private key does not match the certificate");
		goto done;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		tlsctx_error(err, errlen,
		    "private key does not match the certificate");
		goto done;
	}
	rc = 0;
done:
	EVP_PKEY_free(pkey);
	BIO_free(bio);
	return rc;
}

/*
 * Trust the CAs of path for client certificates and name them in the
 * CertificateRequest. The CA certificates stay in the context's store,
 * where load_crl finds the CRL's issuer.
 */
static int
load_client_ca(SSL_CTX *ctx, const char *path, char *err, size_t errlen)
{
	X509_STORE *store = SSL_CTX_get_cert_store(ctx);
	char what[PATH_MAX + 64];
	X509 *x;
	BIO *bio;
	int n = 0, rc = -1;

	if ((bio = read_pem("client CA", path, err, errlen)) == NULL)
		return -1;
	snprintf(what, sizeof(what), "client CA %s", path);
	while ((x = PEM_read_bio_X509_AUX(bio, NULL, NULL, NULL)) != NULL) {
		int ok = X509_STORE_add_cert(store, x) == 1 &&
		    SSL_CTX_add_client_CA(ctx, x) == 1;

		X509_free(x);
		if (!ok) {
			tlsctx_error(err, errlen, what);
			goto done;
		}
		n++;
	}
	if (!pem_clean_end()) {
		tlsctx_error(err, errlen, what);
		goto done;
	}
	if (n == 0) {
		snprintf(err, errlen, "client CA %s holds no certificate", path);
		goto done;
	}
	rc = 0;
done:
	BIO_free(bio);
	return rc;
}

/* The CA of store whose subject is name and whose key signed crl. */
static bool
crl_signed_by_store(X509_STORE *store, X509_CRL *crl)
{
	STACK_OF(X509_OBJECT) *objs = X509_STORE_get0_objects(store);
	int i;

	for (i = 0; i < sk_X509_OBJECT_num(objs); i++) {
		X509 *ca = X509_OBJECT_get0_X509(sk_X509_OBJECT_value(objs, i));
		EVP_PKEY *pk;

		if (ca == NULL || X509_NAME_cmp(X509_get_subject_name(ca),
		    X509_CRL_get_issuer(crl)) != 0)
			continue;
		pk = X509_get0_pubkey(ca);
		if (pk != NULL && X509_CRL_verify(crl, pk) == 1)
			return true;
	}
	ERR_clear_error();
	return false;
}

/*
 * Add every CRL of path to the store and turn on revocation checks of
 * the client's certificate. Each CRL must be current and signed by one
 * of the client CAs, else the whole context is refused.
 */
static int
load_crl(SSL_CTX *ctx, const char *path, char *err, size_t errlen)
{
	X509_STORE *store = SSL_CTX_get_cert_store(ctx);
	char what[PATH_MAX + 64], when[32];
	X509_CRL *crl;
	BIO *bio;
	int n = 0, rc = -1;

	if ((bio = read_pem("CRL", path, err, errlen)) == NULL)
		return -1;
	snprintf(what, sizeof(what), "CRL %s", path);
	while ((crl = PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL)) != NULL) {
		const ASN1_TIME *next = X509_CRL_get0_nextUpdate(crl);

		if (!crl_signed_by_store(store, crl)) {
			snprintf(err, errlen, "CRL %s is not signed by a CA "
			    "in client_ca", path);
			X509_CRL_free(crl);
			goto done;
		}
		if (next != NULL && X509_cmp_current_time(next) <= 0) {
			asn1_time_str(next, when, sizeof(when), NULL);
			snprintf(err, errlen, "CRL %s is out of date (next "
			    "update was due %s)", path, when);
			X509_CRL_free(crl);
			goto done;
		}
		if (X509_STORE_add_crl(store, crl) != 1) {
			X509_CRL_free(crl);
			tlsctx_error(err, errlen, what);
			goto done;
		}
		X509_CRL_free(crl);
		n++;
	}
	if (!pem_clean_end()) {
		tlsctx_error(err, errlen, what);
		goto done;
	}
	if (n == 0) {
		snprintf(err, errlen, "CRL %s holds no CRL", path);
		goto done;
	}
	/* The leaf is checked; our CAs sign client certificates directly. */
	X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK);
	rc = 0;
done:
	BIO_free(bio);
	return rc;
}

SSL_CTX *
tlsctx_server_new(const struct tlsctx_server_opts *o, char *err,
    size_t errlen)
{
	static const unsigned char sid_ctx[] = "parley";
	bool want_client = o->client_ca != NULL && o->client_ca[0] != '\0';
	SSL_CTX *ctx;

	ERR_clear_error();
	if (!want_client && ((o->crl != NULL && o->crl[0] != '\0') ||
	    o->require_client_cert)) {
		snprintf(err, errlen, "a CRL or a required client certificate "
		    "needs a client CA");
		return NULL;
	}
	ctx = SSL_CTX_new(TLS_server_method());
	if (ctx == NULL) {
		tlsctx_error(err, errlen, "cannot create TLS context");
		return NULL;
	}
	if (common_policy(ctx, o->min_version, err, errlen) != 0)
		goto fail;
	SSL_CTX_set_max_early_data(ctx, 0);
	/* One resumption ticket per handshake is enough for a chat client. */
	SSL_CTX_set_num_tickets(ctx, 1);
	SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof(sid_ctx) - 1);
	SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);

	if (load_cert_chain(ctx, o->cert, err, errlen) != 0 ||
	    load_key(ctx, o->key, err, errlen) != 0)
		goto fail;
	if (want_client) {
		if (load_client_ca(ctx, o->client_ca, err, errlen) != 0)
			goto fail;
		if (o->crl != NULL && o->crl[0] != '\0' &&
		    load_crl(ctx, o->crl, err, errlen) != 0)
			goto fail;
		SSL_CTX_set_verify_depth(ctx, TLSCTX_VERIFY_DEPTH);
		/*
		 * Optional: a peer without a certificate is served (password
		 * login), one with a bad certificate is not. Required: no
		 * verified certificate, no handshake.
		 */
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER |
		    (o->require_client_cert ?
		    SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0), NULL);
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

int
tlsctx_cert_info(SSL_CTX *ctx, struct tlsctx_cert_info *info)
{
	static const char hex[] = "0123456789ABCDEF";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;
	X509 *x = SSL_CTX_get0_certificate(ctx);
	char subj[512];
	size_t o = 0;

	memset(info, 0, sizeof(*info));
	if (x == NULL || X509_digest(x, EVP_sha256(), md, &mdlen) != 1) {
		ERR_clear_error();
		return -1;
	}
	for (i = 0; i < mdlen && o + 3 < sizeof(info->sha256); i++) {
		if (i > 0)
			info->sha256[o++] = ':';
		info->sha256[o++] = hex[md[i] >> 4];
		info->sha256[o++] = hex[md[i] & 0xf];
	}
	info->sha256[o] = '\0';
	X509_NAME_oneline(X509_get_subject_name(x), subj, sizeof(subj));
	log_escape(info->subject, sizeof(info->subject), subj, strlen(subj));
	asn1_time_str(X509_get0_notAfter(x), info->not_after,
	    sizeof(info->not_after), &info->not_after_t);
	return 0;
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
