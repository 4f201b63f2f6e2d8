/*
 * zavu_lua.c - the Lua binding: maps the C core (zavu_core.h) to the module
 * "zavu.core". Wrong argument types raise, like luaL_checkstring; every
 * runtime failure comes back as nil plus an error table.
 */
#include "compat.h"
#include "zavu_core.h"

#include <curl/curl.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define CLIENT_MT "zavu.client"
#define ERROR_MT "zavu.error"
#define DECODE_KEY "zavu.json_decode" /* a private cjson.safe instance */

/* A client is busy while a call runs on it, including while user code runs
 * inside that call (on_progress, a metamethod of an options table, a
 * finalizer run by the collector): such code gets client_busy from another
 * call, and its close() waits until the running call ends. */
typedef struct {
    zavu_client *core;
    int busy;
    int close_pending;
} client_ud;

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
    return luaL_error(L, "bad option '%s' (%s expected, got %s)", name, expected, got);
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
        luaL_error(L, "bad option '%s' (string without NUL bytes expected)", name);
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
static void read_config(lua_State *L, int t, zavu_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    luaL_checkstack(L, 8, "zavu options");
    cfg->api_key = opt_string(L, t, "api_key");
    cfg->base_url = opt_string(L, t, "base_url");
    cfg->ca_file = opt_string(L, t, "ca_file");
    cfg->ca_path = opt_string(L, t, "ca_path");
    cfg->user_agent = opt_string(L, t, "user_agent");
    cfg->lua_version = opt_string(L, t, "lua_version");
    if (cfg->user_agent && zavu_has_control(cfg->user_agent))
        luaL_error(L, "bad option 'user_agent' (control characters would end the header)");
    cfg->timeout = opt_seconds(L, t, "timeout", 60, 0);
    cfg->connect_timeout = opt_seconds(L, t, "connect_timeout", 10, 0);
    cfg->max_retries = opt_count(L, t, "max_retries", 2, 0, ZAVU_MAX_RETRIES);
    cfg->max_retry_wait = opt_seconds(L, t, "max_retry_wait", ZAVU_MAX_RETRY_WAIT, 1);
    cfg->max_response_bytes = (size_t)opt_count(L, t, "max_response_bytes", ZAVU_MAX_RESPONSE, 1,
                                                1 << 30);
    cfg->allow_insecure_http = opt_flag(L, t, "allow_insecure_http");
    cfg->debug = opt_flag(L, t, "debug");
}

/* Per-call options, from the table at t (none or nil: the client's). With
 * many, also concurrency and on_progress; *progress gets the stack index
 * of on_progress (left on the stack), or 0. */
