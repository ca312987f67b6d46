/*
 * control: the local control socket for parleyctl's live commands.
 *
 * A Unix stream socket, mode 0600, in the database's folder
 * (paths.h: parleyd.sock). Only the server's own user and root may use it (checked
 * with SO_PEERCRED as well as by the file mode). One command per line,
 * answered in the protocol's style: data lines, then OK or ERR.
 *   ONLINE             -> USER <name> <sessions> ... OK ONLINE <n>
 *   KICK <user> [text] -> OK KICK <user> <sessions>   (BYE kicked: text)
 *   CLOSE <user> <text> -> OK KICK <user> <sessions>  (BYE text)
 *   STATS              -> STAT <name> <value> ...    OK STATS <n>
 */
#ifndef PARLEY_CONTROL_H
#define PARLEY_CONTROL_H

#include <stddef.h>
#include <uv.h>

/* Listen on path (a stale socket file is replaced). 0 or -1 (logged). */
int control_start(uv_loop_t *loop, const char *path)
	__attribute__((warn_unused_result));

/* Stop listening, close clients, remove the socket file. */
void control_stop(void);

#endif
