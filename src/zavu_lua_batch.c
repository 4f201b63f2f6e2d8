/*
 * zavu_lua_batch.c - delete_many: the ids copied and checked, settled one by
 * one under a protected call (on_progress may raise), summed up in order.
 */
#include "zavu_lua.h"

#include <stdio.h>
#include <string.h>

/* ---- many deletes ---- */

typedef struct {
    int settle;     /* stack index of l_settle, pushed once: pushing a C
                       function allocates on 5.1/LuaJIT, and nothing outside
                       lua_pcall may raise while libcurl's batch is open */
    int results;    /* stack index: results[pos] = true | error table */
    int progress;   /* stack index of on_progress, or 0 */
    int failure;    /* stack index of the slot that keeps an on_progress error */
    const int *map; /* core index -> position in the ids list (1-based) */
    lua_Integer done, total;
} many_ctx;

/* Record one settled id and report progress; runs under lua_pcall, so an
 * error here (on_progress raising) never unwinds through libcurl's loop. */
static int l_settle(lua_State *L) /* (results, on_progress, ctx, res, pos) */
{
    many_ctx *m = lua_touserdata(L, 3);
    const zavu_result *res = lua_touserdata(L, 4);
    lua_Integer pos = lua_tointeger(L, 5);
    if (res->ok)
        lua_pushboolean(L, 1);
    else
        zl_push_error(L, res);
    lua_rawseti(L, 1, (int)pos);
    m->done++;
    if (!lua_isnil(L, 2)) {
        lua_pushvalue(L, 2);
        lua_pushinteger(L, m->done);
        lua_pushinteger(L, m->total);
        lua_call(L, 2, 0);
    }
    return 0;
}

static int settle_protected(lua_State *L, many_ctx *m, lua_Integer pos, const zavu_result *res)
{
    lua_pushvalue(L, m->settle); /* no allocation before the protected call */
    lua_pushvalue(L, m->results);
    if (m->progress)
        lua_pushvalue(L, m->progress);
    else
        lua_pushnil(L);
    lua_pushlightuserdata(L, m);
    lua_pushlightuserdata(L, (void *)res);
    lua_pushinteger(L, pos);
    if (lua_pcall(L, 5, 0, 0) != 0) {
        lua_replace(L, m->failure); /* raised again once libcurl is cleaned up */
        return 1;
    }
    return 0;
}

typedef struct {
    lua_State *L;
    many_ctx *m;
} settle_ud;

static int on_settled(void *ud, size_t index, const zavu_result *res)
{
    settle_ud *u = ud;
    return settle_protected(u->L, u->m, u->m->map[index], res);
}

static void local_result(zavu_result *res, const char *code)
{
    memset(res, 0, sizeof *res);
    res->retry_after = -1;
    res->code = code;
}

/* The summary, in the order of the ids as they were when the call began. */
static void push_summary(lua_State *L, int ids, int results, int n)
{
    int summary, deleted, failed, nd = 0, nf = 0, i;
    lua_createtable(L, 0, 4);
    summary = lua_gettop(L);
    lua_newtable(L);
    deleted = lua_gettop(L);
    lua_newtable(L);
    failed = lua_gettop(L);
    for (i = 1; i <= n; i++) {
        lua_rawgeti(L, results, i);
        if (lua_type(L, -1) == LUA_TBOOLEAN) {
            lua_pop(L, 1);
            lua_rawgeti(L, ids, i);
            lua_rawseti(L, deleted, ++nd);
        } else {
            lua_createtable(L, 0, 2);
            lua_rawgeti(L, ids, i);
            lua_setfield(L, -2, "id");
            lua_insert(L, -2);
            lua_setfield(L, -2, "error");
            lua_rawseti(L, failed, ++nf);
        }
    }
    lua_setfield(L, summary, "failed");
    lua_setfield(L, summary, "deleted");
    lua_pushboolean(L, nf == 0);
    lua_setfield(L, summary, "ok");
    lua_pushinteger(L, n);
    lua_setfield(L, summary, "total");
}

