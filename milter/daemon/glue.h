/*
 * glue.h - the libmilter side of the daemon.  glue.c is the only file that
 * includes libmilter's mfapi.h.
 */
#ifndef PARAPET_GLUE_H
#define PARAPET_GLUE_H

#include "core/config.h"

/* glue_open - register the filter and open the listening socket (as root,
 * before privileges are dropped); 0 or -1 with a logged reason */
int glue_open(const struct config *cfg);
/* glue_socket_path - the unix socket's path, or NULL for inet sockets */
const char *glue_socket_path(void);
/* glue_run - serve.  A stop signal (SIGTERM, SIGINT, SIGHUP) drains the
 * messages in flight and exits the process with status 0 (atexit handlers
 * run; the unix socket is removed); otherwise returns the exit code */
int glue_run(void);

#endif
