/*
 * Abuse tests, HARDENING.md "Storage and process": a full disk, a foreign
 * write lock on the database, SIGKILL in the middle of writes, SIGTERM
 * with clients connected, and the systemd watchdog when the loop stalls.
 */
#include "abuse.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- an outbox: pipelined SENDs whose outcomes are tracked ---------- */

enum { OB_PENDING, OB_ACKED, OB_UNAVAILABLE, OB_OTHER };

#define OB_MAX		20000
#define OB_PAD		200	/* default padding of a text */
#define OB_PAD_MAX	1000

struct outbox {
	struct ab_tls	*t;
	const char	*to;
	char		 tag[16];	/* texts are "<tag>-<seq> <padding>" */
	int		 window;
	int		 pad;		/* bytes of padding per text */
	int		 sent;		/* SEND lines written */
	int		 answered;	/* final lines read, in order */
	unsigned char	 state[OB_MAX];
	uint64_t	 id[OB_MAX];
	int64_t		 t_sent[OB_MAX];
	int64_t		 worst_ms;	/* slowest answer */
};

static struct outbox *
outbox_new(const char *tag, const char *to, int window)
{
	struct outbox *o = calloc(1, sizeof(*o));

	if (o == NULL)
		return NULL;
	snprintf(o->tag, sizeof(o->tag), "%s", tag);
	o->to = to;
	o->window = window;
	o->pad = OB_PAD;
	return o;
}

/* (Re)connect as the attacker account; 0 or -1. */
static int
outbox_connect(struct outbox *o, struct ab_ctx *x)
{
	ab_tls_free(o->t, 1);
	/* Whatever was in flight on the old connection has no answer. */
	o->answered = o->sent;
	o->t = ab_tls_login(x->s, AB_ATTACKER, AB_ATTACKER_USER,
	    AB_ATTACKER_PW);
	return o->t != NULL ? 0 : -1;
}

/* Read what has arrived (waiting at most wait_ms for the first line). */
static void
outbox_read(struct outbox *o, int wait_ms)
{
	const char *l;

	while (o->t != NULL && (l = ab_tls_line(o->t, wait_ms)) != NULL) {
		int i = o->answered;
		uint64_t id;

		wait_ms = 0;
		if (strncmp(l, "MSG ", 4) == 0 || strncmp(l, "BYE", 3) == 0)
			continue;
		if (i >= o->sent)
			continue;
		if (hs_parse_send_id(l, &id) == 0) {
			o->state[i] = OB_ACKED;
			o->id[i] = id;
		} else if (strncmp(l, "ERR UNAVAILABLE", 15) == 0) {
			o->state[i] = OB_UNAVAILABLE;
		} else {
			o->state[i] = OB_OTHER;
			ab_note(o->tag, "SEND %d answered \"%.80s\"", i, l);
		}
		if (hs_now_ms() - o->t_sent[i] > o->worst_ms)
			o->worst_ms = hs_now_ms() - o->t_sent[i];
		o->answered++;
	}
}

/* Send up to the window (and at most max in total); then read. */
static void
outbox_pump(struct outbox *o, int max, int wait_ms)
{
	static char pad[OB_PAD_MAX + 1];

	if (pad[0] == '\0')
		memset(pad, 'p', OB_PAD_MAX);
	while (o->t != NULL && !ab_tls_closed(o->t) && o->sent < max &&
	    o->sent < OB_MAX && o->sent - o->answered < o->window) {
		if (ab_tls_send(o->t, "SEND %s %s-%d %.*s", o->to, o->tag,
		    o->sent, o->pad, pad) != 0)
			break;
		o->t_sent[o->sent] = hs_now_ms();
		o->sent++;
	}
	outbox_read(o, wait_ms);
}

static int
outbox_count(const struct outbox *o, int state)
{
	int i, n = 0;

	for (i = 0; i < o->sent; i++)
		n += o->state[i] == state;
	return n;
}

static void
outbox_free(struct outbox *o)
{
	if (o == NULL)
		return;
	ab_tls_free(o->t, 1);
	free(o);
}

/*
 * Check the outboxes against what SYNC shows the attacker account (its
 * direct messages, both directions): acked and missing, seen twice, and
 * stored although the answer was UNAVAILABLE.
 */
