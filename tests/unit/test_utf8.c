/*
 * Unit tests for common/utf8.c: every well-formed boundary of RFC 3629 is
 * accepted, every ill-formed one refused (overlong, surrogate, past
 * U+10FFFF, stray or missing continuation bytes, NUL), whatever its
 * position relative to the eight-byte ASCII fast path; and the message-text
 * rules refuse exactly the controls SPEC §1 names.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "utf8.h"

struct ucase {
	const char *s;
	size_t len;
	bool ok;
};

#define U(str, ok) { str, sizeof(str) - 1, ok }

static const struct ucase valid_cases[] = {
	U("", true),
	U("a", true),
	U("hello, world", true),
	U("\x7f", true),                        /* DEL is UTF-8, refused as text */
	U("\t\r", true),
	/* Boundaries of each length. */
	U("\xc2\x80", true),                    /* U+0080 */
	U("\xdf\xbf", true),                    /* U+07FF */
	U("\xe0\xa0\x80", true),                /* U+0800 */
	U("\xed\x9f\xbf", true),                /* U+D7FF */
	U("\xee\x80\x80", true),                /* U+E000 */
	U("\xef\xbf\xbf", true),                /* U+FFFF */
	U("\xf0\x90\x80\x80", true),            /* U+10000 */
	U("\xf4\x8f\xbf\xbf", true),            /* U+10FFFF */
	U("\xf0\x9f\x98\x80", true),            /* U+1F600 emoji */
	U("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x8e\x89", true),
	/* NUL anywhere. */
	U("\0", false),
	U("abc\0def", false),
	U("abcdefg\0", false),
	U("abcdefgh\0ijklmnop", false),
	/* Overlong forms. */
	U("\xc0\xaf", false),
	U("\xc0\x80", false),
	U("\xc1\xbf", false),
	U("\xe0\x80\x80", false),
	U("\xe0\x9f\xbf", false),
	U("\xf0\x80\x80\x80", false),
	U("\xf0\x8f\xbf\xbf", false),
	/* Surrogates. */
	U("\xed\xa0\x80", false),               /* U+D800 */
	U("\xed\xbf\xbf", false),               /* U+DFFF */
	U("\xed\xa0\xbd\xed\xb8\x80", false),   /* CESU-8 pair */
	/* Past U+10FFFF, and bytes that never occur. */
	U("\xf4\x90\x80\x80", false),
	U("\xf5\x80\x80\x80", false),
	U("\xf8\x88\x80\x80\x80", false),
	U("\xfe", false),
	U("\xff", false),
	/* Lone and stray continuation bytes. */
	U("\x80", false),
	U("\xbf", false),
	U("a\x80z", false),
	U("\xc3\xa9\xa9", false),
	/* Truncated sequences, at the end and in the middle. */
	U("\xc3", false),
	U("\xe2\x82", false),
	U("\xf0\x9f\x98", false),
	U("\xe2\x82z", false),
	U("\xf0\x9f\x98 ", false),
	U("\xc3 ", false),
};

static void
test_valid_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(valid_cases) / sizeof(valid_cases[0]); i++) {
		const struct ucase *c = &valid_cases[i];

		if (utf8_valid(c->s, c->len) != c->ok)
			fail_msg("case %zu: expected %s", i, c->ok ? "valid" : "invalid");
	}
}

/*
 * Put each case at every offset 0..16 inside ASCII padding, so the bad byte
 * lands both inside and outside the eight-byte fast path.
 */
static void
test_valid_every_alignment(void **state)
{
	char tmp[64];
	size_t i, pre, post;

	(void)state;
	for (i = 0; i < sizeof(valid_cases) / sizeof(valid_cases[0]); i++) {
		const struct ucase *c = &valid_cases[i];

		for (pre = 0; pre <= 16; pre++) {
			for (post = 0; post <= 9; post += 9) {
				size_t len = pre + c->len + post;

				memset(tmp, 'x', sizeof(tmp));
				memcpy(tmp + pre, c->s, c->len);
				/*
				 * ASCII after a truncated sequence still leaves it
				 * invalid, so the expected result does not change.
				 */
				if (utf8_valid(tmp, len) != c->ok)
					fail_msg("case %zu at offset %zu + %zu", i, pre, post);
			}
		}
	}
}

/* A NUL or high byte in every position of a long ASCII run is caught. */
static void
test_valid_long_ascii(void **state)
{
	char tmp[100];
	size_t i;

	(void)state;
	memset(tmp, 'a', sizeof(tmp));
	assert_true(utf8_valid(tmp, sizeof(tmp)));
	for (i = 0; i < sizeof(tmp); i++) {
		tmp[i] = '\0';
		assert_false(utf8_valid(tmp, sizeof(tmp)));
		tmp[i] = (char)0x80;
		assert_false(utf8_valid(tmp, sizeof(tmp)));
		tmp[i] = (char)0xff;
		assert_false(utf8_valid(tmp, sizeof(tmp)));
		tmp[i] = 0x01;          /* a valid byte that defeats naive zero tests */
		assert_true(utf8_valid(tmp, sizeof(tmp)));
		tmp[i] = 'a';
	}
	/* Length bounds the check: the NUL just past len is not looked at. */
	tmp[50] = '\0';
	assert_true(utf8_valid(tmp, 50));
	assert_false(utf8_valid(tmp, 51));
	assert_true(utf8_valid(NULL, 0));
}

