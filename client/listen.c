/*
 * listen: print incoming messages, one line each, until --count of them
 * arrived or forever.
 *
 * The connection is a link (link.c): when it drops, listen reconnects
 * with backoff and catches up with SYNC, so a restart of the server loses
 * and repeats nothing; each message is printed exactly once. Reports
 * about the connection go to stderr, messages to stdout, flushed one by
 * one so a pipe reader sees each as it comes. --no-reconnect makes a drop
 * final (exit 6), for scripts that want to notice it.
 *
 * End-to-end encrypted direct messages are opened before they are
 * printed (keys.c). Messages arrive inside the link's waits, where no
 * command may be sent, so one that needs a sender's key that has not
 * been fetched yet is queued (msgq.c), and so is every message after it;
 * the queue is worked off between waits, with GETKEY, in order.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "creds.h"
#include "keys.h"
#include "link.h"
#include "msgq.h"
#include "record.h"

struct listen_state {
	unsigned long long want;        /* 0: forever */
	unsigned long long got;
	bool json;
	bool out_failed;
	struct keys *keys;
	struct msgq q;                  /* waiting for a key, in order */
};

static bool
listen_done(const struct listen_state *st)
{
	return st->out_failed || (st->want != 0 && st->got >= st->want);
}

static void
print_msg(struct listen_state *st, const struct proto_msg *m,
    const struct keys_opened *op)
{
	record_print(stdout, m, op, st->json);
	st->got++;
	if (fflush(stdout) != 0)
		st->out_failed = true;
}

/*
 * Show m now if nothing waits and no key must be fetched for it; else
 * queue it. final: no key can be fetched any more.
 */
static void
offer(struct listen_state *st, const struct proto_msg *m, bool final)
{
	struct keys_opened op;

	if (msgq_head(&st->q) == NULL &&
	    keys_open(st->keys, m, final, &op) == KEYS_OPEN_DONE) {
		print_msg(st, m, &op);
		keys_opened_clear(&op);
		return;
	}
	if (msgq_push(&st->q, m, 0) != 0) {
		/* Full: show it at once rather than lose it. */
		(void)keys_open(st->keys, m, true, &op);
		print_msg(st, m, &op);
		keys_opened_clear(&op);
	}
}

static void
listen_msg(void *arg, const struct proto_msg *m, bool caught_up)
{
	struct listen_state *st = arg;

	(void)caught_up;
	if (listen_done(st))
		return;
	offer(st, m, false);
}

/*
 * Show the queued messages, fetching keys as needed (s may be NULL: show
 * them as they are). Messages arriving meanwhile join the queue. Returns
 * SESSION_EXIT_OK or SESSION_EXIT_LOST.
 */
static int
flush(struct listen_state *st, struct session *s)
{
	struct keys_opened op;
	struct msgq_item *it;
	int rc;

	while ((it = msgq_head(&st->q)) != NULL && !listen_done(st)) {
		if (keys_open(st->keys, &it->m, s == NULL, &op) ==
		    KEYS_OPEN_FETCH) {
			rc = keys_fetch(st->keys, s,
			    keys_msg_peer(st->keys, &it->m));
			if (rc != SESSION_EXIT_OK)
				return rc;
			continue;
		}
		print_msg(st, &it->m, &op);
		keys_opened_clear(&op);
		msgq_pop(&st->q);
	}
	return SESSION_EXIT_OK;
}

/* Wait for messages until done; reconnect when the connection drops. */
static int
run(struct link *l, struct listen_state *st)
{
	struct session *s;
	bool ready;
	int rc;

	for (;;) {
		s = link_session(l);
		/* Final lines (OK PING) need no handling. */
		rc = session_pump(s, NULL, NULL);
		if (rc == SESSION_EXIT_OK)
			rc = flush(st, s);
		if (rc == SESSION_EXIT_OK && !listen_done(st))
			rc = cli_wait_input(s, -1, &ready);
		if (listen_done(st))
			return rc == SESSION_EXIT_LOST ? SESSION_EXIT_OK : rc;
		if (rc != SESSION_EXIT_LOST)
			continue;
		rc = link_down(l);
		if (rc == SESSION_EXIT_OK)
			rc = link_reconnect(l);
		if (rc != SESSION_EXIT_OK)
			return rc;
	}
}

