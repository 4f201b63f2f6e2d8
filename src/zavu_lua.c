/*
 * zavu_lua.c - the Lua binding: maps the C core (zavu_core.h) to the module
 * "zavu.core". Wrong argument types raise, like luaL_checkstring; every
 * runtime failure comes back as nil plus an error table. This file holds the
 * module and the process-wide functions; the rest of the binding is split by
 * concern (zavu_lua_*.c, declared in zavu_lua.h).
 */
#include "zavu_lua.h"

#include <curl/curl.h>
#include <math.h>

/* ---- the process ---- */

/* zavu.core.cancel_all(): every call in flight in this process (any thread,
 * any client) ends now with the code "cancelled". */
static int l_cancel_all(lua_State *L)
{
    (void)L;
    zavu_cancel_all();
    return 0;
}

/* zavu.core.now() -> seconds on a monotonic clock */
static int l_now(lua_State *L)
{
    lua_pushnumber(L, zavu_now());
    return 1;
}

/* zavu.core.sleep(seconds [, since]) -> true, or false when cancel_all cut
 * it short - or had already run since `since`, a zavu.core.cancel_count(). */
static int l_sleep(lua_State *L)
{
    double secs = (double)luaL_checknumber(L, 1);
    unsigned long count = zavu_cancel_count();
    if (!(secs >= 0) || secs > ZAVU_MAX_SECONDS)
        luaL_argerror(L, 1, "seconds (0..2147483) expected");
    if (!lua_isnoneornil(L, 2)) {
        double since = (double)luaL_checknumber(L, 2);
        if (!(since >= 0 && since < 9007199254740992.0) || since != floor(since))
            luaL_argerror(L, 2, "a cancel_count() expected");
        count = (unsigned long)since;
    }
    zavu_call_begin(); /* Ctrl-C in a plain interpreter ends the sleep */
    zavu_sleep_since(secs, count);
    zavu_call_end();
    lua_pushboolean(L, count == zavu_cancel_count());
    return 1;
}

/* zavu.core.cancel_count() -> how many times cancel_all ran (for sleep's
 * `since`: a wait made of several calls notices a cancel between them). */
static int l_cancel_count(lua_State *L)
{
    lua_pushnumber(L, (lua_Number)zavu_cancel_count());
    return 1;
}

/* zavu.core.catch_interrupt(): Ctrl-C cancels what is in flight instead of
 * killing the process; zavu.core.interrupted() then counts the presses. */
static int l_catch_interrupt(lua_State *L)
{
    lua_pushboolean(L, zavu_catch_interrupt() == 0);
    return 1;
}

static int l_interrupted(lua_State *L)
{
    lua_pushinteger(L, zavu_interrupted());
    return 1;
}

/* zavu.core.curl_info() -> { version, ssl_version, http2, features = {...} } */
static int l_curl_info(lua_State *L)
{
    const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
    lua_createtable(L, 0, 4);
    lua_pushstring(L, v->version);
    lua_setfield(L, -2, "version");
    lua_pushstring(L, v->ssl_version ? v->ssl_version : "");
    lua_setfield(L, -2, "ssl_version");
    lua_pushboolean(L, (v->features & CURL_VERSION_HTTP2) != 0);
    lua_setfield(L, -2, "http2");
    lua_pushboolean(L, (v->features & CURL_VERSION_SSL) != 0);
    lua_setfield(L, -2, "tls");
    return 1;
}

/* zavu.core.number_id(n) -> the string a number id is sent as (its exact
 * digits), or nil when it has none (not whole, NaN, a float past 2^53). */
static int l_number_id(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TNUMBER);
    if (!zl_push_number_id(L, 1))
        lua_pushnil(L);
    return 1;
}

/* zavu.core.utf8_length(s) -> its characters, or nil when it is not UTF-8
 * (zavu.schema: JSON text is, and the API counts characters). */
static int l_utf8_length(lua_State *L)
{
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    long n = zavu_utf8_length(s, len);
    if (n < 0)
        lua_pushnil(L);
    else
        lua_pushinteger(L, (lua_Integer)n);
    return 1;
}

/* ---- the module ---- */

static const luaL_Reg module_functions[] = {
    {"new", zl_new},
    {"sessions", zl_sessions},
    {"error_from_response", zl_error_from_response},
    {"check_options", zl_check_options},
    {"check_call_options", zl_check_call_options},
    {"check_names", zl_check_names},
    {"number_id", l_number_id},
    {"cancel_all", l_cancel_all},
    {"sleep", l_sleep},
    {"cancel_count", l_cancel_count},
    {"now", l_now},
    {"catch_interrupt", l_catch_interrupt},
    {"interrupted", l_interrupted},
    {"curl_info", l_curl_info},
    {"idempotency_key", zl_idempotency_key},
    {"utf8_length", l_utf8_length},
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
    /* Strict and shallow: no NaN or hex numbers, nesting of at most 64. */
    lua_getfield(L, -1, "decode_max_depth");
    lua_pushinteger(L, 64);
    lua_call(L, 1, 0);
    lua_getfield(L, -1, "decode_invalid_numbers");
    lua_pushboolean(L, 0);
    lua_call(L, 1, 0);
    lua_getfield(L, -1, "decode");
    lua_setfield(L, LUA_REGISTRYINDEX, DECODE_KEY);
    lua_pop(L, 2);
}

int luaopen_zavu_core(lua_State *L)
{
    if (zavu_global_init() != 0)
        return luaL_error(L, "zavu: curl_global_init failed");
    load_json_decoder(L);
    /* nginx and Neovim handle SIGINT their own way: never stand in there
     * (their worker threads' Lua states are told by the symbols the
     * programs export, see zavu_call_begin). */
    lua_getglobal(L, "ngx");
    lua_getglobal(L, "vim");
    if (!lua_isnil(L, -1) || !lua_isnil(L, -2))
        zavu_host_not_plain();
    lua_pop(L, 2);

    zl_open_client(L);

    lua_newtable(L);
    zavu_setfuncs(L, module_functions);
    zl_open_schema(L);
    zl_open_webhooks(L);
    luaL_newmetatable(L, ERROR_MT);
    lua_pushcfunction(L, zl_error_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_setfield(L, -2, "error_mt");
    lua_pushliteral(L, ZAVU_VERSION);
    lua_setfield(L, -2, "version");
    lua_pushstring(L, curl_version_info(CURLVERSION_NOW)->version);
    lua_setfield(L, -2, "curl_version");
    zl_push_option_names(L);
    return 1;
}
