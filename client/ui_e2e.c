/*
 * ui_e2e: end-to-end encryption in the interactive mode (docs/E2E.md).
 *
 * The chat never waits for an answer, so keys are fetched the chat's
 * way: "GETKEY peer" goes into the FIFO of commands like any other
 * (UI_K_GETKEY), and what needs the key waits meanwhile —
 *
 *  - incoming messages (MSG, and HIST from /history) that need a
 *    sender's key not fetched yet wait in show_q, and every message
 *    after them too, so the screen keeps the server's order;
 *  - with /e2e on, each line for a user waits in send_q until the
 *    recipient's key is in, then is sealed (keys_seal) and sent; a
 *    changed, untrusted key or a missing one is reported and the line
 *    is not sent. Lines for rooms are refused while /e2e is on: rooms
 *    are not end-to-end encrypted.
 *
 * ui_e2e_tick(), called by the loop after each batch of server lines,
 * works both queues off. Callbacks only queue and record.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "display.h"
#include "ui_int.h"

#define Q_DATE 0x1                      /* show with the date */
#define Q_ECHO 0x2                      /* own SEND echo: text is plain */
#define Q_E2E  0x4                      /* the echo went encrypted */

/* keys.c's news and warnings go above the prompt. */
static void
on_key_note(void *arg, bool warning, const char *msg)
{
	(void)arg;
	if (warning)
		ui_report(msg);
	else
		ui_note("%s", msg);
}

int
ui_e2e_init(struct ui *ui, const struct session_opts *o)
{
	msgq_init(&ui->show_q);
	msgq_init(&ui->send_q);
	ui->keys = keys_new(o, on_key_note, ui);
	return ui->keys != NULL ? 0 : -1;
}


/* Whether a GETKEY for peer waits for its answer. */
static bool
getkey_pending(const struct ui *ui, const char *peer)
{
	const struct ui_pending *p;
	unsigned i;

	for (i = 0; i < ui->count; i++) {
		p = &ui->q[(ui->head + i) % UI_PENDING_MAX];
		if (p->kind == UI_K_GETKEY && strcmp(p->target, peer) == 0)
			return true;
	}
	return false;
}

/*
 * Ask for peer's key unless already asked. Returns false when it cannot
 * be asked now (offline, FIFO full): the caller tries again later.
 */
static bool
ask_key(struct ui *ui, const char *peer)
{
	char cmd[NAMES_USER_MAX + 8];

	if (getkey_pending(ui, peer))
		return true;
	if (link_session(ui->l) == NULL || ui->lost ||
	    !ui_room_for(ui, UI_PENDING_RESERVE))
		return false;
	snprintf(cmd, sizeof(cmd), "GETKEY %s", peer);
	return ui_issue_simple(ui, UI_K_GETKEY, peer, cmd) == 0;
}

static void
show_echo(struct ui *ui, const struct proto_msg *m, bool e2e)
{
	struct keys_opened op;

	memset(&op, 0, sizeof(op));
	op.e2e = e2e;
	op.ok = true;
	/* Shown from m itself: op.text stays NULL. */
	ui_show_msg(ui, m, false, e2e ? &op : NULL);
}

void
ui_e2e_show(struct ui *ui, const struct proto_msg *m, bool with_date)
{
	struct keys_opened op;

	if (msgq_head(&ui->show_q) == NULL &&
	    keys_open(ui->keys, m, false, &op) == KEYS_OPEN_DONE) {
		ui_show_msg(ui, m, with_date, &op);
		keys_opened_clear(&op);
		return;
	}
	if (msgq_push(&ui->show_q, m, with_date ? Q_DATE : 0) != 0) {
		(void)keys_open(ui->keys, m, true, &op);
		ui_show_msg(ui, m, with_date, &op);
		keys_opened_clear(&op);
		return;
	}
	ui_e2e_tick(ui);
}

void
ui_e2e_echo(struct ui *ui, const struct proto_msg *m, bool e2e)
{
	if (msgq_head(&ui->show_q) == NULL ||
	    msgq_push(&ui->show_q, m, Q_ECHO | (e2e ? Q_E2E : 0)) != 0)
		show_echo(ui, m, e2e);
}

