/*
 * names: user and room name rules (SPEC §1).
 *
 * Users: [a-z][a-z0-9_.-]{0,31}. Rooms: '#' then [a-z0-9][a-z0-9_.-]{0,63}.
 * Both are matched case-insensitively (ASCII) and stored lowercase.
 */
#ifndef PARLEY_NAMES_H
#define PARLEY_NAMES_H

#include <stdbool.h>
#include <stddef.h>
#include "parley_limits.h"

/*
 * Check s[0..len) as a user name and write its lowercase form, NUL-ended,
 * to out (NAMES_USER_MAX + 1 bytes). Returns 0, or -1 if not a valid name
 * (out is then an empty string).
 */
int names_user_norm(const char *s, size_t len, char out[NAMES_USER_MAX + 1]);

/* The same for a room name including its '#' (out: NAMES_ROOM_MAX + 1). */
int names_room_norm(const char *s, size_t len, char out[NAMES_ROOM_MAX + 1]);

/* True when s[0..len) is a valid user / room name in any case. */
bool names_user_valid(const char *s, size_t len);
bool names_room_valid(const char *s, size_t len);

#endif
