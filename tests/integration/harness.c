/*
 * harness: start a real parleyd, add users, and talk to it over TLS.
 *
 * Everything here is blocking from the test's point of view but bounded in
 * time: sockets are non-blocking and every wait is a poll() against a
 * deadline on CLOCK_MONOTONIC. Child processes (parleyd, parleyctl,
 * gen-certs.sh) are started with fork/exec, each in its own process group,
 * and parleyd dies with the test process (PR_SET_PDEATHSIG). The harness
 * never asserts; it reports failures with a NULL or -1 and a line on
 * stderr, and leaves the verdict to the test.
 */
#include "harness.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#ifndef PARLEYD_PATH
#error "PARLEYD_PATH must be defined by the build"
#endif
#ifndef PARLEYCTL_PATH
#error "PARLEYCTL_PATH must be defined by the build"
#endif
#ifndef GEN_CERTS_PATH
#error "GEN_CERTS_PATH must be defined by the build"
#endif

#define OUTPUT_CAP	(16u * 1024 * 1024)	/* hs_run capture */
#define INPUT_CAP	(64u * 1024 * 1024)	/* client receive buffer */
#define MAX_KV		128			/* config entries */
#define STOP_TIMEOUT_MS	10000

static char errbuf[1024];
static int verbose;
static int inited;

static void
init(void)
{
	const char *v;

	if (inited)
		return;
	inited = 1;
	signal(SIGPIPE, SIG_IGN);
	v = getenv("PARLEY_TEST_VERBOSE");
	verbose = v != NULL && *v != '\0' && strcmp(v, "0") != 0;
	OPENSSL_init_ssl(0, NULL);
}

/* Record why something failed; print it unless quiet and not verbose. */
HS_FMT(2, 3) static void
seterr(int quiet, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(errbuf, sizeof(errbuf), fmt, ap);
	va_end(ap);
	if (!quiet || verbose)
		fprintf(stderr, "harness: %s\n", errbuf);
}

const char *
hs_error(void)
{
	return errbuf;
}

static int
keep_tmp(void)
{
	const char *v = getenv("PARLEY_TEST_KEEP");

	return v != NULL && *v != '\0' && strcmp(v, "0") != 0;
}

/* ------------------------------------------------------------------ */
/* Time                                                                */

int64_t
hs_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
hs_sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static int
remaining(int64_t deadline)
{
	int64_t left = deadline - hs_now_ms();

	if (left <= 0)
		return 0;
	return left > INT_MAX ? INT_MAX : (int)left;
}

/*
 * Wait until fd is ready for events or the deadline passes. Returns 1
 * when ready (or in error/hang-up, which the next I/O call reports),
 * 0 on timeout, -1 on a poll error.
 */
static int
wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd pfd;
	int r;

	for (;;) {
		pfd.fd = fd;
		pfd.events = events;
		pfd.revents = 0;
		r = poll(&pfd, 1, remaining(deadline));
		if (r > 0)
			return 1;
		if (r == 0)
			return 0;
		if (errno != EINTR)
			return -1;
	}
}

static int
set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl == -1 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1)
		return -1;
	return 0;
}

static int
decode_status(int st)
{
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return -1;
}

/* Reap pid within the deadline. Returns the status as decode_status, or
 * -1 on timeout. */
static int
reap(pid_t pid, int64_t deadline)
{
	int st;
	pid_t r;

	for (;;) {
		r = waitpid(pid, &st, WNOHANG);
		if (r == pid)
			return decode_status(st);
		if (r == -1 && errno != EINTR)
			return -1;
		if (remaining(deadline) == 0)
			return -1;
		hs_sleep_ms(5);
	}
}

/* ------------------------------------------------------------------ */
/* Commands                                                            */

