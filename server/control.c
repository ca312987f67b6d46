/*
 * control: parleyctl's live channel into the running server (control.h).
 *
 * Small on purpose: a handful of clients at a time, one short command each,
 * plain text on a local socket whose file mode and peer credentials are
 * the whole access control. Replies are queued with uv_write and the
 * client is closed once its command is answered.
 */
#include "control.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "line.h"
#include "log.h"
#include "names.h"
#include "route.h"
#include "server.h"
#include "stats.h"
#include "utf8.h"

#define CONTROL_CLIENTS_MAX 8
#define CONTROL_LINE_MAX    512
#define CONTROL_OUT_MAX     (1024 * 1024)

struct ctl_client {
	uv_pipe_t pipe;
	LIST_ENTRY(ctl_client) link;
	struct line_framer in;
	struct buf out;
	bool closing;
};

struct ctl_write {
	uv_write_t req;
	struct ctl_client *cl;
	char data[];
};

static struct {
	uv_pipe_t server;
	LIST_HEAD(, ctl_client) list;
	bool listening;
	unsigned clients;
	char path[PATH_MAX];
} ctl;

static void
on_client_closed(uv_handle_t *h)
{
	struct ctl_client *cl = h->data;

	LIST_REMOVE(cl, link);
	line_free(&cl->in);
	buf_free(&cl->out);
	free(cl);
	ctl.clients--;
}

static void
client_close(struct ctl_client *cl)
{
	if (!cl->closing) {
		cl->closing = true;
		uv_close((uv_handle_t *)&cl->pipe, on_client_closed);
	}
}

static void
on_written(uv_write_t *req, int status)
{
	struct ctl_write *w = (struct ctl_write *)req;

	(void)status;
	/* One command per connection: done once the answer is out. */
	client_close(w->cl);
	free(w);
}

static void
send_reply(struct ctl_client *cl)
{
	size_t len = buf_len(&cl->out);
	struct ctl_write *w = malloc(sizeof(*w) + (len ? len : 1));
	uv_buf_t b;

	if (w == NULL) {
		client_close(cl);
		return;
	}
	w->cl = cl;
	memcpy(w->data, buf_rptr(&cl->out), len);
	b = uv_buf_init(w->data, (unsigned)len);
	if (uv_write(&w->req, (uv_stream_t *)&cl->pipe, &b, 1, on_written)) {
		free(w);
		client_close(cl);
	}
}

static void
reply(struct ctl_client *cl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
reply(struct ctl_client *cl, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = buf_vprintf(&cl->out, fmt, ap);
	va_end(ap);
	/* Over the cap the listing is cut; the final line still fits. */
	(void)r;
}

static void
cmd_online(struct ctl_client *cl)
{
	struct route_user_info info[256];
	size_t n, i, total = 0, from = 0;

	do {
		n = route_list_users(from, info, 256);
		for (i = 0; i < n; i++)
			reply(cl, "USER %s %u\n", info[i].name,
			    info[i].sessions);
		from += n;
		total += n;
	} while (n == 256);
	reply(cl, "OK ONLINE %zu\n", total);
}

/*
 * KICK user [text]: BYE "kicked[: text]". CLOSE user text: BYE "text", for
 * parleyctl's account changes (password changed, account locked).
 */
static void
cmd_kick(struct ctl_client *cl, struct line_cursor *lc, bool kick)
{
	char tok[NAMES_USER_MAX + 2], user[NAMES_USER_MAX + 1];
	char reason[160] = "kicked";
	const char *text;
	size_t len, tlen;
	unsigned n;

	if (line_token(lc, tok, sizeof(tok), &len) != 1 ||
	    names_user_norm(tok, len, user) != 0) {
		reply(cl, "ERR BAD_ARGS expected a user name\n");
		return;
	}
	if (line_rest(lc, &text, &tlen)) {
		if (tlen > 128 || !utf8_text_ok(text, tlen)) {
			reply(cl, "ERR BAD_ARGS reason too long or not plain "
			    "text\n");
			return;
		}
		snprintf(reason, sizeof(reason), kick ? "kicked: %.*s" :
		    "%.*s", (int)tlen, text);
	}
	n = route_close_user(user, NULL, reason);
	log_info("control: kicked %s (%u sessions)", user, n);
	reply(cl, "OK KICK %s %u\n", user, n);
}

static void
cmd_stats(struct ctl_client *cl)
{
	struct stat_line lines[STATS_MAX];
	size_t i, n = stats_collect(lines, NULL);

	for (i = 0; i < n; i++)
		reply(cl, "STAT %s %llu\n", lines[i].name, lines[i].value);
	reply(cl, "OK STATS %zu\n", n);
}

static void
dispatch(struct ctl_client *cl, char *line, size_t len)
{
	struct line_cursor lc;
	char kw[16];
	size_t kwlen;

	line_cursor_init(&lc, line, len);
	if (line_token(&lc, kw, sizeof(kw), &kwlen) != 1)
		reply(cl, "ERR BAD_COMMAND unknown command\n");
	else if (!strcasecmp(kw, "ONLINE") && line_at_end(&lc))
		cmd_online(cl);
	else if (!strcasecmp(kw, "KICK"))
		cmd_kick(cl, &lc, true);
	else if (!strcasecmp(kw, "CLOSE"))
		cmd_kick(cl, &lc, false);
	else if (!strcasecmp(kw, "STATS") && line_at_end(&lc))
		cmd_stats(cl);
	else
		reply(cl, "ERR BAD_COMMAND unknown command\n");
	send_reply(cl);
}

static void
on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
	struct ctl_client *cl = h->data;
	size_t avail;
	uint8_t *p = line_wptr(&cl->in, &avail);

	(void)suggested;
	b->base = (char *)p;
	b->len = p ? avail : 0;
}