static void read_call(lua_State *L, int t, zavu_call *call, int many, int *concurrency,
                      int *progress)
{
    call->timeout = -1;
    call->max_retries = -1;
    call->missing_ok = 0;
    if (lua_isnoneornil(L, t))
        return;
    luaL_checktype(L, t, LUA_TTABLE);
    call->timeout = opt_seconds(L, t, "timeout", -1, 0);
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
static int l_check_options(lua_State *L)
{
    zavu_config cfg;
    luaL_checktype(L, 1, LUA_TTABLE);
    read_config(L, 1, &cfg);
    return 0;
}

static int l_check_call_options(lua_State *L)
{
    zavu_call call;
    int concurrency = 8, progress = 0;
    if (!lua_isnoneornil(L, 1))
        read_call(L, 1, &call, 1, &concurrency, &progress);
    return 0;
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

    if (lua_isnoneornil(L, 1)) {
        lua_settop(L, 0);
        lua_newtable(L);
    }
    luaL_checktype(L, 1, LUA_TTABLE);
    read_config(L, 1, &cfg); /* its strings stay on the stack until we return */

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
static int l_close(lua_State *L)
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
static void call_done(client_ud *u)
{
    u->busy = 0;
    if (u->close_pending)
        free_core(u);
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
static int l_error_tostring(lua_State *L)
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
static int push_local_error(lua_State *L, const char *code, const char *message)
{
    zavu_result res;
    memset(&res, 0, sizeof res);
    res.retry_after = -1;
    res.code = code;
    snprintf(res.message, sizeof res.message, "%s", message);
    lua_pushnil(L);
    push_error(L, &res);
    return 2;
}

static int push_busy(lua_State *L)
{
    return push_local_error(L, "client_busy",
                            "the client is busy: this code runs inside a call on it "
                            "(on_progress, a metamethod or a finalizer); call it after that "
                            "call returns, or use another client");
}

/* ---- calls ---- */

/* Runs a call that may run user code (options with metamethods, on_progress,
 * finalizers) with the client marked busy, in protected mode, so the mark
 * is cleared and a deferred close() done whatever happens; an error is raised
 * again afterwards. inner gets the client as a light userdata at index 1,
 * then the call's own arguments. */
static int guarded(lua_State *L, client_ud *u, int at, lua_CFunction inner)
{
    int nargs = lua_gettop(L) - at + 1, rc;
    if (u->busy)
        return push_busy(L);
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
        return luaL_error(L, "zavu: client is closed");
    if (u->busy) /* a finalizer's call is still running? cannot be, but never nest */
        return push_busy(L);
    u->busy = 1;
    rc = lua_pcall(L, nargs + 1, LUA_MULTRET, 0);
    call_done(u);
    if (rc != 0)
        return lua_error(L);
    return lua_gettop(L) - at + 1;
}

static int l_push_error(lua_State *L)
{
    push_error(L, lua_touserdata(L, 1));
    return 1;
}

/* A number given as a session id, pushed as the string sent: its exact
 * digits, the same on every interpreter (lua_tostring would print 14
 * significant digits on 5.1 and LuaJIT, "2.0" on 5.3+, "-nan" or "nan").
 * Returns 0, pushing nothing, when it has no such form: not a whole
 * number, or a float beyond 2^53. */
static int push_number_id(lua_State *L, int i)
{
    char buf[32];
    double d;
#if LUA_VERSION_NUM >= 503
    if (lua_isinteger(L, i)) {
        lua_pushvalue(L, i);
        lua_tostring(L, -1); /* an integer: every digit */
        return 1;
    }
#endif
    d = (double)lua_tonumber(L, i);
    if (!(d > -9007199254740992.0 && d < 9007199254740992.0) || d != floor(d))
        return 0;
    snprintf(buf, sizeof buf, "%.0f", d == 0 ? 0.0 : d); /* -0 is 0 */
    lua_pushstring(L, buf);
    return 1;
}

#define NUMBER_ID_MESSAGE "session id must be a string or a whole number below 2^53"

/* delete(id [, opts]) inside guarded(): (u, id, opts) */
static int l_delete_inner(lua_State *L)
{
    client_ud *u = lua_touserdata(L, 1);
    size_t id_len;
    const char *id;
    lua_settop(L, 3);
    if (lua_type(L, 2) != LUA_TSTRING && lua_type(L, 2) != LUA_TNUMBER)
        luaL_checklstring(L, 2, NULL); /* raises the usual type error, before anything else */
    zavu_call call;
    zavu_result res;
    read_call(L, 3, &call, 0, NULL, NULL);
    if (lua_type(L, 2) == LUA_TNUMBER) {
        if (!push_number_id(L, 2))
            return push_local_error(L, "invalid_argument", NUMBER_ID_MESSAGE);
        lua_replace(L, 2);
    }
    id = lua_tolstring(L, 2, &id_len);
    if (zavu_delete_session(u->core, id, id_len, &call, &res)) {
        lua_pushboolean(L, 1);
        return 1;
    }
    lua_pushnil(L);
    push_error(L, &res);
    return 2;
}

/* delete(id [, opts]) -> true | nil, err; id at index `at`. A string id and
 * no options is the hot path: no user code can run in it until the answer
 * is known, so it needs no protected call unless there is an error to build. */
static int delete_at(lua_State *L, client_ud *u, int at)
{
    size_t id_len;
    const char *id;
    zavu_result res;

    if (lua_type(L, at) != LUA_TSTRING || !lua_isnoneornil(L, at + 1))
        return guarded(L, u, at, l_delete_inner);
    if (u->busy)
        return push_busy(L);
    id = lua_tolstring(L, at, &id_len);
    /* Pushed before the call, while the client is not busy: on 5.1 and
     * LuaJIT this allocates, and a finalizer run there may raise (that
     * must not leave the client busy) or close the client. */
    lua_pushcfunction(L, l_push_error);
    if (!u->core)
        return luaL_error(L, "zavu: client is closed");
    u->busy = 1;
    if (zavu_delete_session(u->core, id, id_len, NULL, &res)) {
        call_done(u);
        lua_pushboolean(L, 1);
        return 1;
    }
    /* The error table allocates (a finalizer may run) and reads the body
     * the client owns: build it while the client is still busy. */
    lua_pushlightuserdata(L, &res);
    at = lua_pcall(L, 1, 1, 0);
    call_done(u);
    if (at != 0)
        return lua_error(L);
    lua_pushnil(L);
    lua_insert(L, -2);
    return 2;
}

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

/* delete_many(ids [, opts]) inside guarded(): (u, ids, opts) ->
 * { ok, total, deleted = {id...}, failed = { {id = id, error = err}... } } */
static int l_delete_many_inner(lua_State *L)
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
    luaL_checktype(L, 2, LUA_TTABLE);
    memset(&m, 0, sizeof m);
    read_call(L, 3, &call, 1, &concurrency, &m.progress);
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
        if (lua_type(L, -1) == LUA_TNUMBER && push_number_id(L, -1))
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
                push_error(L, &bad);
                lua_rawseti(L, m.results, i);
            }
            lua_pop(L, 1);
        }
    }
    push_summary(L, ids, m.results, n);
    return 1;
}