int
hs_run(const char *input, char **out, int timeout_ms, const char *fmt, ...)
{
	char *cmd = NULL, *buf = NULL;
	size_t len = 0, cap = 0, inlen, inoff = 0;
	int in[2] = { -1, -1 }, op[2] = { -1, -1 }, rc = -1, st;
	int64_t deadline = hs_now_ms() + timeout_ms;
	va_list ap;
	pid_t pid = -1;

	init();
	if (out != NULL)
		*out = NULL;
	va_start(ap, fmt);
	if (vasprintf(&cmd, fmt, ap) == -1)
		cmd = NULL;
	va_end(ap);
	if (cmd == NULL)
		return -1;
	inlen = input != NULL ? strlen(input) : 0;
	if (pipe2(in, O_CLOEXEC) == -1 || pipe2(op, O_CLOEXEC) == -1) {
		seterr(0, "pipe: %s", strerror(errno));
		goto done;
	}
	if (verbose)
		fprintf(stderr, "harness: run %s\n", cmd);
	pid = fork();
	if (pid == -1) {
		seterr(0, "fork: %s", strerror(errno));
		goto done;
	}
	if (pid == 0) {
		setpgid(0, 0);
		if (dup2(in[0], 0) == -1 || dup2(op[1], 1) == -1 ||
		    dup2(op[1], 2) == -1)
			_exit(127);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	setpgid(pid, pid);
	close(in[0]);
	close(op[1]);
	in[0] = op[1] = -1;
	if (inlen == 0) {
		close(in[1]);
		in[1] = -1;
	} else if (set_nonblock(in[1]) == -1)
		goto kill;
	if (set_nonblock(op[0]) == -1)
		goto kill;

	while (op[0] != -1) {
		struct pollfd pfd[2];
		int n = 0, r;

		pfd[n].fd = op[0];
		pfd[n].events = POLLIN;
		pfd[n++].revents = 0;
		if (in[1] != -1) {
			pfd[n].fd = in[1];
			pfd[n].events = POLLOUT;
			pfd[n++].revents = 0;
		}
		if (remaining(deadline) == 0) {
			seterr(0, "command timed out after %d ms: %s",
			    timeout_ms, cmd);
			goto kill;
		}
		r = poll(pfd, (nfds_t)n, remaining(deadline));
		if (r == -1 && errno != EINTR)
			goto kill;
		if (r <= 0)
			continue;
		if (n == 2 && pfd[1].revents != 0) {
			ssize_t w = write(in[1], input + inoff, inlen - inoff);

			if (w > 0)
				inoff += (size_t)w;
			if ((w == -1 && errno != EAGAIN && errno != EINTR) ||
			    inoff == inlen) {
				close(in[1]);
				in[1] = -1;
			}
		}
		if (pfd[0].revents != 0) {
			ssize_t r2;

			if (cap - len < 4096) {
				char *nb;

				if (cap >= OUTPUT_CAP)
					goto kill;
				cap = cap == 0 ? 8192 : cap * 2;
				nb = realloc(buf, cap);
				if (nb == NULL)
					goto kill;
				buf = nb;
			}
			r2 = read(op[0], buf + len, cap - len - 1);
			if (r2 > 0)
				len += (size_t)r2;
			else if (r2 == 0 ||
			    (errno != EAGAIN && errno != EINTR)) {
				close(op[0]);
				op[0] = -1;
			}
		}
	}
	st = reap(pid, deadline);
	if (st == -1) {
		seterr(0, "command did not exit in time: %s", cmd);
		goto kill;
	}
	rc = st;
	goto done;
kill:
	if (pid > 0) {
		kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
		(void)reap(pid, hs_now_ms() + 5000);
	}
	rc = -1;
done:
	if (out != NULL) {
		if (buf == NULL)
			buf = calloc(1, 1);
		else
			buf[len] = '\0';
		*out = buf;
		buf = NULL;
	}
	free(buf);
	if (in[0] != -1)
		close(in[0]);
	if (in[1] != -1)
		close(in[1]);
	if (op[0] != -1)
		close(op[0]);
	if (op[1] != -1)
		close(op[1]);
	free(cmd);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Temporary directories and certificates                              */

static int
rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

/* Remove a directory tree the harness created under /tmp. */
static void
rm_rf(const char *dir)
{
	if (strncmp(dir, "/tmp/parley-", 12) != 0 || strstr(dir, "..") != NULL)
		return;
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static char certdir[64];		/* "/tmp/parley-certs.XXXXXX" */
static char cafile[128];
static pid_t certdir_owner;
static int certs_failed;

static void
certs_cleanup(void)
{
	if (certdir[0] != '\0' && getpid() == certdir_owner && !keep_tmp())
		rm_rf(certdir);
}

const char *
hs_certdir(void)
{
	char tmpl[] = "/tmp/parley-certs.XXXXXX";
	char *out = NULL;
	int rc;

	init();
	if (certdir[0] != '\0')
		return certdir;
	if (certs_failed)
		return NULL;
	if (mkdtemp(tmpl) == NULL) {
		seterr(0, "mkdtemp: %s", strerror(errno));
		certs_failed = 1;
		return NULL;
	}
	rc = hs_run(NULL, &out, 60000, "'%s' --out '%s'", GEN_CERTS_PATH,
	    tmpl);
	if (rc != 0) {
		seterr(0, "gen-certs.sh failed (status %d): %s", rc,
		    out != NULL ? out : "");
		free(out);
		rm_rf(tmpl);
		certs_failed = 1;
		return NULL;
	}
	free(out);
	snprintf(certdir, sizeof(certdir), "%s", tmpl);
	snprintf(cafile, sizeof(cafile), "%s/ca.crt", certdir);
	certdir_owner = getpid();
	atexit(certs_cleanup);
	return certdir;
}

const char *
hs_cafile(void)
{
	return hs_certdir() != NULL ? cafile : NULL;
}

int
hs_client_cert(const char *user, char *cert, char *key)
{
	const char *dir = hs_certdir();
	char *out = NULL;
	int rc;

	if (dir == NULL)
		return -1;
	snprintf(cert, PATH_MAX, "%s/%s.crt", dir, user);
	snprintf(key, PATH_MAX, "%s/%s.key", dir, user);
	if (access(cert, R_OK) == 0 && access(key, R_OK) == 0)
		return 0;
	rc = hs_run(NULL, &out, 60000, "'%s' --out '%s' --client '%s'",
	    GEN_CERTS_PATH, dir, user);
	if (rc != 0 || access(cert, R_OK) != 0 || access(key, R_OK) != 0) {
		seterr(0, "gen-certs.sh --client %s failed (status %d): %s",
		    user, rc, out != NULL ? out : "");
		free(out);
		return -1;
	}
	free(out);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Server                                                              */

struct hs_server {
	char	dir[64];		/* "/tmp/parley-test.XXXXXX" */
	char	conf[PATH_MAX];
	char	log[PATH_MAX];
	char	host[64];
	int	port;
	pid_t	pid;
	off_t	log_start;
};

/*
 * Servers not yet freed, so that a test that fails half-way (cmocka jumps
 * out of it) leaves no process or directory behind: freed at exit.
 */
#define MAX_SERVERS	64
static struct hs_server *live[MAX_SERVERS];
static pid_t live_owner;

static void
live_cleanup(void)
{
	size_t i;

	if (getpid() != live_owner)
		return;
	for (i = 0; i < MAX_SERVERS; i++)
		if (live[i] != NULL)
			hs_server_free(live[i]);
}

static void
live_add(struct hs_server *s)
{
	size_t i;

	if (live_owner == 0) {
		live_owner = getpid();
		atexit(live_cleanup);
	}
	for (i = 0; i < MAX_SERVERS; i++)
		if (live[i] == NULL) {
			live[i] = s;
			return;
		}
}

static void
live_remove(const struct hs_server *s)
{
	size_t i;

	for (i = 0; i < MAX_SERVERS; i++)
		if (live[i] == s)
			live[i] = NULL;
}

struct kv {
	char	*section;
	char	*key;
	char	*value;
};

static const char *const config_defaults[] = {
	"server.name=parley-test",
	"server.listen=127.0.0.1:0",
	"tls.certificate=@CERTS/server.crt",
	"tls.private_key=@CERTS/server.key",
	"storage.database=parley.db",
	"auth.pwhash_ops=1",
	"auth.pwhash_mem_kib=8192",
	NULL
};

/* Replace every occurrence of pat in s by rep; returns a new string. */
static char *
replace_all(const char *s, const char *pat, const char *rep)
{
	size_t n = 0, plen = strlen(pat), rlen = strlen(rep), len;
	const char *p;
	char *out, *o;

	for (p = s; (p = strstr(p, pat)) != NULL; p += plen)
		n++;
	len = strlen(s) + n * rlen + 1;
	if ((out = malloc(len)) == NULL)
		return NULL;
	o = out;
	while ((p = strstr(s, pat)) != NULL) {
		memcpy(o, s, (size_t)(p - s));
		o += p - s;
		memcpy(o, rep, rlen);
		o += rlen;
		s = p + plen;
	}
	strcpy(o, s);
	return out;
}

/* Apply "section.key=value" (or "section.key" to remove) to kvs. */
static int
kv_apply(struct kv *kvs, size_t *n, const char *spec, const struct hs_server *s)
{
	const char *dot = strchr(spec, '.'), *eq = strchr(spec, '=');
	char *section, *key, *value = NULL, *v1, *v2, *v3;
	size_t i;

	if (dot == NULL || (eq != NULL && eq < dot)) {
		seterr(0, "bad config override \"%s\"", spec);
		return -1;
	}
	section = strndup(spec, (size_t)(dot - spec));
	key = eq != NULL ? strndup(dot + 1, (size_t)(eq - dot - 1)) :
	    strdup(dot + 1);
	if (eq != NULL) {
		v1 = replace_all(eq + 1, "@CERTS", certdir);
		v2 = v1 != NULL ? replace_all(v1, "@CA", cafile) : NULL;
		v3 = v2 != NULL ? replace_all(v2, "@DIR", s->dir) : NULL;
		free(v1);
		free(v2);
		value = v3;
	}
	if (section == NULL || key == NULL || (eq != NULL && value == NULL))
		goto fail;
	for (i = 0; i < *n; i++) {
		if (strcmp(kvs[i].section, section) != 0 ||
		    strcmp(kvs[i].key, key) != 0)
			continue;
		free(kvs[i].value);
		kvs[i].value = value;
		free(section);
		free(key);
		return 0;
	}
	if (value == NULL) {		/* removal of an absent key */
		free(section);
		free(key);
		return 0;
	}
	if (*n == MAX_KV)
		goto fail;
	kvs[*n].section = section;
	kvs[*n].key = key;
	kvs[*n].value = value;
	(*n)++;
	return 0;
fail:
	free(section);
	free(key);
	free(value);
	return -1;
}

static int
write_config(struct hs_server *s, const char *const *overrides)
{
	struct kv kvs[MAX_KV];
	size_t n = 0, i, j;
	const char *const *o;
	int rc = -1;
	FILE *f = NULL;

	for (o = config_defaults; *o != NULL; o++)
		if (kv_apply(kvs, &n, *o, s) == -1)
			goto done;
	for (o = overrides; o != NULL && *o != NULL; o++)
		if (kv_apply(kvs, &n, *o, s) == -1)
			goto done;
	if ((f = fopen(s->conf, "w")) == NULL) {
		seterr(0, "%s: %s", s->conf, strerror(errno));
		goto done;
	}
	fprintf(f, "; written by the parley integration test harness\n");
	/* Sections in order of first appearance, keys in order. */
	for (i = 0; i < n; i++) {
		int seen = 0;

		for (j = 0; j < i; j++)
			if (strcmp(kvs[j].section, kvs[i].section) == 0)
				seen = 1;
		if (seen)
			continue;
		fprintf(f, "\n[%s]\n", kvs[i].section);
		for (j = i; j < n; j++)
			if (kvs[j].value != NULL &&
			    strcmp(kvs[j].section, kvs[i].section) == 0)
				fprintf(f, "%s = %s\n", kvs[j].key,
				    kvs[j].value);
	}
	if (fclose(f) != 0) {
		f = NULL;
		goto done;
	}
	f = NULL;
	rc = 0;
done:
	if (f != NULL)
		fclose(f);
	for (i = 0; i < n; i++) {
		free(kvs[i].section);
		free(kvs[i].key);
		free(kvs[i].value);
	}
	return rc;
}

struct hs_server *
hs_server_new(const char *const *overrides)
{
	char tmpl[] = "/tmp/parley-test.XXXXXX";
	struct hs_server *s;

	init();
	if (hs_certdir() == NULL)
		return NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	if (mkdtemp(tmpl) == NULL) {
		seterr(0, "mkdtemp: %s", strerror(errno));
		free(s);
		return NULL;
	}
	snprintf(s->dir, sizeof(s->dir), "%s", tmpl);
	snprintf(s->conf, sizeof(s->conf), "%s/parleyd.conf", s->dir);
	snprintf(s->log, sizeof(s->log), "%s/parleyd.log", s->dir);
	live_add(s);
	if (write_config(s, overrides) == -1) {
		hs_server_free(s);
		return NULL;
	}
	if (verbose)
		fprintf(stderr, "harness: server directory %s\n", s->dir);
	return s;
}

char *
hs_server_log(const struct hs_server *s)
{
	char *buf = NULL, *nb;
	size_t len = 0, cap = 0;
	ssize_t r;
	int fd;

	if ((fd = open(s->log, O_RDONLY | O_CLOEXEC)) == -1)
		return calloc(1, 1);
	for (;;) {
		if (cap - len < 4096) {
			cap = cap == 0 ? 65536 : cap * 2;
			if (cap > OUTPUT_CAP * 4 ||
			    (nb = realloc(buf, cap)) == NULL) {
				free(buf);
				close(fd);
				return NULL;
			}
			buf = nb;
		}
		r = read(fd, buf + len, cap - len - 1);
		if (r > 0) {
			len += (size_t)r;
			continue;
		}
		if (r == -1 && errno == EINTR)
			continue;
		break;
	}
	close(fd);
	buf[len] = '\0';
	return buf;
}

/* Print the tail of the server log, for a failure's context. */
static void
dump_log(const struct hs_server *s, off_t from)
{
	char *log = hs_server_log(s);
	size_t len, start;

	if (log == NULL)
		return;
	len = strlen(log);
	start = (size_t)from < len ? (size_t)from : len;
	if (len - start > 8192)
		start = len - 8192;
	fprintf(stderr, "harness: ---- parleyd log (%s) ----\n%s"
	    "harness: ---- end of log ----\n", s->log, log + start);
	free(log);
}

/*
 * Find "listening on HOST:PORT" or "listening on [HOST]:PORT" in text.
 * Returns 0 and fills host/port, or -1 if not (completely) there yet.
 */
static int
parse_listening(const char *text, char *host, size_t hostlen, int *port)
{
	const char *p = strstr(text, "listening on "), *h, *e;
	long v;
	char *end;

	if (p == NULL)
		return -1;
	p += strlen("listening on ");
	if (*p == '[') {
		h = p + 1;
		if ((e = strchr(h, ']')) == NULL || e[1] != ':')
			return -1;
		p = e + 2;
	} else {
		h = p;
		if ((e = strchr(h, ':')) == NULL)
			return -1;
		p = e + 1;
	}
	if ((size_t)(e - h) >= hostlen || e == h)
		return -1;
	if (!isdigit((unsigned char)*p))
		return -1;
	errno = 0;
	v = strtol(p, &end, 10);
	if (*end == '\0')		/* the line may not be complete */
		return -1;
	if (errno != 0 || v <= 0 || v > 65535)
		return -1;
	memcpy(host, h, (size_t)(e - h));
	host[e - h] = '\0';
	*port = (int)v;
	return 0;
}

int
hs_server_start(struct hs_server *s)
{
	int64_t deadline;
	struct stat st;
	pid_t pid, parent = getpid();
	int logfd, nullfd, status;

	init();
	if (s->pid > 0) {
		seterr(0, "server already running (pid %ld)", (long)s->pid);
		return -1;
	}
	logfd = open(s->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (logfd == -1 || fstat(logfd, &st) == -1) {
		seterr(0, "%s: %s", s->log, strerror(errno));
		if (logfd != -1)
			close(logfd);
		return -1;
	}
	s->log_start = st.st_size;
	s->port = 0;
	pid = fork();
	if (pid == -1) {
		seterr(0, "fork: %s", strerror(errno));
		close(logfd);
		return -1;
	}
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(126);
		setpgid(0, 0);
		nullfd = open("/dev/null", O_RDONLY);
		if (nullfd == -1 || dup2(nullfd, 0) == -1 ||
		    dup2(logfd, 1) == -1 || dup2(logfd, 2) == -1)
			_exit(126);
		unsetenv("JOURNAL_STREAM");
		unsetenv("NOTIFY_SOCKET");
		unsetenv("WATCHDOG_USEC");
		unsetenv("WATCHDOG_PID");
		unsetenv("LISTEN_FDS");
		unsetenv("LISTEN_PID");
		execl(PARLEYD_PATH, "parleyd", "-c", s->conf, (char *)NULL);
		_exit(127);
	}
	close(logfd);
	s->pid = pid;
	deadline = hs_now_ms() + HS_START_TIMEOUT_MS;
	for (;;) {
		char *log = hs_server_log(s);
		int found = -1;

		if (log != NULL && strlen(log) >= (size_t)s->log_start)
			found = parse_listening(log + s->log_start, s->host,
			    sizeof(s->host), &s->port);
		free(log);
		if (found == 0) {
			if (verbose)
				fprintf(stderr, "harness: parleyd pid %ld on "
				    "%s port %d\n", (long)pid, s->host,
				    s->port);
			return 0;
		}
		status = reap(pid, hs_now_ms());
		if (status != -1) {
			s->pid = 0;
			seterr(0, "parleyd exited with status %d before "
			    "listening", status);
			dump_log(s, s->log_start);
			return -1;
		}
		if (remaining(deadline) == 0)
			break;
		hs_sleep_ms(20);
	}
	seterr(0, "parleyd did not log \"listening on\" within %d ms",
	    HS_START_TIMEOUT_MS);
	dump_log(s, s->log_start);
	hs_server_kill(s);
	return -1;
}

struct hs_server *
hs_server_start_new(const char *const *overrides)
{
	struct hs_server *s = hs_server_new(overrides);

	if (s == NULL)
		return NULL;
	if (hs_server_start(s) == -1) {
		hs_server_free(s);
		return NULL;
	}
	return s;
}

int
hs_server_signal(struct hs_server *s, int sig)
{
	if (s->pid <= 0) {
		seterr(0, "server is not running");
		return -1;
	}
	return kill(s->pid, sig);
}

int
hs_server_wait(struct hs_server *s, int timeout_ms)
{
	int st;

	if (s->pid <= 0)
		return -1;
	st = reap(s->pid, hs_now_ms() + timeout_ms);
	if (st != -1)
		s->pid = 0;
	return st;
}

int
hs_server_stop(struct hs_server *s)
{
	int st;

	if (hs_server_signal(s, SIGTERM) == -1)
		return -1;
	st = hs_server_wait(s, STOP_TIMEOUT_MS);
	if (st == -1) {
		seterr(0, "parleyd did not exit within %d ms of SIGTERM",
		    STOP_TIMEOUT_MS);
		dump_log(s, s->log_start);
		hs_server_kill(s);
		return -1;
	}
	return st;
}

void
hs_server_kill(struct hs_server *s)
{
	if (s->pid <= 0)
		return;
	kill(s->pid, SIGKILL);
	if (hs_server_wait(s, STOP_TIMEOUT_MS) == -1) {
		seterr(0, "parleyd pid %ld survived SIGKILL", (long)s->pid);
		s->pid = 0;
	}
}

int
hs_server_restart(struct hs_server *s)
{
	if (s->pid > 0 && hs_server_stop(s) == -1)
		return -1;
	return hs_server_start(s);
}

void
hs_server_free(struct hs_server *s)
{
	if (s == NULL)
		return;
	live_remove(s);
	hs_server_kill(s);
	if (s->dir[0] != '\0') {
		if (keep_tmp())
			fprintf(stderr, "harness: kept %s\n", s->dir);
		else
			rm_rf(s->dir);
	}
	free(s);
}

int
hs_server_finish(struct hs_server *s)
{
	static const char *const reports[] = {
		"ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
		"runtime error:", "WARNING: ThreadSanitizer", NULL
	};
	char *log;
	size_t i;
	int rc = 0, st;

	if (s == NULL)
		return 0;
	if (s->pid > 0) {
		st = hs_server_stop(s);
		if (st != 0) {
			fprintf(stderr, "harness: parleyd exit status %d at "
			    "teardown, expected 0\n", st);
			rc = -1;
		}
	}
	if ((log = hs_server_log(s)) != NULL) {
		for (i = 0; reports[i] != NULL; i++) {
			if (strstr(log, reports[i]) == NULL)
				continue;
			fprintf(stderr, "harness: \"%s\" in the server log\n",
			    reports[i]);
			rc = -1;
		}
		free(log);
	}
	if (rc == -1)
		dump_log(s, 0);
	hs_server_free(s);
	return rc;
}

int
hs_server_port(const struct hs_server *s)
{
	return s->port;
}

const char *
hs_server_host(const struct hs_server *s)
{
	return s->host;
}

const char *
hs_server_dir(const struct hs_server *s)
{
	return s->dir;
}

const char *
hs_server_config(const struct hs_server *s)
{
	return s->conf;
}

const char *
hs_server_logfile(const struct hs_server *s)
{
	return s->log;
}

pid_t
hs_server_pid(const struct hs_server *s)
{
	return s->pid;
}

int
hs_ctl(const struct hs_server *s, const char *input, char **out,
    const char *fmt, ...)
{
	char *args = NULL;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	if (vasprintf(&args, fmt, ap) == -1)
		args = NULL;
	va_end(ap);
	if (args == NULL)
		return -1;
	rc = hs_run(input, out, 30000, "'%s' -c '%s' %s", PARLEYCTL_PATH,
	    s->conf, args);
	free(args);
	return rc;
}

int
hs_user_add(const struct hs_server *s, const char *name, const char *password,
    int admin)
{
	char *input = NULL, *out = NULL;
	int rc;

	if (asprintf(&input, "%s\n", password) == -1)
		return -1;
	rc = hs_ctl(s, input, &out, "user add '%s'%s --password-stdin", name,
	    admin ? " --admin" : "");
	free(input);
	if (rc != 0) {
		seterr(0, "parleyctl user add %s failed (status %d): %s", name,
		    rc, out != NULL ? out : "");
		free(out);
		return -1;
	}
	free(out);
	return 0;
}

/* ------------------------------------------------------------------ */
/* TLS client                                                          */

struct hs_client {
	int	 fd;
	SSL_CTX	*ctx;
	SSL	*ssl;
	char	*in;		/* plaintext; [rpos, inlen) unread */
	size_t	 rpos, inlen, incap;
	char	*line;
	size_t	 linecap;
	int	 had_cr;
	int	 closed;	/* 0, HS_CLOSE_NOTIFY or HS_CLOSE_EOF */
	int	 greeted;
	unsigned sync_seq;
	int	 num;		/* for verbose output */
	int	 version;
	char	 alpn[64];
};

static int client_count;

/* Print data for verbose mode with control bytes escaped. */
static void
show(const struct hs_client *c, const char *dir, const char *data, size_t len)
{
	size_t i;

	if (!verbose)
		return;
	fprintf(stderr, "harness: c%d %s ", c->num, dir);
	for (i = 0; i < len && i < 400; i++) {
		unsigned char ch = (unsigned char)data[i];

		if (ch == '\n' && i + 1 == len)
			break;
		if (ch < 0x20 || ch == 0x7f || ch == '\\')
			fprintf(stderr, "\\x%02x", ch);
		else
			fputc(ch, stderr);
	}
	if (len > 400)
		fprintf(stderr, "... (%zu bytes)", len);
	fputc('\n', stderr);
}

static const char *
ssl_errstr(char *buf, size_t len)
{
	unsigned long e = ERR_get_error();

	if (e == 0)
		snprintf(buf, len, "%s", errno != 0 ? strerror(errno) :
		    "no OpenSSL error");
	else
		ERR_error_string_n(e, buf, len);
	ERR_clear_error();
	return buf;
}

/* A connected non-blocking TCP socket, or -1. */
static int
tcp_open(const char *host, int port, const char *src, int timeout_ms,
    int quiet)
{
	struct addrinfo hints, *ai = NULL, *sai = NULL;
	int64_t deadline = hs_now_ms() + timeout_ms;
	char portstr[16];
	socklen_t sl;
	int fd = -1, err, r;

	memset(&hints, 0, sizeof(hints));
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	hints.ai_socktype = SOCK_STREAM;
	snprintf(portstr, sizeof(portstr), "%d", port);
	if ((r = getaddrinfo(host, portstr, &hints, &ai)) != 0) {
		seterr(0, "address %s: %s", host, gai_strerror(r));
		return -1;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0);
	if (fd == -1) {
		seterr(0, "socket: %s", strerror(errno));
		goto fail;
	}
	if (src != NULL) {
		hints.ai_family = ai->ai_family;
		if ((r = getaddrinfo(src, "0", &hints, &sai)) != 0) {
			seterr(0, "source %s: %s", src, gai_strerror(r));
			goto fail;
		}
		if (bind(fd, sai->ai_addr, sai->ai_addrlen) == -1) {
			seterr(0, "bind %s: %s", src, strerror(errno));
			goto fail;
		}
	}
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == -1) {
		if (errno != EINPROGRESS) {
			seterr(quiet, "connect %s:%d: %s", host, port,
			    strerror(errno));
			goto fail;
		}
		if (wait_fd(fd, POLLOUT, deadline) != 1) {
			seterr(quiet, "connect %s:%d: timeout", host, port);
			goto fail;
		}
		sl = sizeof(err);
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &sl) == -1 ||
		    err != 0) {
			seterr(quiet, "connect %s:%d: %s", host, port,
			    strerror(err));
			goto fail;
		}
	}
	freeaddrinfo(ai);
	if (sai != NULL)
		freeaddrinfo(sai);
	return fd;
fail:
	if (fd != -1)
		close(fd);
	freeaddrinfo(ai);
	if (sai != NULL)
		freeaddrinfo(sai);
	return -1;
}

/* "a,b" to ALPN wire format; returns length or -1. */
static int
alpn_wire(const char *list, unsigned char *out, size_t outlen)
{
	size_t n = 0;
	const char *p = list, *e;

	while (*p != '\0') {
		size_t l;

		e = strchr(p, ',');
		l = e != NULL ? (size_t)(e - p) : strlen(p);
		if (l == 0 || l > 255 || n + 1 + l > outlen)
			return -1;
		out[n++] = (unsigned char)l;
		memcpy(out + n, p, l);
		n += l;
		p += l;
		if (*p == ',')
			p++;
	}
	return (int)n;
}

static void
client_free(struct hs_client *c)
{
	if (c == NULL)
		return;
	SSL_free(c->ssl);
	SSL_CTX_free(c->ctx);
	if (c->fd != -1)
		close(c->fd);
	free(c->in);
	free(c->line);
	free(c);
}

struct hs_client *
hs_connect(const struct hs_server *s, const struct hs_client_opts *opts)
{
	static const struct hs_client_opts defaults;
	const struct hs_client_opts *o = opts != NULL ? opts : &defaults;
	const char *alpn = o->alpn != NULL ? o->alpn : "parley/1";
	const char *vname = o->verify_name != NULL ? o->verify_name :
	    "localhost";
	int timeout = o->timeout_ms > 0 ? o->timeout_ms : HS_TIMEOUT_MS;
	int64_t deadline = hs_now_ms() + timeout;
	unsigned char wire[256];
	const unsigned char *proto;
	unsigned int protolen;
	struct in6_addr a6;
	struct hs_client *c;
	const char *ca;
	char eb[256];
	int r, e, n;

	init();
	if ((ca = hs_cafile()) == NULL)
		return NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->fd = -1;
	c->num = ++client_count;
	ERR_clear_error();
	if ((c->ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		goto sslfail;
	SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
	if (SSL_CTX_load_verify_locations(c->ctx, ca, NULL) != 1)
		goto sslfail;
	if (o->min_version != 0 &&
	    SSL_CTX_set_min_proto_version(c->ctx, o->min_version) != 1)
		goto sslfail;
	if (o->max_version != 0 &&
	    SSL_CTX_set_max_proto_version(c->ctx, o->max_version) != 1)
		goto sslfail;
	if (o->ciphers != NULL &&
	    SSL_CTX_set_cipher_list(c->ctx, o->ciphers) != 1)
		goto sslfail;
	if (*alpn != '\0') {
		if ((n = alpn_wire(alpn, wire, sizeof(wire))) <= 0) {
			seterr(0, "bad ALPN list \"%s\"", alpn);
			goto fail;
		}
		if (SSL_CTX_set_alpn_protos(c->ctx, wire, (unsigned)n) != 0)
			goto sslfail;
	}
	if (o->cert != NULL) {
		if (SSL_CTX_use_certificate_chain_file(c->ctx, o->cert) != 1 ||
		    SSL_CTX_use_PrivateKey_file(c->ctx,
		    o->key != NULL ? o->key : o->cert, SSL_FILETYPE_PEM) != 1)
			goto sslfail;
	}
	SSL_CTX_set_mode(c->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if ((c->ssl = SSL_new(c->ctx)) == NULL)
		goto sslfail;
	if (inet_pton(AF_INET, vname, &a6) == 1 ||
	    inet_pton(AF_INET6, vname, &a6) == 1) {
		if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl),
		    vname) != 1)
			goto sslfail;
	} else {
		if (SSL_set1_host(c->ssl, vname) != 1 ||
		    SSL_set_tlsext_host_name(c->ssl, vname) != 1)
			goto sslfail;
	}

	c->fd = tcp_open(s->host, s->port, o->src, timeout, 1);
	if (c->fd == -1)
		goto fail;
	if (SSL_set_fd(c->ssl, c->fd) != 1)
		goto sslfail;
	for (;;) {
		ERR_clear_error();
		errno = 0;
		r = SSL_connect(c->ssl);
		if (r == 1)
			break;
		e = SSL_get_error(c->ssl, r);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
			r = wait_fd(c->fd, e == SSL_ERROR_WANT_READ ? POLLIN :
			    POLLOUT, deadline);
			if (r == 1)
				continue;
			seterr(1, "TLS handshake timed out");
			goto fail;
		}
		{
			long vr = SSL_get_verify_result(c->ssl);

			seterr(1, "TLS handshake failed: %s%s%s",
			    ssl_errstr(eb, sizeof(eb)),
			    vr != X509_V_OK ? "; verify: " : "",
			    vr != X509_V_OK ?
			    X509_verify_cert_error_string(vr) : "");
		}
		goto fail;
	}
	c->version = SSL_version(c->ssl);
	SSL_get0_alpn_selected(c->ssl, &proto, &protolen);
	if (proto != NULL && protolen < sizeof(c->alpn)) {
		memcpy(c->alpn, proto, protolen);
		c->alpn[protolen] = '\0';
	}
	if (verbose)
		fprintf(stderr, "harness: c%d connected %s alpn \"%s\"%s%s\n",
		    c->num, SSL_get_version(c->ssl), c->alpn,
		    o->src != NULL ? " from " : "",
		    o->src != NULL ? o->src : "");
	return c;
sslfail:
	seterr(0, "TLS setup: %s", ssl_errstr(eb, sizeof(eb)));
fail:
	client_free(c);
	return NULL;
}

