/*
 * test_checkpoint: WAL checkpoints on their own thread keep the WAL
 * bounded under a writer that never pauses, and lose nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "checkpoint.h"
#include "store.h"

#define HASH "$argon2id$v=19$m=65536,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g"
#define T0   1700000000000LL
/* Commits of ~3 pages each: several times the WAL's bound in all. */
#define COMMITS 60000

static off_t
file_size(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0 ? sb.st_size : 0;
}

static struct store *
open_db(const char *path, unsigned flags)
{
	char err[256];
	struct store *s = store_open(path, flags, 1000, err, sizeof(err));

	if (s == NULL)
		fail_msg("store_open: %s", err);
	return s;
}

struct newest {
	uint64_t id;
	char text[32];
};

static int
newest(void *ctx, const struct store_msg *m)
{
	struct newest *n = ctx;

	n->id = m->id;
	snprintf(n->text, sizeof(n->text), "%.*s", (int)m->text_len, m->text);
	return 0;
}

static void
test_wal_bounded_under_constant_writes(void **state)
{
	char dir[] = "/tmp/test_checkpoint.XXXXXX";
	char path[128], wal[140], text[64];
	struct store *w, *r;
	struct newest got = { 0, "" };
	off_t size, most = 0;
	uint64_t id = 0, last = 0;
	bool created, was;
	int i, n;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/parley.db", dir);
	snprintf(wal, sizeof(wal), "%s-wal", path);
	w = open_db(path, STORE_CREATE);
	assert_int_equal(store_user_add(w, "ann", HASH, STORE_ROLE_USER, T0),
	    STORE_OK);
	assert_int_equal(store_room_join(w, "#r", "ann", T0, &created, &was),
	    STORE_OK);
	checkpoint_start(w, open_db(path, 0));

	for (i = 0; i < COMMITS; i++) {
		n = snprintf(text, sizeof(text), "message %d", i);
		assert_int_equal(store_room_append(w, "ann", "#r", text,
		    (size_t)n, T0 + i, &id), STORE_OK);
		assert_true(id > last);
		last = id;
		if (i % 500 == 0 && (size = file_size(wal)) > most)
			most = size;
	}
	store_close(w);
	checkpoint_stop();
	printf("# largest WAL: %lld bytes over %d commits\n",
	    (long long)most, COMMITS);
	/* SQLite's own checkpoints stop near 4 MiB: these are off. */
	assert_true(most > 8 << 20);
	/* The writer catches up itself at 16000 pages: 64 MiB and frames. */
	assert_true(most < 72 << 20);
	/* Closing folded it all into the database. */
	assert_true(file_size(wal) == 0);

	/* Every message is there, the newest last. */
	r = open_db(path, 0);
	assert_int_equal(store_history(r, "ann", "#r", 1, 0, newest, &got),
	    STORE_OK);
	assert_true(got.id == last);
	assert_memory_equal(got.text, "message 59999", 13);
	store_close(r);
	unlink(wal);
	snprintf(wal, sizeof(wal), "%s-shm", path);
	unlink(wal);
	unlink(path);
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wal_bounded_under_constant_writes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
