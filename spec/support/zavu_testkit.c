/*
 * zavu_testkit.c - process calls the specs need and Debian's Lua 5.4 has no
 * module for (lua-posix stops at 5.3): fork, _exit, waitpid, getpid, an
 * alarm that ends a spec which overstays its bound (a hang fails in seconds),
 * a SIGINT to this process, and zavu_cancel_all run from another thread.
 * Built for the tests only; never installed.
 */
#define _GNU_SOURCE /* dladdr, RTLD_NOLOAD */
#include <dlfcn.h>
#include <lauxlib.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <lua.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char bound_message[512];

static void on_alarm(int sig)
{
    (void)sig;
    (void)!write(2, bound_message, strlen(bound_message));
    _exit(124);
}

/* alarm(seconds, name): after that long, print that `name` overstayed and
 * exit 124, whatever the process is doing (blocked in C included).
 * alarm(0) disarms it. */
static int l_alarm(lua_State *L)
{
    unsigned secs = (unsigned)luaL_checkinteger(L, 1);
    const char *name = luaL_optstring(L, 2, "a spec");
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, NULL);
    snprintf(bound_message, sizeof bound_message,
             "\n*** spec ran past its %u s bound, stopped: %s\n", secs, name);
    alarm(secs);
    return 0;
}

static int l_fork(lua_State *L) { lua_pushinteger(L, fork()); return 1; }
static int l_getpid(lua_State *L) { lua_pushinteger(L, getpid()); return 1; }
static int l_exit(lua_State *L) { _exit((int)luaL_checkinteger(L, 1)); return 0; }

/* waitpid(pid) -> exit code, or nil and a reason when it did not exit */
static int l_waitpid(lua_State *L)
{
    int status;
    if (waitpid((pid_t)luaL_checkinteger(L, 1), &status, 0) < 0 || !WIFEXITED(status)) {
        lua_pushnil(L);
        lua_pushliteral(L, "child did not exit normally");
        return 2;
    }
    lua_pushinteger(L, WEXITSTATUS(status));
    return 1;
}

/* interrupt(): SIGINT to this process, as Ctrl-C would send it (raise, not
 * os.execute("kill"): system() ignores SIGINT while its child runs). */
static int l_interrupt(lua_State *L)
{
    (void)L;
    raise(SIGINT);
    return 0;
}

typedef struct {
    void (*cancel_all)(void);
    struct timespec delay;
} cancel_job;

static void *cancel_later_thread(void *ud)
{
    cancel_job *job = ud;
    nanosleep(&job->delay, NULL);
    job->cancel_all();
    free(job);
    return NULL;
}

/* cancel_later(seconds, zavu.core.cancel_all): run zavu_cancel_all from a
 * thread of its own after that long, as another thread of an nginx worker or
 * of Neovim would: no signal interrupts the caller's poll, so only the
 * sockets cancel_all shuts down wake it. The C function given names the
 * loaded module (its file), whose zavu_cancel_all is the one called. */
static int l_cancel_later(lua_State *L)
{
    double secs = luaL_checknumber(L, 1);
    lua_CFunction f = lua_tocfunction(L, 2);
    Dl_info info;
    void *lib;
    cancel_job *job;
    pthread_t thread;
    luaL_argcheck(L, f != NULL, 2, "zavu.core.cancel_all expected");
    if (!dladdr((void *)f, &info) || !(lib = dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD)))
        return luaL_error(L, "cancel_later: cannot find the module of that function");
    job = calloc(1, sizeof *job);
    if (!job)
        return luaL_error(L, "cancel_later: out of memory");
    *(void **)&job->cancel_all = dlsym(lib, "zavu_cancel_all");
    dlclose(lib); /* Lua keeps it loaded */
    if (!job->cancel_all) {
        free(job);
        return luaL_error(L, "cancel_later: that module has no zavu_cancel_all");
    }
    job->delay.tv_sec = (time_t)secs;
    job->delay.tv_nsec = (long)((secs - (double)job->delay.tv_sec) * 1e9);
    if (pthread_create(&thread, NULL, cancel_later_thread, job) != 0) {
        free(job);
        return luaL_error(L, "cancel_later: no thread");
    }
    pthread_detach(thread);
    return 0;
}

int luaopen_zavu_testkit(lua_State *L)
{
    lua_newtable(L);
    lua_pushcfunction(L, l_fork), lua_setfield(L, -2, "fork");
    lua_pushcfunction(L, l_getpid), lua_setfield(L, -2, "getpid");
    lua_pushcfunction(L, l_exit), lua_setfield(L, -2, "_exit");
    lua_pushcfunction(L, l_waitpid), lua_setfield(L, -2, "waitpid");
    lua_pushcfunction(L, l_alarm), lua_setfield(L, -2, "alarm");
    lua_pushcfunction(L, l_interrupt), lua_setfield(L, -2, "interrupt");
    lua_pushcfunction(L, l_cancel_later), lua_setfield(L, -2, "cancel_later");
    return 1;
}
