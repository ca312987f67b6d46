/*
 * listener: listening sockets, and who may connect.
 *
 * Caps are enforced right after accept, before any TLS work: the total
 * number of connections and the number per source address (per /64 for
 * IPv6, since one host owns a whole /64). A refused connection is closed
 * at once, never queued. When the process runs out of descriptors libuv
 * itself accepts and drops the pending connection (its reserve-fd trick),
 * so the loop does not spin; we log that at most once a second.
 *
 * The listening sockets are either bound here from [server] listen, or
 * inherited from the service manager (socket activation: LISTEN_FDS, see
 * sd_listen_fds(3)). Inherited sockets outlive a restart of parleyd, so
 * connection attempts made meanwhile wait in their backlog, and a port
 * below 1024 needs no privilege in parleyd itself.
 */
#include "listener.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <uthash.h>

#include "conn.h"
#include "log.h"
#include "server.h"

#define LISTENERS_MAX 16
/* Backlog of sockets bound here; inherited ones take the kernel's cap. */
#define LISTEN_BACKLOG 511

struct listener_slot {
	unsigned char key[16];          /* IPv4 or IPv6 /64 */
	unsigned count;
	UT_hash_handle hh;
};

static struct {
	uv_tcp_t tcp[LISTENERS_MAX];
	unsigned n;
	struct listener_slot *byaddr;
	unsigned total;
	uint64_t last_warn;
	bool inherited;
	char names[LISTENERS_MAX * 50];  /* "ADDR, ADDR" for STATUS= */
} ls;

void
listener_addr_key(const struct sockaddr *sa, unsigned char key[16])
{
	memset(key, 0, 16);
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const void *)sa;

		if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr))
			memcpy(key + 12, a->sin6_addr.s6_addr + 12, 4);
		else
			memcpy(key, a->sin6_addr.s6_addr, 8);
	} else {
		const struct sockaddr_in *a = (const void *)sa;

		memcpy(key + 12, &a->sin_addr, 4);
	}
}

struct listener_slot *
listener_admit(const struct sockaddr *addr)
{
	struct listener_slot *s;
	unsigned char key[16];

	if (ls.total >= srv.cfg.max_connections || srv.shutting_down)
		return NULL;
	listener_addr_key(addr, key);
	HASH_FIND(hh, ls.byaddr, key, sizeof(key), s);
	if (s == NULL) {
		s = calloc(1, sizeof(*s));
		if (s == NULL)
			return NULL;
		memcpy(s->key, key, sizeof(key));
		HASH_ADD(hh, ls.byaddr, key, sizeof(s->key), s);
	} else if (s->count >= srv.cfg.max_connections_per_ip) {
		return NULL;
	}
	s->count++;
	ls.total++;
	return s;
}

void
listener_release(struct listener_slot *s)
{
	if (s == NULL)
		return;
	ls.total--;
	if (--s->count == 0) {
		HASH_DEL(ls.byaddr, s);
		free(s);
	}
}

static void
on_connection(uv_stream_t *server, int status)
{
	int r;

	if (status < 0) {
		uint64_t now = uv_now(server->loop);

		if (now - ls.last_warn >= 1000) {
			ls.last_warn = now;
			log_warn("accept: %s", uv_strerror(status));
		}
		return;
	}
	r = conn_accept(server);
	if (r != 0) {
		uint64_t now = uv_now(server->loop);

		if (now - ls.last_warn >= 1000) {
			ls.last_warn = now;
			log_warn("accept: %s", uv_strerror(r));
		}
	}
}

/* Parse "host:port" or "[v6]:port" into a socket address. */
static int
parse_addr(const char *spec, struct sockaddr_storage *ss)
{
	char host[64];
	const char *colon, *port;
	size_t hlen;
	char *end;
	unsigned long p;

	if (spec[0] == '[') {
		const char *close = strchr(spec, ']');

		if (close == NULL || close[1] != ':')
			return -1;
		hlen = (size_t)(close - spec - 1);
		if (hlen >= sizeof(host))
			return -1;
		memcpy(host, spec + 1, hlen);
		host[hlen] = '\0';
		port = close + 2;
	} else {
		colon = strrchr(spec, ':');
		if (colon == NULL)
			return -1;
		hlen = (size_t)(colon - spec);
		if (hlen >= sizeof(host))
			return -1;
		memcpy(host, spec, hlen);
		host[hlen] = '\0';
		port = colon + 1;
	}
	p = strtoul(port, &end, 10);
	if (*port == '\0' || *end != '\0' || p > 65535)
		return -1;
	if (uv_ip4_addr(host, (int)p, (struct sockaddr_in *)ss) == 0)
		return 0;
	if (uv_ip6_addr(host, (int)p, (struct sockaddr_in6 *)ss) == 0)
		return 0;
	return -1;
}

