/*
 * harness: what parley's integration tests share.
 *
 * It starts a real parleyd on 127.0.0.1 with a port the kernel picks, over
 * real TLS with a throw-away CA, adds users with parleyctl, and drives
 * blocking TLS clients with a deadline on every wait. Nothing here asserts:
 * functions return NULL or -1 and print why on stderr, so a test decides
 * what a failure means. The HS_ASSERT_* macros at the end wrap the common
 * cmocka checks with readable messages.
 *
 * The prefix is hs_ (harness). Environment:
 *   PARLEY_TEST_VERBOSE=1   print every line sent and received
 *   PARLEY_TEST_KEEP=1      keep the temporary directories
 */
#ifndef PARLEY_HARNESS_H
#define PARLEY_HARNESS_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <sys/types.h>
#include <cmocka.h>

/* Default wait for a line, a handshake or a command. */
#define HS_TIMEOUT_MS		10000
/* How long to wait for parleyd to say where it listens. */
#define HS_START_TIMEOUT_MS	10000

#define HS_FMT(a, b)		__attribute__((format(printf, a, b)))
#define HS_WUR			__attribute__((warn_unused_result))

/* ------------------------------------------------------------------ */
/* Time and processes                                                  */

/* CLOCK_MONOTONIC in milliseconds. */
int64_t hs_now_ms(void);
void hs_sleep_ms(int ms);

/*
 * Run "/bin/sh -c CMD" with input (may be NULL) on its stdin, capturing
 * stdout and stderr together into *out (malloc'd, NUL-terminated; pass
 * NULL to discard). Returns the exit status (0..255, 128+signal when
 * killed) or -1 on error or timeout (the command's process group is then
 * killed).
 */
int hs_run(const char *input, char **out, int timeout_ms, const char *fmt, ...)
    HS_FMT(4, 5);

/*
 * The test CA and server certificates, generated once per process by
 * certs/gen-certs.sh into a temporary directory removed at exit.
 * Return NULL if generation failed.
 */
const char *hs_certdir(void);
const char *hs_cafile(void);

/*
 * Generate (once) a client certificate with CN=user signed by the test
 * CA. The paths are written into cert and key (PATH_MAX bytes each).
 * Returns 0 or -1.
 */
int hs_client_cert(const char *user, char *cert, char *key) HS_WUR;

/* ------------------------------------------------------------------ */
/* Server lifecycle                                                    */

struct hs_server;

/*
 * Create a temporary directory with a config file for parleyd, without
 * starting it. overrides is NULL or a NULL-terminated list of
 * "section.key=value" strings that replace or add to the defaults:
 *
 *   [server] name = parley-test, listen = 127.0.0.1:0
 *   [tls] certificate, private_key = the test certificates
 *   [storage] database = parley.db (in the temporary directory)
 *   [auth] pwhash_ops = 1, pwhash_mem_kib = 8192 (fast logins)
 *
 * "section.key" without '=' removes the key. In a value, "@CA" is
 * replaced by the test CA file and "@DIR" by the temporary directory.
 * Returns NULL on failure.
 */
struct hs_server *hs_server_new(const char *const *overrides);

/*
 * Start parleyd (stderr and stdout appended to the log file) and wait
 * until it logs "listening on ADDR:PORT". Returns 0, or -1 after printing
 * the log. Starting again after a stop or kill reuses the directory and
 * database; the port is picked anew.
 */
int hs_server_start(struct hs_server *s) HS_WUR;

/* hs_server_new + hs_server_start; NULL on failure. */
struct hs_server *hs_server_start_new(const char *const *overrides);

/* Send a signal to the running server. Returns 0 or -1. */
int hs_server_signal(struct hs_server *s, int sig);

/*
 * Wait up to timeout_ms for the server to exit. Returns its exit status
 * (0..255, or 128+signal), or -1 if it is still running (or never ran).
 */
int hs_server_wait(struct hs_server *s, int timeout_ms);

/*
 * SIGTERM and wait up to 10 s; if it is still running, SIGKILL and
 * return -1. Otherwise return the exit status as hs_server_wait.
 */
int hs_server_stop(struct hs_server *s);

/* SIGKILL and reap. */
void hs_server_kill(struct hs_server *s);

/* Stop if running, then start again. Returns 0 or -1. */
int hs_server_restart(struct hs_server *s) HS_WUR;

