/*
 * conn: one client connection — the TLS pump and the session state machine.
 *
 * libuv owns the socket; OpenSSL works on memory BIOs. Ciphertext read from
 * the socket goes into the read BIO, plaintext comes out of SSL_read into
 * the line framer, and each complete line goes to the command dispatcher
 * (cmd.h). Replies and events are appended to a bounded plaintext output
 * buffer and encrypted and written once per loop turn, so many lines share
 * one TLS record and one syscall.
 *
 * States: HANDSHAKE -> GREETED -> AUTHENTICATING -> READY -> CLOSING,
 * changed only by conn_enter_state(). A command that waits for another
 * thread (login, store) holds the connection busy: later lines stay
 * buffered until it finishes, so final lines keep the commands' order.
 *
 * Lifetime: the connection is freed after its handles are closed and every
 * job holding a reference (conn_ref) has released it (conn_unref). A job
 * that completes on a closing connection just drops its result.
 */
#ifndef PARLEY_CONN_H
#define PARLEY_CONN_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "parley_limits.h"

enum conn_state {
	CONN_S_HANDSHAKE,
	CONN_S_GREETED,
	CONN_S_AUTHENTICATING,
	CONN_S_READY,
	CONN_S_CLOSING,
};

struct conn;
struct session;

/* Set up the connection subsystem (flush and work handles) on the loop. */
int conn_init(uv_loop_t *loop) __attribute__((warn_unused_result));

/*
 * Accept a pending connection from server into a new struct conn and start
 * the TLS handshake. Returns 0, or a negative libuv error (nothing to free).
 */
int conn_accept(uv_stream_t *server);

/* Number of open connections. */
unsigned conn_count(void);

/* Send BYE <reason> to every connection and close them all (shutdown). */
void conn_close_all(const char *reason);

/* Release the subsystem's handles once every connection is gone. */
void conn_fini(void);

uint64_t conn_id(const struct conn *c);
enum conn_state conn_state(const struct conn *c);
void conn_enter_state(struct conn *c, enum conn_state s);
const char *conn_peer(const struct conn *c);       /* "addr:port" */
const char *conn_user(const struct conn *c);       /* "" before login */
int conn_role(const struct conn *c);
bool conn_closing(const struct conn *c);

/* The connection's TLS object (an SSL *): version, cipher, peer cert. */
void *conn_ssl(struct conn *c);

/*
 * Queue a protocol line (LF added) for the peer. Past max_output_bytes the
 * line is dropped and the connection closed with "BYE slow consumer" —
 * later, in the flush pass, never inside this call, so callers may write
 * to many connections while walking shared tables. Returns 0, or -1 when
 * the line was not queued.
 */
int conn_printf(struct conn *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Queue bytes that already hold whole lines with their LFs. */
int conn_write(struct conn *c, const void *data, size_t len);

/* Final line helpers: "ERR <code> <text>". */
void conn_err(struct conn *c, const char *code, const char *text);

/*
 * Mark the connection busy with an asynchronous command (no further lines
 * are processed) and release it again. conn_resume() schedules processing
 * of buffered lines on a later loop turn.
 */
void conn_busy(struct conn *c);
void conn_resume(struct conn *c);

/*
 * Call fn(c, arg) once, on a later loop turn, when c's pending output is
 * down to a quarter of max_output_bytes — or right away, with c closing,
 * if c closes first (fn must check conn_closing). One callback at a time.
 * For producers of bulk output (a backlog of messages) that must not
 * overrun a reader.
 */
typedef void (*conn_writable_fn)(struct conn *c, void *arg);
void conn_when_writable(struct conn *c, conn_writable_fn fn, void *arg);

/*
 * Pipelined SENDs: a SEND in the store does not hold the connection busy;
 * up to CONN_MAX_INFLIGHT_SENDS may wait at once, and any other line
 * waits until they are all answered (so final lines stay in order).
 * conn_send_begin() when one is submitted, conn_send_end() when answered.
 */
void conn_send_begin(struct conn *c);
void conn_send_end(struct conn *c);
unsigned conn_sends(const struct conn *c);

/* Log in: record the user, start the session timers, enter READY. */
void conn_set_user(struct conn *c, const char *user, int role);
struct session *conn_session(struct conn *c);
void conn_set_session(struct conn *c, struct session *s);

/* The peer's address key for per-address limits (16 bytes). */
const unsigned char *conn_ipkey(const struct conn *c);

/* Take one message from the messages_per_second bucket; false if empty. */
bool conn_rate_ok(struct conn *c);

/* Count a failed login; returns the number so far on this connection. */
unsigned conn_failed_login(struct conn *c);

/* Keep the struct alive across an asynchronous job. */
void conn_ref(struct conn *c);
void conn_unref(struct conn *c);

/*
 * Close: with a reason, send "BYE <reason>" first; then TLS close_notify,
 * flush (bounded in time) and close. Safe to call more than once and from
 * any callback: freeing is deferred.
 */
void conn_close(struct conn *c, const char *bye_reason);

/* Close after QUIT: the final line is already queued, no BYE. */
void conn_quit(struct conn *c);

#endif
