/*
 * scn_idle: many idle, logged-in TLS connections.
 *
 * Samples the server's RSS, logs in `conns` connections (spread over the
 * source addresses and round-robin over the users, so each user has many
 * sessions and the set-up costs few argon2 verifies), waits `settle`
 * seconds and samples again: the difference over the count is the memory
 * one idle authenticated connection costs. Then every connection sends
 * one PING — all must answer — and RSS is sampled a third time, which
 * shows what one burst of activity leaves behind.
 *
 * The server's login cost dominates the set-up: run it with cheap argon2
 * parameters (pwhash_ops = 1, pwhash_mem_kib = 8) unless the set-up
 * itself is what is measured.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

static void
ping_cmd(unsigned i, char *buf, size_t cap, void *arg)
{
	(void)arg;
	snprintf(buf, cap, "PING i%u", i);
}

int
scn_idle(const struct bench_opts *o, struct report *r)
{
	struct proc_sample base, loaded, after, idle_a, idle_b;
	struct bconn *conns = NULL, **ptrs = NULL;
	char *names = NULL;
	struct net net;
	unsigned i, n = o->conns, nusers = o->users < n ? o->users : n;
	uint64_t t0, t1;
	int rc = BENCH_EXIT_FAIL;

	if (net_init(&net, o, false) != 0)
		return BENCH_EXIT_FAIL;
	conns = calloc(n, sizeof(*conns));
	ptrs = calloc(n, sizeof(*ptrs));
	names = calloc(nusers, NAMES_LEN);
	if (conns == NULL || ptrs == NULL || names == NULL)
		goto out;
	for (i = 0; i < nusers; i++)
		bench_user(o, i, names + (size_t)i * NAMES_LEN, NAMES_LEN);
	for (i = 0; i < n; i++) {
		if (bconn_init(&conns[i], &net, i) != 0)
			goto out;
		conns[i].user = names + (size_t)(i % nusers) * NAMES_LEN;
		conns[i].secret = o->password;
		conns[i].auth = BA_PASSWORD;
		ptrs[i] = &conns[i];
	}
	report_u64(r, "conns", n);
	report_u64(r, "users", nusers);
	report_u64(r, "src_addrs", o->src_count);

	proc_sample(o->pid, &base);
	bench_info(o, "idle: logging in %u connections as %u users", n, nusers);
	t0 = bench_now_ns();
	if (bench_login_all(&net, ptrs, n, o->setup_timeout) != 0) {
		bench_err("set-up: %s", net.last_error);
		report_str(r, "error", "%s", net.last_error);
		report_u64(r, "logged_in", net.ready);
		goto out;
	}
	t1 = bench_now_ns();
	report_f(r, "setup_s", (double)(t1 - t0) / 1e9, 2);
	report_f(r, "logins_per_s", n / ((double)(t1 - t0) / 1e9), 0);
	report_u64(r, "login_retries", net.retries);

	/* Idle: nothing sent, nothing expected; a BYE would be a failure. */
	bench_info(o, "idle: %u connections up; settling %.1f s", n, o->settle);
	proc_sample(o->pid, &idle_a);
	net_run(&net, bench_now_ns() + (uint64_t)(o->settle * 1e9), NULL, NULL);
	proc_sample(o->pid, &loaded);
	idle_b = loaded;
	if (net.ready != n) {
		bench_err("%u of %u connections were closed while idle: %s",
		    n - net.ready, n, net.last_error);
		report_str(r, "error", "%s", net.last_error);
		goto out;
	}
	if (base.ok && loaded.ok) {
		report_u64(r, "rss_base_kib", (uint64_t)base.rss_kib);
		report_u64(r, "rss_idle_kib", (uint64_t)loaded.rss_kib);
		report_f(r, "rss_per_conn_kib",
		    (double)(loaded.rss_kib - base.rss_kib) / n, 2);
		report_f(r, "idle_cpu_pct", 100.0 *
		    (double)(idle_b.cpu_ns - idle_a.cpu_ns) /
		    (double)(idle_b.wall_ns - idle_a.wall_ns), 1);
		report_f(r, "setup_server_cpu_s",
		    (double)(idle_a.cpu_ns - base.cpu_ns) / 1e9, 2);
	}
	if (bench_roundtrip(&net, ptrs, n, ping_cmd, NULL, "OK PING",
	    o->setup_timeout) != 0) {
		bench_err("PING round: %s", net.last_error);
		report_str(r, "error", "%s", net.last_error);
		goto out;
	}
	net_run(&net, bench_now_ns() + (uint64_t)(o->settle * 1e9), NULL, NULL);
	proc_sample(o->pid, &after);
	if (after.ok) {
		report_u64(r, "rss_after_ping_kib", (uint64_t)after.rss_kib);
		report_f(r, "rss_per_conn_after_ping_kib",
		    (double)(after.rss_kib - base.rss_kib) / n, 2);
		report_u64(r, "server_hwm_kib", (uint64_t)after.hwm_kib);
		if (after.fds >= 0)
			report_u64(r, "server_fds", (uint64_t)after.fds);
	}
	rc = BENCH_EXIT_OK;
out:
	if (conns != NULL)
		for (i = 0; i < n; i++)
			bconn_free(&conns[i]);
	net_fini(&net);
	free(conns);
	free(ptrs);
	free(names);
	return rc;
}
