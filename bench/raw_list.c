/*
 * raw_list.c - the floor for sessions.all(): a plain C loop that fetches
 * every page of GET /v1/whatsapp-alt/sessions on one reused libcurl handle
 * and decodes each with lua-cjson (in a bare Lua 5.4 state), following
 * nextCursor. No checks, no retries, no error tables.
 *   raw_list BASE_URL KEY LIMIT -> prints "<seconds> <items>"
 */
#include <curl/curl.h>
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct { char *data; size_t len, cap; } buf;

static size_t on_body(char *d, size_t s, size_t n, void *ud)
{
    buf *b = ud;
    if (b->len + s * n + 1 > b->cap) {
        b->cap = (b->len + s * n + 1) * 2;
        b->data = realloc(b->data, b->cap);
    }
    memcpy(b->data + b->len, d, s * n);
    b->len += s * n;
    return s * n;
}

int main(int argc, char **argv)
{
    char url[512], auth[256], cursor[128] = "";
    struct curl_slist *h = NULL;
    buf b = {0};
    long items = 0;
    struct timespec t0, t1;
    lua_State *L = luaL_newstate();
    CURL *e;
    if (argc < 4)
        return 2;
    luaL_openlibs(L);
    luaL_dostring(L, "decode = require('cjson').new().decode");
    curl_global_init(CURL_GLOBAL_DEFAULT);
    e = curl_easy_init();
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", argv[2]);
    h = curl_slist_append(h, auth);
    h = curl_slist_append(h, "Accept: application/json");
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &b);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        snprintf(url, sizeof url, "%s/v1/whatsapp-alt/sessions?limit=%s%s%s", argv[1], argv[3],
                 cursor[0] ? "&cursor=" : "", cursor);
        curl_easy_setopt(e, CURLOPT_URL, url);
        b.len = 0;
        if (curl_easy_perform(e) != CURLE_OK)
            return 1;
        lua_getglobal(L, "decode");
        lua_pushlstring(L, b.data, b.len);
        lua_call(L, 1, 1);
        lua_getfield(L, -1, "items");
        items += (long)lua_rawlen(L, -1);
        lua_getfield(L, -2, "nextCursor");
        if (lua_type(L, -1) != LUA_TSTRING) {
            lua_settop(L, 0);
            break;
        }
        snprintf(cursor, sizeof cursor, "%s", lua_tostring(L, -1));
        lua_settop(L, 0);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("%.6f %ld\n", (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9, items);
    curl_easy_cleanup(e);
    curl_slist_free_all(h);
    lua_close(L);
    return 0;
}
