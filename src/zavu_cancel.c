/*
 * zavu_cancel.c - stopping what is in flight: Neovim quitting, Ctrl-C in the
 * command, from another thread or a signal handler. No Lua here.
 *
 * A call notes the cancel count when it begins; zavu_cancel_all bumps it and
 * shuts down the sockets in flight, so the poll a transfer sleeps in returns
 * at once and the transfer fails; the call, seeing the count moved, reports
 * "cancelled". A socket opened afterwards is refused (zavu_client.c), and
 * retry sleeps and the batch loop look at the count. No progress callback:
 * libcurl would call it several times per transfer.
 */
#define _GNU_SOURCE /* dl_iterate_phdr, dladdr, RTLD_DEFAULT, RTLD_NODELETE */
#include "zavu_cancel.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <link.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_SOCKETS 4096 /* beyond it, a cancel reaches a transfer only when it next wakes */

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
/* Set by a zavu_cancel_all that found the lock taken (by another thread, or
 * by the very thread its signal handler interrupted): whoever lets go of the
 * lock shuts the sockets down instead (unlock_sockets). */
static int wake_pending;

unsigned long zavu_cancel_count(void) { return __atomic_load_n(&cancel_count, __ATOMIC_ACQUIRE); }

int zavu_cancelled_since(unsigned long count) { return zavu_cancel_count() != count; }

static void shut_down_sockets(void)
{
    int i;
    for (i = 0; i < n_sockets; i++)
        shutdown(sockets[i], SHUT_RDWR);
}

/* Let go of the lock, doing the wake-up a zavu_cancel_all left pending
 * while it was held. A cancel that sets wake_pending after our look found
 * the lock free and did the wake-up itself. */
static void unlock_sockets(void)
{
    pthread_mutex_unlock(&sockets_lock);
    while (__atomic_load_n(&wake_pending, __ATOMIC_SEQ_CST)) {
        if (pthread_mutex_trylock(&sockets_lock) != 0)
            return; /* its holder will look as it lets go */
        if (__atomic_exchange_n(&wake_pending, 0, __ATOMIC_SEQ_CST))
            shut_down_sockets();
        pthread_mutex_unlock(&sockets_lock);
    }
}

void zavu_track_socket(curl_socket_t fd)
{
    pthread_mutex_lock(&sockets_lock);
    if (n_sockets < MAX_SOCKETS)
        sockets[n_sockets++] = fd;
    unlock_sockets();
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
    unlock_sockets();
}

