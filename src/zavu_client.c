/*
 * zavu_client.c - the client's lifetime and what every request shares:
 * libcurl handle settings, socket bookkeeping for forks, the capped body
 * buffer, and turning a finished transfer into a zavu_result. No Lua here.
 */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE /* explicit_bzero */
#include "zavu_internal.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_status = CURLE_FAILED_INIT;

/* Bumped in every forked child, so a client can tell it changed process
 * without a getpid() system call on each request. */
static volatile unsigned long fork_generation;
static void on_fork_child(void)
{
    fork_generation++;
    zavu_cancel_after_fork_child();
}

static void global_init_once(void)
{
    global_status = curl_global_init(CURL_GLOBAL_DEFAULT);
    pthread_atfork(zavu_cancel_before_fork, zavu_cancel_after_fork_parent, on_fork_child);
}

int zavu_global_init(void)
{
    pthread_once(&global_once, global_init_once);
    return global_status == CURLE_OK ? 0 : -1;
}

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

/* A memset the compiler may not drop as a dead store before free(). */
static void wipe(void *p, size_t n) { explicit_bzero(p, n); }

/* ---- libcurl callbacks: none of them may fail loudly ---- */

void zavu_buffer_reset(zavu_buffer *b)
{
    b->len = 0;
    b->cut = 0;
    b->limit = 0;
    b->sends = 0;
    b->resend_refused = 0;
}

static size_t on_body(char *data, size_t size, size_t n, void *ud)
{
    zavu_buffer *b = ud;
    size_t len = size * n;
    if (!b->limit) { /* the first bytes: the status is known now */
        long status = 0;
        curl_easy_getinfo(b->easy, CURLINFO_RESPONSE_CODE, &status);
        b->limit = b->max_ok && status >= 200 && status <= 299 ? b->max_ok : ZAVU_MAX_ERROR_BODY;
    }
    if (len > b->limit - b->len) {
        /* Stop the transfer rather than hold (or even download) a body of
         * any size: an error's first 64 KiB explain it. */
        b->cut = 1;
        return 0;
    }
    if (b->len + len > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        char *grown;
        while (cap < b->len + len)
            cap *= 2;
        if (cap > b->limit)
            cap = b->limit;
        grown = realloc(b->data, cap);
        if (!grown)
            return 0;
        b->data = grown;
        b->cap = cap;
    }
    memcpy(b->data + b->len, data, len);
    b->len += len;
    return len;
}

static curl_socket_t on_open_socket(void *ud, curlsocktype purpose, struct curl_sockaddr *a)
{
    zavu_client *c = ud;
    curl_socket_t fd;
    int i;
    (void)purpose;
    /* Cancelled while the name was being resolved: no socket, no request. */
    if (zavu_cancelled_since(c->call_gen))
        return CURL_SOCKET_BAD;
    fd = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
    if (fd != CURL_SOCKET_BAD)
        zavu_track_socket(fd);
    for (i = 0; fd != CURL_SOCKET_BAD && i < ZAVU_MAX_TRACKED_SOCKETS; i++) {
        if (c->sockets[i] == CURL_SOCKET_BAD) {
            c->sockets[i] = fd;
            break;
        }
    }
    return fd;
}

static int on_close_socket(void *ud, curl_socket_t fd)
{
    zavu_client *c = ud;
    int i;
    for (i = 0; i < ZAVU_MAX_TRACKED_SOCKETS; i++)
        if (c->sockets[i] == fd)
            c->sockets[i] = CURL_SOCKET_BAD;
    zavu_untrack_socket_and_close(fd);
    return 0;
}

/* ---- requests libcurl sends again by itself ----
 *
 * When a kept-alive connection dies before a byte of the answer came back,
 * libcurl sends the same request again on a fresh connection, within the
 * same transfer ("Connection died, retrying a fresh connect":
 * Curl_retry_request in lib/transfer.c, reached from multi.c's DO and
 * PERFORMING states). The server may have read and performed the first one.
 * Harmless for a GET or a DELETE; for a POST without an idempotency key it
 * does the work twice. A read callback whose seek refuses to rewind does not
 * stop it: libcurl 7.88 rewinds only after body bytes went out, so a POST
 * with no body goes again anyway. What does: the pre-request callback, which
 * libcurl calls in its DO state right before each request is sent, retries
 * included, and which may abort the transfer (CURLE_ABORTED_BY_CALLBACK). It
 * also counts what was sent: no call, nothing went out. (libcurl 7.80+;
 * older ones get a fresh connection for such a POST, which libcurl never
 * retries.) */

