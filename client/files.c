/*
 * files: private files in the client's configuration folder (files.h).
 *
 * Paths are built in fixed buffers and never leave the folder: account
 * names are escaped by files_account(), and the sub-folder names are the
 * callers' constants. A file is opened with O_NOFOLLOW and checked with
 * fstat() on the open descriptor, so a symlink or a file swapped in by
 * someone else is refused rather than trusted.
 */
#include "files.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "session.h"

int
files_account(const char *user, const char *host, const char *port,
    char *out, size_t cap)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t hl = strlen(host), o, i;
	int n;
	unsigned char ch;

	if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
		host++;
		hl -= 2;
	}
	n = snprintf(out, cap, "%s@", user);
	if (n < 0 || (size_t)n >= cap)
		return -1;
	o = (size_t)n;
	for (i = 0; i < hl; i++) {
		ch = (unsigned char)host[i];
		if (ch >= 'A' && ch <= 'Z')
			ch = (unsigned char)(ch - 'A' + 'a');
		if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
		    ch == '.' || ch == ':' || ch == '_' || ch == '-') {
			if (o + 1 >= cap)
				return -1;
			out[o++] = (char)ch;
		} else {
			if (o + 3 >= cap)
				return -1;
			out[o++] = '%';
			out[o++] = hex[ch >> 4];
			out[o++] = hex[ch & 0xf];
		}
	}
	/* "user@" comes first and '/' is escaped: never "." or "..". */
	n = snprintf(out + o, cap - o, ":%s", port);
	if (n < 0 || (size_t)n >= cap - o)
		return -1;
	return 0;
}

/* The configuration folder into out. Returns 0 or -1 (reported). */
static int
base_dir(char *out, size_t cap)
{
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	int n;

	/* As conf_default_path(): a relative XDG_CONFIG_HOME is ignored. */
	if (xdg != NULL && xdg[0] == '/')
		n = snprintf(out, cap, "%s/parley", xdg);
	else if (home != NULL && home[0] != '\0')
		n = snprintf(out, cap, "%s/.config/parley", home);
	else {
		session_errorf("neither XDG_CONFIG_HOME nor HOME is set: no "
		    "folder for the client's files");
		return -1;
	}
	if (n < 0 || (size_t)n >= cap) {
		session_errorf("configuration folder path too long");
		return -1;
	}
	return 0;
}

/* mkdir -p with mode 0700 for what is missing; existing ones stay. */
static int
make_dirs(char *path)
{
	struct stat st;
	char *p;

	for (p = path + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		if (p[-1] != '/') {
			char save = *p;

			*p = '\0';
			if (mkdir(path, 0700) != 0 && errno != EEXIST) {
				session_errorf("cannot make the folder %s: %s",
				    path, strerror(errno));
				*p = save;
				return -1;
			}
			if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
				session_errorf("%s is not a folder", path);
				*p = save;
				return -1;
			}
			*p = save;
		}
		if (*p == '\0')
			return 0;
	}
}

int
files_path(const char *sub, const char *name, bool create, char *out,
    size_t cap)
{
	char dir[FILES_PATH_MAX];
	size_t dl;
	int n;

	if (base_dir(dir, sizeof(dir)) != 0)
		return -1;
	dl = strlen(dir);
	if (sub != NULL) {
		n = snprintf(dir + dl, sizeof(dir) - dl, "/%s", sub);
		if (n < 0 || (size_t)n >= sizeof(dir) - dl) {
			session_errorf("configuration folder path too long");
			return -1;
		}
	}
	if (create) {
		if (make_dirs(dir) != 0)
			return -1;
		/* Our own sub-folder holds secrets: nobody else looks in. */
		if (sub != NULL && chmod(dir, 0700) != 0) {
			session_errorf("cannot set the mode of %s: %s", dir,
			    strerror(errno));
			return -1;
		}
	}
	n = snprintf(out, cap, "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= cap) {
		session_errorf("path too long in %s", dir);
		return -1;
	}
	return 0;
}

/* fsync the folder holding path, so a rename survives a crash. */
static void
sync_dir(const char *path)
{
	char dir[FILES_PATH_MAX];
	char *slash;
	int fd;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash == NULL)
		return;
	*slash = '\0';
	fd = open(dir[0] != '\0' ? dir : "/", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC);
	if (fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
}

int
files_write(const char *path, const void *data, size_t len)
{
	char tmp[FILES_PATH_MAX];
	const char *p = data;
	ssize_t w;
	int fd, n, err;

	n = snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		session_errorf("path too long: %s", path);
		return -1;
	}
	/* mkstemp() creates the file 0600, whatever the umask. */
	fd = mkstemp(tmp);
	if (fd < 0) {
		session_errorf("cannot write %s: %s", path, strerror(errno));
		return -1;
	}
	while (len > 0) {
		w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			goto fail;
		p += w;
		len -= (size_t)w;
	}
	if (fchmod(fd, 0600) != 0 || fsync(fd) != 0)
		goto fail;
	if (close(fd) != 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) != 0)
		goto fail;
	sync_dir(path);
	return 0;
fail:
	err = errno;
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	session_errorf("cannot write %s: %s", path, strerror(err));
	return -1;
}

long
files_read(const char *path, char *buf, size_t cap)
{
	struct stat st;
	size_t got = 0;
	ssize_t r;
	int fd;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return -2;
		session_errorf("cannot read %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0) {
		session_errorf("cannot read %s: %s", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode) || st.st_uid != geteuid()) {
		session_errorf("%s is not a regular file of yours; not used",
		    path);
		goto fail;
	}
	if ((st.st_mode & 077) != 0) {
		session_errorf("%s is open to others (mode %04o); not used "
		    "(chmod 600 it)", path, (unsigned)(st.st_mode & 07777));
		goto fail;
	}
	if (st.st_size < 0 || (unsigned long long)st.st_size >= cap) {
		session_errorf("%s is too big; not used", path);
		goto fail;
	}
	while (got + 1 < cap) {
		r = read(fd, buf + got, cap - 1 - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			session_errorf("cannot read %s: %s", path,
			    strerror(errno));
			goto fail;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	buf[got] = '\0';
	close(fd);
	return (long)got;
fail:
	close(fd);
	return -1;
}

int
files_remove(const char *path)
{
	if (unlink(path) == 0) {
		sync_dir(path);
		return 0;
	}
	if (errno == ENOENT)
		return 1;
	session_errorf("cannot remove %s: %s", path, strerror(errno));
	return -1;
}
