/*
 * Unit tests for common/pwhash.c.
 *
 * Hashing: a round trip with small argon2id parameters, wrong and
 * truncated passwords refused, fresh salts, and needs_rehash telling equal
 * from different parameters.
 *
 * Policy: a boundary table in code points around the minimum and the
 * maximum of 128, built from multi-byte characters so byte counts and code
 * point counts differ; empty, invalid UTF-8, NUL and control characters;
 * common passwords whatever their case, including every entry of the
 * shipped list; random long passwords accepted; and the messages.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "parley_limits.h"
#include "pwhash.h"
#include "utf8.h"

/* Cheap parameters: argon2id with one pass over 8 MiB. */
static const struct pwhash_params small = { 1, 8u * 1024 * 1024 };

#define E_ACUTE "\xc3\xa9"              /* U+00E9, 2 bytes */
#define EURO    "\xe2\x82\xac"          /* U+20AC, 3 bytes */
#define EMOJI   "\xf0\x9f\x98\x80"      /* U+1F600, 4 bytes */

static int
setup(void **state)
{
	(void)state;
	return pwhash_init();
}

/* n copies of the string unit into out (NUL-terminated); returns the length. */
static size_t
repeat(char *out, size_t cap, const char *unit, size_t n)
{
	size_t ul = strlen(unit), i;

	assert_true(n * ul < cap);
	for (i = 0; i < n; i++)
		memcpy(out + i * ul, unit, ul);
	out[n * ul] = '\0';
	return n * ul;
}

/* ---- hashing ----------------------------------------------------------- */

static void
test_hash_round_trip(void **state)
{
	static const char pw[] = "correct horse battery staple";
	char h1[PWHASH_STR_BYTES], h2[PWHASH_STR_BYTES];

	(void)state;
	assert_int_equal(pwhash_hash(h1, pw, strlen(pw), &small), 0);
	assert_non_null(memchr(h1, '\0', sizeof(h1)));
	assert_true(strncmp(h1, "$argon2id$", 10) == 0);
	assert_non_null(strstr(h1, "m=8192,t=1,"));

	assert_int_equal(pwhash_verify(h1, pw, strlen(pw)), 0);
	/* Wrong, shorter, longer, differently cased. */
	assert_int_equal(pwhash_verify(h1, "correct horse battery stapl", 27), -1);
	assert_int_equal(pwhash_verify(h1, pw, strlen(pw) - 1), -1);
	assert_int_equal(pwhash_verify(h1, "correct horse battery staples", 29),
	    -1);
	assert_int_equal(pwhash_verify(h1, "Correct horse battery staple",
	    strlen(pw)), -1);
	assert_int_equal(pwhash_verify(h1, "", 0), -1);

	/* A new salt each time, and both verify. */
	assert_int_equal(pwhash_hash(h2, pw, strlen(pw), &small), 0);
	assert_string_not_equal(h1, h2);
	assert_int_equal(pwhash_verify(h2, pw, strlen(pw)), 0);

	/* Garbage in place of a stored hash never verifies. */
	assert_int_equal(pwhash_verify("", pw, strlen(pw)), -1);
	assert_int_equal(pwhash_verify("$argon2id$v=19$m=8192,t=1,p=1$x$y",
	    pw, strlen(pw)), -1);
}

/* The length is honoured: bytes past len do not count, and none are cut. */
static void
test_hash_uses_len(void **state)
{
	char pw[PASSWORD_MAX_BYTES + 1], h[PWHASH_STR_BYTES];
	size_t len;

	(void)state;
	len = repeat(pw, sizeof(pw), EMOJI, PASSWORD_MAX_CODEPOINTS);
	assert_int_equal(len, PASSWORD_MAX_BYTES);
	assert_int_equal(pwhash_hash(h, pw, len, &small), 0);
	assert_int_equal(pwhash_verify(h, pw, len), 0);
	/* Only the very last byte differs. */
	pw[len - 1] = '\x81';
	assert_int_equal(pwhash_verify(h, pw, len), -1);
	pw[len - 1] = '\x80';

	/* Hash a prefix of a longer buffer. */
	assert_int_equal(pwhash_hash(h, "secret-and-more", 6, &small), 0);
	assert_int_equal(pwhash_verify(h, "secret", 6), 0);
	assert_int_equal(pwhash_verify(h, "secret-and-more", 15), -1);

	/* Embedded NUL bytes are part of the password. */
	assert_int_equal(pwhash_hash(h, "ab\0cd", 5, &small), 0);
	assert_int_equal(pwhash_verify(h, "ab\0cd", 5), 0);
	assert_int_equal(pwhash_verify(h, "ab\0ce", 5), -1);
	assert_int_equal(pwhash_verify(h, "ab", 2), -1);
}

