/*
 * ui_int: what the three parts of the interactive mode share.
 *
 *   ui.c       the loop: poll() over stdin and the server, signals,
 *              reconnecting through link.c, start and end
 *   ui_cmd.c   what the user types: slash commands, text, and the FIFO of
 *              commands waiting for their OK/ERR
 *   ui_show.c  what the user sees: messages, events, notices, answers
 *   ui_e2e.c   end-to-end encryption: /e2e, opening messages in order
 *              while keys are fetched, sealing lines once they are
 *
 * Not a public interface: only the ui*.c files include it.
 */
#ifndef PARLEY_CLIENT_UI_INT_H
#define PARLEY_CLIENT_UI_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "keys.h"
#include "line.h"
#include "link.h"
#include "msgq.h"
#include "session.h"

#define UI_PENDING_MAX 64
/* Slots kept free for a keepalive PING and the final QUIT. */
#define UI_PENDING_RESERVE 2

enum ui_kind {
	UI_K_SEND,
	UI_K_JOIN,
	UI_K_LEAVE,
	UI_K_WHO,
	UI_K_ROOMS,
	UI_K_ROOMS_QUIET,               /* at start: names for completion */
	UI_K_HISTORY,
	UI_K_PING,
	UI_K_QUIT,
	UI_K_GETKEY,                    /* target: the peer */
};

/* A command sent and not answered yet. */
struct ui_pending {
	enum ui_kind kind;
	char target[NAMES_ROOM_MAX + 1];
	char *text;                     /* UI_K_SEND: echoed on OK */
	bool e2e;                       /* UI_K_SEND: it went encrypted */
};

struct ui {
	struct link *l;
	const char *me;
	bool tty;                       /* line editing (term.c) */
	char target[NAMES_ROOM_MAX + 1];        /* "" when none */
	struct ui_pending q[UI_PENDING_MAX];    /* ring, oldest at head */
	unsigned head, count;
	struct line_framer in;          /* piped input */
	bool stdin_eof;
	bool quit_sent;                 /* QUIT sent: the end is near */
	bool finished;                  /* OK QUIT arrived, or quit offline */
	bool lost;                      /* a send found the session gone */
	struct keys *keys;              /* end-to-end keys (ui_e2e.c) */
	bool e2e;                       /* /e2e on: direct messages sealed */
	struct msgq show_q;             /* messages waiting for a key */
	struct msgq send_q;             /* lines waiting for a key (m.to,
	                                 * m.text: recipient and text) */
};

/* ---- ui_show.c: output (each hides the prompt first) ---- */

/* A local notice: "-- text". */
void ui_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* session.c's reporter on a terminal: the report as an error notice. */
void ui_report(const char *msg);
/*
 * "HH:MM target sender: text" (with the date when with_date); op (may
 * be NULL) is what keys_open() made of it.
 */
void ui_show_msg(const struct ui *ui, const struct proto_msg *m,
    bool with_date, const struct keys_opened *op);
/* link.c hooks: a message not shown yet, another event, a notice. */
void ui_on_msg(void *arg, const struct proto_msg *m, bool caught_up);
void ui_on_event(void *arg, const char *line, size_t len);
void ui_on_notice(void *arg, const char *text);
/* Final and data lines from session_pump(); pops the FIFO on OK/ERR. */
void ui_line(void *arg, const char *line, size_t len);

/* ---- ui_cmd.c: input and the FIFO of commands sent ---- */

/* Whether the FIFO has room for one more command plus reserve. */
bool ui_room_for(const struct ui *ui, unsigned reserve);
/* Record and send a command without text. Returns 0, or -1 not sent. */
int ui_issue_simple(struct ui *ui, enum ui_kind kind, const char *target,
    const char *cmdline);
/*
 * Record and send "SEND target wire" (wire: the text or its envelope);
 * text is echoed on OK, marked encrypted when e2e. Returns 0 or -1.
 */
int ui_issue_send(struct ui *ui, const char *target, const char *text,
    size_t tlen, const char *wire, size_t wlen, bool e2e);
/* One line the user typed (no newline): a slash command or text. */
void ui_input_line(struct ui *ui, const char *line, size_t len);
/* Leave: QUIT when connected, else finish at once. */
void ui_quit(struct ui *ui);
/* Take the oldest command sent (NULL when none); its text stays owned
 * by the slot until the caller frees it. */
struct ui_pending *ui_pop(struct ui *ui);
/* The connection dropped: report unconfirmed messages, empty the FIFO. */
void ui_drop_pending(struct ui *ui);
/* The slash commands, NULL-terminated, for TAB completion. */
extern const char *const ui_commands[];

/* ---- ui_e2e.c: end-to-end encryption ---- */

/* Set up (keys for the account) and tear down. Init returns 0 or -1. */
int ui_e2e_init(struct ui *ui, const struct session_opts *o);
void ui_e2e_free(struct ui *ui);
/* A message to show (MSG or HIST): now, or in order once keys are in. */
void ui_e2e_show(struct ui *ui, const struct proto_msg *m, bool with_date);
/* The echo of an accepted SEND; e2e when it went encrypted. */
void ui_e2e_echo(struct ui *ui, const struct proto_msg *m, bool e2e);
/* A line for a user while /e2e is on: sealed once the key is in. */
void ui_e2e_send(struct ui *ui, const char *target, const char *text,
    size_t len);
/* The final line answering GETKEY peer. */
void ui_e2e_answer(struct ui *ui, const char *peer, const char *line,
    size_t len);
/* Show what can be shown, ask for missing keys, send sealed lines. */
void ui_e2e_tick(struct ui *ui);
/* /e2e [on|off]. */
void ui_e2e_toggle(struct ui *ui, const char *arg, size_t alen);

#endif
