/*
 * libFuzzer target for the configuration loader (common/config.c).
 *
 * The input is written to one temporary file in /tmp, made once per
 * process and removed at exit, and loaded with config_load(). It must not
 * crash; a refused file must come with a one-line reason; an accepted one
 * must hold only values that SPEC §5 allows: a one-word server name,
 * absolute paths, a known TLS version and client_auth, no crl or required
 * client certificate without a client_ca, every number in its range.
 */
#include <openssl/ssl.h>
#include <sanitizer/common_interface_defs.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "parley_limits.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char conf_path[] = "/tmp/parley-fuzz-config-XXXXXX";
static int conf_fd = -1;

/* Called at exit, and before dying so a crash leaves no file behind. */
static void
remove_conf(void)
{
	if (conf_fd >= 0) {
		close(conf_fd);
		unlink(conf_path);
		conf_fd = -1;
	}
}

#define CHECK(cond) do { \
	if (!(cond)) { \
		remove_conf(); \
		abort(); \
	} \
} while (0)

static bool
terminated(const char *s, size_t size)
{
	return memchr(s, '\0', size) != NULL;
}

#define TERMINATED(c, f) terminated((c)->f, sizeof((c)->f))

static bool
absolute_or_empty(const char *p, size_t size)
{
	return terminated(p, size) && (p[0] == '/' || p[0] == '\0');
}

#define ABSOLUTE(c, f) absolute_or_empty((c)->f, sizeof((c)->f))

static void
check_config(const struct config *c)
{
	CHECK(TERMINATED(c, path) && TERMINATED(c, dir));
	CHECK(c->path[0] == '/' && c->dir[0] == '/');
	CHECK(TERMINATED(c, name) && TERMINATED(c, listen));
	CHECK(c->name[0] != '\0' && strchr(c->name, ' ') == NULL);
	CHECK(ABSOLUTE(c, certificate) && c->certificate[0] == '/');
	CHECK(ABSOLUTE(c, private_key) && c->private_key[0] == '/');
	CHECK(ABSOLUTE(c, client_ca) && ABSOLUTE(c, crl));
	CHECK(c->client_auth == CONFIG_CLIENT_AUTH_OPTIONAL ||
	    c->client_auth == CONFIG_CLIENT_AUTH_REQUIRED);
	/* A CRL or a required client certificate needs a CA to check. */
	CHECK(c->client_ca[0] != '\0' || (c->crl[0] == '\0' &&
	    c->client_auth == CONFIG_CLIENT_AUTH_OPTIONAL));
	CHECK(ABSOLUTE(c, database) && c->database[0] == '/');
	CHECK(c->min_version == TLS1_2_VERSION ||
	    c->min_version == TLS1_3_VERSION);
	CHECK(c->pwhash_ops >= 1 && c->pwhash_mem_kib >= 8);
	CHECK(c->max_failed_logins >= 1);
	CHECK(c->min_password_length >= 8 &&
	    c->min_password_length <= PASSWORD_MAX_CODEPOINTS);
	CHECK(c->max_concurrent_hashes >= 1);
	CHECK(c->token_ttl >= 60);
	CHECK(c->max_connections >= 1 && c->max_connections_per_ip >= 1);
	CHECK(c->max_line_bytes >= LINE_MAX_MIN &&
	    c->max_line_bytes <= LINE_MAX_MAX);
	CHECK(c->max_output_bytes >= 16 * 1024);
	CHECK(c->handshake_timeout >= 1 && c->login_timeout >= 1 &&
	    c->idle_timeout >= 1 && c->messages_per_second >= 1);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config c;
	char err[512];
	size_t off = 0;

	if (conf_fd < 0) {
		conf_fd = mkstemp(conf_path);
		if (conf_fd < 0)
			abort();
		atexit(remove_conf);
		__sanitizer_set_death_callback(remove_conf);
	}
	CHECK(ftruncate(conf_fd, 0) == 0);
	while (off < size) {
		ssize_t n = pwrite(conf_fd, data + off, size - off, (off_t)off);

		CHECK(n > 0);
		off += (size_t)n;
	}

	memset(err, 'E', sizeof(err));
	if (config_load(&c, conf_path, err, sizeof(err)) == 0) {
		check_config(&c);
	} else {
		CHECK(terminated(err, sizeof(err)) && err[0] != '\0');
		CHECK(strchr(err, '\n') == NULL);
	}
	return 0;
}
