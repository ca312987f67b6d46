/*
 * listener: the listening sockets and the admission of new connections
 * (global and per-address caps).
 */
#ifndef PARLEY_LISTENER_H
#define PARLEY_LISTENER_H

#include <sys/socket.h>
#include <uv.h>

struct listener_slot;

/*
 * Start accepting. With sockets from the service manager (LISTEN_FDS and
 * LISTEN_PID naming this process) those are used and list is ignored;
 * otherwise bind and listen on every address of the comma-separated list
 * (SPEC §5 server.listen: "127.0.0.1:7667,[::1]:7667"). Either way logs
 * "listening on ADDR" for each. Returns 0, or -1 after logging why.
 */
int listener_start(uv_loop_t *loop, const char *list)
	__attribute__((warn_unused_result));

/* "ADDR, ADDR" of the listening sockets, for status lines. */
const char *listener_names(void);

/* Stop accepting (shutdown). */
void listener_stop(void);

/*
 * Admit a connection from addr: NULL when a cap is reached (the caller
 * closes it at once), else a slot to give back with listener_release().
 */
struct listener_slot *listener_admit(const struct sockaddr *addr);
void listener_release(struct listener_slot *slot);

/*
 * The 16-byte key that stands for a peer in per-address limits: the IPv4
 * address, or the /64 prefix of an IPv6 address (one host owns a /64).
 */
void listener_addr_key(const struct sockaddr *sa, unsigned char key[16]);

/* "1.2.3.4:port" or "[v6]:port" for logs. */
void listener_addr_str(const struct sockaddr_storage *ss, char *out,
    size_t len);

#endif