/* delete_many(ids [, opts]) inside zl_guarded(): (u, ids, opts) ->
 * { ok, total, deleted = {id...}, failed = { {id = id, error = err}... } } */
int zl_delete_many(lua_State *L)
{
    client_ud *u = lua_touserdata(L, 1);
    zavu_call call;
    int concurrency = 8, n, i, k = 0, ids, send;
    const char **strs;
    size_t *lens;
    int *map;
    many_ctx m;
    settle_ud sud;
    zavu_result bad;

    lua_settop(L, 3);
    /* Beyond LUA_MINSTACK: the copies, the arrays, the summary's tables. */
    luaL_checkstack(L, 32, "zavu delete_many");
    if (!lua_istable(L, 2))
        zl_raise(L, "bad argument #1 to 'delete_many' (table expected, got %s)",
                 luaL_typename(L, 2));
    memset(&m, 0, sizeof m);
    zl_read_call(L, 3, "delete_many", 2, &call, 1, &concurrency, &m.progress);
    n = (int)zavu_rawlen(L, 2);
    m.total = n;
    /* A private copy of the ids: on_progress may change the caller's table,
     * never what this call sends or reports. Numbers become strings here. */
    lua_createtable(L, n, 0);
    ids = lua_gettop(L);
    lua_createtable(L, n, 0);
    m.results = lua_gettop(L);
    lua_pushnil(L);
    m.failure = lua_gettop(L);
    lua_pushcfunction(L, l_settle);
    m.settle = lua_gettop(L);
    /* Arrays as userdata: collected by Lua even if an error is raised. */
    strs = lua_newuserdata(L, sizeof *strs * (n ? n : 1));
    lens = lua_newuserdata(L, sizeof *lens * (n ? n : 1));
    map = lua_newuserdata(L, sizeof *map * (n ? n : 1));
    m.map = map;
    lua_createtable(L, n, 0);
    send = lua_gettop(L); /* the ids as strings, anchored while the core reads them */
    for (i = 1; i <= n; i++) {
        lua_rawgeti(L, 2, i);
        lua_pushvalue(L, -1);
        lua_rawseti(L, ids, i);
        if (lua_type(L, -1) == LUA_TNUMBER && zl_push_number_id(L, -1))
            lua_replace(L, -2); /* its exact digits, on the stack only */
        lua_rawseti(L, send, i);
    }
    for (i = 1; i <= n; i++) {
        lua_rawgeti(L, send, i);
        if (lua_type(L, -1) == LUA_TSTRING) {
            strs[k] = lua_tolstring(L, -1, &lens[k]);
            map[k++] = i;
            lua_pop(L, 1);
            continue;
        }
        local_result(&bad, "invalid_argument");
        snprintf(bad.message, sizeof bad.message, NUMBER_ID_MESSAGE ", got %s",
                 luaL_typename(L, -1));
        lua_pop(L, 1);
        if (settle_protected(L, &m, i, &bad)) {
            lua_pushvalue(L, m.failure);
            return lua_error(L); /* on_progress's own error */
        }
    }
    sud.L = L;
    sud.m = &m;
    if (zavu_delete_many(u->core, strs, lens, (size_t)k, &call, concurrency, on_settled, &sud) !=
        0) {
        if (!lua_isnil(L, m.failure)) {
            lua_pushvalue(L, m.failure);
            return lua_error(L); /* on_progress's own error, after libcurl let go */
        }
        /* libcurl could not run the batch: what is left unsettled failed. */
        local_result(&bad, "connection_error");
        snprintf(bad.message, sizeof bad.message, "%s", "libcurl could not run the batch");
        for (i = 1; i <= n; i++) {
            lua_rawgeti(L, m.results, i);
            if (lua_isnil(L, -1)) {
                zl_push_error(L, &bad);
                lua_rawseti(L, m.results, i);
            }
            lua_pop(L, 1);
        }
    }
    push_summary(L, ids, m.results, n);
    return 1;
}
