/*
 * ui_cmd: what the user types in the interactive mode.
 *
 * Commands are sent without waiting for their answers; since the server
 * answers in order, a FIFO of what was sent (struct ui_pending) says
 * which command each OK/ERR belongs to, so an ERR can be shown with its
 * command and an OK SEND can echo the message that was accepted. When the
 * FIFO is nearly full, ui.c stops reading input until answers arrive.
 * When the connection drops, what was still waiting is reported and
 * forgotten: a message the server did store comes back with the catch-up.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "names.h"
#include "roster.h"
#include "ui_int.h"

/* For completion (term.c); the order of /help. */
const char *const ui_commands[] = {
	"/join", "/leave", "/msg", "/to", "/who", "/rooms", "/history",
	"/e2e", "/help", "/quit", NULL,
};

static const char *const help_text[] = {
	"/join #room         join (or create) a room and talk there",
	"/leave [#room]      leave a room (default: the current one)",
	"/msg TARGET TEXT    send one message without changing the target",
	"/to TARGET          send plain lines to a user or #room",
	"/who [#room]        list a room's members",
	"/rooms              list all rooms",
	"/history [N]        show the last N messages with the current target",
	"/e2e [on|off]       encrypt messages to users end to end (toggle)",
	"/help               this list",
	"/quit               leave (so do Ctrl-D, Ctrl-C and end of input)",
	"Other lines go to the current target; start a line with // to send",
	"text that begins with /. TAB completes commands and known names.",
};

/* ---- the FIFO of commands sent ----------------------------------- */

bool
ui_room_for(const struct ui *ui, unsigned reserve)
{
	return ui->count + reserve < UI_PENDING_MAX;
}

struct ui_pending *
ui_pop(struct ui *ui)
{
	struct ui_pending *p;

	if (ui->count == 0)
		return NULL;
	p = &ui->q[ui->head];
	ui->head = (ui->head + 1) % UI_PENDING_MAX;
	ui->count--;
	return p;
}

void
ui_drop_pending(struct ui *ui)
{
	struct ui_pending *p;

	while ((p = ui_pop(ui)) != NULL) {
		if (p->kind == UI_K_SEND)
			ui_note("not confirmed, to %s: %s (if the server got "
			    "it, it shows up once reconnected)", p->target,
			    p->text);
		free(p->text);
		p->text = NULL;
	}
}

/*
 * Record a command and send its line. text (SEND only) is copied.
 * Returns 0, or -1 when it was not sent (a notice says why; a lost
 * connection sets ui->lost for the loop to handle).
 */
static int
issue(struct ui *ui, enum ui_kind kind, const char *target, const char *text,
    size_t tlen, const char *cmdline, size_t clen, bool e2e)
{
	struct session *s = link_session(ui->l);
	struct ui_pending *p;

	if (s == NULL || ui->lost) {
		ui_note("not connected (reconnecting); not sent");
		return -1;
	}
	if (ui->count == UI_PENDING_MAX) {
		ui_note("too many commands waiting for the server; not sent");
		return -1;
	}
	p = &ui->q[(ui->head + ui->count) % UI_PENDING_MAX];
	p->kind = kind;
	p->text = NULL;
	p->e2e = e2e;
	snprintf(p->target, sizeof(p->target), "%s", target ? target : "");
	if (text != NULL) {
		p->text = malloc(tlen + 1);
		if (p->text == NULL) {
			ui_note("out of memory; not sent");
			return -1;
		}
		memcpy(p->text, text, tlen);
		p->text[tlen] = '\0';
	}
	if (session_send(s, cmdline, clen) != SESSION_EXIT_OK) {
		free(p->text);
		p->text = NULL;
		ui->lost = true;
		return -1;
	}
	ui->count++;
	return 0;
}

int
ui_issue_simple(struct ui *ui, enum ui_kind kind, const char *target,
    const char *cmdline)
{
	return issue(ui, kind, target, NULL, 0, cmdline, strlen(cmdline),
	    false);
}

