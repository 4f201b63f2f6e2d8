/*
 * zavu_lua_errors.c - error tables: built from a zavu_result (the core's
 * local, transport and HTTP errors, with the API's JSON error body in either
 * shape) and printed by tostring.
 */
#include "zavu_lua.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

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

/* A body that is a resource rather than an Error - a 409 to a repeated
 * idempotencyKey carries the original {message = {id = ...}} - keeps it in
 * err.details.message. The body is at index body. */
static void keep_original(lua_State *L, int body, int err)
{
    int is_message;
    lua_getfield(L, body, "message");
    if (lua_type(L, -1) != LUA_TTABLE) {
        lua_pop(L, 1);
        return;
    }
    lua_getfield(L, -1, "id"); /* a Message has one; a mangled Error may not */
    is_message = lua_type(L, -1) == LUA_TSTRING;
    lua_pop(L, 1);
    if (!is_message) {
        lua_pop(L, 1);
        return;
    }
    lua_getfield(L, err, "details");
    if (lua_type(L, -1) != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_pushvalue(L, -1);
        lua_setfield(L, err, "details");
    }
    lua_insert(L, -2);
    lua_setfield(L, -2, "message");
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
        int body = lua_gettop(L);
        lua_getfield(L, -1, "error");
        if (lua_type(L, -1) != LUA_TTABLE)
            lua_pop(L, 1);
        copy_field(L, lua_gettop(L), err, "code", LUA_TSTRING);
        copy_field(L, lua_gettop(L), err, "message", LUA_TSTRING);
        copy_field(L, lua_gettop(L), err, "details", LUA_TTABLE);
        keep_original(L, body, err);
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
void zl_push_error(lua_State *L, const zavu_result *res)
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
        char message[128];
        if (res->body_len)
            fields_from_body(L, err, res);
        set_default(L, err, "code", zavu_code_for_status(res->status));
        set_default(L, err, "message",
                    zavu_message_for_status(res->status, res->noun, message, sizeof message));
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

/* prefix and the string at index i (or dflt, or nothing) into b. */
static void add_field(luaL_Buffer *b, lua_State *L, int i, const char *prefix, const char *dflt)
{
    size_t len;
    const char *s;
    if (lua_type(L, i) != LUA_TSTRING) {
        if (dflt)
            luaL_addstring(b, dflt);
        return;
    }
    s = lua_tolstring(L, i, &len);
    luaL_addstring(b, prefix);
    luaL_addlstring(b, s, len);
}

/* err:__tostring() -> "zavu: not_found (HTTP 404): no such session [request_id=...]"
 * The fields are read into fixed stack slots first: a luaL_Buffer owns the
 * top of the stack, so nothing may be read from there while it is in use. */
int zl_error_tostring(lua_State *L)
{
    luaL_Buffer b;
    char status[32] = "";
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    lua_getfield(L, 1, "code");       /* 2 */
    lua_getfield(L, 1, "status");     /* 3 */
    lua_getfield(L, 1, "message");    /* 4 */
    lua_getfield(L, 1, "request_id"); /* 5 */
    if (lua_type(L, 3) == LUA_TNUMBER) {
        double d = (double)lua_tonumber(L, 3);
        if (d >= 0 && d <= 999 && d == floor(d)) /* an HTTP status; anything else is not shown */
            snprintf(status, sizeof status, " (HTTP %d)", (int)d);
    }
    luaL_buffinit(L, &b);
    luaL_addstring(&b, "zavu: ");
    add_field(&b, L, 2, "", "error");
    luaL_addstring(&b, status);
    add_field(&b, L, 4, ": ", NULL);
    add_field(&b, L, 5, " [request_id=", NULL);
    if (lua_type(L, 5) == LUA_TSTRING)
        luaL_addchar(&b, ']');
    luaL_pushresult(&b);
    return 1;
}

/* nil plus a local error (no request was sent). */
int zl_push_local_error(lua_State *L, const char *code, const char *message)
{
    zavu_result res;
    memset(&res, 0, sizeof res);
    res.retry_after = -1;
    res.code = code;
    snprintf(res.message, sizeof res.message, "%s", message);
    lua_pushnil(L);
    zl_push_error(L, &res);
    return 2;
}

int zl_push_busy(lua_State *L)
{
    return zl_push_local_error(L, "client_busy",
                               "the client is busy: this code runs inside a call on it "
                               "(on_progress, a metamethod or a finalizer); call it after that "
                               "call returns, or use another client");
}

int zl_push_error_cfn(lua_State *L)
{
    zl_push_error(L, lua_touserdata(L, 1));
    return 1;
}

/* zavu.core.error_from_response(status, body [, request_id [, noun]]) -> err
 * The error table a response with this status and body turns into: for code
 * that talks HTTP by other means (cosockets), and for the fuzzer. noun names
 * what the route is about, for a 404 with no usable body ("no such egress
 * node"); a session when absent. */
int zl_error_from_response(lua_State *L)
{
    zavu_result res;
    size_t len = 0;
    double status = (double)luaL_checknumber(L, 1);
    if (!(status >= 100 && status <= 999) || status != floor(status))
        luaL_argerror(L, 1, "HTTP status (integer 100..999) expected");
    memset(&res, 0, sizeof res);
    res.status = (long)status;
    res.body = luaL_optlstring(L, 2, "", &len);
    res.body_len = len;
    res.retry_after = -1;
    res.retryable = zavu_status_is_retryable(res.status, -1);
    zavu_copy_header_value(res.request_id, sizeof res.request_id, luaL_optstring(L, 3, NULL));
    res.noun = luaL_optstring(L, 4, NULL);
    zl_push_error(L, &res);
    return 1;
}
