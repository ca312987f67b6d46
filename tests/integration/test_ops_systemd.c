/*
 * parleyd under a service manager, without one: the test plays systemd.
 *
 * sd_notify: the test binds a unix datagram socket, starts parleyd with
 * NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID, and reads what arrives:
 * READY=1 only once parleyd listens, STATUS= lines, WATCHDOG=1 at most
 * half the interval apart, STOPPING=1 on SIGTERM (HARDENING "event-loop
 * stall").
 *
 * Socket activation: the test binds and listens itself, then starts
 * parleyd the way systemd does (fork; in the child the socket becomes fd
 * 3, LISTEN_FDS=1, LISTEN_PID=its pid; exec). parleyd must serve that
 * socket, and connections made while it restarts must be served by the
 * next parleyd rather than refused. Wrong LISTEN_PID: the variables are
 * ignored. A descriptor that is not a listening socket: exit 1.
 */
#include "harness.h"
#include "test_ops_probe.h"

#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define WATCHDOG_USEC	600000	/* so WATCHDOG=1 must come every <= 300 ms */
#define PRE_CONNECTS	3

/* Children started here, killed at exit if a test fails half-way. */
static pid_t kids[8];

static void
kill_kids(void)
{
	size_t i;

	for (i = 0; i < sizeof(kids) / sizeof(kids[0]); i++)
		if (kids[i] > 0) {
			kill(kids[i], SIGKILL);
			waitpid(kids[i], NULL, 0);
			kids[i] = 0;
		}
}

static void
forget_kid(pid_t pid)
{
	size_t i;

	for (i = 0; i < sizeof(kids) / sizeof(kids[0]); i++)
		if (kids[i] == pid)
			kids[i] = 0;
}

/*
 * Start parleyd on s's config, stdout and stderr appended to its log.
 * env: NULL-terminated "NAME=value" list. listen_fd >= 0 is passed as fd
 * 3 with LISTEN_FDS=1 and LISTEN_PID=<the child's pid> (or listen_pid
 * when non-zero). "WATCHDOG_PID=self" is set to the child's pid.
 */
static pid_t
spawn(const struct hs_server *s, const char *const *env, int listen_fd,
    pid_t listen_pid)
{
	pid_t pid, parent = getpid();
	size_t i;
	int logfd;

	logfd = open(hs_server_logfile(s), O_WRONLY | O_CREAT | O_APPEND |
	    O_CLOEXEC, 0600);
	if (logfd == -1)
		return -1;
	pid = fork();
	if (pid == 0) {
		char buf[32];
		int nullfd;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(126);
		setpgid(0, 0);
		nullfd = open("/dev/null", O_RDONLY);
		if (nullfd == -1 || dup2(nullfd, 0) == -1 ||
		    dup2(logfd, 1) == -1 || dup2(logfd, 2) == -1)
			_exit(126);
		unsetenv("NOTIFY_SOCKET");
		unsetenv("WATCHDOG_USEC");
		unsetenv("WATCHDOG_PID");
		unsetenv("LISTEN_FDS");
		unsetenv("LISTEN_PID");
		unsetenv("LISTEN_FDNAMES");
		unsetenv("JOURNAL_STREAM");
		for (i = 0; env != NULL && env[i] != NULL; i++) {
			if (strcmp(env[i], "WATCHDOG_PID=self") == 0) {
				snprintf(buf, sizeof(buf), "%ld",
				    (long)getpid());
				setenv("WATCHDOG_PID", buf, 1);
			} else if (putenv((char *)(uintptr_t)env[i]) != 0) {
				_exit(126);
			}
		}
		if (listen_fd >= 0) {
			if (listen_fd == 3) {
				if (fcntl(3, F_SETFD, 0) == -1)
					_exit(126);
			} else if (dup2(listen_fd, 3) == -1) {
				_exit(126);
			}
			setenv("LISTEN_FDS", "1", 1);
			snprintf(buf, sizeof(buf), "%ld", listen_pid != 0 ?
			    (long)listen_pid : (long)getpid());
			setenv("LISTEN_PID", buf, 1);
		}
		execl(PARLEYD_PATH, "parleyd", "-c", hs_server_config(s),
		    (char *)NULL);
		_exit(127);
	}
	close(logfd);
	if (pid > 0) {
		for (i = 0; i < sizeof(kids) / sizeof(kids[0]); i++)
			if (kids[i] == 0) {
				kids[i] = pid;
				break;
			}
	}
	return pid;
}

/* Exit status of pid within timeout_ms (128+signal), or -1. */
static int
wait_exit(pid_t pid, int timeout_ms)
{
	int64_t deadline = hs_now_ms() + timeout_ms;
	int st;

	for (;;) {
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r == pid) {
			forget_kid(pid);
			return WIFEXITED(st) ? WEXITSTATUS(st) :
			    128 + WTERMSIG(st);
		}
		if (r == -1 || hs_now_ms() > deadline)
			return -1;
		hs_sleep_ms(10);
	}
}

