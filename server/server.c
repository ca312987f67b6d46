/*
 * server: the one instance of the loop thread's shared state (server.h).
 * Kept apart from main.c so the server's modules link into tests too.
 */
#include "server.h"

struct server srv;
