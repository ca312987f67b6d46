/*
 * live: one request over the control socket, with a deadline.
 */
#include "live.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "paths.h"

#define LIVE_TIMEOUT_MS 5000
#define LIVE_REPLY_MAX  (1024 * 1024)

static int
send_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

enum live_result
live_command(const char *database, const char *line, FILE *out,
    bool show_final)
{
	static char reply[LIVE_REPLY_MAX + 1];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char path[PATH_MAX];
	size_t got = 0;
	int64_t deadline = clock_now_ms() + LIVE_TIMEOUT_MS;
	char *final, *nl;
	int fd;

	if (paths_beside(database, PATHS_CONTROL, path, sizeof(path)) != 0 ||
	    strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "parleyctl: control socket path too long\n");
		return LIVE_FAILED;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fprintf(stderr, "parleyctl: socket: %s\n", strerror(errno));
		return LIVE_FAILED;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		int e = errno;

		close(fd);
		if (e == ENOENT || e == ECONNREFUSED)
			return LIVE_DOWN;
		fprintf(stderr, "parleyctl: %s: %s\n", path, strerror(e));
		return LIVE_FAILED;
	}
	if (send_all(fd, line, strlen(line)) != 0 || send_all(fd, "\n", 1)) {
		fprintf(stderr, "parleyctl: %s: %s\n", path, strerror(errno));
		close(fd);
		return LIVE_FAILED;
	}
	/* The server closes after answering: read to EOF, bounded. */
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int64_t left = deadline - clock_now_ms();
		ssize_t n;

		if (left <= 0 || poll(&p, 1, (int)left) <= 0) {
			fprintf(stderr, "parleyctl: no answer from parleyd\n");
			close(fd);
			return LIVE_FAILED;
		}
		n = read(fd, reply + got, LIVE_REPLY_MAX - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
		if (got == LIVE_REPLY_MAX)
			break;
	}
	close(fd);
	reply[got] = '\0';
	/* The final line is the last complete one. */
	if (got == 0 || reply[got - 1] != '\n') {
		fprintf(stderr, "parleyctl: truncated answer from parleyd\n");
		return LIVE_FAILED;
	}
	reply[got - 1] = '\0';
	final = strrchr(reply, '\n');
	final = final ? final + 1 : reply;
	if (strncmp(final, "OK", 2) != 0) {
		char esc[512];

		fprintf(stderr, "parleyctl: parleyd: %s\n",
		    log_escape(esc, sizeof(esc), final, strlen(final)));
		return LIVE_REFUSED;
	}
	for (char *p = reply; p < final; p = nl + 1) {
		nl = strchr(p, '\n');
		fwrite(p, 1, (size_t)(nl - p) + 1, out);
	}
	if (show_final)
		fprintf(out, "%s\n", final);
	return LIVE_OK;
}
