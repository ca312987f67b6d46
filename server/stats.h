/*
 * stats: the server's counters as name/value pairs, shared by the STATS
 * command and the control socket.
 */
#ifndef PARLEY_STATS_H
#define PARLEY_STATS_H

#include <stddef.h>

#include "store.h"

struct stat_line {
	const char *name;
	unsigned long long value;
};

#define STATS_MAX 24

/*
 * Fill out[] (STATS_MAX entries) with the current counters; sc may be
 * NULL when store counts are not at hand. Returns the number filled.
 */
size_t stats_collect(struct stat_line out[STATS_MAX],
    const struct store_counts *sc);

#endif