const char *
hs_client_alpn(const struct hs_client *c)
{
	return c->alpn;
}

int
hs_client_version(const struct hs_client *c)
{
	return c->version;
}

int
hs_client_fd(const struct hs_client *c)
{
	return c->fd;
}

void
hs_close(struct hs_client *c)
{
	if (c == NULL)
		return;
	if (c->closed == 0 && c->ssl != NULL) {
		ERR_clear_error();
		/* One try: the close_notify goes out if it can. */
		(void)SSL_shutdown(c->ssl);
		ERR_clear_error();
	}
	client_free(c);
}

void
hs_abort(struct hs_client *c)
{
	if (c == NULL)
		return;
	if (c->ssl != NULL)
		SSL_set_quiet_shutdown(c->ssl, 1);
	client_free(c);
}

/*
 * Read more plaintext. Returns 1 when some arrived, 0 on timeout, -1 when
 * the connection is closed (c->closed says how).
 */
static int
fill(struct hs_client *c, int64_t deadline)
{
	char eb[256];
	size_t n;
	int r, e;

	if (c->closed)
		return -1;
	if (c->rpos > 0) {
		memmove(c->in, c->in + c->rpos, c->inlen - c->rpos);
		c->inlen -= c->rpos;
		c->rpos = 0;
	}
	if (c->incap - c->inlen < 16384) {
		size_t ncap = c->incap == 0 ? 65536 : c->incap * 2;
		char *nb;

		if (ncap > INPUT_CAP) {
			seterr(0, "c%d: line longer than %u bytes", c->num,
			    INPUT_CAP);
			c->closed = HS_CLOSE_EOF;
			return -1;
		}
		if ((nb = realloc(c->in, ncap)) == NULL)
			return -1;
		c->in = nb;
		c->incap = ncap;
	}
	for (;;) {
		ERR_clear_error();
		errno = 0;
		r = SSL_read_ex(c->ssl, c->in + c->inlen, c->incap - c->inlen,
		    &n);
		if (r == 1) {
			c->inlen += n;
			return 1;
		}
		e = SSL_get_error(c->ssl, r);
		switch (e) {
		case SSL_ERROR_WANT_READ:
		case SSL_ERROR_WANT_WRITE:
			r = wait_fd(c->fd, e == SSL_ERROR_WANT_READ ? POLLIN :
			    POLLOUT, deadline);
			if (r == 1)
				continue;
			if (r == 0)
				return 0;
			c->closed = HS_CLOSE_EOF;
			return -1;
		case SSL_ERROR_ZERO_RETURN:
			c->closed = HS_CLOSE_NOTIFY;
			if (verbose)
				fprintf(stderr, "harness: c%d close_notify\n",
				    c->num);
			return -1;
		default:
			c->closed = HS_CLOSE_EOF;
			if (verbose)
				fprintf(stderr, "harness: c%d closed: %s\n",
				    c->num, ssl_errstr(eb, sizeof(eb)));
			ERR_clear_error();
			return -1;
		}
	}
}

