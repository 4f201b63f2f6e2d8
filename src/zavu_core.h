/*
 * zavu_core.h - the Zavu API client in plain C over libcurl.
 *
 * Nothing here knows about Lua: the binding (zavu_lua*.c) maps these calls to
 * Lua values, and tests or fuzzers can drive them directly.
 */
#ifndef ZAVU_CORE_H
#define ZAVU_CORE_H

#include <stddef.h>

#define ZAVU_VERSION "0.2.0"
#define ZAVU_MAX_ERROR_BODY (64 * 1024) /* error bodies beyond this are cut */
#define ZAVU_MAX_ID_LEN 1024
#define ZAVU_MAX_RETRY_WAIT 60.0 /* seconds: default cap on a server-requested wait */
#define ZAVU_DEFAULT_BASE_URL "https://api.zavu.dev"
#define ZAVU_MAX_CONCURRENCY 64 /* transfers at once in zavu_delete_many */
#define ZAVU_MAX_RETRIES 100
#define ZAVU_MAX_RESPONSE (8 * 1024 * 1024) /* default cap on a success body */
/* Seconds: the longest timeout or wait libcurl (and our sleeps) are given.
 * INT_MAX milliseconds, about 24.8 days: larger values are clamped to it. */
#define ZAVU_MAX_SECONDS 2147483.647
#define ZAVU_MIN_SECONDS 0.001 /* timeouts below 1 ms count as 1 ms */
#define ZAVU_MAX_HEADERS 8     /* a request's own headers (Zavu-Sender) */
#define ZAVU_KEY_BYTES 16      /* a generated idempotency key: 128 random bits */

typedef struct zavu_client zavu_client;

/* Client settings. Strings are copied by zavu_client_new. */
typedef struct zavu_config {
    const char *api_key;
    const char *base_url; /* NULL: ZAVU_DEFAULT_BASE_URL */
    const char *ca_file;  /* NULL: the system's CA bundle */
    const char *ca_path;
    const char *user_agent;  /* appended to the library's own */
    const char *lua_version; /* shown in the User-Agent, e.g. "Lua 5.4" */
    double timeout;          /* seconds per attempt */
    double total_timeout;    /* seconds for a whole call, every attempt and
                                retry wait included; <= 0: no such bound */
    double connect_timeout;  /* seconds */
    double max_retry_wait;   /* seconds: cap on a server-requested wait */
    int max_retries;
    size_t max_response_bytes; /* cap on a success body; 0: ZAVU_MAX_RESPONSE */
    int allow_insecure_http;   /* permit http:// to a non-loopback host */
    int debug;                 /* one stderr line per attempt */
} zavu_config;

/* Per-call settings; negative numbers mean "use the client's". */
typedef struct zavu_call {
    double timeout;
    double total_timeout; /* for zavu_delete_many: the whole batch */
    int max_retries;
    int missing_ok; /* a 404 counts as success */
} zavu_call;

/* The outcome of one call (all its attempts). */
typedef struct zavu_result {
    int ok;
    long status;       /* 0: no HTTP response arrived */
    const char *code;  /* set for local and transport errors; NULL for HTTP
                          errors, whose code comes from the body or status */
    char message[256]; /* local and transport errors */
    const char *body;  /* The response body: an error's (at most
                          ZAVU_MAX_ERROR_BODY bytes) or, from zavu_request_send,
                          a success's (at most max_response_bytes); owned by
                          the client, valid until its next call */
    size_t body_len;
    char request_id[128]; /* X-Request-Id, "" when absent */
    int retryable;
    double retry_after; /* seconds the server asked to wait; < 0: it did not */
    int attempts;       /* requests sent */
    const char *noun;   /* what the route names, for a 404's message
                           ("egress node"); NULL: a session */
} zavu_result;

/* Once per process, before any client (thread-safe). 0 on success. */
int zavu_global_init(void);

/* Abort every transfer in flight in this process, in every thread and every
 * client, and cut short every retry wait: those calls end with the code
 * "cancelled". Calls started afterwards run normally. Safe to call from any
 * thread and from a signal handler. */
void zavu_cancel_all(void);

/* How many times zavu_cancel_all ran: work that began at another count has
 * been cancelled. */
unsigned long zavu_cancel_count(void);

/* Seconds on a monotonic clock. */
double zavu_now(void);