static int
outbox_audit(struct ab_ctx *x, struct outbox **obs, int nob, int *lost,
    int *dups, int *unavail_stored, size_t *seen)
{
	struct hs_client *c;
	struct hs_msg *m = NULL;
	size_t n = 0, i;
	unsigned char *count[8];
	int k, rc = -1;

	*lost = *dups = *unavail_stored = 0;
	c = hs_login_new(x->s, NULL, AB_ATTACKER_USER, AB_ATTACKER_PW);
	if (c == NULL)
		return -1;
	if (ab_sync_all(c, &m, &n) != 0)
		goto out;
	for (k = 0; k < nob; k++)
		if ((count[k] = calloc(OB_MAX, 1)) == NULL)
			goto out;
	for (i = 0; i < n; i++) {
		for (k = 0; k < nob; k++) {
			size_t tl = strlen(obs[k]->tag);
			int seq;

			if (strncmp(m[i].text, obs[k]->tag, tl) != 0 ||
			    m[i].text[tl] != '-' ||
			    sscanf(m[i].text + tl + 1, "%d", &seq) != 1 ||
			    seq < 0 || seq >= OB_MAX)
				continue;
			if (count[k][seq] < 255)
				count[k][seq]++;
			if (obs[k]->state[seq] == OB_ACKED &&
			    obs[k]->id[seq] != m[i].id)
				ab_note(x->row, "%s-%d: acked as %llu, stored "
				    "as %llu", obs[k]->tag, seq,
				    (unsigned long long)obs[k]->id[seq],
				    (unsigned long long)m[i].id);
		}
	}
	for (k = 0; k < nob; k++) {
		for (i = 0; i < (size_t)obs[k]->sent; i++) {
			if (obs[k]->state[i] == OB_ACKED && count[k][i] == 0)
				(*lost)++;
			if (count[k][i] > 1)
				(*dups)++;
			if (obs[k]->state[i] == OB_UNAVAILABLE &&
			    count[k][i] > 0)
				(*unavail_stored)++;
		}
		free(count[k]);
	}
	*seen = n;
	rc = 0;
out:
	ab_msgs_free(m, n);
	hs_close(c);
	return rc;
}

/* "PRAGMA integrity_check" on a database file; 1 when "ok". */
static int
integrity_ok(const char *db, char *why, size_t len)
{
	char *out = NULL;
	int rc = hs_run(NULL, &out, 30000, "sqlite3 '%s' "
	    "'PRAGMA integrity_check'", db);
	int ok = rc == 0 && out != NULL && strcmp(out, "ok\n") == 0;

	snprintf(why, len, "%.*s", out ? (int)strcspn(out, "\n") : 0,
	    out ? out : "");
	free(out);
	return ok;
}

/* ---- disk full ------------------------------------------------------ */

static char full_dir[64];

static int
disk_full_teardown(void **state)
{
	int rc = ab_teardown(state);

	if (full_dir[0] != '\0') {
		(void)hs_run(NULL, NULL, 10000, "umount '%s' && rmdir '%s'",
		    full_dir, full_dir);
		full_dir[0] = '\0';
	}
	return rc;
}