static void
test_needs_rehash(void **state)
{
	const struct pwhash_params more_ops = { 2, small.mem };
	const struct pwhash_params more_mem = { small.ops, 16u * 1024 * 1024 };
	const struct pwhash_params less_mem = { small.ops, 4u * 1024 * 1024 };
	const struct pwhash_params same = small;
	char h[PWHASH_STR_BYTES];

	(void)state;
	assert_int_equal(pwhash_hash(h, "some password", 13, &small), 0);
	assert_false(pwhash_needs_rehash(h, &small));
	assert_false(pwhash_needs_rehash(h, &same));
	assert_true(pwhash_needs_rehash(h, &more_ops));
	assert_true(pwhash_needs_rehash(h, &more_mem));
	assert_true(pwhash_needs_rehash(h, &less_mem));
	/* Not a hash at all: always rehash. */
	assert_true(pwhash_needs_rehash("", &small));
	assert_true(pwhash_needs_rehash("$2y$10$abcdefghijklmnopqrstuv", &small));
}

/* ---- policy ------------------------------------------------------------ */

struct pcase {
	const char *what;
	const char *unit;       /* repeated count times after prefix */
	size_t count;
	const char *prefix;
	unsigned min;
	enum pwpolicy want;
};

static void
test_policy_boundaries(void **state)
{
	static const struct pcase cases[] = {
		/* Around the default minimum of 15, bytes != code points. */
		{ "14 x e-acute", E_ACUTE, 14, "", 15, PWPOLICY_TOO_SHORT },
		{ "15 x e-acute", E_ACUTE, 15, "", 15, PWPOLICY_OK },
		{ "16 x e-acute", E_ACUTE, 16, "", 15, PWPOLICY_OK },
		{ "14 x emoji", EMOJI, 14, "", 15, PWPOLICY_TOO_SHORT },
		{ "15 x emoji", EMOJI, 15, "", 15, PWPOLICY_OK },
		{ "14 x euro", EURO, 14, "", 15, PWPOLICY_TOO_SHORT },
		{ "15 x euro", EURO, 15, "", 15, PWPOLICY_OK },
		{ "13 ascii + emoji", EMOJI, 1, "gyxwvkzqjmbrt", 15,
		  PWPOLICY_TOO_SHORT },
		{ "14 ascii + emoji", EMOJI, 1, "gyxwvkzqjmbrtp", 15,
		  PWPOLICY_OK },
		{ "14 ascii", "", 0, "gyxwvkzqjmbrtp", 15, PWPOLICY_TOO_SHORT },
		{ "15 ascii", "", 0, "gyxwvkzqjmbrtpf", 15, PWPOLICY_OK },
		/* Other minimums. */
		{ "7 x e-acute, min 8", E_ACUTE, 7, "", 8, PWPOLICY_TOO_SHORT },
		{ "8 x e-acute, min 8", E_ACUTE, 8, "", 8, PWPOLICY_OK },
		{ "127 x euro, min 128", EURO, 127, "", 128,
		  PWPOLICY_TOO_SHORT },
		{ "128 x euro, min 128", EURO, 128, "", 128, PWPOLICY_OK },
		/* Around the maximum of 128 code points. */
		{ "127 ascii", "x", 127, "", 15, PWPOLICY_OK },
		{ "128 ascii", "x", 128, "", 15, PWPOLICY_OK },
		{ "129 ascii", "x", 129, "", 15, PWPOLICY_TOO_LONG },
		{ "128 x e-acute", E_ACUTE, 128, "", 15, PWPOLICY_OK },
		{ "129 x e-acute", E_ACUTE, 129, "", 15, PWPOLICY_TOO_LONG },
		{ "128 x euro", EURO, 128, "", 15, PWPOLICY_OK },
		{ "129 x euro", EURO, 129, "", 15, PWPOLICY_TOO_LONG },
		{ "128 x emoji (512 bytes)", EMOJI, 128, "", 15, PWPOLICY_OK },
		{ "129 x emoji (516 bytes)", EMOJI, 129, "", 15,
		  PWPOLICY_TOO_LONG },
		{ "1 ascii + 127 emoji", EMOJI, 127, "a", 15, PWPOLICY_OK },
		{ "2 ascii + 127 emoji", EMOJI, 127, "ab", 15,
		  PWPOLICY_TOO_LONG },
		{ "1000 ascii", "y", 1000, "", 15, PWPOLICY_TOO_LONG },
		/* Empty. */
		{ "empty, min 15", "", 0, "", 15, PWPOLICY_TOO_SHORT },
		{ "empty, min 8", "", 0, "", 8, PWPOLICY_TOO_SHORT },
	};
	char pw[4200];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct pcase *t = &cases[i];
		size_t pl = strlen(t->prefix), len;
		enum pwpolicy got;

		memcpy(pw, t->prefix, pl);
		len = pl + repeat(pw + pl, sizeof(pw) - pl, t->unit, t->count);
		got = pwhash_policy(pw, len, t->min);
		if (got != t->want)
			fail_msg("%s: got %d, want %d", t->what, (int)got,
			    (int)t->want);
	}
}

