/*
 * ui: interactive, line-based chat.
 *
 * One poll() loop watches standard input and the server. Commands are sent
 * without waiting for their answers; since the server answers in order,
 * a FIFO of what was sent (struct ui_pending) says which command each
 * OK/ERR belongs to, so an ERR can be shown with its command and an OK
 * SEND can echo the message that was accepted. When the FIFO is full,
 * standard input is simply not read until answers arrive.
 *
 * Everything shown that came from the network goes through display.c.
 * Local notices start with "-- " so they stand apart from messages.
 */
#include "ui.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "clock.h"
#include "display.h"
#include "line.h"
#include "names.h"

#define UI_PENDING_MAX 64
/* Slots kept free for a keepalive PING and the final QUIT. */
#define UI_PENDING_RESERVE 2

enum ui_kind {
	UI_K_SEND,
	UI_K_JOIN,
	UI_K_LEAVE,
	UI_K_WHO,
	UI_K_ROOMS,
	UI_K_HISTORY,
	UI_K_PING,
	UI_K_QUIT,
};

static const char *const kind_names[] = {
	"send", "join", "leave", "who", "rooms", "history", "ping", "quit",
};

struct ui_pending {
	enum ui_kind kind;
	char target[NAMES_ROOM_MAX + 1];
	char *text;                     /* UI_K_SEND: echoed on OK */
};

struct ui {
	struct session *s;
	const char *me;
	char target[NAMES_ROOM_MAX + 1];        /* "" when none */
	struct ui_pending q[UI_PENDING_MAX];
	unsigned head, count;
	struct line_framer in;
	bool stdin_eof;
	bool quit_sent;
	bool finished;                  /* OK QUIT arrived */
};