/* ---- any request ---- */

/* Drop the fields that are JSON null (cjson.null, a NULL light userdata)
 * from every object in the decoded value at the top; arrays keep theirs. */
static void drop_nulls(lua_State *L)
{
    int t = lua_gettop(L);
    if (lua_type(L, t) != LUA_TTABLE)
        return;
    luaL_checkstack(L, 4, "zavu: decoded body nests too deep"); /* one level's slots */
    if (zavu_rawlen(L, t) > 0) { /* a JSON array: keep its nulls, walk its tables */
        size_t i, n = zavu_rawlen(L, t);
        for (i = 1; i <= n; i++) {
            lua_rawgeti(L, t, (int)i);
            drop_nulls(L);
            lua_pop(L, 1);
        }
        return;
    }
    lua_pushnil(L);
    while (lua_next(L, t) != 0) {
        int type = lua_type(L, -1);
        if (type == LUA_TTABLE) {
            drop_nulls(L);
        } else if (type == LUA_TLIGHTUSERDATA && lua_touserdata(L, -1) == NULL &&
                   lua_type(L, -2) == LUA_TSTRING) {
            lua_pushvalue(L, -2);
            lua_pushnil(L);
            lua_rawset(L, t); /* clearing a field during traversal is allowed */
        }
        lua_pop(L, 1);
    }
}

/* The strings of array t[1..n] into v/lens (n entries). The strings are
 * anchored in a private copy of the array left on the stack: the caller's
 * table is reachable from user code that runs later in the call (an
 * option's metamethod, a finalizer), which may drop them. */
static size_t string_array(lua_State *L, int t, const char *what, const char ***v, size_t **lens)
{
    size_t n, i;
    int copy;
    if (lua_isnoneornil(L, t)) {
        *v = NULL;
        *lens = NULL;
        return 0;
    }
    luaL_checktype(L, t, LUA_TTABLE);
    n = zavu_rawlen(L, t);
    if (n > 100000)
        luaL_error(L, "bad %s list (at most 100000 entries)", what);
    lua_createtable(L, (int)n, 0);
    copy = lua_gettop(L);
    for (i = 0; i < n; i++) {
        lua_rawgeti(L, t, (int)i + 1);
        if (lua_type(L, -1) != LUA_TSTRING)
            luaL_error(L, "bad %s #%d (string expected, got %s)", what, (int)i + 1,
                       luaL_typename(L, -1));
        lua_rawseti(L, copy, (int)i + 1);
    }
    *v = lua_newuserdata(L, sizeof **v * (n ? n : 1));
    *lens = lua_newuserdata(L, sizeof **lens * (n ? n : 1));
    for (i = 0; i < n; i++) {
        lua_rawgeti(L, copy, (int)i + 1);
        (*v)[i] = lua_tolstring(L, -1, &(*lens)[i]); /* anchored by the private copy */
        lua_pop(L, 1);
    }
    return n;
}

