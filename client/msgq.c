/*
 * msgq: a linked FIFO of message copies (msgq.h). Appending never moves
 * an entry, so a pointer to the head stays valid while callbacks append
 * to the queue.
 */
#include "msgq.h"

#include <stdlib.h>
#include <string.h>

void
msgq_init(struct msgq *q)
{
	q->head = NULL;
	q->tail = &q->head;
	q->n = 0;
}

int
msgq_push(struct msgq *q, const struct proto_msg *m, unsigned flags)
{
	struct msgq_item *it;

	if (q->n >= MSGQ_MAX)
		return -1;
	it = malloc(sizeof(*it) + m->text_len + 1);
	if (it == NULL)
		return -1;
	it->next = NULL;
	it->m = *m;
	memcpy(it->text, m->text, m->text_len);
	it->text[m->text_len] = '\0';
	it->m.text = it->text;
	it->flags = flags;
	*q->tail = it;
	q->tail = &it->next;
	q->n++;
	return 0;
}

struct msgq_item *
msgq_head(const struct msgq *q)
{
	return q->head;
}

void
msgq_pop(struct msgq *q)
{
	struct msgq_item *it = q->head;

	if (it == NULL)
		return;
	q->head = it->next;
	if (q->head == NULL)
		q->tail = &q->head;
	q->n--;
	free(it);
}

void
msgq_clear(struct msgq *q)
{
	while (q->head != NULL)
		msgq_pop(q);
}
