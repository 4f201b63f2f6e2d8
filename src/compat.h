/*
 * compat.h - the few Lua C API differences between 5.1 (PUC and LuaJIT) and
 * 5.2+. Plain PUC 5.1 matters: Neovim plugin managers build rocks against it.
 * Names are our own, so they never collide with LuaJIT's own extras.
 */
#ifndef ZAVU_COMPAT_H
#define ZAVU_COMPAT_H

#include <lauxlib.h>
#include <lua.h>

#if LUA_VERSION_NUM >= 502
#define zavu_rawlen(L, i) lua_rawlen(L, i)
#else
#define zavu_rawlen(L, i) lua_objlen(L, i)
#endif

#if LUA_VERSION_NUM >= 503
#define zavu_isinteger(L, i) lua_isinteger(L, i)
#else
#define zavu_isinteger(L, i) \
    (lua_type(L, i) == LUA_TNUMBER && \
     lua_tonumber(L, i) == (lua_Number)(long long)lua_tonumber(L, i))
#endif

/* Register functions into the table on top of the stack (no upvalues). */
static inline void zavu_setfuncs(lua_State *L, const luaL_Reg *r)
{
    for (; r->name; r++) {
        lua_pushcfunction(L, r->func);
        lua_setfield(L, -2, r->name);
    }
}

#endif
