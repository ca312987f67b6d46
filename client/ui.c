/*
 * ui: the interactive chat's loop.
 *
 * One poll() loop watches standard input and the server. On a terminal,
 * input goes through libedit (term.c) so the line being typed survives
 * incoming messages; with piped input, lines are read as they come
 * (handy for scripts and tests) and the end of input quits. The
 * connection is a link (link.c): when it drops, the loop keeps reading
 * the terminal, reconnects when the backoff says so, and the catch-up
 * shows what was missed.
 *
 * Signals only set flags; the loop acts on them: SIGINT, SIGTERM and
 * SIGHUP quit politely (QUIT, terminal restored), SIGWINCH tells libedit
 * the new width, SIGTSTP (Ctrl-Z) gives the terminal back before
 * stopping.
 */
#include "ui.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "creds.h"
#include "roster.h"
#include "term.h"
#include "ui_int.h"

static volatile sig_atomic_t sig_quit, sig_winch, sig_stop;

static void
on_signal(int sig)
{
	if (sig == SIGWINCH)
		sig_winch = 1;
	else if (sig == SIGTSTP)
		sig_stop = 1;
	else
		sig_quit = 1;
}

static void
catch_signals(bool tty)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: poll() returns and the loop looks at the flags. */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	if (tty) {
		sigaction(SIGWINCH, &sa, NULL);
		sigaction(SIGTSTP, &sa, NULL);
	}
}

/* ---- input ---------------------------------------------------------- */

/* A line from libedit; NULL is Ctrl-D on an empty line. */
static void
term_line(void *arg, const char *line)
{
	struct ui *ui = arg;

	if (line == NULL)
		ui_quit(ui);
	else
		ui_input_line(ui, line, strlen(line));
}

