/*
 * keys: the own key pair, known_keys and the peers of one run (keys.h).
 *
 *   keys/alice@chat.example.org:7667.key     (0600)
 *     # parley end-to-end key pair of alice@chat.example.org:7667 ...
 *     public <base64>
 *     secret <base64>
 *
 *   known_keys                               (0600)
 *     bob@chat.example.org:7667 <base64 public key>
 *
 * known_keys is read once, kept as its lines (so comments and lines this
 * version does not understand survive a rewrite) and written back whole,
 * atomically, when a key is recorded or trusted. Peers are looked up in
 * a small array; a run talks to few people.
 */
#include "keys.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <sodium.h>

#include "display.h"
#include "files.h"
#include "line.h"
#include "names.h"

#define KEYS_DIR         "keys"
#define KNOWN_FILE       "known_keys"
#define KNOWN_MAX_BYTES  (1024 * 1024)
#define KEY_FILE_MAX     1024
#define PEERS_MAX        4096
/* Waiting out ERR RATE_LIMITED on a GETKEY: about 6 s in all. */
#define FETCH_RETRIES        8
#define FETCH_RETRY_FIRST_MS 50
#define FETCH_RETRY_MAX_MS   2000

struct peer {
	char name[NAMES_USER_MAX + 1];
	bool fetched;
	bool have_server, have_known, first_use, warned;
	uint8_t server[E2E_KEY_BYTES];
	uint8_t known[E2E_KEY_BYTES];
	char why[160];                  /* no server key: why */
};

/* One line of known_keys; parsed when it is "account base64". */
struct known_line {
	char *text;                     /* without the LF */
	bool parsed;
	size_t alen;                    /* the account's length in text */
	uint8_t pk[E2E_KEY_BYTES];
};

struct keys {
	char me[NAMES_USER_MAX + 1];
	char host[256];
	char port[8];
	char account[FILES_ACCOUNT_MAX];
	keys_note_fn *note;
	void *arg;
	int own_state;                  /* -2 not loaded, then keys_own_load */
	uint8_t pk[E2E_KEY_BYTES];
	uint8_t *sk;                    /* sodium_malloc, no access at rest */
	struct peer *peers;
	size_t npeers, cap;
	bool known_loaded;
	struct known_line *known;
	size_t nknown;
};

struct keys *
keys_new(const struct session_opts *o, keys_note_fn *note, void *arg)
{
	struct keys *k = calloc(1, sizeof(*k));

	if (k == NULL) {
		session_errorf("out of memory");
		return NULL;
	}
	if (snprintf(k->me, sizeof(k->me), "%s", o->user) < 0 ||
	    strlen(o->host) >= sizeof(k->host) ||
	    strlen(o->port) >= sizeof(k->port) ||
	    files_account(o->user, o->host, o->port, k->account,
	    sizeof(k->account)) != 0) {
		session_errorf("server name too long");
		free(k);
		return NULL;
	}
	snprintf(k->host, sizeof(k->host), "%s", o->host);
	snprintf(k->port, sizeof(k->port), "%s", o->port);
	k->note = note;
	k->arg = arg;
	k->own_state = -2;
	return k;
}

static void
known_clear(struct keys *k)
{
	size_t i;

	for (i = 0; i < k->nknown; i++)
		free(k->known[i].text);
	free(k->known);
	k->known = NULL;
	k->nknown = 0;
}

void
keys_free(struct keys *k)
{
	if (k == NULL)
		return;
	if (k->sk != NULL)
		sodium_free(k->sk);
	known_clear(k);
	free(k->peers);
	free(k);
}

const char *
keys_account(const struct keys *k)
{
	return k->account;
}