int
ui_issue_send(struct ui *ui, const char *target, const char *text,
    size_t tlen, const char *wire, size_t wlen, bool e2e)
{
	return issue(ui, UI_K_SEND, target, text, tlen, wire, wlen, e2e);
}

static void
issue_send(struct ui *ui, const char *target, const char *text, size_t len)
{
	char *cmd;
	size_t tl = strlen(target), clen = 5 + tl + 1 + len;

	if (!cli_text_ok(text, len)) {
		ui_note("not sent: text must be UTF-8 without control "
		    "characters");
		return;
	}
	if (ui->e2e) {
		if (target[0] == '#')
			ui_note("not sent: rooms are not end-to-end encrypted "
			    "(/e2e off sends in clear)");
		else
			ui_e2e_send(ui, target, text, len);
		return;
	}
	cmd = malloc(clen);
	if (cmd == NULL) {
		ui_note("out of memory; not sent");
		return;
	}
	memcpy(cmd, "SEND ", 5);
	memcpy(cmd + 5, target, tl);
	cmd[5 + tl] = ' ';
	memcpy(cmd + 6 + tl, text, len);
	(void)issue(ui, UI_K_SEND, target, text, len, cmd, clen, false);
	free(cmd);
}

/* /quit, Ctrl-D, end of input, SIGINT: QUIT when connected. */
void
ui_quit(struct ui *ui)
{
	if (ui->quit_sent)
		return;
	ui->quit_sent = true;
	if (link_session(ui->l) == NULL || ui->lost) {
		ui->finished = true;
		return;
	}
	session_expect_close(link_session(ui->l));
	if (ui_issue_simple(ui, UI_K_QUIT, NULL, "QUIT") != 0)
		ui->finished = true;
}

/* ---- arguments ---------------------------------------------------- */

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
		ui_note("not a user name or #room");
	return r == 0;
}