/* Sleep, waking early when zavu_cancel_all runs. */
void zavu_sleep(double seconds);
/* The same, waking at once if zavu_cancel_all ran since `count` (a
 * zavu_cancel_count() taken when the work began). */
void zavu_sleep_since(double seconds, unsigned long count);

/* Install a SIGINT handler that calls zavu_cancel_all (for command-line
 * programs: Ctrl-C stops whatever is in flight at once). */
int zavu_catch_interrupt(void);
/* How many SIGINTs arrived since zavu_catch_interrupt. */
int zavu_interrupted(void);

/* Ctrl-C in a plain interpreter (`lua script.lua`) that never called
 * zavu_catch_interrupt: the interpreter's SIGINT handler only sets a hook
 * that fires once the running C function returns, so a call in flight would
 * go on until it ends. Between zavu_call_begin and zavu_call_end, when the
 * SIGINT handler in place is the host program's own (it lives in the main
 * executable, not in a library), a handler of ours stands in front of it: a
 * SIGINT cancels what is in flight (zavu_cancel_all) and is then handed to
 * the host's handler, put back, so the host reacts as it always does.
 * zavu_host_not_plain() turns this off for the whole process for good:
 * hosts with signal handling of their own (nginx, Neovim) call it, and
 * those are also recognised by the symbols they export. */
void zavu_call_begin(void);
void zavu_call_end(void);
void zavu_host_not_plain(void);

/* Returns NULL only when out of memory. A bad configuration (no key, an
 * insecure URL...) is not an error here: every call then reports it. */
zavu_client *zavu_client_new(const zavu_config *cfg);
void zavu_client_free(zavu_client *c);

/* n bytes from the operating system's random source (getrandom, else
 * /dev/urandom). 0 on success, -1 when there is none. */
int zavu_random_bytes(unsigned char *buf, size_t n);

/* DELETE /v1/whatsapp-alt/sessions/{id}. Fills *res; returns res->ok. A
 * test-mode key is refused here (test_mode_key): the sandbox has no
 * WhatsApp Alternative. */
int zavu_delete_session(zavu_client *c, const char *id, size_t id_len, const zavu_call *call,
                        zavu_result *res);

/* Any request of the API. path is a template whose "{name}" parts take the
 * params in order, each percent-encoded as exactly one path segment (and
 * checked as ids are); query holds key, value, key, value... encoded by
 * libcurl; body is JSON, sent with its Content-Type, or NULL. */
typedef struct zavu_request {
    const char *method; /* "GET", "POST", "PATCH" or "DELETE" */
    const char *path;
    const char *const *params;
    const size_t *param_lens;
    size_t n_params;
    const char *const *query;
    const size_t *query_lens;
    size_t n_query; /* entries in query: twice the pairs */
    const char *body;
    size_t body_len;
    const char *noun; /* what the path names ("egress node"), for messages;
                         NULL: "resource" */
    /* A re-send is harmless (the request carries an idempotency key, as a
     * send does): a POST is then retried as a GET is - except after a 409,
     * that key's own answer, which another attempt only repeats - and
     * libcurl may send it again on a fresh connection. 0 for every other
     * POST or PATCH: it reaches the server at most once per attempt, and
     * again only when it surely never arrived. */
    int idempotent;
    int live_only;              /* refused locally with a test-mode key (zv_test_...) */
    const char *const *headers; /* "Name: value", sent besides the client's */
    size_t n_headers;           /* at most ZAVU_MAX_HEADERS */
} zavu_request;

/* Send rq with the retry policy: GET and DELETE as zavu_delete_session; a
 * POST or PATCH (unless rq->idempotent) again only when it surely never
 * reached the server (refused, DNS, no connection within the timeout) or the
 * server asked (429, x-should-retry: true), never after a timeout or a 5xx
 * once sent, and its error's retryable says just that. Fills *res (res->body is
 * the response body for success and failure alike) and returns res->ok. A
 * success body over max_response_bytes is the error "response_too_large"; a
 * 2xx whose body was cut or stalled is a transport error that keeps the
 * status, retryable for a GET only (a POST or DELETE was performed). */
int zavu_request_send(zavu_client *c, const zavu_request *rq, const zavu_call *call,
                      zavu_result *res);

/* Called once per id as it is settled, in completion order; res (and its
 * body) is valid only during the call. Return non-zero to abort the batch. */
typedef int (*zavu_settled_fn)(void *ud, size_t index, const zavu_result *res);

