/*
 * Unit tests for common/config.c.
 *
 * Defaults match SPEC §5; a file setting every key is read back exactly;
 * relative paths come out absolute, resolved against the config file's
 * folder whatever the current folder; inline comments and an empty
 * client_ca work; and every kind of mistake (unknown section or key, value
 * out of range, bad boolean, TLS version, client_auth or sync mode, a sign
 * or trailing garbage on a number, crl or client_auth = required without
 * client_ca, a line that is not INI) fails with a message that names the
 * key or the line. Each test writes its files into its own
 * mkdtemp folder.
 */
#include <dirent.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include <openssl/ssl.h>

#include "config.h"

struct fx {
	char dir[PATH_MAX];     /* canonical, as config_load reports it */
	char conf[PATH_MAX + 16]; /* dir/parley.conf */
	char err[512];
	struct config c;
};

static int
setup(void **state)
{
	char tmpl[] = "/tmp/parley-config-XXXXXX";
	struct fx *fx = calloc(1, sizeof(*fx));
	char *real;

	if (fx == NULL || mkdtemp(tmpl) == NULL)
		return -1;
	real = realpath(tmpl, NULL);
	if (real == NULL)
		return -1;
	snprintf(fx->dir, sizeof(fx->dir), "%s", real);
	free(real);
	snprintf(fx->conf, sizeof(fx->conf), "%s/parley.conf", fx->dir);
	*state = fx;
	return 0;
}

/* Remove the folder and the files and folders one level below it. */
static void
rm_tree(const char *dir, int depth)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d = opendir(dir);

	if (d != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			if (unlink(path) != 0 && depth > 0)
				rm_tree(path, depth - 1);
		}
		closedir(d);
	}
	(void)rmdir(dir);
}

static int
teardown(void **state)
{
	struct fx *fx = *state;

	rm_tree(fx->dir, 1);
	free(fx);
	return 0;
}

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

/* Write text as the config file and load it; returns config_load's result. */
static int
load(struct fx *fx, const char *text)
{
	write_file(fx->conf, text);
	memset(fx->err, 0, sizeof(fx->err));
	return config_load(&fx->c, fx->conf, fx->err, sizeof(fx->err));
}

static void
load_ok(struct fx *fx, const char *text)
{
	if (load(fx, text) != 0)
		fail_msg("config refused: %s\n--- config ---\n%s", fx->err,
		    text);
}

/* dir + "/" + rel, for comparing resolved paths. */
static const char *
in_dir(const char *dir, const char *rel)
{
	static char out[PATH_MAX * 2];

	snprintf(out, sizeof(out), "%s/%s", dir, rel);
	return out;
}

/* ---- defaults ---------------------------------------------------------- */

static void
check_defaults(const struct config *c, const char *dir)
{
	assert_string_equal(c->name, "localhost");
	assert_string_equal(c->listen, "127.0.0.1:7667");
	assert_string_equal(c->certificate, in_dir(dir, "server.crt"));
	assert_string_equal(c->private_key, in_dir(dir, "server.key"));
	assert_string_equal(c->client_ca, "");
	assert_string_equal(c->crl, "");
	assert_int_equal(c->client_auth, CONFIG_CLIENT_AUTH_OPTIONAL);
	assert_int_equal(c->min_version, TLS1_2_VERSION);
	assert_string_equal(c->database, in_dir(dir, "parley.db"));
	assert_false(c->sync_full);
	assert_false(c->allow_register);
	assert_int_equal(c->pwhash_ops, 2);
	assert_int_equal(c->pwhash_mem_kib, 65536);
	assert_int_equal(c->max_failed_logins, 5);
	assert_int_equal(c->min_password_length, 15);
	assert_int_equal(c->max_concurrent_hashes, 2);
	assert_int_equal(c->token_ttl, 2592000);
	assert_int_equal(c->max_connections, 10000);
	assert_int_equal(c->max_connections_per_ip, 256);
	assert_int_equal(c->max_line_bytes, 8192);
	assert_int_equal(c->max_output_bytes, 1048576);
	assert_int_equal(c->handshake_timeout, 10);
	assert_int_equal(c->login_timeout, 60);
	assert_int_equal(c->idle_timeout, 300);
	assert_int_equal(c->messages_per_second, 50);
}