/* The port of the n-th (1-based) "listening on 127.0.0.1:" line, or -1. */
static int
logged_port(const struct hs_server *s, int n)
{
	char *log = hs_server_log(s), *p;
	int port = -1;

	if (log == NULL)
		return -1;
	for (p = log; (p = strstr(p, "listening on 127.0.0.1:")) != NULL;
	    p++)
		if (--n == 0) {
			port = atoi(p + strlen("listening on 127.0.0.1:"));
			break;
		}
	free(log);
	return port;
}

static int
wait_port(const struct hs_server *s, int n, int timeout_ms)
{
	int64_t deadline = hs_now_ms() + timeout_ms;
	int port;

	while ((port = logged_port(s, n)) <= 0 && hs_now_ms() < deadline)
		hs_sleep_ms(20);
	return port;
}

static void
assert_clean_log(const struct hs_server *s)
{
	static const char *const reports[] = { "ERROR: AddressSanitizer",
		"ERROR: LeakSanitizer", "runtime error:", NULL };
	size_t i;

	for (i = 0; reports[i] != NULL; i++)
		if (op_log_count(s, reports[i]) != 0)
			fail_msg("\"%s\" in %s", reports[i],
			    hs_server_logfile(s));
}

static int
teardown(void **state)
{
	kill_kids();
	hs_server_free(*state);
	*state = NULL;
	return 0;
}

static int
setup(void **state)
{
	*state = hs_server_new(NULL);
	return *state != NULL ? 0 : -1;
}

/* One datagram within timeout_ms into buf; its length or -1. */
static ssize_t
recv_notify(int fd, char *buf, size_t len, int timeout_ms)
{
	struct pollfd pfd = { fd, POLLIN, 0 };
	ssize_t n;

	if (poll(&pfd, 1, timeout_ms) != 1)
		return -1;
	n = recv(fd, buf, len - 1, 0);
	if (n >= 0)
		buf[n] = '\0';
	return n;
}

static void
t_notify(void **state)
{
	struct hs_server *s = *state;
	char sock[PATH_MAX], env_sock[PATH_MAX + 32], buf[4096];
	char env_wd[64];
	const char *env[4];
	struct sockaddr_un sun;
	int64_t t_ready = 0, last_wd = 0, max_gap = 0, t_end;
	int fd, status_seen = 0, wd_count = 0, stopping = 0, port;
	pid_t pid;

	snprintf(sock, sizeof(sock), "%s/notify", hs_server_dir(s));
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	assert_true(strlen(sock) < sizeof(sun.sun_path));
	strcpy(sun.sun_path, sock);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);

	snprintf(env_sock, sizeof(env_sock), "NOTIFY_SOCKET=%s", sock);
	snprintf(env_wd, sizeof(env_wd), "WATCHDOG_USEC=%d", WATCHDOG_USEC);
	env[0] = env_sock;
	env[1] = env_wd;
	env[2] = "WATCHDOG_PID=self";
	env[3] = NULL;
	pid = spawn(s, env, -1, 0);
	assert_true(pid > 0);

	/* Until READY=1: it must come after "listening on". */
	t_end = hs_now_ms() + 10000;
	while (t_ready == 0 && hs_now_ms() < t_end) {
		if (recv_notify(fd, buf, sizeof(buf), 500) < 0)
			continue;
		if (strstr(buf, "STATUS=") != NULL)
			status_seen++;
		if (strstr(buf, "READY=1") != NULL) {
			t_ready = hs_now_ms();
			port = logged_port(s, 1);
			if (port <= 0)
				fail_msg("READY=1 before \"listening on\"");
			if (strstr(buf, "STATUS=") == NULL ||
			    strstr(buf, "listening on 127.0.0.1:") == NULL)
				fail_msg("READY=1 without a STATUS= naming the "
				    "address: %s", buf);
		}
	}
	if (t_ready == 0)
		fail_msg("no READY=1 within 10 s");
	assert_true(status_seen >= 1);

	/* 2 s of watchdog pings, while the server also does its work. */
	assert_int_equal(op_probe(logged_port(s, 1), buf), 0);
	last_wd = t_ready;
	t_end = hs_now_ms() + 2000;
	while (hs_now_ms() < t_end) {
		int64_t now;

		if (recv_notify(fd, buf, sizeof(buf), 1000) < 0)
			continue;
		now = hs_now_ms();
		if (strstr(buf, "WATCHDOG=1") != NULL) {
			if (now - last_wd > max_gap)
				max_gap = now - last_wd;
			last_wd = now;
			wd_count++;
		}
	}
	fprintf(stderr, "ops: WATCHDOG_USEC=%d: %d pings in 2 s, longest gap "
	    "%lld ms\n", WATCHDOG_USEC, wd_count, (long long)max_gap);
	assert_true(wd_count >= 5);
	assert_true(max_gap <= WATCHDOG_USEC / 2000);

	/* A reload reports itself in STATUS=. */
	assert_int_equal(kill(pid, SIGHUP), 0);
	t_end = hs_now_ms() + 2000;
	status_seen = 0;
	while (!status_seen && hs_now_ms() < t_end)
		if (recv_notify(fd, buf, sizeof(buf), 500) > 0 &&
		    strstr(buf, "STATUS=") != NULL)
			status_seen = 1;
	assert_true(status_seen);

	assert_int_equal(kill(pid, SIGTERM), 0);
	t_end = hs_now_ms() + 5000;
	while (!stopping && hs_now_ms() < t_end)
		if (recv_notify(fd, buf, sizeof(buf), 500) > 0 &&
		    strstr(buf, "STOPPING=1") != NULL)
			stopping = 1;
	assert_true(stopping);
	assert_int_equal(wait_exit(pid, 10000), 0);
	close(fd);
	assert_clean_log(s);
}

