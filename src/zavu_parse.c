/*
 * zavu_parse.c - pure functions over untrusted bytes: ids, keys and URLs
 * from the caller, header values and statuses from the server.
 *
 * They take bytes and return results, hold no state and never touch the
 * network, so tests and fuzzers can call them alone. libcurl is used only
 * for what it already does well: URL parsing, escaping and HTTP dates.
 */
#include "zavu_core.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <limits.h>
#include <curl/curl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char SESSIONS_PATH[] = "/v1/whatsapp-alt/sessions/";

/* Whether a value sent as one escaped path segment is "." or "..", or
 * holds one between "/" or "\": escaped as %2F and %5C, which servers
 * decode before they resolve dot segments (nginx reads "x%2F..%2F..%2Fy" as
 * "../y"), and "\" is "/" to URL parsers that follow WHATWG. */
static int has_dot_piece(const char *s, size_t len)
{
    size_t i, start = 0, n;
    for (i = 0; i <= len; i++) {
        if (i < len && s[i] != '/' && s[i] != '\\')
            continue;
        n = i - start;
        if ((n == 1 && s[start] == '.') || (n == 2 && s[start] == '.' && s[start + 1] == '.'))
            return 1;
        start = i + 1;
    }
    return 0;
}

const char *zavu_check_segment(const char *s, size_t len)
{
    if (len == 0)
        return "is empty";
    if (len > ZAVU_MAX_ID_LEN)
        return "is longer than 1024 bytes";
    if (has_dot_piece(s, len))
        return "must not be or hold a \".\" or \"..\" segment";
    return NULL;
}

const char *zavu_check_id(const char *id, size_t len)
{
    if (len == 0)
        return "session id is empty";
    if (len > ZAVU_MAX_ID_LEN)
        return "session id is longer than 1024 bytes";
    /* Escaping keeps every byte inside one path segment, but "." and ".."
     * are still dot-segments that servers and proxies resolve, and so are
     * they between a "/" or "\" escaped (see has_dot_piece). */
    if (has_dot_piece(id, len))
        return "session id must not be or hold a \".\" or \"..\" segment";
    return NULL;
}

static size_t skip_space(const char *s, size_t i, size_t len)
{
    while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
        i++;
    return i;
}

/* The index just past the string that opens at s[i] (a '"'), or len. */
static size_t string_end(const char *s, size_t i, size_t len)
{
    size_t from = i + 1;
    for (;;) {
        const char *q = memchr(s + from, '"', len - from);
        size_t at, k;
        if (!q)
            return len;
        at = (size_t)(q - s);
        for (k = at; k > i + 1 && s[k - 1] == '\\'; k--)
            ;
        if ((at - k) % 2 == 0) /* not escaped */
            return at + 1;
        from = at + 1;
    }
}

/* Whether s[from..to) is a JSON string as lua-cjson reads one: no control
 * byte, and only the escapes JSON has. */
static int json_string_ok(const char *s, size_t from, size_t to)
{
    size_t i;
    if (to - from < 2 || s[from] != '"' || s[to - 1] != '"')
        return 0;
    for (i = from + 1; i < to - 1; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20)
            return 0;
        if (c != '\\')
            continue;
        c = (unsigned char)s[++i];
        if (c == 'u') {
            int k;
            for (k = 1; k <= 4; k++)
                if (i + k >= to - 1 || !isxdigit((unsigned char)s[i + k]))
                    return 0;
            i += 4;
        } else if (!strchr("\"\\/bfnrt", c) || c == '\0') {
            return 0;
        }
    }
    return 1;
}

