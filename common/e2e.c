/*
 * e2e: envelope encoding and the crypto_box calls behind it (e2e.h).
 */
#include "e2e.h"

#include <string.h>

#define PREFIX_LEN (sizeof(E2E_PREFIX) - 1)
#define NONCE      crypto_box_NONCEBYTES
#define MAC        crypto_box_MACBYTES

void
e2e_keypair(uint8_t pk[E2E_KEY_BYTES], uint8_t sk[E2E_KEY_BYTES])
{
	crypto_box_keypair(pk, sk);
}

size_t
e2e_sealed_size(size_t len)
{
	return PREFIX_LEN + sodium_base64_ENCODED_LEN(NONCE + MAC + len,
	    sodium_base64_VARIANT_ORIGINAL);
}

int
e2e_seal(char *out, size_t cap, const void *msg, size_t len,
    const uint8_t peer_pk[E2E_KEY_BYTES], const uint8_t my_sk[E2E_KEY_BYTES])
{
	size_t blen = NONCE + MAC + len;
	unsigned char *box;
	int r = -1;

	if (len > SIZE_MAX / 2 || cap < e2e_sealed_size(len))
		return -1;
	box = sodium_malloc(blen);
	if (box == NULL)
		return -1;
	randombytes_buf(box, NONCE);
	if (crypto_box_easy(box + NONCE, msg, len, box, peer_pk, my_sk) == 0) {
		memcpy(out, E2E_PREFIX, PREFIX_LEN);
		sodium_bin2base64(out + PREFIX_LEN, cap - PREFIX_LEN, box, blen,
		    sodium_base64_VARIANT_ORIGINAL);
		r = (int)strlen(out);
	}
	sodium_free(box);
	return r;
}

bool
e2e_is_envelope(const char *text, size_t len)
{
	return len >= PREFIX_LEN && memcmp(text, E2E_PREFIX, PREFIX_LEN) == 0;
}

int
e2e_open(void *out, size_t cap, size_t *outlen, const char *env, size_t len,
    const uint8_t peer_pk[E2E_KEY_BYTES], const uint8_t my_sk[E2E_KEY_BYTES],
    const char **why)
{
	unsigned char *box;
	size_t blen = 0;
	const char *end;
	int r = -1;

	*why = "not an envelope";
	if (!e2e_is_envelope(env, len))
		return -1;
	env += PREFIX_LEN;
	len -= PREFIX_LEN;
	box = sodium_malloc(len + 1);
	if (box == NULL) {
		*why = "out of memory";
		return -1;
	}
	if (sodium_base642bin(box, len + 1, env, len, NULL, &blen, &end,
	    sodium_base64_VARIANT_ORIGINAL) != 0 || end != env + len) {
		*why = "not base64";
	} else if (blen < NONCE + MAC) {
		*why = "too short";
	} else if (blen - NONCE - MAC > cap) {
		*why = "too long";
	} else if (crypto_box_open_easy(out, box + NONCE, blen - NONCE, box,
	    peer_pk, my_sk) != 0) {
		*why = "forged or not for this key pair";
	} else {
		*outlen = blen - NONCE - MAC;
		*why = NULL;
		r = 0;
	}
	sodium_free(box);
	return r;
}

void
e2e_fingerprint(const uint8_t pk[E2E_KEY_BYTES], char out[E2E_FP_LEN])
{
	static const char hex[] = "0123456789abcdef";
	uint8_t h[32];
	size_t i, o = 0;

	crypto_generichash(h, sizeof(h), pk, E2E_KEY_BYTES, NULL, 0);
	for (i = 0; i < sizeof(h); i++) {
		out[o++] = hex[h[i] >> 4];
		out[o++] = hex[h[i] & 0xf];
		if (i % 2 == 1)
			out[o++] = i + 1 < sizeof(h) ? ' ' : '\0';
	}
}
