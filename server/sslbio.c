/*
 * sslbio: a source/sink BIO over two struct bufs; see sslbio.h.
 *
 * Compared with a pair of memory BIOs this saves a copy of every byte in
 * each direction (the read callback's buffer is read in place; the
 * connection writes straight from tx) and the memory BIOs' retained
 * buffers on idle connections.
 */
#include "sslbio.h"

#include <string.h>

static BIO_METHOD *method;

static int
io_write(BIO *b, const char *data, size_t len, size_t *written)
{
	struct sslbio *io = BIO_get_data(b);

	BIO_clear_retry_flags(b);
	/* The cap is sized for one flush; past it is a hard error. */
	if (buf_append(&io->tx, data, len) != 0)
		return 0;
	*written = len;
	return 1;
}

static int
io_read(BIO *b, char *out, size_t len, size_t *readbytes)
{
	struct sslbio *io = BIO_get_data(b);
	size_t n = 0, k;

	BIO_clear_retry_flags(b);
	if (io->hold) {
		BIO_set_retry_read(b);
		return 0;
	}
	/* Kept bytes are older than lent ones: they go first. */
	k = buf_len(&io->rx);
	if (k > 0) {
		if (k > len)
			k = len;
		memcpy(out, buf_rptr(&io->rx), k);
		buf_consume(&io->rx, k);
		n = k;
	}
	if (n < len && io->lent_len > 0) {
		k = io->lent_len < len - n ? io->lent_len : len - n;
		memcpy(out + n, io->lent, k);
		io->lent += k;
		io->lent_len -= k;
		n += k;
	}
	if (n == 0) {
		/* Nothing yet: "try again", as an empty socket would say. */
		BIO_set_retry_read(b);
		return 0;
	}
	*readbytes = n;
	return 1;
}

static long
io_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	struct sslbio *io = BIO_get_data(b);

	(void)num;
	(void)ptr;
	switch (cmd) {
	case BIO_CTRL_PENDING:
		return (long)sslbio_rx_len(io);
	case BIO_CTRL_WPENDING:
		return (long)buf_len(&io->tx);
	case BIO_CTRL_FLUSH:
		/* The connection writes tx once per loop turn. */
		return 1;
	case BIO_CTRL_DUP:
		return 1;
	default:
		return 0;
	}
}

static int
io_create(BIO *b)
{
	BIO_set_init(b, 1);
	return 1;
}

static int
io_destroy(BIO *b)
{
	/* The buffers belong to the connection: sslbio_free(). */
	BIO_set_data(b, NULL);
	return 1;
}

int
sslbio_init(void)
{
	if (method != NULL)
		return 0;
	method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK,
	    "parley connection");
	if (method == NULL ||
	    !BIO_meth_set_write_ex(method, io_write) ||
	    !BIO_meth_set_read_ex(method, io_read) ||
	    !BIO_meth_set_ctrl(method, io_ctrl) ||
	    !BIO_meth_set_create(method, io_create) ||
	    !BIO_meth_set_destroy(method, io_destroy)) {
		BIO_meth_free(method);
		method = NULL;
		return -1;
	}
	return 0;
}

void
sslbio_fini(void)
{
	BIO_meth_free(method);
	method = NULL;
}

BIO *
sslbio_new(struct sslbio *io, size_t rx_max, size_t tx_max)
{
	BIO *b;

	buf_init(&io->rx, rx_max);
	buf_init(&io->tx, tx_max);
	io->lent = NULL;
	io->lent_len = 0;
	io->hold = false;
	if (method == NULL || (b = BIO_new(method)) == NULL)
		return NULL;
	BIO_set_data(b, io);
	return b;
}

void
sslbio_lend(struct sslbio *io, const void *data, size_t len)
{
	io->lent = data;
	io->lent_len = len;
}

int
sslbio_keep(struct sslbio *io)
{
	int r = 0;

	if (io->lent_len > 0)
		r = buf_append(&io->rx, io->lent, io->lent_len);
	io->lent = NULL;
	io->lent_len = 0;
	buf_shrink(&io->rx);            /* only if empty */
	return r;
}

size_t
sslbio_rx_len(const struct sslbio *io)
{
	return buf_len(&io->rx) + io->lent_len;
}

void
sslbio_free(struct sslbio *io)
{
	buf_free(&io->rx);
	buf_free(&io->tx);
}
