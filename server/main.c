/*
 * parleyd: start-up, signals, certificate reloads and shutdown.
 *
 * Start: parse arguments, load and check the config, build the TLS
 * context, open the store and start its thread, compute the dummy hash,
 * listen (on sockets from the service manager when it passes some), tell
 * systemd READY=1. SIGTERM/SIGINT: STOPPING=1, BYE to everyone, stop
 * accepting, let output drain, finish the store's queue, checkpoint, exit
 * 0.
 *
 * Reload: on SIGHUP, and when a file in the folder of a certificate, key,
 * client CA or CRL changes (inotify through uv_fs_event, debounced), a
 * fresh SSL_CTX is built from the files. It replaces the current one for
 * new connections only when everything loads, is valid now and the key
 * matches; otherwise the reason is logged and the current one stays.
 * Live connections keep the context they started with (each SSL holds a
 * reference), so their sessions go on untouched.
 *
 * Under systemd (Type=notify): READY=1 after listening, STATUS= lines on
 * start, reload and every few seconds, WATCHDOG=1 from a loop timer at
 * a third of WatchdogSec, STOPPING=1 at shutdown. Outside systemd the
 * sd_notify calls do nothing.
 */
#include <errno.h>
#include <limits.h>
#include <getopt.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <systemd/sd-daemon.h>

#include "auth.h"
#include "checkpoint.h"
#include "clock.h"
#include "config.h"
#include "conn.h"
#include "setup.h"
#include "listener.h"
#include "log.h"
#include "pwhash.h"
#include "server.h"
#include "sslbio.h"
#include "storage.h"
#include "store.h"
#include "tlsctx.h"

/* Quiet time after the last change in a watched folder before reloading. */
#define RELOAD_DEBOUNCE_MS      500
/* ... but no later than this after the first change of a burst. */
#define RELOAD_MAX_WAIT_MS      2000
/* Folders watched: those of four files, and of their symlink targets. */
#define WATCH_MAX               8
/* File names that matter in one watched folder. */
#define WATCH_NAMES             16
/* How often STATUS= is refreshed under systemd. */
#define STATUS_INTERVAL_MS      10000
/* Descriptors besides connections: listeners, store, inotify, journal. */
#define FD_RESERVE              64
/* Warn at start and reload when the certificate expires sooner. */
#define EXPIRY_WARN_DAYS        14

/* The files a TLS context is built from, and what they looked like. */
struct file_stamp {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime, ctime;
	int err;                        /* errno of stat(), 0 if it worked */
};

/*
 * A watched folder and the names in it that matter: the TLS files, their
 * symlink targets, and the first step of a relative symlink (Kubernetes
 * swaps "..data"). Other files there, such as a database, are ignored.
 */
struct watch {
	uv_fs_event_t ev;
	char dir[PATH_MAX];
	char names[WATCH_NAMES][NAME_MAX + 1];
	unsigned nnames;
};

static uv_signal_t sig_term, sig_int, sig_hup;
static uv_timer_t shutdown_timer, watchdog_timer, status_timer, reload_timer;
static struct watch watches[WATCH_MAX];
static unsigned nwatches;
static struct file_stamp stamps[4];     /* of the last reload attempt */
static uint64_t burst_start;            /* loop ms of a burst's first event */
static struct tlsctx_cert_info cert_now;

static void watch_tls_files(void);

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: parleyd [-c FILE] [--check-config] [-v]\n"
	    "       parleyd --version | --help\n"
	    "\n"
	    "  -c, --config FILE   configuration (default /etc/parley/parleyd.conf)\n"
	    "      --check-config  validate the configuration and exit\n"
	    "  -v, --verbose       log debug messages\n"
	    "  -V, --version       print the version and exit\n"
	    "  -h, --help          print this help and exit\n"
	    "\n"
	    "Signals: SIGHUP reloads the certificate, key, client CA and CRL;\n"
	    "SIGTERM and SIGINT shut down cleanly.\n"
	    "Exit status: 0 after a clean shutdown or a valid configuration,\n"
	    "1 on a configuration or start-up error.\n");
}

