/*
 * Unit tests for common/e2e.c: envelopes round-trip between the two ends
 * of a conversation, and anything altered, truncated or meant for another
 * key pair is refused with a reason.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "e2e.h"
#include "utf8.h"

struct keys {
	uint8_t apk[E2E_KEY_BYTES], ask[E2E_KEY_BYTES];
	uint8_t bpk[E2E_KEY_BYTES], bsk[E2E_KEY_BYTES];
	uint8_t cpk[E2E_KEY_BYTES], csk[E2E_KEY_BYTES];
};

static int
setup(void **state)
{
	static struct keys k;

	if (sodium_init() < 0)
		return -1;
	e2e_keypair(k.apk, k.ask);
	e2e_keypair(k.bpk, k.bsk);
	e2e_keypair(k.cpk, k.csk);
	*state = &k;
	return 0;
}

static void
test_round_trip_both_ends(void **state)
{
	struct keys *k = *state;
	const char msg[] = "meet at \"noon\" \xf0\x9f\x98\x80";
	char env[512], out[512];
	size_t n;
	const char *why;
	int len;

	len = e2e_seal(env, sizeof(env), msg, strlen(msg), k->bpk, k->ask);
	assert_true(len > 0);
	assert_int_equal((size_t)len + 1, e2e_sealed_size(strlen(msg)));
	assert_true(e2e_is_envelope(env, (size_t)len));
	/* Plain protocol text: valid UTF-8, no controls, no spaces to split. */
	assert_true(utf8_valid(env, (size_t)len));
	assert_true(utf8_text_ok(env, (size_t)len));
	assert_null(strchr(env, ' '));
	assert_null(strstr(env, msg));

	/* The recipient opens it with the sender's public key... */
	assert_int_equal(e2e_open(out, sizeof(out), &n, env, (size_t)len,
	    k->apk, k->bsk, &why), 0);
	assert_int_equal(n, strlen(msg));
	assert_memory_equal(out, msg, n);
	/* ...and so can the sender, from another device with the same key. */
	assert_int_equal(e2e_open(out, sizeof(out), &n, env, (size_t)len,
	    k->bpk, k->ask, &why), 0);
	assert_memory_equal(out, msg, n);
}

static void
test_refusals(void **state)
{
	struct keys *k = *state;
	char env[256], bad[256], out[256];
	size_t n;
	const char *why;
	int len;

	len = e2e_seal(env, sizeof(env), "hello", 5, k->bpk, k->ask);
	assert_true(len > 0);

	/* A third party's key pair. */
	assert_int_equal(e2e_open(out, sizeof(out), &n, env, (size_t)len,
	    k->apk, k->csk, &why), -1);
	assert_string_equal(why, "forged or not for this key pair");

	/* One changed character of the ciphertext. */
	memcpy(bad, env, (size_t)len + 1);
	bad[len - 4] = bad[len - 4] == 'A' ? 'B' : 'A';
	assert_int_equal(e2e_open(out, sizeof(out), &n, bad, (size_t)len,
	    k->apk, k->bsk, &why), -1);

	/* Truncated below nonce + MAC. */
	assert_int_equal(e2e_open(out, sizeof(out), &n, env, 12, k->apk,
	    k->bsk, &why), -1);
	assert_non_null(why);

	/* Not base64, not an envelope. */
	assert_int_equal(e2e_open(out, sizeof(out), &n, "e2e1:***", 8,
	    k->apk, k->bsk, &why), -1);
	assert_string_equal(why, "not base64");
	assert_false(e2e_is_envelope("hello", 5));
	assert_int_equal(e2e_open(out, sizeof(out), &n, "hello", 5, k->apk,
	    k->bsk, &why), -1);

	/* Output too small for the plaintext. */
	assert_int_equal(e2e_open(out, 4, &n, env, (size_t)len, k->apk,
	    k->bsk, &why), -1);
	assert_string_equal(why, "too long");

	/* Envelope buffer too small. */
	assert_int_equal(e2e_seal(env, e2e_sealed_size(5) - 1, "hello", 5,
	    k->bpk, k->ask), -1);
}

static void
test_nonces_differ(void **state)
{
	struct keys *k = *state;
	char e1[128], e2[128];

	assert_true(e2e_seal(e1, sizeof(e1), "same", 4, k->bpk, k->ask) > 0);
	assert_true(e2e_seal(e2, sizeof(e2), "same", 4, k->bpk, k->ask) > 0);
	assert_string_not_equal(e1, e2);
}

static void
test_fingerprint(void **state)
{
	struct keys *k = *state;
	char f1[E2E_FP_LEN], f2[E2E_FP_LEN], f3[E2E_FP_LEN];

	e2e_fingerprint(k->apk, f1);
	e2e_fingerprint(k->apk, f2);
	e2e_fingerprint(k->bpk, f3);
	assert_string_equal(f1, f2);
	assert_string_not_equal(f1, f3);
	assert_int_equal(strlen(f1), E2E_FP_LEN - 1);
	assert_int_equal(f1[4], ' ');
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_both_ends),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_nonces_differ),
		cmocka_unit_test(test_fingerprint),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
