/*
 * session: one client connection to parleyd (SPEC §1–3).
 *
 * Resolves and connects with a timeout, runs the TLS handshake with the
 * server certificate and host name always verified, waits for HELLO and
 * logs in (password or client certificate). Afterwards it reads and writes
 * protocol lines with deadlines, over a non-blocking socket driven by
 * poll(). What the lines mean is left to the callers (cli.c, ui.c); this
 * module only tells final lines (OK/ERR) from events and data lines.
 *
 * Failures are reported here, once, as one "parley: ..." line on stderr,
 * and turned into the documented exit codes below.
 */
#ifndef PARLEY_CLIENT_SESSION_H
#define PARLEY_CLIENT_SESSION_H

#include <stdbool.h>
#include <stddef.h>

#include "parley_limits.h"

#define SESSION_WUR __attribute__((warn_unused_result))

/* Exit codes of the parley program (documented in --help). */
enum session_exit {
	SESSION_EXIT_OK = 0,
	SESSION_EXIT_USAGE = 1,         /* bad arguments or local input */
	SESSION_EXIT_CONNECT = 2,       /* refused, unreachable, timeout */
	SESSION_EXIT_TLS = 3,           /* handshake or verification failed */
	SESSION_EXIT_AUTH = 4,          /* login refused */
	SESSION_EXIT_REFUSED = 5,       /* a command got ERR */
	SESSION_EXIT_LOST = 6,          /* connection lost */
};

/* Timeouts in milliseconds. */
#define SESSION_CONNECT_TIMEOUT_MS   15000
#define SESSION_HANDSHAKE_TIMEOUT_MS 15000
#define SESSION_ANSWER_TIMEOUT_MS    60000
/* A PING after this much silence keeps the server's idle_timeout away. */
#define SESSION_KEEPALIVE_MS         60000
/* Longest line accepted from the server (a MSG may exceed max_line_bytes). */
#define SESSION_LINE_MAX             (LINE_MAX_DEFAULT * 4)

struct session;

struct session_opts {
	const char *host;
	const char *port;
	const char *cafile;             /* NULL: the system trust store */
	const char *cert;               /* client certificate, or NULL */
	const char *key;
	const char *user;               /* already checked with names.h */
	bool password_stdin;
};

/*
 * A line handler: on_event of session_start() gets every event line
 * (HELLO, MSG, JOINED, LEFT, PRESENCE, BYE) during any later wait; the
 * handlers passed to session_await() and session_pump() get the others.
 * line is NUL-terminated and valid only during the call.
 */
typedef void session_line_cb(void *arg, const char *line, size_t len);

/* A parsed MSG or HIST line; the strings are NUL-terminated copies. */
struct session_msg {
	char id[24];
	char time[40];
	char from[NAMES_USER_MAX + 1];
	char to[NAMES_ROOM_MAX + 1];
	const char *text;               /* points into the line, not ended */
	size_t text_len;
};

/*
 * Connect, verify, read HELLO, obtain the password (unless a client
 * certificate is used) and log in. on_event (may be NULL) is kept for the
 * session's life and gets events from every later wait. On success sets
 * *out and returns SESSION_EXIT_OK; otherwise prints why and returns the
 * exit code. The password is wiped from memory before returning.
 */
int session_start(const struct session_opts *o, session_line_cb *on_event,
    void *arg, struct session **out) SESSION_WUR;

/* Send QUIT, wait briefly for OK QUIT, close. Returns an exit code. */
int session_quit(struct session *s);

/* Close (close_notify when possible) and free. NULL is a no-op. */
void session_free(struct session *s);

/*
 * Say that QUIT was sent: the server closing the connection from now on
 * is expected and not reported (a BYE still is).
 */
void session_expect_close(struct session *s);

/* The socket, for poll() by the caller. */
int session_fd(const struct session *s);

/*
 * Send one line; the LF is added here. Returns SESSION_EXIT_OK or
 * SESSION_EXIT_LOST (reported).
 */
int session_send(struct session *s, const char *line, size_t len) SESSION_WUR;
int session_sendf(struct session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3))) SESSION_WUR;

/*
 * Read one line, waiting at most timeout_ms (-1: forever, 0: only what is
 * already buffered or readable now). Returns 1 with *line (NUL-terminated,
 * valid until the next read) and *len, 0 when none arrived in time, or -1
 * when the connection is gone (reported; the exit code is
 * SESSION_EXIT_LOST). A BYE line is remembered for that report.
 */
int session_read_line(struct session *s, int timeout_ms, char **line,
    size_t *len) SESSION_WUR;

/*
 * Wait for the final line (OK/ERR) of the oldest outstanding command.
 * Events go to the session's on_event, data lines to on_data (may be
 * NULL). Returns SESSION_EXIT_OK with *line and *len set (valid until the next
 * read), or SESSION_EXIT_LOST (reported) on loss or timeout.
 */
int session_await(struct session *s, session_line_cb *on_data, void *arg,
    char **line, size_t *len) SESSION_WUR;

/*
 * Handle every line already received, without waiting: events go to the
 * session's on_event, all other lines (final and data lines) to on_line
 * (may be NULL). Afterwards nothing readable is left inside the session,
 * so poll() on session_fd() tells when more arrives. Returns
 * SESSION_EXIT_OK or SESSION_EXIT_LOST (reported).
 */
int session_pump(struct session *s, session_line_cb *on_line, void *arg)
	SESSION_WUR;

/* Milliseconds since the last line was sent (for keepalive PINGs). */
int session_idle_ms(const struct session *s);

/* True when the line is an OK or ERR final line. */
bool session_is_final(const char *line, size_t len);

/* True when the line is an event (HELLO MSG JOINED LEFT PRESENCE BYE). */
bool session_is_event(const char *line, size_t len);

/* True when the line's first token equals kw (ASCII, case-insensitive). */
bool session_keyword_is(const char *line, size_t len, const char *kw);

/*
 * Parse "MSG <id> <time> <from> <to> <text>" or the same with HIST.
 * Returns 0, or -1 when a field is missing or malformed.
 */
int session_parse_msg(const char *line, size_t len, struct session_msg *m)
	SESSION_WUR;

/*
 * Print "parley: <what>: <human text> (<CODE>)" for an ERR line, with the
 * server's text escaped.
 */
void session_report_err(const char *what, const char *line, size_t len);

/* Print "parley: " and the message on stderr, as one line. */
void session_errorf(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

#endif
