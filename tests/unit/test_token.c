/*
 * Unit tests for server/token.c: resume tokens are random, their hash is
 * keyed by the server's key file, and malformed tokens never hash.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "token.h"

static char dir[] = "/tmp/parley-test-token-XXXXXX";
static char keyfile[sizeof(dir) + 16];

static int
setup(void **state)
{
	(void)state;
	if (sodium_init() < 0 || mkdtemp(dir) == NULL)
		return -1;
	snprintf(keyfile, sizeof(keyfile), "%s/token.key", dir);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	unlink(keyfile);
	rmdir(dir);
	return 0;
}

static void
test_key_file_created_private_and_reused(void **state)
{
	uint8_t h1[STORE_TOKEN_HASH_BYTES], h2[STORE_TOKEN_HASH_BYTES];
	char text[TOKEN_TEXT_MAX], err[256];
	struct stat st;

	(void)state;
	assert_int_equal(token_init(keyfile, err, sizeof(err)), 0);
	assert_int_equal(stat(keyfile, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(st.st_size, 32);

	token_new(text, h1);
	token_fini();
	/* A restart loads the same key: old tokens still verify. */
	assert_int_equal(token_init(keyfile, err, sizeof(err)), 0);
	assert_int_equal(token_hash(text, strlen(text), h2), 0);
	assert_memory_equal(h1, h2, sizeof(h1));
}

static void
test_tokens_random_urlsafe(void **state)
{
	uint8_t h1[STORE_TOKEN_HASH_BYTES], h2[STORE_TOKEN_HASH_BYTES];
	char t1[TOKEN_TEXT_MAX], t2[TOKEN_TEXT_MAX], err[256];
	size_t i;

	(void)state;
	assert_int_equal(token_init(keyfile, err, sizeof(err)), 0);
	token_new(t1, h1);
	token_new(t2, h2);
	/* 32 bytes, base64url without padding: 43 characters. */
	assert_int_equal(strlen(t1), 43);
	for (i = 0; i < strlen(t1); i++)
		assert_non_null(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "abcdefghijklmnopqrstuvwxyz0123456789-_", t1[i]));
	assert_string_not_equal(t1, t2);
	assert_memory_not_equal(h1, h2, sizeof(h1));
	/* The stored hash is not the token itself. */
	assert_null(memmem(h1, sizeof(h1), t1, 8));
}

static void
test_malformed_tokens_refused(void **state)
{
	uint8_t h[STORE_TOKEN_HASH_BYTES], good[STORE_TOKEN_HASH_BYTES];
	char t[TOKEN_TEXT_MAX], bad[TOKEN_TEXT_MAX * 2], err[256];

	(void)state;
	assert_int_equal(token_init(keyfile, err, sizeof(err)), 0);
	token_new(t, good);
	assert_int_equal(token_hash(t, strlen(t) - 1, h), -1);  /* short */
	snprintf(bad, sizeof(bad), "%sAA", t);
	assert_int_equal(token_hash(bad, strlen(bad), h), -1);  /* long */
	snprintf(bad, sizeof(bad), "%s", t);
	bad[5] = '+';                                    /* not base64url */
	assert_int_equal(token_hash(bad, strlen(bad), h), -1);
	assert_int_equal(token_hash("", 0, h), -1);
	/* One changed character: a different, valid-looking token. */
	snprintf(bad, sizeof(bad), "%s", t);
	bad[0] = bad[0] == 'A' ? 'B' : 'A';
	if (token_hash(bad, strlen(bad), h) == 0)
		assert_memory_not_equal(h, good, sizeof(h));
}

static void
test_other_key_other_hash(void **state)
{
	uint8_t h1[STORE_TOKEN_HASH_BYTES], h2[STORE_TOKEN_HASH_BYTES];
	char t[TOKEN_TEXT_MAX], err[256];

	(void)state;
	assert_int_equal(token_init(keyfile, err, sizeof(err)), 0);
	token_new(t, h1);
	token_fini();
	unlink(keyfile);
	/* A new key file: the database's hashes no longer match. */
	assert_int_equal(token_init(keyfile, err, sizeof(err)), 0);
	assert_int_equal(token_hash(t, strlen(t), h2), 0);
	assert_memory_not_equal(h1, h2, sizeof(h1));
}

static void
test_bad_key_file(void **state)
{
	char err[256];
	FILE *f;

	(void)state;
	unlink(keyfile);
	f = fopen(keyfile, "w");
	assert_non_null(f);
	fputs("short", f);
	fclose(f);
	assert_int_equal(token_init(keyfile, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "key file"));
	unlink(keyfile);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_file_created_private_and_reused),
		cmocka_unit_test(test_tokens_random_urlsafe),
		cmocka_unit_test(test_malformed_tokens_refused),
		cmocka_unit_test(test_other_key_other_hash),
		cmocka_unit_test(test_bad_key_file),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
