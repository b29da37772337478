/*
 * glue.h - the libmilter side of the daemon.  glue.c is the only file that
 * includes libmilter's mfapi.h.
 */
#ifndef PARAPET_GLUE_H
#define PARAPET_GLUE_H

#include "config.h"

/* glue_open - register the filter and open the listening socket (as root,
 * before privileges are dropped); 0 or -1 with a logged reason */
int glue_open(const struct config *cfg);
/* glue_socket_path - the unix socket's path, or NULL for inet sockets */
const char *glue_socket_path(void);
/* glue_run - serve until a stop signal; returns the process exit code */
int glue_run(void);

#endif
