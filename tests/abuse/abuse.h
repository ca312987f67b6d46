/*
 * abuse: what parley's abuse tests share (docs/TESTING.md, HARDENING.md).
 *
 * Each abuse test attacks a real parleyd (started by the integration
 * harness) the way one row of HARDENING.md describes, measures the figure
 * that row names, and prints one line per figure:
 *
 *   abuse: <row>: <figure>=<value> (target <target>) PASS|FAIL
 *
 * Conventions: attackers use 127.0.0.1, the honest victim 127.0.0.2. A
 * victim process sends PING every 100 ms and reports the round-trip time;
 * every test ends with a liveness check (a fresh login from 127.0.0.2 in
 * under 1 s, the server's open descriptors back to their baseline). Every
 * loop is bounded in count and in time.
 *
 * Modes: the short mode (the default) is what CI runs; PARLEY_ABUSE_LONG=1
 * selects the full counts where a row's figure needs more than CI time
 * (10,000 RST iterations, 100 SIGKILLs). In a sanitizer build timing and
 * memory figures are printed but only correctness figures are judged: the
 * point of that run is 0 sanitizer reports.
 *
 * The prefix is ab_.
 */
#ifndef PARLEY_ABUSE_H
#define PARLEY_ABUSE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include <openssl/ssl.h>

#include "harness.h"

#define AB_FMT(a, b)		__attribute__((format(printf, a, b)))
#define AB_WUR			__attribute__((warn_unused_result))

#define AB_ATTACKER		"127.0.0.1"
#define AB_VICTIM		"127.0.0.2"

/* The users every abuse server has; passwords are never logged. */
#define AB_VICTIM_USER		"victim"
#define AB_VICTIM_PW		"victim-Harbour-Lantern-8841"
#define AB_ATTACKER_USER	"mallory"
#define AB_ATTACKER_PW		"mallory-Quarry-Thistle-5120"

/* Liveness targets (HARDENING.md conventions). */
#define AB_LIVE_LOGIN_MS	1000
#define AB_FDS_SETTLE_MS	5000

/* Set by ab_main from the environment and the build. */
extern int ab_long;		/* PARLEY_ABUSE_LONG=1 */
extern int ab_sanitized;	/* ASan/UBSan/TSan build: timing not judged */

/*
 * Run the cmocka tests of one group. argv[1], when given, names the one
 * test to run (CTest registers each row as its own test this way).
 * Returns the process exit status.
 */
int ab_main(int argc, char **argv, const char *group,
    const struct CMUnitTest *tests, size_t ntests);

#define AB_MAIN(group, tests)						\
	int main(int argc, char **argv)					\
	{								\
		return ab_main(argc, argv, (group), (tests),		\
		    sizeof(tests) / sizeof((tests)[0]));		\
	}

/* Pick the short (CI) or long count. */
#define AB_COUNT(shortn, longn)	(ab_long ? (longn) : (shortn))

/* ------------------------------------------------------------------ */
/* Figures                                                             */

enum ab_kind {
	AB_EXACT,	/* correctness: always judged */
	AB_PERF,	/* time, memory, CPU: not judged in sanitizer builds */
};

/*
 * Print one figure line for row and remember a failure. value is
 * formatted; target is the text shown in parentheses. Returns pass.
 */
int ab_figure(enum ab_kind kind, int pass, const char *row,
    const char *figure, const char *target, const char *fmt, ...) AB_FMT(6, 7);

/* An informational line (no verdict): "abuse: <row>: note: ...". */
void ab_note(const char *row, const char *fmt, ...) AB_FMT(2, 3);

/* Fail the running cmocka test if any figure failed since the last call. */
void ab_verdict(void);

/* ------------------------------------------------------------------ */
/* The process under test (/proc)                                      */

long ab_rss_kib(pid_t pid);		/* VmRSS, -1 on error */
int ab_fd_count(pid_t pid);		/* entries in /proc/PID/fd, -1 */
int64_t ab_cpu_ns(pid_t pid);		/* CPU time of all threads, -1 */
int ab_running_threads(pid_t pid);	/* threads in state R, -1 */

/* Raise RLIMIT_NOFILE of this process to at least n (up to the hard cap). */
int ab_raise_nofile(rlim_t n);

/*
 * Sample VmRSS every interval_ms on a thread until stopped; the peak is
 * what is returned.
 */
struct ab_sampler;
struct ab_sampler *ab_sampler_start(pid_t pid, int interval_ms);
long ab_sampler_stop(struct ab_sampler *sp);	/* peak KiB; frees */

/*
 * Wait (at most timeout_ms, polling every 10 ms) until the process has
 * been using less than pct percent of one CPU over a window_ms window.
 * Returns how long that took in ms, or -1 on timeout.
 */
int64_t ab_wait_cpu_idle(pid_t pid, double pct, int window_ms, int timeout_ms);

/* ------------------------------------------------------------------ */
/* A server under attack                                               */

struct ab_ctx {
	const char		*row;
	struct hs_server	*s;
	pid_t			 pid;
	int			 base_fds;
	long			 base_rss;
	/* Passwords used in the test: none may appear in any log. */
	const char		*secrets[64];
	size_t			 nsecrets;
	/* Set when the test restarted the server on purpose. */
	int			 expect_nonzero_exit;
};

/*
 * Create a server with overrides (harness syntax), add the victim and the
 * attacker accounts, start it, warm it up (one login from 127.0.0.2) and
 * take the fd and RSS baselines. Returns NULL on failure.
 */
struct ab_ctx *ab_start(const char *row, const char *const *overrides);

/* Like ab_start, but users are added before the server starts. */
struct ab_ctx *ab_start_with(const char *row, const char *const *overrides,
    const char *const *users);	/* "name:password" list, NULL-ended */

