/*
 * storage: the store on its own thread, so the event loop never waits for
 * SQLite, the disk or another process's lock.
 *
 * Callers embed a struct storage_job in their own job struct and submit
 * it. On the storage thread, jobs are taken in submission order in batches;
 * each batch runs in one transaction (group commit: one fsync for many
 * messages). If the batch fails, it is rolled back and every job is run
 * again in a transaction of its own, so one bad job cannot sink the
 * others. Then, on the loop thread, each job's done() is called in the
 * same order, after the commit: an acknowledgement sent from done() is
 * always for durable data.
 *
 * run() executes on the storage thread, may only touch its own job and the
 * store, and must reset any output it produces, since it may run twice.
 */
#ifndef PARLEY_STORAGE_H
#define PARLEY_STORAGE_H

#include <sys/queue.h>
#include <uv.h>

#include "store.h"

struct storage_job;

typedef int (*storage_run_fn)(struct store *s, struct storage_job *j);
typedef void (*storage_done_fn)(struct storage_job *j);

struct storage_job {
	storage_run_fn run;             /* storage thread: returns enum store_rc */
	storage_done_fn done;           /* loop thread, after commit */
	int rc;                         /* run()'s result, STORE_ERROR on failure */
	STAILQ_ENTRY(storage_job) link;
};

/*
 * Start the storage thread on an open store (ownership moves to storage)
 * and hook its completions into loop. Returns 0 or -1.
 */
int storage_start(uv_loop_t *loop, struct store *s)
	__attribute__((warn_unused_result));

/* Queue a job; never blocks. run and done must be set. */
void storage_submit(struct storage_job *j);

/* Jobs submitted and not yet completed (for STATS and back-pressure). */
unsigned storage_pending(void);

/*
 * Finish the queued jobs, stop the thread, run the last done() callbacks,
 * close the store (checkpointing the WAL) and release the loop handle.
 */
void storage_stop(void);

#endif
