/*
 * route: who is online, and delivery of lines to their sessions.
 *
 * A user is online while they have at least one logged-in connection (a
 * session). Delivery appends a preformatted line to each target session's
 * output, so a message is formatted once however many sessions get it.
 */
#ifndef PARLEY_ROUTE_H
#define PARLEY_ROUTE_H

#include <stdbool.h>
#include <stddef.h>

struct conn;

/*
 * Register c (logged in as conn_user(c)) as a session. Returns 1 if it is
 * the user's first session (they just came online), 0 if not, -1 when out
 * of memory.
 */
int route_session_add(struct conn *c) __attribute__((warn_unused_result));

/* Unregister c; the user goes offline with their last session. */
void route_session_remove(struct conn *c);

/*
 * Queue line[0..len) (whole lines with LFs) to every session of user
 * except `except` (may be NULL). Returns the number of sessions reached.
 */
unsigned route_to_user(const char *user, struct conn *except,
    const char *line, size_t len);

/* Sessions user has now (0: offline). */
unsigned route_user_sessions(const char *user);

/* Users online now. */
unsigned route_users_online(void);

/* Close every session of user with BYE <reason>; returns how many. */
unsigned route_close_user(const char *user, struct conn *except,
    const char *reason);

#endif
