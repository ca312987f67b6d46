/*
 * buf: a bounded, growable byte buffer.
 *
 * Data lives in data[rpos, wpos); the buffer grows on demand up to `max`
 * bytes of storage and never past it, so every producer of bytes (the line
 * framer, a connection's output) has a hard cap. Readers consume from the
 * front; the buffer compacts itself when it needs room.
 */
#ifndef PARLEY_BUF_H
#define PARLEY_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#define WUR __attribute__((warn_unused_result))

struct buf {
	uint8_t *data;
	size_t size;            /* allocated bytes */
	size_t max;             /* never allocate more than this */
	size_t rpos, wpos;      /* unread data is data[rpos, wpos) */
};

/* Set up an empty buffer that may grow to `max` bytes. Allocates nothing. */
void buf_init(struct buf *b, size_t max);

/* Free the storage; the buffer is empty and may be used again. */
void buf_free(struct buf *b);

/* Bytes waiting to be read. */
size_t buf_len(const struct buf *b);

/* Pointer to the first unread byte (NULL when nothing is allocated). */
uint8_t *buf_rptr(const struct buf *b);

/* Drop the first n unread bytes (n <= buf_len). Resets positions when empty. */
void buf_consume(struct buf *b, size_t n);

/*
 * Make room for at least `len` more bytes after the unread data, compacting
 * and growing as needed. Returns 0, or -1 when that would pass `max` or the
 * allocation fails (the buffer is unchanged).
 */
int buf_reserve(struct buf *b, size_t len) WUR;

/* Free space after the data, and a pointer to it (after buf_reserve). */
size_t buf_avail(const struct buf *b);
uint8_t *buf_wptr(const struct buf *b);

/* Mark n bytes written at buf_wptr() as data (n <= buf_avail). */
void buf_produced(struct buf *b, size_t n);

/* Append bytes. Returns 0, or -1 (nothing appended) when over the cap. */
int buf_append(struct buf *b, const void *p, size_t len) WUR;

/* Append formatted text (no NUL). Returns 0 or -1 (nothing appended). */
int buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3))) WUR;
int buf_vprintf(struct buf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0))) WUR;

/* Drop the last n bytes written (n <= buf_len): undo an append. */
void buf_unappend(struct buf *b, size_t n);

/* Release the storage if the buffer is empty (idle connections keep none). */
void buf_shrink(struct buf *b);

#endif
