/*
 * display: put text from the network on a terminal safely, in colour when
 * that is wanted.
 *
 * The server refuses control characters in message text, but the client
 * does not rely on that: every byte string that came from the network goes
 * through display_put() or display_escape(), which escape C0 controls
 * (except TAB), DEL, C1 controls, bidirectional formatting controls and
 * invalid UTF-8. Colour is decided once per process by display_colour_init()
 * and is off unless standard output is a terminal. Nothing here allocates.
 */
#ifndef PARLEY_CLIENT_DISPLAY_H
#define PARLEY_CLIENT_DISPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/*
 * Write s[0..len) to f with every unsafe byte or code point escaped:
 * a byte as \xNN, a code point as \u{NNNN}. Printable UTF-8 and TAB pass.
 */
void display_put(FILE *f, const char *s, size_t len);

/* The same for a NUL-terminated string. */
void display_puts(FILE *f, const char *s);

/*
 * The same escaping into out (cap > 0 bytes, always NUL-terminated). An
 * escape that does not fit is left out whole, never cut. Returns the length
 * written.
 */
size_t display_escape(char *out, size_t cap, const char *s, size_t len);

/* What a piece of output is, for its colour. */
enum display_style {
	DISPLAY_S_PLAIN,                /* back to the default */
	DISPLAY_S_META,                 /* ids and times: dim */
	DISPLAY_S_ROOM,                 /* a #room */
	DISPLAY_S_SELF,                 /* the user's own name */
	DISPLAY_S_NOTICE,               /* local notices */
	DISPLAY_S_ERROR,                /* failures */
};

/*
 * Decide whether stdout gets colour: only when it is a terminal, NO_COLOR
 * is unset or empty (https://no-color.org) and TERM is not "dumb". Call
 * once at start; returns the decision.
 */
bool display_colour_init(void);

/* Whether colour is on. */
bool display_colour(void);

/* Switch f to a style (nothing when colour is off). */
void display_style(FILE *f, enum display_style st);

/*
 * Switch f to the colour of a user name: each name keeps one of a few
 * colours, picked from a hash of it, so speakers are told apart.
 */
void display_user_style(FILE *f, const char *name);

/*
 * Convert an RFC 3339 UTC time ("2026-11-25T14:53:42.123Z") to local time,
 * "HH:MM", or "YYYY-MM-DD HH:MM" with with_date, into out. Returns out; an
 * unparsable time is copied with non-printable bytes replaced by '?'.
 */
char *display_local_time(const char *rfc3339, bool with_date, char *out,
    size_t cap);

#endif
