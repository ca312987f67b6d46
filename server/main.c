/*
 * parleyd: start-up, signals and shutdown.
 *
 * Start: parse arguments, load and check the config, build the TLS
 * context, open the store and start its thread, compute the dummy hash,
 * listen, tell systemd READY=1. SIGTERM/SIGINT: BYE to everyone, stop
 * accepting, let output drain, finish the store's queue, checkpoint, exit
 * 0. SIGHUP: reload the certificate and key; a bad pair is logged and the
 * old one kept.
 */
#include <errno.h>
#include <limits.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <systemd/sd-daemon.h>

#include "auth.h"
#include "clock.h"
#include "config.h"
#include "conn.h"
#include "listener.h"
#include "log.h"
#include "pwhash.h"
#include "server.h"
#include "storage.h"
#include "store.h"
#include "throttle.h"
#include "tlsctx.h"

struct server srv;

static uv_signal_t sig_term, sig_int, sig_hup;
static uv_timer_t shutdown_timer, watchdog_timer;

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

static void
reload_tls(void)
{
	char err[512];
	SSL_CTX *ctx;

	ctx = tlsctx_server_new(srv.cfg.certificate, srv.cfg.private_key,
	    srv.cfg.client_ca, srv.cfg.min_version, err, sizeof(err));
	if (ctx == NULL) {
		log_error("reload: %s; keeping the current certificate", err);
		return;
	}
	/* Live connections hold their own reference to the old context. */
	SSL_CTX_free(srv.ssl_ctx);
	srv.ssl_ctx = ctx;
	log_info("reload: certificate %s loaded", srv.cfg.certificate);
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
	if (srv.shutting_down)
		return;
	srv.shutting_down = true;
	sd_notify(0, "STOPPING=1");
	log_info("shutting down");
	listener_stop();
	conn_close_all("server shutting down");
	uv_close((uv_handle_t *)&sig_term, NULL);
	uv_close((uv_handle_t *)&sig_int, NULL);
	uv_close((uv_handle_t *)&sig_hup, NULL);
	if (uv_is_active((uv_handle_t *)&watchdog_timer))
		uv_close((uv_handle_t *)&watchdog_timer, NULL);
	/* Bounded: the loop ends when connections are gone, or at this. */
	uv_timer_start(&shutdown_timer, on_shutdown_timer, 4000, 0);
	uv_unref((uv_handle_t *)&shutdown_timer);
}

static void
on_signal(uv_signal_t *h, int signum)
{
	(void)h;
	if (signum == SIGHUP)
		reload_tls();
	else
		begin_shutdown();
}

static void
on_watchdog(uv_timer_t *t)
{
	(void)t;
	sd_notify(0, "WATCHDOG=1");
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
	srv.pw.ops = srv.cfg.pwhash_ops;
	srv.pw.mem = (size_t)srv.cfg.pwhash_mem_kib * 1024;
	srv.ssl_ctx = tlsctx_server_new(srv.cfg.certificate,
	    srv.cfg.private_key, srv.cfg.client_ca, srv.cfg.min_version, err,
	    sizeof(err));
	if (srv.ssl_ctx == NULL) {
		fprintf(stderr, "parleyd: %s\n", err);
		return 1;
	}
	if (check_db_dir(srv.cfg.database, err, sizeof(err)) != 0) {
		fprintf(stderr, "parleyd: %s\n", err);
		SSL_CTX_free(srv.ssl_ctx);
		return 1;
	}
	if (check_only) {
		printf("%s: configuration ok\n", srv.cfg.path);
		SSL_CTX_free(srv.ssl_ctx);
		return 0;
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

	srv.loop = uv_default_loop();
	srv.started_ms = clock_now_ms();
	if (auth_init() != 0)
		fatal("cannot compute the dummy password hash (out of memory?)");
	store = store_open(srv.cfg.database, STORE_CREATE |
	    (srv.cfg.sync_full ? STORE_SYNC_FULL : 0), 5000, err, sizeof(err));
	if (store == NULL)
		fatal("%s", err);
	if (storage_start(srv.loop, store) != 0)
		fatal("cannot start the storage thread");
	if (conn_init(srv.loop) != 0 || throttle_init(srv.loop) != 0)
		fatal("cannot set up the connection handles");
	if (listener_start(srv.loop, srv.cfg.listen) != 0)
		fatal("cannot listen; see above");

	uv_signal_init(srv.loop, &sig_term);
	uv_signal_init(srv.loop, &sig_int);
	uv_signal_init(srv.loop, &sig_hup);
	uv_signal_start(&sig_term, on_signal, SIGTERM);
	uv_signal_start(&sig_int, on_signal, SIGINT);
	uv_signal_start(&sig_hup, on_signal, SIGHUP);
	uv_timer_init(srv.loop, &shutdown_timer);
	uv_timer_init(srv.loop, &watchdog_timer);
	if (sd_watchdog_enabled(0, &wd_usec) > 0 && wd_usec >= 2000) {
		/* Half the interval, from the loop: a stalled loop misses it. */
		uv_timer_start(&watchdog_timer, on_watchdog, wd_usec / 2000,
		    wd_usec / 2000);
	}
	sd_notifyf(0, "READY=1\nSTATUS=serving on %s", srv.cfg.listen);
	log_info("parleyd %s ready", PARLEY_VERSION);

	uv_run(srv.loop, UV_RUN_DEFAULT);

	/* Connections are gone (or cut off); finish the store's work. */
	storage_stop();
	conn_fini();
	throttle_fini();
	uv_walk(srv.loop, close_walk, NULL);
	uv_run(srv.loop, UV_RUN_DEFAULT);
	if (uv_loop_close(srv.loop) != 0)
		log_warn("shutdown: loop still had handles");
	SSL_CTX_free(srv.ssl_ctx);
	log_info("stopped");
	return 0;
}
