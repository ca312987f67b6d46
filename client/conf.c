/*
 * conf: read client.conf with inih.
 *
 * Only seven keys exist, all strings; checking what they mean (a port
 * number, a user name, readable files) is left to main.c, which does the
 * same checks for flags and environment variables; conf_token() reads
 * the one boolean. Paths are resolved
 * here: "~/" against $HOME, anything else relative against the folder of
 * the file, so the file works wherever the client is started from.
 */
#include "conf.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ini.h>

#include "session.h"

struct parse_ctx {
	struct conf *c;
	const char *path;
	char dir[PATH_MAX];
	bool failed;
};

/* A path value made usable from any working directory; malloc'd. */
static char *
resolve(const struct parse_ctx *p, const char *v)
{
	const char *home = getenv("HOME");
	char buf[PATH_MAX];
	int n;

	if (v[0] == '~' && v[1] == '/' && home != NULL && home[0] != '\0')
		n = snprintf(buf, sizeof(buf), "%s/%s", home, v + 2);
	else if (v[0] != '/')
		n = snprintf(buf, sizeof(buf), "%s/%s", p->dir, v);
	else
		n = snprintf(buf, sizeof(buf), "%s", v);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return NULL;
	return strdup(buf);
}

static int
on_entry(void *user, const char *section, const char *name, const char *value)
{
	struct parse_ctx *p = user;
	struct {
		const char *name;
		char **field;
		bool is_path;
	} keys[] = {
		{ "host", &p->c->host, false },
		{ "port", &p->c->port, false },
		{ "cafile", &p->c->cafile, true },
		{ "user", &p->c->user, false },
		{ "cert", &p->c->cert, true },
		{ "key", &p->c->key, true },
		{ "token", &p->c->token, false },
	};
	size_t i;
	char *v;

	if (p->failed)
		return 0;
	if (section[0] != '\0' && strcmp(section, "client") != 0) {
		session_errorf("%s: unknown section [%s] (keys go before any "
		    "section or under [client])", p->path, section);
		p->failed = true;
		return 0;
	}
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (strcmp(keys[i].name, name) != 0)
			continue;
		if (value[0] == '\0') {
			v = NULL;
		} else {
			v = keys[i].is_path ? resolve(p, value) : strdup(value);
			if (v == NULL) {
				session_errorf("%s: %s: out of memory or path "
				    "too long", p->path, name);
				p->failed = true;
				return 0;
			}
		}
		free(*keys[i].field);
		*keys[i].field = v;
		return 1;
	}
	session_errorf("%s: unknown key '%s' (known: host, port, cafile, "
	    "user, cert, key, token)", p->path, name);
	p->failed = true;
	return 0;
}

int
conf_load(const char *path, bool must_exist, struct conf *c)
{
	struct parse_ctx p;
	char *slash;
	FILE *f;
	int r;

	memset(&p, 0, sizeof(p));
	p.c = c;
	p.path = path;
	if (strlen(path) >= sizeof(p.dir)) {
		session_errorf("%s: path too long", path);
		return -1;
	}
	snprintf(p.dir, sizeof(p.dir), "%s", path);
	slash = strrchr(p.dir, '/');
	if (slash == NULL)
		snprintf(p.dir, sizeof(p.dir), ".");
	else if (slash == p.dir)
		slash[1] = '\0';
	else
		*slash = '\0';

	f = fopen(path, "r");
	if (f == NULL) {
		if (errno == ENOENT && !must_exist)
			return 0;
		session_errorf("cannot read %s: %s", path, strerror(errno));
		return -1;
	}
	r = ini_parse_file(f, on_entry, &p);
	fclose(f);
	if (p.failed)
		return -1;
	if (r != 0) {
		session_errorf("%s:%d: syntax error", path, r);
		return -1;
	}
	return 0;
}

int
conf_token(const struct conf *c, const char *path)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };
	size_t i;

	if (c->token == NULL)
		return 1;
	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(c->token, yes[i]) == 0)
			return 1;
		if (strcasecmp(c->token, no[i]) == 0)
			return 0;
	}
	session_errorf("%s: token must be true or false", path);
	return -1;
}

void
conf_free(struct conf *c)
{
	free(c->host);
	free(c->port);
	free(c->cafile);
	free(c->user);
	free(c->cert);
	free(c->key);
	free(c->token);
	memset(c, 0, sizeof(*c));
}

const char *
conf_default_path(char *buf, size_t cap)
{
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	int n;

	/* The XDG spec: a relative XDG_CONFIG_HOME is invalid; ignore it. */
	if (xdg != NULL && xdg[0] == '/')
		n = snprintf(buf, cap, "%s/parley/client.conf", xdg);
	else if (home != NULL && home[0] != '\0')
		n = snprintf(buf, cap, "%s/.config/parley/client.conf", home);
	else
		return NULL;
	if (n < 0 || (size_t)n >= cap)
		return NULL;
	return buf;
}
