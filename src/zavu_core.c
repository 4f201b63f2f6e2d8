/*
 * zavu_core.c - one client, one reused libcurl easy handle, and the retry
 * loop of the official Zavu SDKs. No Lua in here.
 */
#define _POSIX_C_SOURCE 200809L
#include "zavu_core.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_TRACKED_SOCKETS 16

struct zavu_client {
    CURL *easy;
    struct curl_slist *headers; /* Authorization and Accept */
    pid_t owner_pid;            /* the process whose connections easy holds */
    char *base_url, *ca_file, *ca_path, *user_agent;
    double timeout, connect_timeout, max_retry_wait;
    int max_retries, debug;
    unsigned int rng;
    /* A bad configuration is reported by every call, never by the constructor. */
    const char *config_code;
    char config_message[256];
    /* Error body of the last response, capped at ZAVU_MAX_ERROR_BODY. */
    char *body;
    size_t body_len, body_cap;
    int body_cut;
    char curl_error[CURL_ERROR_SIZE];
    /* Sockets libcurl opened, so a forked child can let go of them safely. */
    curl_socket_t sockets[MAX_TRACKED_SOCKETS];
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_status = CURLE_FAILED_INIT;

static void global_init_once(void) { global_status = curl_global_init(CURL_GLOBAL_DEFAULT); }

int zavu_global_init(void)
{
    pthread_once(&global_once, global_init_once);
    return global_status == CURLE_OK ? 0 : -1;
}

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void sleep_seconds(double s)
{
    struct timespec ts;
    if (s <= 0)
        return;
    ts.tv_sec = (time_t)s;
    ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
        ;
}

/* ---- libcurl callbacks: none of them may fail loudly ---- */

static size_t on_body(char *data, size_t size, size_t n, void *ud)
{
    zavu_client *c = ud;
    size_t len = size * n, room = ZAVU_MAX_ERROR_BODY - c->body_len;
    if (len > room) {
        /* Enough to explain the error; stop the transfer rather than hold
         * (or even download) a body of any size. */
        c->body_cut = 1;
        return 0;
    }
    if (c->body_len + len > c->body_cap) {
        size_t cap = c->body_cap ? c->body_cap : 4096;
        char *grown;
        while (cap < c->body_len + len)
            cap *= 2;
        if (cap > ZAVU_MAX_ERROR_BODY)
            cap = ZAVU_MAX_ERROR_BODY;
        grown = realloc(c->body, cap);
        if (!grown)
            return 0;
        c->body = grown;
        c->body_cap = cap;
    }
    memcpy(c->body + c->body_len, data, len);
    c->body_len += len;
    return len;
}

static curl_socket_t on_open_socket(void *ud, curlsocktype purpose, struct curl_sockaddr *a)
{
    zavu_client *c = ud;
    curl_socket_t fd = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
    int i;
    (void)purpose;
    for (i = 0; fd != CURL_SOCKET_BAD && i < MAX_TRACKED_SOCKETS; i++) {
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
    for (i = 0; i < MAX_TRACKED_SOCKETS; i++)
        if (c->sockets[i] == fd)
            c->sockets[i] = CURL_SOCKET_BAD;
    return close(fd);
}

/* ---- the easy handle ---- */

static int setup_easy(zavu_client *c)
{
    CURL *e = curl_easy_init();
    if (!e)
        return -1;
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L); /* threads: no SIGALRM timeouts */
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "DELETE");
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, c->headers);
    curl_easy_setopt(e, CURLOPT_USERAGENT, c->user_agent);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
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
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)(c->connect_timeout * 1000));
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, c->curl_error);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, on_open_socket);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, c);
    curl_easy_setopt(e, CURLOPT_CLOSESOCKETFUNCTION, on_close_socket);
    curl_easy_setopt(e, CURLOPT_CLOSESOCKETDATA, c);
    c->easy = e;
    c->owner_pid = getpid();
    return 0;
}

/* In a forked child the cached connections are the parent's: writing to them
 * (even a TLS close_notify) would corrupt the parent's streams. Point each
 * descriptor at /dev/null first, so libcurl's cleanup talks to nothing. */
static void drop_inherited_connections(zavu_client *c)
{
    int i, devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    for (i = 0; i < MAX_TRACKED_SOCKETS; i++) {
        if (c->sockets[i] != CURL_SOCKET_BAD && devnull >= 0)
            dup2(devnull, c->sockets[i]);
    }
    if (devnull >= 0)
        close(devnull);
    curl_easy_cleanup(c->easy);
    c->easy = NULL;
}

