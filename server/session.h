/*
 * session: what happens once a user is authenticated — registration as
 * online, the OK line, and delivery of the direct messages queued while
 * they were away.
 */
#ifndef PARLEY_SESSION_H
#define PARLEY_SESSION_H

struct conn;

/*
 * Start the session of c as user (role: enum store_role) and answer
 * "OK <verb> <user>", followed by the user's queued direct messages.
 * c must be busy (conn_busy); it is resumed when the backlog is out.
 */
void session_start(struct conn *c, const char *user, int role,
    const char *verb);

#endif