const char *
hs_line_timeout(struct hs_client *c, int timeout_ms)
{
	int64_t deadline = hs_now_ms() + timeout_ms;
	char *nl;
	size_t len, l;
	int r;

	for (;;) {
		nl = c->inlen > c->rpos ?
		    memchr(c->in + c->rpos, '\n', c->inlen - c->rpos) : NULL;
		if (nl != NULL) {
			len = (size_t)(nl - (c->in + c->rpos));
			show(c, "<", c->in + c->rpos, len + 1);
			c->had_cr = len > 0 && nl[-1] == '\r';
			l = len - (size_t)c->had_cr;
			if (c->linecap < l + 1) {
				char *nb = realloc(c->line, l + 1);

				if (nb == NULL)
					return NULL;
				c->line = nb;
				c->linecap = l + 1;
			}
			memcpy(c->line, c->in + c->rpos, l);
			c->line[l] = '\0';
			c->rpos += len + 1;
			if (strncmp(c->line, "HELLO ", 6) == 0)
				c->greeted = 1;
			return c->line;
		}
		r = fill(c, deadline);
		if (r == 0) {
			seterr(0, "c%d: no line within %d ms", c->num,
			    timeout_ms);
			return NULL;
		}
		if (r < 0)
			return NULL;
	}
}

