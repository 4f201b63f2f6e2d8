/*
 * zavu_lua_schema.c - the fast side of zavu.schema: a fields list of
 * zavu.operations compiled once into C, then each call's plain table checked
 * and copied here. It says yes or "ask Lua": any doubt - a metatable, an
 * unknown or non-string key, a missing field, a wrong type, a bound crossed,
 * a pattern - returns nil, and zavu.schema's Lua checks run, which raise the
 * one deterministic message (or accept what only they can read, such as
 * __index). So the two never disagree on what is misuse: this side accepts
 * only what the Lua side would accept as well.
 */
#include "zavu_lua_schema.h"

#include <math.h>
#include <string.h>

/* Everything compiled stays for the life of the Lua state (descriptions
 * are static): each fields list's map sits in the registry under its
 * pointer, and holds the userdata itself under "\0self"; a values or items
 * field is kept in the registry under its pointer. */
static void anchor(lua_State *L, const void *p)
{
    lua_pushlightuserdata(L, (void *)p);
    lua_pushvalue(L, -2);
    lua_rawset(L, LUA_REGISTRYINDEX);
}

/* ---- compile ---- */

static long opt_long(lua_State *L, int t, const char *k)
{
    long v = -1;
    lua_getfield(L, t, k);
    if (lua_type(L, -1) == LUA_TNUMBER)
        v = (long)lua_tonumber(L, -1);
    lua_pop(L, 1);
    return v;
}

static int opt_flag(lua_State *L, int t, const char *k)
{
    int v;
    lua_getfield(L, t, k);
    v = lua_toboolean(L, -1);
    lua_pop(L, 1);
    return v;
}

static int opt_number(lua_State *L, int t, const char *k, double *out)
{
    int has;
    lua_getfield(L, t, k);
    has = lua_type(L, -1) == LUA_TNUMBER;
    if (has)
        *out = (double)lua_tonumber(L, -1);
    lua_pop(L, 1);
    return has;
}

static void compile_fields(lua_State *L, int list);