#if LIBCURL_VERSION_NUM >= 0x075000
static int on_prereq(void *ud, char *primary_ip, char *local_ip, int primary_port, int local_port)
{
    zavu_buffer *b = ud;
    (void)primary_ip, (void)local_ip, (void)primary_port, (void)local_port;
    if (b->send_once && b->sends > 0) {
        b->resend_refused = 1;
        return CURL_PREREQFUNC_ABORT;
    }
    b->sends++;
    return CURL_PREREQFUNC_OK;
}
#endif

void zavu_guard_resend(CURL *e, zavu_buffer *b, int once)
{
    b->send_once = once;
#if LIBCURL_VERSION_NUM < 0x075000
    curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, (long)once);
#else
    (void)e;
#endif
}

int zavu_sends(const zavu_buffer *b) { return b->sends > 1 ? b->sends : 1; }

/* ---- handles ---- */

CURL *zavu_new_easy(zavu_client *c, zavu_buffer *body, char *errbuf)
{
    CURL *e = curl_easy_init();
    if (!e)
        return NULL;
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L); /* threads: no SIGALRM timeouts */
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "DELETE");
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, c->headers);
    curl_easy_setopt(e, CURLOPT_USERAGENT, c->user_agent);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    /* The path is sent as it was asked (dot segments are refused before):
     * libcurl would otherwise squash "/x/../" itself. */
    curl_easy_setopt(e, CURLOPT_PATH_AS_IS, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(e, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
    if (c->ca_file)
        curl_easy_setopt(e, CURLOPT_CAINFO, c->ca_file);
    if (c->ca_path)
        curl_easy_setopt(e, CURLOPT_CAPATH, c->ca_path);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, zavu_ms(c->connect_timeout));
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, body);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, on_open_socket);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, c);
    curl_easy_setopt(e, CURLOPT_CLOSESOCKETFUNCTION, on_close_socket);
    curl_easy_setopt(e, CURLOPT_CLOSESOCKETDATA, c);
    /* No progress callback (libcurl would call it several times a
     * transfer): a cancel reaches a transfer through its socket, which
     * zavu_cancel_all shuts down, waking the poll it sleeps in; a socket
     * opened after the cancel is refused (on_open_socket), and the attempt
     * loops look at the count between attempts. */
    curl_easy_setopt(e, CURLOPT_NOPROGRESS, 1L);
#if LIBCURL_VERSION_NUM >= 0x075000
    curl_easy_setopt(e, CURLOPT_PREREQFUNCTION, on_prereq);
    curl_easy_setopt(e, CURLOPT_PREREQDATA, body);
#endif
    body->easy = e;
    return e;
}

/* In a forked child the cached connections are the parent's: writing to them
 * (even a TLS close_notify) would corrupt the parent's streams. Point each
 * descriptor at /dev/null first, so libcurl's cleanup talks to nothing. */
static void drop_inherited_connections(zavu_client *c)
{
    int i, devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    for (i = 0; i < ZAVU_MAX_TRACKED_SOCKETS; i++) {
        if (c->sockets[i] != CURL_SOCKET_BAD && devnull >= 0)
            dup2(devnull, c->sockets[i]);
    }
    if (devnull >= 0)
        close(devnull);
    curl_easy_cleanup(c->easy);
    curl_multi_cleanup(c->multi);
    c->easy = NULL;
    c->multi = NULL;
}

