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

#include "parley_limits.h"

struct conn;

/*
 * Register c (logged in as conn_user(c)) as a session. If it is the user's
 * first session, rooms[0..nrooms) are the rooms they are a member of (as
 * stored) and everyone sharing one of them gets "PRESENCE <user> online".
 * Returns 1 for a first session, 0 for another, -1 when out of memory.
 */
int route_session_add(struct conn *c, const char (*rooms)[NAMES_ROOM_MAX + 1],
    size_t nrooms) __attribute__((warn_unused_result));

/*
 * Unregister c. With the user's last session they go offline: users
 * sharing a room get "PRESENCE <user> offline".
 */
void route_session_remove(struct conn *c);

/* True when user has at least one session. */
bool route_user_online(const char *user);

/*
 * Membership changes of an online user (after the store committed them):
 * the room's other online members get "JOINED <room> <user>" or
 * "LEFT <room> <user>". Returns 0, or -1 when out of memory.
 */
int route_room_join(const char *room, const char *user);
void route_room_leave(const char *room, const char *user);

/*
 * Queue line[0..len) to every session of every online member of room
 * except the session `except`. Returns the number of sessions reached.
 */
unsigned route_to_room(const char *room, struct conn *except,
    const char *line, size_t len);

/*
 * Queue line[0..len) (whole lines with LFs) to every session of user
 * except `except` (may be NULL). Returns the number of sessions reached.
 */
unsigned route_to_user(const char *user, struct conn *except,
    const char *line, size_t len);

/* Sessions user has now (0: offline). */
unsigned route_user_sessions(const char *user);

/* Users online now, their sessions, and rooms with a member online. */
unsigned route_users_online(void);
unsigned route_sessions(void);
unsigned route_rooms_online(void);

struct route_user_info {
	char name[NAMES_USER_MAX + 1];
	unsigned sessions;
};

/*
 * Copy up to max online users, skipping the first `from` in the table's
 * order, into out. Returns how many were copied (fewer than max: done).
 */
size_t route_list_users(size_t from, struct route_user_info *out, size_t max);

/* Close every session of user with BYE <reason>; returns how many. */
unsigned route_close_user(const char *user, struct conn *except,
    const char *reason);

#endif
