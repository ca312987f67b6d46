/*
 * Every size and time cap parley uses, in one place. Values that the
 * operator can change live in config.h with these as their defaults or
 * hard bounds; the rest are fixed protocol or implementation limits.
 */
#ifndef PARLEY_PARLEY_LIMITS_H
#define PARLEY_PARLEY_LIMITS_H

#define PARLEY_DEFAULT_PORT        7667
#define PARLEY_ALPN                "parley/1"

/* Names (SPEC §1). Buffers hold the name plus NUL. */
#define NAMES_USER_MAX             32
#define NAMES_ROOM_MAX             65      /* '#' + 64 */

/* Passwords: code points, never truncated. */
#define PASSWORD_MIN_DEFAULT       15
#define PASSWORD_MAX_CODEPOINTS    128
#define PASSWORD_MAX_BYTES         (PASSWORD_MAX_CODEPOINTS * 4)

/* Line framing. */
#define LINE_MAX_DEFAULT           8192
#define LINE_MAX_MIN               512
#define LINE_MAX_MAX               (1024 * 1024)

/* Output. */
#define OUTPUT_MAX_DEFAULT         (1024 * 1024)

/* HISTORY and SYNC page sizes (SPEC §3). */
#define HISTORY_LIMIT_DEFAULT      50
#define HISTORY_LIMIT_MAX          500
#define SYNC_LIMIT_MAX             500

/* Commands handled per connection before yielding to other peers. */
#define CONN_COMMANDS_PER_TURN     64
/* SEND commands one connection may have waiting for the store at once. */
#define CONN_MAX_INFLIGHT_SENDS    64

/* TLS 1.3 KeyUpdates accepted between two application records. */
#define CONN_KEY_UPDATES_MAX       32

/* Hash jobs waiting for a thread, per allowed concurrent hash. */
#define AUTH_QUEUE_PER_WORKER      16

#endif