static void
disk_full(void **state)
{
	char tmpl[] = "/tmp/parley-abuse-full.XXXXXX";
	char ov_db[128], filler[128], db[128], why[256];
	const char *overrides[3];
	struct outbox *o, *obs[1];
	struct statvfs vfs;
	struct ab_ctx *x;
	int i, fd, after_ok = 0, lost, dups, unavail_stored, ok;
	int lost2, dups2, unavail_stored2;
	size_t seen, seen2;
	long long fill;
	const char *row = "disk-full";
	char *buf;

	assert_non_null(mkdtemp(tmpl));
	snprintf(full_dir, sizeof(full_dir), "%s", tmpl);
	if (hs_run(NULL, NULL, 10000, "mount -t tmpfs -o size=1m,mode=0700 "
	    "tmpfs '%s'", full_dir) != 0) {
		rmdir(full_dir);
		full_dir[0] = '\0';
		fail_msg("cannot mount a 1 MiB tmpfs (this test needs root)");
	}
	snprintf(ov_db, sizeof(ov_db), "storage.database=%s/parley.db",
	    full_dir);
	snprintf(db, sizeof(db), "%s/parley.db", full_dir);
	overrides[0] = ov_db;
	overrides[1] = "limits.messages_per_second=1000000";
	overrides[2] = NULL;
	x = ab_start(row, overrides);
	*state = x;
	assert_non_null(x);

	/* Leave about 160 KiB free. */
	assert_int_equal(statvfs(full_dir, &vfs), 0);
	fill = (long long)vfs.f_bavail * (long long)vfs.f_frsize - 160 * 1024;
	snprintf(filler, sizeof(filler), "%s/filler", full_dir);
	fd = open(filler, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	buf = calloc(1, 65536);
	assert_non_null(buf);
	while (fill > 0) {
		ssize_t w = write(fd, buf, fill > 65536 ? 65536 : (size_t)fill);

		if (w <= 0)
			break;
		fill -= w;
	}
	close(fd);
	free(buf);

	o = outbox_new("full", AB_VICTIM_USER, 1);
	assert_non_null(o);
	assert_int_equal(outbox_connect(o, x), 0);
	for (i = 0; i < 3000 && outbox_count(o, OB_UNAVAILABLE) < 20; i++)
		outbox_pump(o, i + 1, 10000);
	ab_note(row, "disk full after %d acked; %d UNAVAILABLE, %d other",
	    outbox_count(o, OB_ACKED), outbox_count(o, OB_UNAVAILABLE),
	    outbox_count(o, OB_OTHER));

	/* Space returns. */
	assert_int_equal(unlink(filler), 0);
	hs_sleep_ms(200);
	for (i = 0; i < 30; i++) {
		int before = outbox_count(o, OB_ACKED);

		outbox_pump(o, o->sent + 1, 10000);
		after_ok += outbox_count(o, OB_ACKED) > before;
	}
	obs[0] = o;
	assert_int_equal(outbox_audit(x, obs, 1, &lost, &dups,
	    &unavail_stored, &seen), 0);

	/* Stop, check the file, start again: the acked are all still there. */
	ab_tls_free(o->t, 1);
	o->t = NULL;
	assert_int_equal(hs_server_stop(x->s), 0);
	ok = integrity_ok(db, why, sizeof(why));
	assert_int_equal(hs_server_start(x->s), 0);
	ab_rebaseline(x);
	assert_int_equal(outbox_audit(x, obs, 1, &lost2, &dups2,
	    &unavail_stored2, &seen2), 0);
	outbox_free(o);

	ab_figure(AB_EXACT, lost == 0 && lost2 == 0, row, "acked-but-missing",
	    "0", "%d (%d after a restart; %zu messages stored)", lost, lost2,
	    seen2);
	ab_figure(AB_EXACT, unavail_stored == 0 && dups == 0 &&
	    unavail_stored2 == 0 && dups2 == 0, row,
	    "unavailable-but-stored", "0 (and no duplicates)",
	    "%d (%d duplicates)", unavail_stored, dups);
	ab_figure(AB_EXACT, after_ok == 30, row, "recovers",
	    "SEND works once space returns", "%d of 30 acked", after_ok);
	ab_figure(AB_EXACT, ok, row, "integrity-check", "ok", "%s", why);
	ab_verdict();
}

/* ---- another process holds the write lock ------------------------- */

#define LOCK_MS		10000

static void
sqlite_lock(void **state)
{
	static const char *const overrides[] = {
		"limits.messages_per_second=1000000", NULL
	};
	const char *row = "sqlite-lock";
	struct ab_ctx *x = ab_start(row, overrides);
	struct ab_victim_stats vs;
	struct outbox *obs[3];
	char cmd[PATH_MAX + 512], line[64];
	int64_t t0, next;
	int k, lost, dups, unavail_stored, acked = 0, unavail = 0, other = 0;
	int64_t worst = 0;
	size_t seen;
	FILE *holder;

	*state = x;
	assert_non_null(x);
	for (k = 0; k < 3; k++) {
		char tag[16];

		snprintf(tag, sizeof(tag), "lock%d", k);
		obs[k] = outbox_new(tag, AB_VICTIM_USER, 1000);
		assert_non_null(obs[k]);
		assert_int_equal(outbox_connect(obs[k], x), 0);
	}
	assert_int_equal(ab_victim_start(x->s), 0);
	snprintf(cmd, sizeof(cmd), "python3 -c 'import sqlite3, sys, time\n"
	    "c = sqlite3.connect(sys.argv[1], isolation_level=None, "
	    "timeout=10)\nc.execute(\"BEGIN IMMEDIATE\")\n"
	    "print(\"locked\", flush=True)\ntime.sleep(%d)\n"
	    "c.execute(\"ROLLBACK\")\nprint(\"released\", flush=True)' "
	    "'%s/parley.db'", LOCK_MS / 1000, hs_server_dir(x->s));
	holder = popen(cmd, "r");
	assert_non_null(holder);
	assert_non_null(fgets(line, sizeof(line), holder));
	assert_string_equal(line, "locked\n");

	/* A SEND every 100 ms on each connection, during and after. */
	t0 = hs_now_ms();
	next = t0;
	while (hs_now_ms() - t0 < LOCK_MS + 2000) {
		for (k = 0; k < 3; k++)
			outbox_pump(obs[k], obs[k]->sent + 1, 0);
		next += 100;
		while (hs_now_ms() < next)
			for (k = 0; k < 3; k++)
				outbox_read(obs[k], 5);
	}
	ab_note(row, "lock holder: %s", fgets(line, sizeof(line), holder) ?
	    line : "(no line)");
	pclose(holder);
	/* Everything answered. */
	t0 = hs_now_ms();
	for (k = 0; k < 3; k++)
		while (obs[k]->answered < obs[k]->sent &&
		    hs_now_ms() - t0 < 20000)
			outbox_read(obs[k], 100);
	ab_victim_stop(&vs);
	for (k = 0; k < 3; k++) {
		acked += outbox_count(obs[k], OB_ACKED);
		unavail += outbox_count(obs[k], OB_UNAVAILABLE);
		other += outbox_count(obs[k], OB_OTHER) +
		    outbox_count(obs[k], OB_PENDING);
		if (obs[k]->worst_ms > worst)
			worst = obs[k]->worst_ms;
	}
	assert_int_equal(outbox_audit(x, obs, 3, &lost, &dups, &unavail_stored,
	    &seen), 0);
	for (k = 0; k < 3; k++)
		outbox_free(obs[k]);

	ab_victim_report(row, &vs);
	ab_note(row, "%d acked (slowest answer %lld ms), %d UNAVAILABLE, %d "
	    "other or unanswered", acked, (long long)worst, unavail, other);
	ab_figure(AB_EXACT, other == 0, row, "answers",
	    "every SEND acked or ERR UNAVAILABLE", "%d other", other);
	ab_figure(AB_EXACT, lost == 0, row, "lost", "0", "%d", lost);
	ab_figure(AB_EXACT, dups == 0 && unavail_stored == 0, row,
	    "duplicates", "0 (nor UNAVAILABLE stored)", "%d (%d UNAVAILABLE "
	    "stored)", dups, unavail_stored);
	ab_verdict();
}

/* ---- SIGKILL during writes ------------------------------------------ */

static void
sigkill_writes(void **state)
{
	static const char *const overrides[] = {
		"limits.messages_per_second=1000000", NULL
	};
	const char *row = "sigkill-writes";
	struct ab_ctx *x = ab_start(row, overrides);
	int rounds = AB_COUNT(10, 100), round, k, lost, dups, unavail_stored;
	int acked = 0, restarts = 0;
	int64_t worst_ready = 0;
	struct outbox *obs[2];
	size_t seen;

	*state = x;
	assert_non_null(x);
	srand(4242);
	obs[0] = outbox_new("kill0", AB_VICTIM_USER, 16);
	obs[1] = outbox_new("kill1", AB_VICTIM_USER, 16);
	assert_true(obs[0] != NULL && obs[1] != NULL);
	for (round = 0; round < rounds; round++) {
		int64_t t0, until = hs_now_ms() + 100 + rand() % 300;
		struct ab_tls *probe = NULL;

		for (k = 0; k < 2; k++)
			if (outbox_connect(obs[k], x) != 0)
				ab_note(row, "round %d: sender %d could not log "
				    "in", round, k);
		while (hs_now_ms() < until)
			for (k = 0; k < 2; k++)
				outbox_pump(obs[k], OB_MAX - 1, 1);
		hs_server_kill(x->s);
		/* Answers already on the wire count as acks. */
		for (k = 0; k < 2; k++)
			outbox_read(obs[k], 50);
		t0 = hs_now_ms();
		if (hs_server_start(x->s) != 0) {
			ab_note(row, "round %d: restart failed", round);
			break;
		}
		while (hs_now_ms() - t0 < 10000) {
			probe = ab_tls_login(x->s, AB_VICTIM, AB_VICTIM_USER,
			    AB_VICTIM_PW);
			if (probe != NULL)
				break;
			hs_sleep_ms(10);
		}
		if (probe != NULL) {
			restarts++;
			if (hs_now_ms() - t0 > worst_ready)
				worst_ready = hs_now_ms() - t0;
		}
		ab_tls_free(probe, 0);
	}
	ab_rebaseline(x);
	for (k = 0; k < 2; k++) {
		ab_tls_free(obs[k]->t, 1);
		obs[k]->t = NULL;
		acked += outbox_count(obs[k], OB_ACKED);
	}
	assert_int_equal(outbox_audit(x, obs, 2, &lost, &dups, &unavail_stored,
	    &seen), 0);
	outbox_free(obs[0]);
	outbox_free(obs[1]);

	ab_figure(AB_EXACT, lost == 0 && acked > 0, row, "lost",
	    "0 acked messages lost", "%d (of %d acked over %d kills; %zu "
	    "stored)", lost, acked, round, seen);
	ab_figure(AB_EXACT, dups == 0, row, "duplicates", "0", "%d", dups);
	ab_figure(AB_PERF, restarts == rounds && worst_ready < 2000, row,
	    "restart-to-ready-ms", "< 2000", "%lld (worst; %d of %d restarts "
	    "served a login)", (long long)worst_ready, restarts, rounds);
	ab_verdict();
}

/* ---- SIGTERM with clients connected --------------------------------- */

#define TERM_EACH	20

static void
sigterm_clients(void **state)
{
	/*
	 * A large output cap, so that the reader who never reads holds
	 * megabytes in the server (past what the kernel's buffers take)
	 * instead of being disconnected as a slow consumer.
	 */
	static const char *const overrides[] = {
		"limits.messages_per_second=1000000",
		"limits.max_output_bytes=67108864", NULL
	};
	static const char *const users[] = {
		"rita:rita-Never-Reads-Anything-31", NULL
	};
	const char *row = "sigterm";
	struct ab_ctx *x = ab_start_with(row, overrides, users);
	struct ab_tls *authed[TERM_EACH], *greeted[TERM_EACH], *rita;
	int tcp[TERM_EACH], i, st, byes = 0, lost, dups, unavail_stored;
	struct outbox *flood, *obs[1];
	char wal[PATH_MAX + 16], db[PATH_MAX], why[256];
	struct stat sb;
	int64_t t0, took;
	long long wal_bytes;
	size_t seen;
	int ok;

	*state = x;
	assert_non_null(x);
	/*
	 * A reader that never reads, with output pending in the server: its
	 * small receive buffer keeps the kernel from taking it all.
	 */
	{
		struct ab_tls_opts ro;
		const char *l;

		memset(&ro, 0, sizeof(ro));
		ro.src = "127.0.0.3";
		ro.rcvbuf = 4096;
		rita = ab_tls_connect(x->s, &ro);
		assert_non_null(rita);
		assert_non_null(ab_tls_line(rita, 5000));
		assert_int_equal(ab_tls_send(rita, "LOGIN rita "
		    "rita-Never-Reads-Anything-31"), 0);
		l = ab_tls_line(rita, 5000);
		assert_non_null(l);
		assert_string_equal(l, "OK LOGIN rita");
	}
	flood = outbox_new("term", "rita", 64);
	assert_non_null(flood);
	flood->pad = OB_PAD_MAX;
	assert_int_equal(outbox_connect(flood, x), 0);
	/* About 8.5 MB to rita; the kernel holds a few of them. */
	for (i = 0; i < 20000 && flood->answered < 8000; i++)
		outbox_pump(flood, 8000, 1);
	ab_note(row, "%d messages (%d KiB) queued for a reader that never "
	    "reads; server VmRSS +%ld KiB", flood->answered,
	    flood->answered * (OB_PAD_MAX + 60) / 1024,
	    ab_rss_kib(x->pid) - x->base_rss);
	for (i = 0; i < TERM_EACH; i++) {
		authed[i] = ab_tls_login(x->s, i % 2 ? AB_ATTACKER : AB_VICTIM,
		    i % 2 ? AB_ATTACKER_USER : AB_VICTIM_USER,
		    i % 2 ? AB_ATTACKER_PW : AB_VICTIM_PW);
		greeted[i] = ab_tls_hello(x->s, AB_ATTACKER);
		tcp[i] = ab_tcp(x->s, AB_ATTACKER, 2000);
		assert_true(authed[i] != NULL && greeted[i] != NULL &&
		    tcp[i] >= 0);
	}
	/* Writes in flight when the signal comes. */
	flood->to = AB_VICTIM_USER;
	outbox_pump(flood, flood->sent + 64, 0);

	t0 = hs_now_ms();
	assert_int_equal(hs_server_signal(x->s, SIGTERM), 0);
	while (!ab_tls_closed(flood->t) && hs_now_ms() - t0 < 6000)
		outbox_read(flood, 20);
	st = hs_server_wait(x->s, 10000);
	took = hs_now_ms() - t0;
	for (i = 0; i < TERM_EACH; i++) {
		struct ab_tls *both[2] = { authed[i], greeted[i] };
		int k;

		for (k = 0; k < 2; k++) {
			const char *l;

			while ((l = ab_tls_line(both[k], 500)) != NULL)
				if (strcmp(l, "BYE server shutting down") == 0) {
					byes++;
					break;
				}
			ab_tls_free(both[k], 1);
		}
		close(tcp[i]);
	}
	ab_tls_free(rita, 1);
	snprintf(db, sizeof(db), "%s/parley.db", hs_server_dir(x->s));
	snprintf(wal, sizeof(wal), "%s-wal", db);
	wal_bytes = stat(wal, &sb) == 0 ? (long long)sb.st_size : 0;
	ok = integrity_ok(db, why, sizeof(why));

	/* Start again for the audit and the liveness check. */
	assert_int_equal(hs_server_start(x->s), 0);
	ab_rebaseline(x);
	ab_tls_free(flood->t, 1);
	flood->t = NULL;
	obs[0] = flood;
	assert_int_equal(outbox_audit(x, obs, 1, &lost, &dups, &unavail_stored,
	    &seen), 0);
	outbox_free(flood);

	ab_figure(AB_EXACT, st == 0, row, "exit-status", "0", "%d", st);
	ab_figure(AB_PERF, st >= 0 && took < 5000, row, "exit-ms", "< 5000",
	    "%lld (with a reader that never reads)", (long long)took);
	ab_figure(AB_EXACT, byes == 2 * TERM_EACH, row, "bye", "every session "
	    "and greeted client", "%d of %d", byes, 2 * TERM_EACH);
	ab_figure(AB_EXACT, wal_bytes == 0, row, "wal-after-exit-bytes",
	    "0 (checkpointed)", "%lld", wal_bytes);
	ab_figure(AB_EXACT, ok, row, "integrity-check", "ok", "%s", why);
	ab_figure(AB_EXACT, lost == 0 && dups == 0, row, "acked-lost", "0",
	    "%d (%d duplicates)", lost, dups);
	ab_verdict();
}

/* ---- the systemd watchdog ------------------------------------------- */

#define WD_USEC		2000000
#define WD_STALL_MS	3000

struct wd_state {
	struct hs_server *s;
	pid_t		 pid;
	int		 sock;
	char		 sockpath[PATH_MAX];
	char		 log[PATH_MAX];
};

static int
wd_teardown(void **state)
{
	struct wd_state *w = *state;
	int st;

	if (w == NULL)
		return 0;
	if (w->pid > 0) {
		kill(w->pid, SIGKILL);
		waitpid(w->pid, &st, 0);
	}
	if (w->sock >= 0)
		close(w->sock);
	hs_server_free(w->s);
	free(w);
	*state = NULL;
	return 0;
}

/* Next notify datagram within timeout_ms; its time in *at. */
static int
wd_recv(struct wd_state *w, char *buf, size_t len, int timeout_ms,
    int64_t *at)
{
	struct pollfd p = { w->sock, POLLIN, 0 };
	ssize_t n;

	if (poll(&p, 1, timeout_ms) != 1)
		return -1;
	n = recv(w->sock, buf, len - 1, 0);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	*at = hs_now_ms();
	return 0;
}

/* The port in the log's "listening on 127.0.0.1:PORT", or 0. */
static int
wd_port(const struct wd_state *w)
{
	char buf[8192], *p;
	ssize_t n;
	int fd = open(w->log, O_RDONLY), port = 0;

	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	if ((p = strstr(buf, "listening on 127.0.0.1:")) != NULL)
		port = atoi(p + strlen("listening on 127.0.0.1:"));
	return port;
}

static void
watchdog(void **state)
{
	const char *row = "watchdog";
	struct wd_state *w = calloc(1, sizeof(*w));
	struct sockaddr_un sa;
	char msg[512], *log;
	int64_t at, last = 0, t0, stall0, worst = 0, stall_gap = 0;
	int ready = 0, listening = 0, pings = 0, resumed = 0, st, wst;
	int stopping = 0;

	assert_non_null(w);
	*state = w;
	w->sock = -1;
	w->s = hs_server_new(NULL);
	assert_non_null(w->s);
	snprintf(w->sockpath, sizeof(w->sockpath), "%s/notify.sock",
	    hs_server_dir(w->s));
	snprintf(w->log, sizeof(w->log), "%s", hs_server_logfile(w->s));
	w->sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(w->sock >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	assert_true(strlen(w->sockpath) < sizeof(sa.sun_path));
	strcpy(sa.sun_path, w->sockpath);
	assert_int_equal(bind(w->sock, (struct sockaddr *)&sa, sizeof(sa)), 0);

	/* parleyd as systemd would run it: NOTIFY_SOCKET, WATCHDOG_USEC. */
	fflush(NULL);
	w->pid = fork();
	assert_true(w->pid >= 0);
	if (w->pid == 0) {
		int fd = open(w->log, O_WRONLY | O_CREAT | O_APPEND, 0600);
		char usec[32], pid[32];

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(126);
		snprintf(usec, sizeof(usec), "%d", WD_USEC);
		snprintf(pid, sizeof(pid), "%ld", (long)getpid());
		setenv("NOTIFY_SOCKET", w->sockpath, 1);
		setenv("WATCHDOG_USEC", usec, 1);
		setenv("WATCHDOG_PID", pid, 1);
		unsetenv("JOURNAL_STREAM");
		execl(PARLEYD_PATH, "parleyd", "-c", hs_server_config(w->s),
		    (char *)NULL);
		_exit(127);
	}

	/* READY=1: the port must already accept. */
	t0 = hs_now_ms();
	while (!ready && hs_now_ms() - t0 < 10000) {
		if (wd_recv(w, msg, sizeof(msg), 1000, &at) != 0)
			continue;
		if (strstr(msg, "READY=1") != NULL) {
			int port = wd_port(w), fd;
			struct sockaddr_in in;

			ready = 1;
			memset(&in, 0, sizeof(in));
			in.sin_family = AF_INET;
			in.sin_port = htons((uint16_t)port);
			in.sin_addr.s_addr = htonl(0x7f000001);
			fd = socket(AF_INET, SOCK_STREAM, 0);
			listening = port > 0 && fd >= 0 && connect(fd,
			    (struct sockaddr *)&in, sizeof(in)) == 0;
			if (fd >= 0)
				close(fd);
		}
		if (strstr(msg, "WATCHDOG=1") != NULL)
			last = at;
	}
	/* Normal operation: the pings' largest gap, over 4 s. */
	t0 = hs_now_ms();
	while (hs_now_ms() - t0 < 4000) {
		if (wd_recv(w, msg, sizeof(msg), 200, &at) != 0 ||
		    strstr(msg, "WATCHDOG=1") == NULL)
			continue;
		if (last != 0 && at - last > worst)
			worst = at - last;
		last = at;
		pings++;
	}
	/* Stall the event loop (the main thread only) for 3 s. */
	stall0 = hs_now_ms();
	assert_int_equal(ptrace(PTRACE_SEIZE, w->pid, NULL, NULL), 0);
	assert_int_equal(ptrace(PTRACE_INTERRUPT, w->pid, NULL, NULL), 0);
	assert_int_equal(waitpid(w->pid, &wst, __WALL), w->pid);
	while (hs_now_ms() - stall0 < WD_STALL_MS) {
		if (wd_recv(w, msg, sizeof(msg), 100, &at) == 0 &&
		    strstr(msg, "WATCHDOG=1") != NULL)
			last = at;
	}
	assert_int_equal(ptrace(PTRACE_DETACH, w->pid, NULL, NULL), 0);
	t0 = hs_now_ms();
	while (hs_now_ms() - t0 < 2000) {
		if (wd_recv(w, msg, sizeof(msg), 200, &at) != 0 ||
		    strstr(msg, "WATCHDOG=1") == NULL)
			continue;
		stall_gap = at - (last > stall0 ? last : stall0);
		if (last <= stall0)
			stall_gap = at - stall0;
		resumed = 1;
		break;
	}
	/* Pings during the stall would have moved last past stall0. */
	if (last > stall0 + 200)
		stall_gap = 0;

	/* SIGTERM: STOPPING=1 and exit 0. */
	kill(w->pid, SIGTERM);
	t0 = hs_now_ms();
	while (hs_now_ms() - t0 < 5000 && !stopping)
		if (wd_recv(w, msg, sizeof(msg), 200, &at) == 0 &&
		    strstr(msg, "STOPPING=1") != NULL)
			stopping = 1;
	for (st = -1, t0 = hs_now_ms(); hs_now_ms() - t0 < 10000;) {
		if (waitpid(w->pid, &wst, WNOHANG) == w->pid) {
			st = WIFEXITED(wst) ? WEXITSTATUS(wst) : 128 +
			    WTERMSIG(wst);
			w->pid = 0;
			break;
		}
		hs_sleep_ms(10);
	}
	log = hs_server_log(w->s);

	ab_figure(AB_EXACT, ready && listening, row, "ready-after-listen",
	    "READY=1 once the port accepts", "%s", !ready ? "no READY=1" :
	    listening ? "yes" : "READY=1 before the port accepted");
	ab_figure(AB_PERF, pings >= 4 && worst <= WD_USEC / 2000, row,
	    "watchdog-max-gap-ms", "<= 1000 (half of WatchdogSec=2)",
	    "%lld (%d pings in 4 s)", (long long)worst, pings);
	ab_figure(AB_EXACT, stall_gap >= WD_STALL_MS - 200 && resumed, row,
	    "loop-stall-detected", "no WATCHDOG=1 while the loop is stopped",
	    "%s (gap %lld ms over a %d ms stall of the main thread)",
	    resumed ? "resumed after" : "never resumed",
	    (long long)stall_gap, WD_STALL_MS);
	ab_figure(AB_EXACT, st == 0 && stopping && log != NULL &&
	    strstr(log, "ERROR: AddressSanitizer") == NULL &&
	    strstr(log, "runtime error:") == NULL &&
	    strstr(log, "WARNING: ThreadSanitizer") == NULL, row, "clean-exit",
	    "STOPPING=1, exit 0, 0 sanitizer reports", "exit %d%s", st,
	    stopping ? ", STOPPING=1 sent" : ", no STOPPING=1");
	free(log);
	ab_verdict();
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test_teardown(disk_full, disk_full_teardown),
	cmocka_unit_test_teardown(sqlite_lock, ab_teardown),
	cmocka_unit_test_teardown(sigkill_writes, ab_teardown),
	cmocka_unit_test_teardown(sigterm_clients, ab_teardown),
	cmocka_unit_test_teardown(watchdog, wd_teardown),
};

AB_MAIN("abuse-store", tests)
