/*
 * Unit tests for log_escape() in common/log.c.
 *
 * Printable ASCII is kept; the backslash and every other byte (C0, DEL,
 * C1, UTF-8 lead and continuation bytes, NUL) become \xNN. Output is
 * checked against a reference escaper, for every byte value and for every
 * capacity from 1 up: always NUL-terminated inside cap, never a byte
 * written past it, never half an escape, "..." when cut, and the whole
 * escaped text whenever it fits.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "log.h"

#define GUARD 0x5a              /* fills the output past cap */

/*
 * The reference: the full escaped text of s[0..len) into out (big enough),
 * and in cut[] a 1 at every offset where an escape or a kept byte starts
 * (and at the end), i.e. where a truncated copy may stop.
 */
static size_t
ref_escape(char *out, unsigned char *cut, const char *s, size_t len)
{
	size_t o = 0, i;

	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		cut[o] = 1;
		if (ch >= 0x20 && ch < 0x7f && ch != '\\') {
			out[o++] = (char)ch;
		} else {
			snprintf(out + o, 5, "\\x%02x", ch);
			cut[o + 1] = cut[o + 2] = cut[o + 3] = 0;
			o += 4;
		}
	}
	cut[o] = 1;
	out[o] = '\0';
	return o;
}

/*
 * Escape s into a guarded buffer with capacity cap and check everything
 * that must hold for any input and any cap >= 1. Returns the output's
 * length; *whole tells whether it is the entire escaped text.
 */
static size_t
check_escape(const char *s, size_t len, size_t cap, bool *whole)
{
	char out[1200], full[1200];
	unsigned char cut[1200];
	size_t flen, olen, i;
	char *r;

	assert_true(len * 4 + 1 < sizeof(full));
	assert_true(cap + 16 <= sizeof(out));
	flen = ref_escape(full, cut, s, len);

	memset(out, GUARD, sizeof(out));
	r = log_escape(out, cap, s, len);
	assert_ptr_equal(r, out);
	/* Terminated inside cap; nothing written past it. */
	assert_non_null(memchr(out, '\0', cap));
	for (i = cap; i < sizeof(out); i++)
		if ((unsigned char)out[i] != GUARD)
			fail_msg("cap %zu: byte %zu written", cap, i);
	olen = strlen(out);
	assert_true(olen < cap);
	/* Only printable ASCII comes out. */
	for (i = 0; i < olen; i++)
		assert_true(out[i] >= 0x20 && out[i] < 0x7f);

	*whole = olen == flen && memcmp(out, full, flen) == 0;
	if (*whole)
		return olen;
	/* Cut: a prefix that stops between escapes, then "...". */
	if (cap >= 4) {
		size_t keep;

		if (olen < 3 || strcmp(out + olen - 3, "...") != 0)
			fail_msg("cap %zu: cut without \"...\": \"%s\"", cap,
			    out);
		keep = olen - 3;
		assert_true(keep <= flen);
		assert_memory_equal(out, full, keep);
		if (!cut[keep])
			fail_msg("cap %zu: half an escape kept: \"%s\"", cap,
			    out);
		/* No more lost than the widest escape plus the dots. */
		assert_true(olen + 4 >= cap);
	} else {
		/* Too small for "...": some prefix, ending between escapes. */
		assert_memory_equal(out, full, olen);
		assert_true(cut[olen]);
	}
	return olen;
}

/* Escape with a roomy buffer and compare with the expected text. */
static void
expect(const char *s, size_t len, const char *want)
{
	char out[512];

	memset(out, GUARD, sizeof(out));
	log_escape(out, sizeof(out), s, len);
	assert_string_equal(out, want);
}

#define EXPECT(lit, want) expect(lit, sizeof(lit) - 1, want)

static void
test_printable_kept(void **state)
{
	(void)state;
	EXPECT("", "");
	EXPECT("a", "a");
	EXPECT("hello, world", "hello, world");
	EXPECT(" !\"#$%&'()*+,-./0123456789:;<=>?@ABCXYZ[]^_`abcxyz{|}~",
	    " !\"#$%&'()*+,-./0123456789:;<=>?@ABCXYZ[]^_`abcxyz{|}~");
	EXPECT("LOGIN alice \"pass word\"", "LOGIN alice \"pass word\"");
}

static void
test_escaped(void **state)
{
	(void)state;
	EXPECT("\\", "\\x5c");
	EXPECT("a\\b", "a\\x5cb");
	/* Something that looks like an escape already is escaped again. */
	EXPECT("\\x41", "\\x5cx41");
	EXPECT("\x1b[31mred", "\\x1b[31mred");
	EXPECT("\x1b]52;c;aGk=\x07", "\\x1b]52;c;aGk=\\x07");  /* OSC 52 */
	EXPECT("a\0b", "a\\x00b");
	EXPECT("\0", "\\x00");
	EXPECT("line\nforged: yes", "line\\x0aforged: yes");
	EXPECT("\r\t", "\\x0d\\x09");
	EXPECT("\x7f", "\\x7f");
	EXPECT("\xc2\x9b" "2J", "\\xc2\\x9b2J");              /* C1 CSI */
	EXPECT("\x9b", "\\x9b");                              /* raw C1 */
	EXPECT("caf\xc3\xa9", "caf\\xc3\\xa9");               /* UTF-8 */
	EXPECT("\xf0\x9f\x98\x80", "\\xf0\\x9f\\x98\\x80");   /* emoji */
	EXPECT("\xe2\x80\xae", "\\xe2\\x80\\xae");            /* RLO */
	EXPECT("\xff\xfe", "\\xff\\xfe");
}

