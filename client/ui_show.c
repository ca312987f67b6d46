/*
 * ui_show: everything the interactive mode prints.
 *
 *   14:53 #general alice: hello          a message (time, target, sender)
 *   -- bob joined #general               a local notice or event
 *   14:54 alice bob: [e2e] psst          an end-to-end encrypted one
 *
 * Each function calls term_hide() before writing, so on a terminal the
 * output lands above the prompt; the loop in ui.c calls term_show() when
 * the batch is done. Text from the network goes through display.c. On a
 * terminal with colour wanted, times are dim, rooms cyan, each user name
 * keeps one colour and notices are yellow; piped output has no colour.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "display.h"
#include "record.h"
#include "roster.h"
#include "term.h"
#include "ui_int.h"

static void
vnote(enum display_style st, const char *fmt, va_list ap)
{
	term_hide();
	display_style(stdout, st);
	fputs("-- ", stdout);
	vprintf(fmt, ap);
	display_style(stdout, DISPLAY_S_PLAIN);
	fputc('\n', stdout);
}

void
ui_note(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vnote(DISPLAY_S_NOTICE, fmt, ap);
	va_end(ap);
}

static void
error_note(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

static void
error_note(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vnote(DISPLAY_S_ERROR, fmt, ap);
	va_end(ap);
}

/* session.c's reports, on a terminal: above the prompt, not on stderr. */
void
ui_report(const char *msg)
{
	error_note("%s", msg);
	fflush(stdout);
}

static void
put_name(const struct ui *ui, const char *name)
{
	if (name[0] == '#')
		display_style(stdout, DISPLAY_S_ROOM);
	else if (strcmp(name, ui->me) == 0)
		display_style(stdout, DISPLAY_S_SELF);
	else
		display_user_style(stdout, name);
	display_puts(stdout, name);
	display_style(stdout, DISPLAY_S_PLAIN);
}

void
ui_show_msg(const struct ui *ui, const struct proto_msg *m, bool with_date,
    const struct keys_opened *op)
{
	char when[32], mark[224];
	const char *text = m->text;
	size_t len = m->text_len;

	term_hide();
	display_style(stdout, DISPLAY_S_META);
	fputs(display_local_time(m->time, with_date, when, sizeof(when)),
	    stdout);
	display_style(stdout, DISPLAY_S_PLAIN);
	fputc(' ', stdout);
	put_name(ui, m->to);
	fputc(' ', stdout);
	put_name(ui, m->from);
	fputs(": ", stdout);
	if (op != NULL && op->e2e) {
		display_style(stdout, op->ok && !op->unverified ?
		    DISPLAY_S_META : DISPLAY_S_ERROR);
		display_puts(stdout, record_e2e_marker(op, mark, sizeof(mark)));
		display_style(stdout, DISPLAY_S_PLAIN);
		if (!op->ok) {
			fputc('\n', stdout);
			return;
		}
		if (op->text != NULL) {
			text = op->text;
			len = op->len;
		}
	}
	/* Plaintext from an envelope is network text like any other. */
	display_put(stdout, text, len);
	fputc('\n', stdout);
}

/* A message from link.c, live or caught up after a reconnect. */
void
ui_on_msg(void *arg, const struct proto_msg *m, bool caught_up)
{
	struct ui *ui = arg;

	roster_add(m->from);
	roster_add(m->to);
	/* Caught-up messages may be from another day. */
	ui_e2e_show(ui, m, caught_up);
}

void
ui_on_notice(void *arg, const char *text)
{
	(void)arg;
	ui_note("%s", text);
}

/* Up to n tokens of a line, each NUL-terminated. Returns how many. */
static int
tokens(const char *line, size_t len, char tok[][NAMES_ROOM_MAX + 1], int n)
{
	struct line_cursor c;
	size_t l;
	int i;

	line_cursor_init(&c, line, len);
	for (i = 0; i < n; i++)
		if (line_token(&c, tok[i], NAMES_ROOM_MAX + 1, &l) != 1)
			break;
	return i;
}

/* Events other than MSG: JOINED, LEFT, PRESENCE. */
void
ui_on_event(void *arg, const char *line, size_t len)
{
	struct ui *ui = arg;
	char tok[3][NAMES_ROOM_MAX + 1];
	bool joined;

	if (proto_keyword_is(line, len, "JOINED") ||
	    proto_keyword_is(line, len, "LEFT")) {
		if (tokens(line, len, tok, 3) != 3)
			return;
		joined = proto_keyword_is(line, len, "JOINED");
		roster_add(tok[1]);
		roster_add(tok[2]);
		term_hide();
		display_style(stdout, DISPLAY_S_NOTICE);
		fputs("-- ", stdout);
		display_style(stdout, DISPLAY_S_PLAIN);
		put_name(ui, tok[2]);
		fputs(joined ? " joined " : " left ", stdout);
		put_name(ui, tok[1]);
		fputc('\n', stdout);
	} else if (proto_keyword_is(line, len, "PRESENCE")) {
		if (tokens(line, len, tok, 3) != 3)
			return;
		roster_add(tok[1]);
		term_hide();
		display_style(stdout, DISPLAY_S_NOTICE);
		fputs("-- ", stdout);
		display_style(stdout, DISPLAY_S_PLAIN);
		put_name(ui, tok[1]);
		fputs(" is ", stdout);
		display_puts(stdout, tok[2]);
		fputc('\n', stdout);
	}
	/* HELLO needs nothing; a BYE is reported when the connection ends. */
}

