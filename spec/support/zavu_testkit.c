/*
 * zavu_testkit.c - process calls the specs need and Debian's Lua 5.4 has no
 * module for (lua-posix stops at 5.3): fork, _exit, waitpid, getpid.
 * Built for the tests only; never installed.
 */
#include <lauxlib.h>
#include <lua.h>
#include <sys/wait.h>
#include <unistd.h>

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
    return 1;
}