/* A listening TCP socket on 127.0.0.1 with a kernel-chosen port. */
static int
listen_socket(int *port)
{
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd == -1 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
	    listen(fd, 128) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &sl) != 0)
		return -1;
	*port = ntohs(sin.sin_port);
	return fd;
}

static void
t_socket_activation(void **state)
{
	struct hs_server *s = *state;
	int lfd, port, pre[PRE_CONNECTS], i, served = 0;
	struct op_conn *c;
	char fp[96];
	pid_t pid;
	int64_t t0;

	lfd = listen_socket(&port);
	assert_true(lfd >= 0);
	pid = spawn(s, NULL, lfd, 0);
	assert_true(pid > 0);
	if (wait_port(s, 1, 10000) != port)
		fail_msg("parleyd did not log \"listening on 127.0.0.1:%d\"",
		    port);
	assert_int_equal(op_log_count(s, "(socket from the service manager)"),
	    1);
	assert_int_equal(op_log_count(s, "listening on"), 1);
	assert_int_equal(op_probe(port, fp), 0);

	/* A session on the first parleyd gets its BYE at the restart. */
	c = op_handshake(port, NULL, NULL);
	assert_non_null(c);
	assert_non_null(op_expect(c, "HELLO "));
	assert_int_equal(kill(pid, SIGTERM), 0);
	assert_non_null(op_expect(c, "BYE "));
	op_close(c);
	assert_int_equal(wait_exit(pid, 10000), 0);

	/* Nobody serves the port now; connections wait in the backlog. */
	for (i = 0; i < PRE_CONNECTS; i++) {
		pre[i] = op_tcp_connect(port, 2000);
		assert_true(pre[i] >= 0);
	}
	t0 = hs_now_ms();
	pid = spawn(s, NULL, lfd, 0);
	assert_true(pid > 0);
	for (i = 0; i < PRE_CONNECTS; i++) {
		c = op_handshake_fd(pre[i], NULL, NULL);
		if (c != NULL && op_expect(c, "HELLO ") != NULL)
			served++;
		else
			fprintf(stderr, "ops: early connection %d: %s\n", i,
			    op_why);
		op_close(c);
	}
	fprintf(stderr, "ops: %d of %d connections made during the restart "
	    "served, the last %lld ms after the new start\n", served,
	    PRE_CONNECTS, (long long)(hs_now_ms() - t0));
	assert_int_equal(served, PRE_CONNECTS);
	assert_int_equal(wait_port(s, 2, 5000), port);

	assert_int_equal(kill(pid, SIGTERM), 0);
	assert_int_equal(wait_exit(pid, 10000), 0);
	close(lfd);
	assert_clean_log(s);
}

/* LISTEN_PID names another process: [server] listen is used instead. */
static void
t_listen_pid_mismatch(void **state)
{
	struct hs_server *s = *state;
	int lfd, port, got;
	pid_t pid;

	lfd = listen_socket(&port);
	assert_true(lfd >= 0);
	pid = spawn(s, NULL, lfd, 1);
	assert_true(pid > 0);
	got = wait_port(s, 1, 10000);
	assert_true(got > 0);
	assert_int_not_equal(got, port);
	assert_int_equal(op_log_count(s, "(socket from the service manager)"),
	    0);
	assert_int_equal(kill(pid, SIGTERM), 0);
	assert_int_equal(wait_exit(pid, 10000), 0);
	close(lfd);
	assert_clean_log(s);
}

/* A passed descriptor that is not a listening TCP socket: exit 1. */
static void
t_bad_inherited_fd(void **state)
{
	struct hs_server *s = *state;
	int fd = open(hs_server_config(s), O_RDONLY | O_CLOEXEC);
	pid_t pid;

	assert_true(fd >= 0);
	pid = spawn(s, NULL, fd, 0);
	assert_true(pid > 0);
	assert_int_equal(wait_exit(pid, 10000), 1);
	assert_int_equal(op_log_count(s, "not a listening TCP socket"), 1);
	close(fd);
	assert_clean_log(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(t_notify, setup, teardown),
		cmocka_unit_test_setup_teardown(t_socket_activation, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(t_listen_pid_mismatch, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(t_bad_inherited_fd, setup,
		    teardown),
	};

	atexit(kill_kids);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
