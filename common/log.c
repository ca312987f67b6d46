/*
 * log: line-oriented logging to stderr.
 *
 * Each call writes exactly one line with a single write(2), so lines from
 * the event loop, the storage thread and hash workers never interleave.
 * Under systemd (JOURNAL_STREAM set) lines carry a syslog priority prefix
 * instead of a timestamp; journald adds the time and keeps the level.
 */
#include "log.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"

static const char *log_prog = "parley";
static enum log_level log_max = LOGL_INFO;
static bool log_journal;

static const char *const level_names[] = { "error", "warn", "info", "debug" };
static const int level_syslog[] = { 3, 4, 6, 7 };

void
log_init(const char *prog, enum log_level max_level)
{
	log_prog = prog;
	log_max = max_level;
	log_journal = getenv("JOURNAL_STREAM") != NULL;
}

void
log_set_level(enum log_level max_level)
{
	log_max = max_level;
}

static void
log_vmsg(enum log_level lvl, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

static void
log_vmsg(enum log_level lvl, const char *fmt, va_list ap)
{
	char line[2048];
	size_t n = 0;
	int r;

	if (lvl > log_max)
		return;
	if (log_journal) {
		r = snprintf(line, sizeof(line), "<%d>%s: ", level_syslog[lvl],
		    level_names[lvl]);
	} else {
		char ts[CLOCK_RFC3339_LEN];

		r = snprintf(line, sizeof(line), "%s %s[%ld] %s: ",
		    clock_rfc3339(clock_now_ms(), ts), log_prog,
		    (long)getpid(), level_names[lvl]);
	}
	if (r > 0)
		n = (size_t)r < sizeof(line) ? (size_t)r : sizeof(line) - 1;
	r = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	if (r > 0)
		n += (size_t)r < sizeof(line) - n ? (size_t)r : sizeof(line) - n - 1;
	/* Room for the newline: overwrite the last byte if the line was cut. */
	if (n >= sizeof(line) - 1)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	/* A failed log write has nowhere to be reported. */
	if (write(STDERR_FILENO, line, n) < 0)
		return;
}

void
log_msg(enum log_level lvl, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(lvl, fmt, ap);
	va_end(ap);
}

void
log_limited(struct log_limit *lim, enum log_level lvl, const char *fmt, ...)
{
	int64_t now = clock_now_ms();
	char line[512];
	va_list ap;

	if (lim->last_ms != 0 && now - lim->last_ms >= 0 &&
	    now - lim->last_ms < 1000) {
		lim->skipped++;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (lim->skipped > 0)
		log_msg(lvl, "%s (and %u more in the last second)", line,
		    lim->skipped);
	else
		log_msg(lvl, "%s", line);
	lim->last_ms = now;
	lim->skipped = 0;
}

void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOGL_ERROR, fmt, ap);
	va_end(ap);
	exit(1);
}

/* Bytes the escaped form of ch takes. */
static size_t
escaped_len(unsigned char ch)
{
	return (ch >= 0x20 && ch < 0x7f && ch != '\\') ? 1 : 4;
}

char *
log_escape(char *out, size_t cap, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0, i, need = 0, room;

	if (cap == 0)
		return out;
	for (i = 0; i < len && need < cap; i++)
		need += escaped_len((unsigned char)s[i]);
	/* Cut only what does not fit, and then say so with "...". */
	room = (need < cap) ? cap - 1 : (cap >= 4 ? cap - 4 : 0);
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (o + escaped_len(ch) > room)
			break;
		if (escaped_len(ch) == 1) {
			out[o++] = (char)ch;
		} else {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[ch >> 4];
			out[o++] = hex[ch & 0xf];
		}
	}
	if (i < len && cap >= 4) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
	return out;
}
