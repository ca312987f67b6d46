/*
 * Unit tests for common/buf.c: the cap is never passed, failures leave the
 * buffer as it was, space at the front is reused, storage grows by doubling
 * up to the cap and is released when empty.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "buf.h"

static void
assert_contents(const struct buf *b, const char *want)
{
	size_t n = strlen(want);

	assert_int_equal(buf_len(b), n);
	if (n > 0)
		assert_memory_equal(buf_rptr(b), want, n);
}

static void
test_init_allocates_nothing(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 100);
	assert_null(b.data);
	assert_int_equal(b.size, 0);
	assert_int_equal(b.max, 100);
	assert_int_equal(buf_len(&b), 0);
	assert_null(buf_rptr(&b));
	assert_null(buf_wptr(&b));
	assert_int_equal(buf_avail(&b), 0);
	/* Zero bytes always fit, even with nothing allocated. */
	assert_int_equal(buf_reserve(&b, 0), 0);
	assert_int_equal(buf_append(&b, NULL, 0), 0);
	assert_null(b.data);
	buf_free(&b);
	buf_free(&b);           /* twice is harmless */
}

static void
test_append_consume(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 1024);
	assert_int_equal(buf_append(&b, "hello", 5), 0);
	assert_int_equal(buf_append(&b, " world", 6), 0);
	assert_contents(&b, "hello world");
	buf_consume(&b, 6);
	assert_contents(&b, "world");
	assert_int_equal(b.rpos, 6);
	/* Consuming everything resets the positions. */
	buf_consume(&b, 5);
	assert_int_equal(buf_len(&b), 0);
	assert_int_equal(b.rpos, 0);
	assert_int_equal(b.wpos, 0);
	assert_non_null(b.data);        /* storage is kept until shrink */
	buf_consume(&b, 0);
	buf_free(&b);
	assert_null(b.data);
	assert_int_equal(buf_len(&b), 0);
	/* Usable again after free. */
	assert_int_equal(buf_append(&b, "x", 1), 0);
	assert_contents(&b, "x");
	buf_free(&b);
}

/* Boundary table for the cap: empty, one short, exactly max, max + 1. */
static void
test_cap_boundaries(void **state)
{
	static const struct {
		size_t len;
		int rc;
	} cases[] = {
		{ 0, 0 }, { 63, 0 }, { 64, 0 }, { 65, -1 }, { SIZE_MAX, -1 },
	};
	uint8_t src[65];
	size_t i;

	(void)state;
	memset(src, 'a', sizeof(src));
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct buf b;
		size_t n = cases[i].len > sizeof(src) ? 1 : cases[i].len;

		buf_init(&b, 64);
		assert_int_equal(buf_reserve(&b, cases[i].len), cases[i].rc);
		if (cases[i].len <= sizeof(src)) {
			assert_int_equal(buf_append(&b, src, n), cases[i].rc);
			assert_int_equal(buf_len(&b), cases[i].rc == 0 ? n : 0);
		}
		assert_true(b.size <= 64);
		buf_free(&b);
	}
}

static void
test_never_grows_past_max(void **state)
{
	struct buf b;
	size_t i;

	(void)state;
	buf_init(&b, 1000);
	for (i = 0; i < 1000; i++)
		assert_int_equal(buf_append(&b, "z", 1), 0);
	assert_int_equal(buf_len(&b), 1000);
	assert_int_equal(b.size, 1000);
	assert_int_equal(buf_append(&b, "z", 1), -1);
	assert_int_equal(buf_reserve(&b, 1), -1);
	assert_int_equal(buf_len(&b), 1000);
	assert_int_equal(b.size, 1000);
	assert_int_equal(buf_avail(&b), 0);
	buf_free(&b);
}

/* Overflowing len + data must fail, not wrap around and succeed. */
static void
test_overflow(void **state)
{
	struct buf b;
	uint8_t *data;
	size_t size;

	(void)state;
	buf_init(&b, SIZE_MAX);
	assert_int_equal(buf_append(&b, "abc", 3), 0);
	data = b.data;
	size = b.size;
	assert_int_equal(buf_reserve(&b, SIZE_MAX), -1);
	assert_int_equal(buf_reserve(&b, SIZE_MAX - 2), -1);
	assert_ptr_equal(b.data, data);
	assert_int_equal(b.size, size);
	assert_contents(&b, "abc");
	buf_free(&b);
}

