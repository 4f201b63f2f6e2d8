/*
 * zavu_lua_request.c - requests: the single delete (the hot path), any
 * request of the operations list, and the JSON of what comes back.
 */
#include "zavu_lua.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* A number given as a session id, pushed as the string sent: its exact
 * digits, the same on every interpreter (lua_tostring would print 14
 * significant digits on 5.1 and LuaJIT, "2.0" on 5.3+, "-nan" or "nan").
 * Returns 0, pushing nothing, when it has no such form: not a whole
 * number, or a float beyond 2^53. */
int zl_push_number_id(lua_State *L, int i)
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

/* delete(id [, opts]) inside zl_guarded(): (u, id, opts) */
static int l_delete_inner(lua_State *L)
{
    client_ud *u = lua_touserdata(L, 1);
    size_t id_len;
    const char *id;
    lua_settop(L, 3);
    if (lua_type(L, 2) != LUA_TSTRING && lua_type(L, 2) != LUA_TNUMBER)
        zl_raise(L, "bad argument #1 to 'delete' (string expected for sessionId, got %s)",
                 luaL_typename(L, 2)); /* before anything else */
    zavu_call call;
    zavu_result res;
    zl_read_call(L, 3, "delete", 2, &call, 0, NULL, NULL);
    if (lua_type(L, 2) == LUA_TNUMBER) {
        if (!zl_push_number_id(L, 2))
            return zl_push_local_error(L, "invalid_argument", NUMBER_ID_MESSAGE);
        lua_replace(L, 2);
    }
    id = lua_tolstring(L, 2, &id_len);
    if (zavu_delete_session(u->core, id, id_len, &call, &res)) {
        lua_pushboolean(L, 1);
        return 1;
    }
    lua_pushnil(L);
    zl_push_error(L, &res);
    return 2;
}

/* delete(id [, opts]) -> true | nil, err; id at index `at`. A string id and
 * no options is the hot path: no user code can run in it until the answer
 * is known, so it needs no protected call unless there is an error to build. */
int zl_delete_at(lua_State *L, client_ud *u, int at)
{
    size_t id_len;
    const char *id;
    zavu_result res;
    int deleted;

    if (lua_type(L, at) != LUA_TSTRING || !lua_isnoneornil(L, at + 1))
        return zl_guarded(L, u, at, l_delete_inner);
    if (u->busy)
        return zl_push_busy(L);
    id = lua_tolstring(L, at, &id_len);
    /* Pushed before the call, while the client is not busy: on 5.1 and
     * LuaJIT this allocates, and a finalizer run there may raise (that
     * must not leave the client busy) or close the client. */
    lua_pushcfunction(L, zl_push_error_cfn);
    if (!u->core)
        return zl_raise(L, "the client is closed");
    u->busy = 1;
    zavu_call_begin(); /* Ctrl-C in a plain interpreter ends the call */
    deleted = zavu_delete_session(u->core, id, id_len, NULL, &res);
    zavu_call_end();
    if (deleted) {
        zl_call_done(u);
        lua_pushboolean(L, 1);
        return 1;
    }
    /* The error table allocates (a finalizer may run) and reads the body
     * the client owns: build it while the client is still busy. */
    lua_pushlightuserdata(L, &res);
    at = lua_pcall(L, 1, 1, 0);
    zl_call_done(u);
    if (at != 0)
        return lua_error(L);
    lua_pushnil(L);
    lua_insert(L, -2);
    return 2;
}

/* ---- any request ---- */

/* Make the decoded value at the top what a caller gets: drop the fields that
 * are JSON null (cjson.null, a NULL light userdata) from every object, arrays
 * keep theirs. Returns 0 when it holds a number no double can hold: "1e999"
 * is valid JSON that lua-cjson decodes as inf. */
