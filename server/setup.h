/*
 * setup: start and stop the services that live beside the connections —
 * login throttling, resume-token key, control socket — so main.c only
 * has to call two functions.
 */
#ifndef PARLEY_SETUP_H
#define PARLEY_SETUP_H

#include <stddef.h>
#include <uv.h>

/* After the store and listeners are up. 0, or -1 with a reason in err. */
int setup_services_start(uv_loop_t *loop, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/* At shutdown: stop accepting control clients (before connections close). */
void setup_services_stop(void);

/* After the loop has ended: release what is left. */
void setup_services_fini(void);

#endif
