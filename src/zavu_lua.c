/*
 * zavu_lua.c - the Lua binding: maps the C core (zavu_core.h) to the module
 * "zavu.core". Wrong argument types raise, like luaL_checkstring; every
 * runtime failure comes back as nil plus an error table.
 */
#include "compat.h"
#include "zavu_core.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

#define CLIENT_MT "zavu.client"
#define ERROR_MT "zavu.error"
#define DECODE_KEY "zavu.json_decode" /* a private cjson.safe instance */

typedef struct {
    zavu_client *core;
} client_ud;

/* ---- options ---- */

static const char *opt_string(lua_State *L, int t, const char *name)
{
    const char *s = NULL;
    lua_getfield(L, t, name);
    if (!lua_isnil(L, -1)) {
        if (lua_type(L, -1) != LUA_TSTRING)
            luaL_error(L, "bad option '%s' (string expected, got %s)", name, luaL_typename(L, -1));
        s = lua_tostring(L, -1);
    }
    lua_pop(L, 1); /* the string stays alive in the options table */
    return s;
}

static double opt_seconds(lua_State *L, int t, const char *name, double dflt)
{
    double d = dflt;
    lua_getfield(L, t, name);
    if (!lua_isnil(L, -1)) {
        if (lua_type(L, -1) != LUA_TNUMBER || !(lua_tonumber(L, -1) > 0))
            luaL_error(L, "bad option '%s' (positive number of seconds expected)", name);
        d = lua_tonumber(L, -1);
    }
    lua_pop(L, 1);
    return d;
}

static int opt_count(lua_State *L, int t, const char *name, int dflt)
{
    int n = dflt;
    lua_getfield(L, t, name);
    if (!lua_isnil(L, -1)) {
        if (!zavu_isinteger(L, -1) || lua_tonumber(L, -1) < 0 || lua_tonumber(L, -1) > 100)
            luaL_error(L, "bad option '%s' (integer 0..100 expected)", name);
        n = (int)lua_tonumber(L, -1);
    }
    lua_pop(L, 1);
    return n;
}

static int opt_flag(lua_State *L, int t, const char *name)
{
    int b = 0;
    lua_getfield(L, t, name);
    if (!lua_isnil(L, -1)) {
        if (!lua_isboolean(L, -1))
            luaL_error(L, "bad option '%s' (boolean expected, got %s)", name, luaL_typename(L, -1));
        b = lua_toboolean(L, -1);
    }
    lua_pop(L, 1);
    return b;
}

/* ---- clients ---- */

static client_ud *check_client(lua_State *L)
{
    client_ud *u = luaL_checkudata(L, 1, CLIENT_MT);
    if (!u->core)
        luaL_argerror(L, 1, "client is closed");
    return u;
}

/* zavu.core.new(opts) -> client */
static int l_new(lua_State *L)
{
    zavu_config cfg;
    client_ud *u;

    memset(&cfg, 0, sizeof cfg);
    if (lua_isnoneornil(L, 1)) {
        lua_settop(L, 0);
        lua_newtable(L);
    }
    luaL_checktype(L, 1, LUA_TTABLE);
    cfg.api_key = opt_string(L, 1, "api_key");
    cfg.base_url = opt_string(L, 1, "base_url");
    cfg.ca_file = opt_string(L, 1, "ca_file");
    cfg.ca_path = opt_string(L, 1, "ca_path");
    cfg.user_agent = opt_string(L, 1, "user_agent");
    cfg.lua_version = opt_string(L, 1, "lua_version");
    cfg.timeout = opt_seconds(L, 1, "timeout", 60);
    cfg.connect_timeout = opt_seconds(L, 1, "connect_timeout", 10);
    cfg.max_retries = opt_count(L, 1, "max_retries", 2);
    cfg.max_retry_wait = opt_seconds(L, 1, "max_retry_wait", ZAVU_MAX_RETRY_WAIT);
    cfg.allow_insecure_http = opt_flag(L, 1, "allow_insecure_http");
    cfg.debug = opt_flag(L, 1, "debug");

    /* Userdata first, with its metatable, so __gc always sees a safe object. */
    u = lua_newuserdata(L, sizeof *u);
    u->core = NULL;
    luaL_getmetatable(L, CLIENT_MT);
    lua_setmetatable(L, -2);
    u->core = zavu_client_new(&cfg);
    if (!u->core)
        return luaL_error(L, "zavu: out of memory creating a client");
    return 1;
}

static int l_close(lua_State *L)
{
    client_ud *u = luaL_checkudata(L, 1, CLIENT_MT);
    zavu_client_free(u->core); /* safe twice: core is NULL afterwards */
    u->core = NULL;
    return 0;
}

