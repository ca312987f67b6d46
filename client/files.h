/*
 * files: the client's own state in its configuration folder
 * ($XDG_CONFIG_HOME/parley, else ~/.config/parley): resume tokens
 * (tokens/), the account's end-to-end key pair (keys/) and the public
 * keys of peers seen before (known_keys). See docs/CLIENT.md.
 *
 * Everything here is small and private: folders are made 0700, files are
 * written 0600 and atomically (a temporary file in the same folder,
 * fsync, rename), and a file is only read back when it is a regular
 * file of this user that nobody else may read or write, the way ssh
 * treats its keys. What the files hold is left to token.c and keys.c.
 */
#ifndef PARLEY_CLIENT_FILES_H
#define PARLEY_CLIENT_FILES_H

#include <stdbool.h>
#include <stddef.h>

#define FILES_PATH_MAX    4096
/* "<user>@<host>:<port>", the host with every odd byte as %XX. */
#define FILES_ACCOUNT_MAX (32 + 1 + 255 * 3 + 1 + 5 + 1)

/*
 * The name of an account on a server, "alice@chat.example.org:7667", as
 * used for file names and in known_keys: the host in lowercase without
 * IPv6 brackets, any byte other than [a-z0-9.:_-] written as %XX (so
 * a name can never leave its folder). Returns 0, or -1 when it does
 * not fit in cap.
 */
int files_account(const char *user, const char *host, const char *port,
    char *out, size_t cap) __attribute__((warn_unused_result));

/*
 * The path of name in the folder sub ("tokens", "keys"; NULL: the
 * configuration folder itself) into out. With create, the folders are
 * made (0700) when missing, and sub is set to 0700. Returns 0, or -1
 * (reported) when there is no HOME, the path is too long or a folder
 * cannot be made.
 */
int files_path(const char *sub, const char *name, bool create, char *out,
    size_t cap) __attribute__((warn_unused_result));

/*
 * Replace the file at path with data[0..len), mode 0600, atomically: a
 * reader sees the old or the new content, never a mix. Returns 0, or -1
 * (reported).
 */
int files_write(const char *path, const void *data, size_t len)
	__attribute__((warn_unused_result));

/*
 * Read the whole file at path into buf (at most cap - 1 bytes; a NUL is
 * added). Returns its length; -2 when it does not exist (not reported);
 * -1 (reported) when it cannot be read, is too big, is not a regular
 * file of this user, or is open to group or others. The caller wipes
 * buf when it held a secret.
 */
long files_read(const char *path, char *buf, size_t cap)
	__attribute__((warn_unused_result));

/* Remove the file. Returns 0 removed, 1 not there, -1 (reported). */
int files_remove(const char *path);

#endif
