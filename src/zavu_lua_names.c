/*
 * zavu_lua_names.c - misuse, raised at the caller's line: an options table
 * (or a body, or a query) with a key nobody reads is refused, naming the
 * function, the key and the known name nearest to it - a typo such as
 * `dryrun` must never be silently ignored.
 */
#include "zavu_lua.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Whether a function's source is one of zavu's own Lua modules
 * ("@.../zavu/init.lua", "@.../zavu/openresty/webhook.lua"), which only pass
 * the user's arguments on. (zavu.methods.raise_at_caller: the same rule.) */
static int is_zavu_module(const char *source)
{
    size_t n = strlen(source), i;
    int dirs = 0;
    if (n < 10 || source[0] != '@' || strcmp(source + n - 4, ".lua") != 0)
        return 0;
    for (i = n - 4; i > 1; i--) {
        char ch = source[i - 1];
        if (ch == '/') {
            if (i >= 5 && i < n - 4 && memcmp(source + i - 5, "zavu/", 5) == 0)
                return 1;
            if (++dirs > 1) /* zavu/<name>.lua or zavu/<dir>/<name>.lua */
                return 0;
        } else if (!(isalnum((unsigned char)ch) || ch == '_')) {
            return 0;
        }
    }
    return 0;
}

/* Raise the message at the line of the first Lua function up the stack
 * that is not one of zavu's modules: the caller's, even from inside the
 * protected call of a guarded method (a C function has no line to show) or
 * through the lazy default client. (zavu.methods.raise_at_caller does the
 * same for the checks made in Lua.) */
int zl_raise(lua_State *L, const char *fmt, ...)
{
    lua_Debug ar;
    int level;
    va_list ap;
    lua_pushliteral(L, "");
    for (level = 1; lua_getstack(L, level, &ar); level++) {
        lua_getinfo(L, "Sl", &ar);
        if (ar.currentline > 0 && !is_zavu_module(ar.source)) {
            lua_pop(L, 1);
            lua_pushfstring(L, "%s:%d: ", ar.short_src, ar.currentline);
            break;
        }
    }
    va_start(ap, fmt);
    lua_pushvfstring(L, fmt, ap);
    va_end(ap);
    lua_concat(L, 2);
    return lua_error(L);
}

/* ---- unknown names: refused, with the nearest known one ---- */

#define NEAR_MAX 64 /* longer names are never "near" anything */

/* Edits (insert, delete, replace, swap two neighbours) from a to b. */
static size_t edit_distance(const char *a, size_t n, const char *b, size_t m)
{
    size_t rows[3][NEAR_MAX + 1], i, j;
    size_t *older = rows[0], *prev = rows[1], *cur = rows[2], *spare;
    for (j = 0; j <= m; j++)
        prev[j] = j;
    for (i = 1; i <= n; i++) {
        cur[0] = i;
        for (j = 1; j <= m; j++) {
            size_t cost = a[i - 1] != b[j - 1], best = prev[j - 1] + cost;
            if (prev[j] + 1 < best)
                best = prev[j] + 1;
            if (cur[j - 1] + 1 < best)
                best = cur[j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                older[j - 2] + 1 < best)
                best = older[j - 2] + 1;
            cur[j] = best;
        }
        spare = older;
        older = prev;
        prev = cur;
        cur = spare;
    }
    return prev[m];
}

/* The known name nearest to key, or NULL when none is near enough to be
 * the one meant (a third of the name may be wrong, at most 3 edits). */
static const char *nearest(const char *key, size_t len, const char *const *const *lists)
{
    const char *best = NULL;
    size_t best_d = len < 4 ? 1 : len < 8 ? 2 : 3, d;
    const char *const *name;
    if (len > NEAR_MAX)
        return NULL;
    for (; *lists; lists++)
        for (name = *lists; *name; name++)
            if (strlen(*name) <= NEAR_MAX &&
                (d = edit_distance(key, len, *name, strlen(*name))) <= best_d &&
                (!best || d < best_d)) {
                best = *name;
                best_d = d;
            }
    return best;
}

static int is_known(const char *key, size_t len, const char *const *const *lists)
{
    const char *const *name;
    for (; *lists; lists++)
        for (name = *lists; *name; name++)
            if (strlen(*name) == len && memcmp(*name, key, len) == 0)
                return 1;
    return 0;
}