static void
note(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

/* A local notice, on its own line. */
static void
note(const char *fmt, ...)
{
	va_list ap;

	fputs("-- ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
}

static const char *help_text[] = {
	"/to TARGET          send plain lines to a user or #room",
	"/join #room         join (or create) a room and talk there",
	"/leave [#room]      leave a room (default: the current one)",
	"/msg TARGET TEXT    send one message without changing the target",
	"/who [#room]        list a room's members",
	"/rooms              list all rooms",
	"/history [N]        show the last N messages with the current target",
	"/help               this list",
	"/quit               leave (end of input does the same)",
	"Other lines are sent to the current target; start a line with //",
	"to send text that begins with /.",
};

/* ---- the FIFO of commands sent ----------------------------------- */

static bool
room_for(const struct ui *ui, unsigned reserve)
{
	return ui->count + reserve < UI_PENDING_MAX;
}

/*
 * Record a command and send its line. text (SEND only) is copied.
 * Returns an exit code; SESSION_EXIT_USAGE only for local problems.
 */
static int
issue(struct ui *ui, enum ui_kind kind, const char *target, const char *text,
    size_t tlen, const char *cmdline, size_t clen)
{
	struct ui_pending *p;
	int rc;

	if (ui->count == UI_PENDING_MAX) {
		note("too many commands waiting for the server; not sent");
		return SESSION_EXIT_USAGE;
	}
	p = &ui->q[(ui->head + ui->count) % UI_PENDING_MAX];
	p->kind = kind;
	p->text = NULL;
	snprintf(p->target, sizeof(p->target), "%s", target ? target : "");
	if (text != NULL) {
		p->text = malloc(tlen + 1);
		if (p->text == NULL) {
			note("out of memory; not sent");
			return SESSION_EXIT_USAGE;
		}
		memcpy(p->text, text, tlen);
		p->text[tlen] = '\0';
	}
	rc = session_send(ui->s, cmdline, clen);
	if (rc != SESSION_EXIT_OK) {
		free(p->text);
		p->text = NULL;
		return rc;
	}
	ui->count++;
	return SESSION_EXIT_OK;
}

static int
issue_simple(struct ui *ui, enum ui_kind kind, const char *target,
    const char *cmdline)
{
	return issue(ui, kind, target, NULL, 0, cmdline, strlen(cmdline));
}

static int
issue_send(struct ui *ui, const char *target, const char *text, size_t len)
{
	char *cmd;
	size_t tl = strlen(target), clen = 5 + tl + 1 + len;
	int rc;

	if (!cli_text_ok(text, len)) {
		note("not sent: text must be UTF-8 without control characters");
		return SESSION_EXIT_OK;
	}
	cmd = malloc(clen);
	if (cmd == NULL) {
		note("out of memory; not sent");
		return SESSION_EXIT_OK;
	}
	memcpy(cmd, "SEND ", 5);
	memcpy(cmd + 5, target, tl);
	cmd[5 + tl] = ' ';
	memcpy(cmd + 6 + tl, text, len);
	rc = issue(ui, UI_K_SEND, target, text, len, cmd, clen);
	free(cmd);
	return rc == SESSION_EXIT_USAGE ? SESSION_EXIT_OK : rc;
}

/* ---- showing what the server sends ------------------------------- */

static void
show_msg(const struct session_msg *m, bool with_date)
{
	char when[32];

	fputs(display_local_time(m->time, with_date, when, sizeof(when)),
	    stdout);
	printf(" %s %s: ", m->to, m->from);
	display_put(stdout, m->text, m->text_len);
	fputc('\n', stdout);
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

static void
ui_event(void *arg, const char *line, size_t len)
{
	struct session_msg m;
	char tok[3][NAMES_ROOM_MAX + 1];

	(void)arg;
	if (session_keyword_is(line, len, "MSG")) {
		if (session_parse_msg(line, len, &m) == 0)
			show_msg(&m, false);
	} else if (session_keyword_is(line, len, "JOINED") ||
	    session_keyword_is(line, len, "LEFT")) {
		if (tokens(line, len, tok, 3) != 3)
			return;
		fputs("-- ", stdout);
		display_puts(stdout, tok[2]);
		fputs(session_keyword_is(line, len, "JOINED") ? " joined " :
		    " left ", stdout);
		display_puts(stdout, tok[1]);
		fputc('\n', stdout);
	} else if (session_keyword_is(line, len, "PRESENCE")) {
		if (tokens(line, len, tok, 3) != 3)
			return;
		fputs("-- ", stdout);
		display_puts(stdout, tok[1]);
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
	char code[32];
	const char *text;
	size_t n, tl;

	printf("-- %s failed: ", cmd);
	line_cursor_init(&c, line, len);
	if (line_token(&c, code, sizeof(code), &n) == 1 &&
	    line_token(&c, code, sizeof(code), &n) == 1) {
		if (line_rest(&c, &text, &tl) == 1) {
			display_put(stdout, text, tl);
			fputs(" (", stdout);
			display_put(stdout, code, n);
			fputc(')', stdout);
		} else {
			display_put(stdout, code, n);
		}
	} else {
		display_put(stdout, line, len);
	}
	fputc('\n', stdout);
}

static void
final_line(struct ui *ui, const char *line, size_t len)
{
	struct ui_pending *p;
	struct session_msg m;
	char ts[CLOCK_RFC3339_LEN], tok[3][NAMES_ROOM_MAX + 1];
	bool ok = session_keyword_is(line, len, "OK");

	if (ui->count == 0) {
		/* An answer to nothing: show it, escaped. */
		fputs("-- server: ", stdout);
		display_put(stdout, line, len);
		fputc('\n', stdout);
		return;
	}
	p = &ui->q[ui->head];
	ui->head = (ui->head + 1) % UI_PENDING_MAX;
	ui->count--;

	if (!ok) {
		if (p->kind != UI_K_PING)
			show_err(kind_names[p->kind], line, len);
		/* /join switched the target at once; undo that. */
		if (p->kind == UI_K_JOIN && strcmp(ui->target, p->target) == 0)
			ui->target[0] = '\0';
		goto done;
	}
	switch (p->kind) {
	case UI_K_SEND:
		/* Echo what the server accepted, as others will see it. */
		memset(&m, 0, sizeof(m));
		clock_rfc3339(clock_now_ms(), ts);
		snprintf(m.time, sizeof(m.time), "%s", ts);
		snprintf(m.from, sizeof(m.from), "%s", ui->me);
		snprintf(m.to, sizeof(m.to), "%s", p->target);
		m.text = p->text;
		m.text_len = strlen(p->text);
		show_msg(&m, false);
		break;
	case UI_K_JOIN:
		note("joined %s", p->target);
		break;
	case UI_K_LEAVE:
		note("left %s", p->target);
		break;
	case UI_K_WHO:
	case UI_K_ROOMS:
	case UI_K_HISTORY:
		if (tokens(line, len, tok, 3) == 3 && strcmp(tok[2], "0") == 0)
			note("none");
		break;
	case UI_K_PING:
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
static void
ui_line(void *arg, const char *line, size_t len)
{
	struct ui *ui = arg;
	struct session_msg m;
	char tok[4][NAMES_ROOM_MAX + 1];

	if (session_is_final(line, len)) {
		final_line(ui, line, len);
	} else if (session_keyword_is(line, len, "HIST")) {
		if (session_parse_msg(line, len, &m) == 0)
			show_msg(&m, true);
	} else if (session_keyword_is(line, len, "ROOM")) {
		if (tokens(line, len, tok, 3) == 3) {
			fputs("   ", stdout);
			display_puts(stdout, tok[1]);
			fputs(" (", stdout);
			display_puts(stdout, tok[2]);
			fputs(" members)\n", stdout);
		}
	} else if (session_keyword_is(line, len, "MEMBER")) {
		if (tokens(line, len, tok, 4) == 4) {
			fputs("   ", stdout);
			display_puts(stdout, tok[2]);
			fputc(' ', stdout);
			display_puts(stdout, tok[3]);
			fputc('\n', stdout);
		}
	}
}

/* ---- what the user types ----------------------------------------- */

/* Normalise a user or #room name typed by the user; reports errors. */
static bool
target_arg(const char *s, size_t len, char out[NAMES_ROOM_MAX + 1])
{
	int r;

	if (len > 0 && s[0] == '#')
		r = names_room_norm(s, len, out);
	else
		r = names_user_norm(s, len, out);
	if (r != 0)
		note("not a user name or #room");
	return r == 0;
}

static bool
room_arg(const struct ui *ui, const char *s, size_t len,
    char out[NAMES_ROOM_MAX + 1])
{
	if (len == 0) {
		if (ui->target[0] != '#') {
			note("no room given and the current target is no room");
			return false;
		}
		snprintf(out, NAMES_ROOM_MAX + 1, "%s", ui->target);
		return true;
	}
	if (names_room_norm(s, len, out) != 0) {
		note("not a room name (rooms look like #general)");
		return false;
	}
	return true;
}

/* Split "word rest": *wlen is the word's length, *rest what follows it. */
static void
split(const char *s, size_t len, size_t *wlen, const char **rest,
    size_t *rlen)
{
	size_t i = 0;

	while (i < len && s[i] != ' ')
		i++;
	*wlen = i;
	while (i < len && s[i] == ' ')
		i++;
	*rest = s + i;
	*rlen = len - i;
}

static int
slash_command(struct ui *ui, const char *line, size_t len)
{
	char name[NAMES_ROOM_MAX + 1], cmd[NAMES_ROOM_MAX + 40];
	const char *arg, *text;
	size_t wlen, alen, nlen, tlen, i;
	unsigned long n;
	char *end;

	split(line + 1, len - 1, &wlen, &arg, &alen);
	/* Trailing spaces after an argument are not part of it. */
	while (alen > 0 && arg[alen - 1] == ' ')
		alen--;
#define IS(w) (wlen == strlen(w) && strncmp(line + 1, (w), wlen) == 0)
	if (IS("quit") || IS("exit")) {
		ui->quit_sent = true;
		session_expect_close(ui->s);
		return issue_simple(ui, UI_K_QUIT, NULL, "QUIT");
	}
	if (IS("help") || IS("?")) {
		for (i = 0; i < sizeof(help_text) / sizeof(help_text[0]); i++)
			note("%s", help_text[i]);
		return SESSION_EXIT_OK;
	}
	if (IS("to")) {
		if (alen == 0) {
			if (ui->target[0] != '\0')
				note("talking to %s", ui->target);
			else
				note("no target; use /to NAME or /join #room");
		} else if (target_arg(arg, alen, name)) {
			snprintf(ui->target, sizeof(ui->target), "%s", name);
			note("lines now go to %s", name);
		}
		return SESSION_EXIT_OK;
	}
	if (IS("join") || IS("leave") || IS("who")) {
		enum ui_kind k = IS("join") ? UI_K_JOIN : IS("leave") ?
		    UI_K_LEAVE : UI_K_WHO;
		static const char *const kw[] = {
			[UI_K_JOIN] = "JOIN", [UI_K_LEAVE] = "LEAVE",
			[UI_K_WHO] = "WHO",
		};

		if (k == UI_K_JOIN && alen == 0) {
			note("usage: /join #room");
			return SESSION_EXIT_OK;
		}
		if (!room_arg(ui, arg, alen, name))
			return SESSION_EXIT_OK;
		snprintf(cmd, sizeof(cmd), "%s %s", kw[k], name);
		/*
		 * Lines after /join go to the room right away, and none
		 * after /leave, so piped input works without waiting for
		 * the answer (the server handles commands in order).
		 */
		if (k == UI_K_JOIN) {
			snprintf(ui->target, sizeof(ui->target), "%s", name);
			note("lines now go to %s", name);
		} else if (k == UI_K_LEAVE && strcmp(ui->target, name) == 0) {
			ui->target[0] = '\0';
		}
		return issue_simple(ui, k, name, cmd);
	}
	if (IS("rooms"))
		return issue_simple(ui, UI_K_ROOMS, NULL, "ROOMS");
	if (IS("history")) {
		n = HISTORY_LIMIT_DEFAULT;
		if (ui->target[0] == '\0') {
			note("no target; use /to NAME or /join #room");
			return SESSION_EXIT_OK;
		}
		if (alen > 0) {
			errno = 0;
			n = strtoul(arg, &end, 10);
			if (arg[0] < '0' || arg[0] > '9' || errno != 0 ||
			    end != arg + alen || n == 0 ||
			    n > HISTORY_LIMIT_MAX) {
				note("usage: /history [N], N from 1 to %d",
				    HISTORY_LIMIT_MAX);
				return SESSION_EXIT_OK;
			}
		}
		snprintf(cmd, sizeof(cmd), "HISTORY %s %lu", ui->target, n);
		return issue_simple(ui, UI_K_HISTORY, ui->target, cmd);
	}
	if (IS("msg")) {
		split(arg, alen, &nlen, &text, &tlen);
		if (nlen == 0 || tlen == 0) {
			note("usage: /msg TARGET TEXT");
			return SESSION_EXIT_OK;
		}
		if (!target_arg(arg, nlen, name))
			return SESSION_EXIT_OK;
		/* Use the text as typed, trailing spaces included. */
		tlen = (size_t)(line + len - text);
		return issue_send(ui, name, text, tlen);
	}
#undef IS
	note("unknown command; /help lists them");
	return SESSION_EXIT_OK;
}

static int
input_line(struct ui *ui, const char *line, size_t len)
{
	if (len > 0 && line[0] == '/' && (len < 2 || line[1] != '/'))
		return slash_command(ui, line, len);
	if (len > 1 && line[0] == '/')
		line++, len--;          /* "//x" sends "/x" */
	if (ui->target[0] == '\0') {
		note("no target; use /to NAME or /join #room first");
		return SESSION_EXIT_OK;
	}
	return issue_send(ui, ui->target, line, len);
}

/* Handle complete input lines while there is room to send. */
static int
drain_input(struct ui *ui)
{
	enum line_status st;
	char *line;
	size_t len;
	int rc;

	while (!ui->quit_sent && room_for(ui, UI_PENDING_RESERVE)) {
		st = line_next(&ui->in, &line, &len);
		if (st == LINE_NEED_MORE)
			break;
		if (st == LINE_TOO_LONG) {
			note("input line too long; not sent");
			continue;
		}
		if (st == LINE_BAD_UTF8) {
			note("input is not valid UTF-8; not sent");
			continue;
		}
		rc = input_line(ui, line, len);
		/* A local problem was shown; only a lost session ends. */
		if (rc != SESSION_EXIT_OK && rc != SESSION_EXIT_USAGE)
			return rc;
	}
	if (ui->stdin_eof && !ui->quit_sent && line_buffered(&ui->in) == 0) {
		ui->quit_sent = true;
		session_expect_close(ui->s);
		return issue_simple(ui, UI_K_QUIT, NULL, "QUIT");
	}
	return SESSION_EXIT_OK;
}

static int
read_stdin(struct ui *ui)
{
	uint8_t *p;
	size_t avail;
	ssize_t n;

	p = line_wptr(&ui->in, &avail);
	if (p == NULL) {
		session_errorf("out of memory");
		return SESSION_EXIT_LOST;
	}
	n = read(STDIN_FILENO, p, avail);
	if (n > 0) {
		line_produced(&ui->in, (size_t)n);
	} else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
		/* End of input: finish a last line that has no LF. */
		ui->stdin_eof = true;
		if (line_buffered(&ui->in) > 0) {
			p[0] = '\n';
			line_produced(&ui->in, 1);
		}
	}
	return SESSION_EXIT_OK;
}

static int
loop(struct ui *ui)
{
	struct pollfd p[2];
	int rc, timeout, n, nfds;

	for (;;) {
		if ((rc = drain_input(ui)) != SESSION_EXIT_OK)
			return rc;
		rc = session_pump(ui->s, ui_line, ui);
		fflush(stdout);
		if (ui->finished)
			return SESSION_EXIT_OK;
		if (rc != SESSION_EXIT_OK)
			return rc;

		timeout = SESSION_KEEPALIVE_MS - session_idle_ms(ui->s);
		if (timeout <= 0) {
			if (!ui->quit_sent && room_for(ui, 1)) {
				rc = issue_simple(ui, UI_K_PING, NULL, "PING");
				if (rc != SESSION_EXIT_OK)
					return rc;
			}
			timeout = SESSION_KEEPALIVE_MS;
		}
		p[0].fd = session_fd(ui->s);
		p[0].events = POLLIN;
		p[1].fd = STDIN_FILENO;
		p[1].events = POLLIN;
		p[1].revents = 0;
		nfds = (!ui->stdin_eof && !ui->quit_sent &&
		    room_for(ui, UI_PENDING_RESERVE)) ? 2 : 1;
		n = poll(p, (nfds_t)nfds, timeout);
		if (n < 0 && errno != EINTR) {
			session_errorf("poll: %s", strerror(errno));
			return SESSION_EXIT_LOST;
		}
		if (n > 0 && nfds == 2 && p[1].revents != 0)
			if ((rc = read_stdin(ui)) != SESSION_EXIT_OK)
				return rc;
	}
}

int
ui_main(const struct session_opts *o)
{
	struct ui ui;
	int rc;
	unsigned i;

	memset(&ui, 0, sizeof(ui));
	ui.me = o->user;
	setvbuf(stdout, NULL, _IOLBF, 0);
	line_init(&ui.in, LINE_MAX_DEFAULT);

	rc = session_start(o, ui_event, &ui, &ui.s);
	if (rc == SESSION_EXIT_OK) {
		note("logged in as %s; /help lists the commands", o->user);
		fflush(stdout);
		rc = loop(&ui);
		session_free(ui.s);
	}
	for (i = 0; i < UI_PENDING_MAX; i++)
		free(ui.q[i].text);
	line_free(&ui.in);
	fflush(stdout);
	return rc;
}