/* A field's description (the table at index d) into *f. */
static void compile_field(lua_State *L, int d, field *f)
{
    const char *type;
    lua_getfield(L, d, "type");
    type = lua_tostring(L, -1);
    f->kind = !type                          ? K_OTHER
              : strcmp(type, "string") == 0  ? K_STRING
              : strcmp(type, "integer") == 0 ? K_INTEGER
              : strcmp(type, "number") == 0  ? K_NUMBER
              : strcmp(type, "boolean") == 0 ? K_BOOLEAN
              : strcmp(type, "object") == 0  ? K_OBJECT
              : strcmp(type, "array") == 0   ? K_ARRAY
                                             : K_OTHER;
    lua_pop(L, 1);
    f->required = opt_flag(L, d, "required");
    f->nullable = opt_flag(L, d, "nullable");
    f->no_controls = opt_flag(L, d, "no_controls");
    f->min_length = opt_long(L, d, "min_length");
    f->max_length = opt_long(L, d, "max_length");
    f->max_items = opt_long(L, d, "max_items");
    f->has_min = opt_number(L, d, "min", &f->min);
    f->has_max = opt_number(L, d, "max", &f->max);
    lua_getfield(L, d, "pattern");
    f->lua_only = !lua_isnil(L, -1) || f->kind == K_OTHER;
    lua_pop(L, 1);
    lua_getfield(L, d, "fields");
    if (lua_type(L, -1) == LUA_TTABLE) {
        compile_fields(L, lua_gettop(L)); /* pushes the userdata */
        f->children = lua_touserdata(L, -1);
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    lua_getfield(L, d, "values");
    lua_getfield(L, d, "items");
    for (int i = 0; i < 2; i++) {
        int at = lua_gettop(L) - 1 + i;
        field *child;
        if (lua_type(L, at) != LUA_TTABLE)
            continue;
        child = lua_newuserdata(L, sizeof *child);
        memset(child, 0, sizeof *child);
        anchor(L, child);
        lua_pop(L, 1);
        compile_field(L, at, child);
        if (i == 0)
            f->values = child;
        else
            f->items = child;
    }
    lua_pop(L, 2);
}

/* The fields list at index list, compiled: pushes its userdata. */
static void compile_fields(lua_State *L, int list)
{
    int n = (int)zavu_rawlen(L, list), i, names;
    fields *fs = lua_newuserdata(L, sizeof *fs + sizeof fs->f[0] * (size_t)(n > 0 ? n : 1));
    memset(fs, 0, sizeof *fs + sizeof fs->f[0] * (size_t)(n > 0 ? n : 1));
    luaL_getmetatable(L, SCHEMA_MT);
    lua_setmetatable(L, -2);
    lua_newtable(L);
    names = lua_gettop(L);
    fs->n = n;
    for (i = 0; i < n; i++) {
        lua_rawgeti(L, list, i + 1);
        lua_getfield(L, -1, "name");
        lua_pushinteger(L, i);
        lua_rawset(L, names); /* name -> index */
        compile_field(L, lua_gettop(L), &fs->f[i]);
        fs->n_required += fs->f[i].required;
        lua_pop(L, 1);
    }
    lua_pushvalue(L, -2);
    lua_setfield(L, names, "\0self"); /* no field name holds a NUL byte */
    anchor(L, fs);
    lua_pop(L, 1);
}

/* zavu.core.compile_fields(list) -> compiled fields (zavu.schema keeps them
 * by list). */
static int l_compile_fields(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    luaL_checkstack(L, 16, "zavu schema");
    compile_fields(L, 1);
    return 1;
}

/* ---- check ---- */

void zl_names_map(lua_State *L, const fields *fs)
{
    lua_pushlightuserdata(L, (void *)fs);
    lua_rawget(L, LUA_REGISTRYINDEX);
}

static int check_value(lua_State *L, const field *f, int v);

int zl_plain(lua_State *L, int t)
{
    if (!lua_getmetatable(L, t))
        return 1;
    lua_pop(L, 1);
    return 0;
}

int zl_string_ok(const field *f, const char *s, size_t len)
{
    long n = zavu_utf8_length(s, len);
    if (n < 0 || (f->min_length >= 0 && n < f->min_length) ||
        (f->max_length >= 0 && n > f->max_length))
        return 0;
    if (f->no_controls) {
        size_t i;
        for (i = 0; i < len; i++)
            if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
                return 0;
    }
    return 1;
}

int zl_number_ok(const field *f, double d)
{
    return isfinite(d) && !(f->kind == K_INTEGER && d != floor(d)) && !(f->has_min && d < f->min) &&
           !(f->has_max && d > f->max);
}

/* The plain table at t checked against fs: pushes the fresh table and
 * returns 1, or returns 0 (nothing pushed). */
static int check_fields(lua_State *L, const fields *fs, int t)
{
    int out, required = 0, map;
    if (lua_type(L, t) != LUA_TTABLE || !zl_plain(L, t))
        return 0;
    luaL_checkstack(L, 8, "zavu schema");
    zl_names_map(L, fs);
    map = lua_gettop(L);
    lua_createtable(L, 0, fs->n < 8 ? fs->n : 8);
    out = lua_gettop(L);
    lua_pushnil(L);
    while (lua_next(L, t) != 0) {
        const field *f;
        if (lua_type(L, -2) != LUA_TSTRING)
            goto fail;
        lua_pushvalue(L, -2);
        lua_rawget(L, map); /* index, or nil: a name the list does not have */
        if (lua_type(L, -1) != LUA_TNUMBER)
            goto fail;
        f = &fs->f[lua_tointeger(L, -1)];
        lua_pop(L, 1);
        if (!check_value(L, f, lua_gettop(L))) /* pushes what to send */
            goto fail;
        required += f->required;
        lua_pushvalue(L, -3);
        lua_insert(L, -2);
        lua_rawset(L, out);
        lua_pop(L, 1);
    }
    if (required != fs->n_required)
        goto fail_done;
    lua_remove(L, map);
    return 1;
fail:
    lua_settop(L, out);
fail_done:
    lua_settop(L, map - 1);
    return 0;
}

static int check_string(lua_State *L, const field *f, int v)
{
    size_t len;
    const char *s = lua_tolstring(L, v, &len);
    if (!zl_string_ok(f, s, len))
        return 0;
    lua_pushvalue(L, v);
    return 1;
}

static int check_number(lua_State *L, const field *f, int v)
{
    if (!zl_number_ok(f, (double)lua_tonumber(L, v)))
        return 0;
    lua_pushvalue(L, v);
    return 1;
}

/* An array: keys 1..n only, each item as f->items says. */
static int check_array(lua_State *L, const field *f, int v)
{
    size_t n = 0, i;
    int out;
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
    if (n == 0) {
        lua_pushlstring(L, EMPTY_ARRAY, sizeof EMPTY_ARRAY - 1);
        return 1;
    }
    lua_createtable(L, (int)n, 0);
    out = lua_gettop(L);
    for (i = 1; i <= n; i++) {
        lua_rawgeti(L, v, (int)i);
        if (lua_isnil(L, -1) || !check_value(L, f->items, lua_gettop(L))) {
            lua_settop(L, out - 1);
            return 0;
        }
        lua_rawseti(L, out, (int)i);
        lua_pop(L, 1);
    }
    return 1;
}

/* A map: string keys, each value as f->values says. */
static int check_map(lua_State *L, const field *f, int v)
{
    int out;
    lua_newtable(L);
    out = lua_gettop(L);
    lua_pushnil(L);
    while (lua_next(L, v) != 0) {
        if (lua_type(L, -2) != LUA_TSTRING || !check_value(L, f->values, lua_gettop(L))) {
            lua_settop(L, out - 1);
            return 0;
        }
        lua_pushvalue(L, -3);
        lua_insert(L, -2);
        lua_rawset(L, out);
        lua_pop(L, 1);
    }
    return 1;
}

/* The value at index v checked as f describes it: pushes what to send and
 * returns 1, or returns 0 (nothing pushed) for "ask Lua". */
static int check_value(lua_State *L, const field *f, int v)
{
    int type = lua_type(L, v);
    if (f->lua_only)
        return 0;
    if (type == LUA_TLIGHTUSERDATA && lua_touserdata(L, v) == NULL) { /* zavu.null */
        if (!f->nullable)
            return 0;
        lua_pushvalue(L, v);
        return 1;
    }
    switch (f->kind) {
    case K_STRING: return type == LUA_TSTRING && check_string(L, f, v);
    case K_INTEGER:
    case K_NUMBER: return type == LUA_TNUMBER && check_number(L, f, v);
    case K_BOOLEAN:
        if (type != LUA_TBOOLEAN)
            return 0;
        lua_pushvalue(L, v);
        return 1;
    case K_OBJECT:
        if (type != LUA_TTABLE || !zl_plain(L, v))
            return 0;
        if (f->values)
            return check_map(L, f, v);
        if (!f->children) {
            lua_pushvalue(L, v); /* any object, sent as it is */
            return 1;
        }
        return check_fields(L, f->children, v);
    case K_ARRAY:
        if (type != LUA_TTABLE || !zl_plain(L, v) || !f->items)
            return 0;
        return check_array(L, f, v);
    default: return 0;
    }
}

/* zavu.core.check_fields(compiled, t) -> the fresh table of t's values, or
 * nil: ask zavu.schema's Lua checks (misuse, or what only they read). */
static int l_check_fields(lua_State *L)
{
    const fields *fs = luaL_checkudata(L, 1, SCHEMA_MT);
    lua_settop(L, 2);
    if (!check_fields(L, fs, 2))
        lua_pushnil(L);
    return 1;
}

void zl_open_schema(lua_State *L)
{
    zl_open_body(L);
    luaL_newmetatable(L, SCHEMA_MT);
    lua_pop(L, 1);
    lua_pushcfunction(L, l_compile_fields);
    lua_setfield(L, -2, "compile_fields");
    lua_pushcfunction(L, l_check_fields);
    lua_setfield(L, -2, "check_fields");
}