static void
note(struct keys *k, bool warning, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
note(struct keys *k, bool warning, const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (k->note != NULL)
		k->note(k->arg, warning, msg);
	else if (warning)
		session_errorf("%s", msg);
}

/* Decode standard base64 of exactly one key. Returns 0 or -1. */
static int
key_from_b64(const char *s, size_t len, uint8_t out[E2E_KEY_BYTES])
{
	size_t n = 0;
	const char *end;

	if (sodium_base642bin(out, E2E_KEY_BYTES, s, len, NULL, &n, &end,
	    sodium_base64_VARIANT_ORIGINAL) != 0 || end != s + len ||
	    n != E2E_KEY_BYTES)
		return -1;
	return 0;
}

static void
key_to_b64(const uint8_t pk[E2E_KEY_BYTES], char out[KEYS_B64_LEN])
{
	sodium_bin2base64(out, KEYS_B64_LEN, pk, E2E_KEY_BYTES,
	    sodium_base64_VARIANT_ORIGINAL);
}

/* ---- the own key pair ------------------------------------------------ */

static int
own_path(const struct keys *k, bool create, char *out, size_t cap)
{
	char name[FILES_ACCOUNT_MAX + 8];

	snprintf(name, sizeof(name), "%s.key", k->account);
	return files_path(KEYS_DIR, name, create, out, cap);
}

/* "public B64" and "secret B64" lines into pk and sk. Returns 0 or -1. */
static int
parse_own(const char *buf, size_t len, uint8_t pk[E2E_KEY_BYTES],
    uint8_t *sk)
{
	const char *p = buf, *end = buf + len, *nl;
	size_t ll;
	bool have_pk = false, have_sk = false;

	for (; p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;
		ll = (size_t)(nl - p);
		if (ll > 7 && memcmp(p, "public ", 7) == 0)
			have_pk = key_from_b64(p + 7, ll - 7, pk) == 0;
		else if (ll > 7 && memcmp(p, "secret ", 7) == 0)
			have_sk = key_from_b64(p + 7, ll - 7, sk) == 0;
		if (nl == end)
			break;
	}
	return have_pk && have_sk ? 0 : -1;
}

int
keys_own_load(struct keys *k)
{
	char path[FILES_PATH_MAX], buf[KEY_FILE_MAX];
	uint8_t derived[E2E_KEY_BYTES];
	long n;
	int r;

	if (k->own_state != -2)
		return k->own_state;
	k->own_state = -1;
	if (own_path(k, false, path, sizeof(path)) != 0)
		return -1;
	n = files_read(path, buf, sizeof(buf));
	if (n == -2) {
		k->own_state = 1;
		return 1;
	}
	if (n < 0)
		goto out;
	k->sk = sodium_malloc(E2E_KEY_BYTES);
	if (k->sk == NULL) {
		session_errorf("out of memory");
		goto out;
	}
	r = parse_own(buf, (size_t)n, k->pk, k->sk);
	/* The public key must belong to the secret one. */
	if (r == 0 && (crypto_scalarmult_base(derived, k->sk) != 0 ||
	    sodium_memcmp(derived, k->pk, E2E_KEY_BYTES) != 0))
		r = -1;
	if (r != 0) {
		session_errorf("%s is damaged: no usable key pair in it",
		    path);
		sodium_free(k->sk);
		k->sk = NULL;
		goto out;
	}
	sodium_mprotect_noaccess(k->sk);
	k->own_state = 0;
out:
	sodium_memzero(buf, sizeof(buf));
	return k->own_state;
}

int
keys_own_create(struct keys *k)
{
	char path[FILES_PATH_MAX], buf[KEY_FILE_MAX];
	char pk64[KEYS_B64_LEN], sk64[KEYS_B64_LEN];
	uint8_t pk[E2E_KEY_BYTES], *sk;
	int n, r = -1;

	if (own_path(k, true, path, sizeof(path)) != 0)
		return -1;
	sk = sodium_malloc(E2E_KEY_BYTES);
	if (sk == NULL) {
		session_errorf("out of memory");
		return -1;
	}
	e2e_keypair(pk, sk);
	key_to_b64(pk, pk64);
	key_to_b64(sk, sk64);
	n = snprintf(buf, sizeof(buf),
	    "# parley end-to-end key pair of %s\n"
	    "# The secret key opens your encrypted messages: never share "
	    "this file.\npublic %s\nsecret %s\n", k->account, pk64, sk64);
	sodium_memzero(sk64, sizeof(sk64));
	if (n > 0 && (size_t)n < sizeof(buf))
		r = files_write(path, buf, (size_t)n);
	else
		session_errorf("cannot write %s: path too long", path);
	sodium_memzero(buf, sizeof(buf));
	if (r != 0) {
		sodium_free(sk);
		return -1;
	}
	if (k->sk != NULL)
		sodium_free(k->sk);
	k->sk = sk;
	memcpy(k->pk, pk, sizeof(pk));
	sodium_mprotect_noaccess(k->sk);
	k->own_state = 0;
	return 0;
}

void
keys_own_public(const struct keys *k, char b64[KEYS_B64_LEN])
{
	key_to_b64(k->pk, b64);
}

void
keys_own_fingerprint(const struct keys *k, char fp[E2E_FP_LEN])
{
	e2e_fingerprint(k->pk, fp);
}

/* ---- known_keys ------------------------------------------------------ */

static int
known_path(char *out, size_t cap, bool create)
{
	return files_path(NULL, KNOWN_FILE, create, out, cap);
}

/* Split "account base64" lines; keep every line. Returns 0 or -1. */
static int
known_parse(struct keys *k, const char *buf, size_t len)
{
	const char *p = buf, *end = buf + len, *nl, *sp;
	struct known_line *kl;
	size_t ll, n = 0, i;

	for (i = 0; i < len; i++)
		if (buf[i] == '\n')
			n++;
	k->known = calloc(n + 1, sizeof(*k->known));
	if (k->known == NULL)
		return -1;
	for (; p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;
		ll = (size_t)(nl - p);
		kl = &k->known[k->nknown];
		kl->text = strndup(p, ll);
		if (kl->text == NULL)
			return -1;
		k->nknown++;
		sp = memchr(p, ' ', ll);
		if (p[0] != '#' && sp != NULL &&
		    key_from_b64(sp + 1, ll - (size_t)(sp + 1 - p),
		    kl->pk) == 0) {
			kl->parsed = true;
			kl->alen = (size_t)(sp - p);
		}
		if (nl == end)
			break;
	}
	return 0;
}

/* Read known_keys once. A missing file is an empty one. */
static void
known_load(struct keys *k)
{
	char path[FILES_PATH_MAX], *buf;
	long n;

	if (k->known_loaded)
		return;
	k->known_loaded = true;
	if (known_path(path, sizeof(path), false) != 0)
		return;
	buf = malloc(KNOWN_MAX_BYTES);
	if (buf == NULL)
		return;
	n = files_read(path, buf, KNOWN_MAX_BYTES);
	if (n >= 0 && known_parse(k, buf, (size_t)n) != 0) {
		session_errorf("out of memory reading %s", path);
		known_clear(k);
	}
	free(buf);
}

static struct known_line *
known_find(struct keys *k, const char *account)
{
	size_t i, al = strlen(account);

	known_load(k);
	for (i = 0; i < k->nknown; i++)
		if (k->known[i].parsed && k->known[i].alen == al &&
		    memcmp(k->known[i].text, account, al) == 0)
			return &k->known[i];
	return NULL;
}

/* Set account's key on record and rewrite the file. Returns 0 or -1. */
static int
known_store(struct keys *k, const char *account,
    const uint8_t pk[E2E_KEY_BYTES])
{
	char path[FILES_PATH_MAX], b64[KEYS_B64_LEN], *line, *buf;
	struct known_line *kl, *grown;
	size_t i, total = 0, o = 0;
	int r;

	key_to_b64(pk, b64);
	if (asprintf(&line, "%s %s", account, b64) < 0) {
		session_errorf("out of memory");
		return -1;
	}
	kl = known_find(k, account);
	if (kl == NULL) {
		grown = realloc(k->known, (k->nknown + 1) * sizeof(*grown));
		if (grown == NULL) {
			free(line);
			session_errorf("out of memory");
			return -1;
		}
		k->known = grown;
		kl = &k->known[k->nknown++];
		memset(kl, 0, sizeof(*kl));
	}
	free(kl->text);
	kl->text = line;
	kl->parsed = true;
	kl->alen = strlen(account);
	memcpy(kl->pk, pk, E2E_KEY_BYTES);

	for (i = 0; i < k->nknown; i++)
		total += strlen(k->known[i].text) + 1;
	buf = malloc(total + 1);
	if (buf == NULL) {
		session_errorf("out of memory");
		return -1;
	}
	for (i = 0; i < k->nknown; i++) {
		size_t l = strlen(k->known[i].text);

		memcpy(buf + o, k->known[i].text, l);
		o += l;
		buf[o++] = '\n';
	}
	r = known_path(path, sizeof(path), true);
	if (r == 0)
		r = files_write(path, buf, o);
	free(buf);
	return r;
}

/* ---- peers ----------------------------------------------------------- */

/* The record of a peer, made (with its trusted key) on first use. */
static struct peer *
peer_get(struct keys *k, const char *name)
{
	char account[FILES_ACCOUNT_MAX];
	struct known_line *kl;
	struct peer *p, *grown;
	size_t i;

	for (i = 0; i < k->npeers; i++)
		if (strcmp(k->peers[i].name, name) == 0)
			return &k->peers[i];
	if (k->npeers == PEERS_MAX || strlen(name) > NAMES_USER_MAX)
		return NULL;
	if (k->npeers == k->cap) {
		size_t nc = k->cap == 0 ? 8 : k->cap * 2;

		grown = realloc(k->peers, nc * sizeof(*grown));
		if (grown == NULL)
			return NULL;
		k->peers = grown;
		k->cap = nc;
	}
	p = &k->peers[k->npeers++];
	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "%s", name);
	if (files_account(name, k->host, k->port, account,
	    sizeof(account)) == 0 && (kl = known_find(k, account)) != NULL) {
		p->have_known = true;
		memcpy(p->known, kl->pk, E2E_KEY_BYTES);
	}
	return p;
}

