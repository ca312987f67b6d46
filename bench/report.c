/*
 * report: a run's results as ordered key=value pairs.
 *
 * Printed as one line on stdout ("scenario=fanout result=ok ..."), which
 * scripts/bench.sh parses, and optionally appended as one JSON object per
 * line to a file. Values that look like numbers are JSON numbers; the
 * rest are strings. Keys are fixed by the scenarios; values never hold
 * spaces on the key=value line (they are replaced by '_').
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

static char *
slot(struct report *r, const char *key, bool num)
{
	unsigned i;

	for (i = 0; i < r->n; i++)
		if (strcmp(r->kv[i].key, key) == 0)
			break;
	if (i == r->n) {
		if (r->n == REPORT_MAX)
			return NULL;
		r->n++;
		snprintf(r->kv[i].key, sizeof(r->kv[i].key), "%s", key);
	}
	r->kv[i].num = num;
	return r->kv[i].val;
}

void
report_init(struct report *r, const char *scenario)
{
	memset(r, 0, sizeof(*r));
	report_str(r, "scenario", "%s", scenario);
	report_str(r, "result", "ok");
}

void
report_str(struct report *r, const char *key, const char *fmt, ...)
{
	char *v = slot(r, key, false);
	va_list ap;

	if (v == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(v, sizeof(r->kv[0].val), fmt, ap);
	va_end(ap);
}

void
report_u64(struct report *r, const char *key, uint64_t v)
{
	char *s = slot(r, key, true);

	if (s != NULL)
		snprintf(s, sizeof(r->kv[0].val), "%llu", (unsigned long long)v);
}

void
report_f(struct report *r, const char *key, double v, int decimals)
{
	char *s;

	if (!isfinite(v)) {
		report_str(r, key, "nan");      /* a JSON string, not a number */
		return;
	}
	s = slot(r, key, true);
	if (s != NULL)
		snprintf(s, sizeof(r->kv[0].val), "%.*f", decimals, v);
}

void
report_hist(struct report *r, const char *prefix, const struct hist *h)
{
	static const struct { const char *name; double p; } pcts[] = {
		{ "p50", 50 }, { "p90", 90 }, { "p99", 99 }, { "max", 100 },
	};
	char key[48];
	size_t i;

	snprintf(key, sizeof(key), "%s_samples", prefix);
	report_u64(r, key, h->count);
	for (i = 0; i < sizeof(pcts) / sizeof(pcts[0]); i++) {
		snprintf(key, sizeof(key), "%s_%s_us", prefix, pcts[i].name);
		report_f(r, key, (double)hist_pct(h, pcts[i].p) / 1000.0, 1);
	}
	snprintf(key, sizeof(key), "%s_mean_us", prefix);
	report_f(r, key, h->count ? (double)(h->sum / h->count) / 1000.0 : 0, 1);
}

void
report_proc(struct report *r, const struct proc_sample *a,
    const struct proc_sample *b)
{
	double cpu, wall;

	if (!a->ok || !b->ok)
		return;
	cpu = (double)(b->cpu_ns - a->cpu_ns) / 1e9;
	wall = (double)(b->wall_ns - a->wall_ns) / 1e9;
	report_f(r, "server_cpu_s", cpu, 3);
	report_f(r, "server_cpu_pct", wall > 0 ? 100.0 * cpu / wall : 0, 1);
	report_u64(r, "server_rss_kib", (uint64_t)b->rss_kib);
	report_u64(r, "server_hwm_kib", (uint64_t)b->hwm_kib);
	report_u64(r, "server_threads", (uint64_t)b->threads);
	if (b->fds >= 0)
		report_u64(r, "server_fds", (uint64_t)b->fds);
	if (a->machine_busy_ns != 0 && b->machine_busy_ns >= a->machine_busy_ns &&
	    wall > 0) {
		double all = (double)(b->machine_busy_ns - a->machine_busy_ns) /
		    1e9;
		double self = (double)(b->self_cpu_ns - a->self_cpu_ns) / 1e9;
		double kt = (double)(b->kthreads_cpu_ns - a->kthreads_cpu_ns) /
		    1e9;
		double other = all - cpu - self - kt;

		report_f(r, "bench_cpu_pct", 100.0 * self / wall, 1);
		report_f(r, "kthreads_cpu_pct", 100.0 * kt / wall, 1);
		report_f(r, "other_cpu_pct", other > 0 ? 100.0 * other / wall : 0,
		    1);
	}
}

static void
json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

int
report_emit(const struct report *r, const char *json_path)
{
	unsigned i;
	FILE *f;

	for (i = 0; i < r->n; i++) {
		const char *p;

		printf("%s%s=", i ? " " : "", r->kv[i].key);
		for (p = r->kv[i].val; *p; p++)
			putchar(*p == ' ' || *p == '\t' || *p == '\n' ? '_' : *p);
	}
	putchar('\n');
	fflush(stdout);
	if (json_path == NULL)
		return 0;
	if ((f = fopen(json_path, "a")) == NULL) {
		bench_err("cannot open %s", json_path);
		return -1;
	}
	fputc('{', f);
	for (i = 0; i < r->n; i++) {
		if (i)
			fputc(',', f);
		json_string(f, r->kv[i].key);
		fputc(':', f);
		if (r->kv[i].num)
			fputs(r->kv[i].val, f);
		else
			json_string(f, r->kv[i].val);
	}
	fputs("}\n", f);
	if (fclose(f) != 0) {
		bench_err("cannot write %s", json_path);
		return -1;
	}
	return 0;
}