static int
check_db_dir(const char *db, char *err, size_t errlen)
{
	char dir[PATH_MAX];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", db);
	slash = strrchr(dir, '/');
	if (slash == dir)
		slash[1] = '\0';
	else if (slash != NULL)
		*slash = '\0';
	else
		snprintf(dir, sizeof(dir), ".");
	if (access(dir, W_OK | X_OK) != 0) {
		snprintf(err, errlen, "database folder %s is not writable: %s",
		    dir, strerror(errno));
		return -1;
	}
	if (access(db, F_OK) == 0 && access(db, R_OK | W_OK) != 0) {
		snprintf(err, errlen, "database %s is not writable: %s", db,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* The TLS files of the config, in a fixed order; unset ones are "". */
static const char *
tls_file(unsigned i)
{
	const char *f[] = { srv.cfg.certificate, srv.cfg.private_key,
	    srv.cfg.client_ca, srv.cfg.crl };

	return i < 4 ? f[i] : "";
}

static SSL_CTX *
build_ctx(char *err, size_t errlen)
{
	struct tlsctx_server_opts o = {
		.cert = srv.cfg.certificate,
		.key = srv.cfg.private_key,
		.client_ca = srv.cfg.client_ca,
		.crl = srv.cfg.crl,
		.min_version = srv.cfg.min_version,
		.require_client_cert =
		    srv.cfg.client_auth == CONFIG_CLIENT_AUTH_REQUIRED,
	};

	return tlsctx_server_new(&o, err, errlen);
}

static void
take_stamps(struct file_stamp out[4])
{
	unsigned i;

	memset(out, 0, 4 * sizeof(out[0]));
	for (i = 0; i < 4; i++) {
		struct stat st;

		if (tls_file(i)[0] == '\0')
			continue;
		if (stat(tls_file(i), &st) != 0) {
			out[i].err = errno;
			continue;
		}
		out[i].dev = st.st_dev;
		out[i].ino = st.st_ino;
		out[i].size = st.st_size;
		out[i].mtime = st.st_mtim;
		out[i].ctime = st.st_ctim;
	}
}

static bool
same_stamps(const struct file_stamp a[4], const struct file_stamp b[4])
{
	unsigned i;

	for (i = 0; i < 4; i++)
		if (a[i].err != b[i].err || a[i].dev != b[i].dev ||
		    a[i].ino != b[i].ino || a[i].size != b[i].size ||
		    a[i].mtime.tv_sec != b[i].mtime.tv_sec ||
		    a[i].mtime.tv_nsec != b[i].mtime.tv_nsec ||
		    a[i].ctime.tv_sec != b[i].ctime.tv_sec ||
		    a[i].ctime.tv_nsec != b[i].ctime.tv_nsec)
			return false;
	return true;
}

static void
notify_status(void)
{
	sd_notifyf(0, "STATUS=%u connection%s; listening on %s; certificate "
	    "expires %s", conn_count(), conn_count() == 1 ? "" : "s",
	    listener_names(), cert_now.not_after);
}

/* Remember and log what the new context serves; warn before expiry. */
static void
note_cert(SSL_CTX *ctx, const char *what)
{
	time_t now = time(NULL);

	if (tlsctx_cert_info(ctx, &cert_now) != 0) {
		log_warn("%s: cannot describe the certificate", what);
		return;
	}
	log_info("%s: certificate %s loaded (%s, SHA-256 %s, expires %s)",
	    what, srv.cfg.certificate, cert_now.subject, cert_now.sha256,
	    cert_now.not_after);
	if (cert_now.not_after_t - now < EXPIRY_WARN_DAYS * 86400)
		log_warn("%s: the certificate expires in %lld hours", what,
		    (long long)(cert_now.not_after_t - now) / 3600);
}

/*
 * Build a new context and swap it in for new connections; keep the old
 * one if anything is wrong. why says what asked ("SIGHUP", "files
 * changed").
 */
static void
reload_tls(const char *why)
{
	char err[PATH_MAX * 2 + 256];
	char what[64];
	SSL_CTX *ctx;
	uint64_t t0 = clock_now_ms();

	take_stamps(stamps);
	snprintf(what, sizeof(what), "reload (%s)", why);
	ctx = build_ctx(err, sizeof(err));
	if (ctx == NULL) {
		log_error("%s: %s; keeping the current certificate", what, err);
		sd_notifyf(0, "STATUS=reload failed, still serving the "
		    "previous certificate: %s", err);
		return;
	}
	/* Live connections hold their own reference to the old context. */
	SSL_CTX_free(srv.ssl_ctx);
	srv.ssl_ctx = ctx;
	note_cert(ctx, what);
	watch_tls_files();
	log_debug("%s: took %llu ms", what,
	    (unsigned long long)(clock_now_ms() - t0));
	notify_status();
}

static void
on_reload_timer(uv_timer_t *t)
{
	struct file_stamp now[4];

	(void)t;
	burst_start = 0;
	take_stamps(now);
	if (same_stamps(now, stamps)) {
		log_debug("reload: watched folders changed, TLS files did not");
		return;
	}
	log_info("reload: TLS files changed on disk");
	reload_tls("files changed");
}

static bool
watch_has(const struct watch *w, const char *name)
{
	unsigned i;

	for (i = 0; i < w->nnames; i++)
		if (strcmp(w->names[i], name) == 0)
			return true;
	return false;
}

static void
on_fs_event(uv_fs_event_t *h, const char *filename, int events, int status)
{
	struct watch *w = h->data;
	uint64_t now = uv_now(srv.loop), wait = RELOAD_DEBOUNCE_MS;

	(void)events;
	if (status < 0) {
		log_warn("reload: watching %s failed: %s", w->dir,
		    uv_strerror(status));
		return;
	}
	/* No name: the kernel's queue overflowed; look anyway. */
	if (srv.shutting_down || (filename != NULL && !watch_has(w, filename)))
		return;
	/* Trailing debounce, capped so a busy folder cannot hold it off. */
	if (burst_start == 0)
		burst_start = now;
	if (now + wait > burst_start + RELOAD_MAX_WAIT_MS)
		wait = burst_start + RELOAD_MAX_WAIT_MS > now ?
		    burst_start + RELOAD_MAX_WAIT_MS - now : 0;
	uv_timer_start(&reload_timer, on_reload_timer, wait, 0);
}

/* Watch path's folder for changes to path's name (once per folder). */
static void
add_watch(const char *path)
{
	char dcopy[PATH_MAX], ncopy[PATH_MAX];
	const char *dir, *name;
	struct watch *w = NULL;
	unsigned i;
	int r;

	snprintf(dcopy, sizeof(dcopy), "%s", path);
	snprintf(ncopy, sizeof(ncopy), "%s", path);
	dir = dirname(dcopy);
	name = basename(ncopy);
	for (i = 0; i < nwatches && w == NULL; i++)
		if (strcmp(watches[i].dir, dir) == 0)
			w = &watches[i];
	if (w == NULL) {
		if (nwatches == WATCH_MAX)
			return;
		w = &watches[nwatches++];
		snprintf(w->dir, sizeof(w->dir), "%s", dir);
		uv_fs_event_init(srv.loop, &w->ev);
		w->ev.data = w;
		r = uv_fs_event_start(&w->ev, on_fs_event, w->dir, 0);
		if (r != 0) {
			log_warn("reload: cannot watch %s (%s); use SIGHUP "
			    "after changing certificates there", w->dir,
			    uv_strerror(r));
			uv_close((uv_handle_t *)&w->ev, NULL);
			return;
		}
		/* Watching alone must not keep the loop alive at shutdown. */
		uv_unref((uv_handle_t *)&w->ev);
		log_debug("reload: watching %s", w->dir);
	}
	if (uv_is_closing((uv_handle_t *)&w->ev) || watch_has(w, name) ||
	    w->nnames == WATCH_NAMES || strlen(name) > NAME_MAX)
		return;
	snprintf(w->names[w->nnames++], sizeof(w->names[0]), "%s", name);
}

/*
 * Watch every TLS file's folder for it, and the folders its symlinks lead
 * to: an ACME client writes the new file in one folder (archive/) and then
 * replaces a symlink in another (live/). Called again after each reload,
 * since the symlinks may lead elsewhere now; names are only ever added.
 */
static void
watch_tls_files(void)
{
	char link[PATH_MAX], dir[PATH_MAX], step[PATH_MAX * 2], *real, *slash;
	unsigned i;
	ssize_t n;

	for (i = 0; i < 4; i++) {
		const char *f = tls_file(i);

		if (f[0] == '\0')
			continue;
		add_watch(f);
		/* The first step of a relative symlink lives beside f. */
		n = readlink(f, link, sizeof(link) - 1);
		if (n > 0 && link[0] != '/') {
			link[n] = '\0';
			if ((slash = strchr(link, '/')) != NULL)
				*slash = '\0';
			snprintf(dir, sizeof(dir), "%s", f);
			snprintf(step, sizeof(step), "%s/%s", dirname(dir), link);
			if (strcmp(link, "..") != 0 && strcmp(link, ".") != 0)
				add_watch(step);
		}
		if ((real = realpath(f, NULL)) != NULL) {
			add_watch(real);
			free(real);
		}
	}
}

/* Make room for max_connections descriptors if the hard limit allows. */
static void
raise_nofile(void)
{
	rlim_t want = (rlim_t)srv.cfg.max_connections + FD_RESERVE;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= want)
		return;
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= want ?
	    want : rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur < want)
		log_warn("max_connections is %u but only %llu descriptors are "
		    "allowed (raise LimitNOFILE=); extra connections will "
		    "be refused", srv.cfg.max_connections,
		    (unsigned long long)rl.rlim_cur);
}

/*
 * A second connection for WAL checkpoints, so commits never wait for one.
 * Without it (an in-memory database, or it cannot be opened) SQLite
 * checkpoints inside commits as usual.
 */
static void
start_checkpoints(struct store *writer)
{
	struct store *own;
	char err[256];

	if (strcmp(srv.cfg.database, ":memory:") == 0)
		return;
	own = store_open(srv.cfg.database, srv.cfg.sync_full ?
	    STORE_SYNC_FULL : 0, 5000, err, sizeof(err));
	if (own == NULL) {
		log_warn("storage: no checkpoint connection (%s); SQLite "
		    "checkpoints inside commits", err);
		return;
	}
	checkpoint_start(writer, own);
}

static void
on_shutdown_timer(uv_timer_t *t)
{
	(void)t;
	/* Everyone had their BYE; stragglers are cut off now. */
	if (conn_count() > 0)
		log_warn("shutdown: %u connections did not close in time",
		    conn_count());
	uv_stop(srv.loop);
}

static void
close_walk(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

static void
begin_shutdown(void)
{
	unsigned i;

	if (srv.shutting_down)
		return;
	srv.shutting_down = true;
	sd_notify(0, "STOPPING=1\nSTATUS=shutting down");
	log_info("shutting down");
	listener_stop();
	setup_services_stop();
	conn_close_all("server shutting down");
	uv_close((uv_handle_t *)&sig_term, NULL);
	uv_close((uv_handle_t *)&sig_int, NULL);
	uv_close((uv_handle_t *)&sig_hup, NULL);
	uv_close((uv_handle_t *)&reload_timer, NULL);
	uv_close((uv_handle_t *)&status_timer, NULL);
	for (i = 0; i < nwatches; i++)
		if (!uv_is_closing((uv_handle_t *)&watches[i].ev))
			uv_close((uv_handle_t *)&watches[i].ev, NULL);
	/* The watchdog (unreferenced) goes on pinging until the loop ends. */
	/* Bounded: the loop ends when connections are gone, or at this. */
	uv_timer_start(&shutdown_timer, on_shutdown_timer, 4000, 0);
	uv_unref((uv_handle_t *)&shutdown_timer);
}

static void
on_signal(uv_signal_t *h, int signum)
{
	(void)h;
	if (signum == SIGHUP) {
		log_info("reload: SIGHUP received");
		reload_tls("SIGHUP");
	} else {
		begin_shutdown();
	}
}

static void
on_watchdog(uv_timer_t *t)
{
	(void)t;
	sd_notify(0, "WATCHDOG=1");
}

static void
on_status_timer(uv_timer_t *t)
{
	(void)t;
	notify_status();
}

/* --check-config: everything start-up checks, without starting. */
static int
check_config(void)
{
	char err[PATH_MAX * 2 + 256];
	SSL_CTX *ctx;

	ctx = build_ctx(err, sizeof(err));
	if (ctx == NULL) {
		fprintf(stderr, "parleyd: %s\n", err);
		return 1;
	}
	if (tlsctx_cert_info(ctx, &cert_now) == 0)
		printf("certificate %s: %s, SHA-256 %s, expires %s\n",
		    srv.cfg.certificate, cert_now.subject, cert_now.sha256,
		    cert_now.not_after);
	SSL_CTX_free(ctx);
	if (srv.cfg.client_ca[0] != '\0')
		printf("client certificates: %s, from CAs in %s%s%s\n",
		    srv.cfg.client_auth == CONFIG_CLIENT_AUTH_REQUIRED ?
		    "required" : "optional", srv.cfg.client_ca,
		    srv.cfg.crl[0] != '\0' ? ", revocations in " : "",
		    srv.cfg.crl);
	if (check_db_dir(srv.cfg.database, err, sizeof(err)) != 0) {
		fprintf(stderr, "parleyd: %s\n", err);
		return 1;
	}
	printf("%s: configuration ok\n", srv.cfg.path);
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, 'C' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cfgpath = "/etc/parley/parleyd.conf";
	bool check_only = false;
	char err[PATH_MAX * 2 + 256];
	char threads[16];
	struct store *store;
	uint64_t wd_usec = 0;
	int ch;

	log_init("parleyd", LOGL_INFO);
	while ((ch = getopt_long(argc, argv, "c:vVh", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			cfgpath = optarg;
			break;
		case 'C':
			check_only = true;
			break;
		case 'v':
			log_set_level(LOGL_DEBUG);
			break;
		case 'V':
			printf("parleyd %s\n", PARLEY_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 1;
	}

	if (config_load(&srv.cfg, cfgpath, err, sizeof(err)) != 0) {
		fprintf(stderr, "parleyd: %s\n", err);
		return 1;
	}
	if (pwhash_init() != 0)
		fatal("cannot initialise libsodium");
	if (check_only)
		return check_config();
	srv.pw.ops = srv.cfg.pwhash_ops;
	srv.pw.mem = (size_t)srv.cfg.pwhash_mem_kib * 1024;
	sd_notify(0, "STATUS=starting");
	srv.ssl_ctx = build_ctx(err, sizeof(err));
	if (srv.ssl_ctx == NULL) {
		fprintf(stderr, "parleyd: %s\n", err);
		return 1;
	}
	if (check_db_dir(srv.cfg.database, err, sizeof(err)) != 0) {
		fprintf(stderr, "parleyd: %s\n", err);
		SSL_CTX_free(srv.ssl_ctx);
		return 1;
	}

	/*
	 * libuv's pool runs the hashes; it must have at least as many
	 * threads as hashes may run at once. Set before its first use.
	 */
	snprintf(threads, sizeof(threads), "%u",
	    srv.cfg.max_concurrent_hashes < 4 ? 4 :
	    srv.cfg.max_concurrent_hashes);
	setenv("UV_THREADPOOL_SIZE", threads, 1);
	signal(SIGPIPE, SIG_IGN);
	raise_nofile();

	srv.loop = uv_default_loop();
	srv.started_ms = clock_now_ms();
	/*
	 * Catch signals before anyone can see "listening on": one that comes
	 * early is handled once the loop runs, instead of killing us.
	 */
	uv_signal_init(srv.loop, &sig_term);
	uv_signal_init(srv.loop, &sig_int);
	uv_signal_init(srv.loop, &sig_hup);
	uv_signal_start(&sig_term, on_signal, SIGTERM);
	uv_signal_start(&sig_int, on_signal, SIGINT);
	uv_signal_start(&sig_hup, on_signal, SIGHUP);
	note_cert(srv.ssl_ctx, "start");
	if (auth_init() != 0)
		fatal("cannot compute the dummy password hash (out of memory?)");
	sd_notify(0, "STATUS=opening the database");
	store = store_open(srv.cfg.database, STORE_CREATE |
	    (srv.cfg.sync_full ? STORE_SYNC_FULL : 0), 5000, err, sizeof(err));
	if (store == NULL)
		fatal("%s", err);
	start_checkpoints(store);
	if (storage_start(srv.loop, store) != 0)
		fatal("cannot start the storage thread");
	if (conn_init(srv.loop) != 0)
		fatal("cannot set up the connection handles");
	if (listener_start(srv.loop, srv.cfg.listen) != 0)
		fatal("cannot listen; see above");
	if (setup_services_start(srv.loop, err, sizeof(err)) != 0)
		fatal("%s", err);

	uv_timer_init(srv.loop, &shutdown_timer);
	uv_timer_init(srv.loop, &watchdog_timer);
	uv_timer_init(srv.loop, &status_timer);
	uv_timer_init(srv.loop, &reload_timer);
	watch_tls_files();
	take_stamps(stamps);
	if (sd_watchdog_enabled(0, &wd_usec) > 0 && wd_usec >= 3000) {
		/*
		 * From the loop, so a stalled loop misses it; every third of
		 * the interval, so that a late timer still beats half of it.
		 */
		uint64_t every = wd_usec / 3000;

		uv_timer_start(&watchdog_timer, on_watchdog, every, every);
		uv_unref((uv_handle_t *)&watchdog_timer);
		sd_notify(0, "WATCHDOG=1");
		log_info("watchdog: WATCHDOG=1 every %llu ms",
		    (unsigned long long)every);
	}
	if (getenv("NOTIFY_SOCKET") != NULL) {
		uv_timer_start(&status_timer, on_status_timer,
		    STATUS_INTERVAL_MS, STATUS_INTERVAL_MS);
		uv_unref((uv_handle_t *)&status_timer);
	}
	sd_notifyf(0, "READY=1\nSTATUS=0 connections; listening on %s; "
	    "certificate expires %s", listener_names(), cert_now.not_after);
	log_info("parleyd %s ready", PARLEY_VERSION);

	uv_run(srv.loop, UV_RUN_DEFAULT);

	/* Connections are gone (or cut off); finish the store's work. */
	storage_stop();
	checkpoint_stop();
	conn_fini();
	setup_services_fini();
	uv_walk(srv.loop, close_walk, NULL);
	uv_run(srv.loop, UV_RUN_DEFAULT);
	if (uv_loop_close(srv.loop) != 0)
		log_warn("shutdown: loop still had handles");
	sslbio_fini();                  /* every connection is freed */
	SSL_CTX_free(srv.ssl_ctx);
	log_info("stopped");
	return 0;
}
