/*
 * proto: reading the lines parleyd sends (SPEC §2): final lines, events,
 * MSG/HIST records, and ERR lines turned into one readable report.
 *
 * Pure functions over one line; nothing here does I/O except
 * proto_report_err(), which goes through session_errorf(). Parsing is
 * strict about the fields the client relies on (a numeric id, valid user
 * and room names) and ignores extra trailing fields only where the text
 * does not run to the end of the line.
 */
#include "proto.h"

#include <string.h>
#include <strings.h>

#include "display.h"
#include "line.h"
#include "names.h"
#include "session.h"

bool
proto_keyword_is(const char *line, size_t len, const char *kw)
{
	size_t k = strlen(kw);

	return len >= k && strncasecmp(line, kw, k) == 0 &&
	    (len == k || line[k] == ' ');
}

bool
proto_is_final(const char *line, size_t len)
{
	return proto_keyword_is(line, len, "OK") ||
	    proto_keyword_is(line, len, "ERR");
}

bool
proto_is_event(const char *line, size_t len)
{
	static const char *const events[] = {
		"HELLO", "MSG", "JOINED", "LEFT", "PRESENCE", "BYE",
	};
	size_t i;

	for (i = 0; i < sizeof(events) / sizeof(events[0]); i++)
		if (proto_keyword_is(line, len, events[i]))
			return true;
	return false;
}

int
proto_parse_msg(const char *line, size_t len, struct proto_msg *m)
{
	struct line_cursor c;
	char kw[8];
	size_t n, i;

	line_cursor_init(&c, line, len);
	if (line_token(&c, kw, sizeof(kw), &n) != 1 ||
	    (strcasecmp(kw, "MSG") != 0 && strcasecmp(kw, "HIST") != 0))
		return -1;
	if (line_token(&c, m->id, sizeof(m->id), &n) != 1 || n == 0)
		return -1;
	for (i = 0; i < n; i++)
		if (m->id[i] < '0' || m->id[i] > '9')
			return -1;
	if (line_token(&c, m->time, sizeof(m->time), &n) != 1)
		return -1;
	if (line_token(&c, m->from, sizeof(m->from), &n) != 1 ||
	    !names_user_valid(m->from, n))
		return -1;
	if (line_token(&c, m->to, sizeof(m->to), &n) != 1 ||
	    !(names_user_valid(m->to, n) || names_room_valid(m->to, n)))
		return -1;
	if (line_rest(&c, &m->text, &m->text_len) != 1)
		return -1;
	return 0;
}

void
proto_report_err(const char *what, const char *line, size_t len)
{
	struct line_cursor c;
	char code[32], esc_code[sizeof(code) * 4], esc[512];
	const char *text;
	size_t n, tlen;

	line_cursor_init(&c, line, len);
	if (line_token(&c, code, sizeof(code), &n) != 1 ||
	    line_token(&c, code, sizeof(code), &n) != 1) {
		display_escape(esc, sizeof(esc), line, len);
		session_errorf("%s: %s", what, esc);
		return;
	}
	display_escape(esc_code, sizeof(esc_code), code, n);
	if (line_rest(&c, &text, &tlen) == 1) {
		display_escape(esc, sizeof(esc), text, tlen);
		session_errorf("%s: %s (%s)", what, esc, esc_code);
	} else {
		session_errorf("%s: %s", what, esc_code);
	}
}

