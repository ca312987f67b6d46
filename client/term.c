/*
 * term: libedit in callback mode, kept out of the way of async output.
 *
 * Why libedit: its BSD licence lets parley be shipped on any terms
 * (GNU readline is GPL and would bind the whole client), and it offers
 * readline's callback interface (rl_callback_handler_install() /
 * rl_callback_read_char()), so the client keeps one poll() loop over the
 * terminal and the server socket instead of blocking inside readline().
 *
 * Printing above the prompt: libedit redraws its line from scratch with
 * rl_forced_update_display(), assuming the cursor stands at the start of
 * an empty line. term_hide() creates that situation: it moves the cursor
 * up to the prompt's first row (rows computed from the terminal width
 * and the display width of prompt + text before the cursor) and clears to
 * the end of the screen. Whatever is printed then lands where the prompt
 * was, and term_show() draws prompt and typed text again below it.
 *
 * libedit (20221030) leaves "unbuffered" mode after delivering a line, so
 * the next rl_callback_read_char() would block for a whole line; the
 * handler is therefore installed again after each line (term_show()).
 * libedit's own signal handlers are off (rl_catch_signals = 0): the
 * caller handles SIGINT, SIGTERM, SIGWINCH and SIGTSTP in its loop.
 */
#include "term.h"

#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <wchar.h>

#include <editline/readline.h>

#include "roster.h"
#include "session.h"

#define PROMPT_MAX 128

enum term_state {
	TERM_OFF,                       /* not started */
	TERM_SHOWN,                     /* prompt and text on screen */
	TERM_HIDDEN,                    /* cleared by term_hide() */
	TERM_DONE,                      /* a line was delivered */
};

static enum term_state state = TERM_OFF;
static char prompt[PROMPT_MAX];
static term_line_cb *line_cb;
static void *line_arg;
static const char *const *commands;
static char *resume_text;               /* typed before Ctrl-Z */

bool
term_wanted(void)
{
	return isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
}

static int
columns(void)
{
	struct winsize ws;

	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	return 80;
}

/* Columns taken by s[0..len) on the terminal. */
static size_t
width(const char *s, size_t len)
{
	mbstate_t st;
	size_t w = 0, n;
	wchar_t wc;
	int cw;

	memset(&st, 0, sizeof(st));
	while (len > 0) {
		n = mbrtowc(&wc, s, len, &st);
		if (n == (size_t)-1 || n == (size_t)-2) {
			/* Shown by libedit as an escape; count a column. */
			memset(&st, 0, sizeof(st));
			n = 1;
			cw = 1;
		} else {
			if (n == 0)
				n = 1;
			cw = wcwidth(wc);
			if (cw < 0)
				cw = 2;         /* control: "^X" */
		}
		w += (size_t)cw;
		s += n;
		len -= n;
	}
	return w;
}

/* Move up to the first row of text that is w columns wide, and clear. */
static void
erase_rows(size_t w, size_t extra)
{
	size_t up = w / (size_t)columns() + extra;

	fputc('\r', stdout);
	if (up > 0)
		printf("\033[%zuA", up);
	fputs("\033[J", stdout);
}

/* ---- completion ------------------------------------------------- */

static unsigned complete_mask;          /* what complete_next() offers */
static bool complete_commands;

static char *
complete_next(const char *text, int st)
{
	static size_t idx;
	const char *const *c;
	const char *m;
	size_t n, tl = strlen(text);

	if (st == 0)
		idx = 0;
	if (complete_commands) {
		for (c = commands, n = 0; *c != NULL; c++) {
			if (strncmp(*c, text, tl) != 0)
				continue;
			if (n++ == idx) {
				idx++;
				return strdup(*c);
			}
		}
		return NULL;
	}
	m = roster_match(complete_mask, text, idx++);
	return m != NULL ? strdup(m) : NULL;
}

/*
 * What to offer depends on where the word stands: the first word of a
 * line starting with '/' is a command; after /join, /leave or /who a
 * room; after /msg or /to a user or room; anywhere else a name.
 */
