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
#include <strings.h>
#include <sys/queue.h>
#include <uv.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "clock.h"
#include "conn.h"
#include "log.h"
#include "pwhash.h"
#include "server.h"
#include "session.h"
#include "storage.h"
#include "store.h"
#include "throttle.h"
#include "token.h"
#include "route.h"

enum auth_kind {
	AUTH_PASSWORD,                  /* LOGIN user password */
	AUTH_REGISTER,                  /* REGISTER user password */
	AUTH_CERT,                      /* LOGIN user, client certificate */
	AUTH_RESUME,                    /* RESUME user token */
	AUTH_PASSWD,                    /* PASSWD old new */
};

struct auth_job {
	struct storage_job sj;
	enum auth_kind kind;
	uv_work_t work;
	struct conn *c;
	char user[NAMES_USER_MAX + 1];
	char pw[PASSWORD_MAX_BYTES];
	size_t pwlen;
	char newpw[PASSWORD_MAX_BYTES];         /* PASSWD */
	size_t newpwlen;
	uint8_t token_hash[STORE_TOKEN_HASH_BYTES];     /* RESUME */
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
	unsigned slots;                 /* hashes run at once */
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
	/*
	 * max_concurrent_hashes bounds the work taken on; running more at once
	 * than there are CPUs to run them only makes each slower: two 64 MiB
	 * hashes time-sliced on one core evict each other's cache (measured:
	 * 89 % of the one-at-a-time rate). The queue keeps the configured size.
	 */
	as.slots = srv.cfg.max_concurrent_hashes;
	if (uv_available_parallelism() < as.slots)
		as.slots = uv_available_parallelism();
	if (as.slots < 1)
		as.slots = 1;
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
	sodium_memzero(j->newpw, sizeof(j->newpw));
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
	bool match;

