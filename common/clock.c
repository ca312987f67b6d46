/*
 * clock: wall-clock milliseconds and RFC 3339 timestamps (SPEC §1).
 *
 * Message times are wall-clock (CLOCK_REALTIME) because they are shown to
 * people and stored; timeouts use the event loop's monotonic clock instead
 * and do not come here.
 */
#include <time.h>

#include "clock.h"

/* 0000-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z: four-digit years. */
#define CLOCK_MIN_MS (INT64_C(-62167219200) * 1000)
#define CLOCK_MAX_MS (INT64_C(253402300799) * 1000 + 999)

/*
 * Milliseconds since the Unix epoch. clock_gettime(CLOCK_REALTIME) cannot
 * fail with a valid clock id and pointer; 0 is returned if it ever does.
 */
int64_t
clock_now_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
		return 0;
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Write v as exactly `digits` decimal digits (v >= 0, fits). */
static char *
put_num(char *p, int v, int digits)
{
	int i;

	for (i = digits - 1; i >= 0; i--) {
		p[i] = (char)('0' + v % 10);
		v /= 10;
	}
	return p + digits;
}

/*
 * Format ms (Unix epoch, UTC) as "YYYY-MM-DDTHH:MM:SS.mmmZ" into out and
 * return out. Times outside years 0000..9999 are clamped to that range so
 * the text always has this fixed shape and length.
 */
char *
clock_rfc3339(int64_t ms, char out[CLOCK_RFC3339_LEN])
{
	struct tm tm;
	time_t secs;
	int64_t frac;
	char *p = out;

	if (ms < CLOCK_MIN_MS)
		ms = CLOCK_MIN_MS;
	if (ms > CLOCK_MAX_MS)
		ms = CLOCK_MAX_MS;
	/* Floor division, so that -1 ms is 1969-12-31T23:59:59.999Z. */
	frac = ms % 1000;
	if (frac < 0)
		frac += 1000;
	secs = (time_t)((ms - frac) / 1000);
	if (gmtime_r(&secs, &tm) == NULL) {
		secs = 0;
		frac = 0;
		(void)gmtime_r(&secs, &tm);
	}

	p = put_num(p, tm.tm_year + 1900, 4);
	*p++ = '-';
	p = put_num(p, tm.tm_mon + 1, 2);
	*p++ = '-';
	p = put_num(p, tm.tm_mday, 2);
	*p++ = 'T';
	p = put_num(p, tm.tm_hour, 2);
	*p++ = ':';
	p = put_num(p, tm.tm_min, 2);
	*p++ = ':';
	p = put_num(p, tm.tm_sec, 2);
	*p++ = '.';
	p = put_num(p, (int)frac, 3);
	*p++ = 'Z';
	*p = '\0';
	return out;
}
