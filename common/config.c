/*
 * config: SPEC §5 configuration, parsed with inih.
 *
 * A table maps each section.key to a parser and a field, so the set of
 * known keys, their ranges and their defaults are visible in one place.
 * Paths are stored resolved against the config file's folder.
 */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <ini.h>
#include <limits.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "parley_limits.h"

enum kind { K_STR, K_PATH, K_BOOL, K_UINT, K_TLSVER, K_SYNC, K_CLIENTAUTH };

struct key {
	const char *section;
	const char *name;
	enum kind kind;
	size_t off;             /* offsetof(struct config, field) */
	size_t size;            /* for strings: the field's size */
	unsigned long long min, max;
	int width;              /* for integers: sizeof the field */
};

#define STR(s, k, f)  { s, k, K_STR, offsetof(struct config, f), \
	sizeof(((struct config *)0)->f), 0, 0, 0 }
#define PATHK(s, k, f) { s, k, K_PATH, offsetof(struct config, f), \
	sizeof(((struct config *)0)->f), 0, 0, 0 }
#define BOOLK(s, k, f) { s, k, K_BOOL, offsetof(struct config, f), 0, 0, 0, 0 }
#define UINT(s, k, f, lo, hi) { s, k, K_UINT, offsetof(struct config, f), 0, \
	lo, hi, (int)sizeof(((struct config *)0)->f) }

static const struct key keys[] = {
	STR("server", "name", name),
	STR("server", "listen", listen),
	PATHK("tls", "certificate", certificate),
	PATHK("tls", "private_key", private_key),
	PATHK("tls", "client_ca", client_ca),
	PATHK("tls", "crl", crl),
	{ "tls", "client_auth", K_CLIENTAUTH,
	  offsetof(struct config, client_auth), 0, 0, 0, 0 },
	{ "tls", "min_version", K_TLSVER, offsetof(struct config, min_version),
	  0, 0, 0, 0 },
	PATHK("storage", "database", database),
	{ "storage", "sync", K_SYNC, offsetof(struct config, sync_full),
	  0, 0, 0, 0 },
	BOOLK("auth", "allow_register", allow_register),
	/* libsodium's argon2id bounds: ops >= 1, mem >= 8 KiB. */
	UINT("auth", "pwhash_ops", pwhash_ops, 1, 64),
	UINT("auth", "pwhash_mem_kib", pwhash_mem_kib, 8, 4UL * 1024 * 1024),
	UINT("auth", "max_failed_logins", max_failed_logins, 1, 1000),
	UINT("auth", "min_password_length", min_password_length, 8,
	    PASSWORD_MAX_CODEPOINTS),
	UINT("auth", "max_concurrent_hashes", max_concurrent_hashes, 1, 256),
	UINT("auth", "token_ttl", token_ttl, 60, 10UL * 365 * 86400),
	UINT("limits", "max_connections", max_connections, 1, 1000000),
	UINT("limits", "max_connections_per_ip", max_connections_per_ip, 1,
	    1000000),
	UINT("limits", "max_line_bytes", max_line_bytes, LINE_MAX_MIN,
	    LINE_MAX_MAX),
	UINT("limits", "max_output_bytes", max_output_bytes, 16 * 1024,
	    1024UL * 1024 * 1024),
	UINT("limits", "handshake_timeout", handshake_timeout, 1, 3600),
	UINT("limits", "login_timeout", login_timeout, 1, 86400),
	UINT("limits", "idle_timeout", idle_timeout, 1, 7 * 86400),
	UINT("limits", "messages_per_second", messages_per_second, 1, 1000000),
};

void
config_defaults(struct config *c)
{
	memset(c, 0, sizeof(*c));
	if (getcwd(c->dir, sizeof(c->dir)) == NULL)
		strcpy(c->dir, ".");
	snprintf(c->name, sizeof(c->name), "localhost");
	snprintf(c->listen, sizeof(c->listen), "127.0.0.1:%d",
	    PARLEY_DEFAULT_PORT);
	(void)config_resolve(c->dir, "server.crt", c->certificate);
	(void)config_resolve(c->dir, "server.key", c->private_key);
	c->client_auth = CONFIG_CLIENT_AUTH_OPTIONAL;
	c->min_version = TLS1_2_VERSION;
	(void)config_resolve(c->dir, "parley.db", c->database);
	c->sync_full = false;
	c->allow_register = false;
	c->pwhash_ops = 2;
	c->pwhash_mem_kib = 65536;
	c->max_failed_logins = 5;
	c->min_password_length = PASSWORD_MIN_DEFAULT;
	c->max_concurrent_hashes = 2;
	c->token_ttl = 2592000;
	c->max_connections = 10000;
	c->max_connections_per_ip = 256;
	c->max_line_bytes = LINE_MAX_DEFAULT;
	c->max_output_bytes = OUTPUT_MAX_DEFAULT;
	c->handshake_timeout = 10;
	c->login_timeout = 60;
	c->idle_timeout = 300;
	c->messages_per_second = 50;
}

int
config_resolve(const char *dir, const char *p, char out[PATH_MAX])
{
	int n;

	if (p[0] == '/' || p[0] == '\0')
		n = snprintf(out, PATH_MAX, "%s", p);
	else
		n = snprintf(out, PATH_MAX, "%s/%s", dir, p);
	return (n < 0 || n >= PATH_MAX) ? -1 : 0;
}

struct parse_ctx {
	struct config *c;
	char *err;
	size_t errlen;
	bool failed;
};

static int
parse_uint(const char *v, unsigned long long *out)
{
	char *end;

	if (*v == '\0' || *v == '-' || *v == '+')
		return -1;
	errno = 0;
	*out = strtoull(v, &end, 10);
	return (errno != 0 || *end != '\0') ? -1 : 0;
}

