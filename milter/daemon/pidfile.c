/*
 * pidfile.c - the daemon's pidfile (pidfile.h): written and locked as
 * root before the privilege drop, removed at exit through a directory
 * descriptor opened before the drop; and the check parapetctl reload
 * makes before it signals the pid a file holds (issue 12: after the drop
 * the file was left behind, and reload signalled whatever pid it held).
 *
 * Why a directory of its own: unlinking needs write permission on the
 * directory, checked at unlink time, so no descriptor kept from before the
 * drop helps; Postfix's master keeps root instead, OpenDKIM's packages
 * give it /run/opendkim.  parapet gives the pidfile's directory to its
 * user only when that cannot hand anything else over: a directory it
 * created, or a root-owned one that no one else may write and that holds
 * nothing but the pidfile and parapet's own socket (systemd's
 * RuntimeDirectory=parapet).  Never /run, /var/run or /tmp.
 *
 * Safety as root: the file is opened with O_NOFOLLOW and must be a
 * regular file with one link, so a symlink or hard link planted in a
 * directory the user can write does not make root write elsewhere.
 * Limits: a pid is at most 31 bytes.  Not thread-safe; start-up and exit.
 */
#include "autoconfig.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "daemon/pidfile.h"
#include "base/util.h"

struct pidfile {
	char *path;		/* for messages */
	char *name;		/* in dirfd */
	int dirfd;
	int fd;			/* open and locked until pidfile_close */
	bool created;		/* the directory was made by pidfile_open */
};

/* split - the directory ("." for none) and the last component of path */
static void split(const char *path, char **dir, char **name)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL) {
		*dir = xstrdup(".");
		*name = xstrdup(path);
	} else {
		*dir = slash == path ? xstrdup("/") : xstrndup(path, (size_t)(slash - path));
		*name = xstrdup(slash + 1);
	}
}

/* read_pid - the pid written in an open file, or -1 */
static long read_pid(int fd)
{
	char buf[32];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	char *end;

	if (n <= 0)
		return -1;
	buf[n] = '\0';
	long pid = strtol(buf, &end, 10);
	if (end == buf || (*end != '\n' && *end != '\0') || pid <= 1)
		return -1;
	return pid;
}