const char *
hs_line(struct hs_client *c)
{
	return hs_line_timeout(c, HS_TIMEOUT_MS);
}

int
hs_line_had_cr(const struct hs_client *c)
{
	return c->had_cr;
}

int
hs_send_raw(struct hs_client *c, const void *data, size_t len)
{
	int64_t deadline = hs_now_ms() + HS_TIMEOUT_MS;
	const char *p = data;
	size_t off = 0, n;
	char eb[256];
	int r, e;

	show(c, ">", data, len);
	while (off < len) {
		ERR_clear_error();
		errno = 0;
		r = SSL_write_ex(c->ssl, p + off, len - off, &n);
		if (r == 1) {
			off += n;
			continue;
		}
		e = SSL_get_error(c->ssl, r);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
			if (wait_fd(c->fd, e == SSL_ERROR_WANT_READ ? POLLIN :
			    POLLOUT, deadline) == 1)
				continue;
			seterr(0, "c%d: write timed out (%zu of %zu bytes)",
			    c->num, off, len);
			return -1;
		}
		seterr(0, "c%d: write failed: %s", c->num,
		    ssl_errstr(eb, sizeof(eb)));
		return -1;
	}
	return 0;
}

static int
vsend(struct hs_client *c, const char *fmt, va_list ap)
{
	char *s = NULL;
	int n, rc;

	if ((n = vasprintf(&s, fmt, ap)) == -1)
		return -1;
	/* Reuse the terminator's room for the LF: send n + 1 bytes. */
	s[n] = '\n';
	rc = hs_send_raw(c, s, (size_t)n + 1);
	free(s);
	return rc;
}

