/*
 * parleyctl: the admin tool (SPEC §6). It manages accounts by opening
 * parleyd's database directly through the store, so it needs no running
 * server and works beside one: the database is in WAL mode and every call
 * waits out a briefly held write lock (busy timeout).
 *
 * The database path, the password policy and the argon2id cost come from
 * parleyd's config (-c), or are the defaults (--db). Passwords are read
 * from the terminal with echo off, or as one line from standard input;
 * they are checked by the same policy as REGISTER and PASSWD, never
 * truncated, and wiped from memory once hashed.
 *
 * Exit status: 0 done, 1 the command could not be carried out (config or
 * database failure, user exists or not found), 2 the command was wrong
 * (usage, invalid name, password refused by the policy).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <sodium.h>

#include "clock.h"
#include "config.h"
#include "log.h"
#include "names.h"
#include "parley_limits.h"
#include "pwhash.h"
#include "store.h"
#include "live.h"

#define PROG            "parleyctl"
#define DEFAULT_CONFIG  "/etc/parley/parleyd.conf"
/* Long enough to wait out a group commit of a busy server. */
#define BUSY_MS         10000

enum {
	EXIT_DONE = 0,
	EXIT_FAILED = 1,
	EXIT_USAGE = 2,
};

/* Room for the longest allowed password plus a CR, to detect overflow. */
#define PW_BUF          (PASSWORD_MAX_BYTES + 2)

/* Sub-command options. */
#define OPT_ADMIN       0x1
#define OPT_STDIN       0x2
#define OPT_OPTIONAL_ARG 0x4            /* one more positional, optional */

struct ctl {
	struct config cfg;
	const char *arg[2];             /* positional arguments after NAME */
	char name[NAMES_USER_MAX + 1];  /* NAME, normalised */
	bool admin;
	bool pw_stdin;
};

struct sub {
	const char *name;
	int nargs;                      /* positional arguments, NAME first */
	unsigned opts;
	int (*run)(struct ctl *);
};