zavu_client *zavu_client_new(const zavu_config *cfg)
{
    const char *why = NULL;
    const char *lua = cfg->lua_version ? cfg->lua_version : "Lua";
    const char *extra = cfg->user_agent ? cfg->user_agent : "";
    const char *curl = curl_version_info(CURLVERSION_NOW)->version;
    struct curl_slist *h;
    char *auth;
    size_t i, ua_len;
    zavu_client *c = calloc(1, sizeof *c);

    if (!c || zavu_global_init() != 0)
        goto fail;
    for (i = 0; i < ZAVU_MAX_TRACKED_SOCKETS; i++)
        c->sockets[i] = CURL_SOCKET_BAD;
    c->generation = fork_generation;
    c->base_url = strdup(cfg->base_url ? cfg->base_url : ZAVU_DEFAULT_BASE_URL);
    c->ca_file = dup_or_null(cfg->ca_file);
    c->ca_path = dup_or_null(cfg->ca_path);
    /* Sized to fit: the caller's part is never cut. */
    ua_len = strlen(lua) + strlen(extra) + strlen(curl) + sizeof ZAVU_VERSION + 40;
    if ((c->user_agent = malloc(ua_len)) != NULL)
        snprintf(c->user_agent, ua_len, "zavu-lua/%s (%s; libcurl/%s)%s%s", ZAVU_VERSION, lua, curl,
                 *extra ? " " : "", extra);
    c->timeout = cfg->timeout > 0 ? cfg->timeout : 60;
    c->total_timeout = cfg->total_timeout > 0 ? cfg->total_timeout : 0;
    c->connect_timeout = cfg->connect_timeout > 0 ? cfg->connect_timeout : 10;
    c->max_retries = cfg->max_retries >= 0 ? cfg->max_retries : 2;
    c->max_retry_wait = cfg->max_retry_wait >= 0 ? cfg->max_retry_wait : ZAVU_MAX_RETRY_WAIT;
    c->max_response = cfg->max_response_bytes ? cfg->max_response_bytes : ZAVU_MAX_RESPONSE;
    c->debug = cfg->debug;
    c->rng = (unsigned int)time(NULL) ^ (unsigned int)getpid() ^ (unsigned int)(size_t)c;
    if (!c->base_url || !c->user_agent)
        goto fail;

    c->config_code = zavu_check_api_key(cfg->api_key, &why);
    if (c->config_code && strcmp(c->config_code, "test_mode_key") == 0) {
        c->test_key = 1; /* usable: the sandbox answers messages and senders */
        c->config_code = NULL;
    }
    if (c->config_code) {
        snprintf(c->config_message, sizeof c->config_message, "%s", why);
    } else {
        c->config_code = zavu_check_base_url(c->base_url, cfg->allow_insecure_http,
                                             c->config_message, sizeof c->config_message);
    }
    if (!c->config_code && (zavu_has_control(extra) || zavu_has_control(lua))) {
        c->config_code = "invalid_argument"; /* it would end the header early */
        snprintf(c->config_message, sizeof c->config_message,
                 "user_agent contains control characters");
    }
    if (c->config_code)
        return c; /* every call will say why; nothing to set up */

    auth = malloc(strlen(cfg->api_key) + sizeof "Authorization: Bearer ");
    if (!auth)
        goto fail;
    sprintf(auth, "Authorization: Bearer %s", cfg->api_key);
    c->headers = curl_slist_append(NULL, auth);
    wipe(auth, strlen(auth)); /* keep no stray copy of the key */
    free(auth);
    if (!c->headers || !curl_slist_append(c->headers, "Accept: application/json"))
        goto fail;
    /* Built anew, not shared: each list is freed on its own. "Expect:" keeps
     * libcurl from waiting for a 100 Continue before a larger body. */
    for (h = c->headers; h; h = h->next)
        if (!(c->json_headers = curl_slist_append(c->json_headers, h->data)))
            goto fail;
    if (!curl_slist_append(c->json_headers, "Content-Type: application/json") ||
        !curl_slist_append(c->json_headers, "Expect:"))
        goto fail;
    /* A POST with no body: "Content-Type:" takes away the form type libcurl
     * would add; the body is none, sent as Content-Length: 0. */
    for (h = c->headers; h; h = h->next)
        if (!(c->empty_post_headers = curl_slist_append(c->empty_post_headers, h->data)))
            goto fail;
    if (!curl_slist_append(c->empty_post_headers, "Content-Type:"))
        goto fail;
    return c;
fail:
    zavu_client_free(c);
    return NULL;
}

void zavu_client_free(zavu_client *c)
{
    struct curl_slist *h;
    if (!c)
        return;
    if (c->generation != fork_generation)
        drop_inherited_connections(c);
    curl_easy_cleanup(c->easy);
    curl_multi_cleanup(c->multi);
    for (h = c->headers; h; h = h->next)
        wipe(h->data, strlen(h->data)); /* the Authorization line */
    for (h = c->json_headers; h; h = h->next)
        wipe(h->data, strlen(h->data));
    for (h = c->empty_post_headers; h; h = h->next)
        wipe(h->data, strlen(h->data));
    curl_slist_free_all(c->headers);
    curl_slist_free_all(c->json_headers);
    curl_slist_free_all(c->empty_post_headers);
    free(c->base_url);
    free(c->ca_file);
    free(c->ca_path);
    free(c->user_agent);
    free(c->body.data);
    free(c->url);
    free(c);
}

int zavu_prepare_call(zavu_client *c, const char *id, size_t id_len, zavu_result *res)
{
    const char *why;
    memset(res, 0, sizeof *res); /* noun NULL: a session */
    res->retry_after = -1;
    if ((why = zavu_check_id(id, id_len)) != NULL) {
        zavu_set_error(res, "invalid_argument", why);
        return 0;
    }
    if (c->config_code) {
        zavu_set_error(res, c->config_code, c->config_message);
        return 0;
    }
    if (c->test_key) { /* the sessions' delete: WhatsApp Alternative, live keys only */
        zavu_set_test_key(res);
        return 0;
    }
    zavu_adopt(c);
    return 1;
}