size_t zavu_json_drop_nulls(char *s, size_t len, int *walk)
{
    char stack[64]; /* '{' or '[' */
    int depth = 0, expect_key = 0, key = 0, digits = 0, mark_first = 0;
    int after_value = 0; /* the last token ended a value: a "," may follow */
    /* The text kept so far is s[0..w) and s[keep..r): moved together only
     * when a member goes. mark: where the current member began (its comma,
     * or just after the "{" when mark_first). */
    size_t r = 0, w = 0, keep = 0, mark = 0, key_at = 0, key_end = 0;
    *walk = 0;
    while (r < len) {
        char c = s[r];
        if (c == '"') {
            int was_key = expect_key;
            key_at = r;
            r = key_end = string_end(s, r, len);
            expect_key = 0;
            key = was_key;
            after_value = !was_key;
            digits = 0;
            continue;
        }
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            r++;
            continue;
        }
        if (c == ':' && key && depth > 0 && stack[depth - 1] == '{') {
            size_t v = skip_space(s, r + 1, len), after;
            if (len - v >= 4 && memcmp(s + v, "null", 4) == 0 &&
                (after = skip_space(s, v + 4, len)) < len && (s[after] == ',' || s[after] == '}') &&
                json_string_ok(s, key_at, key_end)) {
                size_t next;
                memmove(s + w, s + keep, mark - keep); /* the member goes, with its comma */
                w += mark - keep;
                keep = r = after;
                if (mark_first && s[r] == ',' && (next = skip_space(s, r + 1, len)) < len &&
                    s[next] == '"') {
                    keep = mark = ++r; /* the first member went: so does the comma after it */
                    expect_key = 1;
                }
                key = 0;
                after_value = 1; /* as the member before it did, or the "{" */
                if (mark_first)
                    after_value = 0;
                continue;
            }
        }
        key = 0;
        if ((c == 'e' || c == 'E') && digits)
            *walk = 1; /* an exponent: maybe past what a double holds */
        digits = (c >= '0' && c <= '9') || c == '.' ? digits + 1 : 0;
        if (digits >= 300)
            *walk = 1;
        if (c == '{' || c == '[') {
            if (depth == (int)sizeof stack) { /* deeper than tracked: the rest as it is */
                *walk = 1;
                break;
            }
            stack[depth++] = c;
            expect_key = c == '{';
            after_value = 0;
            mark = ++r;
            mark_first = 1;
            continue;
        }
        if ((c == '}' || c == ']') && depth > 0)
            depth--;
        if (c == ',' && depth > 0 && stack[depth - 1] == '{') {
            if (!after_value) { /* "{," or ",,": not JSON, and it stays so */
                *walk = 1;
                break;
            }
            mark = r++;
            mark_first = 0;
            expect_key = 1;
            after_value = 0;
            continue;
        }
        expect_key = 0;
        after_value = c != ':' && c != ',';
        r++;
    }
    memmove(s + w, s + keep, len - keep);
    return w + (len - keep);
}

long zavu_utf8_length(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    long n = 0;
    while (p < end) {
        unsigned c = *p;
        size_t size = 1, i;
        unsigned lo = 0x80, hi = 0xBF; /* the first continuation byte's range */
        if (c < 0x80) {
            p++, n++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF) {
            size = 2;
        } else if (c >= 0xE0 && c <= 0xEF) {
            size = 3;
            if (c == 0xE0)
                lo = 0xA0; /* no overlong forms */
            if (c == 0xED)
                hi = 0x9F; /* no surrogates */
        } else if (c >= 0xF0 && c <= 0xF4) {
            size = 4;
            if (c == 0xF0)
                lo = 0x90;
            if (c == 0xF4)
                hi = 0x8F; /* nothing past U+10FFFF */
        } else {
            return -1;
        }
        if ((size_t)(end - p) < size || p[1] < lo || p[1] > hi)
            return -1;
        for (i = 2; i < size; i++)
            if (p[i] < 0x80 || p[i] > 0xBF)
                return -1;
        p += size, n++;
    }
    return n;
}

