/*
 * bench: what parley-bench's modules share.
 *
 * parley-bench is a load generator for parleyd over loopback TLS. One
 * thread, one epoll loop (net.c) drives every client connection; each
 * scenario (scn_*.c) sets up its connections, runs a bounded measuring
 * window and fills in a report (report.c) that is printed as one
 * key=value line and, optionally, appended to a JSON-lines file.
 *
 * Latency is measured from a CLOCK_MONOTONIC timestamp written into the
 * payload by the sending connection and read back by the receiving one,
 * both in this process, so no clock is shared with the server. Server
 * CPU time and memory come from /proc/<pid> (proc.c).
 *
 * Every loop is bounded: in time by a deadline, in count by the number of
 * connections or a configured maximum.
 */
#ifndef PARLEY_BENCH_H
#define PARLEY_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <openssl/ssl.h>

#define BENCH_NS_PER_S   1000000000ULL
/* Room for one generated user name. */
#define NAMES_LEN        48
#define BENCH_NS_PER_MS  1000000ULL

/* Exit statuses: the automake convention for "skipped". */
#define BENCH_EXIT_OK    0
#define BENCH_EXIT_FAIL  1
#define BENCH_EXIT_USAGE 2
#define BENCH_EXIT_SKIP  77

/* Nanoseconds on CLOCK_MONOTONIC. */
uint64_t bench_now_ns(void);

/* ---- options ---- */

struct bench_opts {
	const char *scenario;
	const char *mode;               /* connect: password, token, resume */
	const char *host;               /* server address, 127.0.0.0/8 */
	unsigned port;
	const char *cafile;
	const char *servername;         /* verified name and SNI */
	uint32_t src_first;             /* first source address (host order) */
	unsigned src_count;             /* 0: let the kernel choose */
	const char *user_prefix;
	unsigned users;                 /* <prefix>0 .. <prefix>(users-1) */
	const char *password;
	unsigned conns;                 /* idle */
	unsigned receivers;             /* fanout */
	unsigned senders;               /* fanout, store */
	unsigned pairs;                 /* pairs */
	unsigned inflight;              /* pairs: messages in flight per pair */
	unsigned window;                /* unacknowledged SENDs per sender */
	double rate;                    /* fanout: deliveries/s, 0 = max */
	unsigned size;                  /* message text bytes */
	double duration;                /* measuring window, seconds */
	double warmup;                  /* seconds before measuring */
	double setup_timeout;           /* seconds for connect + login */
	double settle;                  /* idle: seconds before sampling RSS */
	unsigned parallel;              /* connections being set up at once */
	unsigned auth_window;           /* logins in flight at once */
	unsigned storm;                 /* connect: reconnecting connections */
	unsigned pingers;               /* connect: logged-in PING clients */
	double ping_interval;           /* seconds */
	unsigned long max_count;        /* connect: stop after this many */
	unsigned long long pwhash_ops;  /* argon2 parameters of the server */
	unsigned long pwhash_mem_kib;
	pid_t pid;                      /* the server, for /proc; 0 = none */
	const char *json;               /* append a JSON line here */
	const char *label;              /* free text copied into the report */
	const char *direct;             /* store: database path, no server */
	unsigned batch;                 /* store --direct: messages per commit */
	bool sync_full;                 /* store --direct */
	bool verify;                    /* pairs: check commits via HISTORY */
	bool quiet;
};

/* ---- latency histogram (hist.c) ---- */

/*
 * Log-linear buckets: exact below 256 ns, then 128 buckets per power of
 * two (under 0.8 % relative error) up to 2^64 ns. About 58 KiB.
 */
#define HIST_BUCKETS (256 + 56 * 128)

struct hist {
	uint64_t count;
	uint64_t max;
	uint64_t min;
	long double sum;
	uint64_t b[HIST_BUCKETS];
};

void hist_init(struct hist *h);
void hist_add(struct hist *h, uint64_t ns);
/* The p-th percentile (0 < p <= 100) in ns, 0 when empty. */
uint64_t hist_pct(const struct hist *h, double p);

/* ---- /proc sampling (proc.c) ---- */