static void
test_defaults(void **state)
{
	struct fx *fx = *state;
	char cwd[PATH_MAX];

	assert_non_null(getcwd(cwd, sizeof(cwd)));
	memset(&fx->c, 0xa5, sizeof(fx->c));
	config_defaults(&fx->c);
	assert_string_equal(fx->c.path, "");
	check_defaults(&fx->c, cwd);
}

/* An empty file (and one of comments only) leaves every default in place. */
static void
test_empty_file(void **state)
{
	struct fx *fx = *state;

	load_ok(fx, "");
	assert_string_equal(fx->c.path, fx->conf);
	assert_string_equal(fx->c.dir, fx->dir);
	check_defaults(&fx->c, fx->dir);

	load_ok(fx, "; nothing here\n# nor here\n\n[server]\n[auth]\n");
	check_defaults(&fx->c, fx->dir);
}

/* ---- a file with every key --------------------------------------------- */

static void
test_full_file(void **state)
{
	static const char text[] =
	    "; every key of SPEC section 5, none at its default\n"
	    "[server]\n"
	    "name = chat.example.org\n"
	    "listen = 0.0.0.0:7000,[::1]:7001\n"
	    "\n"
	    "[tls]\n"
	    "certificate = /etc/parley/cert.pem\n"
	    "private_key = /etc/parley/key.pem\n"
	    "client_ca = /etc/parley/ca.pem\n"
	    "crl = /etc/parley/crl.pem\n"
	    "client_auth = required\n"
	    "min_version = 1.3\n"
	    "[storage]\n"
	    "database = /var/lib/parley/parley.db\n"
	    "sync = full\n"
	    "[auth]\n"
	    "allow_register = true\n"
	    "pwhash_ops = 3\n"
	    "pwhash_mem_kib = 131072\n"
	    "max_failed_logins = 7\n"
	    "min_password_length = 20\n"
	    "max_concurrent_hashes = 4\n"
	    "token_ttl = 86400\n"
	    "[limits]\n"
	    "max_connections = 500\n"
	    "max_connections_per_ip = 16\n"
	    "max_line_bytes = 4096\n"
	    "max_output_bytes = 65536\n"
	    "handshake_timeout = 5\n"
	    "login_timeout = 30\n"
	    "idle_timeout = 600\n"
	    "messages_per_second = 20\n";
	struct fx *fx = *state;
	const struct config *c = &fx->c;

	load_ok(fx, text);
	assert_string_equal(c->name, "chat.example.org");
	assert_string_equal(c->listen, "0.0.0.0:7000,[::1]:7001");
	assert_string_equal(c->certificate, "/etc/parley/cert.pem");
	assert_string_equal(c->private_key, "/etc/parley/key.pem");
	assert_string_equal(c->client_ca, "/etc/parley/ca.pem");
	assert_string_equal(c->crl, "/etc/parley/crl.pem");
	assert_int_equal(c->client_auth, CONFIG_CLIENT_AUTH_REQUIRED);
	assert_int_equal(c->min_version, TLS1_3_VERSION);
	assert_string_equal(c->database, "/var/lib/parley/parley.db");
	assert_true(c->sync_full);
	assert_true(c->allow_register);
	assert_int_equal(c->pwhash_ops, 3);
	assert_int_equal(c->pwhash_mem_kib, 131072);
	assert_int_equal(c->max_failed_logins, 7);
	assert_int_equal(c->min_password_length, 20);
	assert_int_equal(c->max_concurrent_hashes, 4);
	assert_int_equal(c->token_ttl, 86400);
	assert_int_equal(c->max_connections, 500);
	assert_int_equal(c->max_connections_per_ip, 16);
	assert_int_equal(c->max_line_bytes, 4096);
	assert_int_equal(c->max_output_bytes, 65536);
	assert_int_equal(c->handshake_timeout, 5);
	assert_int_equal(c->login_timeout, 30);
	assert_int_equal(c->idle_timeout, 600);
	assert_int_equal(c->messages_per_second, 20);

	/* The SPEC's own example, comments and all, is the defaults. */
	load_ok(fx,
	    "[server]\n"
	    "name = localhost                 ; shown in HELLO\n"
	    "listen = 127.0.0.1:7667          ; comma-separated\n"
	    "[tls]\n"
	    "certificate = server.crt\n"
	    "private_key = server.key\n"
	    "client_ca =                      ; set to enable client certs\n"
	    "min_version = 1.2                ; 1.2 or 1.3\n"
	    "[storage]\n"
	    "database = parley.db             ; SQLite, created if missing\n"
	    "sync = normal                    ; normal or full\n"
	    "[auth]\n"
	    "allow_register = false\n"
	    "pwhash_ops = 2                   ; argon2id opslimit\n"
	    "pwhash_mem_kib = 65536           ; argon2id memlimit in KiB\n"
	    "max_failed_logins = 5\n"
	    "min_password_length = 15         ; code points\n"
	    "max_concurrent_hashes = 2        ; argon2 jobs at once\n"
	    "token_ttl = 2592000              ; seconds\n"
	    "[limits]\n"
	    "max_connections = 10000\n"
	    "max_connections_per_ip = 256\n"
	    "max_line_bytes = 8192\n"
	    "max_output_bytes = 1048576\n"
	    "handshake_timeout = 10           ; seconds\n"
	    "login_timeout = 60               ; seconds\n"
	    "idle_timeout = 300               ; seconds\n"
	    "messages_per_second = 50         ; per connection\n");
	check_defaults(c, fx->dir);
}

