/*
 * hist: a log-linear latency histogram.
 *
 * Values below 256 ns have their own bucket; above, each power of two is
 * split into 128 equal buckets, so a percentile read back is within 0.8 %
 * of the true value. Adding is a few instructions and never allocates,
 * which keeps the receive path of a 700k-lines/s run cheap.
 */
#include <math.h>
#include <string.h>

#include "bench.h"

void
hist_init(struct hist *h)
{
	memset(h, 0, sizeof(*h));
	h->min = UINT64_MAX;
}

static unsigned
bucket_of(uint64_t v)
{
	unsigned e, shift;

	if (v < 256)
		return (unsigned)v;
	e = 63u - (unsigned)__builtin_clzll(v);          /* 8..63 */
	shift = e - 7;
	return 256 + (e - 8) * 128 + (unsigned)((v >> shift) - 128);
}

/* The largest value that falls into bucket i. */
static uint64_t
bucket_top(unsigned i)
{
	unsigned e, shift;
	uint64_t m;

	if (i < 256)
		return i;
	e = (i - 256) / 128 + 8;
	m = (i - 256) % 128 + 128;
	shift = e - 7;
	return ((m + 1) << shift) - 1;
}

void
hist_add(struct hist *h, uint64_t ns)
{
	h->b[bucket_of(ns)]++;
	h->count++;
	h->sum += (long double)ns;
	if (ns > h->max)
		h->max = ns;
	if (ns < h->min)
		h->min = ns;
}

uint64_t
hist_pct(const struct hist *h, double p)
{
	uint64_t rank, seen = 0;
	unsigned i;

	if (h->count == 0)
		return 0;
	if (p >= 100.0)
		return h->max;
	rank = (uint64_t)ceil(p / 100.0 * (double)h->count);
	if (rank == 0)
		rank = 1;
	for (i = 0; i < HIST_BUCKETS; i++) {
		seen += h->b[i];
		if (seen >= rank) {
			uint64_t top = bucket_top(i);

			return top < h->max ? top : h->max;
		}
	}
	return h->max;
}
