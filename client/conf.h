/*
 * conf: the client's defaults file, client.conf (INI, read with inih).
 *
 *   host = chat.example.org
 *   port = 7667
 *   cafile = ca.crt            ; relative paths: from the file's folder
 *   user = alice
 *   cert = ~/.config/parley/alice.crt
 *   key = ~/.config/parley/alice.key
 *   token = false              ; no resume tokens (default true)
 *
 * Keys may stand before any section or under [client]. A password is
 * never read from here. The file is looked for at
 * $XDG_CONFIG_HOME/parley/client.conf, else ~/.config/parley/client.conf;
 * main.c merges it under the PARLEY_* environment and the flags.
 */
#ifndef PARLEY_CLIENT_CONF_H
#define PARLEY_CLIENT_CONF_H

#include <stdbool.h>
#include <stddef.h>

/* Each value is malloc'd, or NULL when the file does not set it. */
struct conf {
	char *host;
	char *port;
	char *cafile;
	char *user;
	char *cert;
	char *key;
	char *token;                    /* "true"/"false" as written */
};

/*
 * Fill c from the file at path. A missing file is fine (c stays empty)
 * unless must_exist. Returns 0, or -1 after reporting the file, line and
 * reason (unknown key or section, syntax error, unreadable file).
 */
int conf_load(const char *path, bool must_exist, struct conf *c)
	__attribute__((warn_unused_result));

/*
 * The token setting: 1 (true, yes, on, 1 or not set), 0 (false, no,
 * off, 0), or -1 for anything else (reported with the file's path).
 */
int conf_token(const struct conf *c, const char *path);

/* Free the values. */
void conf_free(struct conf *c);

/*
 * The default path into buf (cap bytes). Returns buf, or NULL when
 * neither XDG_CONFIG_HOME nor HOME is set or the path does not fit.
 */
const char *conf_default_path(char *buf, size_t cap);

#endif
