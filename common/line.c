/*
 * line: the protocol's line framing and tokenizer (SPEC §1).
 *
 * Framing. Input is written straight into a struct buf capped at max_line
 * bytes, which is exactly enough: a line of max_line - 1 bytes plus its LF
 * fits, and a buffer that is full without an LF can only hold a line that
 * is already too long. That line is reported once (LINE_TOO_LONG) the
 * moment the buffer fills, without waiting for its LF, and the framer then
 * drops input until the LF, reusing the same storage. So a peer sending
 * megabytes without a newline costs max_line bytes and nothing more.
 *
 * `scanned` remembers how much of the current partial line has already been
 * searched for the LF, so a line trickling in one byte per read is scanned
 * once in total rather than once per read.
 *
 * A line handed out with LINE_OK has already been consumed from the buffer:
 * its bytes stay in place until the buffer is written to or moved, which is
 * only done by line_wptr(), line_produced() and line_shrink().
 *
 * Tokenizing works on a complete line and allocates nothing; the caller
 * gives each token a fixed-size home.
 */
#include <assert.h>
#include <string.h>

#include "line.h"
#include "utf8.h"

/*
 * Largest piece of storage offered to one read. Connections that only
 * exchange short commands keep a small buffer; the buffer still grows
 * towards max_line when a long line arrives.
 */
#define LINE_READ_CHUNK 4096

void
line_init(struct line_framer *f, size_t max_line)
{
	/* A framer must be able to hold at least an LF. */
	if (max_line < 1)
		max_line = 1;
	buf_init(&f->in, max_line);
	f->max_line = max_line;
	f->discarding = false;
	f->scanned = 0;
}

void
line_free(struct line_framer *f)
{
	buf_free(&f->in);
	f->discarding = false;
	f->scanned = 0;
}

/*
 * While discarding a too-long line: drop buffered bytes up to and including
 * its LF and leave discarding mode, or drop everything if no LF is there.
 * Each byte is looked at once, since everything looked at is dropped.
 */
static void
skip_discarded(struct line_framer *f)
{
	size_t len = buf_len(&f->in);
	uint8_t *p = buf_rptr(&f->in), *lf;

	assert(f->discarding);
	if (len == 0)
		return;
	lf = memchr(p, '\n', len);
	if (lf == NULL) {
		buf_consume(&f->in, len);
		return;
	}
	buf_consume(&f->in, (size_t)(lf - p) + 1);
	f->discarding = false;
	f->scanned = 0;
}

/*
 * Room for the next read: up to LINE_READ_CHUNK bytes, never past the cap.
 * After line_next() has returned LINE_NEED_MORE the buffer holds less than
 * max_line bytes, so there is always room; in discarding mode the bytes
 * being skipped are dropped first, so there is room then too. Returns NULL
 * with *avail = 0 when the allocation fails, or when the caller wrote input
 * without taking the max_line bytes of complete lines already buffered.
 */
uint8_t *
line_wptr(struct line_framer *f, size_t *avail)
{
	size_t room, want;

	if (f->discarding)
		skip_discarded(f);
	room = f->in.max - buf_len(&f->in);
	*avail = 0;
	if (room == 0)
		return NULL;
	want = room < LINE_READ_CHUNK ? room : LINE_READ_CHUNK;
	if (buf_avail(&f->in) < want && buf_reserve(&f->in, want) < 0) {
		/* Short of memory: settle for whatever room is already there. */
		if (buf_avail(&f->in) == 0)
			return NULL;
	}
	*avail = buf_avail(&f->in);
	assert(*avail > 0 && *avail <= room);
	return buf_wptr(&f->in);
}

void
line_produced(struct line_framer *f, size_t n)
{
	buf_produced(&f->in, n);
}

/*
 * Return the next event. Each call searches only bytes that no earlier call
 * has searched, so the total work is linear in the input. Empty lines are
 * skipped here; a skipped line and a dropped line both free their bytes at
 * once.
 */
