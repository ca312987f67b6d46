/*
 * e2e: end-to-end encrypted direct messages (docs/E2E.md).
 *
 * An envelope is the text "e2e1:" followed by standard base64 of
 * nonce (24 bytes) || crypto_box_easy(plaintext) — X25519 key agreement,
 * XSalsa20-Poly1305, the sender authenticated by their key. It is plain
 * protocol text, so the server stores and routes it like any message and
 * never sees the plaintext. Either side of the conversation can open it
 * (the shared key is the same from both ends), so the sender's other
 * devices can read what they sent.
 */
#ifndef PARLEY_E2E_H
#define PARLEY_E2E_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sodium.h>

#define E2E_PREFIX      "e2e1:"
#define E2E_KEY_BYTES   crypto_box_PUBLICKEYBYTES       /* 32, both keys */
/* "xxxx xxxx ... xxxx": 16 groups of 4 hex digits, spaces, NUL. */
#define E2E_FP_LEN      (16 * 5)

/* A new key pair. */
void e2e_keypair(uint8_t pk[E2E_KEY_BYTES], uint8_t sk[E2E_KEY_BYTES]);

/* Bytes e2e_seal() writes for a len-byte message, NUL included. */
size_t e2e_sealed_size(size_t len);

/*
 * Encrypt msg[0..len) from the holder of my_sk to peer_pk into out (cap
 * bytes, NUL-terminated envelope). Returns the envelope length, or -1
 * when cap is too small or the peer key is unusable.
 */
int e2e_seal(char *out, size_t cap, const void *msg, size_t len,
    const uint8_t peer_pk[E2E_KEY_BYTES], const uint8_t my_sk[E2E_KEY_BYTES])
	__attribute__((warn_unused_result));

/* True when text[0..len) starts like an envelope. */
bool e2e_is_envelope(const char *text, size_t len);

/*
 * Open an envelope between my_sk and peer_pk into out (cap bytes; the
 * plaintext is never longer than the envelope). Sets *outlen and returns
 * 0, or -1 with a reason ("not base64", "too short", "forged or not for
 * this key pair") in *why.
 */
int e2e_open(void *out, size_t cap, size_t *outlen, const char *env,
    size_t len, const uint8_t peer_pk[E2E_KEY_BYTES],
    const uint8_t my_sk[E2E_KEY_BYTES], const char **why)
	__attribute__((warn_unused_result));

/* A public key's fingerprint for people to compare (BLAKE2b-256, hex). */
void e2e_fingerprint(const uint8_t pk[E2E_KEY_BYTES], char out[E2E_FP_LEN]);

#endif
