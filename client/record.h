/*
 * record: one message as one line of output, for listen and history.
 *
 * Plain:  ID TIME FROM TO TEXT   (TEXT escaped by display.c; in colour on
 *                                 a terminal, same fields and order)
 * JSON:   {"id":ID,"time":"TIME","from":"FROM","to":"TO","text":"TEXT"}
 *         one object per line (JSON Lines), for jq and scripts.
 *
 * An end-to-end encrypted direct message (keys.h) is shown opened:
 *   plain  ... TO [e2e] PLAINTEXT
 *          ... TO [e2e: unverified key] PLAINTEXT     (the key changed)
 *          ... TO [e2e: cannot decrypt: REASON]
 *   JSON   "text" is the plaintext and "e2e":true is added; when it could
 *          not be opened "text" is the envelope and "e2e_error" says why;
 *          "e2e_warning" marks an unverified key.
 */
#ifndef PARLEY_CLIENT_RECORD_H
#define PARLEY_CLIENT_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "keys.h"
#include "session.h"

/*
 * Print m in the plain form or as JSON, with the newline. op (may be
 * NULL) is what keys_open() made of it.
 */
void record_print(FILE *f, const struct proto_msg *m,
    const struct keys_opened *op, bool json);

/*
 * The marker that goes before an opened message's text, as above
 * ("[e2e] ", ...) into out; "" when op is NULL or no envelope. Returns
 * out.
 */
const char *record_e2e_marker(const struct keys_opened *op, char *out,
    size_t cap);

/*
 * Write s[0..len) as a JSON string, quotes included: '"' and '\' escaped,
 * control characters (U+0000-U+001F, DEL, C1) as \uXXXX or the short
 * escapes, U+2028/U+2029 as \uXXXX (they end lines in JavaScript), other
 * UTF-8 kept as it is, each invalid byte replaced by U+FFFD so the output
 * is always valid UTF-8 and valid JSON.
 */
void record_json_string(FILE *f, const char *s, size_t len);

#endif
