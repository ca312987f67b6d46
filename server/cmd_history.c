/*
 * cmd_history: HISTORY and SYNC, the commands that read messages back.
 *
 * Both answer with HIST data lines, oldest first. A page is also capped in
 * bytes (half the output cap) so a page of long messages cannot push the
 * reader over max_output_bytes: HISTORY then drops its oldest lines (the
 * client pages further back with before-id), SYNC stops early (the client
 * goes on from last-id). Either way the count in the final line is exact.
 */
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "cmd_int.h"
#include "conn.h"
#include "server.h"
#include "store.h"

static size_t
page_bytes(void)
{
	return srv.cfg.max_output_bytes / 2;
}

static int
hist_line(void *ctx, const struct store_msg *m)
{
	struct cmd_job *j = ctx;
	char ts[CLOCK_RFC3339_LEN];

	if (buf_printf(&j->lines, "HIST %llu %s %s %s %.*s\n",
	    (unsigned long long)m->id, clock_rfc3339(m->time_ms, ts), m->from,
	    m->to, (int)m->text_len, m->text) != 0)
		return 1;
	j->count++;
	j->last = m->id;
	return 0;
}

static int
history_run(struct store *s, struct storage_job *sj)
{
	struct cmd_job *j = (struct cmd_job *)sj;

	buf_consume(&j->lines, buf_len(&j->lines));
	j->count = 0;
	return store_history(s, j->user, j->target, j->limit, j->num,
	    hist_line, j);
}

static void
history_finish(struct cmd_job *j)
{
	const char *p;
	size_t len;

	switch (j->sj.rc) {
	case STORE_OK:
		break;
	case STORE_NOT_FOUND:
		conn_err(j->c, j->is_room ? "NO_SUCH_ROOM" : "NO_SUCH_USER",
		    j->is_room ? "no such room" : "no such user");
		return;
	default:
		conn_err(j->c, "NOT_MEMBER", "you are not in that room");
		return;
	}
	/* Keep the newest lines that fit the page. */
	p = (const char *)buf_rptr(&j->lines);
	len = buf_len(&j->lines);
	while (len > page_bytes()) {
		const char *nl = memchr(p, '\n', len);

		len -= (size_t)(nl + 1 - p);
		p = nl + 1;
		j->count--;
	}
	if (len > 0)
		conn_write(j->c, p, len);
	conn_printf(j->c, "OK HISTORY %u", j->count);
}

void
cmd_history(struct conn *c, struct line_cursor *lc)
{
	char target[NAMES_ROOM_MAX + 1];
	uint64_t limit = HISTORY_LIMIT_DEFAULT, before = 0;
	bool is_room, have;
	struct cmd_job *j;

	if (!cmd_arg_target(c, lc, target, &is_room) ||
	    !cmd_arg_u64(c, lc, &limit, &have) ||
	    (have && !cmd_arg_u64(c, lc, &before, &have)) ||
	    !cmd_no_more_args(c, lc))
		return;
	if (limit == 0) {
		conn_err(c, "BAD_ARGS", "limit must be at least 1");
		return;
	}
	if (limit > HISTORY_LIMIT_MAX)
		limit = HISTORY_LIMIT_MAX;
	/*
	 * The store reads before-id 0 as "no bound"; a client that sends 0
	 * asks for ids below 0, of which there are none (ids start at 1).
	 */
	if (have && before == 0)
		before = 1;
	/* Room for every line the store may return; trimmed when answering. */
	j = cmd_job_new(c, history_run, history_finish,
	    (size_t)limit * (srv.cfg.max_line_bytes + 128));
	if (j == NULL)
		return;
	snprintf(j->target, sizeof(j->target), "%s", target);
	j->is_room = is_room;
	j->limit = (unsigned)limit;
	j->num = before;
	cmd_job_submit(j);
}

static int
sync_line(void *ctx, const struct store_msg *m)
{
	struct cmd_job *j = ctx;
	size_t before = buf_len(&j->lines);
	uint64_t last = j->last;

	if (hist_line(ctx, m) != 0)
		return 1;
	/* Past the page: take the line back, unless it is the only one. */
	if (buf_len(&j->lines) > page_bytes() && j->count > 1) {
		buf_unappend(&j->lines, buf_len(&j->lines) - before);
		j->count--;
		j->last = last;
		return 1;
	}
	return 0;
}

static int
sync_run(struct store *s, struct storage_job *sj)
{
	struct cmd_job *j = (struct cmd_job *)sj;

	buf_consume(&j->lines, buf_len(&j->lines));
	j->count = 0;
	j->last = j->num;
	return store_sync(s, j->user, j->num, j->limit, sync_line, j);
}

static void
sync_finish(struct cmd_job *j)
{
	if (buf_len(&j->lines) > 0)
		conn_write(j->c, buf_rptr(&j->lines), buf_len(&j->lines));
	conn_printf(j->c, "OK SYNC %u %llu", j->count,
	    (unsigned long long)j->last);
}

void
cmd_sync(struct conn *c, struct line_cursor *lc)
{
	uint64_t since = 0, limit = SYNC_LIMIT_MAX;
	bool have;
	struct cmd_job *j;

	if (!cmd_arg_u64(c, lc, &since, &have))
		return;
	if (!have) {
		conn_err(c, "BAD_ARGS", "usage: SYNC <since-id> [limit]");
		return;
	}
	if (!cmd_arg_u64(c, lc, &limit, &have) || !cmd_no_more_args(c, lc))
		return;
	if (limit == 0) {
		conn_err(c, "BAD_ARGS", "limit must be at least 1");
		return;
	}
	if (limit > SYNC_LIMIT_MAX)
		limit = SYNC_LIMIT_MAX;
	j = cmd_job_new(c, sync_run, sync_finish,
	    page_bytes() + srv.cfg.max_line_bytes + 128);
	if (j == NULL)
		return;
	j->num = since;
	j->limit = (unsigned)limit;
	cmd_job_submit(j);
}
