/*
 * names: user and room name rules (SPEC §1).
 *
 * Users: [a-z][a-z0-9_.-]{0,31}. Rooms: '#' then [a-z0-9][a-z0-9_.-]{0,63}.
 * Matching is ASCII case-insensitive and the stored form is lowercase, so
 * "Alice" and "alice" are one user. Only ASCII is accepted: a name never
 * needs quoting, escaping or Unicode normalisation, and cannot imitate
 * another name with look-alike letters. Whether a name exists is for the
 * store to say.
 */
#include "names.h"

/* ASCII only: the C library's tolower() depends on the locale. */
static char
lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool
is_alpha(char c)
{
	c = lower(c);
	return c >= 'a' && c <= 'z';
}

static bool
is_alnum(char c)
{
	return is_alpha(c) || (c >= '0' && c <= '9');
}

static bool
is_tail(char c)
{
	return is_alnum(c) || c == '_' || c == '.' || c == '-';
}

/* s[0] has been checked; the rest must be [a-z0-9_.-] in any case. */
static bool
tail_ok(const char *s, size_t len)
{
	size_t i;

	for (i = 1; i < len; i++)
		if (!is_tail(s[i]))
			return false;
	return true;
}

bool
names_user_valid(const char *s, size_t len)
{
	if (s == NULL || len == 0 || len > NAMES_USER_MAX)
		return false;
	return is_alpha(s[0]) && tail_ok(s, len);
}

bool
names_room_valid(const char *s, size_t len)
{
	if (s == NULL || len < 2 || len > NAMES_ROOM_MAX)
		return false;
	return s[0] == '#' && is_alnum(s[1]) && tail_ok(s + 1, len - 1);
}

/* Copy s[0..len) lowercased and NUL-ended into out. */
static void
copy_lower(char *out, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		out[i] = lower(s[i]);
	out[len] = '\0';
}

int
names_user_norm(const char *s, size_t len, char out[NAMES_USER_MAX + 1])
{
	if (!names_user_valid(s, len)) {
		out[0] = '\0';
		return -1;
	}
	copy_lower(out, s, len);
	return 0;
}

int
names_room_norm(const char *s, size_t len, char out[NAMES_ROOM_MAX + 1])
{
	if (!names_room_valid(s, len)) {
		out[0] = '\0';
		return -1;
	}
	copy_lower(out, s, len);
	return 0;
}
