/*
 * cli: the scripting commands of the parley client (SPEC §7):
 * send, listen (listen.c), history, the small ones (join, leave, rooms,
 * who, whoami) and those about keys and the token (cli_keys.c: keygen,
 * fingerprint, trust, logout). Each checks its arguments before
 * connecting, so a usage error never touches the network.
 */
#ifndef PARLEY_CLIENT_CLI_H
#define PARLEY_CLIENT_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "session.h"

/*
 * Run the command in argv[0] with its arguments. Returns the process exit
 * code (enum session_exit); errors are already reported.
 */
int cli_main(const struct session_opts *o, int argc, char **argv);

/* True when argv[0] names a command cli_main() knows. */
bool cli_known(const char *cmd);

/*
 * True when s[0..len) may be sent as message text: non-empty valid UTF-8
 * without control characters (a newline would start a second command).
 */
bool cli_text_ok(const char *s, size_t len);

/* Print the list of commands (for --help). */
void cli_usage(FILE *f);

/* listen (listen.c): print incoming messages, reconnecting as needed. */
int cli_listen(const struct session_opts *o, int argc, char **argv);

/* cli_keys.c: keygen, fingerprint, trust, logout. */
int cli_keygen(const struct session_opts *o, int argc, char **argv);
int cli_fingerprint(const struct session_opts *o, int argc, char **argv);
int cli_trust(const struct session_opts *o, int argc, char **argv);
int cli_logout(const struct session_opts *o, int argc, char **argv);

/* ---- helpers shared by cli.c, cli_keys.c and listen.c ---- */

/*
 * Connect and log in for a one-shot command (creds.c; the password is
 * wiped once accepted). Returns an exit code; failures are reported.
 */
int cli_start(const struct session_opts *o, struct session **s)
	__attribute__((warn_unused_result));

/*
 * End a one-shot command: QUIT when the session is still good, free it,
 * flush stdout. Returns rc, or the output failure when rc was 0.
 */
int cli_finish(struct session *s, int rc);

/* Report "cmd: what (see parley --help)"; returns SESSION_EXIT_USAGE. */
int cli_usage_err(const char *cmd, const char *what);

/* Normalise a #room argument into out; reports and returns an exit code. */
int cli_parse_room(const char *cmd, const char *arg,
    char out[NAMES_ROOM_MAX + 1]);

/* A decimal number in [min, max]. Returns 0 or -1. */
int cli_parse_count(const char *s, unsigned long long min,
    unsigned long long max, unsigned long long *out);

/*
 * Flush stdout and report a write failure (quiet for a closed pipe).
 * Returns SESSION_EXIT_OK or SESSION_EXIT_USAGE.
 */
int cli_output_done(void);

/* Send PING and wait for its answer. Returns an exit code. */
int cli_ping(struct session *s);

/*
 * One turn of waiting, after the caller has handled what the server sent
 * (session_pump): send a keepalive PING when due, else sleep in poll()
 * until the server or fd (if >= 0) has something or the next PING is due.
 * Sets *ready when fd is readable. Returns an exit code.
 */
int cli_wait_input(struct session *s, int fd, bool *ready);

#endif
