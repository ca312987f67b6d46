/*
 * token: resume-token generation and hashing (see token.h).
 */
#include "token.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sodium.h>

static uint8_t key[crypto_generichash_KEYBYTES];

static int
read_all(int fd, uint8_t *p, size_t len)
{
	while (len > 0) {
		ssize_t n = read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int
write_all(int fd, const uint8_t *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
token_init(const char *keyfile, char *err, size_t errlen)
{
	int fd = open(keyfile, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd >= 0) {
		struct stat st;

		if (fstat(fd, &st) != 0 || st.st_size != (off_t)sizeof(key) ||
		    read_all(fd, key, sizeof(key)) != 0) {
			snprintf(err, errlen, "%s: not a %zu-byte key file",
			    keyfile, sizeof(key));
			close(fd);
			return -1;
		}
		close(fd);
		return 0;
	}
	if (errno != ENOENT) {
		snprintf(err, errlen, "%s: %s", keyfile, strerror(errno));
		return -1;
	}
	randombytes_buf(key, sizeof(key));
	/* O_EXCL: if two starts race, one loses and reports it. */
	fd = open(keyfile, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || write_all(fd, key, sizeof(key)) != 0 || fsync(fd) != 0) {
		snprintf(err, errlen, "cannot create %s: %s", keyfile,
		    strerror(errno));
		if (fd >= 0) {
			close(fd);
			unlink(keyfile);
		}
		return -1;
	}
	close(fd);
	return 0;
}

void
token_fini(void)
{
	sodium_memzero(key, sizeof(key));
}

static void
hash_raw(const uint8_t raw[TOKEN_BYTES],
    uint8_t hash[STORE_TOKEN_HASH_BYTES])
{
	crypto_generichash(hash, STORE_TOKEN_HASH_BYTES, raw, TOKEN_BYTES,
	    key, sizeof(key));
}

void
token_new(char text[TOKEN_TEXT_MAX], uint8_t hash[STORE_TOKEN_HASH_BYTES])
{
	uint8_t raw[TOKEN_BYTES];

	randombytes_buf(raw, sizeof(raw));
	sodium_bin2base64(text, TOKEN_TEXT_MAX, raw, sizeof(raw),
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	hash_raw(raw, hash);
	sodium_memzero(raw, sizeof(raw));
}

int
token_hash(const char *text, size_t len, uint8_t hash[STORE_TOKEN_HASH_BYTES])
{
	uint8_t raw[TOKEN_BYTES];
	size_t n = 0;
	const char *end;

	if (len >= TOKEN_TEXT_MAX ||
	    sodium_base642bin(raw, sizeof(raw), text, len, NULL, &n, &end,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    n != sizeof(raw) || end != text + len)
		return -1;
	hash_raw(raw, hash);
	sodium_memzero(raw, sizeof(raw));
	return 0;
}