int
hs_send(struct hs_client *c, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vsend(c, fmt, ap);
	va_end(ap);
	return rc;
}

int
hs_is_event(const char *line)
{
	static const char *const ev[] = {
		"HELLO", "MSG", "JOINED", "LEFT", "PRESENCE", "BYE", NULL
	};
	size_t i, l;

	for (i = 0; ev[i] != NULL; i++) {
		l = strlen(ev[i]);
		if (strncmp(line, ev[i], l) == 0 &&
		    (line[l] == ' ' || line[l] == '\0'))
			return 1;
	}
	return 0;
}

const char *
hs_expect(struct hs_client *c, const char *prefix, int flags, int timeout_ms)
{
	int64_t deadline = hs_now_ms() + timeout_ms;
	const char *l;

	for (;;) {
		l = hs_line_timeout(c, remaining(deadline));
		if (l == NULL) {
			seterr(0, "c%d: no line starting with \"%s\"", c->num,
			    prefix);
			return NULL;
		}
		if (strncmp(l, prefix, strlen(prefix)) == 0)
			return l;
		if ((flags & HS_SKIP_ANY) ||
		    ((flags & HS_SKIP_EVENTS) && hs_is_event(l)))
			continue;
		seterr(0, "c%d: got \"%s\", expected \"%s...\"", c->num, l,
		    prefix);
		return NULL;
	}
}

