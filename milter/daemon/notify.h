/*
 * notify.h - readiness and reload notifications to systemd (Type=notify),
 * the sd_notify(3) protocol; nothing happens without $NOTIFY_SOCKET.
 */
#ifndef PARAPET_NOTIFY_H
#define PARAPET_NOTIFY_H

/* notify_send - send "KEY=VALUE\n..." (e.g. "READY=1"); 0 or -1 */
int notify_send(const char *state);
/* notify_reloading - "RELOADING=1" with MONOTONIC_USEC */
int notify_reloading(void);

#endif