/* Show an ERR line as "-- CMD failed: text (CODE)". */
static void
show_err(const char *cmd, const char *line, size_t len)
{
	struct line_cursor c;
	char code[32], ecode[sizeof(code) * 4], text[512];
	const char *t;
	size_t n, tl;

	line_cursor_init(&c, line, len);
	if (line_token(&c, code, sizeof(code), &n) != 1 ||
	    line_token(&c, code, sizeof(code), &n) != 1) {
		display_escape(text, sizeof(text), line, len);
		error_note("%s failed: %s", cmd, text);
		return;
	}
	display_escape(ecode, sizeof(ecode), code, n);
	if (line_rest(&c, &t, &tl) == 1 && tl > 0) {
		display_escape(text, sizeof(text), t, tl);
		error_note("%s failed: %s (%s)", cmd, text, ecode);
	} else {
		error_note("%s failed: %s", cmd, ecode);
	}
}

static const char *const kind_names[] = {
	[UI_K_SEND] = "send", [UI_K_JOIN] = "join", [UI_K_LEAVE] = "leave",
	[UI_K_WHO] = "who", [UI_K_ROOMS] = "rooms",
	[UI_K_ROOMS_QUIET] = "rooms", [UI_K_HISTORY] = "history",
	[UI_K_PING] = "ping", [UI_K_QUIT] = "quit", [UI_K_GETKEY] = "getkey",
};

/* The OK or ERR for the oldest command sent. */
static void
final_line(struct ui *ui, const char *line, size_t len)
{
	struct ui_pending *p;
	struct proto_msg m;
	char ts[CLOCK_RFC3339_LEN], tok[3][NAMES_ROOM_MAX + 1], esc[512];
	bool ok = proto_keyword_is(line, len, "OK");
	uint64_t id;

	p = ui_pop(ui);
	if (p == NULL) {
		/* An answer to nothing: show it, escaped. */
		display_escape(esc, sizeof(esc), line, len);
		ui_note("server: %s", esc);
		return;
	}
	if (p->kind == UI_K_GETKEY) {
		ui_e2e_answer(ui, p->target, line, len);
		goto done;
	}
	if (!ok) {
		if (p->kind != UI_K_PING && p->kind != UI_K_ROOMS_QUIET)
			show_err(kind_names[p->kind], line, len);
		/* /join switched the target at once; undo that. */
		if (p->kind == UI_K_JOIN && strcmp(ui->target, p->target) == 0)
			ui->target[0] = '\0';
		goto done;
	}
	switch (p->kind) {
	case UI_K_SEND:
		/* Echo what the server accepted, as others will see it. */
		if (tokens(line, len, tok, 3) == 3 &&
		    link_parse_id(tok[2], &id) == 0)
			link_note_shown(ui->l, id);
		memset(&m, 0, sizeof(m));
		clock_rfc3339(clock_now_ms(), ts);
		snprintf(m.time, sizeof(m.time), "%s", ts);
		snprintf(m.from, sizeof(m.from), "%s", ui->me);
		snprintf(m.to, sizeof(m.to), "%s", p->target);
		m.text = p->text;
		m.text_len = strlen(p->text);
		ui_e2e_echo(ui, &m, p->e2e);
		break;
	case UI_K_JOIN:
		roster_add(p->target);
		ui_note("joined %s", p->target);
		break;
	case UI_K_LEAVE:
		ui_note("left %s", p->target);
		break;
	case UI_K_WHO:
	case UI_K_ROOMS:
	case UI_K_HISTORY:
		if (tokens(line, len, tok, 3) == 3 && strcmp(tok[2], "0") == 0)
			ui_note("none");
		break;
	case UI_K_ROOMS_QUIET:
	case UI_K_PING:
	case UI_K_GETKEY:               /* handled above */
		break;
	case UI_K_QUIT:
		ui->finished = true;
		break;
	}
done:
	free(p->text);
	p->text = NULL;
}

/* Final lines and data lines (HIST, ROOM, MEMBER). */
void
ui_line(void *arg, const char *line, size_t len)
{
	struct ui *ui = arg;
	struct proto_msg m;
	char tok[4][NAMES_ROOM_MAX + 1];
	bool quiet = ui->count > 0 && ui->q[ui->head].kind == UI_K_ROOMS_QUIET;

	if (proto_is_final(line, len)) {
		final_line(ui, line, len);
	} else if (proto_keyword_is(line, len, "HIST")) {
		if (proto_parse_msg(line, len, &m) == 0) {
			roster_add(m.from);
			ui_e2e_show(ui, &m, true);
		}
	} else if (proto_keyword_is(line, len, "ROOM")) {
		if (tokens(line, len, tok, 3) != 3)
			return;
		roster_add(tok[1]);
		if (quiet)
			return;
		term_hide();
		fputs("   ", stdout);
		put_name(ui, tok[1]);
		fputs(" (", stdout);
		display_puts(stdout, tok[2]);
		fputs(" members)\n", stdout);
	} else if (proto_keyword_is(line, len, "MEMBER")) {
		if (tokens(line, len, tok, 4) != 4)
			return;
		roster_add(tok[2]);
		term_hide();
		fputs("   ", stdout);
		put_name(ui, tok[2]);
		fputc(' ', stdout);
		display_puts(stdout, tok[3]);
		fputc('\n', stdout);
	}
}