const char *
keys_msg_peer(const struct keys *k, const struct proto_msg *m)
{
	if (m->to[0] == '#' || !e2e_is_envelope(m->text, m->text_len))
		return NULL;
	return strcmp(m->from, k->me) == 0 ? m->to : m->from;
}

bool
keys_fetched(struct keys *k, const char *peer)
{
	struct peer *p;

	if (strcmp(peer, k->me) == 0)
		return true;
	p = peer_get(k, peer);
	return p == NULL || p->fetched;
}

/* Compare the server's key with the trusted one; record or warn. */
static void
check_trust(struct keys *k, struct peer *p)
{
	char account[FILES_ACCOUNT_MAX];
	char fp_new[E2E_FP_LEN], fp_old[E2E_FP_LEN];

	e2e_fingerprint(p->server, fp_new);
	if (!p->have_known) {
		/* Trust on first use. */
		p->have_known = true;
		p->first_use = true;
		memcpy(p->known, p->server, E2E_KEY_BYTES);
		if (files_account(p->name, k->host, k->port, account,
		    sizeof(account)) != 0 ||
		    known_store(k, account, p->server) != 0)
			note(k, true, "the key of %s could not be recorded in "
			    "known_keys; it is trusted for this run only",
			    p->name);
		note(k, false, "first key seen for %s, trusted from now on: "
		    "%s (compare it with %s: parley fingerprint %s)", p->name,
		    fp_new, p->name, p->name);
		return;
	}
	if (sodium_memcmp(p->known, p->server, E2E_KEY_BYTES) == 0 ||
	    p->warned)
		return;
	p->warned = true;
	e2e_fingerprint(p->known, fp_old);
	note(k, true, "WARNING: the end-to-end key of %s has changed! "
	    "trusted: %s; the server now gives: %s. Messages opened with the "
	    "new key are marked unverified, and nothing is encrypted to %s "
	    "until you have checked the new fingerprint with %s and run: "
	    "parley trust %s", p->name, fp_old, fp_new, p->name, p->name,
	    p->name);
}