static char **
complete(const char *text, int start, int end)
{
	const char *line = rl_line_buffer;
	size_t wl;

	(void)end;
	rl_attempted_completion_over = 1;       /* never file names */
	complete_commands = false;
	complete_mask = ROSTER_USERS | ROSTER_ROOMS;
	if (start == 0 && text[0] == '/') {
		complete_commands = true;
	} else if (line != NULL && line[0] == '/') {
		wl = strcspn(line, " ");
		if ((int)wl < start && strchr(line + wl, ' ') != NULL &&
		    strspn(line + wl, " ") + wl == (size_t)start) {
			if ((wl == 5 && strncmp(line, "/join", 5) == 0) ||
			    (wl == 6 && strncmp(line, "/leave", 6) == 0) ||
			    (wl == 4 && strncmp(line, "/who", 4) == 0))
				complete_mask = ROSTER_ROOMS;
		}
	} else if (text[0] == '#') {
		complete_mask = ROSTER_ROOMS;
	}
	return rl_completion_matches(text, complete_next);
}

/* ---- lines ------------------------------------------------------ */

static void
on_line(char *line)
{
	state = TERM_DONE;
	if (line == NULL) {
		/* Ctrl-D on an empty line: libedit may have shown "^D". */
		fputs("\r\033[K", stdout);
		line_cb(line_arg, NULL);
		return;
	}
	/* The chat shows what was sent; take the typed copy away. */
	erase_rows(strlen(prompt) + width(line, strlen(line)), 1);
	if (line[strspn(line, " ")] != '\0')
		add_history(line);
	line_cb(line_arg, line);
	free(line);
}

int
term_start(const char *p, const char *const *cmds, term_line_cb *cb,
    void *arg)
{
	/* libedit needs the locale to edit UTF-8 text. */
	setlocale(LC_CTYPE, "");
	line_cb = cb;
	line_arg = arg;
	commands = cmds;
	rl_catch_signals = 0;
	rl_catch_sigwinch = 0;
	rl_readline_name = "parley";
	rl_attempted_completion_function = complete;
	rl_basic_word_break_characters = " \t";
	if (rl_initialize() != 0) {
		session_errorf("cannot set up line editing");
		return -1;
	}
	using_history();
	stifle_history(500);
	snprintf(prompt, sizeof(prompt), "%s", p);
	state = TERM_DONE;
	return 0;
}

void
term_stop(void)
{
	if (state == TERM_OFF)
		return;
	term_hide();
	rl_callback_handler_remove();
	clear_history();
	free(resume_text);
	resume_text = NULL;
	fflush(stdout);
	state = TERM_OFF;
}

void
term_read(void)
{
	if (state == TERM_OFF)
		return;
	if (state != TERM_SHOWN)
		term_show();
	rl_callback_read_char();
}

void
term_hide(void)
{
	if (state != TERM_SHOWN)
		return;
	erase_rows(strlen(prompt) + width(rl_line_buffer ? rl_line_buffer :
	    "", rl_point > 0 ? (size_t)rl_point : 0), 0);
	state = TERM_HIDDEN;
}

void
term_show(void)
{
	fflush(stdout);
	if (state == TERM_HIDDEN) {
		rl_set_prompt(prompt);
		rl_forced_update_display();
	} else if (state == TERM_DONE) {
		rl_callback_handler_install(prompt, on_line);
		if (resume_text != NULL) {
			rl_insert_text(resume_text);
			free(resume_text);
			resume_text = NULL;
			/* Redraw from column 0 over the fresh prompt. */
			fputs("\r\033[K", stdout);
			rl_forced_update_display();
		}
	} else {
		return;
	}
	state = TERM_SHOWN;
	fflush(stdout);
}

void
term_set_prompt(const char *p)
{
	if (strcmp(p, prompt) == 0)
		return;
	/* Redraw with the new prompt: it may be shorter or longer. */
	term_hide();
	snprintf(prompt, sizeof(prompt), "%s", p);
}

void
term_resize(void)
{
	if (state == TERM_OFF)
		return;
	rl_resize_terminal();
}

void
term_suspend(void)
{
	struct sigaction sa, old;

	if (state == TERM_OFF) {
		raise(SIGSTOP);
		return;
	}
	term_hide();
	fflush(stdout);
	free(resume_text);
	resume_text = rl_line_buffer != NULL && rl_line_buffer[0] != '\0' ?
	    strdup(rl_line_buffer) : NULL;
	rl_callback_handler_remove();
	/* Stop for real, with the default action, then take over again. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTSTP, &sa, &old);
	raise(SIGTSTP);
	sigaction(SIGTSTP, &old, NULL);
	state = TERM_DONE;
}