/* ---- paths ------------------------------------------------------------- */

static void
test_relative_paths(void **state)
{
	static const char text[] =
	    "[tls]\n"
	    "certificate = certs/server.crt\n"
	    "private_key = ../keys/server.key\n"
	    "client_ca = ca.crt\n"
	    "crl = ./crl/parley.crl\n"
	    "[storage]\n"
	    "database = /srv/parley/parley.db\n";
	struct fx *fx = *state;
	char sub[PATH_MAX + 8], conf[PATH_MAX + 32], cwd[PATH_MAX];
	char subreal[PATH_MAX];
	int r;

	load_ok(fx, text);
	assert_string_equal(fx->c.certificate,
	    in_dir(fx->dir, "certs/server.crt"));
	assert_string_equal(fx->c.private_key,
	    in_dir(fx->dir, "../keys/server.key"));
	assert_string_equal(fx->c.client_ca, in_dir(fx->dir, "ca.crt"));
	assert_string_equal(fx->c.crl, in_dir(fx->dir, "./crl/parley.crl"));
	assert_string_equal(fx->c.database, "/srv/parley/parley.db");

	/*
	 * The file named relative to the current folder, which is not its own
	 * folder: paths still come out absolute and against the file's folder.
	 */
	snprintf(sub, sizeof(sub), "%s/etc", fx->dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	snprintf(conf, sizeof(conf), "%s/parley.conf", sub);
	write_file(conf, text);
	assert_non_null(realpath(sub, subreal));
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(fx->dir), 0);
	r = config_load(&fx->c, "etc/parley.conf", fx->err, sizeof(fx->err));
	assert_int_equal(chdir(cwd), 0);
	if (r != 0)
		fail_msg("config refused: %s", fx->err);
	assert_string_equal(fx->c.dir, subreal);
	assert_string_equal(fx->c.path, in_dir(subreal, "parley.conf"));
	assert_string_equal(fx->c.certificate,
	    in_dir(subreal, "certs/server.crt"));
	assert_string_equal(fx->c.private_key,
	    in_dir(subreal, "../keys/server.key"));
	assert_string_equal(fx->c.client_ca, in_dir(subreal, "ca.crt"));
	assert_string_equal(fx->c.crl, in_dir(subreal, "./crl/parley.crl"));
	assert_string_equal(fx->c.database, "/srv/parley/parley.db");
	/* Defaults for keys not in the file are against its folder too. */
	write_file(conf, "[server]\nname = x\n");
	assert_int_equal(chdir(fx->dir), 0);
	r = config_load(&fx->c, "etc/parley.conf", fx->err, sizeof(fx->err));
	assert_int_equal(chdir(cwd), 0);
	assert_int_equal(r, 0);
	assert_string_equal(fx->c.certificate,
	    in_dir(subreal, "server.crt"));
	assert_string_equal(fx->c.database, in_dir(subreal, "parley.db"));
	assert_int_equal(fx->c.certificate[0], '/');
}

