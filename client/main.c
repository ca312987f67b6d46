/*
 * parley: the command-line client (SPEC §7).
 *
 *   parley [--host H] [--port P] [--cafile F] [--cert F --key F]
 *          [--user U] [--password-stdin] [--no-token] [--config F]
 *          [COMMAND ...]
 *
 * This file only gathers the settings — flags over PARLEY_* environment
 * variables over client.conf (conf.c) over built-in defaults — checks
 * them, and hands over to cli.c for a COMMAND or to ui.c for the
 * interactive chat. There is deliberately no option that weakens
 * certificate or host name verification, and no way to pass a password
 * on the command line, in the environment or in client.conf.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "cli.h"
#include "conf.h"
#include "display.h"
#include "names.h"
#include "session.h"
#include "ui.h"

#ifndef PARLEY_VERSION
#define PARLEY_VERSION "unknown"
#endif

#define DEFAULT_HOST "localhost"

enum {
	OPT_HOST = 256,
	OPT_PORT,
	OPT_CAFILE,
	OPT_CERT,
	OPT_KEY,
	OPT_USER,
	OPT_PASSWORD_STDIN,
	OPT_CONFIG,
	OPT_NO_TOKEN,
};

static const struct option long_opts[] = {
	{ "host", required_argument, NULL, OPT_HOST },
	{ "port", required_argument, NULL, OPT_PORT },
	{ "cafile", required_argument, NULL, OPT_CAFILE },
	{ "cert", required_argument, NULL, OPT_CERT },
	{ "key", required_argument, NULL, OPT_KEY },
	{ "user", required_argument, NULL, OPT_USER },
	{ "password-stdin", no_argument, NULL, OPT_PASSWORD_STDIN },
	{ "config", required_argument, NULL, OPT_CONFIG },
	{ "no-token", no_argument, NULL, OPT_NO_TOKEN },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

static void
usage(FILE *f)
{
	fputs(
"usage: parley [--host H] [--port P] [--cafile F] [--cert F --key F]\n"
"              [--user U] [--password-stdin] [--no-token] [--config F]\n"
"              [COMMAND ...]\n"
"\n"
"Without a COMMAND, parley starts an interactive chat (type /help there).\n"
"\n"
"Commands (TARGET is a user name or a #room):\n", f);
	cli_usage(f);
	fputs(
"\n"
"Options (each also read from client.conf; environment in brackets):\n"
"  --host H          server name or address (default localhost) [PARLEY_HOST]\n"
"  --port P          server port (default 7667) [PARLEY_PORT]\n"
"  --cafile F        trust the CA certificates in PEM file F instead of\n"
"                    the system store [PARLEY_CAFILE]\n"
"  --cert F --key F  present a client certificate and, without\n"
"                    --password-stdin, log in with it instead of a\n"
"                    password [PARLEY_CERT, PARLEY_KEY]; '' turns it off\n"
"  --user U          user name to log in as [PARLEY_USER]\n"
"  --password-stdin  read the password from the first line of standard\n"
"                    input; otherwise it is asked for on the terminal\n"
"  --no-token        neither use nor store a resume token (client.conf:\n"
"                    token = false); by default a token stored after a\n"
"                    login spares the password next time (parley logout\n"
"                    removes it)\n"
"  --config F        defaults file [PARLEY_CONFIG]; default\n"
"                    $XDG_CONFIG_HOME/parley/client.conf or\n"
"                    ~/.config/parley/client.conf (keys: host port cafile\n"
"                    user cert key token)\n"
"  -h, --help        show this help;  -V, --version  show the version\n"
"\n"
"Flags win over the environment, which wins over client.conf. The server\n"
"certificate and host name are always verified; there is no option to\n"
"skip that. Colour only on a terminal, and never with NO_COLOR set.\n"
"listen and the chat reconnect by themselves (0.5 s to 30 s apart) and\n"
"catch up on what they missed; not after an authentication failure or\n"
"when the server says kicked or too many failed logins.\n"
"\n"
"Exit status:\n"
"  0  success\n"
"  1  usage error or bad local input (arguments, client.conf, password)\n"
"  2  cannot connect (connection refused, unreachable, timed out, unknown\n"
"     host)\n"
"  3  TLS handshake failed for another reason\n"
"  4  authentication failed (password or client certificate refused)\n"
"  5  the server refused the command (ERR)\n"
"  6  connection lost\n"
"  7  unknown CA: the server certificate is not from a trusted CA\n"
"  8  host name mismatch: the certificate is not for this host\n"
"  9  the server certificate has expired (or is not yet valid)\n"
" 10  TLS version mismatch: no TLS version in common with the server\n"
" 11  a peer's end-to-end key changed: check it, then parley trust USER\n",
	    f);
}

/* An environment variable, or NULL when unset or empty. */
static const char *
env(const char *name)
{
	const char *v = getenv(name);

	return (v != NULL && v[0] != '\0') ? v : NULL;
}