int
keys_answer(struct keys *k, const char *peer, const char *line, size_t len)
{
	struct line_cursor c;
	struct peer *p = peer_get(k, peer);
	char tok[64], esc[96];
	const char *rest;
	size_t n, rl;

	if (p == NULL)
		return -1;
	if (proto_keyword_is(line, len, "ERR RATE_LIMITED") ||
	    proto_keyword_is(line, len, "ERR UNAVAILABLE"))
		return 1;
	p->fetched = true;
	p->have_server = false;
	line_cursor_init(&c, line, len);
	if (proto_keyword_is(line, len, "OK")) {
		if (line_token(&c, tok, sizeof(tok), &n) == 1 &&
		    line_token(&c, tok, sizeof(tok), &n) == 1 &&
		    line_token(&c, tok, sizeof(tok), &n) == 1 &&
		    strcasecmp(tok, peer) == 0 &&
		    line_token(&c, tok, sizeof(tok), &n) == 1 &&
		    key_from_b64(tok, n, p->server) == 0) {
			p->have_server = true;
			check_trust(k, p);
		} else {
			snprintf(p->why, sizeof(p->why), "malformed answer to "
			    "GETKEY %s", peer);
		}
	} else if (proto_keyword_is(line, len, "ERR NO_KEY")) {
		snprintf(p->why, sizeof(p->why), "%s has no public key (they "
		    "can make one with parley keygen)", peer);
	} else if (proto_keyword_is(line, len, "ERR NO_SUCH_USER")) {
		snprintf(p->why, sizeof(p->why), "there is no user %s", peer);
	} else {
		if (line_token(&c, tok, sizeof(tok), &n) == 1 &&
		    line_rest(&c, &rest, &rl) == 1)
			display_escape(esc, sizeof(esc), rest, rl);
		else
			display_escape(esc, sizeof(esc), line, len);
		snprintf(p->why, sizeof(p->why), "cannot get the key of %s: "
		    "%s", peer, esc);
	}
	return 0;
}

