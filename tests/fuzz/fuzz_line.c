/*
 * libFuzzer target for the line framer and tokenizer (common/line.c).
 *
 * The first bytes of the input choose the framer's max_line, how the rest
 * is cut into reads, the tokenizer's output capacity and where line_rest()
 * is tried; the rest is the byte stream a peer would send. The framer's
 * events must match a whole-input model whatever the cuts, it may never
 * hold more than max_line bytes, and every line it hands out is walked by
 * the tokenizer, whose tokens must survive a quote/unquote round trip.
 * Any broken invariant calls abort(), which libFuzzer reports as a crash.
 *
 * Input layout:
 *   [0..1]  max_line = 1 + (le16 & 0x1fff)
 *   [2]     bits 0-2: number of read sizes - 1; bit 3: line_shrink after
 *           each drain
 *   [3]     bits 0-3: token capacity (table below); bits 4-7: call
 *           line_rest() after that many tokens (15: never)
 *   [4..]   read sizes, one byte each (0: as much as offered)
 *   rest    the stream
 */
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "line.h"
#include "utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

enum { EV_OK, EV_TOO_LONG, EV_BAD_UTF8 };

struct event {
	int kind;
	size_t off, len;        /* for EV_OK: the line in the stream */
};

/* Token capacities: tiny ones hit every "does not fit" edge. */
static const size_t token_caps[16] = {
	0, 1, 2, 3, 4, 5, 8, 16, 31, 32, 33, 64, 65, 256, 4096, SIZE_MAX,
};

/*
 * The framer's contract applied to the whole stream at once: each run of
 * bytes before an LF is a line; max_line bytes or more without an LF among
 * them is one TOO_LONG (also for an unfinished last line); one CR before
 * the LF is dropped; empty lines vanish; the rest is OK or BAD_UTF8.
 */
static size_t
model(const uint8_t *s, size_t len, size_t max_line, struct event *ev)
{
	size_t n = 0, start = 0, i;

	for (i = 0; i <= len; i++) {
		size_t l;

		if (i < len && s[i] != '\n')
			continue;
		l = i - start;
		if (l >= max_line) {
			ev[n++] = (struct event){ EV_TOO_LONG, 0, 0 };
		} else if (i < len) {
			if (l > 0 && s[start + l - 1] == '\r')
				l--;
			if (l > 0) {
				if (utf8_valid(s + start, l))
					ev[n++] = (struct event){ EV_OK, start, l };
				else
					ev[n++] = (struct event){ EV_BAD_UTF8, 0, 0 };
			}
		}
		start = i + 1;
	}
	return n;
}

/* Quote tok the way a client would, then tokenize it back. */
static void
round_trip(const char *tok, size_t tlen)
{
	char *enc = malloc(2 * tlen + 3), *back = malloc(tlen + 1);
	struct line_cursor c;
	size_t n = 0, i, blen;

	CHECK(enc != NULL && back != NULL);
	enc[n++] = '"';
	for (i = 0; i < tlen; i++) {
		if (tok[i] == '"' || tok[i] == '\\')
			enc[n++] = '\\';
		enc[n++] = tok[i];
	}
	enc[n++] = '"';

	line_cursor_init(&c, enc, n);
	CHECK(line_token(&c, back, tlen + 1, &blen) == 1);
	CHECK(blen == tlen && memcmp(back, tok, tlen) == 0 && back[tlen] == 0);
	CHECK(line_at_end(&c));
	CHECK(line_token(&c, back, tlen + 1, &blen) == 0);
	/* One byte less room: refused, and nothing half-copied. */
	line_cursor_init(&c, enc, n);
	CHECK(line_token(&c, back, tlen, &blen) == -1);
	CHECK(blen == 0 && (tlen == 0 || back[0] == '\0'));
	free(back);
	free(enc);
}