void zavu_set_test_key(zavu_result *res)
{
    zavu_set_error(res, "test_mode_key",
                   "this endpoint is not available with test-mode API keys (zv_test_...): use a "
                   "live key");
}

int zavu_random_bytes(unsigned char *buf, size_t n)
{
    size_t got = 0;
    int fd;
    while (got < n) { /* getrandom may return fewer bytes, or be interrupted */
        ssize_t r = getrandom(buf + got, n - got, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            break; /* ENOSYS (an old kernel): the device below */
        got += (size_t)r;
    }
    if (got == n)
        return 0;
    if ((fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC)) < 0)
        return -1;
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    return got == n ? 0 : -1;
}

int zavu_forked(const zavu_client *c) { return c->generation != fork_generation; }

void zavu_adopt(zavu_client *c)
{
    if (c->generation != fork_generation) {
        drop_inherited_connections(c);
        c->generation = fork_generation;
    }
}

/* ---- outcomes ---- */

void zavu_set_error(zavu_result *res, const char *code, const char *message)
{
    res->code = code;
    snprintf(res->message, sizeof res->message, "%s", message);
}

void zavu_set_out_of_time(zavu_result *res, double wait)
{
    char why[160] = "";
    if (res->attempts > 0 && wait < 0)
        snprintf(why, sizeof why, "; the last one was cut short");
    else if (wait > 0 && res->retry_after >= 0)
        snprintf(why, sizeof why, "; the wait the last answer asked for (%.3g s) would pass it",
                 wait);
    else if (wait > 0 && res->status)
        snprintf(why, sizeof why, "; the wait before another attempt (%.3g s) would pass it", wait);
    else if (wait > 0)
        snprintf(why, sizeof why,
                 "; the last one failed (%s), and the wait before another (%.3g s) would pass it",
                 res->code ? res->code : "error", wait);
    snprintf(res->message, sizeof res->message, "total_timeout ran out: %d attempt%s made%s",
             res->attempts, res->attempts == 1 ? "" : "s", why);
    res->code = "timeout";
    res->ok = 0;
    res->retryable = 1; /* later, with time to spare, it may well work */
}

double zavu_call_timeout(const zavu_client *c, const zavu_call *call)
{
    return call && call->timeout > 0 ? call->timeout : c->timeout;
}

double zavu_call_total(const zavu_client *c, const zavu_call *call)
{
    return call && call->total_timeout > 0 ? call->total_timeout : c->total_timeout;
}

int zavu_call_retries(const zavu_client *c, const zavu_call *call)
{
    return call && call->max_retries >= 0 ? call->max_retries : c->max_retries;
}

void zavu_set_cancelled(zavu_result *res)
{
    zavu_set_error(res, "cancelled", "the call was cancelled before it finished");
    res->status = 0;
    res->retryable = 0;
    res->body = NULL;
    res->body_len = 0;
}

static const char *code_for_curl(CURLcode rc)
{
    switch (rc) {
    case CURLE_OPERATION_TIMEDOUT: return "timeout";
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CRL_BADFILE: return "tls_error";
    case CURLE_URL_MALFORMAT: /* a URL libcurl refuses: nothing was sent */
        return "invalid_argument";
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_UNSUPPORTED_PROTOCOL: /* an HTTP/0.9-looking reply */
    case CURLE_BAD_CONTENT_ENCODING:
    case CURLE_OUT_OF_MEMORY: /* libcurl 7.x: a header line over its 100 KiB limit */
        return "invalid_response";
    default: return "connection_error"; /* refused, reset, DNS, closed early */
    }
}

static const char *header_value(CURL *e, const char *name)
{
    struct curl_header *h;
    if (curl_easy_header(e, name, 0, CURLH_HEADER, -1, &h) != CURLHE_OK)
        return NULL;
    return h->value;
}

int zavu_transport_error(CURLcode rc, const char *errbuf, zavu_result *res)
{
    res->ok = 0;
    res->status = 0;
    res->body = NULL;
    res->body_len = 0;
    res->retry_after = -1;
    zavu_set_error(res, code_for_curl(rc), errbuf[0] ? errbuf : curl_easy_strerror(rc));
    res->retryable = rc == CURLE_OPERATION_TIMEDOUT || strcmp(res->code, "connection_error") == 0;
    return res->retryable;
}

