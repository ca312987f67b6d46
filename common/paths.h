/*
 * paths: files that live beside the database (the state directory):
 * token.key and parleyd.sock, found the same way by parleyd and parleyctl.
 */
#ifndef PARLEY_PATHS_H
#define PARLEY_PATHS_H

#include <stddef.h>

#define PATHS_TOKEN_KEY   "token.key"
#define PATHS_CONTROL     "parleyd.sock"

/*
 * Write the path of `name` in the folder of `database` into out. Returns
 * 0, or -1 when it does not fit.
 */
int paths_beside(const char *database, const char *name, char *out,
    size_t outlen) __attribute__((warn_unused_result));

#endif
