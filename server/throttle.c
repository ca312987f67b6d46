/*
 * throttle: login attempt limits (see throttle.h for the policy).
 *
 * Budgets are token buckets in milli-tokens refilled from the loop clock;
 * delays are absolute "not before" times. Each table is a uthash keyed by
 * fixed-size binary keys and capped: when full, the least recently
 * touched record goes (uthash keeps insertion order and touching moves a
 * record to the end).
 */
#include "throttle.h"

#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#include "parley_limits.h"

#define PAIR_FREE_FAILS    5                    /* = max_failed_logins default */
#define PAIR_DELAY_MAX_MS  (15 * 60 * 1000)
#define KNOWN_GOOD_MS      (30ULL * 24 * 3600 * 1000)
#define ACCOUNT_BURST      10
#define ACCOUNT_PER_HOUR   90
#define ADDR_BURST         30
#define ADDR_PER_HOUR      300
#define RECORDS_MAX        65536                /* per table */
#define IDLE_FORGET_MS     (3600 * 1000)        /* full bucket, no delay */
#define SWEEP_MS           (60 * 1000)

struct bucket {
	int64_t milli;                  /* tokens * 1000 */
	uint64_t at;                    /* last refill, loop ms */
};

struct rec {
	unsigned char key[NAMES_USER_MAX + 1 + 16];
	unsigned fails;                 /* pair: consecutive failures */
	uint64_t not_before;            /* pair: next attempt allowed */
	uint64_t good_until;            /* pair: known-good address */
	uint64_t touched;
	struct bucket b;                /* account / address budget */
	UT_hash_handle hh;
};

static struct rec *pairs, *accounts, *addrs;
static uv_timer_t sweep_timer;
static bool sweep_started;

static void
refill(struct bucket *b, unsigned burst, unsigned per_hour, uint64_t now)
{
	int64_t cap = (int64_t)burst * 1000;

	if (now > b->at) {
		b->milli += (int64_t)((now - b->at) * per_hour / 3600);
		if (b->milli > cap)
			b->milli = cap;
	}
	b->at = now;
}

static struct rec *
get(struct rec **table, const unsigned char *key, uint64_t now,
    unsigned burst)
{
	struct rec *r;

	HASH_FIND(hh, *table, key, sizeof(r->key), r);
	if (r != NULL) {
		/* Most recently used go last: eviction takes the first. */
		HASH_DELETE(hh, *table, r);
		HASH_ADD(hh, *table, key, sizeof(r->key), r);
		r->touched = now;
		return r;
	}
	if (HASH_COUNT(*table) >= RECORDS_MAX) {
		r = *table;
		HASH_DELETE(hh, *table, r);
		memset(r, 0, sizeof(*r));
	} else if ((r = calloc(1, sizeof(*r))) == NULL) {
		return NULL;
	}
	memcpy(r->key, key, sizeof(r->key));
	r->b.milli = (int64_t)burst * 1000;
	r->b.at = now;
	r->touched = now;
	HASH_ADD(hh, *table, key, sizeof(r->key), r);
	return r;
}

static void
make_keys(const char *user, const unsigned char ipkey[16],
    unsigned char pk[NAMES_USER_MAX + 1 + 16],
    unsigned char uk[NAMES_USER_MAX + 1 + 16],
    unsigned char ak[NAMES_USER_MAX + 1 + 16])
{
	size_t n = strnlen(user, NAMES_USER_MAX);

	memset(uk, 0, NAMES_USER_MAX + 1 + 16);
	memcpy(uk, user, n);
	memcpy(pk, uk, NAMES_USER_MAX + 1 + 16);
	memcpy(pk + NAMES_USER_MAX + 1, ipkey, 16);
	memset(ak, 0, NAMES_USER_MAX + 1 + 16);
	memcpy(ak + NAMES_USER_MAX + 1, ipkey, 16);
}