/* Kill if running, remove the directory, free. NULL is a no-op. */
void hs_server_free(struct hs_server *s);

/*
 * For teardown: stop the server with SIGTERM if it runs, then check that
 * it exited 0 and that its log holds no sanitizer report; free it either
 * way. Returns 0, or -1 (after printing why). NULL gives 0.
 */
int hs_server_finish(struct hs_server *s);

/* The whole log file, malloc'd (caller frees); NULL on error. */
char *hs_server_log(const struct hs_server *s);

int hs_server_port(const struct hs_server *s);
const char *hs_server_host(const struct hs_server *s);	/* "127.0.0.1" */
const char *hs_server_dir(const struct hs_server *s);
const char *hs_server_config(const struct hs_server *s);
const char *hs_server_logfile(const struct hs_server *s);
pid_t hs_server_pid(const struct hs_server *s);	/* 0 if stopped */

/*
 * Run "parleyctl -c CONFIG ARGS" (ARGS formatted, then given to the
 * shell). input goes to its stdin. Returns the exit status, -1 on error.
 */
int hs_ctl(const struct hs_server *s, const char *input, char **out,
    const char *fmt, ...) HS_FMT(4, 5);

/* parleyctl user add NAME [--admin] --password-stdin. Returns 0 or -1. */
int hs_user_add(const struct hs_server *s, const char *name,
    const char *password, int admin) HS_WUR;

/* ------------------------------------------------------------------ */
/* TLS client                                                          */

struct hs_client;

struct hs_client_opts {
	/*
	 * ALPN protocols, comma-separated. NULL: "parley/1". "": offer
	 * none.
	 */
	const char	*alpn;
	/* Local source address, e.g. "127.0.0.2". NULL: the kernel's. */
	const char	*src;
	/* Client certificate and key (PEM), or NULL. */
	const char	*cert;
	const char	*key;
	/* TLS1_2_VERSION etc.; 0: library default. */
	int		 min_version;
	int		 max_version;
	/* OpenSSL cipher list (TLS 1.2 and older), NULL: default. */
	const char	*ciphers;
	/* Name or IP address to verify; NULL: "localhost". */
	const char	*verify_name;
	/* Handshake timeout; 0: HS_TIMEOUT_MS. */
	int		 timeout_ms;
};

/*
 * Connect to the server and complete the TLS handshake (the server
 * certificate is verified against the test CA). The greeting is not read.
 * opts may be NULL. Returns NULL on failure; hs_error() says why.
 */
struct hs_client *hs_connect(const struct hs_server *s,
    const struct hs_client_opts *opts);

/* Why the last hs_connect (or other call) failed. */
const char *hs_error(void);

/* Negotiated ALPN ("" if none) and TLS version (TLS1_3_VERSION etc.). */
const char *hs_client_alpn(const struct hs_client *c);
int hs_client_version(const struct hs_client *c);
int hs_client_fd(const struct hs_client *c);

/* Send close_notify (best effort), close and free. NULL is a no-op. */
void hs_close(struct hs_client *c);
/* Close the socket without close_notify and free. */
void hs_abort(struct hs_client *c);

/* Send a formatted line; a LF is appended. Returns 0 or -1. */
int hs_send(struct hs_client *c, const char *fmt, ...) HS_FMT(2, 3);
/* Send bytes as they are. Returns 0 or -1. */
int hs_send_raw(struct hs_client *c, const void *data, size_t len);

/*
 * Read one line (LF or CRLF stripped). Returns a pointer into the
 * client, valid until the next read on it, or NULL on timeout, EOF or
 * error. hs_line uses HS_TIMEOUT_MS.
 */
const char *hs_line_timeout(struct hs_client *c, int timeout_ms);
const char *hs_line(struct hs_client *c);
/* Whether the last line read ended with CRLF rather than LF. */
int hs_line_had_cr(const struct hs_client *c);

/* Whether a line starts with an event keyword (HELLO, MSG, ...). */
int hs_is_event(const char *line);

#define HS_SKIP_EVENTS	0x1	/* skip non-matching event lines */
#define HS_SKIP_ANY	0x2	/* skip every line that does not match */

/*
 * Read until a line starting with prefix. Without a skip flag, any other
 * line is a failure. Returns the line (as hs_line) or NULL.
 */
