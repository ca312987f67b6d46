/*
 * Unit tests for common/clock.c: RFC 3339 text for known instants (epoch,
 * before the epoch, leap day, past 2038, millisecond edges), clamping of
 * out-of-range values, and clock_now_ms against time(2).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "clock.h"

static void
test_rfc3339_table(void **state)
{
	static const struct {
		int64_t ms;
		const char *want;
	} cases[] = {
		{ 0, "1970-01-01T00:00:00.000Z" },
		{ 1, "1970-01-01T00:00:00.001Z" },
		{ 999, "1970-01-01T00:00:00.999Z" },
		{ 1000, "1970-01-01T00:00:01.000Z" },
		{ -1, "1969-12-31T23:59:59.999Z" },
		{ -1000, "1969-12-31T23:59:59.000Z" },
		{ -1001, "1969-12-31T23:59:58.999Z" },
		{ INT64_C(1795618422123), "2026-11-25T14:53:42.123Z" },
		{ INT64_C(1709251199999), "2024-02-29T23:59:59.999Z" },
		{ INT64_C(951868800001), "2000-03-01T00:00:00.001Z" },
		{ INT64_C(2147483648000), "2038-01-19T03:14:08.000Z" },
		/* The ends of four-digit years, and clamping beyond them. */
		{ INT64_C(253402300799999), "9999-12-31T23:59:59.999Z" },
		{ INT64_C(253402300800000), "9999-12-31T23:59:59.999Z" },
		{ INT64_MAX, "9999-12-31T23:59:59.999Z" },
		{ INT64_C(-62167219200000), "0000-01-01T00:00:00.000Z" },
		{ INT64_C(-62167219200001), "0000-01-01T00:00:00.000Z" },
		{ INT64_MIN, "0000-01-01T00:00:00.000Z" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char out[CLOCK_RFC3339_LEN];

		memset(out, 'X', sizeof(out));
		assert_ptr_equal(clock_rfc3339(cases[i].ms, out), out);
		assert_string_equal(out, cases[i].want);
		assert_int_equal(strlen(out), CLOCK_RFC3339_LEN - 1);
	}
}

static void
test_now(void **state)
{
	time_t before, after;
	int64_t now, again;
	char out[CLOCK_RFC3339_LEN];

	(void)state;
	before = time(NULL);
	now = clock_now_ms();
	after = time(NULL);
	assert_true(now >= (int64_t)before * 1000);
	assert_true(now < ((int64_t)after + 1) * 1000);
	again = clock_now_ms();
	assert_true(again >= now - 1000);       /* wall clock; allow a small step */
	clock_rfc3339(now, out);
	assert_int_equal(strlen(out), CLOCK_RFC3339_LEN - 1);
	assert_int_equal(out[4], '-');
	assert_int_equal(out[10], 'T');
	assert_int_equal(out[19], '.');
	assert_int_equal(out[23], 'Z');
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc3339_table),
		cmocka_unit_test(test_now),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
