/*
 * fuzz_request.c - libFuzzer harness for any request's URL: a path template,
 * its parameters and a query, all from the input (fields split by 0xFF).
 * Invariants: the URL is the base, then the template's literal parts in
 * order, each parameter as exactly one segment that decodes back to itself
 * (or a refusal naming the parameter), then key=value pairs that decode back.
 * And a literal path (the last field, after a '/'): sent exactly as given,
 * or refused; when it is plain (no control byte, space, '#' or '{'), refused
 * only for a segment that decodes to "." or "..", which is never sent.
 */
#include "zavu_core.h"

#include <curl/curl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)
#define MAX_FIELDS 8

static const char ALLOWED[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~%";

/* Does text (up to the first char of stop, or its end) decode to want? */
static const char *expect_decoded(const char *text, const char *stop, const char *want, size_t len)
{
    size_t n = strcspn(text, stop), i;
    int out_len;
    char *decoded;
    for (i = 0; i < n; i++)
        CHECK(strchr(ALLOWED, text[i]) != NULL);
    if (n == 0) { /* curl_easy_unescape reads a length of 0 as "use strlen" */
        CHECK(len == 0);
        return text;
    }
    decoded = curl_easy_unescape(NULL, text, (int)n, &out_len);
    CHECK(decoded && (size_t)out_len == len && memcmp(decoded, want, len) == 0);
    curl_free(decoded);
    return text + n;
}

/* Does a path (n bytes, no query) hold "." or ".." between separators once
 * percent-decoded (libcurl's decoding, the oracle for zavu_has_dot_segment),
 * "\\" read as "/"? Servers decode before they resolve dot segments. */
static int decodes_to_dots(const char *s, size_t n)
{
    int out_len, dots = 0;
    size_t i, start = 0, len;
    char *decoded;
    if (n == 0)
        return 0;
    decoded = curl_easy_unescape(NULL, s, (int)n, &out_len);
    CHECK(decoded);
    for (i = 0; i <= (size_t)out_len; i++) {
        if (i < (size_t)out_len && decoded[i] != '/' && decoded[i] != '\\')
            continue;
        len = i - start;
        if ((len == 1 && decoded[start] == '.') ||
            (len == 2 && decoded[start] == '.' && decoded[start + 1] == '.'))
            dots = 1;
        start = i + 1;
    }
    curl_free(decoded);
    return dots;
}

/* A path given as it is, with no parameters. */
static void check_literal(const char *field)
{
    size_t len = strlen(field), i, plain = 1, dots = 0;
    char *path = malloc(len + 2), *url = NULL, why[512];
    size_t cap = 0;
    zavu_request rq;
    int rc;

    path[0] = '/';
    memcpy(path + 1, field, len + 1);
    for (i = 0; path[i]; i++)
        if ((unsigned char)path[i] <= 0x20 || path[i] == 0x7f || path[i] == '#' || path[i] == '{')
            plain = 0;
    dots = (size_t)decodes_to_dots(path, strcspn(path, "?"));
    CHECK(zavu_has_dot_segment(path, strcspn(path, "?")) == (int)dots);
    memset(&rq, 0, sizeof rq);
    rq.method = "GET";
    rq.path = path;
    rc = zavu_request_url("https://h/", &rq, &url, &cap, why, sizeof why);
    if (rc == 0) {
        CHECK(!dots);
        CHECK(strncmp(url, "https://h", 9) == 0 && strcmp(url + 9, path) == 0);
    } else {
        CHECK(rc == -2 && strlen(why) > 0);
        if (plain)
            CHECK(dots);
    }
    free(url);
    free(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *fields[MAX_FIELDS];
    size_t lens[MAX_FIELDS], n = 0, start = 0, i, n_params;
    char *copy = malloc(size + 1), *url = NULL, why[512], tmpl[64];
    size_t cap = 0;
    zavu_request rq;
    const char *p;
    int rc;

    memcpy(copy, data, size);
    copy[size] = '\0';
    for (i = 0; i <= size && n < MAX_FIELDS; i++) {
        if (i == size || data[i] == 0xFF) {
            fields[n] = copy + start;
            lens[n++] = i - start;
            start = i + 1;
        }
    }
    /* fields[0] picks the shape; the rest are params then query entries. */
    n_params = n > 1 && lens[0] ? (size_t)(copy[0] & 3) : 0;
    if (n_params > n - 1)
        n_params = n - 1;
    strcpy(tmpl, "/v1/x");
    for (i = 0; i < n_params; i++)
        strcat(tmpl, i ? "/{b}/y" : "/{a}");
    memset(&rq, 0, sizeof rq);
    rq.method = "GET";
    rq.path = tmpl;
    rq.params = fields + 1;
    rq.param_lens = lens + 1;
    rq.n_params = n_params;
    rq.query = fields + 1 + n_params;
    rq.query_lens = lens + 1 + n_params;
    rq.n_query = (n - 1 - n_params) & ~(size_t)1;

    rc = zavu_request_url("https://h/", &rq, &url, &cap, why, sizeof why);
    if (rc == -2) {
        CHECK(strlen(why) > 0 && strlen(why) < sizeof why);
        for (i = 0; i < n_params; i++)
            if (zavu_check_segment(rq.params[i], rq.param_lens[i]))
                break;
        CHECK(i < n_params); /* refused only for a parameter that is refused */
    } else {
        CHECK(rc == 0 && strlen(url) + 1 <= cap);
        CHECK(strncmp(url, "https://h/v1/x", 14) == 0);
        p = url + 14;
        for (i = 0; i < n_params; i++) {
            CHECK(*p == '/');
            p = expect_decoded(p + 1, "/?", rq.params[i], rq.param_lens[i]);
            if (i) {
                CHECK(strncmp(p, "/y", 2) == 0);
                p += 2;
            }
        }
        for (i = 0; i < rq.n_query; i += 2) {
            CHECK(*p == (i ? '&' : '?'));
            p = expect_decoded(p + 1, "=", rq.query[i], rq.query_lens[i]);
            CHECK(*p == '=');
            p = expect_decoded(p + 1, "&", rq.query[i + 1], rq.query_lens[i + 1]);
        }
        CHECK(*p == '\0');
    }
    check_literal(fields[n - 1]);
    free(url);
    free(copy);
    return 0;
}
