/*
 * zavu_lua_options.c - options tables (client and per call): read, validated
 * and copied before any transfer starts, so misuse raises at the call site.
 */
#include "zavu_lua.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* ---- the names each options table may hold ---- */

/* One list per table: a new option is one more name here (and its reader
 * below). Every other key raises, naming the nearest known name. Exported
 * to Lua as zavu.core.option_names, from which the Lua layer makes the
 * lists of wait, prune, each/all and the host modules. */
static const char *const CLIENT_OPTIONS[] = {"api_key",     "base_url",
                                             "timeout",     "connect_timeout",
                                             "max_retries", "max_retry_wait",
                                             "ca_file",     "ca_path",
                                             "user_agent",  "allow_insecure_http",
                                             "debug",       "max_response_bytes",
                                             "lua_version", "total_timeout",
                                             "sender",      NULL};
/* every call's */
static const char *const CALL_OPTIONS[] = {"timeout", "total_timeout", "max_retries", NULL};
/* a delete's besides (delete, delete_many, request) */
static const char *const DELETE_OPTIONS[] = {"missing_ok", NULL};
/* delete_many's besides */
static const char *const MANY_OPTIONS[] = {"concurrency", "on_progress", NULL};

/* ---- options: read, validated and copied before any transfer starts ---- */

/* Raise "bad option 'name' (expected, got what)": the type for a wrong
 * type, the value itself for a number out of range. The value is on top. */
static int bad_value(lua_State *L, const char *name, const char *expected, int type_only)
{
    char got[32];
    if (type_only || lua_type(L, -1) != LUA_TNUMBER)
        snprintf(got, sizeof got, "%s", luaL_typename(L, -1));
    else if (isnan((double)lua_tonumber(L, -1)))
        snprintf(got, sizeof got, "nan"); /* printf may say -nan */
    else
        snprintf(got, sizeof got, "%.14g", (double)lua_tonumber(L, -1));
    return zl_raise(L, "bad option '%s' (%s expected, got %s)", name, expected, got);
}
#define bad_option(L, name, expected) bad_value(L, name, expected, 0)
#define bad_type(L, name, expected) bad_value(L, name, expected, 1)

/* The string value of t[name], or NULL. The value stays on the stack (one
 * slot per call, nil included) so a string that a metamethod made is not
 * collected while the core still reads it. */
static const char *opt_string(lua_State *L, int t, const char *name)
{
    size_t len;
    const char *s;
    lua_getfield(L, t, name);
    if (lua_isnil(L, -1))
        return NULL;
    if (lua_type(L, -1) != LUA_TSTRING)
        bad_type(L, name, "string");
    s = lua_tolstring(L, -1, &len);
    /* The core reads C strings: a NUL would silently cut the value (an API
     * key, a base URL past its "?" check, a User-Agent) short. */
    if (memchr(s, '\0', len) != NULL)
        zl_raise(L, "bad option '%s' (string without NUL bytes expected)", name);
    return s;
}

/* Seconds: a finite number above `min_exclusive`, (a number of seconds
 * > 0, or >= 0 for waits). Under 1 ms counts as 1 ms; over ~24.8 days (what
 * libcurl's millisecond options hold) is clamped. */
static double opt_seconds(lua_State *L, int t, const char *name, double dflt, int zero_ok)
{
    double d = dflt;
    lua_getfield(L, t, name);
    if (!lua_isnil(L, -1)) {
        d = lua_type(L, -1) == LUA_TNUMBER ? (double)lua_tonumber(L, -1) : NAN;
        if (!isfinite(d) || d < 0 || (d == 0 && !zero_ok))
            bad_option(L, name,
                       zero_ok ? "finite number of seconds >= 0" : "finite number of seconds > 0");
        if (d > 0 && d < ZAVU_MIN_SECONDS)
            d = ZAVU_MIN_SECONDS;
        if (d > ZAVU_MAX_SECONDS)
            d = ZAVU_MAX_SECONDS;
    }
    lua_pop(L, 1);
    return d;
}

/* A whole number in lo..hi; 2.0 is 2 on every interpreter, 2.5 is refused
 * on every interpreter. */
static int opt_count(lua_State *L, int t, const char *name, int dflt, int lo, int hi)
{
    int n = dflt;
    lua_getfield(L, t, name);
    if (!lua_isnil(L, -1)) {
        double d = lua_type(L, -1) == LUA_TNUMBER ? (double)lua_tonumber(L, -1) : NAN;
        if (!(d >= lo && d <= hi) || d != floor(d)) {
            char expected[48];
            snprintf(expected, sizeof expected, "integer %d..%d", lo, hi);
            bad_option(L, name, expected);
        }
        n = (int)d; /* in range: no undefined cast */
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
            bad_type(L, name, "boolean");
        b = lua_toboolean(L, -1);
    }
    lua_pop(L, 1);
    return b;
}

/* Client options from the table at t into cfg; leaves 6 values on the stack
 * that keep cfg's strings alive. Raises on a bad option. */