static int
push(char ***v, size_t *n, const char *line)
{
	char **nv = realloc(*v, (*n + 1) * sizeof(**v));

	if (nv == NULL)
		return -1;
	*v = nv;
	if ((nv[*n] = strdup(line)) == NULL)
		return -1;
	(*n)++;
	return 0;
}

static int
is_final(const char *l)
{
	return strcmp(l, "OK") == 0 || strncmp(l, "OK ", 3) == 0 ||
	    strcmp(l, "ERR") == 0 || strncmp(l, "ERR ", 4) == 0;
}

int
hs_collect(struct hs_client *c, struct hs_reply *r, int timeout_ms)
{
	int64_t deadline = hs_now_ms() + timeout_ms;
	const char *l;

	memset(r, 0, sizeof(*r));
	for (;;) {
		l = hs_line_timeout(c, remaining(deadline));
		if (l == NULL)
			return -1;
		if (is_final(l)) {
			r->final = strdup(l);
			return r->final != NULL ? 0 : -1;
		}
		if (strcmp(l, "BYE") == 0 || strncmp(l, "BYE ", 4) == 0) {
			r->final = strdup(l);
			seterr(0, "c%d: %s", c->num, l);
			return -1;
		}
		if (hs_is_event(l)) {
			if (push(&r->events, &r->nevents, l) == -1)
				return -1;
		} else if (push(&r->data, &r->ndata, l) == -1)
			return -1;
	}
}

int
hs_command(struct hs_client *c, struct hs_reply *r, const char *fmt, ...)
{
	va_list ap;
	int rc;

	memset(r, 0, sizeof(*r));
	va_start(ap, fmt);
	rc = vsend(c, fmt, ap);
	va_end(ap);
	if (rc == -1)
		return -1;
	return hs_collect(c, r, HS_TIMEOUT_MS);
}

void
hs_reply_free(struct hs_reply *r)
{
	size_t i;

	for (i = 0; i < r->ndata; i++)
		free(r->data[i]);
	for (i = 0; i < r->nevents; i++)
		free(r->events[i]);
	free(r->data);
	free(r->events);
	free(r->final);
	memset(r, 0, sizeof(*r));
}

int
hs_sync(struct hs_client *c)
{
	struct hs_reply r;
	char want[64];
	int n = -1;
	size_t i;

	snprintf(want, sizeof(want), "OK PING sync-%u", ++c->sync_seq);
	if (hs_command(c, &r, "PING sync-%u", c->sync_seq) == 0 &&
	    strcmp(r.final, want) == 0) {
		n = (int)(r.ndata + r.nevents);
		for (i = 0; i < r.ndata; i++)
			fprintf(stderr, "harness: c%d pending: %s\n", c->num,
			    r.data[i]);
		for (i = 0; i < r.nevents; i++)
			fprintf(stderr, "harness: c%d pending: %s\n", c->num,
			    r.events[i]);
	} else
		seterr(0, "c%d: sync got \"%s\", expected \"%s\"", c->num,
		    r.final != NULL ? r.final : "(nothing)", want);
	hs_reply_free(&r);
	return n;
}

/* The token for s: bare if it can be, else quoted with \" and \\. */
static char *
quote_token(const char *s)
{
	size_t i, n = 0, len = strlen(s);
	int bare = len > 0 && s[0] != '"';
	char *out;

	for (i = 0; i < len; i++)
		if (s[i] == ' ' || s[i] == '\\' || s[i] == '"')
			bare = 0;
	if (bare)
		return strdup(s);
	if ((out = malloc(len * 2 + 3)) == NULL)
		return NULL;
	out[n++] = '"';
	for (i = 0; i < len; i++) {
		if (s[i] == '"' || s[i] == '\\')
			out[n++] = '\\';
		out[n++] = s[i];
	}
	out[n++] = '"';
	out[n] = '\0';
	return out;
}

int
hs_login(struct hs_client *c, const char *user, const char *password)
{
	struct hs_reply r;
	char want[128], *tok;
	size_t i;
	int rc = -1;

	if (!c->greeted && hs_expect(c, "HELLO ", 0, HS_TIMEOUT_MS) == NULL)
		return -1;
	snprintf(want, sizeof(want), "OK LOGIN %s", user);
	for (i = 9; want[i] != '\0'; i++)
		want[i] = (char)tolower((unsigned char)want[i]);
	if ((tok = quote_token(password)) == NULL)
		return -1;
	if (hs_command(c, &r, "LOGIN %s %s", user, tok) == 0 &&
	    strcmp(r.final, want) == 0)
		rc = 0;
	else
		seterr(0, "c%d: LOGIN %s got \"%s\"", c->num, user,
		    r.final != NULL ? r.final : "(nothing)");
	free(tok);
	hs_reply_free(&r);
	return rc;
}