/*
 * ab_start_with, with the server's clocks (monotonic and wall) running
 * speed times faster through libfaketime, so that an hour of throttling
 * fits in CI time. Returns NULL, with *no_clock set, when libfaketime is
 * not installed or this is a sanitizer build (the preload and the
 * sanitizer runtime do not mix); speed 1 starts an ordinary server.
 */
struct ab_ctx *ab_start_fast(const char *row, const char *const *overrides,
    const char *const *users, int speed, int *no_clock);

/* Re-take the fd and RSS baselines (after a restart, for instance). */
void ab_rebaseline(struct ab_ctx *x);

/* Remember a password that must not appear in any log. */
void ab_secret(struct ab_ctx *x, const char *pw);

/* Wait until the server's fds are back to the baseline (or timeout). */
int ab_wait_fds(struct ab_ctx *x, int timeout_ms, int64_t *took_ms);

/*
 * End of every test: the liveness check (fresh login from 127.0.0.2 under
 * 1 s, fds back to baseline), no test password in the logs, then SIGTERM
 * with exit 0 and no sanitizer report. Prints figures; frees x.
 */
void ab_finish(struct ab_ctx *x);

/* cmocka teardown calling ab_finish on *state. */
int ab_teardown(void **state);

/* ------------------------------------------------------------------ */
/* The victim: PING every 100 ms from 127.0.0.2, in its own process    */

struct ab_victim_stats {
	size_t	n;		/* PINGs answered */
	size_t	fails;		/* unanswered (timeout, close) */
	double	p50_ms, p99_ms, max_ms;
};

/* Fork the victim; it logs in and starts pinging. Returns 0 or -1. */
int ab_victim_start(const struct hs_server *s) AB_WUR;
/* Stop it and collect the round-trip times. */
void ab_victim_stop(struct ab_victim_stats *st);
/* Print victim-p99-ms (and the failure count) as figures. */
void ab_victim_report(const char *row, const struct ab_victim_stats *st);

/* ------------------------------------------------------------------ */
/* A raw TLS client, for what the harness client does not expose       */

struct ab_tls;

struct ab_tls_opts {
	const char	*src;		/* source address; NULL: kernel's */
	int		 min_version;	/* 0: library default */
	int		 max_version;
	int		 timeout_ms;	/* handshake; 0: HS_TIMEOUT_MS */
	int		 no_verify;	/* do not verify the certificate */
	int		 rcvbuf;	/* SO_RCVBUF bytes; 0: the kernel's */
};

/* Connect and complete the handshake; NULL on failure (ab_tls_error). */
struct ab_tls *ab_tls_connect(const struct hs_server *s,
    const struct ab_tls_opts *o);
const char *ab_tls_error(void);
SSL *ab_tls_ssl(struct ab_tls *t);
int ab_tls_fd(struct ab_tls *t);
/* KeyUpdate messages received from the server so far. */
unsigned ab_tls_keyupdates_seen(const struct ab_tls *t);

/*
 * Write up to len bytes within timeout_ms. Returns the bytes written (may
 * be short on timeout) or -1 when the connection failed.
 */
ssize_t ab_tls_write(struct ab_tls *t, const void *p, size_t len,
    int timeout_ms);
/* ab_tls_write of a formatted line plus LF; 0 or -1. */
int ab_tls_send(struct ab_tls *t, const char *fmt, ...) AB_FMT(2, 3);

/*
 * Read once (waiting at most timeout_ms) into the line buffer. Returns 1
 * when bytes arrived, 0 on timeout, -1 when the peer closed or failed.
 */
int ab_tls_pump(struct ab_tls *t, int timeout_ms);
/* Next line (LF stripped), or NULL on timeout or close. */
const char *ab_tls_line(struct ab_tls *t, int timeout_ms);
/* Whether the peer has closed (EOF, reset, alert). */
int ab_tls_closed(const struct ab_tls *t);
/* Connect from src and read the greeting; NULL on failure. */
struct ab_tls *ab_tls_hello(const struct hs_server *s, const char *src);
/* Connect from src, read the greeting and log in; NULL on failure. */
struct ab_tls *ab_tls_login(const struct hs_server *s, const char *src,
    const char *user, const char *pw);
/* SHA-256 of the server certificate as hex (65 bytes), 0 or -1. */
int ab_tls_fingerprint(struct ab_tls *t, char out[65]);
/* Close: rst != 0 sends a TCP RST (SO_LINGER 0), else close_notify. */
void ab_tls_free(struct ab_tls *t, int rst);

/* SHA-256 fingerprint of a PEM certificate file; 0 or -1. */
int ab_file_fingerprint(const char *pem, char out[65]);

/* ------------------------------------------------------------------ */
/* Small helpers                                                       */

/* Count occurrences of needle in the server log from offset on. */
size_t ab_log_count(const struct hs_server *s, size_t from,
    const char *needle);
/* Current length of the server log. */
size_t ab_log_size(const struct hs_server *s);
/*
 * SYNC from 0 to the end (pages of 500): every message visible to the
 * client, as parsed HIST lines (free with ab_msgs_free). Returns 0 or -1.
 */
int ab_sync_all(struct hs_client *c, struct hs_msg **msgs, size_t *n);
void ab_msgs_free(struct hs_msg *msgs, size_t n);
/* Percentile (0..100) of n values (sorted in place). */
double ab_percentile(double *v, size_t n, double pct);
/* TCP connect without TLS (non-blocking, connected), -1 on failure. */
int ab_tcp(const struct hs_server *s, const char *src, int timeout_ms);
/* Close a socket with a TCP RST. */
void ab_rst_close(int fd);

#endif
