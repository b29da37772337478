/*
 * pidfile.h - the daemon's pidfile (parapet.conf: pidfile), and how
 * parapetctl reload finds the daemon through it.
 *
 * The daemon opens, locks (flock) and writes the file as root before it
 * drops privileges, and keeps it open: the lock says a parapet is alive
 * behind the file (as Postfix's master.pid does), so a file left by a
 * killed daemon is never taken for a running one, and a second daemon
 * with the same pidfile refuses to start.  At exit it removes the file
 * through the directory it opened as root; the directory must be
 * writable by the `user` parapet runs as by then, which pidfile_open
 * arranges when the directory is parapet's own (OpenDKIM's packages do
 * the same with /run/opendkim).
 */
#ifndef PARAPET_PIDFILE_H
#define PARAPET_PIDFILE_H

#include <stdbool.h>
#include <sys/types.h>

struct pidfile;

/*
 * pidfile_open - create path (and its directory, one level, if missing),
 * lock it, write our pid.  NULL with *err (caller frees) on failure, also
 * when another process holds the lock (a parapet is running with it):
 * call it before opening the socket, which a second daemon would take
 * over.
 */
struct pidfile *pidfile_open(const char *path, char **err);

/*
 * pidfile_give - before dropping privileges to uid:gid: give pf's
 * directory to that user when it is parapet's own: pidfile_open created
 * it, or it is root's, writable by no one else and holds nothing but the
 * pidfile and the file `also` (the unix socket; may be NULL).  Else a
 * warning says the file will be emptied, not removed, at exit.
 */
void pidfile_give(struct pidfile *pf, uid_t uid, gid_t gid, const char *also);

/* pidfile_close - at exit: remove the file (or empty it if the
 * directory does not let us), release the lock; returns NULL */
struct pidfile *pidfile_close(struct pidfile *pf);

/*
 * pidfile_running - the pid of the parapet daemon behind path, for a
 * signal: the file holds a pid, a process holds the file's lock, and
 * that process is parapet (/proc/PID/comm).  -1 with *err (caller frees)
 * otherwise: no file, no pid, a stale file, or another program's pid.
 */
long pidfile_running(const char *path, char **err);

#endif
