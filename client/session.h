/*
 * session: one client connection to parleyd (SPEC §1–3).
 *
 * Resolves and connects with a timeout, runs the TLS handshake with the
 * server certificate and host name always verified, waits for HELLO and
 * logs in (resume token, password or client certificate). Afterwards
 * it reads and writes protocol lines with deadlines, over a non-blocking
 * socket driven by poll(). What the lines mean is left to the callers (cli.c, listen.c,
 * ui*.c, link.c, with proto.c); this module only routes events to the
 * session's handler and the other lines to the caller. Reconnecting is
 * link.c's business: a session ends with its connection.
 *
 * Failures are reported here, once, as one "parley: ..." line on stderr
 * (or through the reporter installed with session_set_reporter()), and
 * turned into the documented exit codes below.
 */
#ifndef PARLEY_CLIENT_SESSION_H
#define PARLEY_CLIENT_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "parley_limits.h"
#include "proto.h"

#define SESSION_WUR __attribute__((warn_unused_result))

/*
 * Exit codes of the parley program. They are part of its interface:
 * documented in --help and docs/CLIENT.md, never renumbered.
 */
enum session_exit {
	SESSION_EXIT_OK = 0,
	SESSION_EXIT_USAGE = 1,         /* bad arguments or local input */
	SESSION_EXIT_CONNECT = 2,       /* refused, unreachable, timeout */
	SESSION_EXIT_TLS = 3,           /* other TLS handshake failures */
	SESSION_EXIT_AUTH = 4,          /* login refused */
	SESSION_EXIT_REFUSED = 5,       /* a command got ERR */
	SESSION_EXIT_LOST = 6,          /* connection lost */
	SESSION_EXIT_UNKNOWN_CA = 7,    /* server certificate not trusted */
	SESSION_EXIT_NAME_MISMATCH = 8, /* certificate not for this host */
	SESSION_EXIT_EXPIRED = 9,       /* certificate expired / not yet valid */
	SESSION_EXIT_TLS_VERSION = 10,  /* no TLS version in common */
	SESSION_EXIT_KEY_CHANGED = 11,  /* a peer's e2e key changed */
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
struct creds;

struct session_opts {
	const char *host;
	const char *port;
	const char *cafile;             /* NULL: the system trust store */
	const char *cert;               /* client certificate, or NULL */
	const char *key;
	const char *user;               /* already checked with names.h */
	bool password_stdin;
	bool no_token;                  /* neither use nor store tokens */
};

/*
 * A line handler: on_event of session_start() gets every event line
 * (HELLO, MSG, JOINED, LEFT, PRESENCE, BYE) during any later wait; the
 * handlers passed to session_await() and session_pump() get the others.
 * line is NUL-terminated and valid only during the call.
 */
typedef void session_line_cb(void *arg, const char *line, size_t len);

/*
 * Connect, verify, read HELLO and log in with what cr provides (creds.h:
 * a stored token, a client certificate, or a password asked for on first
 * use), then fetch a new token when creds.c wants one. on_event
 * (may be NULL) is kept for the session's life and gets events from every
 * later wait, including MSG lines pushed right after the login. On success
 * sets *out and returns SESSION_EXIT_OK; otherwise reports why and returns
 * the exit code. A login the server may accept later (RATE_LIMITED,
 * UNAVAILABLE) gives SESSION_EXIT_REFUSED; a refused one SESSION_EXIT_AUTH.
 */
int session_start(const struct session_opts *o, struct creds *cr,
    session_line_cb *on_event, void *arg, struct session **out) SESSION_WUR;

/*
 * The reason text of a BYE received on this session (raw, as the server
 * sent it), or NULL when none came.
 */
const char *session_bye(const struct session *s);

/* CLOCK_MONOTONIC in milliseconds. */
int64_t session_now_ms(void);

/* Milliseconds since the session logged in. */
int64_t session_age_ms(const struct session *s);

/*
 * Where reports go. By default each is written to stderr as one
 * "parley: <msg>" line after stdout is flushed; the interactive mode
 * installs a function that prints above its prompt instead. msg holds
 * only printable text (network text in it is already escaped). NULL
 * restores the default.
 */
typedef void session_report_fn(const char *msg);
void session_set_reporter(session_report_fn *fn);

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
 * SESSION_EXIT_LOST). A BYE line is returned and remembered for that
 * report; since only the close follows a BYE, the next read reports the
 * connection closed without waiting for it.
 */
int session_read_line(struct session *s, int timeout_ms, char **line,
    size_t *len) SESSION_WUR;

/*
 * Wait for the final line (OK/ERR) of the oldest outstanding command.
 * Events go to the session's on_event, data lines to on_data (may be
 * NULL). Returns SESSION_EXIT_OK with *line and *len set (valid until
 * the next read), or SESSION_EXIT_LOST (reported) on loss or timeout.
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

/* Report a message (see session_set_reporter), as one line. */
void session_errorf(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

#endif
