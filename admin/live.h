/*
 * live: parleyctl's side of the control socket (server/control.h) — the
 * commands that act on a running parleyd.
 */
#ifndef PARLEY_LIVE_H
#define PARLEY_LIVE_H

#include <stdbool.h>
#include <stdio.h>

enum live_result {
	LIVE_OK,                /* the server answered OK */
	LIVE_REFUSED,           /* it answered ERR (printed to stderr) */
	LIVE_DOWN,              /* no server listening on the socket */
	LIVE_FAILED,            /* anything else (printed to stderr) */
};

/*
 * Send one command line to the server whose database is `database` and
 * copy the answer to out (data lines; the final OK line too when
 * `show_final`). Bounded: gives up after a few seconds.
 */
enum live_result live_command(const char *database, const char *line,
    FILE *out, bool show_final);

#endif