void
listener_addr_str(const struct sockaddr_storage *ss, char *out, size_t len)
{
	char ip[INET6_ADDRSTRLEN] = "?";

	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const void *)ss;

		uv_ip6_name(a, ip, sizeof(ip));
		snprintf(out, len, "[%s]:%u", ip, ntohs(a->sin6_port));
	} else {
		const struct sockaddr_in *a = (const void *)ss;

		uv_ip4_name(a, ip, sizeof(ip));
		snprintf(out, len, "%s:%u", ip, ntohs(a->sin_port));
	}
}

/* Log "listening on ADDR" for t and add ADDR to ls.names. */
static void
announce(uv_tcp_t *t)
{
	struct sockaddr_storage bound;
	int blen = sizeof(bound);
	char name[80];
	size_t used = strlen(ls.names);

	memset(&bound, 0, sizeof(bound));
	if (uv_tcp_getsockname(t, (struct sockaddr *)&bound, &blen) != 0)
		snprintf(name, sizeof(name), "?");
	else
		listener_addr_str(&bound, name, sizeof(name));
	snprintf(ls.names + used, sizeof(ls.names) - used, "%s%s",
	    used > 0 ? ", " : "", name);
	log_info("listening on %s%s", name,
	    ls.inherited ? " (socket from the service manager)" : "");
}

/* Use the n listening sockets passed by the service manager. */
static int
start_inherited(uv_loop_t *loop, int n)
{
	int fd, r;

	ls.inherited = true;
	if (n > LISTENERS_MAX) {
		log_error("listen: %d sockets passed, at most %d supported", n,
		    LISTENERS_MAX);
		return -1;
	}
	for (fd = SD_LISTEN_FDS_START; fd < SD_LISTEN_FDS_START + n; fd++) {
		uv_tcp_t *t = &ls.tcp[ls.n];

		if (sd_is_socket_inet(fd, AF_UNSPEC, SOCK_STREAM, 1, 0) <= 0) {
			log_error("listen: descriptor %d from the service "
			    "manager is not a listening TCP socket", fd);
			return -1;
		}
		uv_tcp_init(loop, t);
		ls.n++;
		r = uv_tcp_open(t, fd);
		if (r == 0)
			r = uv_listen((uv_stream_t *)t, SOMAXCONN,
			    on_connection);
		if (r != 0) {
			log_error("listen on descriptor %d: %s", fd,
			    uv_strerror(r));
			return -1;
		}
		announce(t);
	}
	return 0;
}

int
listener_start(uv_loop_t *loop, const char *list)
{
	char copy[CONFIG_LISTEN_MAX + 1];
	char *save = NULL, *item;
	int n, r;

	/* 1: unset LISTEN_* so that nothing we start inherits them. */
	n = sd_listen_fds(1);
	if (n < 0) {
		log_error("listen: bad LISTEN_FDS from the service manager: %s",
		    strerror(-n));
		return -1;
	}
	if (n > 0) {
		log_info("listen: using %d socket%s from the service manager; "
		    "[server] listen is not used", n, n == 1 ? "" : "s");
		return start_inherited(loop, n);
	}

	snprintf(copy, sizeof(copy), "%s", list);
	for (item = strtok_r(copy, ", ", &save); item != NULL;
	    item = strtok_r(NULL, ", ", &save)) {
		struct sockaddr_storage ss;
		uv_tcp_t *t;

		if (ls.n == LISTENERS_MAX) {
			log_error("listen: at most %d addresses", LISTENERS_MAX);
			return -1;
		}
		memset(&ss, 0, sizeof(ss));
		if (parse_addr(item, &ss) != 0) {
			log_error("listen: bad address '%s' (want host:port "
			    "or [v6]:port)", item);
			return -1;
		}
		t = &ls.tcp[ls.n];
		uv_tcp_init(loop, t);
		ls.n++;
		r = uv_tcp_bind(t, (struct sockaddr *)&ss,
		    ss.ss_family == AF_INET6 ? UV_TCP_IPV6ONLY : 0);
		if (r == 0)
			r = uv_listen((uv_stream_t *)t, LISTEN_BACKLOG,
			    on_connection);
		if (r != 0) {
			log_error("listen on %s: %s", item, uv_strerror(r));
			return -1;
		}
		announce(t);
	}
	if (ls.n == 0) {
		log_error("listen: no address configured");
		return -1;
	}
	return 0;
}

const char *
listener_names(void)
{
	return ls.names;
}

void
listener_stop(void)
{
	unsigned i;

	for (i = 0; i < ls.n; i++)
		if (!uv_is_closing((uv_handle_t *)&ls.tcp[i]))
			uv_close((uv_handle_t *)&ls.tcp[i], NULL);
	ls.n = 0;
}
