/*
 * roster: two sorted, bounded arrays of names.
 *
 * Names arrive already normalised by names.h (lowercase), so plain strcmp
 * orders them and a prefix match is a strncmp. Insertion keeps the order
 * (memmove), which at ROSTER_MAX entries is cheap next to a terminal
 * redraw; lookups are only made when the user presses TAB.
 */
#include "roster.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "names.h"

struct names_set {
	char *v[ROSTER_MAX];
	size_t n;
};

static struct names_set users, rooms;

/* Index of name in set, or where it would go (with *found false). */
static size_t
find(const struct names_set *set, const char *name, bool *found)
{
	size_t lo = 0, hi = set->n, mid;
	int c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = strcmp(set->v[mid], name);
		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

void
roster_add(const char *name)
{
	struct names_set *set;
	size_t len = strlen(name), at;
	bool found;
	char *copy;

	if (names_room_valid(name, len))
		set = &rooms;
	else if (names_user_valid(name, len))
		set = &users;
	else
		return;
	at = find(set, name, &found);
	if (found || set->n == ROSTER_MAX)
		return;
	copy = strdup(name);
	if (copy == NULL)
		return;
	memmove(&set->v[at + 1], &set->v[at], (set->n - at) *
	    sizeof(set->v[0]));
	set->v[at] = copy;
	set->n++;
}

const char *
roster_match(unsigned mask, const char *prefix, size_t idx)
{
	const struct names_set *sets[2] = { &users, &rooms };
	size_t plen = strlen(prefix), i, at;
	bool found;
	int k;

	for (k = 0; k < 2; k++) {
		if (!(mask & (k == 0 ? ROSTER_USERS : ROSTER_ROOMS)))
			continue;
		at = find(sets[k], prefix, &found);
		for (i = at; i < sets[k]->n &&
		    strncmp(sets[k]->v[i], prefix, plen) == 0; i++) {
			if (idx == 0)
				return sets[k]->v[i];
			idx--;
		}
	}
	return NULL;
}

void
roster_clear(void)
{
	size_t i;

	for (i = 0; i < users.n; i++)
		free(users.v[i]);
	for (i = 0; i < rooms.n; i++)
		free(rooms.v[i]);
	users.n = 0;
	rooms.n = 0;
}
