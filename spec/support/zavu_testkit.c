/*
 * zavu_testkit.c - process calls the specs need and Debian's Lua 5.4 has no
 * module for (lua-posix stops at 5.3): fork, _exit, waitpid, getpid, and an
 * alarm that ends a spec which overstays its bound (a hang fails in seconds).
 * Built for the tests only; never installed.
 */
#define _POSIX_C_SOURCE 200809L
#include <lauxlib.h>
#include <stdio.h>
#include <lua.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
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

int luaopen_zavu_testkit(lua_State *L)
{
    lua_newtable(L);
    lua_pushcfunction(L, l_fork), lua_setfield(L, -2, "fork");
    lua_pushcfunction(L, l_getpid), lua_setfield(L, -2, "getpid");
    lua_pushcfunction(L, l_exit), lua_setfield(L, -2, "_exit");
    lua_pushcfunction(L, l_waitpid), lua_setfield(L, -2, "waitpid");
    lua_pushcfunction(L, l_alarm), lua_setfield(L, -2, "alarm");
    return 1;
}
