/*
 * server: the state parleyd shares between its modules on the loop thread.
 *
 * One process, one event loop. Everything here is touched only from the
 * loop thread; the storage thread and hash workers talk to the loop through
 * their job queues (storage.h, auth.h).
 */
#ifndef PARLEY_SERVER_H
#define PARLEY_SERVER_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>
#include <openssl/ssl.h>

#include "config.h"
#include "pwhash.h"

struct stats {
	uint64_t conns_total;
	uint64_t msgs_routed;           /* MSG lines queued to sessions */
	uint64_t msgs_stored;
	uint64_t logins_ok;
	uint64_t logins_failed;
	uint64_t bytes_in;
	uint64_t bytes_out;
};

struct server {
	uv_loop_t *loop;
	struct config cfg;
	SSL_CTX *ssl_ctx;               /* for new connections; swapped on reload */
	struct pwhash_params pw;
	char dummy_hash[PWHASH_STR_BYTES];
	uint64_t started_ms;
	bool shutting_down;
	struct stats stats;
};

extern struct server srv;

#endif