static int
check_port(const char *p)
{
	char *end;
	long v;

	if (p[0] < '0' || p[0] > '9')
		return -1;
	errno = 0;
	v = strtol(p, &end, 10);
	if (errno != 0 || *end != '\0' || v < 1 || v > 65535)
		return -1;
	return 0;
}

static int
check_file(const char *opt, const char *path)
{
	if (path == NULL || access(path, R_OK) == 0)
		return 0;
	session_errorf("cannot read %s %s: %s", opt, path, strerror(errno));
	return -1;
}

/*
 * Fill in defaults and check the merged settings; the normalised user
 * name goes into user (it must outlive o), a default port into port_buf.
 */
static int
check_settings(struct session_opts *o, const char *user_arg,
    char user[NAMES_USER_MAX + 1], char *port_buf, size_t port_cap)
{
	if (o->host == NULL)
		o->host = DEFAULT_HOST;
	if (o->port == NULL) {
		snprintf(port_buf, port_cap, "%d", PARLEY_DEFAULT_PORT);
		o->port = port_buf;
	}
	if (check_port(o->port) != 0) {
		session_errorf("bad port '%s': expected 1 to 65535", o->port);
		return SESSION_EXIT_USAGE;
	}
	if ((o->cert == NULL) != (o->key == NULL)) {
		session_errorf("--cert and --key go together");
		return SESSION_EXIT_USAGE;
	}
	if (check_file("--cafile", o->cafile) != 0 ||
	    check_file("--cert", o->cert) != 0 ||
	    check_file("--key", o->key) != 0)
		return SESSION_EXIT_USAGE;
	if (user_arg == NULL) {
		session_errorf("no user name: use --user, PARLEY_USER or "
		    "user in client.conf");
		return SESSION_EXIT_USAGE;
	}
	if (names_user_norm(user_arg, strlen(user_arg), user) != 0) {
		session_errorf("bad user name (letters, digits, _ . -; "
		    "starting with a letter; at most %d)", NAMES_USER_MAX);
		return SESSION_EXIT_USAGE;
	}
	o->user = user;
	return SESSION_EXIT_OK;
}

/* One layer of settings: flags, environment or client.conf. */
struct layer {
	const char *host, *port, *cafile, *user, *cert, *key;
};

/* The first of a, b, c that is set. */
static const char *
pick(const char *a, const char *b, const char *c)
{
	return a != NULL ? a : b != NULL ? b : c;
}

/* An empty string given on purpose means "none". */
static const char *
none_if_empty(const char *v)
{
	return (v != NULL && v[0] == '\0') ? NULL : v;
}