/* same_file - the entry name of dirfd is the file also (same inode) */
static bool same_file(int dirfd, const char *name, const char *also)
{
	struct stat a, b;

	return also && fstatat(dirfd, name, &a, AT_SYMLINK_NOFOLLOW) == 0 &&
	       stat(also, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* only_ours - dirfd holds nothing but name and the file also */
static bool only_ours(int dirfd, const char *name, const char *also)
{
	int fd = dup(dirfd);
	DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;
	bool ok = dir != NULL;

	if (dir == NULL) {
		if (fd >= 0)
			close(fd);
		return false;
	}
	rewinddir(dir);
	while (ok && (de = readdir(dir)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
		    strcmp(de->d_name, name) == 0)
			continue;
		ok = same_file(dirfd, de->d_name, also);
	}
	closedir(dir);
	return ok;
}

/* pidfile_give - see pidfile.h */
void pidfile_give(struct pidfile *pf, uid_t uid, gid_t gid, const char *also)
{
	struct stat st;

	if (fstat(pf->dirfd, &st) != 0 || st.st_uid == uid)
		return;
	bool ours = pf->created || (st.st_uid == 0 && !(st.st_mode & (S_IWGRP | S_IWOTH | S_ISVTX)) &&
				only_ours(pf->dirfd, pf->name, also));
	if (ours && fchown(pf->dirfd, uid, gid) == 0)
		return;
	log_warn("pidfile %s: its directory is not parapet's own (it holds other files or "
		 "others may write it), so the user parapet runs as cannot remove the file at "
		 "exit; it is emptied instead.  Use a directory of its own, e.g. "
		 "/run/parapet/parapet.pid", pf->path);
}

/* pidfile_open - see pidfile.h */
struct pidfile *pidfile_open(const char *path, char **err)
{
	struct pidfile *pf = xcalloc(1, sizeof(*pf));
	struct stat st;
	char *dir, pid[32];

	pf->path = xstrdup(path);
	pf->fd = -1;
	split(path, &dir, &pf->name);
	pf->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (pf->dirfd < 0 && errno == ENOENT && mkdir(dir, 0755) == 0) {
		pf->created = true;
		pf->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	if (pf->dirfd < 0 || *pf->name == '\0') {
		*err = xasprintf("pidfile %s: directory %s: %s", path, dir,
				 *pf->name ? strerror(errno) : "no file name");
		goto fail;
	}
	pf->fd = openat(pf->dirfd, pf->name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (pf->fd < 0 || fstat(pf->fd, &st) != 0) {
		*err = xasprintf("pidfile %s: %s", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode) || st.st_nlink != 1) {
		*err = xasprintf("pidfile %s: not a regular file with one link", path);
		goto not_ours;
	}
	if (flock(pf->fd, LOCK_EX | LOCK_NB) != 0) {
		long other = read_pid(pf->fd);
		*err = other > 0 ? xasprintf("pidfile %s: parapet is already running (pid %ld)",
					     path, other)
				 : xasprintf("pidfile %s: locked by another process", path);
		goto not_ours;
	}
	int n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(pf->fd, 0) != 0 || pwrite(pf->fd, pid, (size_t)n, 0) != n) {
		*err = xasprintf("pidfile %s: %s", path, strerror(errno));
		goto fail;
	}
	free(dir);
	return pf;
not_ours:
	close(pf->fd);
	pf->fd = -1;	/* someone else's: pidfile_close must not remove it */
fail:
	free(dir);
	return pidfile_close(pf);
}

/* pidfile_close - see pidfile.h */
struct pidfile *pidfile_close(struct pidfile *pf)
{
	struct stat a, b;

	if (pf == NULL)
		return NULL;
	if (pf->fd >= 0) {
		/* only the file we wrote, not one put in its place */
		if (fstat(pf->fd, &a) == 0 &&
		    fstatat(pf->dirfd, pf->name, &b, AT_SYMLINK_NOFOLLOW) == 0 &&
		    a.st_dev == b.st_dev && a.st_ino == b.st_ino &&
		    unlinkat(pf->dirfd, pf->name, 0) != 0) {
			if (ftruncate(pf->fd, 0) != 0)
				log_warn("pidfile %s: cannot remove or empty it: %s", pf->path,
					 strerror(errno));
		}
		close(pf->fd);
	}
	if (pf->dirfd >= 0)
		close(pf->dirfd);
	free(pf->path);
	free(pf->name);
	free(pf);
	return NULL;
}

/* comm_is - /proc/PID/comm is name: 1, another program: 0, unknown: -1 */
static int comm_is(long pid, const char *name)
{
	char path[64], comm[64];
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/%ld/comm", pid);
	if ((fp = fopen(path, "r")) == NULL)
		return -1;
	if (fgets(comm, sizeof(comm), fp) == NULL) {
		fclose(fp);
		return -1;
	}
	fclose(fp);
	comm[strcspn(comm, "\n")] = '\0';
	return strcmp(comm, name) == 0;
}

/* pidfile_running - see pidfile.h */
long pidfile_running(const char *path, char **err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	long pid;

	if (fd < 0) {
		*err = xasprintf("%s: %s (is parapet running?)", path, strerror(errno));
		return -1;
	}
	if ((pid = read_pid(fd)) < 0) {
		*err = xasprintf("%s: no pid in it (parapet is not running)", path);
		close(fd);
		return -1;
	}
	/* a shared lock we can take means no daemon holds the file */
	bool held = flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
	close(fd);
	if (kill((pid_t)pid, 0) != 0 && errno == ESRCH) {
		*err = xasprintf("%s: stale: no process %ld (parapet is not running)", path, pid);
		return -1;
	}
	int is = comm_is(pid, "parapet");
	if (is == 0) {
		*err = xasprintf("%s: stale: process %ld is not parapet; not signalled", path, pid);
		return -1;
	}
	if (is < 0) {
		*err = xasprintf("%s: cannot tell whether process %ld is parapet (/proc); "
				 "not signalled", path, pid);
		return -1;
	}
	if (!held) {
		*err = xasprintf("%s: stale: no parapet holds it (process %ld is another "
				 "parapet); not signalled", path, pid);
		return -1;
	}
	return pid;
}
