/*
 * Unit tests for common/names.c: boundary tables for user and room names
 * (empty, one short of the limit, exactly the limit, one past it), the
 * allowed characters in each position, and lowercase normalisation.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "names.h"

struct ncase {
	const char *s;
	bool ok;
	const char *norm;       /* expected output when ok */
};

static const struct ncase user_cases[] = {
	{ "", false, NULL },
	{ "a", true, "a" },
	{ "alice", true, "alice" },
	{ "Alice", true, "alice" },
	{ "ALICE.B-C_9", true, "alice.b-c_9" },
	{ "z9", true, "z9" },
	{ "a.", true, "a." },
	{ "a-", true, "a-" },
	{ "a_", true, "a_" },
	{ "9lives", false, NULL },
	{ "_a", false, NULL },
	{ ".a", false, NULL },
	{ "-a", false, NULL },
	{ "#a", false, NULL },
	{ "al ice", false, NULL },
	{ "al@ice", false, NULL },
	{ "al/ice", false, NULL },
	{ "al\"ice", false, NULL },
	{ "al\tice", false, NULL },
	{ "caf\xc3\xa9", false, NULL },
	{ "\xc3\xa9", false, NULL },
	/* 31, 32 and 33 characters. */
	{ "abcdefghijklmnopqrstuvwxyz01234", true,
	  "abcdefghijklmnopqrstuvwxyz01234" },
	{ "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345", true,
	  "abcdefghijklmnopqrstuvwxyz012345" },
	{ "abcdefghijklmnopqrstuvwxyz0123456", false, NULL },
};

static const struct ncase room_cases[] = {
	{ "", false, NULL },
	{ "#", false, NULL },
	{ "#a", true, "#a" },
	{ "#0", true, "#0" },
	{ "#General", true, "#general" },
	{ "#dev.ops-2_x", true, "#dev.ops-2_x" },
	{ "general", false, NULL },
	{ "##a", false, NULL },
	{ "#_a", false, NULL },
	{ "#.a", false, NULL },
	{ "#-a", false, NULL },
	{ "#a b", false, NULL },
	{ "#a#b", false, NULL },
	{ "#a,b", false, NULL },
	{ "#caf\xc3\xa9", false, NULL },
	/* '#' plus 63, 64 and 65 characters. */
	{ "#abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0", true,
	  "#abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0" },
	{ "#ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefghijklmnopqrstuvwxyz01", true,
	  "#abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz01" },
	{ "#abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz012",
	  false, NULL },
};

static void
test_user_table(void **state)
{
	char out[NAMES_USER_MAX + 1];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(user_cases) / sizeof(user_cases[0]); i++) {
		const struct ncase *c = &user_cases[i];
		size_t len = strlen(c->s);

		memset(out, 'X', sizeof(out));
		if (names_user_valid(c->s, len) != c->ok)
			fail_msg("user case %zu (%s): valid", i, c->s);
		if (names_user_norm(c->s, len, out) != (c->ok ? 0 : -1))
			fail_msg("user case %zu (%s): norm", i, c->s);
		assert_string_equal(out, c->ok ? c->norm : "");
		/* A user name is never also a room name. */
		if (c->ok)
			assert_false(names_room_valid(c->s, len));
	}
}

static void
test_room_table(void **state)
{
	char out[NAMES_ROOM_MAX + 1];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(room_cases) / sizeof(room_cases[0]); i++) {
		const struct ncase *c = &room_cases[i];
		size_t len = strlen(c->s);

		memset(out, 'X', sizeof(out));
		if (names_room_valid(c->s, len) != c->ok)
			fail_msg("room case %zu (%s): valid", i, c->s);
		if (names_room_norm(c->s, len, out) != (c->ok ? 0 : -1))
			fail_msg("room case %zu (%s): norm", i, c->s);
		assert_string_equal(out, c->ok ? c->norm : "");
		if (c->ok)
			assert_false(names_user_valid(c->s, len));
	}
}

/* Only len bytes count: a valid prefix of a longer string is checked alone. */
static void
test_length_bounds_input(void **state)
{
	char out[NAMES_ROOM_MAX + 1];

	(void)state;
	assert_true(names_user_valid("bob smith", 3));
	assert_int_equal(names_user_norm("BOB smith", 3, out), 0);
	assert_string_equal(out, "bob");
	assert_true(names_room_valid("#dev ops", 4));
	assert_int_equal(names_room_norm("#DEV ops", 4, out), 0);
	assert_string_equal(out, "#dev");
	/* An embedded NUL is not a name character. */
	assert_false(names_user_valid("ab\0c", 4));
	assert_false(names_room_valid("#ab\0c", 5));
	assert_false(names_user_valid(NULL, 0));
	assert_false(names_room_valid(NULL, 0));
}

/* Every byte value as the first and as a later character. */
static void
test_every_byte(void **state)
{
	unsigned ch;

	(void)state;
	for (ch = 0; ch < 256; ch++) {
		char c = (char)ch;
		char u1[2] = { c, 'a' }, u2[2] = { 'a', c };
		char r1[3] = { '#', c, 'a' }, r2[3] = { '#', 'a', c };
		bool letter = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
		bool alnum = letter || (ch >= '0' && ch <= '9');
		bool tail = alnum || ch == '_' || ch == '.' || ch == '-';

		assert_int_equal(names_user_valid(u1, 2), letter);
		assert_int_equal(names_user_valid(u2, 2), tail);
		assert_int_equal(names_room_valid(r1, 3), alnum);
		assert_int_equal(names_room_valid(r2, 3), tail);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_user_table),
		cmocka_unit_test(test_room_table),
		cmocka_unit_test(test_length_bounds_input),
		cmocka_unit_test(test_every_byte),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