int zavu_has_control(const char *s)
{
    const unsigned char *p;
    for (p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return 1;
    return 0;
}

const char *zavu_check_api_key(const char *key, const char **why)
{
    if (!key || !*key) {
        *why = "no API key: pass api_key or set ZAVUDEV_API_KEY";
        return "missing_api_key";
    }
    /* A control byte would end the Authorization header early and let the
     * rest be read as another header. */
    if (zavu_has_control(key)) {
        *why = "API key contains control characters";
        return "invalid_argument";
    }
    if (strncmp(key, "zv_test_", 8) == 0) {
        *why = "this endpoint is not available with test-mode API keys "
               "(zv_test_...): use a live key";
        return "test_mode_key";
    }
    *why = NULL;
    return NULL;
}

int zavu_is_loopback_host(const char *host)
{
    char buf[64];
    size_t n = strlen(host);
    unsigned char addr[16];

    if (n >= 2 && host[0] == '[' && host[n - 1] == ']') { /* [::1] */
        host++;
        n -= 2;
    }
    if (n == 0 || n >= sizeof buf)
        return 0;
    memcpy(buf, host, n);
    buf[n] = '\0';
    if (buf[n - 1] == '.') /* "localhost." is the same name */
        buf[--n] = '\0';
    if (strcasecmp(buf, "localhost") == 0)
        return 1;
    if (inet_pton(AF_INET, buf, addr) == 1)
        return addr[0] == 127;
    if (inet_pton(AF_INET6, buf, addr) == 1) {
        static const unsigned char v6_loopback[16] = {[15] = 1};
        static const unsigned char v4_mapped[12] = {[10] = 0xff, [11] = 0xff};
        if (memcmp(addr, v6_loopback, 16) == 0)
            return 1;
        return memcmp(addr, v4_mapped, 12) == 0 && addr[12] == 127;
    }
    return 0;
}

const char *zavu_check_base_url(const char *url, int allow_insecure_http, char *why, size_t why_len)
{
    const char *code = NULL;
    char *scheme = NULL, *host = NULL, *part = NULL;
    CURLU *u = curl_url();

    if (!u) {
        snprintf(why, why_len, "out of memory");
        return "invalid_argument";
    }
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
        snprintf(why, why_len, "base_url is not an absolute http(s) URL");
        code = "invalid_argument";
    } else if (strcmp(scheme, "https") != 0 && strcmp(scheme, "http") != 0) {
        snprintf(why, why_len, "base_url scheme must be https or http");
        code = "invalid_argument";
    } else if (strpbrk(url, "?#") != NULL || /* even an empty "?" or "#" */
               curl_url_get(u, CURLUPART_QUERY, &part, 0) == CURLUE_OK ||
               curl_url_get(u, CURLUPART_FRAGMENT, &part, 0) == CURLUE_OK ||
               curl_url_get(u, CURLUPART_USER, &part, 0) == CURLUE_OK) {
        snprintf(why, why_len, "base_url must not carry a query, fragment or credentials");
        code = "invalid_argument";
    } else if (strcmp(scheme, "http") == 0 && !allow_insecure_http &&
               !zavu_is_loopback_host(host)) {
        /* The bearer token would cross the network in clear text. */
        snprintf(why, why_len,
                 "refusing to send the API key over plain http to a "
                 "non-loopback host; use https (or allow_insecure_http = true)");
        code = "insecure_transport";
    }
    curl_free(part);
    curl_free(host);
    curl_free(scheme);
    curl_url_cleanup(u);
    return code;
}

/* True when escaping would leave the id as it is: A-Z a-z 0-9 - . _ ~ only. */
static int is_unreserved(const char *id, size_t len)
{
    size_t i;
    for (i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)id[i];
        if (!isalnum(ch) && ch != '-' && ch != '.' && ch != '_' && ch != '~')
            return 0;
    }
    return 1;
}

int zavu_session_url(const char *base_url, const char *id, size_t id_len, char **buf, size_t *cap)
{
    size_t base_len = strlen(base_url), esc_len, total;
    char *esc = NULL;
    const char *segment = id;

    while (base_len > 0 && base_url[base_len - 1] == '/')
        base_len--;
    /* libcurl escapes every byte outside A-Z a-z 0-9 - . _ ~ as %XX, so the
     * id stays exactly one path segment whatever it holds. Ids that need no
     * escaping (the usual ones) skip its allocation: this is the hot path. */
    if (is_unreserved(id, id_len)) {
        esc_len = id_len;
    } else {
        if (!(esc = curl_easy_escape(NULL, id, (int)id_len)))
            return -1;
        segment = esc;
        esc_len = strlen(esc);
    }
    total = base_len + sizeof SESSIONS_PATH - 1 + esc_len + 1;
    if (total > *cap) {
        char *grown = realloc(*buf, total);
        if (!grown) {
            curl_free(esc);
            return -1;
        }
        *buf = grown;
        *cap = total;
    }
    memcpy(*buf, base_url, base_len);
    memcpy(*buf + base_len, SESSIONS_PATH, sizeof SESSIONS_PATH - 1);
    memcpy(*buf + base_len + sizeof SESSIONS_PATH - 1, segment, esc_len);
    (*buf)[total - 1] = '\0';
    curl_free(esc);
    return 0;
}

/* A non-negative decimal number with nothing else but surrounding blanks. */
static double parse_seconds(const char *v)
{
    char *end;
    double d;
    while (*v == ' ' || *v == '\t')
        v++;
    if (!isdigit((unsigned char)*v))
        return -1;
    d = strtod(v, &end);
    while (*end == ' ' || *end == '\t')
        end++;
    if (*end != '\0' || !isfinite(d) || d < 0)
        return -1;
    return d;
}

