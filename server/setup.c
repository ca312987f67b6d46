/*
 * setup: the side services' start and stop, in one place (setup.h).
 */
#include "setup.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "control.h"
#include "paths.h"
#include "server.h"
#include "throttle.h"
#include "token.h"

int
setup_services_start(uv_loop_t *loop, char *err, size_t errlen)
{
	char path[PATH_MAX];
	char why[PATH_MAX + 64];

	if (throttle_init(loop) != 0) {
		snprintf(err, errlen, "cannot start login throttling");
		return -1;
	}
	if (paths_beside(srv.cfg.database, PATHS_TOKEN_KEY, path,
	    sizeof(path)) != 0 ||
	    token_init(path, why, sizeof(why)) != 0) {
		snprintf(err, errlen, "resume tokens: %s", why);
		return -1;
	}
	/* sun_path holds 108 bytes: a longer path cannot be bound. */
	if (paths_beside(srv.cfg.database, PATHS_CONTROL, path,
	    sizeof(path)) != 0 || strlen(path) >= 108 ||
	    control_start(loop, path) != 0) {
		snprintf(err, errlen, "cannot open the control socket (see "
		    "above); the database folder path must be short");
		return -1;
	}
	return 0;
}

void
setup_services_stop(void)
{
	control_stop();
}

void
setup_services_fini(void)
{
	throttle_fini();
	token_fini();
}
