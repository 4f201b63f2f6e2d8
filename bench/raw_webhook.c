/*
 * raw_webhook.c - the floor for zavu.webhooks.verify: what any verifier that
 * returns the event must do, each part measured alone.
 *   raw_webhook hmac BODY_FILE N T SECRET
 *       N x libcrypto's HMAC-SHA256 of "{T}.{body}" under SECRET (the MAC
 *       fetched and its context made once; keyed, fed and finished per
 *       digest); prints the last digest in hex (v2's value, for a check)
 *   raw_webhook decode BODY_FILE N
 *       N x lua-cjson's decode of the body, in a bare Lua state
 * Built once against Lua 5.4 and once against LuaJIT (bench/run).
 */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *data;
    long size;
    if (!f || fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
        return NULL;
    data = malloc((size_t)size + 1);
    if (!data || fread(data, 1, (size_t)size, f) != (size_t)size)
        return NULL;
    fclose(f);
    *len = (size_t)size;
    return data;
}

static int hmac(const char *body, size_t len, long n, const char *t, const char *secret)
{
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(mac);
    OSSL_PARAM params[2];
    unsigned char out[32];
    size_t out_len = 0;
    long i;
    int k;
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
    params[1] = OSSL_PARAM_construct_end();
    if (!ctx || !EVP_MAC_CTX_set_params(ctx, params))
        return 1;
    for (i = 0; i < n; i++) {
        if (!EVP_MAC_init(ctx, (const unsigned char *)secret, strlen(secret), NULL) ||
            !EVP_MAC_update(ctx, (const unsigned char *)t, strlen(t)) ||
            !EVP_MAC_update(ctx, (const unsigned char *)".", 1) ||
            !EVP_MAC_update(ctx, (const unsigned char *)body, len) ||
            !EVP_MAC_final(ctx, out, &out_len, sizeof out))
            return 1;
    }
    for (k = 0; k < (int)out_len; k++)
        printf("%02x", out[k]);
    printf("\n");
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(mac);
    return 0;
}

static int decode(const char *body, size_t len, long n)
{
    lua_State *L = luaL_newstate();
    long i;
    luaL_openlibs(L);
    if (luaL_dostring(L, "decode = require('cjson').new().decode") != 0)
        return 1;
    lua_pushlstring(L, body, len); /* once: the string a verifier is given */
    lua_setglobal(L, "body");
    for (i = 0; i < n; i++) {
        lua_getglobal(L, "decode");
        lua_getglobal(L, "body");
        lua_call(L, 1, 1);
        lua_settop(L, 0);
    }
    lua_close(L);
    return 0;
}

int main(int argc, char **argv)
{
    size_t len;
    char *body;
    long n;
    if (argc < 4 || !(body = read_file(argv[2], &len)))
        return 2;
    n = atol(argv[3]);
    if (strcmp(argv[1], "hmac") == 0 && argc == 6)
        return hmac(body, len, n, argv[4], argv[5]);
    if (strcmp(argv[1], "decode") == 0)
        return decode(body, len, n);
    return 2;
}
