/*
 * checkpoint: copies the WAL back into the database on a thread of its
 * own, so that no commit waits for it.
 */
#ifndef PARLEY_CHECKPOINT_H
#define PARLEY_CHECKPOINT_H

#include "store.h"

/*
 * Watch writer's WAL (before the storage thread takes writer) and
 * checkpoint it through own, a second connection to the same database,
 * which this module now owns. If the thread cannot start, own is closed
 * and SQLite's automatic checkpoints stay (logged).
 */
void checkpoint_start(struct store *writer, struct store *own);

/* After storage_stop(): end the thread and close its connection. */
void checkpoint_stop(void);

#endif
