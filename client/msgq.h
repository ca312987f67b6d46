/*
 * msgq: messages waiting to be shown, in order.
 *
 * An encrypted message can only be shown once its sender's key has been
 * fetched, and messages must not overtake each other on the screen, so
 * from the first one that waits for a key on, every message waits in
 * this first-in first-out queue until the keys are there (listen.c,
 * ui_e2e.c, cli.c's history). Each entry owns a copy of the message.
 * Bounded: past MSGQ_MAX entries msgq_push() refuses, and the caller
 * shows the message at once without waiting for a key.
 */
#ifndef PARLEY_CLIENT_MSGQ_H
#define PARLEY_CLIENT_MSGQ_H

#include <stdbool.h>
#include <stddef.h>

#include "proto.h"

#define MSGQ_MAX 10000

struct msgq_item {
	struct msgq_item *next;
	struct proto_msg m;             /* m.text points at text below */
	unsigned flags;                 /* the caller's */
	char text[];                    /* NUL-terminated copy */
};

struct msgq {
	struct msgq_item *head;
	struct msgq_item **tail;
	size_t n;
};

/* An empty queue. */
void msgq_init(struct msgq *q);

/* Append a copy of m. Returns 0, or -1 when full or out of memory. */
int msgq_push(struct msgq *q, const struct proto_msg *m, unsigned flags)
	__attribute__((warn_unused_result));

/* The oldest entry, or NULL. */
struct msgq_item *msgq_head(const struct msgq *q);

/* Remove and free the oldest entry. */
void msgq_pop(struct msgq *q);

/* Free every entry. */
void msgq_clear(struct msgq *q);

#endif
