/*
 * auth: the password-login pipeline.
 *
 *   loop:    LOGIN -> storage job (fetch the account)
 *   storage: store_user_get
 *   loop:    queue the hash, or wait for a free worker
 *   pool:    argon2id verify (dummy hash for unknown users); a new hash
 *            when the configured parameters changed
 *   loop:    success -> session_start (+ store the new hash);
 *            failure -> ERR AUTH_FAILED
 *
 * Jobs hold a reference on their connection; one that closes meanwhile
 * only loses its answer.
 */
#include "auth.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <uv.h>

#include "conn.h"
#include "log.h"
#include "pwhash.h"
#include "server.h"
#include "session.h"
#include "storage.h"
#include "store.h"

struct auth_job {
	struct storage_job sj;
	uv_work_t work;
	struct conn *c;
	char user[NAMES_USER_MAX + 1];
	char pw[PASSWORD_MAX_BYTES];
	size_t pwlen;
	struct store_user rec;
	bool found;
	bool ok;
	bool rehash;
	char newhash[PWHASH_STR_BYTES];
	TAILQ_ENTRY(auth_job) link;
};

static struct {
	unsigned jobs;                  /* in the pipeline, any phase */
	unsigned running;               /* on the thread pool */
	TAILQ_HEAD(, auth_job) waiting;
} as = { .waiting = TAILQ_HEAD_INITIALIZER(as.waiting) };

static const char auth_failed[] = "invalid username or password";

int
auth_init(void)
{
	char pw[32];

	/* The dummy's password is random: it must never verify. */
	randombytes_buf(pw, sizeof(pw));
	if (pwhash_hash(srv.dummy_hash, pw, sizeof(pw), &srv.pw) != 0)
		return -1;
	sodium_memzero(pw, sizeof(pw));
	return 0;
}

unsigned
auth_queue_depth(void)
{
	return as.jobs;
}

static void
job_free(struct auth_job *j)
{
	sodium_memzero(j->pw, sizeof(j->pw));
	sodium_memzero(&j->rec, sizeof(j->rec));
	as.jobs--;
	conn_unref(j->c);
	free(j);
}

/* Pool thread: the only place a password meets a hash. */
static void
on_work(uv_work_t *w)
{
	struct auth_job *j = w->data;
	const char *hash = j->found ? j->rec.hash : srv.dummy_hash;
	bool match = pwhash_verify(hash, j->pw, j->pwlen) == 0;

	j->ok = match && j->found && !j->rec.locked;
	if (j->ok && pwhash_needs_rehash(j->rec.hash, &srv.pw))
		j->rehash = pwhash_hash(j->newhash, j->pw, j->pwlen,
		    &srv.pw) == 0;
	sodium_memzero(j->pw, sizeof(j->pw));
}

static void on_work_done(uv_work_t *w, int status);

static void
start_hash(struct auth_job *j)
{
	int r;

	as.running++;
	j->work.data = j;
	r = uv_queue_work(srv.loop, &j->work, on_work, on_work_done);
	if (r != 0) {
		/* Cannot happen with a valid loop; fail the login cleanly. */
		log_error("auth: uv_queue_work: %s", uv_strerror(r));
		as.running--;
		if (!conn_closing(j->c)) {
			conn_err(j->c, "UNAVAILABLE", "server busy, try again");
			conn_enter_state(j->c, CONN_S_GREETED);
			conn_resume(j->c);
		}
		job_free(j);
	}
}

static int
run_set_hash(struct store *s, struct storage_job *sj)
{
	struct auth_job *j = (struct auth_job *)sj;

	return store_user_set_hash(s, j->user, j->newhash);
}

static void
set_hash_done(struct storage_job *sj)
{
	struct auth_job *j = (struct auth_job *)sj;

	if (sj->rc == STORE_OK)
		log_info("auth: upgraded password hash of %s", j->user);
	else
		log_warn("auth: could not store the new hash of %s", j->user);
	job_free(j);
}

static void
on_work_done(uv_work_t *w, int status)
{
	struct auth_job *j = w->data;
	struct conn *c = j->c;
	struct auth_job *next;
	unsigned fails;

	(void)status;
	as.running--;
	if ((next = TAILQ_FIRST(&as.waiting)) != NULL) {
		TAILQ_REMOVE(&as.waiting, next, link);
		start_hash(next);
	}

	if (j->ok) {
		srv.stats.logins_ok++;
		if (!conn_closing(c)) {
			log_info("conn %llu: login ok user=%s from %s",
			    (unsigned long long)conn_id(c), j->user,
			    conn_peer(c));
			session_start(c, j->user, j->rec.role, "LOGIN");
		}
		if (j->rehash) {
			j->sj.run = run_set_hash;
			j->sj.done = set_hash_done;
			storage_submit(&j->sj);
			return;
		}
		job_free(j);
		return;
	}

	srv.stats.logins_failed++;
	/* Fixed format, for fail2ban: address, user, reason. */
	log_warn("auth: login failed from %s user=%s reason=%s",
	    conn_peer(c), j->user,
	    !j->found ? "unknown-user" : j->rec.locked ? "locked" :
	    "bad-password");
	if (!conn_closing(c)) {
		conn_enter_state(c, CONN_S_GREETED);
		conn_err(c, "AUTH_FAILED", auth_failed);
		fails = conn_failed_login(c);
		if (fails >= srv.cfg.max_failed_logins)
			conn_close(c, "too many failed logins");
		else
			conn_resume(c);
	}
	job_free(j);
}

static int
run_lookup(struct store *s, struct storage_job *sj)
{
	struct auth_job *j = (struct auth_job *)sj;
	int rc = store_user_get(s, j->user, &j->rec);

	j->found = rc == STORE_OK;
	return rc == STORE_NOT_FOUND ? STORE_OK : rc;
}

static void
lookup_done(struct storage_job *sj)
{
	struct auth_job *j = (struct auth_job *)sj;

	if (sj->rc != STORE_OK) {
		if (!conn_closing(j->c)) {
			conn_enter_state(j->c, CONN_S_GREETED);
			conn_err(j->c, "UNAVAILABLE",
			    "accounts unavailable, try again");
			conn_resume(j->c);
		}
		job_free(j);
		return;
	}
	if (conn_closing(j->c)) {
		job_free(j);
		return;
	}
	if (as.running < srv.cfg.max_concurrent_hashes)
		start_hash(j);
	else
		TAILQ_INSERT_TAIL(&as.waiting, j, link);
}

int
auth_login(struct conn *c, const char *user, const char *pw, size_t len)
{
	unsigned cap = srv.cfg.max_concurrent_hashes *
	    (1 + AUTH_QUEUE_PER_WORKER);
	struct auth_job *j;

	if (as.jobs >= cap || len > sizeof(((struct auth_job *)0)->pw))
		return -1;
	j = calloc(1, sizeof(*j));
	if (j == NULL)
		return -1;
	as.jobs++;
	j->c = c;
	conn_ref(c);
	snprintf(j->user, sizeof(j->user), "%s", user);
	memcpy(j->pw, pw, len);
	j->pwlen = len;
	j->sj.run = run_lookup;
	j->sj.done = lookup_done;
	conn_busy(c);
	conn_enter_state(c, CONN_S_AUTHENTICATING);
	storage_submit(&j->sj);
	return 0;
}