/* Every byte value alone, first, and last: kept or \xNN, nothing else. */
static void
test_every_byte(void **state)
{
	unsigned v;

	(void)state;
	for (v = 0; v < 256; v++) {
		char in[3] = { 'a', (char)v, 'b' }, e[8], want[16], out[32];
		bool keep = v >= 0x20 && v < 0x7f && v != '\\';

		if (keep)
			snprintf(e, sizeof(e), "%c", (char)v);
		else
			snprintf(e, sizeof(e), "\\x%02x", v);
		snprintf(want, sizeof(want), "a%sb", e);
		log_escape(out, sizeof(out), in, 3);
		assert_string_equal(out, want);
		log_escape(out, sizeof(out), in + 1, 1);
		assert_string_equal(out, e);
	}
}

/* len is honoured: input need not be terminated and bytes past it unread. */
static void
test_len_honoured(void **state)
{
	static const char raw[5] = { 'a', 'b', 'c', 'd', 'e' };
	char out[16];

	(void)state;
	log_escape(out, sizeof(out), raw, sizeof(raw));
	assert_string_equal(out, "abcde");
	log_escape(out, sizeof(out), raw, 2);
	assert_string_equal(out, "ab");
	log_escape(out, sizeof(out), "xyz", 0);
	assert_string_equal(out, "");
}

/* cap 0 writes nothing at all. */
static void
test_cap_zero(void **state)
{
	char out[4] = { 'q', 'q', 'q', 'q' };

	(void)state;
	assert_ptr_equal(log_escape(out, 0, "abc", 3), out);
	assert_memory_equal(out, "qqqq", 4);
}

/*
 * A long input mixing kept bytes and escapes, cut at every cap from 1 to
 * 40 and then some: always safe, always a clean prefix plus "...".
 */
static void
test_truncation_every_cap(void **state)
{
	static const char in[] =
	    "user \x1b[2J\\ caf\xc3\xa9 \0\xff ok \x7f" "12345678 "
	    "\xf0\x9f\x98\x80 tail text that goes on and on \\\\ end";
	const size_t len = sizeof(in) - 1;
	size_t cap, prev = 0;
	bool whole;

	(void)state;
	for (cap = 1; cap <= 40; cap++) {
		size_t olen = check_escape(in, len, cap, &whole);

		assert_false(whole);
		/* More room never gives less text. */
		assert_true(olen >= prev);
		prev = olen;
	}
	for (cap = 41; cap <= 400; cap++)
		(void)check_escape(in, len, cap, &whole);
	assert_true(whole);

	/* Only escapes, and only plain bytes, cut at every cap. */
	{
		char esc[64], plain[64];

		memset(esc, '\x1b', sizeof(esc));
		memset(plain, 'p', sizeof(plain));
		for (cap = 1; cap <= 40; cap++) {
			(void)check_escape(esc, sizeof(esc), cap, &whole);
			assert_false(whole);
			(void)check_escape(plain, sizeof(plain), cap, &whole);
			assert_false(whole);
		}
	}
}

/*
 * Text whose escaped form fits in cap - 1 bytes comes out whole, even when
 * it leaves no room for "..." (log.h: truncated only when it does not fit).
 */
static void
test_fits_exactly(void **state)
{
	static const struct {
		const char *s;
		size_t len;
	} ins[] = {
		{ "a", 1 }, { "abc", 3 }, { "abcdefgh", 8 }, { "\x1b", 1 },
		{ "ab\\", 3 }, { "\xc3\xa9" "t" "\xc3\xa9", 5 },
	};
	size_t i, cap;
	bool whole;

	(void)state;
	for (i = 0; i < sizeof(ins) / sizeof(ins[0]); i++) {
		char full[64];
		unsigned char cut[64];
		size_t flen = ref_escape(full, cut, ins[i].s, ins[i].len);

		for (cap = 1; cap <= flen + 8; cap++) {
			(void)check_escape(ins[i].s, ins[i].len, cap, &whole);
			if (flen < cap && !whole)
				fail_msg("\"%s\" (%zu bytes escaped) cut at cap "
				    "%zu", full, flen, cap);
			if (flen >= cap)
				assert_false(whole);
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_printable_kept),
		cmocka_unit_test(test_escaped),
		cmocka_unit_test(test_every_byte),
		cmocka_unit_test(test_len_honoured),
		cmocka_unit_test(test_cap_zero),
		cmocka_unit_test(test_truncation_every_cap),
		cmocka_unit_test(test_fits_exactly),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
