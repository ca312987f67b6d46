/*
 * link: a session that survives a dropped connection (listen and the
 * interactive mode).
 *
 * When the connection drops, the link waits (exponential backoff with
 * jitter, 0.5 s doubling up to 30 s), connects and logs in again, then
 * catches up with SYNC from the highest message id it has seen, so a drop
 * loses no message. Every message, live (MSG) or caught up (HIST), goes
 * through a filter of the ids already shown, so none is shown twice.
 *
 * It does not reconnect after a refused login or a certificate problem,
 * nor when the server said "BYE kicked..." or "BYE too many failed
 * logins"; "BYE server shutting down", idle timeouts and plain drops do
 * reconnect.
 *
 * Before anything is seen, the "highest id" is the newest message visible
 * to the user when the link first logged in, found with a few SYNC probes
 * (a galloping search: about 2 log2(newest id) round trips of one line).
 */
#ifndef PARLEY_CLIENT_LINK_H
#define PARLEY_CLIENT_LINK_H

#include <stdbool.h>
#include <stdint.h>

#include "session.h"

/* link_retry(): this attempt failed, another one is scheduled. */
#define LINK_AGAIN (-1)

/* Backoff bounds in milliseconds. */
#define LINK_BACKOFF_FIRST_MS 500
#define LINK_BACKOFF_MAX_MS   30000
/* A connection that lasted this long resets the backoff. */
#define LINK_STABLE_MS        10000
/* How many shown ids are remembered for the duplicate filter. */
#define LINK_RECENT           1024

struct link;
struct creds;

struct link_hooks {
	/*
	 * A message not shown before: live (a MSG event) or caught up
	 * after a reconnect (caught_up). m is valid during the call only.
	 */
	void (*on_msg)(void *arg, const struct proto_msg *m, bool caught_up);
	/* Every other event line (JOINED, LEFT, PRESENCE, BYE...). */
	session_line_cb *on_event;
	/* A notice about the link ("reconnecting in 2.1 s"). */
	void (*on_notice)(void *arg, const char *text);
};

/*
 * A link for o, logging in with cr (both must outlive it). hooks is
 * copied. With reconnect false it behaves like a plain session: a drop
 * ends it. Returns NULL when out of memory (reported).
 */
struct link *link_new(const struct session_opts *o, struct creds *cr,
    const struct link_hooks *hooks, void *arg, bool reconnect)
	__attribute__((warn_unused_result));

/* Close without QUIT and free. NULL is a no-op. */
void link_free(struct link *l);

/*
 * First connection: connect, log in, and (when reconnecting) find the
 * starting point for later catch-ups. Returns an exit code; failures are
 * reported and final.
 */
int link_open(struct link *l) __attribute__((warn_unused_result));

/* The live session, or NULL while disconnected. */
struct session *link_session(const struct link *l);

/*
 * Call when a call on the session returned SESSION_EXIT_LOST. Frees the
 * session. Returns SESSION_EXIT_OK when a reconnect is scheduled, or the
 * exit code that ends the program.
 */
int link_down(struct link *l) __attribute__((warn_unused_result));

/* Milliseconds until the next attempt is due (0: now). */
int link_wait_ms(const struct link *l);

/*
 * One reconnect attempt, blocking for at most the connect and handshake
 * timeouts. Returns SESSION_EXIT_OK when connected and caught up,
 * LINK_AGAIN when another attempt is scheduled, or a final exit code.
 */
int link_retry(struct link *l) __attribute__((warn_unused_result));

/* Sleep and retry until connected (or a final failure). */
int link_reconnect(struct link *l) __attribute__((warn_unused_result));

/*
 * Remember an id the caller showed itself (the id of its own OK SEND),
 * so a catch-up does not show that message again.
 */
void link_note_shown(struct link *l, uint64_t id);

/* Parse a decimal message id. Returns 0, or -1 when it is not one. */
int link_parse_id(const char *s, uint64_t *id)
	__attribute__((warn_unused_result));

#endif
