/*
 * throttle: how often a password may be tried.
 *
 * Three kinds of record, all in memory and bounded in number:
 *  - per (account, address): after a few failures each further attempt
 *    waits twice as long as the last (up to 15 minutes); a success resets
 *    it and marks the address as known-good for that account;
 *  - per account: a budget of failed verifications (a burst of 10, then 90
 *    an hour), so many addresses together cannot brute-force one account;
 *  - per address: a budget of failures over all accounts, against one
 *    host spraying many names.
 * Addresses known-good for an account skip the account budget, so an
 * attack on the account from elsewhere cannot lock its owner out.
 * Records are kept by name whether or not the account exists, so the
 * answers reveal nothing about which names are taken.
 */
#ifndef PARLEY_THROTTLE_H
#define PARLEY_THROTTLE_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

/* Start the periodic clean-up on loop. */
int throttle_init(uv_loop_t *loop) __attribute__((warn_unused_result));
void throttle_fini(void);

/*
 * May user try a password from the address ipkey (16 bytes) now? Takes a
 * token from the account and address budgets when it answers true; the
 * attempt's outcome must then be reported with throttle_result().
 */
bool throttle_attempt(const char *user, const unsigned char ipkey[16],
    uint64_t now_ms);

/* Report the outcome of an attempt that throttle_attempt() allowed. */
void throttle_result(const char *user, const unsigned char ipkey[16],
    bool ok, uint64_t now_ms);

/* Records held (for STATS and tests). */
unsigned throttle_records(void);

#endif
