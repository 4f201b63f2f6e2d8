/*
 * zavu_lua.h - what the binding's files (zavu_lua*.c) share. Names start
 * with zl_: they are the binding's own, not the core's (zavu_core.h).
 */
#ifndef ZAVU_LUA_H
#define ZAVU_LUA_H

#include "compat.h"
#include "zavu_core.h"

#define CLIENT_MT "zavu.client"
#define ERROR_MT "zavu.error"
#define DECODE_KEY "zavu.json_decode" /* a private cjson.safe instance */

#define NUMBER_ID_MESSAGE "session id must be a string or a whole number below 2^53"

/* A client is busy while a call runs on it, including while user code runs
 * inside that call (on_progress, a metamethod of an options table, a
 * finalizer run by the collector): such code gets client_busy from another
 * call, and its close() waits until the running call ends. */
typedef struct {
    zavu_client *core;
    int busy;
    int close_pending;
} client_ud;

/* ---- zavu_lua_options.c ---- */
/* Client options from the table at t into cfg; leaves values on the stack
 * that keep cfg's strings alive. Raises on a bad option. */
void zl_read_config(lua_State *L, int t, zavu_config *cfg);
/* Per-call options from the table at t (none or nil: the client's), the
 * argument #argn of fname. With many, also concurrency and on_progress
 * (its stack index into *progress). Unknown names raise. */
void zl_read_call(lua_State *L, int t, const char *fname, int argn, zavu_call *call, int many,
                  int *concurrency, int *progress);
int zl_check_options(lua_State *L);
int zl_check_call_options(lua_State *L);
void zl_push_option_names(lua_State *L);

/* ---- zavu_lua_names.c ---- */
/* Raise fmt (lua_pushfstring's) at the caller's line: the first Lua function up the stack. */
int zl_raise(lua_State *L, const char *fmt, ...);
/* Raise for a key of the table at t that none of the NULL-terminated lists
 * (a NULL-terminated array of them) names: "unknown <noun> '<prefix><key>'
 * to '<fname>' (did you mean ...?)". Raw keys only: no metamethod runs. */
void zl_refuse_unknown(lua_State *L, int t, const char *fname, const char *noun, const char *prefix,
                       const char *const *const *lists);
int zl_check_names(lua_State *L); /* zavu.core.check_names(t, fname, names, noun [, prefix]) */

/* ---- zavu_lua_client.c ---- */
void zl_open_client(lua_State *L);
client_ud *zl_check_client(lua_State *L);
int zl_new(lua_State *L);
int zl_close(lua_State *L);
int zl_sessions(lua_State *L);
/* Runs inner(u, args from index `at`) with the client busy, in protected mode. */
int zl_guarded(lua_State *L, client_ud *u, int at, lua_CFunction inner);
void zl_call_done(client_ud *u);

/* ---- zavu_lua_errors.c ---- */
void zl_push_error(lua_State *L, const zavu_result *res);
int zl_push_error_cfn(lua_State *L); /* (light userdata zavu_result) -> err */
int zl_push_local_error(lua_State *L, const char *code, const char *message);
int zl_push_busy(lua_State *L);
int zl_error_tostring(lua_State *L);
int zl_error_from_response(lua_State *L);

/* ---- zavu_lua_request.c ---- */
int zl_push_number_id(lua_State *L, int i);
int zl_delete_at(lua_State *L, client_ud *u, int at);
int zl_request(lua_State *L);
int zl_idempotency_key(lua_State *L);

/* ---- zavu_lua_batch.c ---- */
int zl_delete_many(lua_State *L); /* inside zl_guarded: (u, ids, opts) */

/* ---- zavu_lua_webhooks.c ---- */
/* zavu.core.webhook_*: the verifier (src/zavu_webhook.c); the module table on top. */
void zl_open_webhooks(lua_State *L);

/* ---- zavu_lua_schema.c ---- */
/* compile_fields and check_fields into the module table on top of the stack. */
void zl_open_schema(lua_State *L);

#endif
