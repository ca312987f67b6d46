/*
 * roster: the user and room names the interactive client has come
 * across (messages, WHO, ROOMS, JOINED/LEFT, PRESENCE), for tab
 * completion. Bounded: past ROSTER_MAX names of a kind, new ones are not
 * kept. One roster per process.
 */
#ifndef PARLEY_CLIENT_ROSTER_H
#define PARLEY_CLIENT_ROSTER_H

#include <stddef.h>

#define ROSTER_MAX 1024

#define ROSTER_USERS 0x1
#define ROSTER_ROOMS 0x2

/* Remember a user name or #room (checked with names.h; else ignored). */
void roster_add(const char *name);

/*
 * The idx-th (from 0) known name of the kinds in mask that starts with
 * prefix, users before rooms, each kind in sorted order; NULL past the
 * last. The string stays valid until roster_add() or roster_clear().
 */
const char *roster_match(unsigned mask, const char *prefix, size_t idx);

/* Forget everything (frees the names). */
void roster_clear(void);

#endif