void
ui_e2e_send(struct ui *ui, const char *target, const char *text,
    size_t len)
{
	struct proto_msg m;

	memset(&m, 0, sizeof(m));
	snprintf(m.to, sizeof(m.to), "%s", target);
	m.text = text;
	m.text_len = len;
	if (msgq_push(&ui->send_q, &m, 0) != 0) {
		ui_note("too many lines waiting; not sent");
		return;
	}
	ui_e2e_tick(ui);
}

void
ui_e2e_answer(struct ui *ui, const char *peer, const char *line, size_t len)
{
	/* "Not now" leaves the key unfetched: the tick asks again. */
	(void)keys_answer(ui->keys, peer, line, len);
}

/*
 * Show queued messages until one needs a key not here yet (final: the
 * end; show them all, as not decryptable where a key is missing).
 */
static void
tick_show(struct ui *ui, bool final)
{
	struct keys_opened op;
	struct msgq_item *it;

	while ((it = msgq_head(&ui->show_q)) != NULL) {
		if (it->flags & Q_ECHO) {
			show_echo(ui, &it->m, (it->flags & Q_E2E) != 0);
		} else if (keys_open(ui->keys, &it->m, final, &op) ==
		    KEYS_OPEN_FETCH) {
			/* Asked, or to be asked once back online. */
			(void)ask_key(ui, keys_msg_peer(ui->keys, &it->m));
			return;
		} else {
			ui_show_msg(ui, &it->m, (it->flags & Q_DATE) != 0,
			    &op);
			keys_opened_clear(&op);
		}
		msgq_pop(&ui->show_q);
	}
}

/* Seal and send queued lines until one needs a key not here yet. */
static void
tick_send(struct ui *ui)
{
	struct msgq_item *it;
	char why[256], *env, *cmd;
	size_t elen, tl, clen;
	int rc;

	while ((it = msgq_head(&ui->send_q)) != NULL) {
		if (!keys_fetched(ui->keys, it->m.to)) {
			(void)ask_key(ui, it->m.to);
			return;
		}
		if (link_session(ui->l) == NULL || ui->lost ||
		    !ui_room_for(ui, UI_PENDING_RESERVE))
			return;
		rc = keys_seal(ui->keys, it->m.to, it->m.text, it->m.text_len,
		    &env, &elen, why, sizeof(why));
		if (rc != SESSION_EXIT_OK) {
			ui_report(why);
			ui_note("not sent to %s", it->m.to);
		} else {
			tl = strlen(it->m.to);
			clen = 5 + tl + 1 + elen;
			cmd = malloc(clen + 1);
			if (cmd == NULL) {
				ui_note("out of memory; not sent");
			} else {
				snprintf(cmd, clen + 1, "SEND %s %s", it->m.to,
				    env);
				(void)ui_issue_send(ui, it->m.to, it->m.text,
				    it->m.text_len, cmd, clen, true);
				free(cmd);
			}
			free(env);
		}
		msgq_pop(&ui->send_q);
	}
}

void
ui_e2e_tick(struct ui *ui)
{
	tick_show(ui, false);
	tick_send(ui);
}

void
ui_e2e_free(struct ui *ui)
{
	struct msgq_item *it;

	if (ui->keys != NULL)
		tick_show(ui, true);
	while ((it = msgq_head(&ui->send_q)) != NULL) {
		ui_note("not sent to %s (no key came in time): %.*s",
		    it->m.to, (int)it->m.text_len, it->m.text);
		msgq_pop(&ui->send_q);
	}
	msgq_clear(&ui->show_q);
	keys_free(ui->keys);
	ui->keys = NULL;
}

void
ui_e2e_toggle(struct ui *ui, const char *arg, size_t alen)
{
	bool on;
	int r;

	if (alen == 0)
		on = !ui->e2e;
	else if (alen == 2 && strncmp(arg, "on", 2) == 0)
		on = true;
	else if (alen == 3 && strncmp(arg, "off", 3) == 0)
		on = false;
	else {
		ui_note("usage: /e2e [on|off]");
		return;
	}
	if (on && (r = keys_own_load(ui->keys)) != 0) {
		if (r == 1)
			ui_note("no key pair for %s: make one with parley "
			    "keygen, then /e2e again", keys_account(ui->keys));
		return;
	}
	ui->e2e = on;
	if (on)
		ui_note("end-to-end encryption on: messages to users are "
		    "encrypted; lines for rooms are not sent until /e2e off");
	else
		ui_note("end-to-end encryption off: messages go as plain text");
}
