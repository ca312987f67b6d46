/*
 * cli_keys: the commands about end-to-end keys and the login token.
 *
 *   parley keygen [--force]     make (or keep) the key pair, publish it
 *   parley fingerprint [USER]   your key's fingerprint, or USER's
 *   parley trust USER           accept USER's changed key
 *   parley logout               remove the stored login token
 *
 * keygen writes the key file before it publishes the public key, so a
 * failed SETKEY is mended by running keygen again (it publishes the key
 * it finds). fingerprint of your own key and logout work offline. The
 * key files and the trust rules are keys.c's; the token file token.c's.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "files.h"
#include "keys.h"
#include "names.h"
#include "token.h"

/* fingerprint and trust say what changed themselves. */
static void
quiet(void *arg, bool warning, const char *msg)
{
	(void)arg;
	(void)warning;
	(void)msg;
}

/* A user name argument, normalised into out. */
static int
user_arg(const char *cmd, const char *arg, char out[NAMES_USER_MAX + 1])
{
	if (names_user_norm(arg, strlen(arg), out) != 0)
		return cli_usage_err(cmd, "expected a user name");
	return SESSION_EXIT_OK;
}

int
cli_keygen(const struct session_opts *o, int argc, char **argv)
{
	char b64[KEYS_B64_LEN], fp[E2E_FP_LEN], cmd[KEYS_B64_LEN + 8];
	char *line;
	struct session *s;
	struct keys *k;
	bool force = false, created = false;
	size_t len;
	int i, r, rc;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--force") == 0)
			force = true;
		else
			return cli_usage_err("keygen", "usage: keygen "
			    "[--force]");
	}
	k = keys_new(o, NULL, NULL);
	if (k == NULL)
		return SESSION_EXIT_USAGE;
	r = keys_own_load(k);
	if (r == -1 && !force) {
		session_errorf("keygen: --force replaces the unusable key "
		    "pair (messages encrypted to it can no longer be read)");
		rc = SESSION_EXIT_USAGE;
		goto out;
	}
	if (r != 0 || force) {
		if (keys_own_create(k) != 0) {
			rc = SESSION_EXIT_USAGE;
			goto out;
		}
		created = true;
	}
	keys_own_public(k, b64);
	keys_own_fingerprint(k, fp);
	if (created)
		printf("created a new key pair for %s\n", keys_account(k));
	else
		printf("using the existing key pair for %s (keygen --force "
		    "makes a new one)\n", keys_account(k));
	fflush(stdout);

	rc = cli_start(o, &s);
	if (rc != SESSION_EXIT_OK)
		goto out;
	snprintf(cmd, sizeof(cmd), "SETKEY %s", b64);
	rc = session_send(s, cmd, strlen(cmd));
	if (rc == SESSION_EXIT_OK)
		rc = session_await(s, NULL, NULL, &line, &len);
	if (rc == SESSION_EXIT_OK && !proto_keyword_is(line, len, "OK")) {
		proto_report_err("publishing the public key failed", line,
		    len);
		rc = SESSION_EXIT_REFUSED;
	}
	if (rc == SESSION_EXIT_OK)
		printf("public key published; fingerprint: %s\n", fp);
	rc = cli_finish(s, rc);
out:
	keys_free(k);
	return rc;
}

/* Your own key, from the file: no connection needed. */
static int
own_fingerprint(const struct session_opts *o)
{
	char fp[E2E_FP_LEN];
	struct keys *k;
	int r, rc = SESSION_EXIT_USAGE;

	k = keys_new(o, NULL, NULL);
	if (k == NULL)
		return SESSION_EXIT_USAGE;
	r = keys_own_load(k);
	if (r == 0) {
		keys_own_fingerprint(k, fp);
		printf("%s %s\n", o->user, fp);
		rc = cli_output_done();
	} else if (r == 1) {
		session_errorf("no key pair for %s: make one with parley "
		    "keygen", keys_account(k));
	}
	keys_free(k);
	return rc;
}

/*
 * Connect and fetch peer's key into k (recorded on first use). Returns an
 * exit code; *s is the open session on success.
 */
