/*
 * term: line editing for the interactive mode, with libedit.
 *
 * The prompt and the line being typed stay at the bottom; anything the
 * program prints goes above them. The rule for callers: call term_hide()
 * before writing to stdout, term_show() once the batch is written. Typed
 * lines arrive through the callback given to term_start(), from inside
 * term_read(), which the caller runs whenever poll() says stdin is
 * readable. TAB completes slash commands and the names in roster.c.
 */
#ifndef PARLEY_CLIENT_TERM_H
#define PARLEY_CLIENT_TERM_H

#include <stdbool.h>

/* A typed line (NUL-terminated, without the newline), or NULL at EOF. */
typedef void term_line_cb(void *arg, const char *line);

/* True when line editing applies: stdin and stdout are terminals. */
bool term_wanted(void);

/*
 * Take over the terminal. commands is a NULL-terminated list of slash
 * commands ("/join", ...) for completion; it must outlive the session.
 * Returns 0, or -1 when libedit cannot start (reported).
 */
int term_start(const char *prompt, const char *const *commands,
    term_line_cb *cb, void *arg) __attribute__((warn_unused_result));

/* Give the terminal back as it was. Safe to call when not started. */
void term_stop(void);

/* stdin is readable: let libedit take what is there. */
void term_read(void);

/* Clear the prompt line(s) from the screen, keeping what was typed. */
void term_hide(void);

/* Draw the prompt and the typed text again (after term_hide or a line). */
void term_show(void);

/* Use a new prompt (copied) from the next term_show() on. */
void term_set_prompt(const char *prompt);

/* The terminal was resized (SIGWINCH). */
void term_resize(void);

/*
 * Stop the process the way Ctrl-Z should (SIGTSTP caught by the caller):
 * the terminal is restored first and taken over again on SIGCONT.
 */
void term_suspend(void);

#endif