int
main(int argc, char **argv)
{
	static char user[NAMES_USER_MAX + 1];
	static char port_buf[16];
	static char conf_buf[4096];
	struct session_opts o;
	struct layer fl, en;
	struct conf cf;
	const struct layer *pair;
	struct layer cl;
	const char *conf_path, *user_arg;
	bool conf_given, no_token = false;
	int c, rc, tok;

	memset(&o, 0, sizeof(o));
	memset(&fl, 0, sizeof(fl));
	memset(&cf, 0, sizeof(cf));
	en.host = env("PARLEY_HOST");
	en.port = env("PARLEY_PORT");
	en.cafile = env("PARLEY_CAFILE");
	en.user = env("PARLEY_USER");
	en.cert = env("PARLEY_CERT");
	en.key = env("PARLEY_KEY");
	conf_path = env("PARLEY_CONFIG");

	/* '+': options end at the COMMAND; its own options follow it. */
	while ((c = getopt_long(argc, argv, "+hV", long_opts, NULL)) != -1) {
		switch (c) {
		case OPT_HOST:
			fl.host = optarg;
			break;
		case OPT_PORT:
			fl.port = optarg;
			break;
		case OPT_CAFILE:
			fl.cafile = optarg;
			break;
		case OPT_CERT:
			fl.cert = optarg;
			break;
		case OPT_KEY:
			fl.key = optarg;
			break;
		case OPT_USER:
			fl.user = optarg;
			break;
		case OPT_PASSWORD_STDIN:
			o.password_stdin = true;
			break;
		case OPT_CONFIG:
			conf_path = optarg;
			break;
		case OPT_NO_TOKEN:
			no_token = true;
			break;
		case 'h':
			usage(stdout);
			return SESSION_EXIT_OK;
		case 'V':
			printf("parley %s\n", PARLEY_VERSION);
			return SESSION_EXIT_OK;
		default:
			fputs("parley: see parley --help\n", stderr);
			return SESSION_EXIT_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc > 0 && strcmp(argv[0], "help") == 0) {
		usage(stdout);
		return SESSION_EXIT_OK;
	}
	if (argc > 0 && !cli_known(argv[0])) {
		session_errorf("unknown command '%s' (see parley --help)",
		    argv[0]);
		return SESSION_EXIT_USAGE;
	}

	conf_given = conf_path != NULL;
	if (!conf_given)
		conf_path = conf_default_path(conf_buf, sizeof(conf_buf));
	if (conf_path != NULL && conf_load(conf_path, conf_given, &cf) != 0) {
		conf_free(&cf);
		return SESSION_EXIT_USAGE;
	}
	cl.host = cf.host;
	cl.port = cf.port;
	cl.cafile = cf.cafile;
	cl.user = cf.user;
	cl.cert = cf.cert;
	cl.key = cf.key;
	tok = conf_token(&cf, conf_path);
	if (tok < 0) {
		conf_free(&cf);
		return SESSION_EXIT_USAGE;
	}
	o.no_token = no_token || tok == 0;

	o.host = pick(fl.host, en.host, cl.host);
	o.port = pick(fl.port, en.port, cl.port);
	o.cafile = none_if_empty(pick(fl.cafile, en.cafile, cl.cafile));
	user_arg = pick(fl.user, en.user, cl.user);
	/* Certificate and key come as a pair from one layer, never mixed. */
	pair = (fl.cert != NULL || fl.key != NULL) ? &fl :
	    (en.cert != NULL || en.key != NULL) ? &en : &cl;
	o.cert = none_if_empty(pair->cert);
	o.key = none_if_empty(pair->key);

	rc = check_settings(&o, user_arg, user, port_buf, sizeof(port_buf));
	if (rc != SESSION_EXIT_OK) {
		conf_free(&cf);
		return rc;
	}

	/* A closed socket or pipe is an error to report, not a signal. */
	signal(SIGPIPE, SIG_IGN);
	tzset();
	if (sodium_init() < 0) {
		session_errorf("cannot initialise libsodium");
		conf_free(&cf);
		return SESSION_EXIT_USAGE;
	}
	display_colour_init();

	if (argc == 0)
		rc = ui_main(&o);
	else
		rc = cli_main(&o, argc, argv);
	conf_free(&cf);
	return rc;
}
