/*
 * display: escape network text for the terminal and show times locally.
 *
 * A terminal acts on ESC sequences (colours, title, OSC 52 clipboard
 * writes), on C1 controls and on bidi overrides that reorder what the eye
 * sees, so none of them may be printed raw. The decoder below is strict:
 * an overlong form, a surrogate or a stray continuation byte is printed as
 * \xNN byte by byte rather than passed to the terminal to interpret.
 */
#include "display.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static bool colour_on;

/*
 * Decode one code point from s[0..len). Returns its length in bytes (1–4)
 * and sets *cp, or 0 when the sequence there is not valid UTF-8.
 */
static size_t
decode(const unsigned char *s, size_t len, uint32_t *cp)
{
	uint32_t c = s[0], min;
	size_t n, i;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		c &= 0x1f;
		min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		c &= 0x0f;
		min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		c &= 0x07;
		min = 0x10000;
	} else {
		return 0;
	}
	if (len < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

/* Code points that must not reach a terminal as they are. */
static bool
unsafe(uint32_t cp)
{
	if (cp < 0x20)
		return cp != '\t';
	if (cp == 0x7f)
		return true;
	if (cp >= 0x80 && cp <= 0x9f)
		return true;
	/* Bidirectional formatting controls (Trojan Source). */
	if (cp == 0x061c || cp == 0x200e || cp == 0x200f)
		return true;
	if (cp >= 0x202a && cp <= 0x202e)
		return true;
	if (cp >= 0x2066 && cp <= 0x2069)
		return true;
	return false;
}

void
display_put(FILE *f, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, start = 0, n;
	uint32_t cp;

	while (i < len) {
		n = decode(p + i, len - i, &cp);
		if (n != 0 && !unsafe(cp)) {
			i += n;
			continue;
		}
		/* Flush the safe run, then the escape. */
		if (i > start)
			fwrite(p + start, 1, i - start, f);
		if (n == 0) {
			fprintf(f, "\\x%02x", p[i]);
			i++;
		} else if (cp < 0x80) {
			fprintf(f, "\\x%02x", (unsigned)cp);
			i += n;
		} else {
			fprintf(f, "\\u{%04x}", (unsigned)cp);
			i += n;
		}
		start = i;
	}
	if (i > start)
		fwrite(p + start, 1, i - start, f);
}

void
display_puts(FILE *f, const char *s)
{
	display_put(f, s, strlen(s));
}

size_t
display_escape(char *out, size_t cap, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	char esc[16];
	size_t i = 0, o = 0, n, elen;
	uint32_t cp;

	while (i < len) {
		n = decode(p + i, len - i, &cp);
		if (n != 0 && !unsafe(cp)) {
			if (o + n >= cap)
				break;
			memcpy(out + o, p + i, n);
			o += n;
			i += n;
			continue;
		}
		if (n == 0 || cp < 0x80)
			elen = (size_t)snprintf(esc, sizeof(esc), "\\x%02x",
			    n == 0 ? p[i] : (unsigned)cp);
		else
			elen = (size_t)snprintf(esc, sizeof(esc), "\\u{%04x}",
			    (unsigned)cp);
		if (o + elen >= cap)
			break;
		memcpy(out + o, esc, elen);
		o += elen;
		i += n == 0 ? 1 : n;
	}
	out[o] = '\0';
	return o;
}

/* ---- colour --------------------------------------------------------- */

bool
display_colour_init(void)
{
	const char *no = getenv("NO_COLOR"), *term = getenv("TERM");

	colour_on = isatty(STDOUT_FILENO) && (no == NULL || no[0] == '\0') &&
	    !(term != NULL && strcmp(term, "dumb") == 0);
	return colour_on;
}

bool
display_colour(void)
{
	return colour_on;
}

void
display_style(FILE *f, enum display_style st)
{
	static const char *const sgr[] = {
		[DISPLAY_S_PLAIN] = "0",
		[DISPLAY_S_META] = "2",
		[DISPLAY_S_ROOM] = "36",
		[DISPLAY_S_SELF] = "1",
		[DISPLAY_S_NOTICE] = "33",
		[DISPLAY_S_ERROR] = "31",
	};

	if (colour_on)
		fprintf(f, "\033[%sm", sgr[st]);
}

void
display_user_style(FILE *f, const char *name)
{
	/* Bold red is kept for errors, cyan for rooms. */
	static const char *const sgr[] = {
		"1;32", "1;33", "1;34", "1;35", "32", "34", "35", "33",
	};
	uint32_t h = 2166136261u;       /* FNV-1a */

	if (!colour_on)
		return;
	for (; *name != '\0'; name++)
		h = (h ^ (unsigned char)*name) * 16777619u;
	fprintf(f, "\033[%sm", sgr[h % (sizeof(sgr) / sizeof(sgr[0]))]);
}

char *
display_local_time(const char *rfc3339, bool with_date, char *out,
    size_t cap)
{
	struct tm tm;
	time_t t;
	int n = 0;
	size_t i;

	if (cap == 0)
		return out;
	memset(&tm, 0, sizeof(tm));
	if (sscanf(rfc3339, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year,
	    &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec,
	    &n) == 6 && n > 0) {
		tm.tm_year -= 1900;
		tm.tm_mon -= 1;
		t = timegm(&tm);
		if (t != (time_t)-1 && localtime_r(&t, &tm) != NULL &&
		    strftime(out, cap, with_date ? "%Y-%m-%d %H:%M" : "%H:%M",
		    &tm) > 0)
			return out;
	}
	/* Unparsable: show it, but only its printable ASCII. */
	for (i = 0; i + 1 < cap && rfc3339[i] != '\0'; i++) {
		unsigned char ch = (unsigned char)rfc3339[i];

		out[i] = (ch >= 0x20 && ch < 0x7f) ? (char)ch : '?';
	}
	out[i] = '\0';
	return out;
}