/* Every 1- and 2-byte input, checked against a plain reference decoder. */
static bool
ref_valid(const uint8_t *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		uint32_t cp;
		size_t n, j;

		if (s[i] == 0)
			return false;
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if ((s[i] & 0xe0) == 0xc0) {
			n = 1;
			cp = s[i] & 0x1f;
		} else if ((s[i] & 0xf0) == 0xe0) {
			n = 2;
			cp = s[i] & 0x0f;
		} else if ((s[i] & 0xf8) == 0xf0) {
			n = 3;
			cp = s[i] & 0x07;
		} else {
			return false;
		}
		if (len - i - 1 < n)
			return false;
		for (j = 1; j <= n; j++) {
			if ((s[i + j] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + j] & 0x3f);
		}
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) ||
		    (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += n + 1;
	}
	return true;
}

static void
test_valid_exhaustive_short(void **state)
{
	uint8_t s[3];
	unsigned a, b, c;

	(void)state;
	for (a = 0; a < 256; a++) {
		s[0] = (uint8_t)a;
		assert_int_equal(utf8_valid(s, 1), ref_valid(s, 1));
		for (b = 0; b < 256; b++) {
			s[1] = (uint8_t)b;
			assert_int_equal(utf8_valid(s, 2), ref_valid(s, 2));
		}
	}
	/* Three bytes for every lead of a multibyte sequence. */
	for (a = 0xc0; a < 256; a++) {
		s[0] = (uint8_t)a;
		for (b = 0; b < 256; b++) {
			s[1] = (uint8_t)b;
			for (c = 0; c < 256; c++) {
				s[2] = (uint8_t)c;
				assert_int_equal(utf8_valid(s, 3), ref_valid(s, 3));
			}
		}
	}
}

static void
test_count(void **state)
{
	(void)state;
	assert_int_equal(utf8_count("", 0), 0);
	assert_int_equal(utf8_count("abc", 3), 3);
	assert_int_equal(utf8_count("caf\xc3\xa9", 5), 4);
	assert_int_equal(utf8_count("\xe2\x82\xac", 3), 1);
	assert_int_equal(utf8_count("\xf0\x9f\x98\x80!", 5), 2);
	assert_int_equal(utf8_count("\xf4\x8f\xbf\xbf\xc2\x80z", 7), 3);
}

static const struct ucase text_cases[] = {
	U("", true),
	U("hello", true),
	U("tab\tinside", true),
	U("quote \" and \\ backslash", true),
	U("\xc2\xa0", true),                    /* U+00A0, first after C1 */
	U("\xd8\x9b", true),                    /* U+061B, just before ALM */
	U("\xd8\x9d", true),                    /* U+061D */
	U("\xe2\x80\x8d", true),                /* U+200D ZWJ, allowed */
	U("\xe2\x80\xa9", true),                /* U+2029, not in the list */
	U("\xe2\x80\xaf", true),                /* U+202F */
	U("\xe2\x81\xa5", true),                /* U+2065 */
	U("\xe2\x81\xaa", true),                /* U+206A */
	U("\xf0\x9f\x91\x8d", true),            /* emoji */
	U("\0", false),
	U("\x01", false),
	U("a\nb", false),
	U("a\rb", false),
	U("\x1b[31m", false),                   /* ESC */
	U("\x1b]52;c;aGk=\x07", false),         /* OSC 52 */
	U("\x1f", false),
	U("\x7f", false),                       /* DEL */
	U("\xc2\x80", false),                   /* U+0080 */
	U("\xc2\x9b", false),                   /* U+009B CSI */
	U("\xc2\x9f", false),                   /* U+009F */
	U("\xd8\x9c", false),                   /* U+061C */
	U("\xe2\x80\x8e", false),               /* U+200E */
	U("\xe2\x80\x8f", false),               /* U+200F */
	U("\xe2\x80\xaa", false),               /* U+202A */
	U("x\xe2\x80\xae", false),              /* U+202E RLO */
	U("\xe2\x81\xa6", false),               /* U+2066 */
	U("\xe2\x81\xa9", false),               /* U+2069 */
	U("ok \xe2\x81\xa7 then", false),       /* U+2067 */
	/* Not UTF-8 at all is not text either. */
	U("\xff", false),
	U("\xc3", false),
	U("\xed\xa0\x80", false),
};

static void
test_text_ok_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(text_cases) / sizeof(text_cases[0]); i++) {
		const struct ucase *c = &text_cases[i];

		if (utf8_text_ok(c->s, c->len) != c->ok)
			fail_msg("case %zu: expected %s", i, c->ok ? "ok" : "refused");
	}
}

/* Every C0 control but TAB is refused; every printable ASCII byte passes. */
static void
test_text_ok_ascii(void **state)
{
	unsigned ch;

	(void)state;
	for (ch = 1; ch < 0x80; ch++) {
		char s[3] = { 'a', (char)ch, 'b' };
		bool want = ch == '\t' || (ch >= 0x20 && ch < 0x7f);

		assert_int_equal(utf8_text_ok(s, 3), want);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_table),
		cmocka_unit_test(test_valid_every_alignment),
		cmocka_unit_test(test_valid_long_ascii),
		cmocka_unit_test(test_valid_exhaustive_short),
		cmocka_unit_test(test_count),
		cmocka_unit_test(test_text_ok_table),
		cmocka_unit_test(test_text_ok_ascii),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
