/*
 * proto: what the client understands of the lines parleyd sends
 * (SPEC §2–3): which lines are final (OK/ERR), which are events, how a
 * MSG or HIST record splits into fields, and how an ERR is reported.
 */
#ifndef PARLEY_CLIENT_PROTO_H
#define PARLEY_CLIENT_PROTO_H

#include <stdbool.h>
#include <stddef.h>

#include "parley_limits.h"

/* A parsed MSG or HIST line; the strings are NUL-terminated copies. */
struct proto_msg {
	char id[24];
	char time[40];
	char from[NAMES_USER_MAX + 1];
	char to[NAMES_ROOM_MAX + 1];
	const char *text;               /* points into the line, not ended */
	size_t text_len;
};

/* True when the line's first token equals kw (ASCII, case-insensitive). */
bool proto_keyword_is(const char *line, size_t len, const char *kw);

/* True when the line is an OK or ERR final line. */
bool proto_is_final(const char *line, size_t len);

/* True when the line is an event (HELLO MSG JOINED LEFT PRESENCE BYE). */
bool proto_is_event(const char *line, size_t len);

/*
 * Parse "MSG <id> <time> <from> <to> <text>" or the same with HIST.
 * Returns 0, or -1 when a field is missing or malformed.
 */
int proto_parse_msg(const char *line, size_t len, struct proto_msg *m)
	__attribute__((warn_unused_result));

/*
 * Report "<what>: <human text> (<CODE>)" for an ERR line, with the
 * server's text escaped.
 */
void proto_report_err(const char *what, const char *line, size_t len);

#endif