static void
test_client_ca_empty(void **state)
{
	struct fx *fx = *state;

	load_ok(fx, "[tls]\nclient_ca =\n");
	assert_string_equal(fx->c.client_ca, "");
	load_ok(fx, "[tls]\nclient_ca = ; no client certificates\n");
	assert_string_equal(fx->c.client_ca, "");
	/* Set, then cleared again later in the file. */
	load_ok(fx, "[tls]\nclient_ca = ca.crt\nclient_ca =\n");
	assert_string_equal(fx->c.client_ca, "");
	load_ok(fx, "[tls]\nclient_ca = ca.crt\n");
	assert_string_equal(fx->c.client_ca, in_dir(fx->dir, "ca.crt"));
	/* With client_ca set, the settings that depend on it are accepted. */
	load_ok(fx, "[tls]\nclient_ca = ca.crt\ncrl = crl.pem\n"
	    "client_auth = optional\n");
	assert_string_equal(fx->c.crl, in_dir(fx->dir, "crl.pem"));
	assert_int_equal(fx->c.client_auth, CONFIG_CLIENT_AUTH_OPTIONAL);
}

/*
 * Only client_ca and crl may be empty ("unset"). An empty certificate, key
 * or database is a mistake: SQLite would open "" as a private temporary
 * database and every stored message would vanish at exit.
 */
static void
test_empty_paths_refused(void **state)
{
	static const char *const cases[][2] = {
		{ "[storage]\ndatabase =\n", "database" },
		{ "[storage]\ndatabase = ; none\n", "database" },
		{ "[tls]\ncertificate =\n", "certificate" },
		{ "[tls]\nprivate_key =\n", "private_key" },
	};
	struct fx *fx = *state;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (load(fx, cases[i][0]) != -1)
			fail_msg("accepted:\n%s", cases[i][0]);
		assert_non_null(strstr(fx->err, cases[i][1]));
	}
}

static void
test_inline_comments(void **state)
{
	struct fx *fx = *state;

	load_ok(fx,
	    "; a comment line\n"
	    "# another comment line\n"
	    "[server]   ; the server section\n"
	    "name = myhost ; the name\n"
	    "listen = 127.0.0.1:9000;no space, so not a comment\n"
	    "[tls]\n"
	    "min_version = 1.3\t; only 1.3\n"
	    "[auth]\n"
	    "allow_register = yes ; open sign-up\n"
	    "token_ttl = 3600 ; an hour\n");
	assert_string_equal(fx->c.name, "myhost");
	assert_string_equal(fx->c.listen,
	    "127.0.0.1:9000;no space, so not a comment");
	assert_int_equal(fx->c.min_version, TLS1_3_VERSION);
	assert_true(fx->c.allow_register);
	assert_int_equal(fx->c.token_ttl, 3600);
}

/* ---- values at the edges ----------------------------------------------- */

struct okcase {
	const char *text;
	size_t off;             /* offsetof the field, or SIZE_MAX */
	int width;              /* sizeof the field */
	unsigned long long want;
};