static void
test_policy_bad_text(void **state)
{
	static const struct {
		const char *s;
		size_t len;
	} bad[] = {
#define B(str) { str, sizeof(str) - 1 }
		B("abcdefghijklmno\xc0\xaf"),           /* overlong '/' */
		B("\xc0\x80" "abcdefghijklmnop"),       /* overlong NUL */
		B("abcdefghij\xed\xa0\x80klmnop"),      /* surrogate */
		B("abcdefghijklmnop\xf4\x90\x80\x80"),  /* past U+10FFFF */
		B("abcdefghijklmnop\x80"),              /* lone continuation */
		B("abcdefghijklmnop\xe2\x82"),          /* cut short */
		B("abcdefghijklmnop\xff"),
		B("abcdefg\0hijklmnop"),                /* NUL */
		B("abcdefghijklmnop\x1b[31m"),          /* ESC */
		B("abcdefghijklmnop\n"),
		B("abcdefghijklmnop\r"),
		B("\x01" "abcdefghijklmnop"),
		B("abcdefghijklmnop\x7f"),              /* DEL */
		B("abcdefghijklmnop\xc2\x85"),          /* C1 NEL */
		B("abcdefghijklmnop\xc2\x9b"),          /* C1 CSI */
		B("abcdefgh\xe2\x80\xaeijklmnop"),      /* U+202E RLO */
		B("abcdefgh\xe2\x81\xa6ijklmnop"),      /* U+2066 LRI */
#undef B
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		enum pwpolicy got = pwhash_policy(bad[i].s, bad[i].len, 8);

		if (got != PWPOLICY_BAD_UTF8)
			fail_msg("case %zu: got %d, want BAD_UTF8", i, (int)got);
	}
	/* Invalid bytes are refused before the length is counted. */
	assert_int_equal(pwhash_policy("\xff", 1, 15), PWPOLICY_BAD_UTF8);
	assert_int_equal(pwhash_policy("\0", 1, 15), PWPOLICY_BAD_UTF8);
}

