/*
 * fuzz_error_body.c - libFuzzer harness for turning an error response into
 * the error table: the binding's decoding of the body (lua-cjson, as the
 * library does at run time) into code, message and details, for any status.
 * Hosts one Lua 5.4 state with zavu.core linked in. Invariants: code and
 * message are non-empty strings, details is a table or nil, nothing raises.
 */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

int luaopen_zavu_core(lua_State *L);
static lua_State *L;

static void setup(void)
{
    L = luaL_newstate();
    luaL_openlibs(L);
    luaL_requiref(L, "zavu.core", luaopen_zavu_core, 0);
    lua_getfield(L, -1, "error_from_response");
    lua_setfield(L, LUA_REGISTRYINDEX, "fuzz.error_from_response");
    lua_settop(L, 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!L)
        setup();
    if (size < 2)
        return 0;
    lua_getfield(L, LUA_REGISTRYINDEX, "fuzz.error_from_response");
    lua_pushinteger(L, 100 + (data[0] | data[1] << 8) % 500);
    lua_pushlstring(L, (const char *)data + 2, size - 2);
    CHECK(lua_pcall(L, 2, 1, 0) == LUA_OK);
    CHECK(lua_type(L, -1) == LUA_TTABLE);
    lua_getfield(L, -1, "code");
    CHECK(lua_type(L, -1) == LUA_TSTRING && lua_rawlen(L, -1) > 0);
    lua_getfield(L, -2, "message");
    CHECK(lua_type(L, -1) == LUA_TSTRING && lua_rawlen(L, -1) > 0);
    lua_getfield(L, -3, "details");
    CHECK(lua_isnil(L, -1) || lua_type(L, -1) == LUA_TTABLE);
    lua_getglobal(L, "tostring");
    lua_pushvalue(L, -5);
    CHECK(lua_pcall(L, 1, 1, 0) == LUA_OK && lua_type(L, -1) == LUA_TSTRING);
    lua_settop(L, 0);
    lua_gc(L, LUA_GCSTEP, 0);
    return 0;
}