zavu_client *zavu_client_new(const zavu_config *cfg)
{
    const char *why = NULL;
    char ua[512], *auth;
    size_t i;
    zavu_client *c = calloc(1, sizeof *c);

    if (!c || zavu_global_init() != 0)
        goto fail;
    for (i = 0; i < MAX_TRACKED_SOCKETS; i++)
        c->sockets[i] = CURL_SOCKET_BAD;
    c->base_url = strdup(cfg->base_url ? cfg->base_url : ZAVU_DEFAULT_BASE_URL);
    c->ca_file = dup_or_null(cfg->ca_file);
    c->ca_path = dup_or_null(cfg->ca_path);
    snprintf(ua, sizeof ua, "zavu-lua/%s (%s; libcurl/%s)%s%s", ZAVU_VERSION,
             cfg->lua_version ? cfg->lua_version : "Lua",
             curl_version_info(CURLVERSION_NOW)->version,
             cfg->user_agent ? " " : "", cfg->user_agent ? cfg->user_agent : "");
    c->user_agent = strdup(ua);
    c->timeout = cfg->timeout > 0 ? cfg->timeout : 60;
    c->connect_timeout = cfg->connect_timeout > 0 ? cfg->connect_timeout : 10;
    c->max_retries = cfg->max_retries >= 0 ? cfg->max_retries : 2;
    c->max_retry_wait = cfg->max_retry_wait >= 0 ? cfg->max_retry_wait : ZAVU_MAX_RETRY_WAIT;
    c->debug = cfg->debug;
    c->rng = (unsigned int)time(NULL) ^ (unsigned int)getpid() ^ (unsigned int)(size_t)c;
    if (!c->base_url || !c->user_agent)
        goto fail;

    c->config_code = zavu_check_api_key(cfg->api_key, &why);
    if (c->config_code) {
        snprintf(c->config_message, sizeof c->config_message, "%s", why);
    } else {
        c->config_code = zavu_check_base_url(c->base_url, cfg->allow_insecure_http,
                                             c->config_message, sizeof c->config_message);
    }
    if (c->config_code)
        return c; /* every call will say why; nothing to set up */

    auth = malloc(strlen(cfg->api_key) + sizeof "Authorization: Bearer ");
    if (!auth)
        goto fail;
    sprintf(auth, "Authorization: Bearer %s", cfg->api_key);
    c->headers = curl_slist_append(NULL, auth);
    memset(auth, 0, strlen(auth)); /* keep no stray copy of the key */
    free(auth);
    if (!c->headers || !curl_slist_append(c->headers, "Accept: application/json") ||
        setup_easy(c) != 0)
        goto fail;
    return c;
fail:
    zavu_client_free(c);
    return NULL;
}

void zavu_client_free(zavu_client *c)
{
    if (!c)
        return;
    if (c->easy) {
        if (c->owner_pid != getpid())
            drop_inherited_connections(c);
        else
            curl_easy_cleanup(c->easy);
    }
    curl_slist_free_all(c->headers);
    free(c->base_url);
    free(c->ca_file);
    free(c->ca_path);
    free(c->user_agent);
    free(c->body);
    free(c);
}

/* ---- one call ---- */

static void set_error(zavu_result *res, const char *code, const char *fmt, const char *arg)
{
    res->code = code;
    snprintf(res->message, sizeof res->message, fmt, arg);
}

static const char *code_for_curl(CURLcode rc)
{
    switch (rc) {
    case CURLE_OPERATION_TIMEDOUT:
        return "timeout";
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CRL_BADFILE:
        return "tls_error";
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_UNSUPPORTED_PROTOCOL: /* an HTTP/0.9-looking reply */
    case CURLE_BAD_CONTENT_ENCODING:
        return "invalid_response";
    default:
        return "connection_error"; /* refused, reset, DNS, closed early */
    }
}

static const char *header_value(CURL *e, const char *name)
{
    struct curl_header *h;
    if (curl_easy_header(e, name, 0, CURLH_HEADER, -1, &h) != CURLHE_OK)
        return NULL;
    return h->value;
}