static bool
room_arg(const struct ui *ui, const char *s, size_t len,
    char out[NAMES_ROOM_MAX + 1])
{
	if (len == 0) {
		if (ui->target[0] != '#') {
			ui_note("no room given and the current target is no "
			    "room");
			return false;
		}
		snprintf(out, NAMES_ROOM_MAX + 1, "%s", ui->target);
		return true;
	}
	if (names_room_norm(s, len, out) != 0) {
		ui_note("not a room name (rooms look like #general)");
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

/* ---- slash commands ---------------------------------------------- */

static void
cmd_to(struct ui *ui, const char *arg, size_t alen)
{
	char name[NAMES_ROOM_MAX + 1];

	if (alen == 0) {
		if (ui->target[0] != '\0')
			ui_note("talking to %s", ui->target);
		else
			ui_note("no target; use /to NAME or /join #room");
	} else if (target_arg(arg, alen, name)) {
		snprintf(ui->target, sizeof(ui->target), "%s", name);
		roster_add(name);
		ui_note("lines now go to %s", name);
	}
}

static void
cmd_room(struct ui *ui, enum ui_kind k, const char *arg, size_t alen)
{
	static const char *const kw[] = {
		[UI_K_JOIN] = "JOIN", [UI_K_LEAVE] = "LEAVE",
		[UI_K_WHO] = "WHO",
	};
	char name[NAMES_ROOM_MAX + 1], cmd[NAMES_ROOM_MAX + 8];

	if (k == UI_K_JOIN && alen == 0) {
		ui_note("usage: /join #room");
		return;
	}
	if (!room_arg(ui, arg, alen, name))
		return;
	snprintf(cmd, sizeof(cmd), "%s %s", kw[k], name);
	if (ui_issue_simple(ui, k, name, cmd) != 0)
		return;
	/*
	 * Lines after /join go to the room right away, and none after
	 * /leave, so piped input works without waiting for the answer (the
	 * server handles commands in order).
	 */
	if (k == UI_K_JOIN) {
		snprintf(ui->target, sizeof(ui->target), "%s", name);
		ui_note("lines now go to %s", name);
	} else if (k == UI_K_LEAVE && strcmp(ui->target, name) == 0) {
		ui->target[0] = '\0';
	}
}

static void
cmd_history(struct ui *ui, const char *arg, size_t alen)
{
	char cmd[NAMES_ROOM_MAX + 40], *end;
	unsigned long n = HISTORY_LIMIT_DEFAULT;

	if (ui->target[0] == '\0') {
		ui_note("no target; use /to NAME or /join #room");
		return;
	}
	if (alen > 0) {
		errno = 0;
		n = strtoul(arg, &end, 10);
		if (arg[0] < '0' || arg[0] > '9' || errno != 0 ||
		    end != arg + alen || n == 0 || n > HISTORY_LIMIT_MAX) {
			ui_note("usage: /history [N], N from 1 to %d",
			    HISTORY_LIMIT_MAX);
			return;
		}
	}
	snprintf(cmd, sizeof(cmd), "HISTORY %s %lu", ui->target, n);
	(void)ui_issue_simple(ui, UI_K_HISTORY, ui->target, cmd);
}

static void
cmd_msg(struct ui *ui, const char *line, size_t len, const char *arg,
    size_t alen)
{
	char name[NAMES_ROOM_MAX + 1];
	const char *text;
	size_t nlen, tlen;

	split(arg, alen, &nlen, &text, &tlen);
	if (nlen == 0 || tlen == 0) {
		ui_note("usage: /msg TARGET TEXT");
		return;
	}
	if (!target_arg(arg, nlen, name))
		return;
	roster_add(name);
	/* Use the text as typed, trailing spaces included. */
	tlen = (size_t)(line + len - text);
	issue_send(ui, name, text, tlen);
}

static void
slash_command(struct ui *ui, const char *line, size_t len)
{
	const char *arg;
	size_t wlen, alen, i;

	split(line + 1, len - 1, &wlen, &arg, &alen);
	/* Trailing spaces after an argument are not part of it. */
	while (alen > 0 && arg[alen - 1] == ' ')
		alen--;
#define IS(w) (wlen == strlen(w) && strncmp(line + 1, (w), wlen) == 0)
	if (IS("quit") || IS("exit"))
		ui_quit(ui);
	else if (IS("help") || IS("?"))
		for (i = 0; i < sizeof(help_text) / sizeof(help_text[0]); i++)
			ui_note("%s", help_text[i]);
	else if (IS("to"))
		cmd_to(ui, arg, alen);
	else if (IS("join"))
		cmd_room(ui, UI_K_JOIN, arg, alen);
	else if (IS("leave"))
		cmd_room(ui, UI_K_LEAVE, arg, alen);
	else if (IS("who"))
		cmd_room(ui, UI_K_WHO, arg, alen);
	else if (IS("rooms"))
		(void)ui_issue_simple(ui, UI_K_ROOMS, NULL, "ROOMS");
	else if (IS("history"))
		cmd_history(ui, arg, alen);
	else if (IS("msg"))
		cmd_msg(ui, line, len, arg, alen);
	else if (IS("e2e"))
		ui_e2e_toggle(ui, arg, alen);
	else
		ui_note("unknown command; /help lists them");
#undef IS
}

void
ui_input_line(struct ui *ui, const char *line, size_t len)
{
	if (len > 0 && line[0] == '/' && (len < 2 || line[1] != '/')) {
		slash_command(ui, line, len);
		return;
	}
	if (len > 1 && line[0] == '/')
		line++, len--;          /* "//x" sends "/x" */
	if (len == 0)
		return;
	if (ui->target[0] == '\0') {
		ui_note("no target; use /to NAME or /join #room first");
		return;
	}
	issue_send(ui, ui->target, line, len);
}