/* A key as a message shows it: control bytes as '?', at most 60 bytes. */
static void shown_key(char *out, size_t size, const char *key, size_t len)
{
    size_t i, n = len < 60 ? len : 60;
    if (n + 4 > size)
        n = size - 4;
    for (i = 0; i < n; i++)
        out[i] = (unsigned char)key[i] < 0x20 || key[i] == 0x7f ? '?' : key[i];
    snprintf(out + n, size - n, "%s", n < len ? "..." : "");
}

/* Whether a comes before b in byte order. */
static int before(const char *a, size_t alen, const char *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    return c < 0 || (c == 0 && alen < blen);
}

/* Raise for a key of the table at t that no list names - the first in byte
 * order, so every interpreter names the same one: "unknown option 'dryrun'
 * to 'prune' (did you mean 'dry_run'?)". noun: "option", "body field"...;
 * prefix: the path of a nested table ("egress."). Raw keys only (lua_next):
 * no metamethod runs, and a key only __index knows is never enumerated. */
void zl_refuse_unknown(lua_State *L, int t, const char *fname, const char *noun, const char *prefix,
                       const char *const *const *lists)
{
    const char *worst, *near;
    size_t worst_len, len;
    int odd = LUA_TNIL, slot;
    char key[80], list[512];
    luaL_checkstack(L, 4, "zavu options");
    if (t < 0 && t > LUA_REGISTRYINDEX)
        t = lua_gettop(L) + t + 1; /* the pushes below would move a relative index */
    lua_pushnil(L);                /* the unknown key that comes first, kept alive here */
    slot = lua_gettop(L);
    lua_pushnil(L);
    while (lua_next(L, t) != 0) {
        lua_pop(L, 1);
        if (lua_type(L, -1) != LUA_TSTRING) {
            odd = lua_type(L, -1);
            continue;
        }
        const char *k = lua_tolstring(L, -1, &len);
        if (is_known(k, len, lists))
            continue;
        worst = lua_tolstring(L, slot, &worst_len);
        if (!worst || before(k, len, worst, worst_len)) {
            lua_pushvalue(L, -1);
            lua_replace(L, slot);
        }
    }
    worst = lua_tolstring(L, slot, &worst_len);
    if (!worst && odd == LUA_TNIL) {
        lua_pop(L, 1);
        return;
    }
    if (!worst)
        zl_raise(L, "unknown %s to '%s' (%s names are strings, got a %s key)", noun, fname, noun,
                 lua_typename(L, odd));
    shown_key(key, sizeof key, worst, worst_len);
    near = nearest(worst, worst_len, lists);
    if (near)
        zl_raise(L, "unknown %s '%s%s' to '%s' (did you mean '%s%s'?)", noun, prefix, key, fname,
                 prefix, near);
    list[0] = '\0';
    for (; *lists; lists++) {
        const char *const *name;
        for (name = *lists; *name; name++)
            if (strcmp(*name, "lua_version") != 0) /* set by zavu itself */
                snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s",
                         list[0] ? ", " : "", *name);
    }
    zl_raise(L, "unknown %s '%s%s' to '%s' (known: %s)", noun, prefix, key, fname, list);
}

/* zavu.core.check_names(t, fname, names, noun [, prefix]): raise, as the
 * options readers do, for a key of t that the array names does not hold. */
int zl_check_names(lua_State *L)
{
    size_t n, i;
    const char **names;
    const char *const *lists[2];
    lua_settop(L, 5);
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_checktype(L, 3, LUA_TTABLE);
    n = zavu_rawlen(L, 3);
    names = lua_newuserdata(L, sizeof *names * (n + 1)); /* collected even if we raise */
    for (i = 0; i < n; i++) {
        lua_rawgeti(L, 3, (int)i + 1);
        if (lua_type(L, -1) != LUA_TSTRING)
            return luaL_argerror(L, 3, "strings expected");
        names[i] = lua_tostring(L, -1); /* anchored by the array */
        lua_pop(L, 1);
    }
    names[n] = NULL;
    lists[0] = names;
    lists[1] = NULL;
    zl_refuse_unknown(L, 1, luaL_checkstring(L, 2), luaL_checkstring(L, 4),
                      luaL_optstring(L, 5, ""), lists);
    return 0;
}