#define FIELD(f) offsetof(struct config, f), \
	(int)sizeof(((struct config *)0)->f)

static unsigned long long
get_field(const struct config *c, size_t off, int width)
{
	const char *p = (const char *)c + off;

	if (width == sizeof(bool))
		return *(const bool *)(const void *)p;
	if (width == sizeof(unsigned))
		return *(const unsigned *)(const void *)p;
	if (width == sizeof(unsigned long))
		return *(const unsigned long *)(const void *)p;
	return *(const unsigned long long *)(const void *)p;
}

static void
test_edges_accepted(void **state)
{
	static const struct okcase cases[] = {
		{ "[limits]\nmax_line_bytes = 512\n", FIELD(max_line_bytes), 512 },
		{ "[limits]\nmax_line_bytes = 1048576\n", FIELD(max_line_bytes),
		  1048576 },
		{ "[limits]\nmax_line_bytes = 0008192\n", FIELD(max_line_bytes),
		  8192 },
		{ "[auth]\nmin_password_length = 8\n",
		  FIELD(min_password_length), 8 },
		{ "[auth]\nmin_password_length = 128\n",
		  FIELD(min_password_length), 128 },
		{ "[auth]\npwhash_ops = 1\n", FIELD(pwhash_ops), 1 },
		{ "[auth]\npwhash_mem_kib = 8\n", FIELD(pwhash_mem_kib), 8 },
		{ "[auth]\npwhash_mem_kib = 4194304\n", FIELD(pwhash_mem_kib),
		  4194304 },
		{ "[auth]\ntoken_ttl = 60\n", FIELD(token_ttl), 60 },
		{ "[auth]\ntoken_ttl = 315360000\n", FIELD(token_ttl),
		  315360000 },
		{ "[limits]\nmax_connections = 1\n", FIELD(max_connections), 1 },
		{ "[limits]\nmax_connections = 1000000\n",
		  FIELD(max_connections), 1000000 },
		{ "[limits]\nmax_output_bytes = 16384\n",
		  FIELD(max_output_bytes), 16384 },
		{ "[limits]\nmax_output_bytes = 1073741824\n",
		  FIELD(max_output_bytes), 1073741824 },
		{ "[auth]\nallow_register = true\n", FIELD(allow_register), 1 },
		{ "[auth]\nallow_register = TRUE\n", FIELD(allow_register), 1 },
		{ "[auth]\nallow_register = yes\n", FIELD(allow_register), 1 },
		{ "[auth]\nallow_register = on\n", FIELD(allow_register), 1 },
		{ "[auth]\nallow_register = 1\n", FIELD(allow_register), 1 },
		{ "[auth]\nallow_register = false\n", FIELD(allow_register), 0 },
		{ "[auth]\nallow_register = No\n", FIELD(allow_register), 0 },
		{ "[auth]\nallow_register = off\n", FIELD(allow_register), 0 },
		{ "[auth]\nallow_register = 0\n", FIELD(allow_register), 0 },
		{ "[storage]\nsync = normal\n", FIELD(sync_full), 0 },
		{ "[storage]\nsync = full\n", FIELD(sync_full), 1 },
		{ "  [limits]  \n  idle_timeout=1  \n", FIELD(idle_timeout), 1 },
		{ "[limits]\r\nidle_timeout = 604800\r\n", FIELD(idle_timeout),
		  604800 },
	};
	struct fx *fx = *state;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		load_ok(fx, cases[i].text);
		if (get_field(&fx->c, cases[i].off, cases[i].width) !=
		    cases[i].want)
			fail_msg("%s: got %llu, want %llu", cases[i].text,
			    get_field(&fx->c, cases[i].off, cases[i].width),
			    cases[i].want);
	}
}

/* ---- errors ------------------------------------------------------------ */

struct errcase {
	const char *text;
	const char *needle;     /* must appear in the message */
	const char *needle2;    /* and this too, unless NULL */
};