/* ---- error tables ---- */

static void set_string(lua_State *L, const char *k, const char *v)
{
    lua_pushstring(L, v);
    lua_setfield(L, -2, k);
}

/* Copy t[key] into err[key] when it has the wanted type (and, for
 * strings, is not empty). t is at index t, err at index err. */
static void copy_field(lua_State *L, int t, int err, const char *key, int type)
{
    lua_getfield(L, t, key);
    if (lua_type(L, -1) == type && (type != LUA_TSTRING || zavu_rawlen(L, -1) > 0))
        lua_setfield(L, err, key);
    else
        lua_pop(L, 1);
}

/* Take code, message and details from a JSON error body, in either the
 * current {code, message, details} shape or the older {"error": {...}}. */
static void fields_from_body(lua_State *L, int err, const zavu_result *res)
{
    int top = lua_gettop(L);
    lua_getfield(L, LUA_REGISTRYINDEX, DECODE_KEY);
    lua_pushlstring(L, res->body, res->body_len);
    if (lua_pcall(L, 1, 1, 0) == 0 && lua_type(L, -1) == LUA_TTABLE) {
        lua_getfield(L, -1, "error");
        if (lua_type(L, -1) != LUA_TTABLE)
            lua_pop(L, 1);
        copy_field(L, lua_gettop(L), err, "code", LUA_TSTRING);
        copy_field(L, lua_gettop(L), err, "message", LUA_TSTRING);
        copy_field(L, lua_gettop(L), err, "details", LUA_TTABLE);
    }
    lua_settop(L, top);
}

static void set_default(lua_State *L, int err, const char *key, const char *value)
{
    lua_getfield(L, err, key);
    if (lua_isnil(L, -1)) {
        lua_pushstring(L, value);
        lua_setfield(L, err, key);
    }
    lua_pop(L, 1);
}

/* A plain table with plain fields (it must survive being copied between
 * OpenResty worker threads), plus a metatable for tostring where it lives. */
static void push_error(lua_State *L, const zavu_result *res)
{
    int err;
    lua_createtable(L, 0, 9);
    err = lua_gettop(L);
    if (res->status) {
        lua_pushinteger(L, (lua_Integer)res->status);
        lua_setfield(L, err, "status");
    }
    if (res->code) {
        set_string(L, "code", res->code);
        set_string(L, "message", res->message);
    } else {
        if (res->body_len)
            fields_from_body(L, err, res);
        set_default(L, err, "code", zavu_code_for_status(res->status));
        set_default(L, err, "message", zavu_message_for_status(res->status));
    }
    if (res->request_id[0])
        set_string(L, "request_id", res->request_id);
    lua_pushboolean(L, res->retryable);
    lua_setfield(L, err, "retryable");
    if (res->retry_after >= 0) {
        lua_pushnumber(L, res->retry_after);
        lua_setfield(L, err, "retry_after");
    }
    lua_pushinteger(L, res->attempts);
    lua_setfield(L, err, "attempts");
    luaL_getmetatable(L, ERROR_MT);
    lua_setmetatable(L, err);
}

/* err:__tostring() -> "zavu: not_found (HTTP 404): no such session [request_id=...]" */
static int l_error_tostring(lua_State *L)
{
    luaL_Buffer b;
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_buffinit(L, &b);
    lua_getfield(L, 1, "code");
    lua_getfield(L, 1, "status");
    lua_getfield(L, 1, "message");
    lua_getfield(L, 1, "request_id");
    lua_pushfstring(L, "zavu: %s", lua_isstring(L, -4) ? lua_tostring(L, -4) : "error");
    luaL_addvalue(&b);
    if (lua_isnumber(L, -3)) {
        lua_pushfstring(L, " (HTTP %d)", (int)lua_tonumber(L, -3));
        luaL_addvalue(&b);
    }
    if (lua_isstring(L, -2)) {
        lua_pushfstring(L, ": %s", lua_tostring(L, -2));
        luaL_addvalue(&b);
    }
    if (lua_isstring(L, -1)) {
        lua_pushfstring(L, " [request_id=%s]", lua_tostring(L, -1));
        luaL_addvalue(&b);
    }
    luaL_pushresult(&b);
    return 1;
}

/* ---- calls ---- */

/* Read per-call options from the table at index t, if any. */
static void call_options(lua_State *L, int t, zavu_call *call)
{
    if (lua_isnoneornil(L, t))
        return;
    luaL_checktype(L, t, LUA_TTABLE);
    call->timeout = opt_seconds(L, t, "timeout", -1);
    call->max_retries = opt_count(L, t, "max_retries", -1);
    call->missing_ok = opt_flag(L, t, "missing_ok");
}

