/*
 * zavu_lua_body.c - a call's body table checked against its compiled fields
 * (zavu_lua_schema.h) and written as JSON in one pass, without the fresh
 * table and the encoder zavu.schema and lua-cjson would make: a send's hot
 * path. The same rule as the checks: any doubt (a metatable, an unknown key,
 * a bound, a type, an object described by nothing, a huge body) and it
 * returns nil, and the Lua path - which raises the one message misuse gets,
 * or encodes with lua-cjson - does the work. It never accepts what the Lua
 * checks would refuse.
 *
 * The JSON goes into a scratch userdata (grown by Lua, so an allocation that
 * fails raises with nothing to leak), kept in the registry between calls.
 */
#include "zavu_lua_schema.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SCRATCH_KEY "zavu.body_scratch"
#define MAX_BODY (1 << 20) /* larger bodies go the Lua way */

typedef struct {
    lua_State *L;
    char *p;
    size_t len, cap;
    int slot; /* the stack slot that holds the scratch userdata */
} out;

/* Room for n more bytes: 0 when the body outgrew MAX_BODY. */
static int room(out *b, size_t n)
{
    char *bigger;
    size_t cap;
    if (b->len + n <= b->cap)
        return 1;
    if (b->len + n > MAX_BODY)
        return 0;
    for (cap = b->cap * 2; cap < b->len + n; cap *= 2)
        ;
    bigger = lua_newuserdata(b->L, cap);
    memcpy(bigger, b->p, b->len);
    lua_replace(b->L, b->slot);
    b->p = bigger;
    b->cap = cap;
    return 1;
}

static int put(out *b, const char *s, size_t n)
{
    if (!room(b, n))
        return 0;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    return 1;
}

#define PUT_LITERAL(b, s) put(b, s, sizeof s - 1)

/* A JSON string: the UTF-8 as it is (zl_string_ok checked it), with ", \
 * and control bytes escaped; the runs between them copied whole. */
static int put_string(out *b, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    size_t i, run = 0;
    char *d;
    if (!room(b, len * 6 + 2))
        return 0;
    d = b->p + b->len;
    *d++ = '"';
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        memcpy(d, s + run, i - run);
        d += i - run;
        run = i + 1;
        if (c >= 0x20) {
            *d++ = '\\';
            *d++ = (char)c;
        } else {
            memcpy(d, "\\u00", 4);
            d[4] = hex[c >> 4];
            d[5] = hex[c & 15];
            d += 6;
        }
    }
    memcpy(d, s + run, len - run);
    d += len - run;
    *d++ = '"';
    b->len = (size_t)(d - b->p);
    return 1;
}

/* A finite number: whole ones with every digit, others as the shortest of
 * %.14g (lua-cjson's) and %.17g that reads back the same. */
static int put_number(out *b, lua_State *L, int v)
{
    char s[40];
    double d = (double)lua_tonumber(L, v);
#if LUA_VERSION_NUM >= 503
    if (lua_isinteger(L, v)) {
        snprintf(s, sizeof s, LUA_INTEGER_FMT, (LUAI_UACINT)lua_tointeger(L, v));
        return put(b, s, strlen(s));
    }
#endif
    if (d == floor(d) && fabs(d) < 9007199254740992.0)
        snprintf(s, sizeof s, "%.0f", d == 0 ? 0.0 : d);
    else if (snprintf(s, sizeof s, "%.14g", d), strtod(s, NULL) != d)
        snprintf(s, sizeof s, "%.17g", d);
    return put(b, s, strlen(s));
}

static int put_value(lua_State *L, out *b, const field *f, int v);

/* The members of the plain table at t, as fs describes them, after a "{"
 * (first: nothing written yet). skip: a key not to write (a header), else
 * 0. Returns 0 to ask Lua. */