void zl_read_config(lua_State *L, int t, zavu_config *cfg)
{
    static const char *const *const lists[] = {CLIENT_OPTIONS, NULL};
    const char *sender;
    memset(cfg, 0, sizeof *cfg);
    luaL_checkstack(L, 10, "zavu options");
    zl_refuse_unknown(L, t, "new", "option", "", lists);
    cfg->api_key = opt_string(L, t, "api_key");
    cfg->base_url = opt_string(L, t, "base_url");
    cfg->ca_file = opt_string(L, t, "ca_file");
    cfg->ca_path = opt_string(L, t, "ca_path");
    cfg->user_agent = opt_string(L, t, "user_agent");
    cfg->lua_version = opt_string(L, t, "lua_version");
    if (cfg->user_agent && zavu_has_control(cfg->user_agent))
        zl_raise(L, "bad option 'user_agent' (control characters would end the header)");
    /* The Zavu-Sender of messages.send and react (zavu.methods sends it). */
    if ((sender = opt_string(L, t, "sender")) != NULL && (!*sender || zavu_has_control(sender)))
        zl_raise(L, "bad option 'sender' (a sender id expected: not empty, no control characters)");
    cfg->timeout = opt_seconds(L, t, "timeout", 60, 0);
    cfg->total_timeout = opt_seconds(L, t, "total_timeout", 0, 0);
    cfg->connect_timeout = opt_seconds(L, t, "connect_timeout", 10, 0);
    cfg->max_retries = opt_count(L, t, "max_retries", 2, 0, ZAVU_MAX_RETRIES);
    cfg->max_retry_wait = opt_seconds(L, t, "max_retry_wait", ZAVU_MAX_RETRY_WAIT, 1);
    cfg->max_response_bytes = (size_t)opt_count(L, t, "max_response_bytes", ZAVU_MAX_RESPONSE, 1,
                                                1 << 30);
    cfg->allow_insecure_http = opt_flag(L, t, "allow_insecure_http");
    cfg->debug = opt_flag(L, t, "debug");
}

/* Per-call options, from the table at t (none or nil: the client's), the
 * argument #argn of fname. With many, also concurrency and on_progress;
 * *progress gets the stack index of on_progress (left on the stack), or 0. */
void zl_read_call(lua_State *L, int t, const char *fname, int argn, zavu_call *call, int many,
                  int *concurrency, int *progress)
{
    static const char *const *const one[] = {CALL_OPTIONS, DELETE_OPTIONS, NULL};
    static const char *const *const all[] = {CALL_OPTIONS, DELETE_OPTIONS, MANY_OPTIONS, NULL};
    call->timeout = -1;
    call->total_timeout = -1;
    call->max_retries = -1;
    call->missing_ok = 0;
    if (lua_isnoneornil(L, t))
        return;
    if (!lua_istable(L, t))
        zl_raise(L, "bad argument #%d to '%s' (options table expected, got %s)", argn, fname,
                 luaL_typename(L, t));
    zl_refuse_unknown(L, t, fname, "option", "", many ? all : one);
    call->timeout = opt_seconds(L, t, "timeout", -1, 0);
    call->total_timeout = opt_seconds(L, t, "total_timeout", -1, 0);
    call->max_retries = opt_count(L, t, "max_retries", -1, 0, ZAVU_MAX_RETRIES);
    call->missing_ok = opt_flag(L, t, "missing_ok");
    if (!many)
        return;
    *concurrency = opt_count(L, t, "concurrency", *concurrency, 1, ZAVU_MAX_CONCURRENCY);
    lua_getfield(L, t, "on_progress");
    if (!lua_isnil(L, -1) && !lua_isfunction(L, -1))
        bad_type(L, "on_progress", "function");
    if (lua_isnil(L, -1))
        lua_pop(L, 1);
    else
        *progress = lua_gettop(L);
}

/* zavu.core.check_options(opts) and check_call_options(opts): the checks a
 * client and a call make, for code that runs the call elsewhere (a worker
 * thread) and wants misuse raised here, at the call site. */
int zl_check_options(lua_State *L)
{
    zavu_config cfg;
    if (!lua_istable(L, 1))
        zl_raise(L, "bad argument #1 to 'check_options' (table expected, got %s)",
                 luaL_typename(L, 1));
    zl_read_config(L, 1, &cfg);
    return 0;
}

int zl_check_call_options(lua_State *L)
{
    zavu_call call;
    int concurrency = 8, progress = 0;
    if (!lua_isnoneornil(L, 1))
        zl_read_call(L, 1, "check_call_options", 1, &call, 1, &concurrency, &progress);
    return 0;
}

static void push_names(lua_State *L, const char *field, const char *const *names)
{
    int i;
    lua_newtable(L);
    for (i = 0; names[i]; i++) {
        lua_pushstring(L, names[i]);
        lua_rawseti(L, -2, i + 1);
    }
    lua_setfield(L, -2, field);
}

/* zavu.core.option_names = { client = {...}, call = {...}, delete = {...},
 * many = {...} }, into the module table on top of the stack. */
void zl_push_option_names(lua_State *L)
{
    lua_newtable(L);
    push_names(L, "client", CLIENT_OPTIONS);
    push_names(L, "call", CALL_OPTIONS);
    push_names(L, "delete", DELETE_OPTIONS);
    push_names(L, "many", MANY_OPTIONS);
    lua_setfield(L, -2, "option_names");
}