const char *hs_expect(struct hs_client *c, const char *prefix, int flags,
    int timeout_ms);

/* A command's answer: data lines, events seen meanwhile, the final line. */
struct hs_reply {
	char	**data;
	size_t	  ndata;
	char	**events;
	size_t	  nevents;
	char	 *final;	/* "OK ...", "ERR ...", "BYE ..." or NULL */
};

/*
 * Send a formatted line and collect lines until a final line (OK/ERR),
 * or a BYE, or timeout. Returns 0 if a final line arrived (r->final set),
 * else -1. Free with hs_reply_free.
 */
int hs_command(struct hs_client *c, struct hs_reply *r, const char *fmt, ...)
    HS_FMT(3, 4);
/* Like hs_command for a line already sent. */
int hs_collect(struct hs_client *c, struct hs_reply *r, int timeout_ms);
void hs_reply_free(struct hs_reply *r);

/*
 * Send "PING sync-N" and read up to its answer. Returns how many other
 * lines arrived first (0: nothing pending), or -1.
 */
int hs_sync(struct hs_client *c);

/*
 * Read the greeting if not read yet, send LOGIN (the password quoted when
 * it needs to be) and expect "OK LOGIN <user in lowercase>". Returns 0 or
 * -1.
 */
int hs_login(struct hs_client *c, const char *user, const char *password)
    HS_WUR;

/* Connect (opts may be NULL) and log in; NULL on failure. */
struct hs_client *hs_login_new(const struct hs_server *s,
    const struct hs_client_opts *opts, const char *user,
    const char *password);

#define HS_CLOSE_NOTIFY	1	/* TLS close_notify, then EOF */
#define HS_CLOSE_EOF	2	/* EOF or reset without close_notify */

/*
 * Read until the peer closes, at most timeout_ms. Lines arriving first
 * are printed and counted into *nlines (may be NULL). Returns
 * HS_CLOSE_NOTIFY, HS_CLOSE_EOF, or 0 on timeout.
 */
int hs_wait_close(struct hs_client *c, int timeout_ms, int *nlines);

/* ------------------------------------------------------------------ */
/* Plain TCP, for raw-byte tests                                       */

/* Non-blocking TCP socket connected to the server; -1 on failure. */
int hs_tcp_connect(const struct hs_server *s, const char *src,
    int timeout_ms);
/* Write all bytes within timeout_ms. Returns 0 or -1. */
int hs_fd_write(int fd, const void *data, size_t len, int timeout_ms);
/*
 * Read and discard until EOF or reset. Returns 1 when closed, 0 on
 * timeout. *nbytes (may be NULL) gets how many bytes were read.
 */
int hs_fd_wait_close(int fd, int timeout_ms, size_t *nbytes);

/* ------------------------------------------------------------------ */
/* Protocol helpers                                                    */

/* "MSG <id> <time> <from> <to> <text>", split into copies. */
struct hs_msg {
	uint64_t	 id;
	char		 time[32];
	char		 from[80];
	char		 to[80];
	char		*text;		/* malloc'd */
};

/* Parse a MSG (or HIST) line. Returns 0 or -1. Free with hs_msg_free. */
int hs_parse_msg(const char *line, struct hs_msg *m);
void hs_msg_free(struct hs_msg *m);

/* Whether s is "YYYY-MM-DDTHH:MM:SS.mmmZ". */
int hs_is_rfc3339_ms(const char *s);
/* Milliseconds since the epoch for such a string, or -1. */
int64_t hs_rfc3339_ms(const char *s);

/* Parse "OK SEND <id>". Returns 0 or -1. */
int hs_parse_send_id(const char *line, uint64_t *id);

/* ------------------------------------------------------------------ */
/* cmocka helpers                                                      */

/*
 * The next line must be exactly want / start with prefix, else the test
 * fails at the caller's file and line. The prefix form returns the line.
 */
void hs_assert_line_at(struct hs_client *c, const char *want,
    const char *file, int line);
const char *hs_assert_prefix_at(struct hs_client *c, const char *prefix,
    const char *file, int line);

#define HS_ASSERT_LINE(c, want) \
	hs_assert_line_at((c), (want), __FILE__, __LINE__)
#define HS_ASSERT_PREFIX(c, prefix) \
	hs_assert_prefix_at((c), (prefix), __FILE__, __LINE__)

#endif