double zavu_parse_retry_after(const char *value, long now)
{
    double secs;
    time_t when;
    if (!value)
        return -1;
    secs = parse_seconds(value);
    if (secs >= 0)
        return secs;
    /* Otherwise an HTTP date: "Wed, 21 Oct 2015 07:28:00 GMT". */
    when = curl_getdate(value, NULL);
    if (when == (time_t)-1)
        return -1;
    return when > now ? (double)(when - now) : 0.0;
}

double zavu_parse_retry_after_ms(const char *value)
{
    double ms = value ? parse_seconds(value) : -1;
    return ms < 0 ? -1 : ms / 1000.0;
}

int zavu_parse_should_retry(const char *value)
{
    if (!value)
        return -1;
    if (strcasecmp(value, "true") == 0)
        return 1;
    if (strcasecmp(value, "false") == 0)
        return 0;
    return -1;
}

void zavu_copy_header_value(char *dst, size_t cap, const char *src)
{
    size_t i = 0;
    if (cap == 0)
        return;
    for (; src && src[i] && i + 1 < cap; i++) {
        unsigned char ch = (unsigned char)src[i];
        dst[i] = (ch < 0x20 || ch == 0x7f) ? '?' : (char)ch;
    }
    dst[i] = '\0';
}

const char *zavu_code_for_status(long status)
{
    switch (status) {
    case 400: return "bad_request";
    case 401: return "unauthorized";
    case 403: return "forbidden";
    case 404: return "not_found";
    case 409: return "conflict";
    case 422: return "unprocessable_entity";
    case 429: return "rate_limited";
    }
    return status >= 500 && status <= 599 ? "server_error" : "http_error";
}

const char *zavu_message_for_status(long status, const char *noun, char *buf, size_t cap)
{
    const char *fixed = NULL;
    if (!noun)
        noun = "session";
    switch (status) {
    case 400: fixed = "the API rejected the request as malformed"; break;
    case 401: fixed = "the API key was not accepted"; break;
    case 403: fixed = "the API key may not perform this action"; break;
    case 404: snprintf(buf, cap, "no such %s", noun); return buf;
    case 408: fixed = "the API timed out waiting for the request"; break;
    case 409: snprintf(buf, cap, "the request conflicts with the %s's state", noun); return buf;
    case 422: fixed = "the API could not process the request"; break;
    case 429: fixed = "rate limited by the API"; break;
    default:
        if (status >= 300 && status <= 399)
            fixed = "the API answered with a redirect, which is not followed";
        else if (status >= 500 && status <= 599)
            fixed = "the API failed with a server error";
        else
            fixed = "the API answered with an unexpected status";
    }
    snprintf(buf, cap, "%s", fixed);
    return buf;
}

int zavu_status_is_retryable(long status, int should_retry)
{
    if (should_retry >= 0) /* the server knows best */
        return should_retry;
    return status == 408 || status == 409 || status == 429 || status >= 500;
}

double zavu_backoff(int retry, double jitter)
{
    double wait = 0.5 * pow(2.0, retry > 10 ? 10 : retry);
    if (wait > 8.0)
        wait = 8.0;
    return wait * (1.0 - 0.25 * jitter);
}

/* ---- any request's URL ---- */

int zavu_is_dot_segment(const char *s, size_t len)
{
    size_t i = 0, dots = 0;
    while (i < len) {
        if (s[i] == '.') {
            i++;
        } else if (i + 2 < len && s[i] == '%' && s[i + 1] == '2' &&
                   (s[i + 2] == 'e' || s[i + 2] == 'E')) {
            i += 3;
        } else {
            return 0;
        }
        dots++;
    }
    return dots == 1 || dots == 2;
}

/* The length of a path separator at s (n bytes left), or 0: "/", "\" (a
 * "/" to URL parsers that follow WHATWG), or either percent-encoded, which
 * servers decode before they resolve dot segments: nginx reads
 * "/v1/x/..%2F..%2Fadmin" as "/admin". */
static size_t separator_at(const char *s, size_t n)
{
    if (s[0] == '/' || s[0] == '\\')
        return 1;
    if (n >= 3 && s[0] == '%' &&
        ((s[1] == '2' && (s[2] == 'F' || s[2] == 'f')) ||
         (s[1] == '5' && (s[2] == 'C' || s[2] == 'c'))))
        return 3;
    return 0;
}

