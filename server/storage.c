/*
 * storage: a single thread that owns the store and commits in groups.
 *
 * The loop submits jobs to an unbounded FIFO (its producers are bounded:
 * each connection has a cap on jobs in flight). The thread takes everything
 * queued, up to STORAGE_BATCH_MAX, runs it in one transaction and hands
 * the batch back through a uv_async. Ordering is the point: message ids are
 * assigned in submission order and done() callbacks run in that order.
 */
#include "storage.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "log.h"

#define STORAGE_BATCH_MAX 4096

STAILQ_HEAD(jobq, storage_job);

static struct {
	struct store *store;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct jobq todo;               /* mu: waiting for the thread */
	struct jobq done;               /* mu: waiting for the loop */
	bool stop;                      /* mu */
	bool running;
	unsigned pending;               /* loop thread only */
	struct jobq outbox;             /* loop thread: submitted this turn */
	uv_async_t async;
	uv_prepare_t kick_prepare;
	uv_check_t kick_check;
} st;

/* Run one job alone in its own transaction. */
static void
run_alone(struct storage_job *j)
{
	if (store_begin(st.store) != STORE_OK) {
		j->rc = STORE_ERROR;
		return;
	}
	j->rc = j->run(st.store, j);
	if (j->rc == STORE_ERROR) {
		log_warn("storage: job failed: %s", store_errmsg(st.store));
		store_rollback(st.store);
	} else if (store_commit(st.store) != STORE_OK) {
		log_warn("storage: commit failed: %s", store_errmsg(st.store));
		store_rollback(st.store);
		j->rc = STORE_ERROR;
	}
}

static void
run_batch(struct jobq *batch)
{
	struct storage_job *j;
	bool failed = false;

	if (store_begin(st.store) != STORE_OK) {
		failed = true;
	} else {
		STAILQ_FOREACH(j, batch, link) {
			j->rc = j->run(st.store, j);
			if (j->rc == STORE_ERROR) {
				failed = true;
				break;
			}
		}
		if (!failed && store_commit(st.store) != STORE_OK)
			failed = true;
		if (failed)
			store_rollback(st.store);
	}
	if (!failed)
		return;
	log_warn("storage: batch failed (%s); retrying jobs one by one",
	    store_errmsg(st.store));
	STAILQ_FOREACH(j, batch, link)
		run_alone(j);
}

static void *
storage_main(void *arg)
{
	struct jobq batch;
	struct storage_job *j;
	unsigned n;

	(void)arg;
	pthread_mutex_lock(&st.mu);
	for (;;) {
		while (STAILQ_EMPTY(&st.todo) && !st.stop)
			pthread_cond_wait(&st.cv, &st.mu);
		if (STAILQ_EMPTY(&st.todo) && st.stop)
			break;
		STAILQ_INIT(&batch);
		for (n = 0; n < STORAGE_BATCH_MAX &&
		    (j = STAILQ_FIRST(&st.todo)) != NULL; n++) {
			STAILQ_REMOVE_HEAD(&st.todo, link);
			STAILQ_INSERT_TAIL(&batch, j, link);
		}
		pthread_mutex_unlock(&st.mu);

		run_batch(&batch);

		pthread_mutex_lock(&st.mu);
		STAILQ_CONCAT(&st.done, &batch);
		uv_async_send(&st.async);
	}
	pthread_mutex_unlock(&st.mu);
	return NULL;
}

static void
deliver_done(void)
{
	struct jobq done;
	struct storage_job *j;

	pthread_mutex_lock(&st.mu);
	STAILQ_INIT(&done);
	STAILQ_CONCAT(&done, &st.done);
	pthread_mutex_unlock(&st.mu);

	/* done() may free its job: take the next pointer first. */
	while ((j = STAILQ_FIRST(&done)) != NULL) {
		STAILQ_REMOVE_HEAD(&done, link);
		st.pending--;
		j->done(j);
	}
}

/*
 * Hand this loop turn's jobs to the thread in one go: woken at the first
 * job, it would start a transaction before the loop queued the rest.
 */
static void
kick(void)
{
	bool wake;

	if (STAILQ_EMPTY(&st.outbox))
		return;
	pthread_mutex_lock(&st.mu);
	wake = STAILQ_EMPTY(&st.todo);
	STAILQ_CONCAT(&st.todo, &st.outbox);
	pthread_mutex_unlock(&st.mu);
	if (wake)
		pthread_cond_signal(&st.cv);
}

static void
on_kick_prepare(uv_prepare_t *h)
{
	(void)h;
	kick();
}

static void
on_kick_check(uv_check_t *h)
{
	(void)h;
	kick();
}

static void
on_async(uv_async_t *h)
{
	(void)h;
	deliver_done();
}

int
storage_start(uv_loop_t *loop, struct store *s)
{
	int r;

	st.store = s;
	STAILQ_INIT(&st.todo);
	STAILQ_INIT(&st.done);
	STAILQ_INIT(&st.outbox);
	if (pthread_mutex_init(&st.mu, NULL) != 0 ||
	    pthread_cond_init(&st.cv, NULL) != 0)
		return -1;
	if ((r = uv_async_init(loop, &st.async, on_async)) != 0) {
		log_error("storage: %s", uv_strerror(r));
		return -1;
	}
	/* Pending jobs are held by connections; the handles keep nothing alive. */
	uv_unref((uv_handle_t *)&st.async);
	uv_prepare_init(loop, &st.kick_prepare);
	uv_check_init(loop, &st.kick_check);
	uv_prepare_start(&st.kick_prepare, on_kick_prepare);
	uv_check_start(&st.kick_check, on_kick_check);
	uv_unref((uv_handle_t *)&st.kick_prepare);
	uv_unref((uv_handle_t *)&st.kick_check);
	if (pthread_create(&st.thread, NULL, storage_main, NULL) != 0) {
		log_error("storage: cannot start thread");
		uv_close((uv_handle_t *)&st.async, NULL);
		return -1;
	}
	st.running = true;
	return 0;
}

void
storage_submit(struct storage_job *j)
{
	/* Queued here; the prepare or check pass of this turn hands it over. */
	j->rc = STORE_ERROR;
	st.pending++;
	STAILQ_INSERT_TAIL(&st.outbox, j, link);
}

unsigned
storage_pending(void)
{
	return st.pending;
}

void
storage_stop(void)
{
	if (!st.running)
		return;
	kick();
	pthread_mutex_lock(&st.mu);
	st.stop = true;
	pthread_cond_signal(&st.cv);
	pthread_mutex_unlock(&st.mu);
	pthread_join(st.thread, NULL);
	st.running = false;
	deliver_done();
	store_close(st.store);
	st.store = NULL;
	uv_close((uv_handle_t *)&st.async, NULL);
	uv_close((uv_handle_t *)&st.kick_prepare, NULL);
	uv_close((uv_handle_t *)&st.kick_check, NULL);
}
