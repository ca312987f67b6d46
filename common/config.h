/*
 * config: parleyd's INI configuration (SPEC §5), parsed with inih.
 *
 * Unknown sections or keys and out-of-range values are errors, so a typo
 * never silently leaves a default in place. Relative paths are resolved
 * against the folder of the config file.
 */
#ifndef PARLEY_CONFIG_H
#define PARLEY_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#define CONFIG_NAME_MAX   255
#define CONFIG_LISTEN_MAX 1024

/* [tls] client_auth: whether a client certificate is asked for or required. */
enum config_client_auth {
	CONFIG_CLIENT_AUTH_OPTIONAL,    /* password login still works */
	CONFIG_CLIENT_AUTH_REQUIRED,    /* no verified certificate, no handshake */
};

struct config {
	char path[PATH_MAX];            /* the file loaded, "" for defaults */
	char dir[PATH_MAX];             /* its folder, base for relative paths */

	/* [server] */
	char name[CONFIG_NAME_MAX + 1];
	char listen[CONFIG_LISTEN_MAX + 1];

	/* [tls] */
	char certificate[PATH_MAX];
	char private_key[PATH_MAX];
	char client_ca[PATH_MAX];       /* "" when unset */
	char crl[PATH_MAX];             /* "" when unset; needs client_ca */
	enum config_client_auth client_auth;
	int min_version;                /* TLS1_2_VERSION or TLS1_3_VERSION */

	/* [storage] */
	char database[PATH_MAX];
	bool sync_full;

	/* [auth] */
	bool allow_register;
	unsigned long long pwhash_ops;
	unsigned long pwhash_mem_kib;
	unsigned max_failed_logins;
	unsigned min_password_length;
	unsigned max_concurrent_hashes;
	unsigned long token_ttl;

	/* [limits] */
	unsigned max_connections;
	unsigned max_connections_per_ip;
	unsigned long max_line_bytes;
	unsigned long max_output_bytes;
	unsigned handshake_timeout;
	unsigned login_timeout;
	unsigned idle_timeout;
	unsigned messages_per_second;
};

/* Fill in every default of SPEC §5 (paths relative to the current folder). */
void config_defaults(struct config *c);

/*
 * Load path over the defaults. Returns 0, or -1 with a one-line reason
 * ("file: [section] key = value: why") in err. Besides each value, the
 * combinations are checked: [tls] crl and client_auth = required need
 * client_ca.
 */
int config_load(struct config *c, const char *path, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/*
 * Resolve p against dir unless it is absolute; out has PATH_MAX bytes.
 * Returns 0 or -1 when the result does not fit.
 */
int config_resolve(const char *dir, const char *p, char out[PATH_MAX]);

#endif