static int put_members(lua_State *L, out *b, const fields *fs, int t, int *first, int skip)
{
    int required = 0, map;
    if (!lua_checkstack(L, 6))
        return 0;
    zl_names_map(L, fs);
    map = lua_gettop(L);
    lua_pushnil(L);
    while (lua_next(L, t) != 0) {
        const field *f;
        size_t klen;
        const char *k;
        if (lua_type(L, -2) != LUA_TSTRING)
            goto fail;
        lua_pushvalue(L, -2);
        lua_rawget(L, map);
        if (lua_type(L, -1) != LUA_TNUMBER)
            goto fail;
        f = &fs->f[lua_tointeger(L, -1)];
        lua_pop(L, 1);
        required += f->required;
        if (skip && lua_rawequal(L, -2, skip)) { /* a header: checked, not written */
            size_t len;
            const char *s = lua_tolstring(L, -1, &len);
            if (f->lua_only || f->kind != K_STRING || lua_type(L, -1) != LUA_TSTRING ||
                !zl_string_ok(f, s, len))
                goto fail;
            lua_pop(L, 1);
            continue;
        }
        k = lua_tolstring(L, -2, &klen);
        if ((!*first && !PUT_LITERAL(b, ",")) || !put_string(b, k, klen) || !PUT_LITERAL(b, ":") ||
            !put_value(L, b, f, lua_gettop(L)))
            goto fail;
        *first = 0;
        lua_pop(L, 1);
    }
    lua_pop(L, 1); /* the map */
    return required == fs->n_required;
fail:
    lua_settop(L, map - 1);
    return 0;
}

static int put_object(lua_State *L, out *b, const fields *fs, int t)
{
    int first = 1;
    return PUT_LITERAL(b, "{") && put_members(L, b, fs, t, &first, 0) && PUT_LITERAL(b, "}");
}

/* An array: keys 1..n only, each item as f->items says; [] when empty. */
static int put_array(lua_State *L, out *b, const field *f, int v)
{
    size_t n = 0, i;
    lua_pushnil(L);
    while (lua_next(L, v) != 0) {
        lua_Number k;
        lua_pop(L, 1);
        if (lua_type(L, -1) != LUA_TNUMBER || (k = lua_tonumber(L, -1)) < 1 || k != floor(k)) {
            lua_pop(L, 1);
            return 0;
        }
        n++;
    }
    if (zavu_rawlen(L, v) != n || (f->max_items >= 0 && n > (size_t)f->max_items))
        return 0;
    if (!PUT_LITERAL(b, "["))
        return 0;
    for (i = 1; i <= n; i++) {
        int ok;
        lua_rawgeti(L, v, (int)i);
        ok = !lua_isnil(L, -1) && (i == 1 || PUT_LITERAL(b, ",")) &&
             put_value(L, b, f->items, lua_gettop(L));
        lua_pop(L, 1);
        if (!ok)
            return 0;
    }
    return PUT_LITERAL(b, "]");
}

/* A map: string keys, each value as f->values says. */
static int put_map(lua_State *L, out *b, const field *f, int v)
{
    int first = 1;
    if (!PUT_LITERAL(b, "{"))
        return 0;
    lua_pushnil(L);
    while (lua_next(L, v) != 0) {
        size_t klen;
        const char *k;
        if (lua_type(L, -2) != LUA_TSTRING) {
            lua_pop(L, 2);
            return 0;
        }
        k = lua_tolstring(L, -2, &klen);
        if ((!first && !PUT_LITERAL(b, ",")) || !put_string(b, k, klen) || !PUT_LITERAL(b, ":") ||
            !put_value(L, b, f->values, lua_gettop(L))) {
            lua_pop(L, 2);
            return 0;
        }
        first = 0;
        lua_pop(L, 1);
    }
    return PUT_LITERAL(b, "}");
}

