/*
 * zavu_cancel.c - stopping what is in flight: Neovim quitting, Ctrl-C in the
 * command, from another thread or a signal handler. No Lua here.
 *
 * A transfer notes the cancel count when it begins; zavu_cancel_all bumps it.
 * libcurl's progress callback and our retry sleeps look at the count, and so
 * a transfer ends at its next look. To make that look come at once rather
 * than when libcurl next wakes (up to a second on an idle connection), the
 * sockets in flight are shut down: the poll they sleep in returns.
 */
#define _POSIX_C_SOURCE 200809L
#include "zavu_cancel.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_SOCKETS 4096 /* beyond it, a socket is only seen at libcurl's next progress call */

/* Read and bumped from any thread and from a signal handler: atomics (lock
 * free on every platform libcurl threads run on), not volatile
 * sig_atomic_t, which is safe against a signal handler but is a data race
 * between threads (ThreadSanitizer says so for cancel_all from a thread). */
static unsigned long cancel_count;
static int interrupts;
static curl_socket_t sockets[MAX_SOCKETS];
static int n_sockets;
/* Held while a socket is added, removed or closed, so a shutdown never hits
 * a descriptor number that was closed and handed to someone else. */
static pthread_mutex_t sockets_lock = PTHREAD_MUTEX_INITIALIZER;

unsigned long zavu_cancel_count(void) { return __atomic_load_n(&cancel_count, __ATOMIC_ACQUIRE); }

int zavu_cancelled_since(unsigned long count) { return zavu_cancel_count() != count; }

void zavu_track_socket(curl_socket_t fd)
{
    pthread_mutex_lock(&sockets_lock);
    if (n_sockets < MAX_SOCKETS)
        sockets[n_sockets++] = fd;
    pthread_mutex_unlock(&sockets_lock);
}

void zavu_untrack_socket_and_close(curl_socket_t fd)
{
    int i;
    pthread_mutex_lock(&sockets_lock);
    for (i = 0; i < n_sockets; i++) {
        if (sockets[i] == fd) {
            sockets[i] = sockets[--n_sockets];
            break;
        }
    }
    close(fd);
    pthread_mutex_unlock(&sockets_lock);
}

void zavu_cancel_all(void)
{
    int i;
    __atomic_add_fetch(&cancel_count, 1, __ATOMIC_ACQ_REL);
    /* From a signal handler the lock may be held by the thread we
     * interrupted: then skip the wake-up, the progress callback still sees
     * the count within a second. */
    if (pthread_mutex_trylock(&sockets_lock) != 0)
        return;
    for (i = 0; i < n_sockets; i++)
        shutdown(sockets[i], SHUT_RDWR);
    pthread_mutex_unlock(&sockets_lock);
}

static void on_sigint(int sig)
{
    int saved = errno;
    (void)sig;
    __atomic_add_fetch(&interrupts, 1, __ATOMIC_ACQ_REL);
    zavu_cancel_all();
    errno = saved;
}

int zavu_catch_interrupt(void)
{
    struct sigaction sa;
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: a blocking read returns EINTR */
    return sigaction(SIGINT, &sa, NULL);
}

int zavu_interrupted(void) { return __atomic_load_n(&interrupts, __ATOMIC_ACQUIRE); }

/* fork() with the lock free and, in the child, no socket of the parent's:
 * shutting one down there would cut the parent's connection too. */
void zavu_cancel_before_fork(void) { pthread_mutex_lock(&sockets_lock); }
void zavu_cancel_after_fork_parent(void) { pthread_mutex_unlock(&sockets_lock); }
void zavu_cancel_after_fork_child(void)
{
    n_sockets = 0;
    pthread_mutex_unlock(&sockets_lock);
}

double zavu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

void zavu_sleep(double seconds) { zavu_sleep_since(seconds, zavu_cancel_count()); }

/* Sleep, waking early once zavu_cancel_all has run since `count` (a call's
 * own count: a cancel between its transfer and its retry wait still ends
 * the wait at once). */
void zavu_sleep_since(double seconds, unsigned long count)
{
    double until = zavu_now() + seconds;
    for (;;) {
        struct timespec ts;
        double left = until - zavu_now();
        if (left <= 0 || zavu_cancelled_since(count))
            return;
        if (left > 0.05) /* look at the cancel count every 50 ms */
            left = 0.05;
        ts.tv_sec = 0;
        ts.tv_nsec = (long)(left * 1e9);
        nanosleep(&ts, NULL);
    }
}

long zavu_ms(double seconds)
{
    double ms = seconds * 1000.0;
    if (!(ms >= 1.0)) /* also NaN, though callers have refused it */
        return 1;
    if (ms >= (double)INT_MAX)
        return INT_MAX;
    return (long)ms;
}
