/*
 * zavu_lua_client.c - the client object and the busy rule: a client is busy
 * while a call runs on it; user code that runs inside gets client_busy, and
 * its close() waits for the call to end.
 */
#include "zavu_lua.h"

#include <string.h>

/* ---- clients ---- */

client_ud *zl_check_client(lua_State *L)
{
    client_ud *u = luaL_checkudata(L, 1, CLIENT_MT);
    if (!u->core)
        zl_raise(L, "the client is closed");
    return u;
}

/* zavu.core.new(opts) -> client */
int zl_new(lua_State *L)
{
    zavu_config cfg;
    client_ud *u;

    if (lua_isnoneornil(L, 1)) {
        lua_settop(L, 0);
        lua_newtable(L);
    }
    luaL_checktype(L, 1, LUA_TTABLE);
    zl_read_config(L, 1, &cfg); /* its strings stay on the stack until we return */

    /* Userdata first, with its metatable, so __gc always sees a safe object. */
    u = lua_newuserdata(L, sizeof *u);
    u->core = NULL;
    u->busy = 0;
    u->close_pending = 0;
    luaL_getmetatable(L, CLIENT_MT);
    lua_setmetatable(L, -2);
    u->core = zavu_client_new(&cfg);
    if (!u->core)
        return luaL_error(L, "zavu: out of memory creating a client");
    return 1;
}

static void free_core(client_ud *u)
{
    zavu_client_free(u->core); /* safe twice: core is NULL afterwards */
    u->core = NULL;
    u->close_pending = 0;
}

/* close(), __gc and __close: now, or when the running call ends. */
int zl_close(lua_State *L)
{
    client_ud *u = luaL_checkudata(L, 1, CLIENT_MT);
    if (u->busy)
        u->close_pending = 1;
    else
        free_core(u);
    return 0;
}

/* The end of a call: the client is free again, and a close() made while it
 * ran takes effect. */
void zl_call_done(client_ud *u)
{
    u->busy = 0;
    if (u->close_pending)
        free_core(u);
}

/* ---- calls ---- */

/* Runs a call that may run user code (options with metamethods, on_progress,
 * finalizers) with the client marked busy, in protected mode, so the mark
 * is cleared and a deferred close() done whatever happens; an error is raised
 * again afterwards. inner gets the client as a light userdata at index 1,
 * then the call's own arguments. */
int zl_guarded(lua_State *L, client_ud *u, int at, lua_CFunction inner)
{
    int nargs = lua_gettop(L) - at + 1, rc;
    if (u->busy)
        return zl_push_busy(L);
    if (nargs < 0) {
        nargs = 0;
        lua_settop(L, at - 1);
    }
    /* On 5.1 and LuaJIT lua_pushcfunction allocates: a collection step may
     * run a finalizer there, which may close the client or raise. So push
     * first, look at the client again, and only then mark it busy: nothing
     * between busy = 1 and the protected call may raise. */
    lua_pushcfunction(L, inner);
    lua_insert(L, at);
    lua_pushlightuserdata(L, u);
    lua_insert(L, at + 1);
    if (!u->core)
        return zl_raise(L, "the client is closed");
    if (u->busy) /* a finalizer's call is still running? cannot be, but never nest */
        return zl_push_busy(L);
    u->busy = 1;
    zavu_call_begin(); /* Ctrl-C in a plain interpreter ends the call */
    rc = lua_pcall(L, nargs + 1, LUA_MULTRET, 0);
    zavu_call_end();
    zl_call_done(u);
    if (rc != 0)
        return lua_error(L);
    return lua_gettop(L) - at + 1;
}

/* Methods of the userdata: client:delete_session(id, opts), ... */
static int l_delete_session(lua_State *L) { return zl_delete_at(L, zl_check_client(L), 2); }
static int l_delete_many(lua_State *L)
{
    return zl_guarded(L, zl_check_client(L), 2, zl_delete_many);
}

/* The same bound to one client, as plain functions: sessions.delete(id, opts).
 * One call less than a Lua wrapper around the method, on the hot path. */
client_ud *zl_bound_client(lua_State *L)
{
    client_ud *u = lua_touserdata(L, lua_upvalueindex(1));
    if (!u->core)
        zl_raise(L, "the client is closed");
    return u;
}
static int l_bound_delete(lua_State *L) { return zl_delete_at(L, zl_bound_client(L), 1); }
static int l_bound_delete_many(lua_State *L)
{
    return zl_guarded(L, zl_bound_client(L), 1, zl_delete_many);
}

/* zavu.core.sessions(client) -> { delete = f, delete_many = f } */
int zl_sessions(lua_State *L)
{
    luaL_checkudata(L, 1, CLIENT_MT);
    lua_createtable(L, 0, 2);
    lua_pushvalue(L, 1);
    lua_pushcclosure(L, l_bound_delete, 1);
    lua_setfield(L, -2, "delete");
    lua_pushvalue(L, 1);
    lua_pushcclosure(L, l_bound_delete_many, 1);
    lua_setfield(L, -2, "delete_many");
    return 1;
}

static const luaL_Reg client_methods[] = {
    {"delete_session", l_delete_session},
    {"delete_many", l_delete_many},
    {"request", zl_request},
    {"close", zl_close},
    {NULL, NULL},
};

/* The clients' metatable, registered once per Lua state. */
void zl_open_client(lua_State *L)
{
    luaL_newmetatable(L, CLIENT_MT);
    lua_newtable(L);
    zavu_setfuncs(L, client_methods);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, zl_close);
    lua_setfield(L, -2, "__gc");
#if LUA_VERSION_NUM >= 504
    lua_pushcfunction(L, zl_close);
    lua_setfield(L, -2, "__close");
#endif
    lua_pop(L, 1);
}