static void
test_policy_common(void **state)
{
	static const struct {
		const char *pw;
		unsigned min;
	} common[] = {
		{ "password", 8 },
		{ "Password", 8 },
		{ "PASSWORD", 8 },
		{ "pAsSwOrD", 8 },
		{ "12345678", 8 },
		{ "123456789012345", 15 },
		{ "passwordpassword", 15 },
		{ "PasswordPassword", 15 },
		{ "PASSWORDPASSWORD", 15 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(common) / sizeof(common[0]); i++) {
		const char *pw = common[i].pw;
		enum pwpolicy got = pwhash_policy(pw, strlen(pw), common[i].min);

		if (got != PWPOLICY_COMMON)
			fail_msg("%s: got %d, want COMMON", pw, (int)got);
	}
	/* Too short is reported before common. */
	assert_int_equal(pwhash_policy("password", 8, 15), PWPOLICY_TOO_SHORT);
	/* Near misses are fine. */
	assert_int_equal(pwhash_policy("passwordpassworx", 16, 15), PWPOLICY_OK);
	assert_int_equal(pwhash_policy("passwordpasswor", 15, 15), PWPOLICY_OK);
	assert_int_equal(pwhash_policy("1234567890123456 ", 17, 15),
	    PWPOLICY_OK);
	/* Only the first len bytes are compared. */
	assert_int_equal(pwhash_policy("passwordpassword!", 16, 15),
	    PWPOLICY_COMMON);
}

/*
 * Every entry of common/common-passwords.txt is refused, whatever its case:
 * this catches an entry lost or mangled on its way into the embedded,
 * sorted array, and a sort order that bsearch does not agree with.
 */
static void
test_policy_whole_list(void **state)
{
	char path[4096], line[1024], upper[1024];
	const char *slash = strrchr(__FILE__, '/');
	size_t checked = 0, missed = 0;
	FILE *f;

	(void)state;
	if (slash == NULL)
		skip();
	snprintf(path, sizeof(path), "%.*s/../../common/common-passwords.txt",
	    (int)(slash - __FILE__), __FILE__);
	f = fopen(path, "r");
	if (f == NULL)
		skip();
	while (fgets(line, sizeof(line), f) != NULL) {
		size_t len = strcspn(line, "\r\n"), i;
		enum pwpolicy lo, up;

		line[len] = '\0';
		if (len == 0 || line[0] == '#' ||
		    strspn(line, " ") == len)
			continue;
		if (!utf8_valid(line, len) || !utf8_text_ok(line, len) ||
		    utf8_count(line, len) > PASSWORD_MAX_CODEPOINTS)
			continue;
		for (i = 0; i <= len; i++)
			upper[i] = (line[i] >= 'a' && line[i] <= 'z') ?
			    (char)(line[i] - 'a' + 'A') : line[i];
		lo = pwhash_policy(line, len, 1);
		up = pwhash_policy(upper, len, 1);
		if (lo != PWPOLICY_COMMON || up != PWPOLICY_COMMON) {
			print_error("not refused: \"%s\" (%d, upper %d)\n",
			    line, (int)lo, (int)up);
			missed++;
		}
		checked++;
	}
	fclose(f);
	assert_true(checked > 1000);
	assert_int_equal(missed, 0);
}

/* Random printable passwords of 15..128 characters are accepted. */
static void
test_policy_random_long(void **state)
{
	static const char alphabet[] =
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789 !#$%&()*+,-./:;<=>?@[]^_{|}~";
	char pw[PASSWORD_MAX_BYTES + 1];
	int round;

	(void)state;
	for (round = 0; round < 200; round++) {
		size_t len = 15 + randombytes_uniform(128 - 15 + 1), i;

		for (i = 0; i < len; i++)
			pw[i] = alphabet[randombytes_uniform(
			    sizeof(alphabet) - 1)];
		pw[len] = '\0';
		if (pwhash_policy(pw, len, 15) != PWPOLICY_OK)
			fail_msg("refused: \"%s\"", pw);
	}
	/* A long passphrase with non-ASCII letters and an emoji. */
	{
		static const char phrase[] =
		    "Gr" E_ACUTE "ve " E_ACUTE "t" E_ACUTE " sur la plage, "
		    EURO "12 la glace " EMOJI " et le caf" E_ACUTE;

		assert_int_equal(pwhash_policy(phrase, strlen(phrase), 15),
		    PWPOLICY_OK);
	}
	/* TAB is the one C0 control that message text allows. */
	assert_int_equal(pwhash_policy("gyxwvkzq\tjmbrtpfd", 17, 15),
	    PWPOLICY_OK);
}

static void
test_policy_str(void **state)
{
	static const enum pwpolicy all[] = {
		PWPOLICY_OK, PWPOLICY_TOO_SHORT, PWPOLICY_TOO_LONG,
		PWPOLICY_BAD_UTF8, PWPOLICY_COMMON,
	};
	const char *s;
	size_t i, j;

	(void)state;
	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		s = pwhash_policy_str(all[i], 15);
		assert_non_null(s);
		assert_true(strlen(s) > 0);
		/* One line, plain text: it goes on the wire after ERR. */
		for (j = 0; s[j] != '\0'; j++)
			assert_true(s[j] >= 0x20 && s[j] < 0x7f);
		/* Failures are told apart. */
		for (j = 1; j < i; j++)
			assert_string_not_equal(s,
			    pwhash_policy_str(all[j], 15));
	}
	assert_non_null(strstr(pwhash_policy_str(PWPOLICY_TOO_SHORT, 15),
	    "15"));
	assert_non_null(strstr(pwhash_policy_str(PWPOLICY_TOO_SHORT, 20),
	    "20"));
	assert_non_null(strstr(pwhash_policy_str(PWPOLICY_TOO_SHORT, 128),
	    "128"));
	assert_non_null(strstr(pwhash_policy_str(PWPOLICY_TOO_LONG, 15),
	    "128"));
	/* An out-of-range value still gives a sentence. */
	s = pwhash_policy_str((enum pwpolicy)99, 15);
	assert_non_null(s);
	assert_true(strlen(s) > 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hash_round_trip),
		cmocka_unit_test(test_hash_uses_len),
		cmocka_unit_test(test_needs_rehash),
		cmocka_unit_test(test_policy_boundaries),
		cmocka_unit_test(test_policy_bad_text),
		cmocka_unit_test(test_policy_common),
		cmocka_unit_test(test_policy_whole_list),
		cmocka_unit_test(test_policy_random_long),
		cmocka_unit_test(test_policy_str),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
