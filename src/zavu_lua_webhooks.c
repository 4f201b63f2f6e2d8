/*
 * zavu_lua_webhooks.c - the webhook verifier (zavu_webhook.c) in zavu.core:
 *
 *   webhook_verify(body, header|nil, secrets, now, tolerance, future, require_v2)
 *       -> "v2"|"v1" | nil, code, message
 *   webhook_verify_tool(body, signature|nil, secrets) -> true | nil, code, message
 *   webhook_check_time(t, now, tolerance, future, what) -> true | nil, code, message
 *   webhook_sign(body, secret, t, "v1"|"v2"|"v1+v2") -> header
 *
 * secrets is a string or a list of strings. lua/zavu/webhooks.lua checks the
 * caller's arguments first (with messages naming its functions); the checks
 * here only keep wrong values from reaching C.
 *
 * The functions that compute digests share one HMAC context per Lua state
 * (their upvalue): fetching HMAC from libcrypto per call cost a tenth of a
 * 1 KiB verification (bench/README.md). It is a userdata, so lua_close frees
 * it (__gc) like any client: nothing kept in a static for a module that may
 * be unloaded.
 */
#include "zavu_lua.h"
#include "zavu_webhook.h"

#include <math.h>
#include <string.h>

#define STACK_SECRETS 8 /* lists up to this long need no allocation */
#define MAC_MT "zavu.webhook_mac"

/* The state's HMAC context, or NULL (libcrypto failed at load: then each
 * call makes its own, and fails alone if libcrypto still cannot). A C
 * function runs to its end without yielding, so the state's coroutines
 * never share it at once. */
static zavu_webhook_mac *state_mac(lua_State *L)
{
    return *(zavu_webhook_mac **)lua_touserdata(L, lua_upvalueindex(1));
}

static int mac_gc(lua_State *L)
{
    zavu_webhook_mac **box = luaL_checkudata(L, 1, MAC_MT);
    zavu_webhook_mac_free(*box);
    *box = NULL;
    return 0;
}

/* The secrets at index i (a string or a non-empty list of them) into
 * *secrets: `room` entries given, or a userdata made for a longer list (it
 * stays on the stack, so the collector frees it). The strings stay anchored
 * by the argument itself, which nothing changes meanwhile (raw reads: no
 * metamethod runs). Returns how many. */
static size_t read_secrets(lua_State *L, int i, zavu_webhook_secret **secrets, size_t room)
{
    size_t n, k;
    if (lua_type(L, i) == LUA_TSTRING) {
        (*secrets)[0].key = lua_tolstring(L, i, &(*secrets)[0].len);
        return 1;
    }
    luaL_checktype(L, i, LUA_TTABLE);
    n = zavu_rawlen(L, i);
    if (n == 0)
        luaL_argerror(L, i, "no secret in the list");
    if (n > room)
        *secrets = lua_newuserdata(L, n * sizeof **secrets);
    for (k = 0; k < n; k++) {
        lua_rawgeti(L, i, (int)k + 1);
        if (lua_type(L, -1) != LUA_TSTRING)
            luaL_argerror(L, i, "a list of strings expected");
        (*secrets)[k].key = lua_tolstring(L, -1, &(*secrets)[k].len);
        lua_pop(L, 1); /* still referenced by the list */
    }
    return n;
}

static const char *opt_bytes(lua_State *L, int i, size_t *len)
{
    if (lua_isnoneornil(L, i)) {
        *len = 0;
        return NULL;
    }
    return luaL_checklstring(L, i, len);
}

static double check_seconds(lua_State *L, int i)
{
    double d = (double)luaL_checknumber(L, i);
    if (isnan(d))
        luaL_argerror(L, i, "a number of seconds expected, got nan");
    return d;
}

/* nil, code, message for a failed check; the scheme (or true) otherwise. */
static int push_outcome(lua_State *L, const zavu_webhook_result *res, int as_boolean)
{
    if (res->status == ZAVU_WEBHOOK_OK) {
        if (as_boolean || !res->scheme)
            lua_pushboolean(L, 1);
        else
            lua_pushstring(L, res->scheme);
        return 1;
    }
    lua_pushnil(L);
    lua_pushstring(L, zavu_webhook_code(res->status));
    lua_pushstring(L, res->message);
    return 3;
}