static void
sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		continue;
}

int
keys_fetch(struct keys *k, struct session *s, const char *peer)
{
	char *line;
	size_t len;
	int rc, tries, r, delay = FETCH_RETRY_FIRST_MS;

	if (keys_fetched(k, peer))
		return SESSION_EXIT_OK;
	for (tries = 0;; tries++) {
		rc = session_sendf(s, "GETKEY %s", peer);
		if (rc == SESSION_EXIT_OK)
			rc = session_await(s, NULL, NULL, &line, &len);
		if (rc != SESSION_EXIT_OK)
			return SESSION_EXIT_LOST;
		r = keys_answer(k, peer, line, len);
		if (r != 1)
			return SESSION_EXIT_OK;
		if (tries >= FETCH_RETRIES) {
			struct peer *p = peer_get(k, peer);

			if (p != NULL) {
				p->fetched = true;
				snprintf(p->why, sizeof(p->why), "the server "
				    "is too busy to give the key of %s", peer);
			}
			return SESSION_EXIT_OK;
		}
		sleep_ms(delay);
		delay = delay * 2 > FETCH_RETRY_MAX_MS ? FETCH_RETRY_MAX_MS :
		    delay * 2;
	}
}

void
keys_peer_info(struct keys *k, const char *peer, struct keys_peer_info *out)
{
	struct peer *p = peer_get(k, peer);

	memset(out, 0, sizeof(*out));
	if (p == NULL) {
		snprintf(out->why, sizeof(out->why), "out of memory");
		return;
	}
	out->have_server = p->have_server;
	out->have_known = p->have_known;
	out->first_use = p->first_use;
	out->changed = p->have_server && p->have_known &&
	    sodium_memcmp(p->server, p->known, E2E_KEY_BYTES) != 0;
	if (p->have_server)
		e2e_fingerprint(p->server, out->server_fp);
	if (p->have_known)
		e2e_fingerprint(p->known, out->known_fp);
	snprintf(out->why, sizeof(out->why), "%s", p->why[0] != '\0' ?
	    p->why : "the key was not fetched");
}

int
keys_trust(struct keys *k, const char *peer)
{
	char account[FILES_ACCOUNT_MAX];
	struct peer *p = peer_get(k, peer);

	if (p == NULL || !p->have_server) {
		session_errorf("%s", p != NULL && p->why[0] != '\0' ? p->why :
		    "no key to trust");
		return -1;
	}
	if (files_account(peer, k->host, k->port, account,
	    sizeof(account)) != 0 || known_store(k, account, p->server) != 0)
		return -1;
	memcpy(p->known, p->server, E2E_KEY_BYTES);
	p->have_known = true;
	return 0;
}

/* ---- sealing and opening --------------------------------------------- */