int zavu_classify(CURL *e, CURLcode rc, const zavu_buffer *body, const char *errbuf, int missing_ok,
                  zavu_result *res)
{
    long status = 0;
    double wait;

    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
    res->status = 0;
    res->code = NULL;
    res->message[0] = '\0';
    res->body = NULL;
    res->body_len = 0;
    res->request_id[0] = '\0';
    res->retry_after = -1;

    if (zavu_cancelled_since(body->cancel_gen)) {
        res->ok = 0;
        zavu_set_cancelled(res);
        return 0;
    }
    /* A response cut short by us (a huge body) still answered the call, and a
     * 2xx is a deletion whatever happened to its body. */
    if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && body->cut) &&
        !(status >= 200 && status <= 299))
        return zavu_transport_error(rc, errbuf, res);

    res->status = status;
    if ((status >= 200 && status <= 299) || (status == 404 && missing_ok)) {
        res->ok = 1; /* all the caller gets is true: no header to look up */
        res->retryable = 0;
        return 0;
    }
    res->ok = 0;
    zavu_copy_header_value(res->request_id, sizeof res->request_id,
                           header_value(e, "X-Request-Id"));
    res->body = body->data;
    res->body_len = body->len;
    wait = zavu_parse_retry_after_ms(header_value(e, "retry-after-ms"));
    if (wait < 0)
        wait = zavu_parse_retry_after(header_value(e, "Retry-After"), (long)time(NULL));
    res->retry_after = wait;
    res->retryable = zavu_status_is_retryable(
        status, zavu_parse_should_retry(header_value(e, "x-should-retry")));
    return res->retryable;
}

void zavu_note_request_id(CURL *e, zavu_result *res)
{
    zavu_copy_header_value(res->request_id, sizeof res->request_id,
                           header_value(e, "X-Request-Id"));
}

int zavu_post_may_retry(CURL *e, const zavu_buffer *body, zavu_result *res)
{
    int sent;
#if LIBCURL_VERSION_NUM < 0x075000
    curl_off_t pretransfer = 0; /* no pre-request callback: nothing goes out before pre-transfer */
    curl_easy_getinfo(e, CURLINFO_PRETRANSFER_TIME_T, &pretransfer);
    sent = pretransfer > 0;
#else
    sent = body->sends > 0;
#endif
    if (res->status) /* an answer: retry only when the server asked */
        res->retryable = res->status == 429 ||
                         zavu_parse_should_retry(header_value(e, "x-should-retry")) == 1;
    else /* no answer: only when no request began to go out */
        res->retryable = !sent;
    if (body->resend_refused) {
        zavu_set_error(res, "connection_error",
                       "the connection closed after the request was sent and before an answer "
                       "came: the server may have performed it");
    } else if (!res->retryable && !res->status && res->code &&
               strcmp(res->code, "cancelled") != 0) {
        char message[sizeof res->message];
        snprintf(message, sizeof message,
                 "%.190s (the request was sent: the server may have performed it)", res->message);
        zavu_set_error(res, res->code, message);
    }
    return res->retryable;
}

int zavu_may_retry(zavu_client *c, zavu_result *res, int again)
{
    if (!again)
        return 0;
    /* A send with its key: the server stores it once, whatever the network
     * did; a 409 is that key's answer, which another attempt only repeats. */
    if (c->rq_idempotent) {
        if (res->status == 409)
            res->retryable = 0;
        return res->status != 409;
    }
    if (c->body.send_once) /* a POST or PATCH without a key */
        return zavu_post_may_retry(c->easy, &c->body, res);
    return 1;
}

double zavu_retry_wait(zavu_client *c, const zavu_result *res, int retry)
{
    if (res->retry_after >= 0)
        return res->retry_after < c->max_retry_wait ? res->retry_after : c->max_retry_wait;
    return zavu_backoff(retry, rand_r(&c->rng) / ((double)RAND_MAX + 1));
}

void zavu_log_attempt(const char *method, const char *url, const zavu_result *res, double ms, int n,
                      int of, double wait)
{
    /* The path only: the key is never in it, nor is the host. */
    const char *path = strstr(url, "/v1/");
    char outcome[64];
    if (res->status)
        snprintf(outcome, sizeof outcome, "%ld", res->status);
    else
        snprintf(outcome, sizeof outcome, "%s", res->code ? res->code : "?");
    if (wait >= 0)
        fprintf(stderr, "zavu: %s %s -> %s %.0fms attempt %d/%d, retrying in %.3fs\n", method,
                path ? path : url, outcome, ms, n, of, wait);
    else
        fprintf(stderr, "zavu: %s %s -> %s %.0fms attempt %d/%d\n", method, path ? path : url,
                outcome, ms, n, of);
}