/* delete(id [, opts]) -> true | nil, err; id at index `at`. */
static int delete_at(lua_State *L, client_ud *u, int at)
{
    size_t id_len;
    const char *id = luaL_checklstring(L, at, &id_len);
    zavu_call call = {-1, -1, 0};
    zavu_result res;

    call_options(L, at + 1, &call);
    if (zavu_delete_session(u->core, id, id_len, &call, &res)) {
        lua_pushboolean(L, 1);
        return 1;
    }
    lua_pushnil(L);
    push_error(L, &res);
    return 2;
}

/* ---- many deletes ---- */

typedef struct {
    int results;     /* stack index in l_delete_many: results[i] = true | error */
    int progress;    /* stack index there of on_progress, or 0 */
    int failure;     /* stack index there of the slot that keeps a raised error */
    const int *map;  /* core index -> position in the ids list (1-based) */
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
        push_error(L, res);
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
    lua_pushcfunction(L, l_settle);
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

/* delete_many(ids [, opts]) -> { ok, total, deleted = {id...},
 *   failed = { {id = id, error = err}... } }, both in the order of ids;
 * ids at index `at`. */
static int delete_many_at(lua_State *L, client_ud *u, int at)
{
    const int list = at, o = at + 1;
    zavu_call call = {-1, -1, 0};
    int concurrency = 8, n, i, k = 0, anchors;
    const char **ids;
    size_t *lens;
    int *map;
    many_ctx m;
    settle_ud sud;
    zavu_result bad;

    luaL_checktype(L, list, LUA_TTABLE);
    memset(&m, 0, sizeof m);
    call_options(L, o, &call);
    if (!lua_isnoneornil(L, o)) {
        concurrency = opt_count(L, o, "concurrency", 8);
        if (concurrency < 1 || concurrency > ZAVU_MAX_CONCURRENCY)
            luaL_error(L, "bad option 'concurrency' (integer 1..%d expected)", ZAVU_MAX_CONCURRENCY);
        lua_getfield(L, o, "on_progress");
        if (!lua_isnil(L, -1) && !lua_isfunction(L, -1))
            luaL_error(L, "bad option 'on_progress' (function expected)");
        m.progress = lua_isnil(L, -1) ? 0 : lua_gettop(L);
        if (!m.progress)
            lua_pop(L, 1);
    }
    n = (int)zavu_rawlen(L, list);
    m.total = n;
    lua_createtable(L, n, 0);
    m.results = lua_gettop(L);
    lua_pushnil(L);
    m.failure = lua_gettop(L);
    /* Arrays as userdata: collected by Lua even if an error is raised. The
     * id strings are anchored in a private table, out of on_progress's reach. */
    ids = lua_newuserdata(L, sizeof *ids * (n ? n : 1));
    lens = lua_newuserdata(L, sizeof *lens * (n ? n : 1));
    map = lua_newuserdata(L, sizeof *map * (n ? n : 1));
    lua_createtable(L, n, 0);
    anchors = lua_gettop(L);
    m.map = map;

    for (i = 1; i <= n; i++) {
        int t;
        lua_rawgeti(L, list, i);
        t = lua_type(L, -1);
        if (t == LUA_TSTRING || t == LUA_TNUMBER) {
            ids[k] = lua_tolstring(L, -1, &lens[k]); /* a number becomes a string here */
            lua_rawseti(L, anchors, i);
            map[k++] = i;
            continue;
        }
        memset(&bad, 0, sizeof bad);
        bad.retry_after = -1;
        bad.code = "invalid_argument";
        snprintf(bad.message, sizeof bad.message, "session id must be a string, got %s",
                 lua_typename(L, t));
        lua_pop(L, 1);
        if (settle_protected(L, &m, i, &bad)) {
            lua_pushvalue(L, m.failure);
            return lua_error(L); /* on_progress's own error */
        }
    }
    sud.L = L;
    sud.m = &m;
    if (zavu_delete_many(u->core, ids, lens, (size_t)k, &call, concurrency, on_settled, &sud) != 0) {
        if (!lua_isnil(L, m.failure)) {
            lua_pushvalue(L, m.failure);
            return lua_error(L); /* on_progress's own error, after libcurl let go */
        }
        /* libcurl could not run the batch: what is left unsettled failed. */
        memset(&bad, 0, sizeof bad);
        bad.retry_after = -1;
        bad.code = "connection_error";
        snprintf(bad.message, sizeof bad.message, "%s", "libcurl could not run the batch");
        for (i = 1; i <= n; i++) {
            lua_rawgeti(L, m.results, i);
            if (lua_isnil(L, -1)) {
                lua_pop(L, 1);
                push_error(L, &bad);
                lua_rawseti(L, m.results, i);
            } else {
                lua_pop(L, 1);
            }
        }
    }

    /* The summary, in the order of ids. */
    {
        int summary, deleted, failed, nd = 0, nf = 0;
        lua_createtable(L, 0, 4);
        summary = lua_gettop(L);
        lua_newtable(L);
        deleted = lua_gettop(L);
        lua_newtable(L);
        failed = lua_gettop(L);
        for (i = 1; i <= n; i++) {
            lua_rawgeti(L, m.results, i);
            if (lua_type(L, -1) == LUA_TBOOLEAN) {
                lua_pop(L, 1);
                lua_rawgeti(L, list, i);
                lua_rawseti(L, deleted, ++nd);
            } else {
                lua_createtable(L, 0, 2);
                lua_rawgeti(L, list, i);
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
    return 1;
}

/* Methods of the userdata: client:delete_session(id, opts), ... */
static int l_delete_session(lua_State *L) { return delete_at(L, check_client(L), 2); }
static int l_delete_many(lua_State *L) { return delete_many_at(L, check_client(L), 2); }

/* The same bound to one client, as plain functions: sessions.delete(id, opts).
 * One call less than a Lua wrapper around the method, on the hot path. */
static client_ud *bound_client(lua_State *L)
{
    client_ud *u = lua_touserdata(L, lua_upvalueindex(1));
    if (!u->core)
        luaL_error(L, "zavu: client is closed");
    return u;
}
static int l_bound_delete(lua_State *L) { return delete_at(L, bound_client(L), 1); }
static int l_bound_delete_many(lua_State *L) { return delete_many_at(L, bound_client(L), 1); }

/* zavu.core.error_from_response(status, body [, request_id]) -> err
 * The error table a response with this status and body turns into: for code
 * that talks HTTP by other means (cosockets), and for the fuzzer. */
static int l_error_from_response(lua_State *L)
{
    zavu_result res;
    size_t len = 0;
    memset(&res, 0, sizeof res);
    res.status = (long)luaL_checkinteger(L, 1);
    res.body = luaL_optlstring(L, 2, "", &len);
    res.body_len = len;
    res.retry_after = -1;
    res.retryable = zavu_status_is_retryable(res.status, -1);
    zavu_copy_header_value(res.request_id, sizeof res.request_id, luaL_optstring(L, 3, NULL));
    push_error(L, &res);
    return 1;
}

/* zavu.core.sessions(client) -> { delete = f, delete_many = f } */
static int l_sessions(lua_State *L)
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

/* ---- the module ---- */

static const luaL_Reg client_methods[] = {
    {"delete_session", l_delete_session},
    {"delete_many", l_delete_many},
    {"close", l_close},
    {NULL, NULL},
};

static const luaL_Reg module_functions[] = {
    {"new", l_new},
    {"sessions", l_sessions},
    {"error_from_response", l_error_from_response},
    {NULL, NULL},
};

/* Keep a private cjson.safe instance, so a user's cjson settings (or a
 * decode error) never change how error bodies are read. */
static void load_json_decoder(lua_State *L)
{
    lua_getglobal(L, "require");
    lua_pushliteral(L, "cjson.safe");
    lua_call(L, 1, 1);
    lua_getfield(L, -1, "new");
    lua_call(L, 0, 1);
    lua_getfield(L, -1, "decode");
    lua_setfield(L, LUA_REGISTRYINDEX, DECODE_KEY);
    lua_pop(L, 2);
}

int luaopen_zavu_core(lua_State *L)
{
    if (zavu_global_init() != 0)
        return luaL_error(L, "zavu: curl_global_init failed");
    load_json_decoder(L);

    luaL_newmetatable(L, CLIENT_MT);
    lua_newtable(L);
    zavu_setfuncs(L, client_methods);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, l_close);
    lua_setfield(L, -2, "__gc");
#if LUA_VERSION_NUM >= 504
    lua_pushcfunction(L, l_close);
    lua_setfield(L, -2, "__close");
#endif
    lua_pop(L, 1);

    lua_newtable(L);
    zavu_setfuncs(L, module_functions);
    luaL_newmetatable(L, ERROR_MT);
    lua_pushcfunction(L, l_error_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_setfield(L, -2, "error_mt");
    lua_pushliteral(L, ZAVU_VERSION);
    lua_setfield(L, -2, "version");
    lua_pushstring(L, curl_version_info(CURLVERSION_NOW)->version);
    lua_setfield(L, -2, "curl_version");
    return 1;
}
