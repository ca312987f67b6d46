/*
 * checkpoint: WAL checkpoints off the commit path.
 *
 * SQLite checkpoints inside the commit that takes the WAL past 1000 pages,
 * so the messages of that commit wait for the copy and its fsyncs: at a
 * few thousand commits a second that is a stall every few dozen
 * milliseconds, and the p99 of every acknowledgement. Here a commit only
 * notes the WAL's length (store_wal_watch). Past CKPT_START pages this
 * thread runs PASSIVE checkpoints on its own connection; they never block
 * the writer.
 *
 * The WAL is rewound to its start only by a write transaction that finds
 * it fully copied, and a busy writer commits during every pass. So past
 * CKPT_INLINE pages the storage thread checkpoints itself, between two of
 * its commits: by then this thread has copied nearly all of it, the rest
 * is short, and the WAL stays bounded (about CKPT_INLINE pages).
 */
#include "checkpoint.h"

#include <pthread.h>
#include <stdbool.h>

#include "log.h"

/* Pages (4 KiB by default): start passes at 16 MiB of WAL ... */
#define CKPT_START   4000
/* ... one more per this much growth ... */
#define CKPT_STEP    1000
/* ... and the writer catches up itself at 64 MiB. */
#define CKPT_INLINE  16000

static struct {
	struct store *writer;           /* the storage thread's */
	struct store *own;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool wanted;                    /* mu */
	bool stop;                      /* mu */
	bool running;
	int mark;                       /* storage thread: length at last ask */
} ck;

/* Storage thread, inside a commit. */
static void
on_wal(void *arg, int pages)
{
	int wal, copied;

	(void)arg;
	if (pages < ck.mark)
		ck.mark = 0;            /* rewound */
	if (pages >= CKPT_INLINE) {
		/* BUSY (a pass is running) is fine: the next commit retries. */
		if (store_checkpoint(ck.writer, &wal, &copied) != STORE_OK)
			log_warn("storage: %s", store_errmsg(ck.writer));
		ck.mark = 0;
		return;
	}
	if (pages < CKPT_START || pages - ck.mark < CKPT_STEP)
		return;
	ck.mark = pages;
	pthread_mutex_lock(&ck.mu);
	ck.wanted = true;
	pthread_cond_signal(&ck.cv);
	pthread_mutex_unlock(&ck.mu);
}

static void *
checkpoint_main(void *arg)
{
	int wal, copied;

	(void)arg;
	pthread_mutex_lock(&ck.mu);
	for (;;) {
		while (!ck.wanted && !ck.stop)
			pthread_cond_wait(&ck.cv, &ck.mu);
		if (ck.stop)
			break;
		ck.wanted = false;
		pthread_mutex_unlock(&ck.mu);
		if (store_checkpoint(ck.own, &wal, &copied) != STORE_OK)
			log_warn("storage: %s", store_errmsg(ck.own));
		else
			log_debug("storage: checkpoint: %d of %d WAL pages "
			    "copied", copied, wal);
		pthread_mutex_lock(&ck.mu);
	}
	pthread_mutex_unlock(&ck.mu);
	return NULL;
}

void
checkpoint_start(struct store *writer, struct store *own)
{
	ck.writer = writer;
	ck.own = own;
	if (pthread_mutex_init(&ck.mu, NULL) != 0 ||
	    pthread_cond_init(&ck.cv, NULL) != 0 ||
	    pthread_create(&ck.thread, NULL, checkpoint_main, NULL) != 0) {
		log_warn("storage: no checkpoint thread; SQLite checkpoints "
		    "inside commits");
		store_close(own);
		ck.own = NULL;
		return;
	}
	ck.running = true;
	store_wal_watch(writer, on_wal, NULL);
}

void
checkpoint_stop(void)
{
	if (!ck.running)
		return;
	pthread_mutex_lock(&ck.mu);
	ck.stop = true;
	pthread_cond_signal(&ck.cv);
	pthread_mutex_unlock(&ck.mu);
	pthread_join(ck.thread, NULL);
	ck.running = false;
	store_close(ck.own);
	ck.own = NULL;
	ck.writer = NULL;
}
