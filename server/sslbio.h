/*
 * sslbio: the BIO between a connection's SSL object and its socket.
 *
 * OpenSSL reads ciphertext from, and writes it to, buffers the connection
 * owns, so libuv keeps the socket and one shared read buffer serves every
 * connection. Input is lent for the length of one read callback
 * (sslbio_lend) and only the part TLS did not consume is copied
 * (sslbio_keep); output collects in `tx` until the connection writes it.
 * Both buffers are given back when empty, so an idle connection holds
 * none — unlike a memory BIO, which keeps its high-water mark.
 */
#ifndef PARLEY_SSLBIO_H
#define PARLEY_SSLBIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <openssl/bio.h>

#include "buf.h"

struct sslbio {
	struct buf rx;                  /* ciphertext kept from earlier reads */
	struct buf tx;                  /* ciphertext for the socket */
	const uint8_t *lent;            /* this read callback's bytes */
	size_t lent_len;
	bool hold;                      /* give SSL no more input */
};

/* Create the BIO method once, before the first sslbio_new(). 0 or -1. */
int sslbio_init(void);
void sslbio_fini(void);

/*
 * Set up io with caps on its two buffers and return a BIO reading from and
 * writing to it (for SSL_set_bio(ssl, b, b), which takes the one
 * reference). NULL when out of memory. io must outlive the BIO.
 */
BIO *sslbio_new(struct sslbio *io, size_t rx_max, size_t tx_max);

/* Lend len bytes that SSL may read until sslbio_keep(). */
void sslbio_lend(struct sslbio *io, const void *data, size_t len);

/* Copy what SSL left of the lent bytes into rx. 0, or -1 over the cap. */
int sslbio_keep(struct sslbio *io);

/* Ciphertext waiting to be read by SSL (kept and lent). */
size_t sslbio_rx_len(const struct sslbio *io);

/* Release both buffers' storage (after SSL_free). */
void sslbio_free(struct sslbio *io);

#endif
