/*
 * cmd_rooms: JOIN, LEAVE, ROOMS and WHO.
 *
 * Membership lives in the store; once a change is committed, route is told
 * so the room's online members hear JOINED or LEFT and room messages reach
 * the right sessions.
 */
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "cmd_int.h"
#include "conn.h"
#include "route.h"
#include "server.h"
#include "store.h"

/* Data lines of a listing are small; cap them like any output. */
#define LIST_MAX(c) (srv.cfg.max_output_bytes / 2)

static int
join_run(struct store *s, struct storage_job *sj)
{
	struct cmd_job *j = (struct cmd_job *)sj;

	return store_room_join(s, j->target, j->user, clock_now_ms(),
	    &j->created, &j->was_member);
}

static void
join_finish(struct cmd_job *j)
{
	if (j->sj.rc != STORE_OK) {
		/* The account vanished under the session (deleted). */
		conn_err(j->c, "UNAVAILABLE", "cannot join now");
		return;
	}
	if (!j->was_member && route_room_join(j->target, j->user) != 0)
		conn_close(j->c, "out of memory");
	conn_printf(j->c, "OK JOIN %s", j->target);
}

void
cmd_join(struct conn *c, struct line_cursor *lc)
{
	char room[NAMES_ROOM_MAX + 1];
	struct cmd_job *j;

	if (!cmd_arg_room(c, lc, room) || !cmd_no_more_args(c, lc))
		return;
	if ((j = cmd_job_new(c, join_run, join_finish, 0)) == NULL)
		return;
	snprintf(j->target, sizeof(j->target), "%s", room);
	cmd_job_submit(j);
}

static int
leave_run(struct store *s, struct storage_job *sj)
{
	struct cmd_job *j = (struct cmd_job *)sj;

	return store_room_leave(s, j->target, j->user);
}

static void
leave_finish(struct cmd_job *j)
{
	switch (j->sj.rc) {
	case STORE_OK:
		route_room_leave(j->target, j->user);
		conn_printf(j->c, "OK LEAVE %s", j->target);
		break;
	case STORE_NOT_FOUND:
		conn_err(j->c, "NO_SUCH_ROOM", "no such room");
		break;
	default:
		conn_err(j->c, "NOT_MEMBER", "you are not in that room");
		break;
	}
}

void
cmd_leave(struct conn *c, struct line_cursor *lc)
{
	char room[NAMES_ROOM_MAX + 1];
	struct cmd_job *j;

	if (!cmd_arg_room(c, lc, room) || !cmd_no_more_args(c, lc))
		return;
	if ((j = cmd_job_new(c, leave_run, leave_finish, 0)) == NULL)
		return;
	snprintf(j->target, sizeof(j->target), "%s", room);
	cmd_job_submit(j);
}

static int
room_line(void *ctx, const char *room, unsigned members)
{
	struct cmd_job *j = ctx;

	/* Past the cap the listing is cut short rather than overrun a reader. */
	if (buf_printf(&j->lines, "ROOM %s %u\n", room, members) != 0)
		return 1;
	j->count++;
	return 0;
}

static int
rooms_run(struct store *s, struct storage_job *sj)
{
	struct cmd_job *j = (struct cmd_job *)sj;

	buf_consume(&j->lines, buf_len(&j->lines));
	j->count = 0;
	return store_room_list(s, room_line, j);
}

static void
write_lines(struct cmd_job *j)
{
	if (buf_len(&j->lines) > 0)
		conn_write(j->c, buf_rptr(&j->lines), buf_len(&j->lines));
}

static void
rooms_finish(struct cmd_job *j)
{
	write_lines(j);
	conn_printf(j->c, "OK ROOMS %u", j->count);
}

void
cmd_rooms(struct conn *c, struct line_cursor *lc)
{
	struct cmd_job *j;

	if (!cmd_no_more_args(c, lc))
		return;
	if ((j = cmd_job_new(c, rooms_run, rooms_finish, LIST_MAX(c))) != NULL)
		cmd_job_submit(j);
}

static int
member_name(void *ctx, const char *user)
{
	struct cmd_job *j = ctx;

	if (buf_printf(&j->lines, "%s\n", user) != 0)
		return 1;
	j->count++;
	return 0;
}

static int
who_run(struct store *s, struct storage_job *sj)
{
	struct cmd_job *j = (struct cmd_job *)sj;

	buf_consume(&j->lines, buf_len(&j->lines));
	j->count = 0;
	return store_room_members(s, j->target, member_name, j);
}

static void
who_finish(struct cmd_job *j)
{
	char *p, *nl;
	size_t left, written = 0;
	unsigned n;

	if (j->sj.rc == STORE_NOT_FOUND) {
		conn_err(j->c, "NO_SUCH_ROOM", "no such room");
		return;
	}
	/* Online status is the loop's knowledge, added here. */
	p = (char *)buf_rptr(&j->lines);
	left = buf_len(&j->lines);
	/* The lines grow here: cap what is written, and count what was. */
	n = 0;
	while (left > 0 && (nl = memchr(p, '\n', left)) != NULL &&
	    written < LIST_MAX(j->c)) {
		*nl = '\0';
		written += strlen(j->target) + (size_t)(nl - p) + 17;
		conn_printf(j->c, "MEMBER %s %s %s", j->target, p,
		    route_user_online(p) ? "online" : "offline");
		n++;
		left -= (size_t)(nl + 1 - p);
		p = nl + 1;
	}
	conn_printf(j->c, "OK WHO %u", n);
}

void
cmd_who(struct conn *c, struct line_cursor *lc)
{
	char room[NAMES_ROOM_MAX + 1];
	struct cmd_job *j;

	if (!cmd_arg_room(c, lc, room) || !cmd_no_more_args(c, lc))
		return;
	if ((j = cmd_job_new(c, who_run, who_finish, LIST_MAX(c))) == NULL)
		return;
	snprintf(j->target, sizeof(j->target), "%s", room);
	cmd_job_submit(j);
}