static int l_webhook_verify(lua_State *L)
{
    zavu_webhook_secret room[STACK_SECRETS], *secrets = room;
    zavu_webhook_check check;
    zavu_webhook_result res;
    size_t body_len, header_len, n;
    const char *body = luaL_checklstring(L, 1, &body_len);
    const char *header = opt_bytes(L, 2, &header_len);
    n = read_secrets(L, 3, &secrets, STACK_SECRETS);
    check.now = check_seconds(L, 4);
    check.tolerance = check_seconds(L, 5);
    check.future = check_seconds(L, 6);
    check.require_v2 = lua_toboolean(L, 7);
    zavu_webhook_verify(state_mac(L), body, body_len, header, header_len, secrets, n, &check, &res);
    return push_outcome(L, &res, 0);
}

static int l_webhook_verify_tool(lua_State *L)
{
    zavu_webhook_secret room[STACK_SECRETS], *secrets = room;
    zavu_webhook_result res;
    size_t body_len, sig_len, n;
    const char *body = luaL_checklstring(L, 1, &body_len);
    const char *sig = opt_bytes(L, 2, &sig_len);
    n = read_secrets(L, 3, &secrets, STACK_SECRETS);
    zavu_webhook_verify_tool(state_mac(L), body, body_len, sig, sig_len, secrets, n, &res);
    return push_outcome(L, &res, 1);
}

static int l_webhook_check_time(lua_State *L)
{
    zavu_webhook_check check;
    zavu_webhook_result res;
    double t = check_seconds(L, 1);
    check.now = check_seconds(L, 2);
    check.tolerance = check_seconds(L, 3);
    check.future = check_seconds(L, 4);
    check.require_v2 = 0;
    zavu_webhook_check_time(t, &check, luaL_optstring(L, 5, "the timestamp"), &res);
    return push_outcome(L, &res, 1);
}

/* A whole number of seconds >= 0, exact on every interpreter. */
static long long check_t(lua_State *L, int i)
{
    double d;
#if LUA_VERSION_NUM >= 503
    if (lua_isinteger(L, i)) {
        lua_Integer t = lua_tointeger(L, i);
        if (t < 0)
            luaL_argerror(L, i, "a whole number of seconds >= 0 expected");
        return (long long)t;
    }
#endif
    d = (double)luaL_checknumber(L, i);
    if (!(d >= 0 && d < 9223372036854775807.0) || d != floor(d))
        luaL_argerror(L, i, "a whole number of seconds >= 0 expected");
    return (long long)d;
}

static int l_webhook_sign(lua_State *L)
{
    static const char *const schemes[] = {"v1", "v2", "v1+v2", NULL};
    static const int bits[] = {ZAVU_WEBHOOK_V1, ZAVU_WEBHOOK_V2, ZAVU_WEBHOOK_V1 | ZAVU_WEBHOOK_V2};
    char header[ZAVU_WEBHOOK_HEADER_MAX];
    size_t body_len, secret_len;
    const char *body = luaL_checklstring(L, 1, &body_len);
    const char *secret = luaL_checklstring(L, 2, &secret_len);
    long long t = check_t(L, 3);
    int scheme = luaL_checkoption(L, 4, "v2", schemes);
    int len = zavu_webhook_sign(state_mac(L), body, body_len, secret, secret_len, t, bits[scheme],
                                header, sizeof header);
    if (len < 0)
        return luaL_error(L, "zavu: libcrypto could not compute HMAC-SHA256");
    lua_pushlstring(L, header, (size_t)len);
    return 1;
}

static const luaL_Reg mac_functions[] = {
    {"webhook_verify", l_webhook_verify},
    {"webhook_verify_tool", l_webhook_verify_tool},
    {"webhook_sign", l_webhook_sign},
    {NULL, NULL},
};

void zl_open_webhooks(lua_State *L)
{
    const luaL_Reg *r;
    /* The box first, with its metatable, so __gc always sees a safe object. */
    zavu_webhook_mac **box = lua_newuserdata(L, sizeof *box);
    *box = NULL;
    luaL_newmetatable(L, MAC_MT);
    lua_pushcfunction(L, mac_gc);
    lua_setfield(L, -2, "__gc");
    lua_setmetatable(L, -2);
    *box = zavu_webhook_mac_new();
    for (r = mac_functions; r->name; r++) {
        lua_pushvalue(L, -1);
        lua_pushcclosure(L, r->func, 1);
        lua_setfield(L, -3, r->name);
    }
    lua_pop(L, 1);
    lua_pushcfunction(L, l_webhook_check_time);
    lua_setfield(L, -2, "webhook_check_time");
    lua_pushinteger(L, ZAVU_WEBHOOK_TOLERANCE);
    lua_setfield(L, -2, "webhook_tolerance");
    lua_pushinteger(L, ZAVU_WEBHOOK_FUTURE);
    lua_setfield(L, -2, "webhook_future");
}
