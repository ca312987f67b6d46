/*
 * paths: names of the files in the state directory (paths.h).
 */
#include "paths.h"

#include <stdio.h>
#include <string.h>

int
paths_beside(const char *database, const char *name, char *out, size_t outlen)
{
	const char *slash = strrchr(database, '/');
	int n;

	if (slash == NULL)
		n = snprintf(out, outlen, "%s", name);
	else
		n = snprintf(out, outlen, "%.*s/%s", (int)(slash - database),
		    database, name);
	return (n < 0 || (size_t)n >= outlen) ? -1 : 0;
}
