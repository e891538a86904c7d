/* sd_notify without libsystemd: one datagram to $NOTIFY_SOCKET. */
#ifndef VAULTD_NOTIFY_H
#define VAULTD_NOTIFY_H

/* Sends state ("READY=1", "STOPPING=1") when NOTIFY_SOCKET is set.
 * 0 when sent or not asked for, -errno on failure. */
int notify_send(const char *state);

#endif