	if (j->kind == AUTH_REGISTER) {
		j->ok = pwhash_hash(j->newhash, j->pw, j->pwlen, &srv.pw) == 0;
		sodium_memzero(j->pw, sizeof(j->pw));
		return;
	}
	match = pwhash_verify(hash, j->pw, j->pwlen) == 0;
	if (j->kind == AUTH_PASSWD) {
		j->ok = match && j->found &&
		    pwhash_hash(j->newhash, j->newpw, j->newpwlen,
		    &srv.pw) == 0;
		sodium_memzero(j->pw, sizeof(j->pw));
		sodium_memzero(j->newpw, sizeof(j->newpw));
		return;
	}

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

static int
run_add_user(struct store *s, struct storage_job *sj)
{
	struct auth_job *j = (struct auth_job *)sj;

	return store_user_add(s, j->user, j->newhash, STORE_ROLE_USER,
	    clock_now_ms());
}

static void
add_user_done(struct storage_job *sj)
{
	struct auth_job *j = (struct auth_job *)sj;
	struct conn *c = j->c;

	if (!conn_closing(c)) {
		if (sj->rc == STORE_OK) {
			log_info("conn %llu: registered user=%s from %s",
			    (unsigned long long)conn_id(c), j->user,
			    conn_peer(c));
			session_start(c, j->user, STORE_ROLE_USER, "REGISTER");
		} else {
			conn_enter_state(c, CONN_S_GREETED);
			if (sj->rc == STORE_EXISTS)
				conn_err(c, "FORBIDDEN", "user name taken");
			else
				conn_err(c, "UNAVAILABLE",
				    "accounts unavailable, try again");
			conn_resume(c);
		}
	}
	job_free(j);
}

static int
run_passwd(struct store *s, struct storage_job *sj)
{
	struct auth_job *j = (struct auth_job *)sj;
	int rc = store_user_set_hash(s, j->user, j->newhash);

	return rc == STORE_OK ? store_token_revoke(s, j->user, NULL) : rc;
}

static void
passwd_done(struct storage_job *sj)
{
	struct auth_job *j = (struct auth_job *)sj;
	struct conn *c = j->c;
	unsigned n;

	if (sj->rc == STORE_OK) {
		/* Every other way in is closed: sessions and tokens. */
		n = route_close_user(j->user, c, "password changed");
		log_info("auth: password of %s changed; %u other sessions "
		    "closed, tokens revoked", j->user, n);
	}
	if (!conn_closing(c)) {
		if (sj->rc == STORE_OK)
			conn_printf(c, "OK PASSWD");
		else
			conn_err(c, "UNAVAILABLE", "password not changed, try again");
		conn_resume(c);
	}
	job_free(j);
}

/* PASSWD: the old password was checked and the new one hashed (or not). */
static void
passwd_hashed(struct auth_job *j)
{
	struct conn *c = j->c;

	throttle_result(j->user, conn_ipkey(c), j->ok, uv_now(srv.loop));
	if (!j->ok) {
		log_warn("auth: password change refused from %s user=%s "
		    "reason=bad-password", conn_peer(c), j->user);
		if (!conn_closing(c)) {
			conn_err(c, "AUTH_FAILED", "wrong password");
			conn_resume(c);
		}
		job_free(j);
		return;
	}
	j->sj.run = run_passwd;
	j->sj.done = passwd_done;
	storage_submit(&j->sj);
}

/* The account checks passed: the session starts. */
static void
login_ok(struct auth_job *j)
{
	struct conn *c = j->c;
	SSL *ssl = conn_ssl(c);

	srv.stats.logins_ok++;
	if (conn_closing(c))
		return;
	log_info("conn %llu: login ok user=%s from %s%s %s %s%s",
	    (unsigned long long)conn_id(c), j->user, conn_peer(c),
	    j->kind == AUTH_CERT ? " (certificate)" :
	    j->kind == AUTH_RESUME ? " (token)" : "",
	    SSL_get_version(ssl), SSL_get_cipher_name(ssl),
	    SSL_session_reused(ssl) ? " resumed" : "");
	session_start(c, j->user, j->rec.role,
	    j->kind == AUTH_RESUME ? "RESUME" : "LOGIN");
}

/* Same answer for every reason; the log line says which, for fail2ban. */
static void
login_failed(struct auth_job *j, const char *reason)
{
	struct conn *c = j->c;

	srv.stats.logins_failed++;
	log_warn("auth: login failed from %s user=%s reason=%s",
	    conn_peer(c), j->user, reason);
	if (conn_closing(c))
		return;
	conn_enter_state(c, CONN_S_GREETED);
	conn_err(c, "AUTH_FAILED", auth_failed);
	if (conn_failed_login(c) >= srv.cfg.max_failed_logins)
		conn_close(c, "too many failed logins");
	else
		conn_resume(c);
}

static void
on_work_done(uv_work_t *w, int status)
{
	struct auth_job *j = w->data;
	struct auth_job *next;

	(void)status;
	as.running--;
	if ((next = TAILQ_FIRST(&as.waiting)) != NULL) {
		TAILQ_REMOVE(&as.waiting, next, link);
		start_hash(next);
	}
	if (j->kind == AUTH_PASSWD) {
		passwd_hashed(j);
		return;
	}
	if (j->kind == AUTH_REGISTER) {
		if (!j->ok || conn_closing(j->c)) {
			if (!conn_closing(j->c)) {
				conn_enter_state(j->c, CONN_S_GREETED);
				conn_err(j->c, "UNAVAILABLE", "out of memory");
				conn_resume(j->c);
			}
			job_free(j);
			return;
		}
		j->sj.run = run_add_user;
		j->sj.done = add_user_done;
		storage_submit(&j->sj);
		return;
	}

	throttle_result(j->user, conn_ipkey(j->c), j->ok, uv_now(srv.loop));
	if (j->ok) {
		login_ok(j);
		if (j->rehash) {
			j->sj.run = run_set_hash;
			j->sj.done = set_hash_done;
			storage_submit(&j->sj);
			return;
		}
	} else {
		login_failed(j, !j->found ? "unknown-user" :
		    j->rec.locked ? "locked" : "bad-password");
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

static int
run_token_check(struct store *s, struct storage_job *sj)
{
	struct auth_job *j = (struct auth_job *)sj;
	int rc = store_token_check(s, j->user, j->token_hash, clock_now_ms(),
	    &j->rec);

	j->found = rc == STORE_OK;
	return rc == STORE_NOT_FOUND ? STORE_OK : rc;
}

static void
lookup_done(struct storage_job *sj)
{
	struct auth_job *j = (struct auth_job *)sj;

	if (sj->rc != STORE_OK) {
		if (!conn_closing(j->c)) {
			if (j->kind != AUTH_PASSWD)
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
	if (j->kind == AUTH_CERT || j->kind == AUTH_RESUME) {
		if (j->found && !j->rec.locked)
			login_ok(j);
		else if (j->kind == AUTH_RESUME)
			login_failed(j, "bad-token");
		else
			login_failed(j, !j->found ? "unknown-user" : "locked");
		job_free(j);
		return;
	}
	if (as.running < as.slots)
		start_hash(j);
	else
		TAILQ_INSERT_TAIL(&as.waiting, j, link);
}

/* Running plus waiting hashes are capped: a login flood gets UNAVAILABLE. */
static bool
queue_full(void)
{
	return as.jobs >= srv.cfg.max_concurrent_hashes *
	    (1 + AUTH_QUEUE_PER_WORKER);
}

static struct auth_job *
job_new(struct conn *c, enum auth_kind kind, const char *user,
    const char *pw, size_t len)
{
	struct auth_job *j;

	if (queue_full() || len > sizeof(j->pw))
		return NULL;
	j = calloc(1, sizeof(*j));
	if (j == NULL)
		return NULL;
	as.jobs++;
	j->kind = kind;
	j->c = c;
	conn_ref(c);
	snprintf(j->user, sizeof(j->user), "%s", user);
	if (len > 0)
		memcpy(j->pw, pw, len);
	j->pwlen = len;
	conn_busy(c);
	if (kind != AUTH_PASSWD)
		conn_enter_state(c, CONN_S_AUTHENTICATING);
	return j;
}

int
auth_login(struct conn *c, const char *user, const char *pw, size_t len)
{
	struct auth_job *j;

	if (queue_full())
		return -1;
	if (!throttle_attempt(user, conn_ipkey(c), uv_now(srv.loop))) {
		srv.stats.logins_failed++;
		static struct log_limit throttled;

		/* Refused without a hash: they come as fast as they are sent. */
		log_limited(&throttled, LOGL_WARN,
		    "auth: login failed from %s user=%s reason=throttled",
		    conn_peer(c), user);
		conn_err(c, "RATE_LIMITED", "too many attempts, try later");
		if (conn_failed_login(c) >= srv.cfg.max_failed_logins)
			conn_close(c, "too many failed logins");
		return 0;
	}
	j = job_new(c, AUTH_PASSWORD, user, pw, len);
	if (j == NULL)
		return -1;
	j->sj.run = run_lookup;
	j->sj.done = lookup_done;
	storage_submit(&j->sj);
	return 0;
}

int
auth_register(struct conn *c, const char *user, const char *pw, size_t len)
{
	struct auth_job *j = job_new(c, AUTH_REGISTER, user, pw, len);

	if (j == NULL)
		return -1;
	if (as.running < as.slots)
		start_hash(j);
	else
		TAILQ_INSERT_TAIL(&as.waiting, j, link);
	return 0;
}

int
auth_resume(struct conn *c, const char *user, const char *token, size_t len)
{
	struct auth_job *j = job_new(c, AUTH_RESUME, user, NULL, 0);

	if (j == NULL)
		return -1;
	if (token_hash(token, len, j->token_hash) != 0) {
		/* Malformed: the same answer as a wrong token, no store trip. */
		login_failed(j, "bad-token");
		job_free(j);
		return 0;
	}
	j->sj.run = run_token_check;
	j->sj.done = lookup_done;
	storage_submit(&j->sj);
	return 0;
}

int
auth_passwd(struct conn *c, const char *oldpw, size_t oldlen,
    const char *newpw, size_t newlen)
{
	struct auth_job *j;

	if (queue_full() || newlen > sizeof(j->newpw))
		return -1;
	if (!throttle_attempt(conn_user(c), conn_ipkey(c), uv_now(srv.loop))) {
		conn_err(c, "RATE_LIMITED", "too many attempts, try later");
		return 0;
	}
	j = job_new(c, AUTH_PASSWD, conn_user(c), oldpw, oldlen);
	if (j == NULL)
		return -1;
	memcpy(j->newpw, newpw, newlen);
	j->newpwlen = newlen;
	j->sj.run = run_lookup;
	j->sj.done = lookup_done;
	storage_submit(&j->sj);
	return 0;
}

static bool
same_name(const unsigned char *s, int len, const char *user)
{
	return len > 0 && (size_t)len == strlen(user) &&
	    memchr(s, '\0', (size_t)len) == NULL &&
	    strncasecmp((const char *)s, user, (size_t)len) == 0;
}

/* Does the verified peer certificate name user (CN, SAN DNS or e-mail)? */
static bool
cert_names_user(SSL *ssl, const char *user)
{
	X509 *cert = SSL_get0_peer_certificate(ssl);
	GENERAL_NAMES *sans;
	X509_NAME *subj;
	bool match = false;
	int i;

	if (cert == NULL || SSL_get_verify_result(ssl) != X509_V_OK)
		return false;
	subj = X509_get_subject_name(cert);
	for (i = -1; !match &&
	    (i = X509_NAME_get_index_by_NID(subj, NID_commonName, i)) >= 0;) {
		ASN1_STRING *d = X509_NAME_ENTRY_get_data(
		    X509_NAME_get_entry(subj, i));

		match = same_name(ASN1_STRING_get0_data(d),
		    ASN1_STRING_length(d), user);
	}
	sans = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	for (i = 0; !match && i < sk_GENERAL_NAME_num(sans); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(sans, i);

		if (g->type == GEN_DNS || g->type == GEN_EMAIL)
			match = same_name(ASN1_STRING_get0_data(g->d.ia5),
			    ASN1_STRING_length(g->d.ia5), user);
	}
	GENERAL_NAMES_free(sans);
	return match;
}

int
auth_cert_login(struct conn *c, const char *user)
{
	struct auth_job *j;

	if (srv.cfg.client_ca[0] == '\0' ||
	    !cert_names_user(conn_ssl(c), user)) {
		struct auth_job fake = { .c = c };

		snprintf(fake.user, sizeof(fake.user), "%s", user);
		conn_busy(c);
		login_failed(&fake, "no-matching-certificate");
		return 0;
	}
	j = job_new(c, AUTH_CERT, user, NULL, 0);
	if (j == NULL)
		return -1;
	j->sj.run = run_lookup;
	j->sj.done = lookup_done;
	storage_submit(&j->sj);
	return 0;
}
