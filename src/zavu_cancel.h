/*
 * zavu_cancel.h - what the core's files use of zavu_cancel.c beyond the
 * public zavu_core.h: the cancel count, the sockets in flight and the clock.
 * zavu_cancel.c depends on nothing else of the core (no include circle).
 */
#ifndef ZAVU_CANCEL_H
#define ZAVU_CANCEL_H

#include "zavu_core.h"

#include <curl/curl.h>

int zavu_cancelled_since(unsigned long count);
/* Sockets in flight, so zavu_cancel_all can wake the poll they sleep in. */
void zavu_track_socket(curl_socket_t fd);
void zavu_untrack_socket_and_close(curl_socket_t fd);
void zavu_cancel_before_fork(void);
void zavu_cancel_after_fork_parent(void);
void zavu_cancel_after_fork_child(void);

/* Seconds (validated by the caller: finite, > 0) as libcurl milliseconds,
 * 1 ms at least and INT_MAX at most. */
long zavu_ms(double seconds);

#endif