struct hs_client *
hs_login_new(const struct hs_server *s, const struct hs_client_opts *opts,
    const char *user, const char *password)
{
	struct hs_client *c = hs_connect(s, opts);

	if (c == NULL) {
		fprintf(stderr, "harness: connect for %s: %s\n", user,
		    errbuf);
		return NULL;
	}
	if (hs_login(c, user, password) == -1) {
		hs_close(c);
		return NULL;
	}
	return c;
}

int
hs_wait_close(struct hs_client *c, int timeout_ms, int *nlines)
{
	int64_t deadline = hs_now_ms() + timeout_ms;
	const char *l;
	int n = 0;

	for (;;) {
		l = hs_line_timeout(c, remaining(deadline));
		if (l != NULL) {
			fprintf(stderr, "harness: c%d line before close: %s\n",
			    c->num, l);
			n++;
			continue;
		}
		break;
	}
	if (nlines != NULL)
		*nlines = n;
	if (c->closed == 0)
		seterr(0, "c%d: still open after %d ms", c->num, timeout_ms);
	return c->closed;
}

/* ------------------------------------------------------------------ */
/* Plain TCP                                                           */

int
hs_tcp_connect(const struct hs_server *s, const char *src, int timeout_ms)
{
	init();
	return tcp_open(s->host, s->port, src, timeout_ms, 0);
}

int
hs_fd_write(int fd, const void *data, size_t len, int timeout_ms)
{
	int64_t deadline = hs_now_ms() + timeout_ms;
	const char *p = data;
	size_t off = 0;
	ssize_t w;

	while (off < len) {
		w = send(fd, p + off, len - off, MSG_NOSIGNAL);
		if (w > 0) {
			off += (size_t)w;
			continue;
		}
		if (w == -1 && (errno == EAGAIN || errno == EINTR)) {
			if (wait_fd(fd, POLLOUT, deadline) == 1)
				continue;
		}
		return -1;
	}
	return 0;
}

int
hs_fd_wait_close(int fd, int timeout_ms, size_t *nbytes)
{
	int64_t deadline = hs_now_ms() + timeout_ms;
	char buf[4096];
	size_t total = 0;
	ssize_t r;
	int rc = 0;

	for (;;) {
		r = recv(fd, buf, sizeof(buf), 0);
		if (r > 0) {
			total += (size_t)r;
			continue;
		}
		if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
			rc = 1;
			break;
		}
		if (wait_fd(fd, POLLIN, deadline) != 1)
			break;
	}
	if (nbytes != NULL)
		*nbytes = total;
	return rc;
}

/* ------------------------------------------------------------------ */
/* Protocol helpers                                                    */

/* Copy the next space-ended field of *p into out; advance past it. */
static int
field(const char **p, char *out, size_t outlen)
{
	const char *e = strchr(*p, ' ');
	size_t l;

	if (e == NULL)
		return -1;
	l = (size_t)(e - *p);
	if (l == 0 || l >= outlen)
		return -1;
	memcpy(out, *p, l);
	out[l] = '\0';
	*p = e + 1;
	return 0;
}

static int
parse_u64(const char *s, uint64_t *v)
{
	char *end;

	if (!isdigit((unsigned char)s[0]))
		return -1;
	errno = 0;
	*v = strtoull(s, &end, 10);
	if (errno != 0 || (*end != '\0' && *end != ' '))
		return -1;
	return 0;
}

int
hs_parse_msg(const char *line, struct hs_msg *m)
{
	const char *p = line;
	char kw[16], id[32];

	memset(m, 0, sizeof(*m));
	if (field(&p, kw, sizeof(kw)) == -1 ||
	    (strcmp(kw, "MSG") != 0 && strcmp(kw, "HIST") != 0) ||
	    field(&p, id, sizeof(id)) == -1 || parse_u64(id, &m->id) == -1 ||
	    field(&p, m->time, sizeof(m->time)) == -1 ||
	    field(&p, m->from, sizeof(m->from)) == -1 ||
	    field(&p, m->to, sizeof(m->to)) == -1)
		return -1;
	if ((m->text = strdup(p)) == NULL)
		return -1;
	return 0;
}

void
hs_msg_free(struct hs_msg *m)
{
	free(m->text);
	m->text = NULL;
}

int
hs_is_rfc3339_ms(const char *s)
{
	static const char pat[] = "dddd-dd-ddTdd:dd:dd.dddZ";
	size_t i;

	if (strlen(s) != sizeof(pat) - 1)
		return 0;
	for (i = 0; pat[i] != '\0'; i++) {
		if (pat[i] == 'd') {
			if (!isdigit((unsigned char)s[i]))
				return 0;
		} else if (s[i] != pat[i])
			return 0;
	}
	return hs_rfc3339_ms(s) >= 0;
}

int64_t
hs_rfc3339_ms(const char *s)
{
	int y, mo, d, h, mi, se, ms;
	struct tm tm;
	time_t t;

	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &y, &mo, &d, &h, &mi,
	    &se, &ms) != 7)
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
	    se > 60 || y < 1970)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	if ((t = timegm(&tm)) == (time_t)-1)
		return -1;
	return (int64_t)t * 1000 + ms;
}

int
hs_parse_send_id(const char *line, uint64_t *id)
{
	if (strncmp(line, "OK SEND ", 8) != 0)
		return -1;
	return parse_u64(line + 8, id);
}

/* ------------------------------------------------------------------ */
/* cmocka helpers                                                      */

void
hs_assert_line_at(struct hs_client *c, const char *want, const char *file,
    int line)
{
	const char *l = hs_line(c);

	if (l == NULL) {
		print_error("%s:%d: no line (%s) where \"%s\" was expected\n",
		    file, line, errbuf, want);
		_fail(file, line);
	}
	if (strcmp(l, want) != 0) {
		print_error("%s:%d: got \"%s\", expected \"%s\"\n", file, line,
		    l, want);
		_fail(file, line);
	}
}

const char *
hs_assert_prefix_at(struct hs_client *c, const char *prefix,
    const char *file, int line)
{
	const char *l = hs_line(c);

	if (l == NULL) {
		print_error("%s:%d: no line (%s) where \"%s...\" was "
		    "expected\n", file, line, errbuf, prefix);
		_fail(file, line);
		return NULL;
	}
	if (strncmp(l, prefix, strlen(prefix)) != 0) {
		print_error("%s:%d: got \"%s\", expected \"%s...\"\n", file,
		    line, l, prefix);
		_fail(file, line);
	}
	return l;
}
