/*
 * Unit tests for common/line.c.
 *
 * Framer: every input is also fed split at every byte boundary and one byte
 * at a time, and must give the same events. Boundary tables around
 * max_line with LF and CRLF; empty lines and lone CRs; a too-long line is
 * reported once, as soon as the buffer fills, and the next line works; a
 * megabyte without LF never makes the framer hold more than max_line
 * bytes; invalid UTF-8 and NUL are refused, an emoji is not; and random
 * input fed in random reads matches a simple whole-input model.
 *
 * Tokenizer: bare and quoted tokens, escapes, spaces, malformed input,
 * tokens that do not fit, and the verbatim rest of the line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "line.h"
#include "utf8.h"

/* ---- framer helpers ---------------------------------------------------- */

/*
 * Events in a readable form: "OK:text|" per line (control bytes as \xNN),
 * "TOO_LONG|" and "BAD_UTF8|".
 */
struct log {
	char s[8192];
	size_t n;
	size_t lines;
};

static void
log_add(struct log *lg, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
log_add(struct log *lg, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vsnprintf(lg->s + lg->n, sizeof(lg->s) - lg->n, fmt, ap);
	va_end(ap);
	assert_true(rc >= 0 && (size_t)rc < sizeof(lg->s) - lg->n);
	lg->n += (size_t)rc;
}

/* Take events until LINE_NEED_MORE, checking the framer's invariants. */
static void
drain(struct line_framer *f, struct log *lg)
{
	static char sentinel[1];

	for (;;) {
		char *line = sentinel;
		size_t len = 99, i;
		enum line_status st = line_next(f, &line, &len);

		assert_true(line_buffered(f) <= f->max_line);
		assert_true(f->in.size <= f->max_line);
		switch (st) {
		case LINE_NEED_MORE:
			assert_null(line);
			assert_int_equal(len, 0);
			/* Nothing left unscanned: the next call starts at new bytes. */
			if (!f->discarding)
				assert_int_equal(f->scanned, line_buffered(f));
			else
				assert_int_equal(line_buffered(f), 0);
			return;
		case LINE_OK:
			assert_non_null(line);
			assert_true(len > 0);
			/* The byte after the line belongs to the framer and may be written. */
			line[len] = '\0';
			assert_null(memchr(line, '\n', len));
			lg->lines++;
			log_add(lg, "OK:");
			for (i = 0; i < len; i++) {
				unsigned char c = (unsigned char)line[i];

				if (c < 0x20 || c >= 0x7f)
					log_add(lg, "\\x%02x", c);
				else
					log_add(lg, "%c", c);
			}
			log_add(lg, "|");
			break;
		case LINE_TOO_LONG:
			assert_null(line);
			assert_true(f->discarding);
			log_add(lg, "TOO_LONG|");
			break;
		case LINE_BAD_UTF8:
			assert_null(line);
			log_add(lg, "BAD_UTF8|");
			break;
		default:
			fail_msg("unknown status %d", (int)st);
		}
	}
}

/* Write p[0..len) as the peer would, taking events after each write. */
static void
feed(struct line_framer *f, struct log *lg, const void *p, size_t len)
{
	const uint8_t *s = p;

	while (len > 0) {
		size_t avail = 0, n;
		uint8_t *w = line_wptr(f, &avail);

		assert_non_null(w);
		assert_true(avail > 0);
		assert_true(avail <= f->max_line - line_buffered(f));
		n = len < avail ? len : avail;
		memcpy(w, s, n);
		line_produced(f, n);
		s += n;
		len -= n;
		drain(f, lg);
	}
}

/* Feed in reads of at most `chunk` bytes. */
static void
feed_chunked(struct line_framer *f, struct log *lg, const void *p, size_t len,
    size_t chunk)
{
	const uint8_t *s = p;

	while (len > 0) {
		size_t n = len < chunk ? len : chunk;

		feed(f, lg, s, n);
		s += n;
		len -= n;
	}
}

/*
 * Check that `in` gives `want` whether it arrives in one read, in two reads
 * split at any byte, or one byte at a time.
 */
static void
check_all_splits(size_t max_line, const void *in, size_t len, const char *want)
{
	struct line_framer f;
	struct log lg;
	size_t k;

	for (k = 0; k <= len; k++) {
		memset(&lg, 0, sizeof(lg));
		line_init(&f, max_line);
		feed(&f, &lg, in, k);
		feed(&f, &lg, (const uint8_t *)in + k, len - k);
		if (strcmp(lg.s, want) != 0)
			fail_msg("split at %zu: got \"%s\", want \"%s\"", k, lg.s, want);
		line_free(&f);
	}
	memset(&lg, 0, sizeof(lg));
	line_init(&f, max_line);
	feed_chunked(&f, &lg, in, len, 1);
	if (strcmp(lg.s, want) != 0)
		fail_msg("byte by byte: got \"%s\", want \"%s\"", lg.s, want);
	line_free(&f);
}

#define CHECK(max, lit, want) check_all_splits(max, lit, sizeof(lit) - 1, want)

/* ---- framer tests ------------------------------------------------------ */

static void
test_simple_lines(void **state)
{
	(void)state;
	CHECK(64, "", "");
	CHECK(64, "PING\n", "OK:PING|");
	CHECK(64, "PING", "");
	CHECK(64, "a\nb\nc\n", "OK:a|OK:b|OK:c|");
	CHECK(64, "SEND #room hello there\n", "OK:SEND #room hello there|");
	CHECK(64, "partial\nnot yet", "OK:partial|");
}

static void
test_cr_handling(void **state)
{
	(void)state;
	CHECK(64, "PING\r\n", "OK:PING|");
	CHECK(64, "a\r\nb\nc\r\n", "OK:a|OK:b|OK:c|");
	/* Only the one CR right before the LF goes. */
	CHECK(64, "a\r\r\n", "OK:a\\x0d|");
	CHECK(64, "\ra\n", "OK:\\x0da|");
	CHECK(64, "a\rb\n", "OK:a\\x0db|");
	/* A CR not yet followed by anything stays buffered. */
	CHECK(64, "a\r", "");
}

static void
test_empty_lines_skipped(void **state)
{
	(void)state;
	CHECK(64, "\n", "");
	CHECK(64, "\r\n", "");
	CHECK(64, "\n\n\r\n\n", "");
	CHECK(64, "\n\r\na\n\r\n\nb\r\n\n", "OK:a|OK:b|");
	/* A line holding only CR CR is not empty: one CR remains. */
	CHECK(64, "\r\r\n", "OK:\\x0d|");
}

/*
 * Boundary table, max_line = 16 with the terminator counted: content plus
 * LF (or CR LF) of 15, 16 and 17 bytes. After each, a normal line must
 * still come through.
 */
static void
test_max_line_boundaries(void **state)
{
	static const struct {
		const char *in;
		const char *want;
	} cases[] = {
		/* empty */
		{ "\nnext\n", "OK:next|" },
		/* one short: 14 + LF */
		{ "aaaaaaaaaaaaaa\nnext\n", "OK:aaaaaaaaaaaaaa|OK:next|" },
		/* exactly max: 15 + LF */
		{ "aaaaaaaaaaaaaaa\nnext\n", "OK:aaaaaaaaaaaaaaa|OK:next|" },
		/* max + 1: 16 + LF */
		{ "aaaaaaaaaaaaaaaa\nnext\n", "TOO_LONG|OK:next|" },
		/* CRLF: the CR counts. 13 + CRLF, 14 + CRLF, 15 + CRLF */
		{ "aaaaaaaaaaaaa\r\nnext\n", "OK:aaaaaaaaaaaaa|OK:next|" },
		{ "aaaaaaaaaaaaaa\r\nnext\n", "OK:aaaaaaaaaaaaaa|OK:next|" },
		{ "aaaaaaaaaaaaaaa\r\nnext\n", "TOO_LONG|OK:next|" },
		/* Far too long, then a good line, an empty one, another. */
		{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n\nok\r\nx\n",
		  "TOO_LONG|OK:ok|OK:x|" },
		/* Two too-long lines in a row: each is reported once. */
		{ "bbbbbbbbbbbbbbbbbbbbbbbb\ncccccccccccccccccccccccc\nd\n",
		  "TOO_LONG|TOO_LONG|OK:d|" },
		/* Exactly-max lines back to back. */
		{ "aaaaaaaaaaaaaaa\nbbbbbbbbbbbbbbb\n",
		  "OK:aaaaaaaaaaaaaaa|OK:bbbbbbbbbbbbbbb|" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_all_splits(16, cases[i].in, strlen(cases[i].in), cases[i].want);
}

/* The report comes when the buffer fills, before any LF, and only once. */
static void
test_too_long_reported_early_once(void **state)
{
	struct line_framer f;
	struct log lg;
	char big[100];
	char *line;
	size_t len;

	(void)state;
	memset(&lg, 0, sizeof(lg));
	memset(big, 'x', sizeof(big));
	line_init(&f, 16);
	feed(&f, &lg, big, 15);
	assert_string_equal(lg.s, "");
	assert_int_equal(line_buffered(&f), 15);
	feed(&f, &lg, big, 1);
	assert_string_equal(lg.s, "TOO_LONG|");
	assert_int_equal(line_buffered(&f), 0);
	assert_true(f.discarding);
	feed(&f, &lg, big, sizeof(big));
	feed(&f, &lg, big, sizeof(big));
	assert_string_equal(lg.s, "TOO_LONG|");
	assert_int_equal(line_next(&f, &line, &len), LINE_NEED_MORE);
	feed(&f, &lg, "tail\nPING\n", 10);
	assert_string_equal(lg.s, "TOO_LONG|OK:PING|");
	assert_false(f.discarding);
	line_free(&f);
}

/*
 * 1 MiB without LF, then LF and a normal line, in 1-byte and 4 KiB reads:
 * one report, the framer never holds or allocates more than max_line.
 * feed() asserts the buffer bounds after every read.
 */
static void
test_megabyte_without_lf(void **state)
{
	static const size_t chunks[] = { 1, 7, 4096, 65536 };
	const size_t total = 1024 * 1024;
	uint8_t *big = malloc(total);
	size_t i;

	(void)state;
	assert_non_null(big);
	memset(big, 'A', total);
	for (i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
		struct line_framer f;
		struct log lg;

		memset(&lg, 0, sizeof(lg));
		line_init(&f, 8192);
		feed_chunked(&f, &lg, big, total, chunks[i]);
		assert_string_equal(lg.s, "TOO_LONG|");
		assert_true(line_buffered(&f) < 8192);
		assert_true(f.in.size <= 8192);
		feed(&f, &lg, "\nPING\n", 6);
		assert_string_equal(lg.s, "TOO_LONG|OK:PING|");
		assert_int_equal(line_buffered(&f), 0);
		assert_true(f.in.size <= 8192);
		line_free(&f);
	}
	free(big);
}

/*
 * Bytes already searched are not searched again: an LF planted behind the
 * framer's back in the scanned part is not seen, so a rescanning framer
 * (quadratic on a line trickling in a byte per read) fails here.
 */
static void
test_scan_is_incremental(void **state)
{
	struct line_framer f;
	size_t avail, len;
	uint8_t *w;
	char *line;

	(void)state;
	line_init(&f, 64);
	w = line_wptr(&f, &avail);
	assert_non_null(w);
	memcpy(w, "abcdef", 6);
	line_produced(&f, 6);
	assert_int_equal(line_next(&f, &line, &len), LINE_NEED_MORE);
	assert_int_equal(f.scanned, 6);
	buf_rptr(&f.in)[2] = '\n';
	w = line_wptr(&f, &avail);
	assert_non_null(w);
	memcpy(w, "g\n", 2);
	line_produced(&f, 2);
	assert_int_equal(line_next(&f, &line, &len), LINE_OK);
	assert_int_equal(len, 7);
	assert_memory_equal(line, "ab\ndefg", 7);
	line_free(&f);
}

/*
 * A line of max_line - 1 bytes (1 MiB) arriving one byte per read, then its
 * LF: it comes through whole, and each read searched only the new byte.
 */
static void
test_slow_long_line_is_linear(void **state)
{
	const size_t max = 1024 * 1024;
	struct line_framer f;
	struct log lg;
	uint8_t *big = malloc(max);
	size_t i;

	(void)state;
	assert_non_null(big);
	memset(big, 'q', max);
	big[max - 1] = '\n';
	memset(&lg, 0, sizeof(lg));
	line_init(&f, max);
	for (i = 0; i < max - 1; i++) {
		size_t avail;
		uint8_t *w = line_wptr(&f, &avail);
		char *line;
		size_t len;

		assert_non_null(w);
		assert_true(avail > 0);
		*w = big[i];
		line_produced(&f, 1);
		assert_int_equal(line_next(&f, &line, &len), LINE_NEED_MORE);
		assert_int_equal(f.scanned, i + 1);
	}
	{
		size_t avail;
		uint8_t *w = line_wptr(&f, &avail);
		char *line;
		size_t len;

		assert_non_null(w);
		assert_int_equal(avail, 1);
		*w = '\n';
		line_produced(&f, 1);
		assert_int_equal(line_next(&f, &line, &len), LINE_OK);
		assert_int_equal(len, max - 1);
		assert_memory_equal(line, big, max - 1);
		assert_int_equal(line_next(&f, &line, &len), LINE_NEED_MORE);
	}
	assert_true(f.in.size <= max);
	line_free(&f);
	free(big);
}

static void
test_bad_utf8_and_nul(void **state)
{
	(void)state;
	CHECK(64, "a\0b\nok\n", "BAD_UTF8|OK:ok|");
	CHECK(64, "\0\n", "BAD_UTF8|");
	CHECK(64, "\0\r\n", "BAD_UTF8|");
	CHECK(64, "x\xc0\xafy\nok\n", "BAD_UTF8|OK:ok|");
	CHECK(64, "\xe0\x80\x80\nok\n", "BAD_UTF8|OK:ok|");
	CHECK(64, "\xed\xa0\x80\nok\n", "BAD_UTF8|OK:ok|");
	CHECK(64, "\xf4\x90\x80\x80\nok\n", "BAD_UTF8|OK:ok|");
	CHECK(64, "\x80\nok\n", "BAD_UTF8|OK:ok|");
	CHECK(64, "abc\xe2\x82\nok\n", "BAD_UTF8|OK:ok|");
	CHECK(64, "abc\xf0\x9f\x98\r\nok\n", "BAD_UTF8|OK:ok|");
	CHECK(64, "\xff\n", "BAD_UTF8|");
	/* Valid multibyte text, a 4-byte emoji included, passes unchanged. */
	CHECK(64, "SEND bob \xf0\x9f\x98\x80\r\n",
	    "OK:SEND bob \\xf0\\x9f\\x98\\x80|");
	CHECK(64, "caf\xc3\xa9 \xe2\x82\xac\n", "OK:caf\\xc3\\xa9 \\xe2\\x82\\xac|");
	/* A too-long line is reported as such even if it is not UTF-8. */
	CHECK(8, "\xff\xff\xff\xff\xff\xff\xff\xff\xff\nok\n", "TOO_LONG|OK:ok|");
}

/* The emoji's bytes come back exactly. */
static void
test_emoji_bytes(void **state)
{
	struct line_framer f;
	size_t avail;
	uint8_t *w;
	char *line;
	size_t len;

	(void)state;
	line_init(&f, 64);
	w = line_wptr(&f, &avail);
	assert_non_null(w);
	assert_true(avail >= 5);
	memcpy(w, "\xf0\x9f\x8e\x89\n", 5);
	line_produced(&f, 5);
	assert_int_equal(line_next(&f, &line, &len), LINE_OK);
	assert_int_equal(len, 4);
	assert_memory_equal(line, "\xf0\x9f\x8e\x89", 4);
	line_free(&f);
}

/* Room is always offered after draining, even when discarding. */
static void
test_wptr_always_has_room(void **state)
{
	struct line_framer f;
	size_t avail, i;
	uint8_t *w;
	char *line;
	size_t len;

	(void)state;
	line_init(&f, 8);
	for (i = 0; i < 100; i++) {
		w = line_wptr(&f, &avail);
		assert_non_null(w);
		assert_true(avail > 0 && avail <= 8 - line_buffered(&f));
		memset(w, 'z', avail);
		line_produced(&f, avail);
		/* Two writes in a row without taking events while discarding:
		 * the skipped bytes are reused for the second. */
		if (i % 2 == 0)
			while (line_next(&f, &line, &len) != LINE_NEED_MORE)
				;
	}
	assert_true(f.discarding);
	assert_true(f.in.size <= 8);
	line_free(&f);

	/*
	 * Contract: complete lines must be taken before more input is written.
	 * A full buffer of untaken lines offers no room rather than losing any.
	 */
	line_init(&f, 8);
	w = line_wptr(&f, &avail);
	assert_non_null(w);
	assert_int_equal(avail, 8);
	memcpy(w, "a\nb\nc\nd\n", 8);
	line_produced(&f, 8);
	assert_null(line_wptr(&f, &avail));
	assert_int_equal(avail, 0);
	assert_int_equal(line_next(&f, &line, &len), LINE_OK);
	assert_int_equal(len, 1);
	assert_int_equal(line[0], 'a');
	w = line_wptr(&f, &avail);
	assert_non_null(w);
	assert_int_equal(avail, 2);
	line_free(&f);
}

static void
test_shrink_and_reuse(void **state)
{
	struct line_framer f;
	struct log lg;

	(void)state;
	memset(&lg, 0, sizeof(lg));
	line_init(&f, 64);
	assert_null(f.in.data);
	assert_int_equal(line_buffered(&f), 0);
	feed(&f, &lg, "PING\npart", 9);
	line_shrink(&f);        /* holds "part": kept */
	assert_non_null(f.in.data);
	assert_int_equal(line_buffered(&f), 4);
	feed(&f, &lg, "ial\n", 4);
	assert_string_equal(lg.s, "OK:PING|OK:partial|");
	line_shrink(&f);
	assert_null(f.in.data);
	feed(&f, &lg, "again\n", 6);
	assert_string_equal(lg.s, "OK:PING|OK:partial|OK:again|");
	line_free(&f);
	line_free(&f);
}

/* The smallest framer: only empty lines fit. */
static void
test_tiny_max(void **state)
{
	(void)state;
	CHECK(1, "\n\n", "");
	CHECK(1, "a\n\n", "TOO_LONG|");
	CHECK(2, "a\nbb\nc\n", "OK:a|TOO_LONG|OK:c|");
	CHECK(0, "\nx\n", "TOO_LONG|");
}

/*
 * Reference model over a whole input: a line whose bytes before its LF
 * (CR included) reach max_line is too long, even if its LF never comes;
 * otherwise a final partial line gives nothing, and a complete one loses one
 * trailing CR and is skipped when empty, refused when not UTF-8.
 */
static void
model(size_t max_line, const uint8_t *in, size_t len, struct log *lg)
{
	size_t start = 0, i;

	while (start < len) {
		const uint8_t *lf = memchr(in + start, '\n', len - start);
		size_t n = lf != NULL ? (size_t)(lf - in) - start : len - start;

		if (n >= max_line) {
			log_add(lg, "TOO_LONG|");
		} else if (lf != NULL) {
			const uint8_t *p = in + start;

			if (n > 0 && p[n - 1] == '\r')
				n--;
			if (n > 0 && !utf8_valid(p, n)) {
				log_add(lg, "BAD_UTF8|");
			} else if (n > 0) {
				log_add(lg, "OK:");
				for (i = 0; i < n; i++) {
					if (p[i] < 0x20 || p[i] >= 0x7f)
						log_add(lg, "\\x%02x", p[i]);
					else
						log_add(lg, "%c", p[i]);
				}
				log_add(lg, "|");
			}
		}
		if (lf == NULL)
			break;
		start = (size_t)(lf - in) + 1;
	}
}

/* Random inputs from a small alphabet, fed in random-sized reads. */
static void
test_random_against_model(void **state)
{
	static const uint8_t alphabet[] = {
		'a', 'b', ' ', '"', '\r', '\n', '\n', '\0', 0xc3, 0xa9, 0xff,
	};
	uint64_t seed = 0x9e3779b97f4a7c15u;
	uint8_t in[400];
	int round;

	(void)state;
	for (round = 0; round < 20000; round++) {
		struct line_framer f;
		struct log got, want;
		size_t len, max_line, i, off;

		/* xorshift64: fixed seed, so a failure repeats. */
#define RND() (seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17, seed)
		len = RND() % sizeof(in);
		max_line = 1 + RND() % 24;
		for (i = 0; i < len; i++)
			in[i] = alphabet[RND() % sizeof(alphabet)];
		memset(&want, 0, sizeof(want));
		memset(&got, 0, sizeof(got));
		model(max_line, in, len, &want);
		line_init(&f, max_line);
		for (off = 0; off < len; ) {
			size_t n = 1 + RND() % 40;

			if (n > len - off)
				n = len - off;
			feed(&f, &got, in + off, n);
			off += n;
		}
#undef RND
		if (strcmp(got.s, want.s) != 0)
			fail_msg("round %d max %zu: got \"%s\", want \"%s\"", round,
			    max_line, got.s, want.s);
		line_free(&f);
	}
}

/* ---- tokenizer --------------------------------------------------------- */

/*
 * Tokenize a whole line into "tok|tok|" and return the last line_token
 * result (0 at a clean end, -1 when malformed).
 */
static int
tokenize(const char *s, size_t cap, char *out, size_t outsz)
{
	struct line_cursor c;
	char tok[128];
	size_t len, n = 0;
	int rc;

	assert_true(cap <= sizeof(tok));
	out[0] = '\0';
	line_cursor_init(&c, s, strlen(s));
	while ((rc = line_token(&c, tok, cap, &len)) == 1) {
		int w;

		assert_int_equal(strlen(tok), len);
		w = snprintf(out + n, outsz - n, "%s|", tok);
		assert_true(w > 0 && (size_t)w < outsz - n);
		n += (size_t)w;
	}
	assert_int_equal(len, 0);
	if (cap > 0)
		assert_string_equal(tok, "");
	return rc;
}

static void
test_tokens_table(void **state)
{
	static const struct {
		const char *in;
		int rc;
		const char *toks;       /* tokens before the end or the error */
	} cases[] = {
		{ "", 0, "" },
		{ " ", 0, "" },
		{ "     ", 0, "" },
		{ "PING", 0, "PING|" },
		{ "ping tok", 0, "ping|tok|" },
		{ "LOGIN alice secret", 0, "LOGIN|alice|secret|" },
		{ "  a   b  ", 0, "a|b|" },
		{ "a\tb c", 0, "a\tb|c|" },
		{ "LOGIN alice \"pass word\"", 0, "LOGIN|alice|pass word|" },
		{ "\"  spaced  out  \"", 0, "  spaced  out  |" },
		{ "\"a\\\"b\"", 0, "a\"b|" },
		{ "\"a\\\\b\"", 0, "a\\b|" },
		{ "\"\\\\\\\"\"", 0, "\\\"|" },
		{ "\"\"", 0, "|" },
		{ "\"\" x", 0, "|x|" },
		{ "\"a\" \"b\"", 0, "a|b|" },
		{ "\"a\"   b", 0, "a|b|" },
		{ "\"it's\"", 0, "it's|" },
		{ "back\\slash", 0, "back\\slash|" },
		{ "caf\xc3\xa9", 0, "caf\xc3\xa9|" },
		/* Malformed. */
		{ "\"", -1, "" },
		{ "\"abc", -1, "" },
		{ "x \"abc def", -1, "x|" },
		{ "\"abc\\", -1, "" },
		{ "\"abc\\\"", -1, "" },
		{ "\"a\\nb\"", -1, "" },
		{ "\"a\\ b\"", -1, "" },
		{ "\"a\\'b\"", -1, "" },
		{ "\"a\"b", -1, "" },
		{ "\"a\"\"b\"", -1, "" },
		{ "a\"b\"", -1, "" },
		{ "ab\"", -1, "" },
		{ "ok a\"", -1, "ok|" },
	};
	char out[512];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = tokenize(cases[i].in, 64, out, sizeof(out));

		if (rc != cases[i].rc || strcmp(out, cases[i].toks) != 0)
			fail_msg("case %zu [%s]: rc %d \"%s\", want %d \"%s\"", i,
			    cases[i].in, rc, out, cases[i].rc, cases[i].toks);
	}
}

/* Token length against cap: empty, one short, exactly cap - 1, cap. */
static void
test_token_cap(void **state)
{
	static const struct {
		const char *in;
		size_t cap;
		int rc;
		const char *toks;
	} cases[] = {
		{ "abcd", 6, 0, "abcd|" },
		{ "abcde", 6, 0, "abcde|" },
		{ "abcdef", 6, -1, "" },
		{ "\"abcd\"", 6, 0, "abcd|" },
		{ "\"abcde\"", 6, 0, "abcde|" },
		{ "\"abcdef\"", 6, -1, "" },
		/* Escapes count once, after unescaping. */
		{ "\"ab\\\"de\"", 6, 0, "ab\"de|" },
		{ "\"ab\\\"def\"", 6, -1, "" },
		{ "ok abcdef", 6, -1, "ok|" },
		{ "\"\"", 1, 0, "|" },
		{ "a", 1, -1, "" },
		{ "a", 2, 0, "a|" },
		{ "", 1, 0, "" },
		{ "", 0, 0, "" },
		{ "   ", 0, 0, "" },
	};
	char out[128];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = tokenize(cases[i].in, cases[i].cap, out, sizeof(out));

		if (rc != cases[i].rc || strcmp(out, cases[i].toks) != 0)
			fail_msg("case %zu [%s] cap %zu: rc %d \"%s\"", i,
			    cases[i].in, cases[i].cap, rc, out);
	}

	/* cap 0 cannot hold even the NUL: any token is refused. */
	{
		struct line_cursor c;
		size_t len = 7;

		line_cursor_init(&c, "a", 1);
		assert_int_equal(line_token(&c, NULL, 0, &len), -1);
		assert_int_equal(len, 0);
	}
}

/* Take n tokens, then return line_rest's answer. */
static int
rest_after(const char *s, int ntok, const char **text, size_t *len,
    struct line_cursor *c)
{
	char tok[64];
	size_t tlen;
	int i;

	line_cursor_init(c, s, strlen(s));
	for (i = 0; i < ntok; i++)
		assert_int_equal(line_token(c, tok, sizeof(tok), &tlen), 1);
	return line_rest(c, text, len);
}

static void
test_rest(void **state)
{
	static const struct {
		const char *in;
		int ntok;
		int rc;
		const char *rest;
	} cases[] = {
		{ "SEND bob hello world", 2, 1, "hello world" },
		{ "SEND bob  two spaces kept", 2, 1, " two spaces kept" },
		{ "SEND bob \"not a token\" \\q", 2, 1, "\"not a token\" \\q" },
		{ "SEND bob trailing  ", 2, 1, "trailing  " },
		{ "SEND bob   ", 2, 1, "  " },
		{ "SEND bob x", 2, 1, "x" },
		{ "SEND \"bo b\" hi", 2, 1, "hi" },
		{ "SEND #room \"hi\"", 2, 1, "\"hi\"" },
		{ "KICK bob", 2, 0, NULL },
		{ "KICK bob ", 2, 0, NULL },
		{ "KICK bob reason here", 2, 1, "reason here" },
		{ "PING", 1, 0, NULL },
		{ "PING x", 1, 1, "x" },
		/* Before any token there is no ending space to follow. */
		{ "PING", 0, 0, NULL },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct line_cursor c;
		const char *text = "junk";
		size_t len = 99;
		char tok[8];
		size_t tlen;
		int rc = rest_after(cases[i].in, cases[i].ntok, &text, &len, &c);

		if (rc != cases[i].rc)
			fail_msg("case %zu [%s]: rc %d", i, cases[i].in, rc);
		if (rc == 1) {
			assert_int_equal(len, strlen(cases[i].rest));
			assert_memory_equal(text, cases[i].rest, len);
			/* The rest points into the line itself. */
			assert_true(text > cases[i].in);
			assert_ptr_equal(text + len, cases[i].in + strlen(cases[i].in));
			/* Nothing is left for the tokenizer afterwards. */
			assert_true(line_at_end(&c));
			assert_int_equal(line_token(&c, tok, sizeof(tok), &tlen), 0);
		} else {
			assert_null(text);
			assert_int_equal(len, 0);
		}
	}
}

static void
test_at_end(void **state)
{
	struct line_cursor c;
	char tok[16];
	size_t len;

	(void)state;
	line_cursor_init(&c, "", 0);
	assert_true(line_at_end(&c));
	line_cursor_init(&c, "   ", 3);
	assert_true(line_at_end(&c));

	line_cursor_init(&c, "JOIN #a   ", 10);
	assert_false(line_at_end(&c));
	assert_int_equal(line_token(&c, tok, sizeof(tok), &len), 1);
	assert_false(line_at_end(&c));
	assert_int_equal(line_token(&c, tok, sizeof(tok), &len), 1);
	assert_string_equal(tok, "#a");
	assert_true(line_at_end(&c));
	/* Asking does not move the cursor: the rest is still there. */
	{
		const char *text;
		size_t tl;

		assert_int_equal(line_rest(&c, &text, &tl), 1);
		assert_int_equal(tl, 2);
	}

	line_cursor_init(&c, "JOIN #a  extra", 14);
	assert_int_equal(line_token(&c, tok, sizeof(tok), &len), 1);
	assert_int_equal(line_token(&c, tok, sizeof(tok), &len), 1);
	assert_false(line_at_end(&c));
	assert_int_equal(line_token(&c, tok, sizeof(tok), &len), 1);
	assert_string_equal(tok, "extra");
	assert_true(line_at_end(&c));
	assert_int_equal(line_token(&c, tok, sizeof(tok), &len), 0);
}

/* A framed line goes straight into the tokenizer. */
static void
test_framer_to_tokens(void **state)
{
	struct line_framer f;
	struct line_cursor c;
	size_t avail, len, tl;
	uint8_t *w;
	char *line, tok[64];
	const char *text;
	static const char in[] = "login Alice \"correct horse\"\r\nsend #dev  hi \"there\"\n";

	(void)state;
	line_init(&f, 128);
	w = line_wptr(&f, &avail);
	assert_non_null(w);
	assert_true(avail >= sizeof(in) - 1);
	memcpy(w, in, sizeof(in) - 1);
	line_produced(&f, sizeof(in) - 1);

	assert_int_equal(line_next(&f, &line, &len), LINE_OK);
	line_cursor_init(&c, line, len);
	assert_int_equal(line_token(&c, tok, sizeof(tok), &tl), 1);
	assert_string_equal(tok, "login");
	assert_int_equal(line_token(&c, tok, sizeof(tok), &tl), 1);
	assert_string_equal(tok, "Alice");
	assert_int_equal(line_token(&c, tok, sizeof(tok), &tl), 1);
	assert_string_equal(tok, "correct horse");
	assert_int_equal(line_token(&c, tok, sizeof(tok), &tl), 0);

	assert_int_equal(line_next(&f, &line, &len), LINE_OK);
	line_cursor_init(&c, line, len);
	assert_int_equal(line_token(&c, tok, sizeof(tok), &tl), 1);
	assert_int_equal(line_token(&c, tok, sizeof(tok), &tl), 1);
	assert_string_equal(tok, "#dev");
	assert_int_equal(line_rest(&c, &text, &tl), 1);
	assert_int_equal(tl, 11);
	assert_memory_equal(text, " hi \"there\"", 11);
	assert_int_equal(line_next(&f, &line, &len), LINE_NEED_MORE);
	line_free(&f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_simple_lines),
		cmocka_unit_test(test_cr_handling),
		cmocka_unit_test(test_empty_lines_skipped),
		cmocka_unit_test(test_max_line_boundaries),
		cmocka_unit_test(test_too_long_reported_early_once),
		cmocka_unit_test(test_megabyte_without_lf),
		cmocka_unit_test(test_scan_is_incremental),
		cmocka_unit_test(test_slow_long_line_is_linear),
		cmocka_unit_test(test_bad_utf8_and_nul),
		cmocka_unit_test(test_emoji_bytes),
		cmocka_unit_test(test_wptr_always_has_room),
		cmocka_unit_test(test_shrink_and_reuse),
		cmocka_unit_test(test_tiny_max),
		cmocka_unit_test(test_random_against_model),
		cmocka_unit_test(test_tokens_table),
		cmocka_unit_test(test_token_cap),
		cmocka_unit_test(test_rest),
		cmocka_unit_test(test_at_end),
		cmocka_unit_test(test_framer_to_tokens),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