enum line_status
line_next(struct line_framer *f, char **line, size_t *len)
{
	*line = NULL;
	*len = 0;

	for (;;) {
		size_t have, n;
		uint8_t *p, *lf;

		if (f->discarding) {
			skip_discarded(f);
			if (f->discarding)
				return LINE_NEED_MORE;
		}

		have = buf_len(&f->in);
		p = buf_rptr(&f->in);
		assert(f->scanned <= have);
		lf = have > f->scanned ?
		    memchr(p + f->scanned, '\n', have - f->scanned) : NULL;
		if (lf == NULL) {
			f->scanned = have;
			if (have < f->max_line)
				return LINE_NEED_MORE;
			/* Full and no LF: the line cannot end in time. */
			buf_consume(&f->in, have);
			f->scanned = 0;
			f->discarding = true;
			return LINE_TOO_LONG;
		}

		n = (size_t)(lf - p);
		buf_consume(&f->in, n + 1);
		f->scanned = 0;
		if (n > 0 && p[n - 1] == '\r')
			n--;
		if (n == 0)
			continue;
		if (!utf8_valid(p, n))
			return LINE_BAD_UTF8;
		*line = (char *)p;
		*len = n;
		return LINE_OK;
	}
}

size_t
line_buffered(const struct line_framer *f)
{
	return buf_len(&f->in);
}

void
line_shrink(struct line_framer *f)
{
	buf_shrink(&f->in);
}

void
line_cursor_init(struct line_cursor *c, const char *s, size_t len)
{
	c->p = s;
	c->end = s + len;
}

static void
skip_spaces(struct line_cursor *c)
{
	while (c->p < c->end && *c->p == ' ')
		c->p++;
}

/*
 * Next token into out. The cursor is left on the space that ended the
 * token (or at the end of the line), which is what line_rest() relies on.
 * A quoted token must be followed by a space or the end of the line, and a
 * bare word may not contain a quote: `a"b` and `"a"b` are refused rather
 * than guessed at.
 */
int
line_token(struct line_cursor *c, char *out, size_t cap, size_t *len)
{
	size_t n = 0;

	*len = 0;
	if (cap > 0)
		out[0] = '\0';
	skip_spaces(c);
	if (c->p == c->end)
		return 0;

	if (*c->p == '"') {
		c->p++;
		for (;;) {
			char ch;

			if (c->p == c->end)
				goto bad;       /* unterminated */
			ch = *c->p++;
			if (ch == '"')
				break;
			if (ch == '\\') {
				if (c->p == c->end)
					goto bad;
				ch = *c->p++;
				if (ch != '"' && ch != '\\')
					goto bad;
			}
			if (n + 1 >= cap)
				goto bad;       /* does not fit with its NUL */
			out[n++] = ch;
		}
		if (c->p < c->end && *c->p != ' ')
			goto bad;
	} else {
		while (c->p < c->end && *c->p != ' ') {
			char ch = *c->p++;

			if (ch == '"')
				goto bad;
			if (n + 1 >= cap)
				goto bad;
			out[n++] = ch;
		}
	}
	if (n >= cap)
		goto bad;               /* an empty token and cap == 0 */
	out[n] = '\0';
	*len = n;
	return 1;

bad:
	/* Leave no half-copied token behind for a careless caller. */
	if (cap > 0)
		out[0] = '\0';
	return -1;
}

/*
 * Everything after the one space that ended the previous token, verbatim:
 * further spaces, quotes and backslashes are the text's own. The cursor
 * moves to the end of the line.
 */
int
line_rest(struct line_cursor *c, const char **text, size_t *len)
{
	*text = NULL;
	*len = 0;
	if (c->p == c->end || *c->p != ' ' || c->p + 1 == c->end)
		return 0;
	*text = c->p + 1;
	*len = (size_t)(c->end - c->p - 1);
	c->p = c->end;
	return 1;
}

bool
line_at_end(const struct line_cursor *c)
{
	const char *p;

	for (p = c->p; p < c->end; p++)
		if (*p != ' ')
			return false;
	return true;
}
