/*
 * buf: a bounded, growable byte buffer.
 *
 * Unread data is data[rpos, wpos). Storage is allocated on first use, grows
 * by doubling and is capped at `max`: a request that would need more fails
 * and leaves the buffer as it was, so a peer can never make us hold more
 * than the cap. Consumed space at the front is reclaimed by moving the
 * unread bytes down before growing. What the bytes mean is the caller's
 * business (the line framer, a connection's output queue).
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

/* First allocation; small so that short exchanges stay cheap. */
#define BUF_MIN_ALLOC 256

void
buf_init(struct buf *b, size_t max)
{
	b->data = NULL;
	b->size = 0;
	b->max = max;
	b->rpos = 0;
	b->wpos = 0;
}

void
buf_free(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->size = 0;
	b->rpos = 0;
	b->wpos = 0;
}

size_t
buf_len(const struct buf *b)
{
	assert(b->rpos <= b->wpos && b->wpos <= b->size);
	return b->wpos - b->rpos;
}

uint8_t *
buf_rptr(const struct buf *b)
{
	return b->data != NULL ? b->data + b->rpos : NULL;
}

void
buf_consume(struct buf *b, size_t n)
{
	assert(n <= buf_len(b));
	b->rpos += n;
	/* Empty: start again at the front so no compaction is ever needed. */
	if (b->rpos == b->wpos)
		b->rpos = b->wpos = 0;
}

/* Move the unread bytes to the front of the storage. */
static void
compact(struct buf *b)
{
	size_t len = b->wpos - b->rpos;

	if (b->rpos == 0)
		return;
	if (len > 0)
		memmove(b->data, b->data + b->rpos, len);
	b->rpos = 0;
	b->wpos = len;
}

/*
 * Make room for at least `len` more bytes after the unread data, moving the
 * data to the front and growing as needed. Growth doubles (from
 * BUF_MIN_ALLOC) and stops at `max`, so the storage never passes the cap.
 * Returns 0, or -1 when the data plus `len` would pass `max` or the
 * allocation fails; on failure the buffer holds the same bytes as before.
 */
int
buf_reserve(struct buf *b, size_t len)
{
	size_t used = buf_len(b), need, nsize;
	uint8_t *ndata;

	if (len <= b->size - b->wpos)
		return 0;
	if (len > SIZE_MAX - used)
		return -1;
	need = used + len;
	if (need > b->max)
		return -1;
	if (need <= b->size) {
		compact(b);
		return 0;
	}

	nsize = b->size > 0 ? b->size : BUF_MIN_ALLOC;
	while (nsize < need && nsize <= b->max / 2)
		nsize *= 2;
	if (nsize < need || nsize > b->max)
		nsize = b->max;         /* need <= max, checked above */

	/*
	 * A fresh block rather than realloc: only the unread bytes are copied,
	 * and if the allocation fails nothing has moved.
	 */
	ndata = malloc(nsize);
	if (ndata == NULL)
		return -1;
	if (used > 0)
		memcpy(ndata, b->data + b->rpos, used);
	free(b->data);
	b->data = ndata;
	b->size = nsize;
	b->rpos = 0;
	b->wpos = used;
	return 0;
}

size_t
buf_avail(const struct buf *b)
{
	return b->size - b->wpos;
}

uint8_t *
buf_wptr(const struct buf *b)
{
	return b->data != NULL ? b->data + b->wpos : NULL;
}

void
buf_produced(struct buf *b, size_t n)
{
	assert(n <= buf_avail(b));
	b->wpos += n;
}

int
buf_append(struct buf *b, const void *p, size_t len)
{
	if (len == 0)
		return 0;
	if (buf_reserve(b, len) < 0)
		return -1;
	memcpy(b->data + b->wpos, p, len);
	b->wpos += len;
	return 0;
}

int
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = buf_vprintf(b, fmt, ap);
	va_end(ap);
	return rc;
}

/*
 * vsnprintf wants room for a NUL we do not keep. Format straight into the
 * free space when the text and its NUL fit; when only the NUL would pass
 * the cap, format into a temporary block instead, so a text that fits
 * exactly is still accepted.
 */
int
buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	size_t avail = buf_avail(b), n;
	char *tmp;
	int rc;

	va_copy(ap2, ap);
	rc = vsnprintf(avail > 0 ? (char *)buf_wptr(b) : NULL, avail, fmt, ap2);
	va_end(ap2);
	if (rc < 0)
		return -1;
	n = (size_t)rc;
	if (n == 0)
		return 0;
	if (n < avail) {
		b->wpos += n;
		return 0;
	}

	if (n < SIZE_MAX && buf_reserve(b, n + 1) == 0) {
		va_copy(ap2, ap);
		rc = vsnprintf((char *)buf_wptr(b), n + 1, fmt, ap2);
		va_end(ap2);
		if (rc < 0 || (size_t)rc != n)
			return -1;
		b->wpos += n;
		return 0;
	}
	if (n > b->max || buf_len(b) > b->max - n)
		return -1;

	tmp = malloc(n + 1);
	if (tmp == NULL)
		return -1;
	va_copy(ap2, ap);
	rc = vsnprintf(tmp, n + 1, fmt, ap2);
	va_end(ap2);
	if (rc < 0 || (size_t)rc != n) {
		free(tmp);
		return -1;
	}
	rc = buf_append(b, tmp, n);
	free(tmp);
	return rc;
}

void
buf_shrink(struct buf *b)
{
	if (buf_len(b) != 0)
		return;
	free(b->data);
	b->data = NULL;
	b->size = 0;
	b->rpos = 0;
	b->wpos = 0;
}

void
buf_unappend(struct buf *b, size_t n)
{
	assert(n <= buf_len(b));
	b->wpos -= n;
	if (b->rpos == b->wpos)
		b->rpos = b->wpos = 0;
}