void zavu_cancel_all(void)
{
    __atomic_add_fetch(&cancel_count, 1, __ATOMIC_SEQ_CST);
    __atomic_store_n(&wake_pending, 1, __ATOMIC_SEQ_CST);
    /* Never wait for the lock: from a signal handler, its holder may be the
     * thread we interrupted. Whoever holds it does the wake-up as it lets go. */
    if (pthread_mutex_trylock(&sockets_lock) != 0)
        return;
    if (__atomic_exchange_n(&wake_pending, 0, __ATOMIC_SEQ_CST))
        shut_down_sockets();
    unlock_sockets();
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

/* ---- Ctrl-C in a plain interpreter (zavu_call_begin, zavu_core.h) ----
 * lua.c (and luajit.c) set their SIGINT handler around the script; it only
 * sets a hook and puts SIG_DFL back, so "interrupted!" is raised once the C
 * function running returns - and a transfer would run to its end first. Our
 * handler, put in front of theirs while calls run, cancels what is in flight
 * and hands the signal on: the call returns at once, and the hook fires. */

static int host_not_plain;           /* for good: nginx, Neovim, or no way to stand in */
static int markers_checked;          /* under stand_in_lock */
static int calls_running;            /* between zavu_call_begin and zavu_call_end */
static struct sigaction host_action; /* the handler ours stands in front of */
static void (*refused)(int);         /* a handler found not to be the host program's */
static pthread_mutex_t stand_in_lock = PTHREAD_MUTEX_INITIALIZER;

static void on_sigint_forward(int sig)
{
    int saved = errno;
    if (__atomic_load_n(&calls_running, __ATOMIC_SEQ_CST) > 0)
        zavu_cancel_all();
    /* The host's handler back, then the signal again for it: blocked while
     * this handler runs, it is delivered as this handler returns. */
    sigaction(SIGINT, &host_action, NULL);
    errno = saved;
    raise(sig);
}

typedef struct {
    uintptr_t addr;
    int found;
} lookup;

/* The first object dl_iterate_phdr visits is the main program. */
static int in_first_object(struct dl_phdr_info *info, size_t size, void *ud)
{
    lookup *l = ud;
    int i;
    (void)size;
    for (i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t start = info->dlpi_addr + ph->p_vaddr;
        if (ph->p_type == PT_LOAD && l->addr >= start && l->addr < start + ph->p_memsz)
            l->found = 1;
    }
    return 1; /* stop: only the first */
}

/* 1 when the standalone interpreter's handler - code of the main program,
 * not of a library (luaposix, say) - may be stood in front of. */
static int is_host_handler(void (*h)(int))
{
    lookup l;
    if (!markers_checked) { /* hosts that handle signals their own way */
        markers_checked = 1;
        if (dlsym(RTLD_DEFAULT, "ngx_cycle") || dlsym(RTLD_DEFAULT, "nvim_get_api_info"))
            __atomic_store_n(&host_not_plain, 1, __ATOMIC_RELAXED);
    }
    if (__atomic_load_n(&host_not_plain, __ATOMIC_RELAXED))
        return 0;
    l.addr = (uintptr_t)h;
    l.found = 0;
    dl_iterate_phdr(in_first_object, &l);
    return l.found;
}

/* Our handler stays installed once in place (it hands an idle SIGINT on
 * unchanged), so this library must never be unloaded while it might be. */
static int pin_this_library(void)
{
    static void *pinned; /* never closed */
    Dl_info info;
    if (!pinned && dladdr((void *)on_sigint_forward, &info) && info.dli_fname)
        pinned = dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);
    return pinned != NULL;
}

static void stand_in(const struct sigaction *cur, void (*h)(int))
{
    struct sigaction ours, prev;
    pthread_mutex_lock(&stand_in_lock);
    if (!is_host_handler(h) || !pin_this_library()) {
        __atomic_store_n(&refused, h, __ATOMIC_RELAXED);
    } else {
        host_action = *cur;
        memset(&ours, 0, sizeof ours);
        ours.sa_handler = on_sigint_forward;
        sigemptyset(&ours.sa_mask);
        ours.sa_flags = 0; /* no SA_RESTART: a blocking wait returns EINTR */
        if (sigaction(SIGINT, &ours, &prev) == 0 && prev.sa_handler != cur->sa_handler)
            sigaction(SIGINT, &prev, NULL); /* changed meanwhile (a SIGINT came): leave it */
    }
    pthread_mutex_unlock(&stand_in_lock);
}

void zavu_call_begin(void)
{
    struct sigaction cur;
    void (*h)(int);
    __atomic_add_fetch(&calls_running, 1, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&host_not_plain, __ATOMIC_RELAXED) || sigaction(SIGINT, NULL, &cur) != 0)
        return;
    h = (cur.sa_flags & SA_SIGINFO) ? (void (*)(int))(void (*)(void))cur.sa_sigaction
                                    : cur.sa_handler;
    if (h == on_sigint_forward || h == on_sigint || h == SIG_DFL || h == SIG_IGN ||
        h == __atomic_load_n(&refused, __ATOMIC_RELAXED))
        return;
    stand_in(&cur, h);
}

void zavu_call_end(void) { __atomic_sub_fetch(&calls_running, 1, __ATOMIC_SEQ_CST); }

void zavu_host_not_plain(void) { __atomic_store_n(&host_not_plain, 1, __ATOMIC_RELAXED); }

/* fork() with the lock free and, in the child, no socket of the parent's:
 * shutting one down there would cut the parent's connection too. */
void zavu_cancel_before_fork(void) { pthread_mutex_lock(&sockets_lock); }
void zavu_cancel_after_fork_parent(void) { unlock_sockets(); }
void zavu_cancel_after_fork_child(void)
{
    n_sockets = 0;
    wake_pending = 0; /* the parent's cancel, for the parent's sockets */
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
