/*
 * session: from "authenticated" to "online", and the offline backlog.
 *
 * The first storage job notes the newest queued message id (the backlog's
 * upper bound) and reads the first page. Its completion registers the
 * session with route — from then on new direct messages are delivered
 * live, and, since completions run in commit order, every one of them has
 * an id above the bound — then answers OK and writes the page. Further
 * pages are read only when the client has drained its output, and each
 * page is acknowledged (removed from the queue) by the job that reads the
 * next, so a connection lost halfway loses nothing.
 */
#include "session.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "clock.h"
#include "conn.h"
#include "log.h"
#include "route.h"
#include "server.h"
#include "storage.h"
#include "store.h"

struct backlog {
	struct storage_job sj;
	struct conn *c;
	char user[NAMES_USER_MAX + 1];
	char verb[16];
	int role;
	bool started;                   /* session registered, OK sent */
	uint64_t acked;                 /* queue removed up to here */
	uint64_t from;                  /* last id written to the client */
	uint64_t last;                  /* run output: last id of this page */
	uint64_t upto;                  /* backlog bound, 0 before the first run */
	unsigned count;                 /* messages in this page */
	char (*rooms)[NAMES_ROOM_MAX + 1]; /* first run: the user's rooms */
	size_t nrooms, rooms_cap;
	bool oom;
	size_t page_max;                /* bytes per page */
	struct buf lines;               /* this page, formatted */
};

static void backlog_done(struct storage_job *sj);

static void
backlog_free(struct backlog *b)
{
	free(b->rooms);
	buf_free(&b->lines);
	conn_unref(b->c);
	free(b);
}

static int
format_msg(void *ctx, const struct store_msg *m)
{
	struct backlog *b = ctx;
	char ts[CLOCK_RFC3339_LEN];

	if (buf_printf(&b->lines, "MSG %llu %s %s %s %.*s\n",
	    (unsigned long long)m->id, clock_rfc3339(m->time_ms, ts), m->from,
	    m->to, (int)m->text_len, m->text) != 0)
		return 1;
	b->count++;
	b->last = m->id;
	return buf_len(&b->lines) >= b->page_max;
}

static int
add_room(void *ctx, const char *room, unsigned members)
{
	struct backlog *b = ctx;
	char (*grown)[NAMES_ROOM_MAX + 1];

	(void)members;
	if (b->nrooms == b->rooms_cap) {
		size_t cap = b->rooms_cap ? b->rooms_cap * 2 : 8;

		grown = realloc(b->rooms, cap * sizeof(*grown));
		if (grown == NULL) {
			b->oom = true;
			return 1;
		}
		b->rooms = grown;
		b->rooms_cap = cap;
	}
	snprintf(b->rooms[b->nrooms++], sizeof(b->rooms[0]), "%s", room);
	return 0;
}

static int
backlog_run(struct store *s, struct storage_job *sj)
{
	struct backlog *b = (struct backlog *)sj;
	uint64_t after = b->from;
	int rc;

	/* May run twice (batch retry): outputs start clean, inputs stay. */
	buf_consume(&b->lines, buf_len(&b->lines));
	b->count = 0;
	b->last = after;
	if (!b->started) {
		b->nrooms = 0;
		b->oom = false;
		rc = store_user_rooms(s, b->user, add_room, b);
		if (rc != STORE_OK || b->oom)
			return STORE_ERROR;
		rc = store_pending_max(s, b->user, &b->upto);
		if (rc != STORE_OK)
			return rc;
		if (b->upto == 0)
			return STORE_OK;
	}
	if (b->acked < after) {
		rc = store_pending_ack(s, b->user, after);
		if (rc != STORE_OK)
			return rc;
	}
	return store_pending_list(s, b->user, after, b->upto, 1000,
	    format_msg, b);
}

static int
ack_run(struct store *s, struct storage_job *sj)
{
	struct backlog *b = (struct backlog *)sj;

	return store_pending_ack(s, b->user, b->from);
}

static void
ack_done(struct storage_job *sj)
{
	struct backlog *b = (struct backlog *)sj;

	/* A failed ack only means the page is offered again next login. */
	if (sj->rc != STORE_OK)
		log_warn("backlog: could not acknowledge messages of %s",
		    b->user);
	backlog_free(b);
}

static void
next_page(struct conn *c, void *arg)
{
	struct backlog *b = arg;

	if (conn_closing(c)) {
		backlog_free(b);
		return;
	}
	storage_submit(&b->sj);
}

static void
backlog_done(struct storage_job *sj)
{
	struct backlog *b = (struct backlog *)sj;
	struct conn *c = b->c;

	if (sj->rc != STORE_OK) {
		if (!b->started && !conn_closing(c)) {
			conn_enter_state(c, CONN_S_GREETED);
			conn_err(c, "UNAVAILABLE", "store unavailable, try again");
			conn_resume(c);
		} else if (!conn_closing(c)) {
			/* Mid-backlog: the rest stays queued for next time. */
			log_warn("conn %llu: backlog read failed",
			    (unsigned long long)conn_id(c));
			conn_resume(c);
		}
		backlog_free(b);
		return;
	}
	/* Committed: what this run acknowledged is gone from the queue. */
	b->acked = b->from;
	b->from = b->last;
	if (conn_closing(c)) {
		backlog_free(b);
		return;
	}
	if (!b->started) {
		b->started = true;
		conn_set_user(c, b->user, b->role);
		if (route_session_add(c, b->rooms, b->nrooms) < 0) {
			conn_close(c, "out of memory");
			backlog_free(b);
			return;
		}
		conn_printf(c, "OK %s %s", b->verb, b->user);
	}
	if (b->count > 0) {
		conn_write(c, buf_rptr(&b->lines), buf_len(&b->lines));
		buf_shrink(&b->lines);
	}
	if (b->count > 0 && b->from < b->upto) {
		/* More to come once the client has read this page. */
		conn_when_writable(c, next_page, b);
		return;
	}
	conn_resume(c);
	if (b->from > b->acked) {
		/* Acknowledge the last page; the session goes on meanwhile. */
		b->sj.run = ack_run;
		b->sj.done = ack_done;
		storage_submit(&b->sj);
		return;
	}
	backlog_free(b);
}

void
session_start(struct conn *c, const char *user, int role, const char *verb)
{
	struct backlog *b = calloc(1, sizeof(*b));

	if (b == NULL) {
		conn_close(c, "out of memory");
		return;
	}
	b->c = c;
	conn_ref(c);
	snprintf(b->user, sizeof(b->user), "%s", user);
	snprintf(b->verb, sizeof(b->verb), "%s", verb);
	b->role = role;
	b->page_max = srv.cfg.max_output_bytes / 4;
	buf_init(&b->lines, b->page_max + srv.cfg.max_line_bytes + 256);
	b->sj.run = backlog_run;
	b->sj.done = backlog_done;
	storage_submit(&b->sj);
}