int zavu_has_dot_segment(const char *s, size_t len)
{
    size_t i = 0, start = 0;
    for (;;) {
        size_t sep = i < len ? separator_at(s + i, len - i) : 0;
        if (i < len && !sep) {
            i++;
            continue;
        }
        if (zavu_is_dot_segment(s + start, i - start))
            return 1;
        if (i == len)
            return 0;
        i += sep;
        start = i;
    }
}

/* 1 when the path part of url (up to its query) holds a dot segment. */
static int has_dot_segment(const char *path)
{
    return zavu_has_dot_segment(path, strcspn(path, "?"));
}

typedef struct sbuf {
    char **buf;
    size_t *cap, len;
} sbuf;

static int put(sbuf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > *b->cap) {
        size_t cap = *b->cap ? *b->cap : 256;
        char *grown;
        while (cap < b->len + n + 1)
            cap *= 2;
        if (!(grown = realloc(*b->buf, cap)))
            return -1;
        *b->buf = grown;
        *b->cap = cap;
    }
    memcpy(*b->buf + b->len, s, n);
    b->len += n;
    (*b->buf)[b->len] = '\0';
    return 0;
}

/* s percent-encoded by libcurl (A-Z a-z 0-9 - . _ ~ stay as they are). */
static int put_escaped(sbuf *b, const char *s, size_t n)
{
    char *esc;
    int rc;
    if (is_unreserved(s, n))
        return put(b, s, n);
    if (n > INT_MAX || !(esc = curl_easy_escape(NULL, s, (int)n)))
        return -1;
    rc = put(b, esc, strlen(esc));
    curl_free(esc);
    return rc;
}

int zavu_request_url(const char *base_url, const zavu_request *rq, char **buf, size_t *cap,
                     char *why, size_t why_len)
{
    sbuf b = {buf, cap, 0};
    size_t base_len = strlen(base_url), k = 0, i;
    const char *p = rq->path, *open;

    while (base_len > 0 && base_url[base_len - 1] == '/')
        base_len--;
    if (p[0] != '/') { /* "@host/..." or ".host/..." would name another host than base_url's */
        snprintf(why, why_len, "the path must start with /");
        return -2;
    }
    for (i = 0; p[i]; i++) {
        unsigned char ch = (unsigned char)p[i];
        if (ch <= 0x20 || ch == 0x7f || ch == '#') {
            snprintf(why, why_len, "the path holds a space, a control character or a '#'");
            return -2;
        }
    }
    if (put(&b, base_url, base_len) != 0)
        return -1;
    while ((open = strchr(p, '{')) != NULL) {
        const char *close = strchr(open, '}');
        if (!close || k >= rq->n_params) {
            snprintf(why, why_len, "the path template and its parameters do not agree");
            return -2;
        }
        const char *bad;
        if ((bad = zavu_check_segment(rq->params[k], rq->param_lens[k])) != NULL) {
            snprintf(why, why_len, "%.*s %s", (int)(close - open - 1), open + 1, bad);
            return -2;
        }
        if (put(&b, p, (size_t)(open - p)) != 0 ||
            put_escaped(&b, rq->params[k], rq->param_lens[k]) != 0)
            return -1;
        k++;
        p = close + 1;
    }
    if (k != rq->n_params) {
        snprintf(why, why_len, "the path template and its parameters do not agree");
        return -2;
    }
    if (put(&b, p, strlen(p)) != 0)
        return -1;
    /* After the base: libcurl would resolve "." and ".." (it sends the path as
     * it is here, CURLOPT_PATH_AS_IS), and a server or proxy would, encoded
     * or not, so "/x/../../admin" would leave the route asked for. */
    if (has_dot_segment(*buf + base_len)) {
        snprintf(why, why_len, "the path holds a \".\" or \"..\" segment (percent-encoded or not)");
        return -2;
    }
    for (i = 0; i + 1 < rq->n_query; i += 2) { /* after the path's own query, if it has one */
        if (put(&b, i == 0 && !strchr(rq->path, '?') ? "?" : "&", 1) != 0 ||
            put_escaped(&b, rq->query[i], rq->query_lens[i]) != 0 || put(&b, "=", 1) != 0 ||
            put_escaped(&b, rq->query[i + 1], rq->query_lens[i + 1]) != 0)
            return -1;
    }
    return 0;
}
