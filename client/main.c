/*
 * parley: the command-line client (SPEC §7).
 *
 *   parley [--host H] [--port P] [--cafile F] [--cert F --key F]
 *          [--user U] [--password-stdin] [COMMAND ...]
 *
 * This file only gathers the settings (flags over PARLEY_* environment
 * variables over defaults), checks them, and hands over to cli.c for a
 * COMMAND or to ui.c for the interactive chat. There is deliberately no
 * option that weakens certificate or host name verification, and no way
 * to pass a password on the command line or in the environment.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
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
};

static const struct option long_opts[] = {
	{ "host", required_argument, NULL, OPT_HOST },
	{ "port", required_argument, NULL, OPT_PORT },
	{ "cafile", required_argument, NULL, OPT_CAFILE },
	{ "cert", required_argument, NULL, OPT_CERT },
	{ "key", required_argument, NULL, OPT_KEY },
	{ "user", required_argument, NULL, OPT_USER },
	{ "password-stdin", no_argument, NULL, OPT_PASSWORD_STDIN },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

static void
usage(FILE *f)
{
	fputs(
"usage: parley [--host H] [--port P] [--cafile F] [--cert F --key F]\n"
"              [--user U] [--password-stdin] [COMMAND ...]\n"
"\n"
"Without a COMMAND, parley starts an interactive chat (type /help there).\n"
"\n"
"Commands (TARGET is a user name or a #room):\n", f);
	cli_usage(f);
	fputs(
"\n"
"Options:\n"
"  --host H          server name or address (default localhost; PARLEY_HOST)\n"
"  --port P          server port (default 7667; PARLEY_PORT)\n"
"  --cafile F        trust the CA certificates in PEM file F instead of\n"
"                    the system store (PARLEY_CAFILE)\n"
"  --cert F --key F  present a client certificate; without\n"
"                    --password-stdin, log in with it instead of a password\n"
"  --user U          user name to log in as (PARLEY_USER)\n"
"  --password-stdin  read the password from the first line of standard\n"
"                    input; otherwise it is asked for on the terminal\n"
"  -h, --help        show this help;  -V, --version  show the version\n"
"\n"
"Flags win over the environment variables. The server certificate and\n"
"host name are always verified; there is no option to skip that.\n"
"\n"
"Exit status:\n"
"  0  success\n"
"  1  usage error or bad local input\n"
"  2  connection failed (refused, unreachable, timed out)\n"
"  3  TLS failed (unknown CA, host name mismatch, expired certificate...)\n"
"  4  authentication failed\n"
"  5  the server refused the command (ERR)\n"
"  6  connection lost\n", f);
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

int
main(int argc, char **argv)
{
	static char user[NAMES_USER_MAX + 1];
	static char port_buf[16];
	struct session_opts o;
	const char *user_arg;
	int c;

	memset(&o, 0, sizeof(o));
	o.host = env("PARLEY_HOST");
	o.port = env("PARLEY_PORT");
	o.cafile = env("PARLEY_CAFILE");
	user_arg = env("PARLEY_USER");

	/* '+': options end at the COMMAND; its own options follow it. */
	while ((c = getopt_long(argc, argv, "+hV", long_opts, NULL)) != -1) {
		switch (c) {
		case OPT_HOST:
			o.host = optarg;
			break;
		case OPT_PORT:
			o.port = optarg;
			break;
		case OPT_CAFILE:
			o.cafile = optarg;
			break;
		case OPT_CERT:
			o.cert = optarg;
			break;
		case OPT_KEY:
			o.key = optarg;
			break;
		case OPT_USER:
			user_arg = optarg;
			break;
		case OPT_PASSWORD_STDIN:
			o.password_stdin = true;
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

	if (o.host == NULL)
		o.host = DEFAULT_HOST;
	if (o.port == NULL) {
		snprintf(port_buf, sizeof(port_buf), "%d",
		    PARLEY_DEFAULT_PORT);
		o.port = port_buf;
	}
	if (check_port(o.port) != 0) {
		session_errorf("bad port '%s': expected 1 to 65535", o.port);
		return SESSION_EXIT_USAGE;
	}
	if ((o.cert == NULL) != (o.key == NULL)) {
		session_errorf("--cert and --key go together");
		return SESSION_EXIT_USAGE;
	}
	if (check_file("--cafile", o.cafile) != 0 ||
	    check_file("--cert", o.cert) != 0 ||
	    check_file("--key", o.key) != 0)
		return SESSION_EXIT_USAGE;
	if (user_arg == NULL) {
		session_errorf("no user name: use --user or set PARLEY_USER");
		return SESSION_EXIT_USAGE;
	}
	if (names_user_norm(user_arg, strlen(user_arg), user) != 0) {
		session_errorf("bad user name (letters, digits, _ . -; "
		    "starting with a letter; at most %d)", NAMES_USER_MAX);
		return SESSION_EXIT_USAGE;
	}
	o.user = user;

	/* A closed socket or pipe is an error to report, not a signal. */
	signal(SIGPIPE, SIG_IGN);
	tzset();

	if (argc == 0)
		return ui_main(&o);
	return cli_main(&o, argc, argv);
}