static void
test_errors(void **state)
{
	static const struct errcase cases[] = {
		/* Unknown sections and keys. */
		{ "[bogus]\nname = x\n", "bogus", "name" },
		{ "[server]\nnmae = x\n", "nmae", NULL },
		{ "[server]\nmax_connections = 5\n", "max_connections",
		  "server" },
		{ "name = x\n", "name", NULL },          /* outside a section */
		{ "[Server]\nname = x\n", "Server", NULL },
		/* Out of range. */
		{ "[limits]\nmax_line_bytes = 10\n", "max_line_bytes", "range" },
		{ "[limits]\nmax_line_bytes = 511\n", "max_line_bytes", NULL },
		{ "[limits]\nmax_line_bytes = 1048577\n", "max_line_bytes",
		  NULL },
		{ "[limits]\nmax_connections = 0\n", "max_connections", NULL },
		{ "[limits]\nhandshake_timeout = 3601\n", "handshake_timeout",
		  NULL },
		{ "[limits]\nmax_output_bytes = 16383\n", "max_output_bytes",
		  NULL },
		{ "[auth]\npwhash_ops = 0\n", "pwhash_ops", NULL },
		{ "[auth]\npwhash_ops = 65\n", "pwhash_ops", NULL },
		{ "[auth]\npwhash_mem_kib = 7\n", "pwhash_mem_kib", NULL },
		{ "[auth]\npwhash_mem_kib = 4194305\n", "pwhash_mem_kib", NULL },
		{ "[auth]\nmin_password_length = 7\n", "min_password_length",
		  NULL },
		{ "[auth]\nmin_password_length = 129\n", "min_password_length",
		  NULL },
		{ "[auth]\ntoken_ttl = 59\n", "token_ttl", NULL },
		{ "[auth]\nmax_concurrent_hashes = 0\n", "max_concurrent_hashes",
		  NULL },
		/* Not a number. */
		{ "[limits]\nmax_connections = -1\n", "max_connections", NULL },
		{ "[limits]\nmax_connections = +5\n", "max_connections", NULL },
		{ "[limits]\nmax_connections = 12abc\n", "max_connections",
		  NULL },
		{ "[limits]\nmax_connections = 0x10\n", "max_connections", NULL },
		{ "[limits]\nmax_connections = 1.5\n", "max_connections", NULL },
		{ "[limits]\nmax_connections = 1 000\n", "max_connections",
		  NULL },
		{ "[limits]\nmax_connections =\n", "max_connections", NULL },
		{ "[limits]\nmax_connections = 18446744073709551616\n",
		  "max_connections", NULL },
		{ "[limits]\nmax_connections = 4294967297\n", "max_connections",
		  NULL },
		{ "[auth]\ntoken_ttl = -60\n", "token_ttl", NULL },
		/* Booleans, TLS versions, sync modes. */
		{ "[auth]\nallow_register = maybe\n", "allow_register", NULL },
		{ "[auth]\nallow_register =\n", "allow_register", NULL },
		{ "[auth]\nallow_register = 2\n", "allow_register", NULL },
		{ "[tls]\nmin_version = 1.1\n", "min_version", NULL },
		{ "[tls]\nmin_version = 1.0\n", "min_version", NULL },
		{ "[tls]\nmin_version = 1.4\n", "min_version", NULL },
		{ "[tls]\nmin_version = TLSv1.2\n", "min_version", NULL },
		{ "[tls]\nmin_version =\n", "min_version", NULL },
		{ "[tls]\nclient_auth = maybe\n", "client_auth", NULL },
		{ "[tls]\nclient_auth = Required\n", "client_auth", NULL },
		/* Settings that need client_ca. */
		{ "[tls]\ncrl = crl.pem\n", "crl", "client_ca" },
		{ "[tls]\nclient_auth = required\n", "client_auth",
		  "client_ca" },
		{ "[tls]\nclient_ca = ca.crt\nclient_ca =\ncrl = crl.pem\n",
		  "crl", NULL },
		{ "[storage]\nsync = fast\n", "sync", NULL },
		{ "[storage]\nsync = off\n", "sync", NULL },
		{ "[storage]\nsync =\n", "sync", NULL },
		/* The server name is one word. */
		{ "[server]\nname =\n", "name", NULL },
		{ "[server]\nname = two words\n", "name", NULL },
		/* Lines that are not INI at all. */
		{ "[server]\nname = x\nthis is not ini\n", ":3:", "syntax" },
		{ "[server]\nname = x\n[limits\n", ":3:", "syntax" },
		{ "[server]\nname\n", ":2:", "syntax" },
	};
	struct fx *fx = *state;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct errcase *t = &cases[i];

		if (load(fx, t->text) != -1)
			fail_msg("accepted:\n%s", t->text);
		assert_non_null(memchr(fx->err, '\0', sizeof(fx->err)));
		/* One line, naming the file. */
		assert_null(strchr(fx->err, '\n'));
		if (strstr(fx->err, fx->conf) == NULL)
			fail_msg("no file name in \"%s\"", fx->err);
		if (strstr(fx->err, t->needle) == NULL ||
		    (t->needle2 != NULL && strstr(fx->err, t->needle2) == NULL))
			fail_msg("message \"%s\" for\n%s lacks \"%s\"%s%s",
			    fx->err, t->text, t->needle,
			    t->needle2 ? " or " : "",
			    t->needle2 ? t->needle2 : "");
	}
}

