/*
 * record: one message as one line of output, for listen and history.
 *
 * Plain:  ID TIME FROM TO TEXT   (TEXT escaped by display.c; in colour on
 *                                 a terminal, same fields and order)
 * JSON:   {"id":ID,"time":"TIME","from":"FROM","to":"TO","text":"TEXT"}
 *         one object per line (JSON Lines), for jq and scripts.
 */
#ifndef PARLEY_CLIENT_RECORD_H
#define PARLEY_CLIENT_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "session.h"

/* Print m in the plain form or as JSON, with the newline. */
void record_print(FILE *f, const struct proto_msg *m, bool json);

/*
 * Write s[0..len) as a JSON string, quotes included: '"' and '\' escaped,
 * control characters (U+0000-U+001F, DEL, C1) as \uXXXX or the short
 * escapes, U+2028/U+2029 as \uXXXX (they end lines in JavaScript), other
 * UTF-8 kept as it is, each invalid byte replaced by U+FFFD so the output
 * is always valid UTF-8 and valid JSON.
 */
void record_json_string(FILE *f, const char *s, size_t len);

#endif
