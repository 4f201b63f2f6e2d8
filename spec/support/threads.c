/*
 * threads.c - concurrency check: N OS threads, each with its own Lua 5.4
 * state (zavu.core linked in), its own client and M deletes against the mock
 * API, all at once. Built with -fsanitize=thread (make threads): any data
 * race in the module - global init, fork bookkeeping, shared buffers - is a
 * report and a failure.
 *   threads <base-url> <threads> <deletes-per-thread>
 */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

int luaopen_zavu_core(lua_State *L);

static const char *base_url;
static int per_thread;

/* Every 50th id is a missing session (an error table built and decoded with
 * cjson, then accepted through missing_ok); a small delete_many at the end. */
static const char WORK[] =
    "local base, n, t = ...\n"
    "local core = require 'zavu.core'\n"
    "local s = core.sessions(core.new { api_key = 'zv_live_threads', base_url = base })\n"
    "local ok = 0\n"
    "for i = 1, n - 2 do\n"
    "  local id = (i % 50 == 0 and 'missing-' or 'thread-') .. t .. '-' .. i\n"
    "  if s.delete(id, { missing_ok = true }) == true then ok = ok + 1 end\n"
    "end\n"
    "local m = s.delete_many({ 'many-' .. t .. '-1', 'missing-many-' .. t }, { missing_ok = true })\n"
    "return ok + #m.deleted\n";

static void *run(void *arg)
{
    long t = (long)arg, ok = -1;
    lua_State *L = luaL_newstate();
    luaL_openlibs(L);
    luaL_requiref(L, "zavu.core", luaopen_zavu_core, 0);
    lua_pop(L, 1);
    if (luaL_loadstring(L, WORK) == LUA_OK) {
        lua_pushstring(L, base_url);
        lua_pushinteger(L, per_thread);
        lua_pushinteger(L, t);
        if (lua_pcall(L, 3, 1, 0) == LUA_OK)
            ok = (long)lua_tointeger(L, -1);
    }
    if (ok < 0)
        fprintf(stderr, "thread %ld: %s\n", t, lua_tostring(L, -1));
    lua_close(L);
    return (void *)ok;
}

int main(int argc, char **argv)
{
    int n, i;
    long total = 0;
    pthread_t threads[64];

    if (argc != 4 || (n = atoi(argv[2])) < 1 || n > 64 || (per_thread = atoi(argv[3])) < 3)
        return fprintf(stderr, "usage: threads <base-url> <threads 1-64> <deletes-per-thread>\n"), 2;
    base_url = argv[1];
    for (i = 0; i < n; i++)
        pthread_create(&threads[i], NULL, run, (void *)(long)i);
    for (i = 0; i < n; i++) {
        void *ok;
        pthread_join(threads[i], &ok);
        total += (long)ok;
    }
    printf("%d threads: %ld deleted of %ld\n", n, total, (long)n * per_thread);
    return total == (long)n * per_thread ? 0 : 1;
}
