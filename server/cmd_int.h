/*
 * cmd_int: what the command handlers share — argument helpers and the
 * handler prototypes that cmd.c puts in its table. Internal to cmd*.c.
 */
#ifndef PARLEY_CMD_INT_H
#define PARLEY_CMD_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "line.h"
#include "parley_limits.h"
#include "storage.h"

struct conn;

/*
 * A command that reads or writes the store: run() fills in the job on the
 * storage thread, finish() answers on the loop thread (also when the
 * connection has closed meanwhile — its writes then go nowhere — so it
 * can bring in-memory state up to date; not after STORE_ERROR, which is
 * answered for it). The connection is resumed after it. Data lines
 * are collected in `lines`, capped at lines_max bytes.
 */
struct cmd_job {
	struct storage_job sj;
	struct conn *c;
	void (*finish)(struct cmd_job *j);
	char user[NAMES_USER_MAX + 1];          /* the caller */
	char target[NAMES_ROOM_MAX + 1];        /* user or #room argument */
	bool is_room;
	bool created, was_member;               /* JOIN */
	unsigned limit;
	uint64_t num;                           /* before-id, since-id */
	unsigned count;                         /* data lines in `lines` */
	uint64_t last;                          /* last message id seen */
	uint8_t bin[32];                        /* token hash, public key */
	char text[96];                          /* token, reason text */
	int64_t when;                           /* token expiry */
	struct buf lines;
};

/* A job for c's command (NULL and ERR UNAVAILABLE sent when out of memory). */
struct cmd_job *cmd_job_new(struct conn *c, storage_run_fn run,
    void (*finish)(struct cmd_job *j), size_t lines_max);

/* Hold c busy and queue the job. */
void cmd_job_submit(struct cmd_job *j);

/* Each returns false after answering ERR BAD_ARGS. */
bool cmd_no_more_args(struct conn *c, struct line_cursor *lc);
bool cmd_arg_user(struct conn *c, struct line_cursor *lc,
    char out[NAMES_USER_MAX + 1]);
bool cmd_arg_room(struct conn *c, struct line_cursor *lc,
    char out[NAMES_ROOM_MAX + 1]);
/* A user name or a #room: *is_room tells which. */
bool cmd_arg_target(struct conn *c, struct line_cursor *lc,
    char out[NAMES_ROOM_MAX + 1], bool *is_room);
/* An optional unsigned number: *present false when absent. */
bool cmd_arg_u64(struct conn *c, struct line_cursor *lc, uint64_t *v,
    bool *present);

void cmd_send(struct conn *c, struct line_cursor *lc);
void cmd_join(struct conn *c, struct line_cursor *lc);
void cmd_leave(struct conn *c, struct line_cursor *lc);
void cmd_rooms(struct conn *c, struct line_cursor *lc);
void cmd_who(struct conn *c, struct line_cursor *lc);
void cmd_history(struct conn *c, struct line_cursor *lc);
void cmd_sync(struct conn *c, struct line_cursor *lc);
void cmd_resume(struct conn *c, struct line_cursor *lc);
void cmd_passwd(struct conn *c, struct line_cursor *lc);
void cmd_token(struct conn *c, struct line_cursor *lc);
void cmd_setkey(struct conn *c, struct line_cursor *lc);
void cmd_getkey(struct conn *c, struct line_cursor *lc);
void cmd_kick(struct conn *c, struct line_cursor *lc);
void cmd_stats(struct conn *c, struct line_cursor *lc);

#endif