static void
test_growth_doubles_capped(void **state)
{
	struct buf b;
	size_t first;

	(void)state;
	buf_init(&b, 5000);
	assert_int_equal(buf_reserve(&b, 1), 0);
	first = b.size;
	assert_true(first >= 1 && first <= 5000);
	assert_int_equal(buf_reserve(&b, first + 1), 0);
	assert_int_equal(b.size, first * 2);
	assert_int_equal(buf_reserve(&b, 4000), 0);
	assert_true(b.size >= 4000 && b.size <= 5000);
	assert_int_equal(buf_reserve(&b, 5000), 0);
	assert_int_equal(b.size, 5000);
	assert_int_equal(buf_reserve(&b, 5001), -1);
	assert_int_equal(b.size, 5000);
	buf_free(&b);

	/* A cap smaller than the first allocation is respected. */
	buf_init(&b, 10);
	assert_int_equal(buf_reserve(&b, 1), 0);
	assert_int_equal(b.size, 10);
	buf_free(&b);

	/* A cap of zero holds nothing. */
	buf_init(&b, 0);
	assert_int_equal(buf_reserve(&b, 1), -1);
	assert_int_equal(buf_append(&b, "a", 1), -1);
	assert_null(b.data);
	buf_free(&b);
}

/* Space freed at the front is reused instead of growing. */
static void
test_compaction(void **state)
{
	struct buf b;
	uint8_t fill[100];

	(void)state;
	memset(fill, 'f', sizeof(fill));
	buf_init(&b, 100);
	assert_int_equal(buf_append(&b, fill, 90), 0);
	assert_int_equal(buf_append(&b, "0123456789", 10), 0);
	assert_int_equal(buf_append(&b, "!", 1), -1);
	buf_consume(&b, 90);
	assert_contents(&b, "0123456789");
	/* Needs the 90 consumed bytes: compacts, stays at the cap. */
	assert_int_equal(buf_append(&b, fill, 90), 0);
	assert_int_equal(b.size, 100);
	assert_int_equal(b.rpos, 0);
	assert_int_equal(buf_len(&b), 100);
	assert_memory_equal(buf_rptr(&b), "0123456789", 10);
	assert_memory_equal(buf_rptr(&b) + 10, fill, 90);
	buf_free(&b);
}

static void
test_wptr_produced(void **state)
{
	struct buf b;
	size_t avail;

	(void)state;
	buf_init(&b, 64);
	assert_int_equal(buf_reserve(&b, 8), 0);
	avail = buf_avail(&b);
	assert_true(avail >= 8 && avail <= 64);
	memcpy(buf_wptr(&b), "abcd", 4);
	buf_produced(&b, 4);
	assert_contents(&b, "abcd");
	assert_int_equal(buf_avail(&b), avail - 4);
	buf_produced(&b, 0);
	assert_contents(&b, "abcd");
	buf_free(&b);
}

static void
test_printf(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 16);
	assert_int_equal(buf_printf(&b, "%s %d", "OK", 42), 0);
	assert_contents(&b, "OK 42");
	assert_int_equal(buf_printf(&b, "%s", ""), 0);
	assert_contents(&b, "OK 42");
	/* 11 more bytes: exactly the cap (no room for a NUL, none needed). */
	assert_int_equal(buf_printf(&b, "%s", "0123456789X"), 0);
	assert_contents(&b, "OK 420123456789X");
	assert_int_equal(b.size, 16);
	/* Full: even one byte more fails, and nothing is appended. */
	assert_int_equal(buf_printf(&b, "%c", 'y'), -1);
	assert_contents(&b, "OK 420123456789X");
	assert_int_equal(buf_printf(&b, "%s", ""), 0);
	buf_free(&b);

	/* max + 1 from empty fails; exactly max succeeds. */
	buf_init(&b, 8);
	assert_int_equal(buf_printf(&b, "%s", "123456789"), -1);
	assert_int_equal(buf_len(&b), 0);
	assert_int_equal(buf_printf(&b, "%s", "12345678"), 0);
	assert_contents(&b, "12345678");
	buf_free(&b);

	/* Text longer than the current storage makes it grow. */
	buf_init(&b, 4096);
	assert_int_equal(buf_printf(&b, "%0*d", 1000, 7), 0);
	assert_int_equal(buf_len(&b), 1000);
	assert_int_equal(buf_rptr(&b)[999], '7');
	assert_int_equal(buf_rptr(&b)[0], '0');
	buf_free(&b);
}

static void
test_shrink(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 64);
	buf_shrink(&b);
	assert_null(b.data);
	assert_int_equal(buf_append(&b, "abc", 3), 0);
	buf_shrink(&b);         /* not empty: kept */
	assert_non_null(b.data);
	assert_contents(&b, "abc");
	buf_consume(&b, 3);
	buf_shrink(&b);
	assert_null(b.data);
	assert_int_equal(b.size, 0);
	assert_int_equal(buf_len(&b), 0);
	assert_int_equal(b.max, 64);
	assert_int_equal(buf_append(&b, "de", 2), 0);
	assert_contents(&b, "de");
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_allocates_nothing),
		cmocka_unit_test(test_append_consume),
		cmocka_unit_test(test_cap_boundaries),
		cmocka_unit_test(test_never_grows_past_max),
		cmocka_unit_test(test_overflow),
		cmocka_unit_test(test_growth_doubles_capped),
		cmocka_unit_test(test_compaction),
		cmocka_unit_test(test_wptr_produced),
		cmocka_unit_test(test_printf),
		cmocka_unit_test(test_shrink),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