static int clean_decoded(lua_State *L)
{
    int t = lua_gettop(L), type = lua_type(L, t);
    if (type == LUA_TNUMBER)
        return isfinite((double)lua_tonumber(L, t));
    if (type != LUA_TTABLE)
        return 1;
    luaL_checkstack(L, 4, "zavu: decoded body nests too deep"); /* one level's slots */
    if (zavu_rawlen(L, t) > 0) { /* a JSON array: keep its nulls, walk its values */
        size_t i, n = zavu_rawlen(L, t);
        for (i = 1; i <= n; i++) {
            int ok;
            lua_rawgeti(L, t, (int)i);
            ok = clean_decoded(L);
            lua_pop(L, 1);
            if (!ok)
                return 0;
        }
        return 1;
    }
    lua_pushnil(L);
    while (lua_next(L, t) != 0) {
        type = lua_type(L, -1);
        if (type == LUA_TTABLE || type == LUA_TNUMBER) {
            if (!clean_decoded(L)) {
                lua_pop(L, 2);
                return 0;
            }
        } else if (type == LUA_TLIGHTUSERDATA && lua_touserdata(L, -1) == NULL &&
                   lua_type(L, -2) == LUA_TSTRING) {
            lua_pushvalue(L, -2);
            lua_pushnil(L);
            lua_rawset(L, t); /* clearing a field during traversal is allowed */
        }
        lua_pop(L, 1);
    }
    return 1;
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

static int decode_body(lua_State *L, zavu_result *res);

/* What an operation adds to a request, from index i: flags (1: live keys
 * only, 2: idempotent - see zavu_request), then one header line, "Name: value" (the
 * Zavu-Sender), or nil. The line is an argument: anchored for the call. */
static void read_extras(lua_State *L, int i, zavu_request *rq, const char **line)
{
    size_t len;
    lua_Integer flags = luaL_optinteger(L, i, 0);
    luaL_argcheck(L, flags >= 0 && flags <= 3, i, "request flags expected");
    rq->live_only = (flags & 1) != 0;
    rq->idempotent = (flags & 2) != 0;
    *line = luaL_optlstring(L, i + 1, NULL, &len);
    if (*line && strlen(*line) != len) /* libcurl reads C strings: a NUL would cut it short */
        luaL_argerror(L, i + 1, "a header without NUL bytes expected");
    rq->headers = *line ? line : NULL;
    rq->n_headers = *line ? 1 : 0;
}

/* zavu.core.idempotency_key() -> 32 hex digits: 128 bits from the operating
 * system's random source, new at each call. nil and an error without one. */
int zl_idempotency_key(lua_State *L)
{
    unsigned char bytes[ZAVU_KEY_BYTES];
    char hex[2 * ZAVU_KEY_BYTES];
    static const char digits[] = "0123456789abcdef";
    size_t i;
    if (zavu_random_bytes(bytes, sizeof bytes) != 0)
        return zl_push_local_error(L, "internal_error", "no random source for an idempotency key");
    for (i = 0; i < sizeof bytes; i++) {
        hex[2 * i] = digits[bytes[i] >> 4];
        hex[2 * i + 1] = digits[bytes[i] & 15];
    }
    lua_pushlstring(L, hex, sizeof hex);
    return 1;
}

/* request(method, path, params, query, body, opts [, noun [, ignore_body
 * [, flags [, header]]]]) inside zl_guarded(): (u, method, path, {param...},
 * {key, value...}, json | nil, opts, noun | nil, ignore_body | nil, flags |
 * nil, "Name: value" | nil) -> the decoded body (true when empty, or when
 * ignore_body: an operation that promises none), status, attempts, request
 * id | nil, err. noun names what the path is about, for a 404's message
 * ("egress node"); flags and header: read_extras. */
static int l_request_inner(lua_State *L)
{
    client_ud *u = lua_touserdata(L, 1);
    zavu_request rq;
    zavu_call call;
    zavu_result res;
    const char *header;
    size_t path_len;

    lua_settop(L, 11); /* fixed slots: the arrays below are pushed above them */
    luaL_checkstack(L, 24, "zavu request");
    memset(&rq, 0, sizeof rq);
    rq.method = luaL_checkstring(L, 2);
    rq.path = luaL_checklstring(L, 3, &path_len);
    if (strlen(rq.path) != path_len) /* it would be cut there */
        luaL_argerror(L, 3, "the path holds a NUL byte");
    rq.noun = luaL_optstring(L, 8, NULL);
    rq.n_params = string_array(L, 4, "path parameter", (const char ***)&rq.params,
                               (size_t **)&rq.param_lens);
    rq.n_query = string_array(L, 5, "query entry", (const char ***)&rq.query,
                              (size_t **)&rq.query_lens);
    if (rq.n_query % 2)
        luaL_argerror(L, 5, "key, value pairs expected");
    rq.body = luaL_optlstring(L, 6, NULL, &rq.body_len);
    read_extras(L, 10, &rq, &header);
    zl_read_call(L, 7, "request", 3, &call, 0, NULL, NULL);
    if (!zavu_request_send(u->core, &rq, &call, &res)) {
        lua_pushnil(L);
        zl_push_error(L, &res);
        return 2;
    }
    if (res.body_len == 0 || lua_toboolean(L, 9))
        lua_pushboolean(L, 1);
    else if (!decode_body(L, &res))
        return 2; /* nil, err */
    lua_pushinteger(L, (lua_Integer)res.status);
    lua_pushinteger(L, res.attempts);
    lua_pushstring(L, res.request_id);
    return 4;
}

/* The JSON body of a success, decoded: pushes the value and returns 1, or
 * pushes nil and an invalid_response error and returns 0. */
static int decode_body(lua_State *L, zavu_result *res)
{
    const char *what = "a body that is not JSON (or nests deeper than 64)";
    int walk;
    /* The null members go from the text (the client's own buffer, read once
     * more here): cheaper than decoding them and walking the value for them. */
    size_t len = zavu_json_drop_nulls((char *)res->body, res->body_len, &walk);
    lua_getfield(L, LUA_REGISTRYINDEX, DECODE_KEY);
    lua_pushlstring(L, res->body, len);
    lua_call(L, 1, 1); /* cjson.safe: nil on a bad body, never raises */
    if (lua_type(L, -1) == LUA_TLIGHTUSERDATA) {
        what = "a bare JSON null"; /* cjson.null: no value a caller (or a thread) can take */
    } else if (!lua_isnil(L, -1)) {
        if (!walk || clean_decoded(L))
            return 1;
        what = "a number too large for a double";
    }
    lua_pop(L, 1);
    res->ok = 0;
    res->code = "invalid_response";
    snprintf(res->message, sizeof res->message, "the API answered %ld with %s", res->status, what);
    res->body_len = 0;
    lua_pushnil(L);
    zl_push_error(L, res);
    return 0;
}

int zl_request(lua_State *L) { return zl_guarded(L, zl_check_client(L), 2, l_request_inner); }
