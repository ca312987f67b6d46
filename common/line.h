/*
 * line: the protocol's line framing and tokenizer (SPEC §1).
 *
 * The framer collects bytes into lines ended by LF, dropping a CR right
 * before the LF and skipping empty lines. It never holds more than
 * max_line bytes: a longer line is reported once as LINE_TOO_LONG and then
 * discarded up to its LF. A complete line that is not valid UTF-8 or holds
 * a NUL is reported as LINE_BAD_UTF8. Input is written straight into the
 * framer's buffer (line_wptr/line_produced) so a TLS read needs no copy.
 *
 * The tokenizer walks one line: tokens are separated by one or more spaces;
 * a token is a bare word or a double-quoted string where \" and \\ are the
 * only escapes. line_rest() returns the rest of the line verbatim after the
 * single space that ended the previous token.
 */
#ifndef PARLEY_LINE_H
#define PARLEY_LINE_H

#include <stdbool.h>
#include <stddef.h>
#include "buf.h"

struct line_framer {
	struct buf in;
	size_t max_line;        /* bytes, terminator included */
	bool discarding;        /* inside a too-long line, skipping to its LF */
	size_t scanned;         /* bytes of the current line already searched */
};

enum line_status {
	LINE_OK,                /* *line, *len hold one line (no CR/LF) */
	LINE_NEED_MORE,         /* no complete line buffered */
	LINE_TOO_LONG,          /* a line passed max_line; now discarding it */
	LINE_BAD_UTF8,          /* a complete line was invalid and dropped */
};

/* Set up a framer for lines of at most max_line bytes (LF included). */
void line_init(struct line_framer *f, size_t max_line);
void line_free(struct line_framer *f);

/*
 * Room to write input into. Returns a pointer and sets *avail > 0 (never
 * more than fits under max_line), or returns NULL with *avail = 0 on
 * allocation failure. Valid until the next framer call. Take events with
 * line_next() until LINE_NEED_MORE before asking for room again: then there
 * is always room (while a too-long line is being discarded its bytes are
 * reused). A buffer left full of untaken complete lines offers none (NULL).
 */
uint8_t *line_wptr(struct line_framer *f, size_t *avail);

/* Record that n bytes were written at line_wptr(). */
void line_produced(struct line_framer *f, size_t n);

/*
 * Take the next event. For LINE_OK, *line points into the framer's buffer
 * (len > 0, no CR/LF at the end) and stays valid until the next call to
 * line_wptr, line_produced, line_shrink or line_free, so a caller may take
 * several lines before reading again; it is not NUL-terminated, but
 * line[len] may be written (the framer keeps the byte after it). For any
 * other status *line is NULL and *len 0. Bounded: each call scans only
 * bytes not scanned before.
 */
enum line_status line_next(struct line_framer *f, char **line, size_t *len);

/* Bytes buffered (for memory accounting and tests). */
size_t line_buffered(const struct line_framer *f);

/* Release the buffer when it holds nothing (idle connections keep none). */
void line_shrink(struct line_framer *f);

struct line_cursor {
	const char *p;
	const char *end;
};

void line_cursor_init(struct line_cursor *c, const char *s, size_t len);

/*
 * Next token, unescaped, NUL-terminated into out (cap bytes). Returns 1 and
 * sets *len, 0 at the end of the line, or -1 when malformed (unterminated
 * quote, unknown escape, a quote followed by something other than a space,
 * a quote inside a bare word, or a token that does not fit in cap - 1
 * bytes). On 0 and -1, *len is 0 and out (if cap > 0) is "".
 */
int line_token(struct line_cursor *c, char *out, size_t cap, size_t *len);

/*
 * The rest of the line after the single space that ended the previous
 * token, verbatim (further spaces and quotes included): sets *text and
 * *len, moves the cursor to the end and returns 1; or returns 0 with
 * *text NULL when nothing follows (the cursor is not on a space, as at the
 * end of the line, or nothing comes after that space).
 */
int line_rest(struct line_cursor *c, const char **text, size_t *len);

/* True when only spaces remain. */
bool line_at_end(const struct line_cursor *c);

#endif
