/*
 * ui: the interactive chat mode of the parley client (no COMMAND given).
 *
 * Line-based: lines read from stdin are either slash commands or text for
 * the current target; incoming messages and events are printed as they
 * arrive. Works the same on a terminal and with piped input.
 */
#ifndef PARLEY_CLIENT_UI_H
#define PARLEY_CLIENT_UI_H

#include "session.h"

/*
 * Log in and run the chat until /quit, end of input or loss of the
 * connection. Returns the process exit code (enum session_exit).
 */
int ui_main(const struct session_opts *o);

#endif
