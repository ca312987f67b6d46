/*
 * cli: the scripting commands of the parley client (SPEC §7):
 * send, listen, history, and the small ones (join, leave, rooms, who,
 * whoami). Each checks its arguments before connecting, so a usage error
 * never touches the network.
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

#endif