static void
perr(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* One line on stderr, prefixed with the program name. */
static void
perr(const char *fmt, ...)
{
	va_list ap;

	fputs(PROG ": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int
bad_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A usage error: one line with a pointer to --help; returns EXIT_USAGE. */
static int
bad_usage(const char *fmt, ...)
{
	va_list ap;

	fputs(PROG ": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(" (see " PROG " --help)\n", stderr);
	return EXIT_USAGE;
}

static void
help(void)
{
	fputs(
"usage: parleyctl [-c CONFIG | --db PATH] user add NAME [--admin] [--password-stdin]\n"
"       parleyctl [-c CONFIG | --db PATH] user del NAME\n"
"       parleyctl [-c CONFIG | --db PATH] user passwd NAME [--password-stdin]\n"
"       parleyctl [-c CONFIG | --db PATH] user lock NAME | user unlock NAME\n"
"       parleyctl [-c CONFIG | --db PATH] user role NAME admin|user\n"
"       parleyctl [-c CONFIG | --db PATH] user list\n"
"       parleyctl [-c CONFIG | --db PATH] token revoke NAME\n"
"       parleyctl [-c CONFIG | --db PATH] online | kick NAME [TEXT] | stats\n"
"       parleyctl --help | --version\n"
"\n"
"Manage parley accounts in parleyd's database; works while parleyd runs.\n"
"\n"
"  -c, --config CONFIG  take the database, password policy and hashing cost\n"
"                       from parleyd's config file\n"
"      --db PATH        use this database with the default settings\n"
"                       (default: -c " DEFAULT_CONFIG " if it exists)\n"
"  -h, --help           show this help\n"
"  -V, --version        show the version\n"
"\n"
"  user add NAME        create an account; creates the database if missing\n"
"      --admin          ... with the admin role\n"
"  user del NAME        delete an account, its room memberships and queued\n"
"                       messages (messages it sent stay in others' history)\n"
"  user passwd NAME     set a new password\n"
"  user lock NAME       refuse logins; user unlock NAME allows them again\n"
"  user role NAME admin|user\n"
"  user list            one account per line: NAME<TAB>ROLE<TAB>active|locked\n"
"  token revoke NAME    revoke every resume token of an account\n"
"\n"
"  With parleyd running (through its control socket parleyd.sock beside\n"
"  the database):\n"
"  online               who is online: USER NAME SESSIONS per line\n"
"  kick NAME [TEXT]     end NAME's sessions (BYE kicked: TEXT)\n"
"  stats                the server's counters: STAT NAME VALUE per line\n"
"  user del, user lock and user passwd also end the account's live\n"
"  sessions, and with token revoke its tokens, when parleyd runs.\n"
"\n"
"Passwords are read twice from the terminal with echo off, or with\n"
"--password-stdin as one line from standard input (the newline is dropped).\n"
"They need auth.min_password_length (default 15) to 128 characters and\n"
"must not be a commonly used password.\n"
"\n"
"Exit status: 0 done; 1 failed (config or database error, user exists,\n"
"no such user, parleyd not running for a live command); 2 usage error\n"
"(bad arguments, invalid name, password refused).\n", stdout);
}

/* ---- passwords ---- */

/*
 * Read one line from fd a byte at a time, so nothing past the newline is
 * consumed and no copy of the password lands in a stdio buffer. The line
 * ends at LF or end of file; a CR right before the LF is dropped.
 * Returns 0, 1 when the line does not fit in cap - 1 bytes (with drain,
 * the rest of the line is read and discarded, so a terminal does not hand
 * it to the shell), 2 at end of file before any byte, -1 on a read error
 * (errno; EINTR when a signal arrived).
 */
static int
read_line(int fd, char *buf, size_t cap, size_t *len, bool drain)
{
	size_t n = 0;
	bool lf = false, over = false;
	ssize_t r;
	char c;

	for (;;) {
		r = read(fd, &c, 1);
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		if (c == '\n') {
			lf = true;
			break;
		}
		if (n + 1 >= cap) {
			over = true;
			if (!drain)
				break;
			continue;
		}
		buf[n++] = c;
	}
	if (over) {
		sodium_memzero(buf, cap);
		return 1;
	}
	if (n == 0 && !lf)
		return 2;
	if (lf && n > 0 && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
	*len = n;
	return 0;
}

static volatile sig_atomic_t tty_signal;

static void
on_tty_signal(int sig)
{
	tty_signal = sig;
}

static const int tty_signals[] = {
	SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGTSTP, SIGTTIN, SIGTTOU,
};
#define NTTY_SIGNALS (sizeof(tty_signals) / sizeof(tty_signals[0]))

/*
 * Prompt on the terminal and read a line with echo off. A signal that
 * arrives meanwhile first gets the terminal's settings back, then takes
 * its usual effect; after a stop (^Z) and continue, the prompt is shown
 * again. Returns read_line()'s result; -1 with errno for other failures.
 */
static int
tty_password(int fd, const char *prompt, char *buf, size_t cap, size_t *len)
{
	struct sigaction sa, old_sa[NTTY_SIGNALS];
	struct termios old, quiet;
	size_t i;
	int rc, sig;

	for (;;) {
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_tty_signal;  /* no SA_RESTART: read ends */
		sigemptyset(&sa.sa_mask);
		tty_signal = 0;
		for (i = 0; i < NTTY_SIGNALS; i++)
			sigaction(tty_signals[i], &sa, &old_sa[i]);

		if (tcgetattr(fd, &old) < 0) {
			rc = -1;
			goto restore_signals;
		}
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		quiet.c_lflag |= ECHONL | ICANON;
		/* TCSAFLUSH: type-ahead from before the prompt is not taken. */
		if (tcsetattr(fd, TCSAFLUSH, &quiet) < 0) {
			rc = -1;
			goto restore_signals;
		}
		if (write(fd, prompt, strlen(prompt)) < 0) {
			rc = -1;
		} else {
			do {
				rc = read_line(fd, buf, cap, len, true);
			} while (rc < 0 && errno == EINTR && tty_signal == 0);
		}
		(void)tcsetattr(fd, TCSAFLUSH, &old);
		if (tty_signal != 0 && write(fd, "\n", 1) < 0)
			rc = -1;
restore_signals:
		for (i = 0; i < NTTY_SIGNALS; i++)
			sigaction(tty_signals[i], &old_sa[i], NULL);
		sig = tty_signal;
		if (sig == 0)
			return rc;
		sodium_memzero(buf, cap);
		/* Let the signal act as if we had not caught it. */
		raise(sig);
		if (sig != SIGTSTP && sig != SIGTTIN && sig != SIGTTOU) {
			errno = EINTR;
			return -1;
		}
	}
}

/*
 * Get a new password for user into pw (PW_BUF bytes): from stdin, or twice
 * from the terminal. Returns an exit status; on anything but EXIT_DONE pw
 * holds no password.
 */
static int
get_password(const struct ctl *c, char *pw, size_t *len)
{
	char again[PW_BUF], prompt[NAMES_USER_MAX + 40];
	size_t len2 = 0;
	int fd, rc, ret = EXIT_FAILED;

	if (c->pw_stdin) {
		rc = read_line(STDIN_FILENO, pw, PW_BUF, len, false);
		if (rc == 0)
			return EXIT_DONE;
		if (rc == 1) {
			perr("%s", pwhash_policy_str(PWPOLICY_TOO_LONG,
			    c->cfg.min_password_length));
			return EXIT_USAGE;
		}
		if (rc == 2) {
			perr("no password on standard input");
			return EXIT_USAGE;
		}
		perr("standard input: %s", strerror(errno));
		return EXIT_FAILED;
	}

	fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		perr("no terminal to read a password from (%s); use "
		    "--password-stdin", strerror(errno));
		return EXIT_USAGE;
	}
	snprintf(prompt, sizeof(prompt), "New password for %s: ", c->name);
	rc = tty_password(fd, prompt, pw, PW_BUF, len);
	if (rc == 0) {
		snprintf(prompt, sizeof(prompt), "Repeat password for %s: ",
		    c->name);
		rc = tty_password(fd, prompt, again, sizeof(again), &len2);
	}
	if (rc == 0) {
		if (*len == len2 && sodium_memcmp(pw, again, len2) == 0) {
			ret = EXIT_DONE;
		} else {
			perr("passwords do not match");
			ret = EXIT_USAGE;
		}
	} else if (rc == 1) {
		perr("%s", pwhash_policy_str(PWPOLICY_TOO_LONG,
		    c->cfg.min_password_length));
		ret = EXIT_USAGE;
	} else if (rc == 2) {
		perr("no password given");
		ret = EXIT_USAGE;
	} else {
		perr("terminal: %s", strerror(errno));
	}
	sodium_memzero(again, sizeof(again));
	if (ret != EXIT_DONE)
		sodium_memzero(pw, PW_BUF);
	close(fd);
	return ret;
}

/*
 * Read a new password, check it against the policy and hash it into hash.
 * Returns an exit status. The password is wiped before returning.
 */
static int
new_hash(const struct ctl *c, char hash[PWHASH_STR_BYTES])
{
	struct pwhash_params p;
	char pw[PW_BUF];
	size_t len = 0;
	enum pwpolicy pol;
	int ret;

	if ((ret = get_password(c, pw, &len)) != EXIT_DONE)
		return ret;
	pol = pwhash_policy(pw, len, c->cfg.min_password_length);
	if (pol != PWPOLICY_OK) {
		perr("%s", pwhash_policy_str(pol, c->cfg.min_password_length));
		ret = EXIT_USAGE;
		goto out;
	}
	p.ops = c->cfg.pwhash_ops;
	p.mem = (size_t)c->cfg.pwhash_mem_kib * 1024;
	if (pwhash_hash(hash, pw, len, &p) < 0) {
		perr("cannot hash the password: out of memory");
		ret = EXIT_FAILED;
		goto out;
	}
	ret = EXIT_DONE;
out:
	sodium_memzero(pw, sizeof(pw));
	return ret;
}

/* ---- database ---- */

static struct store *
open_db(const struct ctl *c, bool create)
{
	char err[PATH_MAX + 256];
	struct store *s;
	unsigned flags = c->cfg.sync_full ? STORE_SYNC_FULL : 0;

	if (create)
		flags |= STORE_CREATE;
	s = store_open(c->cfg.database, flags, BUSY_MS, err, sizeof(err));
	if (s == NULL)
		perr("%s", err);
	return s;
}

/* Report a store result other than STORE_OK; returns the exit status. */
static int
store_failed(const struct ctl *c, struct store *s, int rc)
{
	switch (rc) {
	case STORE_NOT_FOUND:
		perr("no such user: %s", c->name);
		break;
	case STORE_EXISTS:
		perr("user %s exists already", c->name);
		break;
	default:
		perr("database %s: %s", c->cfg.database, store_errmsg(s));
		break;
	}
	return EXIT_FAILED;
}

/* ---- commands ---- */

/*
 * user add: the password is asked for only once the name is known to be
 * free, and a missing database is created only once the password passed,
 * so a refused command leaves nothing behind.
 */
/*
 * After an account change that must also end its live sessions: ask a
 * running parleyd to close them. Best effort — without a server there is
 * nothing to close.
 */
static void
end_sessions(const struct ctl *c, const char *why)
{
	char line[128];

	snprintf(line, sizeof(line), "CLOSE %s %s", c->name, why);
	if (live_command(c->cfg.database, line, stdout, false) == LIVE_OK)
		printf("ended the live sessions of %s\n", c->name);
}

static int
cmd_add(struct ctl *c)
{
	char hash[PWHASH_STR_BYTES];
	struct store_user u;
	struct store *s = NULL;
	struct stat sb;
	int rc, ret;

	if (stat(c->cfg.database, &sb) == 0) {
		if ((s = open_db(c, false)) == NULL)
			return EXIT_FAILED;
		rc = store_user_get(s, c->name, &u);
		if (rc != STORE_NOT_FOUND) {
			ret = store_failed(c, s, rc == STORE_OK ?
			    STORE_EXISTS : rc);
			goto out;
		}
	}
	if ((ret = new_hash(c, hash)) != EXIT_DONE)
		goto out;
	if (s == NULL && (s = open_db(c, true)) == NULL) {
		ret = EXIT_FAILED;
		goto out;
	}
	rc = store_user_add(s, c->name, hash, c->admin ? STORE_ROLE_ADMIN :
	    STORE_ROLE_USER, clock_now_ms());
	if (rc != STORE_OK) {
		ret = store_failed(c, s, rc);
		goto out;
	}
	printf("added user %s (%s)\n", c->name, c->admin ? "admin" : "user");
	ret = EXIT_DONE;
out:
	store_close(s);
	return ret;
}

static int
cmd_del(struct ctl *c)
{
	struct store *s;
	int rc;

	if ((s = open_db(c, false)) == NULL)
		return EXIT_FAILED;
	rc = store_user_del(s, c->name);
	if (rc == STORE_OK)
		printf("deleted user %s\n", c->name);
	else
		(void)store_failed(c, s, rc);
	store_close(s);
	if (rc == STORE_OK)
		end_sessions(c, "account deleted");
	return rc == STORE_OK ? EXIT_DONE : EXIT_FAILED;
}

static int
cmd_passwd(struct ctl *c)
{
	char hash[PWHASH_STR_BYTES];
	struct store_user u;
	struct store *s;
	int rc, ret;

	if ((s = open_db(c, false)) == NULL)
		return EXIT_FAILED;
	/* No password prompt for a user that is not there. */
	if ((rc = store_user_get(s, c->name, &u)) != STORE_OK) {
		ret = store_failed(c, s, rc);
		goto out;
	}
	if ((ret = new_hash(c, hash)) != EXIT_DONE)
		goto out;
	/* A new password ends every other way in, as PASSWD does. */
	if ((rc = store_begin(s)) != STORE_OK ||
	    (rc = store_user_set_hash(s, c->name, hash)) != STORE_OK ||
	    (rc = store_token_revoke(s, c->name, NULL)) != STORE_OK ||
	    (rc = store_commit(s)) != STORE_OK) {
		ret = store_failed(c, s, rc);
		store_rollback(s);
		goto out;
	}
	printf("changed the password of %s\n", c->name);
	ret = EXIT_DONE;
out:
	store_close(s);
	if (ret == EXIT_DONE)
		end_sessions(c, "password changed");
	return ret;
}

static int
set_locked(struct ctl *c, bool locked)
{
	struct store *s;
	int rc;

	if ((s = open_db(c, false)) == NULL)
		return EXIT_FAILED;
	rc = store_user_set_locked(s, c->name, locked);
	if (rc == STORE_OK)
		printf("%s user %s\n", locked ? "locked" : "unlocked", c->name);
	else
		(void)store_failed(c, s, rc);
	store_close(s);
	if (rc == STORE_OK && locked)
		end_sessions(c, "account locked");
	return rc == STORE_OK ? EXIT_DONE : EXIT_FAILED;
}

static int
cmd_lock(struct ctl *c)
{
	return set_locked(c, true);
}

static int
cmd_unlock(struct ctl *c)
{
	return set_locked(c, false);
}

static int
cmd_role(struct ctl *c)
{
	struct store *s;
	int role, rc;

	if (strcmp(c->arg[0], "admin") == 0) {
		role = STORE_ROLE_ADMIN;
	} else if (strcmp(c->arg[0], "user") == 0) {
		role = STORE_ROLE_USER;
	} else {
		return bad_usage("role must be admin or user");
	}
	if ((s = open_db(c, false)) == NULL)
		return EXIT_FAILED;
	rc = store_user_set_role(s, c->name, role);
	if (rc == STORE_OK)
		printf("user %s is now %s\n", c->name, c->arg[0]);
	else
		(void)store_failed(c, s, rc);
	store_close(s);
	return rc == STORE_OK ? EXIT_DONE : EXIT_FAILED;
}

static int
list_one(void *ctx, const struct store_user *u)
{
	(void)ctx;
	printf("%s\t%s\t%s\n", u->name,
	    u->role == STORE_ROLE_ADMIN ? "admin" : "user",
	    u->locked ? "locked" : "active");
	return 0;
}

static int
cmd_list(struct ctl *c)
{
	struct store *s;
	int rc;

	if ((s = open_db(c, false)) == NULL)
		return EXIT_FAILED;
	rc = store_user_list(s, list_one, NULL);
	if (rc != STORE_OK)
		(void)store_failed(c, s, rc);
	store_close(s);
	if (rc == STORE_OK && fflush(stdout) != 0) {
		perr("standard output: %s", strerror(errno));
		return EXIT_FAILED;
	}
	return rc == STORE_OK ? EXIT_DONE : EXIT_FAILED;
}

static int
cmd_token_revoke(struct ctl *c)
{
	struct store *s;
	unsigned n = 0;
	int rc;

	if ((s = open_db(c, false)) == NULL)
		return EXIT_FAILED;
	rc = store_token_revoke(s, c->name, &n);
	if (rc == STORE_OK)
		printf("revoked %u tokens of %s\n", n, c->name);
	else
		(void)store_failed(c, s, rc);
	store_close(s);
	return rc == STORE_OK ? EXIT_DONE : EXIT_FAILED;
}

/* online, kick, stats: straight to the running server. */
static int
live(const struct ctl *c, const char *line, bool show_final)
{
	switch (live_command(c->cfg.database, line, stdout, show_final)) {
	case LIVE_OK:
		return EXIT_DONE;
	case LIVE_DOWN:
		perr("parleyd is not running (no control socket beside %s)",
		    c->cfg.database);
		return EXIT_FAILED;
	default:
		return EXIT_FAILED;
	}
}

static int
cmd_online(struct ctl *c)
{
	return live(c, "ONLINE", false);
}

static int
cmd_stats(struct ctl *c)
{
	return live(c, "STATS", false);
}

static int
cmd_kick(struct ctl *c)
{
	char line[256];
	const char *text = c->arg[0] ? c->arg[0] : "";

	if (strlen(text) > 128 || strpbrk(text, "\r\n") != NULL)
		return bad_usage("kick: TEXT must be one line of at most 128 "
		    "bytes");
	snprintf(line, sizeof(line), "KICK %s %s", c->name, text);
	return live(c, line, true);
}

static const struct sub subs[] = {
	{ "add", 1, OPT_ADMIN | OPT_STDIN, cmd_add },
	{ "del", 1, 0, cmd_del },
	{ "passwd", 1, OPT_STDIN, cmd_passwd },
	{ "lock", 1, 0, cmd_lock },
	{ "unlock", 1, 0, cmd_unlock },
	{ "role", 2, 0, cmd_role },
	{ "list", 0, 0, cmd_list },
};

static const struct sub token_subs[] = {
	{ "revoke", 1, 0, cmd_token_revoke },
};

/* Commands without a group word; kick takes an optional TEXT. */
static const struct sub top_subs[] = {
	{ "online", 0, 0, cmd_online },
	{ "stats", 0, 0, cmd_stats },
	{ "kick", 1, OPT_OPTIONAL_ARG, cmd_kick },
};

static const struct sub *
find_sub(const struct sub *list, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(list[i].name, name) == 0)
			return &list[i];
	return NULL;
}

/* ---- start-up ---- */

/*
 * Settle the configuration: -c loads parleyd's config, --db keeps the
 * defaults with that database, and with neither the system config is used
 * if there is one. Returns an exit status.
 */
static int
settings(struct ctl *c, const char *config, const char *db)
{
	char err[PATH_MAX + 256];

	if (config != NULL && db != NULL) {
		return bad_usage("use either -c CONFIG or --db PATH, not both");
	}
	if (config == NULL && db == NULL) {
		if (access(DEFAULT_CONFIG, F_OK) != 0) {
			perr("no database: use -c CONFIG or --db PATH");
			return EXIT_USAGE;
		}
		config = DEFAULT_CONFIG;
	}
	if (config != NULL) {
		if (config_load(&c->cfg, config, err, sizeof(err)) < 0) {
			perr("%s", err);
			return EXIT_FAILED;
		}
		return EXIT_DONE;
	}
	config_defaults(&c->cfg);
	if (db[0] == '\0' || strlen(db) >= sizeof(c->cfg.database)) {
		return bad_usage("invalid database path");
	}
	strcpy(c->cfg.database, db);
	return EXIT_DONE;
}

/*
 * Parse what follows "user SUB": positional arguments and the options sub
 * allows, in any order. NAME is checked and normalised here. Returns an
 * exit status (EXIT_DONE to go on).
 */
static int
parse_sub(struct ctl *c, const struct sub *sub, int argc, char **argv)
{
	const char *pos[3] = { NULL, NULL, NULL };
	char esc[3 * 64];
	int i, n = 0;

	for (i = 0; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--admin") == 0 && (sub->opts & OPT_ADMIN)) {
			c->admin = true;
		} else if (strcmp(a, "--password-stdin") == 0 &&
		    (sub->opts & OPT_STDIN)) {
			c->pw_stdin = true;
		} else if (a[0] == '-') {
			return bad_usage("%s: unknown option %s",
			    sub->name, log_escape(esc, sizeof(esc), a,
			    strlen(a)));
		} else if (n == sub->nargs +
		    ((sub->opts & OPT_OPTIONAL_ARG) ? 1 : 0)) {
			return bad_usage("%s: too many arguments",
			    sub->name);
		} else {
			pos[n++] = a;
		}
	}
	if (n < sub->nargs) {
		return bad_usage("%s: missing %s", sub->name,
		    n == 0 ? "NAME" : "argument");
	}
	if (sub->nargs == 0)
		return EXIT_DONE;
	if (names_user_norm(pos[0], strlen(pos[0]), c->name) < 0) {
		perr("invalid user name '%s': a letter, then up to %d of "
		    "a-z 0-9 _ . -", log_escape(esc, sizeof(esc), pos[0],
		    strlen(pos[0])), NAMES_USER_MAX - 1);
		return EXIT_USAGE;
	}
	c->arg[0] = pos[1];
	c->arg[1] = pos[2];
	return EXIT_DONE;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "db", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	static struct ctl c;
	const char *config = NULL, *db = NULL;
	const struct sub *sub = NULL;
	char esc[3 * 64];
	size_t i;
	int ch, ret;

	/* The database holds password hashes: files made here are private. */
	umask(077);
	log_init(PROG, LOGL_WARN);

	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+:c:hV", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			config = optarg;
			break;
		case 'd':
			db = optarg;
			break;
		case 'h':
			help();
			return EXIT_DONE;
		case 'V':
			printf("%s %s\n", PROG, PARLEY_VERSION);
			return EXIT_DONE;
		case ':':
			return bad_usage("option %s needs an argument",
			    argv[optind - 1]);
		default:
			/* optopt is 0 for an unknown long option */
			if (optopt != 0)
				return bad_usage("unknown option -%c", optopt);
			return bad_usage("unknown option %s", log_escape(esc,
			    sizeof(esc), argv[optind - 1],
			    strlen(argv[optind - 1])));
		}
	}
	argc -= optind;
	argv += optind;

	if (argc == 0)
		return bad_usage("no command");
	if ((sub = find_sub(top_subs, sizeof(top_subs) / sizeof(top_subs[0]),
	    argv[0])) != NULL) {
		argc -= 1;
		argv += 1;
	} else {
		const struct sub *group;
		size_t n;

		if (strcmp(argv[0], "user") == 0) {
			group = subs;
			n = sizeof(subs) / sizeof(subs[0]);
		} else if (strcmp(argv[0], "token") == 0) {
			group = token_subs;
			n = sizeof(token_subs) / sizeof(token_subs[0]);
		} else {
			return bad_usage("unknown command %s", log_escape(esc,
			    sizeof(esc), argv[0], strlen(argv[0])));
		}
		if (argc < 2)
			return bad_usage("%s: missing sub-command", argv[0]);
		if ((sub = find_sub(group, n, argv[1])) == NULL)
			return bad_usage("unknown command %s %s", argv[0],
			    log_escape(esc, sizeof(esc), argv[1],
			    strlen(argv[1])));
		argc -= 2;
		argv += 2;
	}
	for (i = 0; i < (size_t)argc; i++) {
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0) {
			help();
			return EXIT_DONE;
		}
	}
	if ((ret = parse_sub(&c, sub, argc, argv)) != EXIT_DONE)
		return ret;
	if ((ret = settings(&c, config, db)) != EXIT_DONE)
		return ret;
	if (pwhash_init() < 0) {
		perr("cannot initialise libsodium");
		return EXIT_FAILED;
	}
	return sub->run(&c);
}