/* Delete n sessions, up to `concurrency` at a time over libcurl's multi
 * interface, each with the single delete's validation and retry policy (waits
 * are timers: other transfers go on meanwhile). Returns 0 when every id was
 * settled, -1 when settled() aborted or libcurl could not start. */
int zavu_delete_many(zavu_client *c, const char *const *ids, const size_t *id_lens, size_t n,
                     const zavu_call *call, int concurrency, zavu_settled_fn settled, void *ud);

/* ---- pure helpers over untrusted bytes (zavu_parse.c) ---- */

/* Local check of a session id: NULL when fine, else why not. */
const char *zavu_check_id(const char *id, size_t len);

/* The characters of s when it is UTF-8 (RFC 3629: no overlong forms, no
 * surrogates, nothing past U+10FFFF), else -1. */
long zavu_utf8_length(const char *s, size_t len);

/* The members of JSON objects whose value is null ("errorCode": null)
 * taken out of the text s in place (arrays keep their nulls); returns the
 * new length. Only a member that is plainly one - after "{" or ",", a
 * string, ":", null, then "," or "}" - is taken, so a text that is not JSON
 * stays not JSON. *walk: 1 when the decoded value must still be walked (a
 * number with an exponent or 300 digits may not fit a double; nesting past
 * 64 is left as it is). */
size_t zavu_json_drop_nulls(char *s, size_t len, int *walk);

/* 1 when s holds a control byte (it would end an HTTP header early). */
int zavu_has_control(const char *s);

/* Check an API key: NULL when usable, else the error code; *why explains. */
const char *zavu_check_api_key(const char *key, const char **why);

/* Check a base URL: NULL when usable, else the error code; writes why. */
const char *zavu_check_base_url(const char *url, int allow_insecure_http, char *why,
                                size_t why_len);

/* A path parameter as one segment: NULL when fine, else why not ("is
 * empty"...), to be prefixed with the parameter's name. */
const char *zavu_check_segment(const char *s, size_t len);

/* base_url + rq's path with its params and query, as zavu_request says,
 * into *buf (grown with realloc). 0 on success; -1 out of memory; -2 when
 * the template and the params do not agree, a param is refused (then why
 * says which: "sessionId is empty"), or the path holds a dot segment ("."
 * or "..", percent-encoded or not), which would leave the route asked for. */
int zavu_request_url(const char *base_url, const zavu_request *rq, char **buf, size_t *cap,
                     char *why, size_t why_len);

/* 1 when host (as found in a URL, brackets allowed) is a loopback name. */
int zavu_is_loopback_host(const char *host);

/* base_url + "/v1/whatsapp-alt/sessions/" + percent-encoded id, with no
 * doubled slash, written into *buf (of *cap bytes; grown with realloc, so it
 * can be reused from call to call). Returns 0, or -1 when out of memory. */
int zavu_session_url(const char *base_url, const char *id, size_t id_len, char **buf, size_t *cap);

/* Header values. Each returns -1 when absent or unusable. */
double zavu_parse_retry_after(const char *value, long now); /* seconds */
double zavu_parse_retry_after_ms(const char *value);        /* seconds */
int zavu_parse_should_retry(const char *value);             /* 1 / 0 */

/* Copy a header value into dst (always NUL-terminated), replacing control
 * bytes with '?' so it is safe to print. */
void zavu_copy_header_value(char *dst, size_t cap, const char *src);

/* The error code and a human message for an HTTP status with no usable body.
 * The message names noun ("no such egress node"; NULL: "session"), written
 * into buf (cap bytes), which it returns. */
const char *zavu_code_for_status(long status);
const char *zavu_message_for_status(long status, const char *noun, char *buf, size_t cap);

/* 1 when the segment (len bytes, no '/') is "." or "..", percent-encoded
 * (%2e, %2E) or not: a server or proxy resolves it against the path. */
int zavu_is_dot_segment(const char *s, size_t len);

/* 1 when a path (len bytes, no query) holds a dot segment between
 * separators: "/" or "\", percent-encoded or not (see zavu_parse.c). */
int zavu_has_dot_segment(const char *s, size_t len);

/* Is a reply with this status worth another attempt? should_retry is the
 * server's x-should-retry verdict (-1 when it gave none). */
int zavu_status_is_retryable(long status, int should_retry);

/* Default wait before retry number `retry` (0-based), jitter in [0,1). */
double zavu_backoff(int retry, double jitter);

#endif
