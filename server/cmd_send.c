/*
 * cmd_send: SEND to a user or a room.
 *
 * The message is stored first (the store checks that the recipient exists
 * or that the sender is a member of the room and assigns the id); only
 * after the commit does the sender get "OK SEND <id>" and do the
 * recipients get the MSG line, formatted once for all of them. A direct
 * message also sits in the recipient's offline queue until a live session
 * has it, so a recipient who is offline, or goes offline meanwhile, gets
 * it at the next login.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "cmd.h"
#include "cmd_int.h"
#include "conn.h"
#include "log.h"
#include "route.h"
#include "server.h"
#include "storage.h"
#include "store.h"
#include "utf8.h"

struct send_job {
	struct storage_job sj;
	struct conn *c;
	bool room;
	char from[NAMES_USER_MAX + 1];
	char to[NAMES_ROOM_MAX + 1];
	int64_t time_ms;
	uint64_t id;
	size_t len;
	char text[];
};

struct ack_job {
	struct storage_job sj;
	char user[NAMES_USER_MAX + 1];
	uint64_t id;
};

static int
ack_run(struct store *s, struct storage_job *sj)
{
	struct ack_job *a = (struct ack_job *)sj;

	return store_pending_done(s, a->user, a->id);
}

static void
ack_done(struct storage_job *sj)
{
	free(sj);
}

/* The recipient got the message live: take it off their offline queue. */
static void
ack_delivered(const char *user, uint64_t id)
{
	struct ack_job *a = calloc(1, sizeof(*a));

	/* Without the ack it is only delivered again at the next login. */
	if (a == NULL)
		return;
	/* Direct-message targets are user names: they fit. */
	memcpy(a->user, user, strnlen(user, sizeof(a->user) - 1));
	a->id = id;
	a->sj.run = ack_run;
	a->sj.done = ack_done;
	storage_submit(&a->sj);
}

static int
send_run(struct store *s, struct storage_job *sj)
{
	struct send_job *j = (struct send_job *)sj;

	if (j->room)
		return store_room_append(s, j->from, j->to, j->text, j->len,
		    j->time_ms, &j->id);
	return store_dm_append(s, j->from, j->to, j->text, j->len, j->time_ms,
	    &j->id);
}

static void
deliver(struct send_job *j)
{
	char ts[CLOCK_RFC3339_LEN];
	char *line;
	int n;

	n = asprintf(&line, "MSG %llu %s %s %s %.*s\n",
	    (unsigned long long)j->id, clock_rfc3339(j->time_ms, ts), j->from,
	    j->to, (int)j->len, j->text);
	if (n < 0)
		return;         /* stored: SYNC, HISTORY and login still have it */
	if (j->room) {
		route_to_room(j->to, j->c, line, (size_t)n);
	} else if (strcmp(j->from, j->to) == 0) {
		route_to_user(j->from, j->c, line, (size_t)n);
		ack_delivered(j->to, j->id);
	} else {
		if (route_to_user(j->to, NULL, line, (size_t)n) > 0)
			ack_delivered(j->to, j->id);
		route_to_user(j->from, j->c, line, (size_t)n);
	}
	free(line);
}

static void
send_done(struct storage_job *sj)
{
	struct send_job *j = (struct send_job *)sj;
	struct conn *c = j->c;
	bool open = !conn_closing(c);

	switch (sj->rc) {
	case STORE_OK:
		srv.stats.msgs_stored++;
		if (open)
			conn_printf(c, "OK SEND %llu", (unsigned long long)j->id);
		deliver(j);
		break;
	case STORE_NOT_FOUND:
		if (open)
			conn_err(c, j->room ? "NO_SUCH_ROOM" : "NO_SUCH_USER",
			    j->room ? "no such room" : "no such user");
		break;
	case STORE_NOT_MEMBER:
		if (open)
			conn_err(c, "NOT_MEMBER", "you are not in that room");
		break;
	default:
		if (open)
			conn_err(c, "UNAVAILABLE", "message not stored, try again");
		break;
	}
	conn_send_end(c);
	conn_unref(c);
	free(j);
}

void
cmd_send(struct conn *c, struct line_cursor *lc)
{
	char to[NAMES_ROOM_MAX + 1];
	struct send_job *j;
	const char *text;
	size_t tlen;
	bool room;

	if (!cmd_arg_target(c, lc, to, &room))
		return;
	if (!line_rest(lc, &text, &tlen) || tlen == strspn(text, " ")) {
		cmd_err_ordered(c, "BAD_ARGS", "empty message");
		return;
	}
	if (!utf8_text_ok(text, tlen)) {
		cmd_err_ordered(c, "BAD_ARGS",
		    "message holds control characters");
		return;
	}
	j = malloc(sizeof(*j) + tlen);
	if (j == NULL) {
		cmd_err_ordered(c, "UNAVAILABLE", "out of memory");
		return;
	}
	memset(j, 0, sizeof(*j));
	j->c = c;
	j->room = room;
	snprintf(j->from, sizeof(j->from), "%s", conn_user(c));
	snprintf(j->to, sizeof(j->to), "%s", to);
	j->time_ms = clock_now_ms();
	j->len = tlen;
	memcpy(j->text, text, tlen);
	j->sj.run = send_run;
	j->sj.done = send_done;
	conn_ref(c);
	conn_send_begin(c);
	storage_submit(&j->sj);
}