int
keys_seal(struct keys *k, const char *peer, const char *text, size_t len,
    char **env, size_t *elen, char *why, size_t cap)
{
	const uint8_t *to;
	struct peer *p = NULL;
	size_t size;
	int n;

	*env = NULL;
	if (keys_own_load(k) != 0) {
		snprintf(why, cap, "no key pair for %s here: make one with "
		    "parley keygen", k->account);
		return SESSION_EXIT_USAGE;
	}
	if (strcmp(peer, k->me) == 0) {
		to = k->pk;
	} else {
		p = peer_get(k, peer);
		if (p == NULL || !p->have_server) {
			snprintf(why, cap, "%s", p != NULL &&
			    p->why[0] != '\0' ? p->why : "out of memory");
			return SESSION_EXIT_REFUSED;
		}
		if (sodium_memcmp(p->known, p->server, E2E_KEY_BYTES) != 0) {
			snprintf(why, cap, "the key of %s has changed and is "
			    "not trusted yet: check it with %s, then run "
			    "parley trust %s", peer, peer, peer);
			return SESSION_EXIT_KEY_CHANGED;
		}
		to = p->server;
	}
	size = e2e_sealed_size(len);
	*env = malloc(size);
	if (*env == NULL) {
		snprintf(why, cap, "out of memory");
		return SESSION_EXIT_USAGE;
	}
	sodium_mprotect_readonly(k->sk);
	n = e2e_seal(*env, size, text, len, to, k->sk);
	sodium_mprotect_noaccess(k->sk);
	if (n < 0) {
		free(*env);
		*env = NULL;
		snprintf(why, cap, "cannot encrypt for %s: unusable key", peer);
		return SESSION_EXIT_REFUSED;
	}
	*elen = (size_t)n;
	return SESSION_EXIT_OK;
}

/* Try one peer key on m into out. Returns true when it opened. */
static bool
try_open(struct keys *k, const struct proto_msg *m,
    const uint8_t pk[E2E_KEY_BYTES], struct keys_opened *out)
{
	const char *why;
	size_t n = 0;
	int r;

	if (out->text == NULL) {
		out->text = malloc(m->text_len + 1);
		if (out->text == NULL) {
			snprintf(out->why, sizeof(out->why), "out of memory");
			return false;
		}
		out->cap = m->text_len + 1;
	}
	sodium_mprotect_readonly(k->sk);
	r = e2e_open(out->text, m->text_len, &n, m->text, m->text_len, pk,
	    k->sk, &why);
	sodium_mprotect_noaccess(k->sk);
	if (r != 0) {
		snprintf(out->why, sizeof(out->why), "%s", why);
		return false;
	}
	out->text[n] = '\0';
	out->len = n;
	out->ok = true;
	return true;
}

enum keys_open_result
keys_open(struct keys *k, const struct proto_msg *m, bool final,
    struct keys_opened *out)
{
	const char *peer = keys_msg_peer(k, m);
	struct peer *p;
	int own;

	memset(out, 0, sizeof(*out));
	if (peer == NULL)
		return KEYS_OPEN_DONE;
	out->e2e = true;
	own = keys_own_load(k);
	if (own != 0) {
		snprintf(out->why, sizeof(out->why), own == 1 ? "no key pair "
		    "for %s here (parley keygen)" : "the key pair of %s is "
		    "unusable", k->account);
		return KEYS_OPEN_DONE;
	}
	if (strcmp(peer, k->me) == 0) {
		(void)try_open(k, m, k->pk, out);
		return KEYS_OPEN_DONE;
	}
	p = peer_get(k, peer);
	if (p == NULL) {
		snprintf(out->why, sizeof(out->why), "out of memory");
		return KEYS_OPEN_DONE;
	}
	if (p->have_known && try_open(k, m, p->known, out))
		return KEYS_OPEN_DONE;
	if (!p->fetched) {
		if (!final) {
			keys_opened_clear(out);
			out->e2e = true;
			return KEYS_OPEN_FETCH;
		}
		if (!p->have_known)
			snprintf(out->why, sizeof(out->why), "the key of %s "
			    "could not be fetched", peer);
		return KEYS_OPEN_DONE;
	}
	if (p->have_server && (!p->have_known ||
	    sodium_memcmp(p->known, p->server, E2E_KEY_BYTES) != 0) &&
	    try_open(k, m, p->server, out)) {
		out->unverified = p->have_known;
		return KEYS_OPEN_DONE;
	}
	if (!p->have_known && !p->have_server)
		snprintf(out->why, sizeof(out->why), "%s", p->why);
	return KEYS_OPEN_DONE;
}

void
keys_opened_clear(struct keys_opened *o)
{
	if (o->text != NULL) {
		sodium_memzero(o->text, o->cap);
		free(o->text);
	}
	memset(o, 0, sizeof(*o));
}