/* One request; fills res except attempts. Returns 1 when worth retrying. */
static int attempt(zavu_client *c, const char *url, double timeout, int missing_ok,
                   zavu_result *res)
{
    CURLcode rc;
    long status = 0;
    int should_retry;
    double wait;

    c->body_len = 0;
    c->body_cut = 0;
    c->curl_error[0] = '\0';
    curl_easy_setopt(c->easy, CURLOPT_URL, url);
    curl_easy_setopt(c->easy, CURLOPT_TIMEOUT_MS, (long)(timeout * 1000));
    rc = curl_easy_perform(c->easy);
    curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &status);

    res->status = 0;
    res->code = NULL;
    res->message[0] = '\0';
    res->body = NULL;
    res->body_len = 0;
    res->request_id[0] = '\0';
    res->retry_after = -1;

    /* A response cut short by us (a huge body) still answered the call. */
    if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && c->body_cut) &&
        !(status >= 200 && status <= 299)) {
        res->ok = 0;
        set_error(res, code_for_curl(rc), "%s",
                  c->curl_error[0] ? c->curl_error : curl_easy_strerror(rc));
        res->retryable = rc == CURLE_OPERATION_TIMEDOUT ||
                         strcmp(res->code, "connection_error") == 0;
        return res->retryable;
    }

    res->status = status;
    zavu_copy_header_value(res->request_id, sizeof res->request_id,
                           header_value(c->easy, "X-Request-Id"));
    if ((status >= 200 && status <= 299) || (status == 404 && missing_ok)) {
        res->ok = 1;
        res->retryable = 0;
        return 0;
    }
    res->ok = 0;
    res->body = c->body;
    res->body_len = c->body_len;
    wait = zavu_parse_retry_after_ms(header_value(c->easy, "retry-after-ms"));
    if (wait < 0)
        wait = zavu_parse_retry_after(header_value(c->easy, "Retry-After"), (long)time(NULL));
    res->retry_after = wait;
    should_retry = zavu_parse_should_retry(header_value(c->easy, "x-should-retry"));
    res->retryable = zavu_status_is_retryable(status, should_retry);
    return res->retryable;
}

static void log_attempt(const zavu_client *c, const char *url, const zavu_result *res,
                        double ms, int n, int of)
{
    /* The path, never the host's credentials or the key: neither is in it. */
    const char *path = strstr(url, "/v1/whatsapp-alt/");
    char outcome[64];
    if (res->status)
        snprintf(outcome, sizeof outcome, "%ld", res->status);
    else
        snprintf(outcome, sizeof outcome, "%s", res->code ? res->code : "?");
    fprintf(stderr, "zavu: DELETE %s -> %s %.0fms attempt %d/%d\n", path ? path : url,
            outcome, ms, n, of);
    (void)c;
}

int zavu_delete_session(zavu_client *c, const char *id, size_t id_len,
                        const zavu_call *call, zavu_result *res)
{
    const char *why;
    char *url;
    int max_retries, n;
    double timeout;

    memset(res, 0, sizeof *res);
    res->retry_after = -1;
    if ((why = zavu_check_id(id, id_len)) != NULL) {
        set_error(res, "invalid_argument", "%s", why);
        return 0;
    }
    if (c->config_code) {
        set_error(res, c->config_code, "%s", c->config_message);
        return 0;
    }
    if (c->easy && c->owner_pid != getpid())
        drop_inherited_connections(c);
    if (!c->easy && setup_easy(c) != 0) {
        set_error(res, "connection_error", "%s", "could not create a libcurl handle");
        return 0;
    }
    url = zavu_session_url(c->base_url, id, id_len);
    if (!url) {
        set_error(res, "connection_error", "%s", "out of memory");
        return 0;
    }
    timeout = call && call->timeout > 0 ? call->timeout : c->timeout;
    max_retries = call && call->max_retries >= 0 ? call->max_retries : c->max_retries;

    for (n = 0;; n++) {
        double started = now_seconds(), wait;
        int again = attempt(c, url, timeout, call && call->missing_ok, res);
        res->attempts = n + 1;
        if (c->debug)
            log_attempt(c, url, res, (now_seconds() - started) * 1000, n + 1, max_retries + 1);
        if (!again || n >= max_retries)
            break;
        if (res->retry_after >= 0)
            wait = res->retry_after < c->max_retry_wait ? res->retry_after : c->max_retry_wait;
        else
            wait = zavu_backoff(n, rand_r(&c->rng) / ((double)RAND_MAX + 1));
        sleep_seconds(wait);
    }
    free(url);
    return res->ok;
}
