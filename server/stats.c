/*
 * stats: one list of counters for every place that reports them.
 */
#include "stats.h"

#include "auth.h"
#include "clock.h"
#include "conn.h"
#include "route.h"
#include "server.h"
#include "storage.h"
#include "throttle.h"

size_t
stats_collect(struct stat_line out[STATS_MAX], const struct store_counts *sc)
{
	size_t n = 0;

#define ADD(k, v) do { out[n].name = (k); \
	out[n].value = (unsigned long long)(v); n++; } while (0)
	ADD("connections", conn_count());
	ADD("sessions", route_sessions());
	ADD("users_online", route_users_online());
	if (sc != NULL) {
		ADD("users", sc->users);
		ADD("rooms", sc->rooms);
		ADD("messages_total", sc->last_msg_id);
	}
	ADD("rooms_active", route_rooms_online());
	ADD("messages_routed", srv.stats.msgs_routed);
	ADD("messages_stored", srv.stats.msgs_stored);
	ADD("logins_ok", srv.stats.logins_ok);
	ADD("logins_failed", srv.stats.logins_failed);
	ADD("hash_queue", auth_queue_depth());
	ADD("store_queue", storage_pending());
	ADD("throttle_records", throttle_records());
	ADD("bytes_in", srv.stats.bytes_in);
	ADD("bytes_out", srv.stats.bytes_out);
	ADD("connections_total", srv.stats.conns_total);
	ADD("uptime", (clock_now_ms() - (int64_t)srv.started_ms) / 1000);
#undef ADD
	return n;
}
