/*
 * clock: wall-clock milliseconds and RFC 3339 timestamps (SPEC §1).
 */
#ifndef PARLEY_CLOCK_H
#define PARLEY_CLOCK_H

#include <stddef.h>
#include <stdint.h>

/* Bytes of "2026-11-25T14:53:42.123Z" plus NUL. */
#define CLOCK_RFC3339_LEN 25

/* Milliseconds since the Unix epoch (CLOCK_REALTIME). */
int64_t clock_now_ms(void);

/* Write ms as "YYYY-MM-DDTHH:MM:SS.mmmZ" (UTC) into out; returns out. */
char *clock_rfc3339(int64_t ms, char out[CLOCK_RFC3339_LEN]);

#endif