/* The first mistake is the one reported. */
static void
test_first_error_wins(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(load(fx,
	    "[limits]\nidle_timeout = 0\nmax_connections = -1\n[x]\ny = 1\n"),
	    -1);
	assert_non_null(strstr(fx->err, "idle_timeout"));
	assert_null(strstr(fx->err, "max_connections"));
}

static void
test_missing_file(void **state)
{
	struct fx *fx = *state;
	char path[PATH_MAX + 32];

	snprintf(path, sizeof(path), "%s/no-such.conf", fx->dir);
	assert_int_equal(config_load(&fx->c, path, fx->err,
	    sizeof(fx->err)), -1);
	assert_non_null(strstr(fx->err, "no-such.conf"));
}

/*
 * A folder given as the config file is refused, not read as an empty file
 * that leaves every default in place (fopen succeeds on a folder; only the
 * read fails).
 */
static void
test_directory_refused(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(config_load(&fx->c, fx->dir, fx->err,
	    sizeof(fx->err)), -1);
	assert_true(strlen(fx->err) > 0);
}

/* A small error buffer is filled, terminated and never overrun. */
static void
test_small_err_buffer(void **state)
{
	struct fx *fx = *state;
	char err[24];
	size_t cap;

	write_file(fx->conf, "[limits]\nmax_line_bytes = 10\n");
	for (cap = 1; cap <= 16; cap++) {
		memset(err, 'Z', sizeof(err));
		assert_int_equal(config_load(&fx->c, fx->conf, err, cap), -1);
		assert_int_equal(strlen(err), cap - 1);
		assert_int_equal(err[cap], 'Z');
	}
}

/* A long line is never cut silently into a shorter value. */
static void
test_long_line(void **state)
{
	struct fx *fx = *state;
	char text[1024], path[600];
	int r;

	memset(path, 'a', sizeof(path) - 1);
	path[0] = '/';
	path[sizeof(path) - 1] = '\0';
	snprintf(text, sizeof(text), "[storage]\ndatabase = %s\n", path);
	r = load(fx, text);
	if (r == 0)
		assert_string_equal(fx->c.database, path);
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_defaults),
		T(test_empty_file),
		T(test_full_file),
		T(test_relative_paths),
		T(test_client_ca_empty),
		T(test_empty_paths_refused),
		T(test_inline_comments),
		T(test_edges_accepted),
		T(test_errors),
		T(test_first_error_wins),
		T(test_missing_file),
		T(test_directory_refused),
		T(test_small_err_buffer),
		T(test_long_line),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
