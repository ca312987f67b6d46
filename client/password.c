/*
 * password: read the client's password from stdin or from the terminal
 * with echo off.
 *
 * Both paths use read(2) directly: stdio would buffer input beyond the
 * first line, which `parley send TARGET -` and the interactive mode still
 * need. While echo is off, SIGINT, SIGTERM, SIGQUIT and SIGHUP only
 * interrupt the read, so the terminal is always restored before exit.
 */
#include "password.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <sodium.h>

#include "session.h"

static volatile sig_atomic_t interrupted;

static void
on_signal(int sig)
{
	interrupted = sig;
}

/*
 * Read bytes from fd until LF, end of input or an error. Returns the
 * length (CR before LF dropped), -1 on error or interrupt, -2 when the line
 * does not fit, -3 at end of input with nothing read.
 */
static long
read_line_fd(int fd, char *out, size_t cap)
{
	size_t n = 0;
	bool toolong = false;
	char ch;

	for (;;) {
		ssize_t r = read(fd, &ch, 1);

		if (r < 0) {
			if (errno == EINTR && !interrupted)
				continue;
			return -1;
		}
		if (r == 0) {
			if (n == 0 && !toolong)
				return -3;
			break;
		}
		if (ch == '\n')
			break;
		if (n + 1 < cap)
			out[n++] = ch;
		else
			toolong = true;
	}
	if (n > 0 && out[n - 1] == '\r')
		n--;
	out[n] = '\0';
	ch = 0;
	if (toolong)
		return -2;
	return (long)n;
}

/* Best effort: a prompt that cannot be shown is no reason to fail. */
static void
tty_write(int fd, const char *s, size_t len)
{
	while (len > 0) {
		ssize_t r = write(fd, s, len);

		if (r <= 0)
			return;
		s += r;
		len -= (size_t)r;
	}
}

static long
read_tty(const char *user, char *out, size_t cap)
{
	struct sigaction sa, old[4];
	static const int sigs[4] = { SIGINT, SIGTERM, SIGQUIT, SIGHUP };
	struct termios saved, quiet;
	char prompt[96];
	long r;
	int fd, i, plen;

	fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		session_errorf("no terminal to ask for the password on; "
		    "use --password-stdin");
		return -1;
	}
	if (tcgetattr(fd, &saved) != 0) {
		session_errorf("cannot set up the terminal: %s",
		    strerror(errno));
		close(fd);
		return -1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0;                /* no SA_RESTART: let read() stop */
	interrupted = 0;
	for (i = 0; i < 4; i++)
		sigaction(sigs[i], &sa, &old[i]);

	quiet = saved;
	quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
	quiet.c_lflag |= ICANON;
	/*
	 * Echo off (TCSAFLUSH drops what was typed before) and only then
	 * the prompt: what is typed once the prompt shows is never lost.
	 */
	if (tcsetattr(fd, TCSAFLUSH, &quiet) != 0) {
		r = -4;
		session_errorf("cannot turn off terminal echo: %s",
		    strerror(errno));
	} else {
		plen = snprintf(prompt, sizeof(prompt), "Password for %s: ",
		    user);
		if (plen > 0)
			tty_write(fd, prompt, (size_t)plen);
		r = read_line_fd(fd, out, cap);
		tcsetattr(fd, TCSAFLUSH, &saved);
		tty_write(fd, "\n", 1);
	}
	for (i = 0; i < 4; i++)
		sigaction(sigs[i], &old[i], NULL);
	close(fd);
	if (interrupted) {
		sodium_memzero(out, cap);
		/* Die of the same signal now that the terminal is restored. */
		raise(interrupted);
		return -1;
	}
	if (r == -1)
		session_errorf("cannot read the password from the terminal");
	return r == -4 ? -1 : r;
}

int
password_read(bool from_stdin, const char *user, char *out, size_t cap)
{
	long r;

	if (from_stdin) {
		r = read_line_fd(STDIN_FILENO, out, cap);
		if (r == -1)
			session_errorf("cannot read the password from "
			    "stdin: %s", strerror(errno));
	} else {
		r = read_tty(user, out, cap);
	}
	if (r == -3)
		session_errorf("no password given (end of input)");
	else if (r == -2)
		session_errorf("password too long (more than %zu bytes)",
		    cap - 1);
	else if (r == 0)
		session_errorf("empty password");
	if (r <= 0) {
		sodium_memzero(out, cap);
		return -1;
	}
	return 0;
}
