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

#include <stdbool.h>
#include <stddef.h>

struct conn;

/* Handle one complete line (no LF; line[len] may be overwritten). */
void cmd_dispatch(struct conn *c, char *line, size_t len);

/* True for a line that may be pipelined behind SENDs (a SEND itself). */
bool cmd_pipelines(const char *line, size_t len);

/*
 * Answer ERR now, or — when SENDs of c are still in the store — after
 * them, through the store's queue, so the final lines keep their order.
 */
void cmd_err_ordered(struct conn *c, const char *code, const char *text);

#endif