static int
parse_bool(const char *v, bool *out)
{
	if (!strcasecmp(v, "true") || !strcasecmp(v, "yes") ||
	    !strcasecmp(v, "on") || !strcmp(v, "1"))
		*out = true;
	else if (!strcasecmp(v, "false") || !strcasecmp(v, "no") ||
	    !strcasecmp(v, "off") || !strcmp(v, "0"))
		*out = false;
	else
		return -1;
	return 0;
}

/* Set one key; returns NULL or a static reason. */
static const char *
set_key(struct config *c, const struct key *k, const char *v)
{
	char *field = (char *)c + k->off;
	unsigned long long u;

	switch (k->kind) {
	case K_STR:
		if (strlen(v) >= k->size)
			return "value too long";
		memcpy(field, v, strlen(v) + 1);
		return NULL;
	case K_PATH:
		if (v[0] == '\0') {
			/* Only optional files may be switched off by "". */
			if (field != c->client_ca && field != c->crl)
				return "a path is required";
			field[0] = '\0';
			return NULL;
		}
		return config_resolve(c->dir, v, field) ? "path too long" : NULL;
	case K_BOOL:
		return parse_bool(v, (bool *)(void *)field) ?
		    "expected true or false" : NULL;
	case K_TLSVER:
		if (!strcmp(v, "1.2"))
			c->min_version = TLS1_2_VERSION;
		else if (!strcmp(v, "1.3"))
			c->min_version = TLS1_3_VERSION;
		else
			return "expected 1.2 or 1.3";
		return NULL;
	case K_CLIENTAUTH:
		if (!strcmp(v, "optional"))
			c->client_auth = CONFIG_CLIENT_AUTH_OPTIONAL;
		else if (!strcmp(v, "required"))
			c->client_auth = CONFIG_CLIENT_AUTH_REQUIRED;
		else
			return "expected optional or required";
		return NULL;
	case K_SYNC:
		if (!strcmp(v, "normal"))
			c->sync_full = false;
		else if (!strcmp(v, "full"))
			c->sync_full = true;
		else
			return "expected normal or full";
		return NULL;
	case K_UINT:
		if (parse_uint(v, &u))
			return "expected a non-negative integer";
		if (u < k->min || u > k->max)
			return "value out of range";
		if (k->width == sizeof(unsigned))
			*(unsigned *)(void *)field = (unsigned)u;
		else if (k->width == sizeof(unsigned long))
			*(unsigned long *)(void *)field = (unsigned long)u;
		else
			*(unsigned long long *)(void *)field = u;
		return NULL;
	}
	return "unsupported key";
}

static int
on_entry(void *user, const char *section, const char *name, const char *value)
{
	struct parse_ctx *p = user;
	const char *why = "unknown key";
	size_t i;

	if (p->failed)
		return 0;
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (strcmp(keys[i].section, section) != 0 ||
		    strcmp(keys[i].name, name) != 0)
			continue;
		why = set_key(p->c, &keys[i], value);
		if (why == NULL)
			return 1;
		break;
	}
	snprintf(p->err, p->errlen, "%s: [%s] %s = %s: %s", p->c->path,
	    section, name, value, why);
	p->failed = true;
	return 0;
}

int
config_load(struct config *c, const char *path, char *err, size_t errlen)
{
	struct parse_ctx p = { c, err, errlen, false };
	struct stat st;
	char *real, *slash;
	FILE *f;
	int r;

	config_defaults(c);
	real = realpath(path, NULL);
	if (real == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (strlen(real) >= sizeof(c->path)) {
		snprintf(err, errlen, "%s: path too long", path);
		free(real);
		return -1;
	}
	strcpy(c->path, real);
	free(real);
	strcpy(c->dir, c->path);
	slash = strrchr(c->dir, '/');
	if (slash == c->dir)
		slash[1] = '\0';
	else if (slash != NULL)
		*slash = '\0';
	/* Defaults are relative to the config's folder too. */
	(void)config_resolve(c->dir, "server.crt", c->certificate);
	(void)config_resolve(c->dir, "server.key", c->private_key);
	(void)config_resolve(c->dir, "parley.db", c->database);

	f = fopen(c->path, "r");
	if (f == NULL) {
		snprintf(err, errlen, "%s: %s", c->path, strerror(errno));
		return -1;
	}
	/* A folder opens fine and reads as nothing: refuse it by name. */
	if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", c->path);
		fclose(f);
		return -1;
	}
	r = ini_parse_file(f, on_entry, &p);
	if (ferror(f) && !p.failed && r == 0) {
		snprintf(err, errlen, "%s: read error", c->path);
		fclose(f);
		return -1;
	}
	fclose(f);
	if (p.failed)
		return -1;
	if (r != 0) {
		snprintf(err, errlen, "%s:%d: syntax error", c->path, r);
		return -1;
	}
	if (c->name[0] == '\0' || strchr(c->name, ' ') != NULL) {
		snprintf(err, errlen, "%s: [server] name must be one word",
		    c->path);
		return -1;
	}
	/* Settings that mean nothing alone are mistakes, not no-ops. */
	if (c->client_ca[0] == '\0' && c->crl[0] != '\0') {
		snprintf(err, errlen, "%s: [tls] crl is set but client_ca is "
		    "not; a CRL applies to client certificates", c->path);
		return -1;
	}
	if (c->client_ca[0] == '\0' &&
	    c->client_auth == CONFIG_CLIENT_AUTH_REQUIRED) {
		snprintf(err, errlen, "%s: [tls] client_auth = required needs "
		    "client_ca", c->path);
		return -1;
	}
	return 0;
}