bool
throttle_attempt(const char *user, const unsigned char ipkey[16],
    uint64_t now)
{
	unsigned char pk[NAMES_USER_MAX + 1 + 16], uk[sizeof(pk)],
	    ak[sizeof(pk)];
	struct rec *p, *u, *a;
	bool known;

	make_keys(user, ipkey, pk, uk, ak);
	p = get(&pairs, pk, now, 0);
	u = get(&accounts, uk, now, ACCOUNT_BURST);
	a = get(&addrs, ak, now, ADDR_BURST);
	if (p == NULL || u == NULL || a == NULL)
		return false;           /* out of memory: fail closed */
	if (now < p->not_before)
		return false;
	known = p->good_until > now;
	refill(&u->b, ACCOUNT_BURST, ACCOUNT_PER_HOUR, now);
	refill(&a->b, ADDR_BURST, ADDR_PER_HOUR, now);
	if (!known && (u->b.milli < 1000 || a->b.milli < 1000))
		return false;
	/* Reserved now, refunded on success: parallel tries cannot overdraw. */
	if (!known)
		u->b.milli -= 1000;
	a->b.milli -= 1000;
	return true;
}

void
throttle_result(const char *user, const unsigned char ipkey[16], bool ok,
    uint64_t now)
{
	unsigned char pk[NAMES_USER_MAX + 1 + 16], uk[sizeof(pk)],
	    ak[sizeof(pk)];
	struct rec *p, *u, *a;
	unsigned shift;

	make_keys(user, ipkey, pk, uk, ak);
	p = get(&pairs, pk, now, 0);
	u = get(&accounts, uk, now, ACCOUNT_BURST);
	a = get(&addrs, ak, now, ADDR_BURST);
	if (p == NULL || u == NULL || a == NULL)
		return;
	if (ok) {
		if (p->good_until <= now)
			u->b.milli += 1000;
		a->b.milli += 1000;
		p->fails = 0;
		p->not_before = 0;
		p->good_until = now + KNOWN_GOOD_MS;
		return;
	}
	p->fails++;
	if (p->fails >= PAIR_FREE_FAILS) {
		shift = p->fails - PAIR_FREE_FAILS;
		p->not_before = now + (shift >= 10 ? PAIR_DELAY_MAX_MS :
		    ((uint64_t)1000 << shift) > PAIR_DELAY_MAX_MS ?
		    PAIR_DELAY_MAX_MS : ((uint64_t)1000 << shift));
	}
}

/* A record that holds nothing a fresh one would not is dropped. */
static void
sweep(struct rec **table, unsigned burst, unsigned per_hour, uint64_t now)
{
	struct rec *r, *tmp;

	HASH_ITER(hh, *table, r, tmp) {
		if (now - r->touched < IDLE_FORGET_MS || r->good_until > now ||
		    r->not_before > now)
			continue;
		if (burst > 0) {
			refill(&r->b, burst, per_hour, now);
			if (r->b.milli < (int64_t)burst * 1000)
				continue;
		}
		HASH_DELETE(hh, *table, r);
		free(r);
	}
}

static void
on_sweep(uv_timer_t *t)
{
	uint64_t now = uv_now(t->loop);

	sweep(&pairs, 0, 0, now);
	sweep(&accounts, ACCOUNT_BURST, ACCOUNT_PER_HOUR, now);
	sweep(&addrs, ADDR_BURST, ADDR_PER_HOUR, now);
}

int
throttle_init(uv_loop_t *loop)
{
	if (uv_timer_init(loop, &sweep_timer) != 0)
		return -1;
	uv_timer_start(&sweep_timer, on_sweep, SWEEP_MS, SWEEP_MS);
	uv_unref((uv_handle_t *)&sweep_timer);
	sweep_started = true;
	return 0;
}

static void
free_all(struct rec **table)
{
	struct rec *r, *tmp;

	HASH_ITER(hh, *table, r, tmp) {
		HASH_DELETE(hh, *table, r);
		free(r);
	}
}

void
throttle_fini(void)
{
	if (sweep_started)
		uv_close((uv_handle_t *)&sweep_timer, NULL);
	sweep_started = false;
	free_all(&pairs);
	free_all(&accounts);
	free_all(&addrs);
}

unsigned
throttle_records(void)
{
	return HASH_COUNT(pairs) + HASH_COUNT(accounts) + HASH_COUNT(addrs);
}
