/*
 * utf8: strict UTF-8 validation and the message-text rules of SPEC §1.
 *
 * utf8_valid() runs on every protocol line, so it checks eight bytes at a
 * time while the input is plain ASCII and only decodes the rest byte by
 * byte, following the well-formed byte sequences of Unicode table 3-7
 * (which rule out overlong forms, surrogates and values above U+10FFFF by
 * the ranges allowed for the second byte). NUL is refused here as well,
 * because a NUL would cut a line short in any C string built from it.
 *
 * utf8_text_ok() adds the rules for text shown to other users: no control
 * characters and no bidirectional formatting controls. Escaping what is
 * printed is left to the printers (log, client UI).
 */
#include <string.h>

#include "utf8.h"

#define ONES  UINT64_C(0x0101010101010101)
#define HIGHS UINT64_C(0x8080808080808080)

/*
 * True when all eight bytes of v are in 0x01..0x7f. The zero test is the
 * classic (v - 0x01..) & ~v & 0x80.. trick: it is non-zero exactly when some
 * byte is zero (borrows only ever add false bits above a real zero byte).
 */
static inline bool
ascii8_nonul(uint64_t v)
{
	return ((v | ((v - ONES) & ~v)) & HIGHS) == 0;
}

/*
 * Decode one code point at s[*i], len bytes in all. Returns the code point
 * and advances *i, or returns -1 when the bytes there are not a well-formed
 * sequence (including a sequence cut short by the end of input).
 */
static int32_t
decode(const uint8_t *s, size_t len, size_t *i)
{
	size_t k = *i, n, j;
	uint8_t c = s[k], lo = 0x80, hi = 0xbf;
	int32_t cp;

	if (c < 0x80) {
		*i = k + 1;
		return c;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		n = 1;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 2;
		cp = c & 0x0f;
		if (c == 0xe0)
			lo = 0xa0;      /* below is overlong */
		else if (c == 0xed)
			hi = 0x9f;      /* above is a surrogate */
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 3;
		cp = c & 0x07;
		if (c == 0xf0)
			lo = 0x90;      /* below is overlong */
		else if (c == 0xf4)
			hi = 0x8f;      /* above is past U+10FFFF */
	} else {
		return -1;      /* continuation byte, C0, C1, F5..FF */
	}
	if (len - k - 1 < n)
		return -1;
	for (j = 1; j <= n; j++) {
		uint8_t cc = s[k + j];

		if (cc < lo || cc > hi)
			return -1;
		cp = (cp << 6) | (cc & 0x3f);
		lo = 0x80;
		hi = 0xbf;
	}
	*i = k + 1 + n;
	return cp;
}

bool
utf8_valid(const void *p, size_t len)
{
	const uint8_t *s = p;
	size_t i = 0;

	while (i < len) {
		uint64_t v;

		if (len - i >= 8) {
			memcpy(&v, s + i, 8);
			if (ascii8_nonul(v)) {
				i += 8;
				continue;
			}
		}
		if (s[i] == 0)
			return false;
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if (decode(s, len, &i) < 0)
			return false;
	}
	return true;
}

size_t
utf8_count(const void *p, size_t len)
{
	const uint8_t *s = p;
	size_t i, n = 0;

	/* Every code point has exactly one byte that is not 10xxxxxx. */
	for (i = 0; i < len; i++)
		n += (s[i] & 0xc0) != 0x80;
	return n;
}

/* Code points that may not appear in message text. */
static bool
forbidden(int32_t cp)
{
	if (cp < 0x20)
		return cp != '\t';
	if (cp >= 0x7f && cp <= 0x9f)   /* DEL and C1 */
		return true;
	if (cp < 0x061c)
		return false;
	/* Bidirectional formatting controls (Unicode UAX #9). */
	return cp == 0x061c || cp == 0x200e || cp == 0x200f ||
	    (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

bool
utf8_text_ok(const void *p, size_t len)
{
	const uint8_t *s = p;
	size_t i = 0;

	while (i < len) {
		int32_t cp;

		if (s[i] >= 0x20 && s[i] < 0x7f) {
			i++;
			continue;
		}
		/* Also refuses bytes that are not UTF-8, should a caller skip utf8_valid. */
		cp = decode(s, len, &i);
		if (cp < 0 || forbidden(cp))
			return false;
	}
	return true;
}
