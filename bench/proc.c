/*
 * proc: the server's CPU time, memory and descriptors from /proc/<pid>.
 *
 * CPU time is utime + stime of /proc/<pid>/stat, which covers every thread
 * (the event loop, the storage thread and the hash pool) at clock-tick
 * resolution: 10 ms in a 10 s window is 0.1 %.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

static void
read_stat(pid_t pid, struct proc_sample *s)
{
	char path[64], buf[1024], *p;
	unsigned long long ut, st;
	long ticks = sysconf(_SC_CLK_TCK);
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* The command name may hold spaces: fields start after the last ')'. */
	if ((p = strrchr(buf, ')')) == NULL)
		return;
	/* state(3) ... utime(14) stime(15): skip 11 fields after state. */
	if (sscanf(p + 2, "%*c %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %llu %llu",
	    &ut, &st) != 2 || ticks <= 0)
		return;
	s->cpu_ns = (ut + st) * (BENCH_NS_PER_S / (uint64_t)ticks);
	s->ok = true;
}

static void
read_status(pid_t pid, struct proc_sample *s)
{
	char path[64], line[256];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	if ((f = fopen(path, "r")) == NULL) {
		s->ok = false;
		return;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "VmRSS:", 6) == 0)
			s->rss_kib = strtol(line + 6, NULL, 10);
		else if (strncmp(line, "VmHWM:", 6) == 0)
			s->hwm_kib = strtol(line + 6, NULL, 10);
		else if (strncmp(line, "Threads:", 8) == 0)
			s->threads = strtol(line + 8, NULL, 10);
	}
	fclose(f);
}

static long
count_fds(pid_t pid)
{
	char path[64];
	struct dirent *d;
	long n = 0;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%ld/fd", (long)pid);
	if ((dir = opendir(path)) == NULL)
		return -1;
	while ((d = readdir(dir)) != NULL)
		if (d->d_name[0] != '.')
			n++;
	closedir(dir);
	return n;
}

/* Busy time of all CPUs: user, nice, system, irq, softirq, steal. */
static uint64_t
machine_busy(void)
{
	unsigned long long v[8] = { 0 };
	long ticks = sysconf(_SC_CLK_TCK);
	FILE *f = fopen("/proc/stat", "r");
	int n;

	if (f == NULL || ticks <= 0) {
		if (f != NULL)
			fclose(f);
		return 0;
	}
	/* cpu user nice system idle iowait irq softirq steal */
	n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0],
	    &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]);
	fclose(f);
	if (n < 7)
		return 0;
	return (v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) *
	    (BENCH_NS_PER_S / (uint64_t)ticks);
}

/*
 * CPU time of the kernel's own threads (children of kthreadd, pid 2):
 * writeback and journal threads work for the server's fsyncs, so their
 * time is told apart from that of other programs.
 */
static uint64_t
kthreads_cpu(void)
{
	long ticks = sysconf(_SC_CLK_TCK);
	unsigned long long sum = 0;
	struct dirent *d;
	DIR *dir;

	if (ticks <= 0 || (dir = opendir("/proc")) == NULL)
		return 0;
	while ((d = readdir(dir)) != NULL) {
		char path[sizeof(d->d_name) + 16], buf[512], *p;
		unsigned long long ut, st;
		long ppid;
		size_t n;
		FILE *f;

		if (d->d_name[0] < '0' || d->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", d->d_name);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[n] = '\0';
		if ((p = strrchr(buf, ')')) == NULL)
			continue;
		if (sscanf(p + 2, "%*c %ld %*s %*s %*s %*s %*s %*s %*s %*s %*s "
		    "%llu %llu", &ppid, &ut, &st) != 3)
			continue;
		if (ppid == 2 || strcmp(d->d_name, "2") == 0)
			sum += ut + st;
	}
	closedir(dir);
	return sum * (BENCH_NS_PER_S / (uint64_t)ticks);
}

void
proc_sample(pid_t pid, struct proc_sample *s)
{
	struct proc_sample self;

	memset(s, 0, sizeof(*s));
	s->wall_ns = bench_now_ns();
	s->fds = -1;
	s->machine_busy_ns = machine_busy();
	s->kthreads_cpu_ns = kthreads_cpu();
	memset(&self, 0, sizeof(self));
	read_stat(getpid(), &self);
	s->self_cpu_ns = self.cpu_ns;
	if (pid <= 0)
		return;
	read_stat(pid, s);
	if (!s->ok)
		return;
	read_status(pid, s);
	s->fds = count_fds(pid);
}

unsigned
proc_cpus(pid_t pid)
{
	char path[64], line[512];
	unsigned n = 0;
	FILE *f;

	if (pid <= 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		char *p, *save = NULL;

		if (strncmp(line, "Cpus_allowed_list:", 18) != 0)
			continue;
		/* "0", "0-3", "0,2,4-5" */
		for (p = strtok_r(line + 18, ",\n", &save); p != NULL;
		    p = strtok_r(NULL, ",\n", &save)) {
			unsigned a, b;

			if (sscanf(p, "%u-%u", &a, &b) == 2 && b >= a)
				n += b - a + 1;
			else if (sscanf(p, "%u", &a) == 1)
				n++;
		}
	}
	fclose(f);
	return n;
}