/* The value at index v as f describes it, written; 0 to ask Lua. */
static int put_value(lua_State *L, out *b, const field *f, int v)
{
    int type = lua_type(L, v);
    if (f->lua_only)
        return 0;
    if (type == LUA_TLIGHTUSERDATA && lua_touserdata(L, v) == NULL) /* zavu.null */
        return f->nullable && PUT_LITERAL(b, "null");
    switch (f->kind) {
    case K_STRING: {
        size_t len;
        const char *s;
        if (type != LUA_TSTRING)
            return 0;
        s = lua_tolstring(L, v, &len);
        return zl_string_ok(f, s, len) && put_string(b, s, len);
    }
    case K_INTEGER:
    case K_NUMBER:
        return type == LUA_TNUMBER && zl_number_ok(f, (double)lua_tonumber(L, v)) &&
               put_number(b, L, v);
    case K_BOOLEAN:
        if (type != LUA_TBOOLEAN)
            return 0;
        return lua_toboolean(L, v) ? PUT_LITERAL(b, "true") : PUT_LITERAL(b, "false");
    case K_OBJECT:
        if (type != LUA_TTABLE || !zl_plain(L, v))
            return 0;
        if (f->values)
            return put_map(L, b, f, v);
        if (!f->children)
            return 0; /* described by nothing: lua-cjson writes it */
        return put_object(L, b, f->children, v);
    case K_ARRAY: return type == LUA_TTABLE && zl_plain(L, v) && f->items && put_array(L, b, f, v);
    default: return 0;
    }
}

/* zavu.core.encode_body(compiled, t [, key_name [, header_name]]) -> json,
 * header, key, own | nil. The plain table t, checked and written as JSON;
 * header_name: a field sent as a header, not in the body (its value comes
 * back); key_name: the idempotency key's field - the caller's value, or a
 * fresh one (128 bits from the operating system; own is then true) added to
 * the body. nil: ask zavu.schema (misuse, or what only Lua reads). */
static int l_encode_body(lua_State *L)
{
    const fields *fs = luaL_checkudata(L, 1, SCHEMA_MT);
    out b;
    int first = 1, ok;
    lua_settop(L, 4);
    if (lua_type(L, 2) != LUA_TTABLE || !zl_plain(L, 2))
        return 0;
    lua_getfield(L, LUA_REGISTRYINDEX, SCRATCH_KEY); /* 5: the scratch */
    if (lua_type(L, 5) != LUA_TUSERDATA) {
        lua_pop(L, 1);
        lua_newuserdata(L, 1024);
    }
    b.L = L;
    b.slot = 5;
    b.p = lua_touserdata(L, 5);
    b.cap = zavu_rawlen(L, 5);
    b.len = 0;
    ok = PUT_LITERAL(&b, "{") && put_members(L, &b, fs, 2, &first, lua_isnil(L, 4) ? 0 : 4);
    lua_pushvalue(L, 5);
    lua_setfield(L, LUA_REGISTRYINDEX, SCRATCH_KEY); /* grown or not: kept for the next call */
    if (!ok)
        return 0;
    /* 6: the header's value (checked as a member), 7: the key, 8: own */
    lua_pushvalue(L, 4);
    if (!lua_isnil(L, 4))
        lua_rawget(L, 2);
    if (lua_isnil(L, 3)) {
        lua_pushnil(L);
        lua_pushboolean(L, 0);
    } else {
        lua_pushvalue(L, 3);
        lua_rawget(L, 2);
        if (!lua_isnil(L, -1)) {
            lua_pushboolean(L, 0); /* the caller's: written with the members */
        } else {
            unsigned char bytes[ZAVU_KEY_BYTES];
            static const char digits[] = "0123456789abcdef";
            char hex[2 * ZAVU_KEY_BYTES];
            size_t i, nlen;
            const char *name = lua_tolstring(L, 3, &nlen);
            if (zavu_random_bytes(bytes, sizeof bytes) != 0)
                return 0; /* the Lua path says why */
            for (i = 0; i < sizeof bytes; i++) {
                hex[2 * i] = digits[bytes[i] >> 4];
                hex[2 * i + 1] = digits[bytes[i] & 15];
            }
            lua_pop(L, 1);
            lua_pushlstring(L, hex, sizeof hex);
            lua_pushboolean(L, 1);
            if ((!first && !PUT_LITERAL(&b, ",")) || !put_string(&b, name, nlen) ||
                !PUT_LITERAL(&b, ":") || !put_string(&b, hex, sizeof hex))
                return 0;
        }
    }
    if (!PUT_LITERAL(&b, "}"))
        return 0;
    lua_pushlstring(L, b.p, b.len);
    lua_replace(L, 5); /* json, header, key, own */
    return 4;
}

void zl_open_body(lua_State *L)
{
    lua_pushcfunction(L, l_encode_body);
    lua_setfield(L, -2, "encode_body");
}