/* Walk one line with the tokenizer, checking what it promises. */
static void
tokenize(const char *line, size_t len, size_t cap, unsigned rest_at)
{
	const char *end = line + len;
	struct line_cursor c;
	size_t bufcap = cap == SIZE_MAX ? len + 1 : cap, steps;
	char *out = malloc(bufcap ? bufcap : 1);

	CHECK(out != NULL);
	line_cursor_init(&c, line, len);
	for (steps = 0;; steps++) {
		const char *before = c.p, *text;
		bool at_end = line_at_end(&c);
		size_t tlen = 99, rlen;
		int r;

		CHECK(steps <= len + 1);        /* every token consumes input */
		if (steps == rest_at) {
			bool has = c.p < end && *c.p == ' ' && c.p + 1 < end;

			r = line_rest(&c, &text, &rlen);
			if (has) {
				CHECK(r == 1 && text == before + 1);
				CHECK(rlen == (size_t)(end - text) && c.p == end);
			} else {
				CHECK(r == 0 && text == NULL && rlen == 0);
				CHECK(c.p == before);
			}
			continue;
		}
		r = line_token(&c, out, bufcap, &tlen);
		CHECK(c.p >= line && c.p <= end);
		if (r == 0) {
			CHECK(at_end && tlen == 0);
			CHECK(bufcap == 0 || out[0] == '\0');
			break;
		}
		CHECK(!at_end);
		if (r == -1) {
			CHECK(tlen == 0 && (bufcap == 0 || out[0] == '\0'));
			break;
		}
		CHECK(r == 1);
		CHECK(c.p > before);
		CHECK(c.p == end || *c.p == ' ');
		CHECK(tlen < bufcap && out[tlen] == '\0' &&
		    strlen(out) == tlen);
		round_trip(out, tlen);
	}
	free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct line_framer f;
	struct event *ev;
	const uint8_t *sizes, *s;
	size_t max_line, nsizes, cap, len, nev, iev = 0, pos = 0, turn = 0;
	unsigned rest_at;
	bool shrink;

	if (size < 4)
		return 0;
	max_line = 1 + ((data[0] | (size_t)data[1] << 8) & 0x1fff);
	nsizes = 1 + (data[2] & 7);
	shrink = (data[2] & 8) != 0;
	cap = token_caps[data[3] & 15];
	rest_at = data[3] >> 4;
	if (rest_at == 15)
		rest_at = UINT_MAX;
	if (size < 4 + nsizes)
		return 0;
	sizes = data + 4;
	s = data + 4 + nsizes;
	len = size - 4 - nsizes;

	ev = malloc((len + 1) * sizeof(*ev));
	CHECK(ev != NULL);
	nev = model(s, len, max_line, ev);

	line_init(&f, max_line);
	while (pos < len) {
		size_t avail = 0, want = sizes[turn++ % nsizes], n;
		uint8_t *w = line_wptr(&f, &avail);

		/* After a drain there is always room, never past the cap. */
		CHECK(w != NULL && avail > 0);
		CHECK(line_buffered(&f) + avail <= max_line);
		n = want == 0 ? avail : want;
		if (n > avail)
			n = avail;
		if (n > len - pos)
			n = len - pos;
		memcpy(w, s + pos, n);
		line_produced(&f, n);
		pos += n;

		for (;;) {
			char *line = (char *)&f;
			size_t llen = 99;
			enum line_status st = line_next(&f, &line, &llen);

			CHECK(line_buffered(&f) <= max_line);
			CHECK(f.in.size <= max_line);
			if (st == LINE_NEED_MORE) {
				CHECK(line == NULL && llen == 0);
				break;
			}
			CHECK(iev < nev);
			switch (st) {
			case LINE_OK:
				CHECK(ev[iev].kind == EV_OK);
				CHECK(line != NULL && llen > 0);
				CHECK(llen + 1 <= max_line);
				CHECK(llen == ev[iev].len &&
				    memcmp(line, s + ev[iev].off, llen) == 0);
				CHECK(memchr(line, '\n', llen) == NULL);
				/* The byte after the line is the framer's own. */
				CHECK(line[llen] == '\n' || line[llen] == '\r');
				line[llen] = '\0';
				tokenize(line, llen, cap, rest_at);
				break;
			case LINE_TOO_LONG:
				CHECK(ev[iev].kind == EV_TOO_LONG);
				CHECK(line == NULL && llen == 0);
				break;
			case LINE_BAD_UTF8:
				CHECK(ev[iev].kind == EV_BAD_UTF8);
				CHECK(line == NULL && llen == 0);
				break;
			default:
				abort();
			}
			iev++;
		}
		if (shrink)
			line_shrink(&f);
	}
	/* Every event the model expects has been reported, and no other. */
	CHECK(iev == nev);
	line_free(&f);
	free(ev);
	return 0;
}