static void
on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
	struct ctl_client *cl = s->data;
	char *line;
	size_t len;

	(void)b;
	if (nread < 0) {
		client_close(cl);
		return;
	}
	line_produced(&cl->in, (size_t)nread);
	switch (line_next(&cl->in, &line, &len)) {
	case LINE_OK:
		uv_read_stop(s);
		dispatch(cl, line, len);
		break;
	case LINE_NEED_MORE:
		break;
	default:
		uv_read_stop(s);
		reply(cl, "ERR BAD_ARGS bad line\n");
		send_reply(cl);
		break;
	}
}

static bool
peer_allowed(uv_pipe_t *p)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	uv_os_fd_t fd;

	if (uv_fileno((uv_handle_t *)p, &fd) != 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0)
		return false;
	return cred.uid == 0 || cred.uid == getuid();
}

static void
on_connection(uv_stream_t *server, int status)
{
	struct ctl_client *cl;

	if (status < 0)
		return;
	cl = calloc(1, sizeof(*cl));
	if (cl == NULL)
		return;
	if (uv_pipe_init(server->loop, &cl->pipe, 0) != 0) {
		free(cl);
		return;
	}
	cl->pipe.data = cl;
	LIST_INSERT_HEAD(&ctl.list, cl, link);
	line_init(&cl->in, CONTROL_LINE_MAX);
	buf_init(&cl->out, CONTROL_OUT_MAX);
	ctl.clients++;
	if (uv_accept(server, (uv_stream_t *)&cl->pipe) != 0 ||
	    ctl.clients > CONTROL_CLIENTS_MAX || !peer_allowed(&cl->pipe)) {
		log_warn("control: connection refused");
		client_close(cl);
		return;
	}
	if (uv_read_start((uv_stream_t *)&cl->pipe, on_alloc, on_read) != 0)
		client_close(cl);
}

int
control_start(uv_loop_t *loop, const char *path)
{
	mode_t old;
	int r;

	snprintf(ctl.path, sizeof(ctl.path), "%s", path);
	if ((r = uv_pipe_init(loop, &ctl.server, 0)) != 0)
		goto fail;
	/* A socket left by a killed server: nothing listens on it. */
	if (unlink(path) != 0 && errno != ENOENT) {
		r = uv_translate_sys_error(errno);
		uv_close((uv_handle_t *)&ctl.server, NULL);
		goto fail;
	}
	/* Created 0600 from the start: no window with a wider mode. */
	old = umask(0177);
	r = uv_pipe_bind(&ctl.server, path);
	umask(old);
	if (r == 0)
		r = uv_listen((uv_stream_t *)&ctl.server, 16, on_connection);
	if (r != 0) {
		uv_close((uv_handle_t *)&ctl.server, NULL);
		goto fail;
	}
	/* The socket must not keep the loop alive at shutdown. */
	uv_unref((uv_handle_t *)&ctl.server);
	ctl.listening = true;
	log_info("control socket %s", path);
	return 0;
fail:
	log_error("control socket %s: %s", path, uv_strerror(r));
	return -1;
}

void
control_stop(void)
{
	struct ctl_client *cl;

	LIST_FOREACH(cl, &ctl.list, link)
		client_close(cl);
	if (!ctl.listening)
		return;
	ctl.listening = false;
	uv_close((uv_handle_t *)&ctl.server, NULL);
	unlink(ctl.path);
}