static void decode_body(lua_State *L, zavu_result *res);

/* request(method, path, params, query, body, opts) inside guarded():
 * (u, method, path, {param...}, {key, value...}, json | nil, opts) ->
 * the decoded body (true when empty), status, attempts, request id | nil, err */
static int l_request_inner(lua_State *L)
{
    client_ud *u = lua_touserdata(L, 1);
    zavu_request rq;
    zavu_call call;
    zavu_result res;

    lua_settop(L, 7); /* fixed slots: the arrays below are pushed above them */
    luaL_checkstack(L, 24, "zavu request");
    memset(&rq, 0, sizeof rq);
    rq.method = luaL_checkstring(L, 2);
    rq.path = luaL_checkstring(L, 3);
    rq.n_params = string_array(L, 4, "path parameter", (const char ***)&rq.params,
                               (size_t **)&rq.param_lens);
    rq.n_query = string_array(L, 5, "query entry", (const char ***)&rq.query,
                              (size_t **)&rq.query_lens);
    if (rq.n_query % 2)
        luaL_argerror(L, 5, "key, value pairs expected");
    rq.body = luaL_optlstring(L, 6, NULL, &rq.body_len);
    read_call(L, 7, &call, 0, NULL, NULL);
    if (!zavu_request_send(u->core, &rq, &call, &res)) {
        lua_pushnil(L);
        push_error(L, &res);
        return 2;
    }
    if (res.body_len == 0)
        lua_pushboolean(L, 1);
    else
        decode_body(L, &res);
    if (lua_isnil(L, -1))
        return 2; /* nil, err */
    lua_pushinteger(L, (lua_Integer)res.status);
    lua_pushinteger(L, res.attempts);
    lua_pushstring(L, res.request_id);
    return 4;
}

/* The JSON body of a success, decoded: the value, or nil and an error. */
static void decode_body(lua_State *L, zavu_result *res)
{
    lua_getfield(L, LUA_REGISTRYINDEX, DECODE_KEY);
    lua_pushlstring(L, res->body, res->body_len);
    lua_call(L, 1, 1); /* cjson.safe: nil on a bad body, never raises */
    if (lua_isnil(L, -1)) {
        res->ok = 0;
        res->code = "invalid_response";
        snprintf(res->message, sizeof res->message,
                 "the API answered %ld with a body that is not JSON", res->status);
        res->body_len = 0;
        push_error(L, res);
        return;
    }
    drop_nulls(L);
}

static int l_request(lua_State *L) { return guarded(L, check_client(L), 2, l_request_inner); }

/* Methods of the userdata: client:delete_session(id, opts), ... */
static int l_delete_session(lua_State *L) { return delete_at(L, check_client(L), 2); }
static int l_delete_many(lua_State *L)
{
    return guarded(L, check_client(L), 2, l_delete_many_inner);
}

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
static int l_bound_delete_many(lua_State *L)
{
    return guarded(L, bound_client(L), 1, l_delete_many_inner);
}

/* zavu.core.error_from_response(status, body [, request_id]) -> err
 * The error table a response with this status and body turns into: for code
 * that talks HTTP by other means (cosockets), and for the fuzzer. */
static int l_error_from_response(lua_State *L)
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
    zavu_sleep_since(secs, count);
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

/* ---- the module ---- */

static const luaL_Reg client_methods[] = {
    {"delete_session", l_delete_session},
    {"delete_many", l_delete_many},
    {"request", l_request},
    {"close", l_close},
    {NULL, NULL},
};

static const luaL_Reg module_functions[] = {
    {"new", l_new},
    {"sessions", l_sessions},
    {"error_from_response", l_error_from_response},
    {"check_options", l_check_options},
    {"check_call_options", l_check_call_options},
    {"cancel_all", l_cancel_all},
    {"sleep", l_sleep},
    {"cancel_count", l_cancel_count},
    {"now", l_now},
    {"catch_interrupt", l_catch_interrupt},
    {"interrupted", l_interrupted},
    {"curl_info", l_curl_info},
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
    zavu_lua_open_webhooks(L); /* src/zavu_lua_webhooks.c */
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