struct proc_sample {
	bool ok;
	uint64_t cpu_ns;                /* user + system, all threads */
	uint64_t wall_ns;               /* bench_now_ns() when taken */
	long rss_kib;
	long hwm_kib;
	long threads;
	long fds;                       /* -1 when unreadable */
	uint64_t self_cpu_ns;           /* this process, all threads */
	uint64_t machine_busy_ns;       /* every CPU, not idle (/proc/stat) */
	uint64_t kthreads_cpu_ns;       /* the kernel's threads */
};

/* Sample pid; s->ok is false (and the rest zero) when it cannot be read. */
void proc_sample(pid_t pid, struct proc_sample *s);
/* CPUs pid may run on (its affinity list), or 0 when unknown. */
unsigned proc_cpus(pid_t pid);

/* ---- the report (report.c) ---- */

#define REPORT_MAX 96

struct report {
	unsigned n;
	struct {
		char key[64];
		char val[160];
		bool num;
	} kv[REPORT_MAX];
};

void report_init(struct report *r, const char *scenario);
void report_str(struct report *r, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void report_u64(struct report *r, const char *key, uint64_t v);
void report_f(struct report *r, const char *key, double v, int decimals);
/* p50/p90/p99/max (and mean) of h in microseconds, keys prefix_p50_us... */
void report_hist(struct report *r, const char *prefix, const struct hist *h);
/*
 * Server CPU between a and b, RSS at b (nothing when either is not ok),
 * and the CPU time the rest of the machine took meanwhile: the kernel's
 * threads (much of it writeback for the server's fsyncs) and everything
 * else — load that was not ours makes a run suspect.
 */
void report_proc(struct report *r, const struct proc_sample *a,
    const struct proc_sample *b);
/* Print the key=value line on stdout; append JSON to path unless NULL. */
int report_emit(const struct report *r, const char *json_path);

/* ---- the client engine (net.c) ---- */

enum bconn_state {
	BC_IDLE,                        /* not open */
	BC_QUEUED,                      /* waiting for a connect slot */
	BC_CONNECTING,                  /* TCP connect in progress */
	BC_TLS,                         /* TLS handshake */
	BC_HELLO,                       /* waiting for HELLO */
	BC_AUTH_WAIT,                   /* waiting for a login slot */
	BC_AUTH,                        /* LOGIN or RESUME sent */
	BC_READY,                       /* authenticated */
};

enum bconn_auth {
	BA_PASSWORD,                    /* LOGIN user password */
	BA_TOKEN,                       /* RESUME user token */
	BA_NONE,                        /* stop after HELLO (ready unauthenticated) */
};

struct net;

struct bconn {
	struct net *net;
	enum bconn_state state;
	int fd;
	SSL *ssl;
	unsigned idx;                   /* the scenario's index */
	unsigned gen;                   /* bumped on close: stale callbacks stop */
	enum bconn_auth auth;
	const char *user;
	const char *secret;             /* password or token */
	SSL_SESSION *sess_offer;        /* resume this TLS session */
	SSL_SESSION *sess_new;          /* the ticket the server sent */
	bool want_session;              /* keep tickets in sess_new */
	bool resumed;                   /* the last handshake was resumed */
	bool in_epoll;
	bool dirty;
	bool want_out;                  /* OpenSSL is waiting to write */
	uint32_t ev;                    /* registered epoll events */
	uint64_t t_open;                /* bench_now_ns() at connect */
	uint64_t t_ready;
	uint64_t retry_at;              /* BC_AUTH_WAIT: not before */
	unsigned retries;
	char *in;                       /* received plaintext */
	size_t in_len, in_cap;
	char *out;                      /* plaintext waiting for SSL_write */
	size_t out_off, out_len, out_cap;
	size_t wr_chunk;                /* a retried SSL_write's length */
	struct bconn *qnext;            /* open or auth queue */
	struct bconn *dnext;            /* dirty list */
	void *arg;                      /* the scenario's per-connection data */
};

/* The scenario's callbacks. Any may close or re-open the connection. */
struct net_hooks {
	void (*ready)(struct bconn *c);                     /* logged in */
	void (*line)(struct bconn *c, char *line, size_t len);  /* in READY */
	void (*closed)(struct bconn *c, const char *why);   /* failed or lost */
	void *arg;
};

struct net {
	int epfd;
	SSL_CTX *ctx;
	const struct bench_opts *o;
	struct net_hooks hooks;
	uint32_t dst;                   /* server address, network order */
	uint16_t dport;                 /* network order */
	char servername[256];
	unsigned next_src;
	struct bconn *openq_head, *openq_tail;
	struct bconn *authq_head, *authq_tail;
	struct bconn *dirty;
	unsigned connecting;            /* CONNECTING .. AUTH */
	unsigned authing;               /* BC_AUTH */
	unsigned open;                  /* past BC_QUEUED, not closed */
	unsigned ready;
	unsigned max_connecting;
	unsigned max_auth;
	int poll_ms;                    /* longest epoll_wait */
	bool keep_sessions;             /* client-side TLS session cache on */
	/* counters */
	uint64_t opened, handshakes, resumed, logins, failures, retries;
	uint64_t lines_in, bytes_in, bytes_out;
	char last_error[256];
	bool auth_unsupported;          /* the server answered BAD_COMMAND */
};

/*
 * Set up the engine: client TLS context (verifying cafile and
 * o->servername), epoll, limits. Returns 0 or -1 with a message printed.
 */
int net_init(struct net *n, const struct bench_opts *o, bool keep_sessions);
void net_fini(struct net *n);

/* Prepare c (buffers) for use with n. Returns 0 or -1 (out of memory). */
int bconn_init(struct bconn *c, struct net *n, unsigned idx);
void bconn_free(struct bconn *c);

/*
 * Queue c for connecting; it logs in as c->user with c->auth and c->secret
 * and the ready hook fires. The connect parallelism and login window of
 * the options apply.
 */
void bconn_open(struct bconn *c);

/* Close c now (close_notify first when graceful). No hook fires. */
void bconn_close(struct bconn *c, bool graceful);

/* Queue plaintext for the server; sent once per loop turn. */
int bconn_write(struct bconn *c, const void *data, size_t len);
int bconn_printf(struct bconn *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * Run the loop until deadline (bench_now_ns() clock) or until step()
 * returns true; step(arg, now) runs once per loop turn. Returns true when
 * step stopped it, false at the deadline.
 */
bool net_run(struct net *n, uint64_t deadline,
    bool (*step)(void *arg, uint64_t now), void *arg);

/* Quote s as a protocol token into out (cap bytes). Returns out. */
char *bench_quote(char *out, size_t cap, const char *s);

/* ---- shared scenario helpers (scn_common.c) ---- */

/* The i-th user name into out. */
void bench_user(const struct bench_opts *o, unsigned i, char *out,
    size_t cap);

/*
 * Open conns[0..n) (already given user, auth, secret) and wait until all
 * are logged in or the setup timeout passes. Returns 0, or -1 with the
 * reason in n->last_error (all connections are left as they are).
 */
int bench_login_all(struct net *net, struct bconn **conns, unsigned n,
    double timeout_s);

/*
 * Send the command fmt(i) to each of conns[0..n) and wait until each has
 * answered a line starting with `expect` (events in between are skipped).
 * An ERR line fails. Returns 0, or -1 with the reason in net->last_error.
 */
typedef void (*bench_cmd_fn)(unsigned i, char *buf, size_t cap, void *arg);
int bench_roundtrip(struct net *net, struct bconn **conns, unsigned n,
    bench_cmd_fn fmt, void *arg, const char *expect, double timeout_s);

/*
 * A message text of exactly size bytes (at least the header) holding the
 * send time and a sequence number: "b <ns> <seq> xxxx...". out has
 * size + 1 bytes. Returns the length.
 */
size_t bench_payload(char *out, unsigned size, uint64_t ns, uint64_t seq);
/* Parse a payload; false when it is not one of ours. */
bool bench_payload_parse(const char *text, size_t len, uint64_t *ns,
    uint64_t *seq);
/* The text field of "MSG <id> <time> <from> <to> <text>"; id in *id. */
bool bench_msg_text(const char *line, size_t len, uint64_t *id,
    const char **text, size_t *tlen);

/* Every scenario: returns a BENCH_EXIT_* status, fills in r. */
int scn_fanout(const struct bench_opts *o, struct report *r);
int scn_pairs(const struct bench_opts *o, struct report *r);
int scn_idle(const struct bench_opts *o, struct report *r);
int scn_connect(const struct bench_opts *o, struct report *r);
int scn_store(const struct bench_opts *o, struct report *r);

/* Progress and errors on stderr (not when quiet, for info). */
void bench_info(const struct bench_opts *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void bench_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