/* Piped input: handle complete lines while there is room to send. */
static void
drain_input(struct ui *ui)
{
	enum line_status st;
	char *line;
	size_t len;

	/* Lines waiting for a key go first: keep the order typed. */
	while (!ui->quit_sent && !ui->lost &&
	    ui_room_for(ui, UI_PENDING_RESERVE) &&
	    msgq_head(&ui->send_q) == NULL) {
		st = line_next(&ui->in, &line, &len);
		if (st == LINE_NEED_MORE)
			break;
		if (st == LINE_TOO_LONG)
			ui_note("input line too long; not sent");
		else if (st == LINE_BAD_UTF8)
			ui_note("input is not valid UTF-8; not sent");
		else
			ui_input_line(ui, line, len);
	}
	if (ui->stdin_eof && !ui->quit_sent && line_buffered(&ui->in) == 0 &&
	    msgq_head(&ui->send_q) == NULL)
		ui_quit(ui);
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
		return SESSION_EXIT_USAGE;
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

static void
update_prompt(const struct ui *ui)
{
	char p[NAMES_ROOM_MAX + 32];

	snprintf(p, sizeof(p), "%s%s%s> ", link_session(ui->l) == NULL ?
	    "(offline) " : "", ui->target[0] != '\0' ? ui->target : "",
	    ui->e2e ? " [e2e]" : "");
	term_set_prompt(p);
}

/* ---- the loop ------------------------------------------------------- */

/*
 * Handle what the server sent and what the user typed so far. Returns
 * SESSION_EXIT_OK to go on waiting, or an exit code.
 */
static int
handle(struct ui *ui)
{
	struct session *s = link_session(ui->l);
	int rc;

	if (s != NULL && !ui->tty)
		drain_input(ui);
	if (s != NULL && !ui->lost &&
	    session_pump(s, ui_line, ui) != SESSION_EXIT_OK)
		ui->lost = true;
	/* Keys that came in: show and send what waited for them, then go
	 * on with the piped lines that waited behind those. */
	if (s != NULL && !ui->lost) {
		ui_e2e_tick(ui);
		if (!ui->tty)
			drain_input(ui);
	}
	if (ui->finished)
		return SESSION_EXIT_OK;
	if (ui->lost) {
		ui->lost = false;
		if (ui->quit_sent)
			ui->finished = true;
		if (ui->finished)
			return SESSION_EXIT_OK;
		ui_drop_pending(ui);
		rc = link_down(ui->l);
		if (rc != SESSION_EXIT_OK)
			return rc;
	}
	return SESSION_EXIT_OK;
}

/* Keepalive: a PING after SESSION_KEEPALIVE_MS without sending. */
static int
keepalive(struct ui *ui, struct session *s)
{
	int timeout = SESSION_KEEPALIVE_MS - session_idle_ms(s);

	if (timeout > 0)
		return timeout;
	if (!ui->quit_sent && ui_room_for(ui, 1))
		(void)ui_issue_simple(ui, UI_K_PING, NULL, "PING");
	return SESSION_KEEPALIVE_MS;
}

static int
loop(struct ui *ui)
{
	struct pollfd p[2];
	struct session *s;
	int rc, timeout, n, nfds, in = -1;

	for (;;) {
		if (sig_stop) {
			sig_stop = 0;
			term_suspend();
		}
		if (sig_winch) {
			sig_winch = 0;
			term_resize();
		}
		if (sig_quit) {
			if (link_session(ui->l) != NULL && !ui->lost &&
			    !ui->quit_sent)
				(void)session_quit(link_session(ui->l));
			return SESSION_EXIT_OK;
		}
		if ((rc = handle(ui)) != SESSION_EXIT_OK)
			return rc;
		if (ui->finished)
			return SESSION_EXIT_OK;
		s = link_session(ui->l);
		if (s == NULL && link_wait_ms(ui->l) == 0) {
			rc = link_retry(ui->l);
			if (rc != SESSION_EXIT_OK && rc != LINK_AGAIN)
				return rc;
			continue;
		}
		if (s == NULL && !ui->tty && ui->stdin_eof &&
		    line_buffered(&ui->in) == 0)
			return SESSION_EXIT_OK;
		update_prompt(ui);
		term_show();
		fflush(stdout);

		timeout = s != NULL ? keepalive(ui, s) : link_wait_ms(ui->l);
		if (ui->lost)
			continue;
		nfds = 0;
		/* Piped lines wait for the connection; typed ones do not. */
		if (!ui->quit_sent && ui_room_for(ui, UI_PENDING_RESERVE) &&
		    (ui->tty || (s != NULL && !ui->stdin_eof))) {
			p[nfds].fd = STDIN_FILENO;
			p[nfds].events = POLLIN;
			p[nfds].revents = 0;
			in = nfds++;
		} else {
			in = -1;
		}
		if (s != NULL) {
			p[nfds].fd = session_fd(s);
			p[nfds].events = POLLIN;
			p[nfds].revents = 0;
			nfds++;
		}
		n = poll(p, (nfds_t)nfds, timeout);
		if (n < 0 && errno != EINTR) {
			session_errorf("poll: %s", strerror(errno));
			return SESSION_EXIT_LOST;
		}
		if (n > 0 && in >= 0 && p[in].revents != 0) {
			if (ui->tty)
				term_read();
			else if ((rc = read_stdin(ui)) != SESSION_EXIT_OK)
				return rc;
		}
	}
}

int
ui_main(const struct session_opts *o)
{
	struct link_hooks hooks = { ui_on_msg, ui_on_event, ui_on_notice };
	struct creds *cr = NULL;
	struct ui ui;
	unsigned i;
	int rc = SESSION_EXIT_USAGE;

	memset(&ui, 0, sizeof(ui));
	ui.me = o->user;
	ui.tty = term_wanted();
	setvbuf(stdout, NULL, _IOLBF, 0);
	line_init(&ui.in, LINE_MAX_DEFAULT);
	if (ui_e2e_init(&ui, o) != 0)
		goto out;

	/* Kept for reconnecting; wiped by creds_free(). */
	cr = creds_new(o, true);
	if (cr == NULL || (ui.l = link_new(o, cr, &hooks, &ui, true)) == NULL)
		goto out;
	rc = link_open(ui.l);
	if (rc != SESSION_EXIT_OK)
		goto out;
	catch_signals(ui.tty);
	if (ui.tty) {
		if (term_start("> ", ui_commands, term_line, &ui) != 0) {
			rc = SESSION_EXIT_USAGE;
			goto out;
		}
		session_set_reporter(ui_report);
	}
	ui_note("logged in as %s; /help lists the commands", o->user);
	/* The rooms there are, for TAB completion. */
	(void)ui_issue_simple(&ui, UI_K_ROOMS_QUIET, NULL, "ROOMS");
	rc = loop(&ui);
out:
	term_stop();
	session_set_reporter(NULL);
	link_free(ui.l);
	ui_e2e_free(&ui);
	creds_free(cr);
	for (i = 0; i < UI_PENDING_MAX; i++)
		free(ui.q[i].text);
	line_free(&ui.in);
	roster_clear();
	fflush(stdout);
	return rc;
}
