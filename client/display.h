/*
 * display: put text from the network on a terminal safely.
 *
 * The server refuses control characters in message text, but the client
 * does not rely on that: every byte string that came from the network goes
 * through display_put(), which escapes C0 controls (except TAB), DEL, C1
 * controls, bidirectional formatting controls and invalid UTF-8. Nothing
 * here allocates.
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
 * Convert an RFC 3339 UTC time ("2026-11-25T14:53:42.123Z") to local time,
 * "HH:MM", or "YYYY-MM-DD HH:MM" with with_date, into out. Returns out; an
 * unparsable time is copied with non-printable bytes replaced by '?'.
 */
char *display_local_time(const char *rfc3339, bool with_date, char *out,
    size_t cap);

#endif
