/*
 * token: the resume token file (token.h).
 *
 *   # parley resume token: a password for this account; keep it secret
 *   account alice@chat.example.org:7667
 *   token 3q2-7wEAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
 *   issued 2026-11-25T14:53:42.000Z
 *   expires 2026-12-25T14:53:42.123Z
 *
 * The file is read whole into a stack buffer that is wiped afterwards,
 * like every other copy of the token.
 */
#include "token.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "clock.h"
#include "files.h"
#include "line.h"
#include "proto.h"
#include "session.h"

#define TOKEN_DIR      "tokens"
#define TOKEN_FILE_MAX 1024

void
token_wipe(struct token *t)
{
	sodium_memzero(t, sizeof(*t));
}

/* A token must be a bare word of base64url characters. */
static bool
token_text_ok(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > TOKEN_TEXT_MAX)
		return false;
	for (i = 0; i < len; i++) {
		char ch = s[i];

		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		    (ch >= '0' && ch <= '9') || ch == '-' || ch == '_'))
			return false;
	}
	return true;
}

/* Digits s[0..n) as a number. Returns 0, or -1 when not all digits. */
static int
digits(const char *s, size_t n, int *out)
{
	size_t i;
	int v = 0;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

int
token_parse_time(const char *s, size_t len, int64_t *out)
{
	struct tm tm;
	int y, mo, d, h, mi, sec;
	size_t i;
	time_t t;

	/* "YYYY-MM-DDTHH:MM:SS" then an optional fraction, then 'Z'. */
	if (len < 20 || s[4] != '-' || s[7] != '-' ||
	    (s[10] != 'T' && s[10] != 't') || s[13] != ':' || s[16] != ':' ||
	    (s[len - 1] != 'Z' && s[len - 1] != 'z'))
		return -1;
	if (digits(s, 4, &y) || digits(s + 5, 2, &mo) ||
	    digits(s + 8, 2, &d) || digits(s + 11, 2, &h) ||
	    digits(s + 14, 2, &mi) || digits(s + 17, 2, &sec))
		return -1;
	if (len > 20) {
		if (s[19] != '.' || len < 22)
			return -1;
		for (i = 20; i < len - 1; i++)
			if (s[i] < '0' || s[i] > '9')
				return -1;
	}
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 ||
	    mi > 59 || sec > 60)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = timegm(&tm);
	if (t == (time_t)-1)
		return -1;
	*out = (int64_t)t;
	return 0;
}

bool
token_stale(const struct token *t, int64_t now)
{
	int64_t life = t->expires - t->issued;

	if (life <= 0)
		return true;
	return now >= t->issued + life / 2;
}

int
token_parse_ok(const char *line, size_t len, int64_t now, struct token *t)
{
	struct line_cursor c;
	char kw[8], when[48];
	size_t n;
	int r = -1;

	memset(t, 0, sizeof(*t));
	if (!proto_keyword_is(line, len, "OK"))
		return -1;
	line_cursor_init(&c, line, len);
	if (line_token(&c, kw, sizeof(kw), &n) != 1 ||
	    line_token(&c, kw, sizeof(kw), &n) != 1 ||
	    strcmp(kw, "TOKEN") != 0)
		return -1;
	if (line_token(&c, t->text, sizeof(t->text), &n) == 1 &&
	    token_text_ok(t->text, n) &&
	    line_token(&c, when, sizeof(when), &n) == 1 &&
	    token_parse_time(when, n, &t->expires) == 0 &&
	    t->expires > now) {
		t->issued = now;
		r = 0;
	}
	if (r != 0)
		token_wipe(t);
	return r;
}

static int
token_path(const char *account, bool create, char *out, size_t cap)
{
	return files_path(TOKEN_DIR, account, create, out, cap);
}

/* Parse the file's lines into *t. Returns 0 or -1. */
static int
parse_file(const char *buf, size_t len, struct token *t)
{
	const char *p = buf, *end = buf + len, *nl, *v;
	size_t ll, vl;
	bool have_tok = false, have_iss = false, have_exp = false;

	memset(t, 0, sizeof(*t));
	for (; p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;
		ll = (size_t)(nl - p);
		if (ll == 0 || p[0] == '#')
			continue;
		v = memchr(p, ' ', ll);
		if (v == NULL)
			continue;
		vl = ll - (size_t)(v + 1 - p);
		if ((size_t)(v - p) == 5 && memcmp(p, "token", 5) == 0) {
			if (!token_text_ok(v + 1, vl))
				return -1;
			memcpy(t->text, v + 1, vl);
			t->text[vl] = '\0';
			have_tok = true;
		} else if ((size_t)(v - p) == 6 &&
		    memcmp(p, "issued", 6) == 0) {
			have_iss = token_parse_time(v + 1, vl,
			    &t->issued) == 0;
		} else if ((size_t)(v - p) == 7 &&
		    memcmp(p, "expires", 7) == 0) {
			have_exp = token_parse_time(v + 1, vl,
			    &t->expires) == 0;
		}
		if (nl == end)
			break;
	}
	return have_tok && have_iss && have_exp ? 0 : -1;
}

int
token_load(const char *account, struct token *t)
{
	char path[FILES_PATH_MAX], buf[TOKEN_FILE_MAX];
	long n;
	int r;

	memset(t, 0, sizeof(*t));
	if (token_path(account, false, path, sizeof(path)) != 0)
		return -1;
	n = files_read(path, buf, sizeof(buf));
	if (n == -2)
		return 1;
	if (n < 0) {
		sodium_memzero(buf, sizeof(buf));
		return -1;
	}
	r = parse_file(buf, (size_t)n, t);
	sodium_memzero(buf, sizeof(buf));
	if (r != 0 || t->expires <= (int64_t)time(NULL)) {
		/* Useless now: out of the way, so it is not tried again. */
		token_wipe(t);
		(void)files_remove(path);
		return 1;
	}
	return 0;
}

int
token_save(const char *account, const struct token *t)
{
	char path[FILES_PATH_MAX], buf[TOKEN_FILE_MAX];
	char iss[CLOCK_RFC3339_LEN], exp[CLOCK_RFC3339_LEN];
	int n, r;

	if (token_path(account, true, path, sizeof(path)) != 0)
		return -1;
	clock_rfc3339(t->issued * 1000, iss);
	clock_rfc3339(t->expires * 1000, exp);
	n = snprintf(buf, sizeof(buf),
	    "# parley resume token: a password for this account; keep it "
	    "secret\naccount %s\ntoken %s\nissued %s\nexpires %s\n",
	    account, t->text, iss, exp);
	if (n < 0 || (size_t)n >= sizeof(buf)) {
		sodium_memzero(buf, sizeof(buf));
		session_errorf("cannot store the resume token: too long");
		return -1;
	}
	r = files_write(path, buf, (size_t)n);
	sodium_memzero(buf, sizeof(buf));
	return r;
}

int
token_remove(const char *account)
{
	char path[FILES_PATH_MAX];

	if (token_path(account, false, path, sizeof(path)) != 0)
		return -1;
	return files_remove(path);
}