/* JOIN each room, one command at a time. */
static int
join_rooms(struct session *s, char (*rooms)[NAMES_ROOM_MAX + 1], int n)
{
	char cmd[NAMES_ROOM_MAX + 8], *line;
	size_t len;
	int i, rc;

	for (i = 0; i < n; i++) {
		snprintf(cmd, sizeof(cmd), "JOIN %s", rooms[i]);
		rc = session_send(s, cmd, strlen(cmd));
		if (rc == SESSION_EXIT_OK)
			rc = session_await(s, NULL, NULL, &line, &len);
		if (rc != SESSION_EXIT_OK)
			return rc;
		if (!proto_keyword_is(line, len, "OK")) {
			proto_report_err("join failed", line, len);
			return SESSION_EXIT_REFUSED;
		}
	}
	return SESSION_EXIT_OK;
}

int
cli_listen(const struct session_opts *o, int argc, char **argv)
{
	char (*rooms)[NAMES_ROOM_MAX + 1] = NULL;
	struct listen_state st = { 0, 0, false, false, NULL, { 0 } };
	struct link_hooks hooks = { listen_msg, NULL, NULL };
	struct creds *cr = NULL;
	struct link *l = NULL;
	const char *count = NULL;
	bool reconnect = true;
	int i, nrooms = 0, rc;

	rooms = calloc((size_t)argc, sizeof(*rooms));
	if (rooms == NULL) {
		session_errorf("out of memory");
		return SESSION_EXIT_USAGE;
	}
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--count") == 0 ||
		    strcmp(argv[i], "-n") == 0) {
			if (++i >= argc)
				goto usage;
			count = argv[i];
		} else if (strncmp(argv[i], "--count=", 8) == 0) {
			count = argv[i] + 8;
		} else if (strcmp(argv[i], "--json") == 0) {
			st.json = true;
		} else if (strcmp(argv[i], "--no-reconnect") == 0) {
			reconnect = false;
		} else if (strcmp(argv[i], "--join") == 0) {
			if (++i >= argc)
				goto usage;
			rc = cli_parse_room("listen", argv[i], rooms[nrooms]);
			if (rc != SESSION_EXIT_OK)
				goto out;
			nrooms++;
		} else {
			goto usage;
		}
	}
	if (count != NULL && cli_parse_count(count, 1, ~0ULL, &st.want) != 0) {
		rc = cli_usage_err("listen", "--count needs a positive number");
		goto out;
	}

	rc = SESSION_EXIT_USAGE;
	msgq_init(&st.q);
	st.keys = keys_new(o, NULL, NULL);
	if (st.keys == NULL)
		goto out;
	cr = creds_new(o, reconnect);
	if (cr == NULL || (l = link_new(o, cr, &hooks, &st, reconnect)) ==
	    NULL)
		goto out;
	rc = link_open(l);
	if (rc == SESSION_EXIT_OK)
		rc = join_rooms(link_session(l), rooms, nrooms);
	if (rc == SESSION_EXIT_OK)
		rc = run(l, &st);
	/* What still waits for a key is shown as it is. */
	(void)flush(&st, NULL);
	if (link_session(l) != NULL && (rc == SESSION_EXIT_OK ||
	    rc == SESSION_EXIT_REFUSED))
		(void)session_quit(link_session(l));
	if (rc == SESSION_EXIT_OK)
		rc = cli_output_done();
	else
		fflush(stdout);
	goto out;
usage:
	rc = cli_usage_err("listen", "usage: listen [--count N] [--json] "
	    "[--join ROOM]... [--no-reconnect]");
out:
	link_free(l);
	creds_free(cr);
	msgq_clear(&st.q);
	keys_free(st.keys);
	free(rooms);
	return rc;
}
