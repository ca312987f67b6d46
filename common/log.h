/*
 * log: one line per event on stderr, with a level; no timestamps when
 * running under the journal (JOURNAL_STREAM set), since it adds its own.
 *
 * Never pass a password or message text to these functions. Anything that
 * came from a peer goes through log_escape() first so it cannot forge log
 * lines or reach a terminal as control sequences.
 */
#ifndef PARLEY_LOG_H
#define PARLEY_LOG_H

#include <stddef.h>
#include <stdint.h>

enum log_level {
	LOGL_ERROR,
	LOGL_WARN,
	LOGL_INFO,
	LOGL_DEBUG,
};

/* Set the program name shown on each line and the most verbose level. */
void log_init(const char *prog, enum log_level max_level);
void log_set_level(enum log_level max_level);

void log_msg(enum log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOGL_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOGL_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOGL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOGL_DEBUG, __VA_ARGS__)

/*
 * For events that come in floods (refused connections, throttled logins):
 * one line a second per struct log_limit, the next one saying how many
 * were left out. A zeroed struct is ready to use.
 */
struct log_limit {
	int64_t last_ms;
	unsigned skipped;
};

void log_limited(struct log_limit *lim, enum log_level lvl,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Log at error level and exit(1). For start-up and broken invariants only. */
void fatal(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));

/*
 * Copy s[0..len) into out (cap >= 1 bytes, always NUL-terminated) with
 * every byte outside printable ASCII, and the backslash, written as \xNN;
 * truncated with "..." when it does not fit. Returns out.
 */
char *log_escape(char *out, size_t cap, const char *s, size_t len);

#endif
