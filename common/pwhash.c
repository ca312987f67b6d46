/*
 * pwhash: argon2id through libsodium, plus the password policy.
 *
 * The policy follows NIST SP 800-63B: a minimum length in code points
 * (configurable, 15 by default), a maximum of 128 that is refused rather
 * than truncated, and a list of commonly used passwords that are refused
 * whatever their length. The list is a copy of a public wordlist, embedded
 * at build time (common_passwords.h) so no file is needed at run time.
 */
#include "pwhash.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common_passwords.h"
#include "parley_limits.h"
#include "utf8.h"

static int
cmp_entries(const void *a, const void *b)
{
	return strcasecmp(*(const char *const *)a, *(const char *const *)b);
}

int
pwhash_init(void)
{
	static bool sorted;

	/* Once, before any thread looks passwords up. */
	if (!sorted) {
		qsort(common_passwords, COMMON_PASSWORDS_COUNT,
		    sizeof(common_passwords[0]), cmp_entries);
		sorted = true;
	}
	return sodium_init() < 0 ? -1 : 0;
}

int
pwhash_hash(char out[PWHASH_STR_BYTES], const char *pw, size_t len,
    const struct pwhash_params *p)
{
	if (crypto_pwhash_str(out, pw, len, p->ops, p->mem) != 0)
		return -1;
	return 0;
}

int
pwhash_verify(const char *stored, const char *pw, size_t len)
{
	return crypto_pwhash_str_verify(stored, pw, len) == 0 ? 0 : -1;
}

bool
pwhash_needs_rehash(const char *stored, const struct pwhash_params *p)
{
	return crypto_pwhash_str_needs_rehash(stored, p->ops, p->mem) != 0;
}

static int
cmp_ci(const void *key, const void *elem)
{
	return strcasecmp((const char *)key, *(const char *const *)elem);
}

/* The list is sorted case-insensitively by pwhash_init(); compare likewise. */
static bool
is_common(const char *pw, size_t len)
{
	char tmp[PASSWORD_MAX_BYTES + 1];
	bool hit;

	if (len > PASSWORD_MAX_BYTES)
		return false;
	memcpy(tmp, pw, len);
	tmp[len] = '\0';
	hit = bsearch(tmp, common_passwords, COMMON_PASSWORDS_COUNT,
	    sizeof(common_passwords[0]), cmp_ci) != NULL;
	sodium_memzero(tmp, sizeof(tmp));
	return hit;
}

enum pwpolicy
pwhash_policy(const char *pw, size_t len, unsigned min_cp)
{
	size_t cp;

	if (len > PASSWORD_MAX_BYTES)
		return PWPOLICY_TOO_LONG;
	if (!utf8_valid(pw, len) || !utf8_text_ok(pw, len))
		return PWPOLICY_BAD_UTF8;
	cp = utf8_count(pw, len);
	if (cp > PASSWORD_MAX_CODEPOINTS)
		return PWPOLICY_TOO_LONG;
	if (cp < min_cp)
		return PWPOLICY_TOO_SHORT;
	if (is_common(pw, len))
		return PWPOLICY_COMMON;
	return PWPOLICY_OK;
}

const char *
pwhash_policy_str(enum pwpolicy r, unsigned min_cp)
{
	static _Thread_local char short_msg[64];

	switch (r) {
	case PWPOLICY_OK:
		return "password accepted";
	case PWPOLICY_TOO_SHORT:
		snprintf(short_msg, sizeof(short_msg),
		    "password too short: use at least %u characters", min_cp);
		return short_msg;
	case PWPOLICY_TOO_LONG:
		return "password longer than 128 characters";
	case PWPOLICY_BAD_UTF8:
		return "password must be UTF-8 text without control characters";
	case PWPOLICY_COMMON:
		return "password is too common";
	}
	return "password refused";
}
