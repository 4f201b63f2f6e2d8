/*
 * raw_send.c - the floor for messages.send, in two parts measured alone:
 *   raw_send http BASE_URL COUNT USER_AGENT: a plain C loop POSTing the JSON
 *     body messages.send sends (its idempotencyKey included, the same headers
 *     byte for byte) to /v1/messages on one reused libcurl handle, reading
 *     each answer into a buffer;
 *   raw_send json BASE_URL COUNT: in a bare Lua 5.4 state, lua-cjson encoding
 *     that body's table and decoding the answer (fetched once), COUNT times.
 * No checks, no retries, no error tables. Prints "<seconds> <count>".
 */
#include <curl/curl.h>
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* What bench/clients.lua's send posts: a fresh key of the same length each time there. */
#define BODY                                                                                       \
    "{\"to\":\"+56912345678\",\"channel\":\"whatsapp_alt\",\"text\":\"Hello\","                    \
    "\"idempotencyKey\":\"0123456789abcdef0123456789abcdef\"}"
#define BODY_TABLE                                                                                 \
    "{ to = '+56912345678', channel = 'whatsapp_alt', text = 'Hello',"                             \
    "  idempotencyKey = '0123456789abcdef0123456789abcdef' }"

typedef struct {
    char *data;
    size_t len, cap;
} buf;

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

static double seconds(const struct timespec *a, const struct timespec *b)
{
    return (b->tv_sec - a->tv_sec) + (b->tv_nsec - a->tv_nsec) / 1e9;
}

int main(int argc, char **argv)
{
    char url[512];
    struct curl_slist *h = NULL;
    struct timespec t0, t1;
    buf b = {0};
    long i, n, ok = 0, status;
    int json;
    CURL *e;
    if (argc < 4 || (strcmp(argv[1], "http") != 0 && strcmp(argv[1], "json") != 0))
        return fprintf(stderr, "usage: raw_send http|json BASE_URL COUNT [USER_AGENT]\n"), 2;
    json = strcmp(argv[1], "json") == 0;
    n = atol(argv[3]);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    e = curl_easy_init();
    snprintf(url, sizeof url, "%s/v1/messages", argv[2]);
    h = curl_slist_append(h, "Authorization: Bearer zv_live_bench");
    h = curl_slist_append(h, "Accept: application/json");
    h = curl_slist_append(h, "Content-Type: application/json");
    h = curl_slist_append(h, "Expect:");
    h = curl_slist_append(h, "Zavu-Sender: snd_bench");
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
    if (argc > 4)
        curl_easy_setopt(e, CURLOPT_USERAGENT, argv[4]);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, BODY);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(BODY));
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &b);
    if (json) { /* the answer, once; then only the JSON work */
        lua_State *L = luaL_newstate();
        if (curl_easy_perform(e) != CURLE_OK)
            return 1;
        luaL_openlibs(L);
        if (luaL_dostring(L, "local cjson = require('cjson').new()\n"
                             "encode, decode = cjson.encode, cjson.decode\n"
                             "body = " BODY_TABLE) != 0)
            return fprintf(stderr, "%s\n", lua_tostring(L, -1)), 1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (i = 0; i < n; i++) {
            lua_getglobal(L, "encode");
            lua_getglobal(L, "body");
            lua_call(L, 1, 1);
            lua_getglobal(L, "decode");
            lua_pushlstring(L, b.data, b.len);
            lua_call(L, 1, 1);
            if (lua_type(L, -1) == LUA_TTABLE && lua_type(L, -2) == LUA_TSTRING)
                ok++;
            lua_settop(L, 0);
        }
        clock_gettime(CLOCK_MONOTONIC, &t1);
        lua_close(L);
    } else {
        for (i = 0; i < 100; i++) { /* the connection up, caches warm, as the client's warm-up */
            b.len = 0;
            curl_easy_perform(e);
        }
        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (i = 0; i < n; i++) {
            b.len = 0;
            if (curl_easy_perform(e) == CURLE_OK &&
                curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK &&
                status == 200 && b.len > 0)
                ok++;
        }
        clock_gettime(CLOCK_MONOTONIC, &t1);
    }
    printf("%.6f %ld\n", seconds(&t0, &t1), ok);
    curl_easy_cleanup(e);
    curl_slist_free_all(h);
    free(b.data);
    return ok == n ? 0 : 1;
}
