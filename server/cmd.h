/*
 * cmd: the protocol's commands (SPEC §3), one handler each.
 *
 * The dispatcher tokenizes a line, checks that the command is allowed in
 * the connection's state and hands it to its handler. Every handler ends
 * with exactly one final line, now or — for commands that wait on the
 * store or a hash worker — when the job completes (the connection is held
 * busy meanwhile, see conn.h).
 */
#ifndef PARLEY_CMD_H
#define PARLEY_CMD_H

#include <stddef.h>

struct conn;

/* Handle one complete line (no LF; line[len] may be overwritten). */
void cmd_dispatch(struct conn *c, char *line, size_t len);

#endif
