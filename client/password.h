/*
 * password: where the client's password comes from (SPEC §7).
 *
 * Either one line of standard input (--password-stdin) or a prompt on the
 * controlling terminal with echo off. Never argv, never the environment.
 * The caller owns the buffer and wipes it with sodium_memzero() after use.
 */
#ifndef PARLEY_CLIENT_PASSWORD_H
#define PARLEY_CLIENT_PASSWORD_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Read a password into out (cap bytes, NUL-terminated): from stdin when
 * from_stdin, else from /dev/tty with a prompt naming user. Standard input
 * is read one byte at a time so nothing after the first line is consumed.
 * Returns 0, or -1 after printing why (no terminal, end of input, too
 * long). On failure out holds nothing of the password.
 */
int password_read(bool from_stdin, const char *user, char *out, size_t cap)
	__attribute__((warn_unused_result));

#endif
