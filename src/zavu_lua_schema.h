/*
 * zavu_lua_schema.h - a fields list of zavu.operations compiled into C
 * (zavu_lua_schema.c), shared with the body encoder (zavu_lua_body.c).
 */
#ifndef ZAVU_LUA_SCHEMA_H
#define ZAVU_LUA_SCHEMA_H

#include "zavu_lua.h"

#define SCHEMA_MT "zavu.schema.fields"
#define EMPTY_ARRAY "\0zavu:[]\0" /* zavu.schema.EMPTY_ARRAY: [] once encoded */

enum kind { K_STRING, K_INTEGER, K_NUMBER, K_BOOLEAN, K_OBJECT, K_ARRAY, K_OTHER };

typedef struct field field;
typedef struct fields fields;

struct field {
    enum kind kind;
    int required, nullable, no_controls, lua_only; /* lua_only: a pattern, or a type unknown here */
    long min_length, max_length, max_items;        /* -1: none */
    int has_min, has_max;
    double min, max;
    const fields *children; /* an object's fields */
    const field *values;    /* a map's values */
    const field *items;     /* an array's items */
};

struct fields {
    int n, n_required;
    field f[1]; /* n of them; their names are in the map (below): name -> index */
};

/* 1 when the table at t has no metatable (only then is what next() sees
 * all there is). */
int zl_plain(lua_State *L, int t);
/* Whether a string, a number passes f's checks (UTF-8, lengths, controls;
 * finite, whole for an integer, the range). */
int zl_string_ok(const field *f, const char *s, size_t len);
int zl_number_ok(const field *f, double d);
/* Push fs's names map: name -> index (0-based). */
void zl_names_map(lua_State *L, const fields *fs);

/* zavu.core.encode_body (zavu_lua_body.c) into the module table on top. */
void zl_open_body(lua_State *L);

#endif