static int
fetch_peer(const struct session_opts *o, struct keys *k, const char *peer,
    struct session **s, struct keys_peer_info *info)
{
	int rc;

	rc = cli_start(o, s);
	if (rc != SESSION_EXIT_OK)
		return rc;
	rc = keys_fetch(k, *s, peer);
	if (rc != SESSION_EXIT_OK)
		return rc;
	keys_peer_info(k, peer, info);
	if (!info->have_server) {
		session_errorf("%s", info->why);
		return SESSION_EXIT_REFUSED;
	}
	return SESSION_EXIT_OK;
}

int
cli_fingerprint(const struct session_opts *o, int argc, char **argv)
{
	char peer[NAMES_USER_MAX + 1];
	struct keys_peer_info info;
	struct session *s = NULL;
	struct keys *k;
	int rc;

	if (argc > 2)
		return cli_usage_err("fingerprint", "usage: fingerprint "
		    "[USER]");
	if (argc == 1)
		return own_fingerprint(o);
	if ((rc = user_arg("fingerprint", argv[1], peer)) != SESSION_EXIT_OK)
		return rc;
	if (strcmp(peer, o->user) == 0)
		return own_fingerprint(o);
	k = keys_new(o, quiet, NULL);
	if (k == NULL)
		return SESSION_EXIT_USAGE;
	rc = fetch_peer(o, k, peer, &s, &info);
	if (rc == SESSION_EXIT_OK) {
		if (info.changed) {
			printf("%s %s (CHANGED: the trusted key is %s; "
			    "parley trust %s accepts the new one)\n", peer,
			    info.server_fp, info.known_fp, peer);
			rc = SESSION_EXIT_KEY_CHANGED;
		} else if (info.first_use) {
			printf("%s %s (seen for the first time: trusted "
			    "from now on)\n", peer, info.server_fp);
		} else {
			printf("%s %s (trusted)\n", peer, info.server_fp);
		}
	}
	if (s != NULL)
		rc = cli_finish(s, rc);
	keys_free(k);
	return rc;
}

int
cli_trust(const struct session_opts *o, int argc, char **argv)
{
	char peer[NAMES_USER_MAX + 1];
	struct keys_peer_info info;
	struct session *s = NULL;
	struct keys *k;
	int rc;

	if (argc != 2)
		return cli_usage_err("trust", "usage: trust USER");
	if ((rc = user_arg("trust", argv[1], peer)) != SESSION_EXIT_OK)
		return rc;
	if (strcmp(peer, o->user) == 0)
		return cli_usage_err("trust", "that is you: your own key needs "
		    "no trust");
	k = keys_new(o, quiet, NULL);
	if (k == NULL)
		return SESSION_EXIT_USAGE;
	rc = fetch_peer(o, k, peer, &s, &info);
	if (rc == SESSION_EXIT_OK && info.changed) {
		if (keys_trust(k, peer) != 0) {
			rc = SESSION_EXIT_USAGE;
		} else {
			printf("the new key of %s is trusted now: %s\n"
			    "(it replaces %s)\n", peer, info.server_fp,
			    info.known_fp);
		}
	} else if (rc == SESSION_EXIT_OK) {
		printf("the key of %s is trusted%s: %s\n", peer,
		    info.first_use ? " (seen for the first time)" :
		    " already", info.server_fp);
	}
	if (s != NULL)
		rc = cli_finish(s, rc);
	keys_free(k);
	return rc;
}

int
cli_logout(const struct session_opts *o, int argc, char **argv)
{
	char account[FILES_ACCOUNT_MAX];
	int r;

	(void)argv;
	if (argc != 1)
		return cli_usage_err("logout", "usage: logout");
	if (files_account(o->user, o->host, o->port, account,
	    sizeof(account)) != 0) {
		session_errorf("server name too long");
		return SESSION_EXIT_USAGE;
	}
	r = token_remove(account);
	if (r < 0)
		return SESSION_EXIT_USAGE;
	if (r == 0)
		printf("removed the login token for %s\n", account);
	else
		printf("no login token stored for %s\n", account);
	return cli_output_done();
}
